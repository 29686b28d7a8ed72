//! Hot-path costs: seed decryption and PIN check (every authentication), the challenge MAC
//! (every challenge), the audit signature (every audited request) and an admin password check.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use linotp_crypto::audit::{AUDIT_KEY_BITS, generate_audit_key_pem};
use linotp_crypto::token_secrets::{decrypt_seed, encrypt_seed, hash_pin, verify_token_pin};
use linotp_crypto::{AuditRecord, AuditSigner, DefaultSecurityModule, EncKey, SecurityModule};

fn module() -> DefaultSecurityModule {
    DefaultSecurityModule::new(EncKey::generate().expect("random key"))
}

fn bench_token_secrets(c: &mut Criterion) {
    let module = module();
    let seed = encrypt_seed(&module, b"3132333435363738393031323334353637383930").expect("seed");
    c.bench_function("seed_decrypt_sha1_hotp", |b| {
        b.iter(|| decrypt_seed(&module, black_box(&seed.key_iv), black_box(&seed.key_enc)))
    });

    let pin = hash_pin(&module, "alicepin").expect("pin");
    c.bench_function("pin_hash_verify", |b| {
        b.iter(|| verify_token_pin(&module, &pin.pin_hash, &pin.pin_seed, black_box("alicepin")))
    });
}

fn bench_challenge_mac(c: &mut Criterion) {
    let module = module();
    let message = br#"{"challenge": "Please enter your otp value: ", "data": {"serial": "FIXHOTP1", "date": "2026-11-26 10:11:12.839000"}, "id": "1234567890123456789", "received_count": 0, "received_tan": false, "session": "", "tokenserial": "FIXHOTP1", "valid_tan": false}"#;
    c.bench_function("challenge_mac_sign", |b| {
        b.iter(|| module.sign_message(black_box(message)))
    });
    let mac = module.sign_message(message).expect("mac");
    c.bench_function("challenge_mac_verify", |b| {
        b.iter(|| module.verify_message_signature(black_box(message), black_box(&mac)))
    });
}

fn bench_audit_sign(c: &mut Criterion) {
    let pair = generate_audit_key_pem(AUDIT_KEY_BITS).expect("key pair");
    let signer = AuditSigner::from_pem(&pair.private_pem).expect("signer");
    let verifier = signer.verifier();
    let record = AuditRecord {
        id: 32,
        timestamp: Some("2026-11-26T10:11:12.839+00:00".into()),
        action: Some("validate/check".into()),
        success: Some("1".into()),
        serial: Some("FIXHOTP1".into()),
        tokentype: Some("HMAC".into()),
        user: Some("alice".into()),
        realm: Some("fixrealm".into()),
        administrator: Some(String::new()),
        action_detail: Some(String::new()),
        info: Some(String::new()),
        linotp_server: Some("node1".into()),
        client: Some("192.0.2.10".into()),
        log_level: Some("INFO".into()),
        clearance_level: Some(0),
    };
    c.bench_function("audit_sign_rsa2048", |b| {
        b.iter(|| signer.sign_record(black_box(&record)))
    });
    let signature = signer.sign_record(&record).expect("signature");
    c.bench_function("audit_verify_rsa2048", |b| {
        b.iter(|| verifier.verify_record(black_box(&record), black_box(&signature)))
    });
}

fn bench_admin_password(c: &mut Criterion) {
    let hash = linotp_crypto::hash_password("Test123!").expect("hash");
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.bench_function("sha512_crypt_656000_verify", |b| {
        b.iter(|| linotp_crypto::verify_password(black_box("Test123!"), &hash))
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_token_secrets,
    bench_challenge_mac,
    bench_audit_sign,
    bench_admin_password
);
criterion_main!(benches);
