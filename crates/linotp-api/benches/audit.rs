//! What the audit trail costs: per row on the writer (rows of an event, pending mark), a
//! stored batch of 256 rows on SQLite, and a rendered `/audit/search` page. The RSA
//! signature itself is benchmarked in linotp-crypto (`audit_sign_rsa2048`).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use linotp_api::audit::{AuditEvent, AuditLine, AuditPage, rows_for_event, signed_record};
use linotp_crypto::AuditSigner;
use linotp_crypto::audit::{AUDIT_KEY_BITS, generate_audit_key_pem};
use linotp_store::audit::{AuditEntry, insert_batch};
use linotp_store::testing::TestDb;
use serde_json::Value;

fn event() -> AuditEvent {
    AuditEvent {
        success: true,
        serial: "OATH0001".to_owned(),
        token_type: "HMAC".to_owned(),
        user: "alice".to_owned(),
        realm: "myrealm".to_owned(),
        action_detail: "user 'alice'@'myrealm' successfully authenticated.".to_owned(),
        client: "192.0.2.10".to_owned(),
        ..AuditEvent::new("/validate/check")
    }
}

fn bench_audit(c: &mut Criterion) {
    let pair = generate_audit_key_pem(AUDIT_KEY_BITS).expect("key pair");
    let signer = AuditSigner::from_pem(&pair.private_pem).expect("signer");
    let timestamp = "2026-11-26T10:11:12.839+00:00";

    c.bench_function("audit_rows_for_event", |b| {
        b.iter(|| rows_for_event(black_box(&event()), timestamp, "node1"))
    });

    let row = AuditEntry {
        id: 4711,
        timestamp: Some(timestamp.to_owned()),
        signature: None,
        action: Some("validate/check".to_owned()),
        success: Some("1".to_owned()),
        serial: Some("OATH0001".to_owned()),
        tokentype: Some("HMAC".to_owned()),
        user: Some("alice".to_owned()),
        realm: Some("myrealm".to_owned()),
        administrator: Some(String::new()),
        action_detail: Some("user 'alice'@'myrealm' successfully authenticated.".to_owned()),
        info: Some(String::new()),
        linotp_server: Some("node1".to_owned()),
        client: Some("192.0.2.10".to_owned()),
        log_level: Some("INFO".to_owned()),
        clearance_level: Some(0),
    };
    let record = signed_record(&row);
    c.bench_function("audit_pending_mark", |b| {
        b.iter(|| signer.pending_mark(black_box(&record)))
    });

    let db = TestDb::sqlite().migrated();
    let mut conn = db.store().connection().expect("connection");
    let batch = rows_for_event(&event(), timestamp, "node1")
        .into_iter()
        .cycle()
        .take(256)
        .collect::<Vec<_>>();
    c.bench_function("audit_store_batch_256_rows_sqlite", |b| {
        b.iter_batched(
            || batch.clone(),
            |entries| {
                insert_batch(&mut conn, &entries, |row| {
                    signer.pending_mark(&signed_record(row))
                })
                .expect("stored")
            },
            BatchSize::SmallInput,
        )
    });

    let line = AuditLine {
        id: 4711,
        cells: vec![
            Value::from(4711),
            Value::from(timestamp),
            Value::from("OK"),
            Value::from(""),
            Value::from("validate/check"),
            Value::from("1"),
            Value::from("OATH0001"),
            Value::from("HMAC"),
            Value::from("alice"),
            Value::from("myrealm"),
            Value::from("''"),
            Value::from("user 'alice'@'myrealm' successfully authenticated."),
            Value::from(""),
            Value::from("node1"),
            Value::from("192.0.2.10"),
            Value::from("INFO"),
            Value::from(0),
        ],
    };
    let page = AuditPage {
        page: 1,
        rows: vec![line; 15],
        total: 1234,
    };
    c.bench_function("audit_search_render_15_rows", |b| {
        b.iter(|| black_box(&page).render_json(false))
    });
}

criterion_group!(benches, bench_audit);
criterion_main!(benches);
