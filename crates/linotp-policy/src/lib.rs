//! LinOTP policies.
