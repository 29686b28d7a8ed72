//! LinOTP storage.
