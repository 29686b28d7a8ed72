//! linotp-rs settings.
