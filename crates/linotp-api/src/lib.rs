//! linotp-rs application and HTTP layer.
