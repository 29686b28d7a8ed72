//! LinOTP cryptography.
