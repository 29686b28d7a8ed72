//! Key files on disk: the encKey and the audit key pair, in real temporary directories.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use linotp_crypto::audit::{AUDIT_KEY_BITS, write_audit_key_files};
use linotp_crypto::{AuditRecord, AuditSigner, AuditVerifier, CryptoError, EncKey, WriteMode};

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn new_key_file_is_96_bytes_mode_0400_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("encKey");
    let key = EncKey::generate().unwrap();
    key.write(&path, WriteMode::CreateNew).unwrap();

    assert_eq!(fs::metadata(&path).unwrap().len(), 96);
    assert_eq!(mode_of(&path), 0o400);
    assert_eq!(
        EncKey::read(&path).unwrap().expose_bytes(),
        key.expose_bytes()
    );
    assert_eq!(
        file_names(dir.path()),
        vec!["encKey"],
        "no temporary file left behind"
    );
}

#[test]
fn existing_key_is_never_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("encKey");
    let original = EncKey::generate().unwrap();
    original.write(&path, WriteMode::CreateNew).unwrap();

    let other = EncKey::generate().unwrap();
    let err = other.write(&path, WriteMode::CreateNew).unwrap_err();
    assert!(matches!(err, CryptoError::KeyFileExists { .. }), "{err}");
    assert_eq!(
        EncKey::read(&path).unwrap().expose_bytes(),
        original.expose_bytes()
    );

    other.write(&path, WriteMode::Replace).unwrap();
    assert_eq!(
        EncKey::read(&path).unwrap().expose_bytes(),
        other.expose_bytes()
    );
    assert_eq!(mode_of(&path), 0o400);
    assert_eq!(file_names(dir.path()), vec!["encKey"]);
}

#[test]
fn short_or_missing_key_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short-encKey");
    fs::write(&short, [7u8; 64]).unwrap();
    let err = EncKey::read(&short).unwrap_err();
    assert!(matches!(err, CryptoError::KeyFileTooShort { len: 64, .. }));
    assert!(err.to_string().contains("short-encKey"), "{err}");

    let missing = dir.path().join("missing-encKey");
    let err = EncKey::read(&missing).unwrap_err();
    assert!(err.to_string().contains("missing-encKey"), "{err}");
}

#[test]
fn longer_key_files_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("encKey");
    let bytes: Vec<u8> = (0u8..=127).collect();
    fs::write(&path, &bytes).unwrap();
    let key = EncKey::read(&path).unwrap();
    assert_eq!(key.slot(linotp_crypto::KeySlot::Value)[0], 64);
}

#[test]
fn fixture_key_survives_paper_backup_and_hex_recovery() {
    let key = EncKey::read(&common::fixture_dir().join("encKey")).unwrap();
    let restored = EncKey::from_paper_backup(&key.paper_backup()).unwrap();
    assert_eq!(restored.expose_bytes(), key.expose_bytes());
    let from_hex = EncKey::from_hex(&hex::encode(key.expose_bytes())).unwrap();
    assert_eq!(from_hex.expose_bytes(), key.expose_bytes());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("encKey");
    restored.write(&path, WriteMode::CreateNew).unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        fs::read(common::fixture_dir().join("encKey")).unwrap()
    );
}

#[test]
fn audit_key_pair_is_written_like_openssl_and_signs() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("audit-private.pem");
    let public = dir.path().join("audit-public.pem");
    write_audit_key_files(&private, &public, WriteMode::CreateNew).unwrap();

    assert_eq!(mode_of(&private), 0o600);
    assert_eq!(mode_of(&public), 0o644);
    let private_pem = fs::read_to_string(&private).unwrap();
    assert!(private_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(
        fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert_eq!(
        file_names(dir.path()),
        vec!["audit-private.pem", "audit-public.pem"]
    );

    let signer = AuditSigner::from_file(&private).unwrap();
    let verifier = AuditVerifier::from_file(&public).unwrap();
    let record = AuditRecord {
        id: 1,
        action: Some("admin/init".into()),
        ..AuditRecord::default()
    };
    let signature = signer.sign_record(&record).unwrap();
    assert_eq!(
        signature.len(),
        AUDIT_KEY_BITS / 4,
        "hex of a {AUDIT_KEY_BITS}-bit signature"
    );
    assert!(verifier.verify_record(&record, &signature));
    let fixture_verifier =
        AuditVerifier::from_file(&common::fixture_dir().join("audit-public.pem")).unwrap();
    assert!(
        !fixture_verifier.verify_record(&record, &signature),
        "a new key, not LinOTP's"
    );

    let err = write_audit_key_files(&private, &public, WriteMode::CreateNew).unwrap_err();
    assert!(matches!(err, CryptoError::KeyFileExists { .. }));
    assert_eq!(fs::read_to_string(&private).unwrap(), private_pem);
}
