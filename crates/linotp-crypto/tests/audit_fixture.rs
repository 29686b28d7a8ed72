//! LinOTP-signed audit rows: every row of the fixture's audit database verifies with
//! LinOTP's public key, and signing with LinOTP's private key reproduces the stored
//! signatures byte for byte (PKCS#1 v1.5 signatures are deterministic).
//!
//! `tests/data/linotp-audit-rows.json` holds all rows of the fixture's `linotp.db_audit`,
//! extracted once with:
//!
//! ```sh
//! python3 -c 'import sqlite3, json
//! db = sqlite3.connect("file:shared/fixtures/linotp-sqlite/linotp.db_audit?mode=ro", uri=True)
//! db.row_factory = sqlite3.Row
//! rows = [dict(r) for r in db.execute("SELECT * FROM audit ORDER BY id")]
//! json.dump(rows, open("tests/data/linotp-audit-rows.json", "w"), indent=1, ensure_ascii=False)'
//! ```
//!
//! `tests/data/linotp-audit-public.pem` is a copy of the fixture's `audit-public.pem`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use linotp_crypto::{AuditRecord, AuditSigner, AuditVerifier};
use serde_json::Value;

fn rows() -> Vec<Value> {
    let text = std::fs::read_to_string(common::test_data("linotp-audit-rows.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn opt_text(row: &Value, column: &str) -> Option<String> {
    row[column].as_str().map(str::to_owned)
}

fn record(row: &Value) -> AuditRecord {
    AuditRecord {
        id: row["id"].as_i64().unwrap(),
        timestamp: opt_text(row, "timestamp"),
        action: opt_text(row, "action"),
        success: opt_text(row, "success"),
        serial: opt_text(row, "serial"),
        tokentype: opt_text(row, "tokentype"),
        user: opt_text(row, "user"),
        realm: opt_text(row, "realm"),
        administrator: opt_text(row, "administrator"),
        action_detail: opt_text(row, "action_detail"),
        info: opt_text(row, "info"),
        linotp_server: opt_text(row, "linotp_server"),
        client: opt_text(row, "client"),
        log_level: opt_text(row, "log_level"),
        clearance_level: row["clearance_level"].as_i64(),
    }
}

fn verifier() -> AuditVerifier {
    AuditVerifier::from_file(&common::test_data("linotp-audit-public.pem")).unwrap()
}

#[test]
fn every_linotp_audit_row_signature_verifies() {
    let verifier = verifier();
    let rows = rows();
    let mut verified = 0;
    for row in &rows {
        let signature = row["signature"].as_str().unwrap();
        assert_eq!(signature.len(), 512);
        assert!(
            verifier.verify_record(&record(row), signature),
            "row {} does not verify: {}",
            row["id"],
            record(row).signing_message()
        );
        verified += 1;
    }
    let manifest = common::fixture_json("manifest.json");
    assert_eq!(
        Some(verified),
        manifest["audit"]["rows"].as_u64().map(|n| n as usize)
    );
    assert_eq!(verified, 71);
}

#[test]
fn extracted_rows_agree_with_the_manifest() {
    let manifest = common::fixture_json("manifest.json");
    let rows = rows();
    let listed = manifest["audit"]["validate_rows"].as_array().unwrap();
    assert!(!listed.is_empty());
    for expected in listed {
        let row = rows
            .iter()
            .find(|row| row["id"] == expected["id"])
            .unwrap_or_else(|| panic!("audit row {} missing", expected["id"]));
        for column in ["timestamp", "action", "success", "serial", "user", "realm"] {
            assert_eq!(
                row[column], expected[column],
                "row {} column {column}",
                row["id"]
            );
        }
    }
}

#[test]
fn any_changed_field_breaks_the_signature() {
    let verifier = verifier();
    let row = rows()
        .into_iter()
        .find(|row| row["action"] == "validate/check")
        .unwrap();
    let signature = row["signature"].as_str().unwrap().to_owned();
    let original = record(&row);
    assert!(verifier.verify_record(&original, &signature));

    let tampered = [
        AuditRecord {
            success: Some("1".into()),
            ..original.clone()
        },
        AuditRecord {
            success: Some("0".into()),
            ..original.clone()
        },
        AuditRecord {
            id: original.id + 1,
            ..original.clone()
        },
        AuditRecord {
            user: Some("mallory".into()),
            ..original.clone()
        },
        AuditRecord {
            client: None,
            ..original.clone()
        },
    ];
    let changed: Vec<_> = tampered
        .iter()
        .filter(|record| **record != original)
        .collect();
    assert_eq!(changed.len(), 4);
    for record in changed {
        assert!(!verifier.verify_record(record, &signature), "{record:?}");
    }
}

#[test]
fn linotps_private_key_reproduces_the_stored_signatures() {
    // The fixture's key is PKCS#8 (`BEGIN PRIVATE KEY`, OpenSSL 3's genrsa default).
    let signer = AuditSigner::from_file(&common::fixture_dir().join("audit-private.pem")).unwrap();
    for row in rows().iter().take(5) {
        let signature = signer.sign_record(&record(row)).unwrap();
        assert_eq!(
            signature,
            row["signature"].as_str().unwrap(),
            "row {}",
            row["id"]
        );
    }
}
