//! LinOTP token engine.
