//! LinOTP user-id resolvers.
