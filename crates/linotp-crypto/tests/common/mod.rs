//! Shared helpers of the integration tests: where the LinOTP fixture lives and how to read it.

#![allow(dead_code)]

use std::path::PathBuf;

/// The read-only LinOTP fixture (`shared/fixtures/linotp-sqlite`): `$LINOTP_FIXTURE_DIR`, or
/// the `shared/` folder that sits beside the repository checkout (locally and in CI).
pub fn fixture_dir() -> PathBuf {
    let dir = std::env::var_os("LINOTP_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/linotp-sqlite")
        });
    assert!(
        dir.join("manifest.json").is_file(),
        "LinOTP fixture not found at {} (set LINOTP_FIXTURE_DIR)",
        dir.display()
    );
    dir
}

/// Parses a JSON file of the fixture.
pub fn fixture_json(name: &str) -> serde_json::Value {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("parsing {}: {err}", path.display()))
}

/// A file of this crate's `tests/data`.
pub fn test_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}
