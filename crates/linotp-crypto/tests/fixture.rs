//! Real LinOTP data: everything LinOTP 4.0 stored in the fixture database (`stored.json`)
//! must decrypt/verify with the fixture's `encKey` to the clear values in `manifest.json`.
//! The tests walk the manifest and count, so nothing listed there is skipped silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use data_encoding::BASE64;
use linotp_crypto::token_secrets::{
    PW_TOKEN_KEY_IV, SeedEncoding, decrypt_seed, decrypt_token_pin, decrypt_user_pin,
    is_encrypted_pin, seed_to_key, verify_pw_token, verify_token_pin,
};
use linotp_crypto::{DefaultSecurityModule, PasswordScheme, SecurityModule, verify_password};
use serde_json::Value;

fn module() -> DefaultSecurityModule {
    DefaultSecurityModule::from_key_file(&common::fixture_dir().join("encKey")).unwrap()
}

fn text<'a>(row: &'a Value, column: &str) -> &'a str {
    row[column]
        .as_str()
        .unwrap_or_else(|| panic!("column {column} is not text in {row}"))
}

/// Token rows of `stored.json`, by serial.
fn stored_tokens() -> BTreeMap<String, Value> {
    let stored = common::fixture_json("stored.json");
    stored["tables"]["Token"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (text(row, "LinOtpTokenSerialnumber").to_owned(), row.clone()))
        .collect()
}

/// Config values by key with chunked values (`K`, `K__[i:n]`, …) put back together
/// (schema.md §4), together with the Type of the row that carries the real type.
fn stored_config() -> BTreeMap<String, (String, String)> {
    let stored = common::fixture_json("stored.json");
    let mut pieces: BTreeMap<String, Vec<(usize, String, String)>> = BTreeMap::new();
    for row in stored["tables"]["Config"].as_array().unwrap() {
        let key = text(row, "Key");
        let value = row["Value"].as_str().unwrap_or("").to_owned();
        let kind = row["Type"].as_str().unwrap_or("").to_owned();
        let (base, index) = match key.rsplit_once("__[") {
            Some((base, suffix)) if suffix.ends_with(']') => {
                let (index, _count) = suffix.trim_end_matches(']').split_once(':').unwrap();
                (base.to_owned(), index.parse::<usize>().unwrap())
            }
            _ => (key.to_owned(), 0),
        };
        pieces.entry(base).or_default().push((index, value, kind));
    }
    pieces
        .into_iter()
        .map(|(key, mut parts)| {
            parts.sort_by_key(|(index, _, _)| *index);
            let kind = parts
                .iter()
                .map(|(_, _, kind)| kind.clone())
                .find(|kind| kind != "C")
                .unwrap_or_default();
            let value = parts
                .into_iter()
                .map(|(_, value, _)| value)
                .collect::<String>();
            (key, (value, kind))
        })
        .collect()
}

#[test]
fn every_token_secret_of_the_manifest_decrypts_or_verifies() {
    let module = module();
    let manifest = common::fixture_json("manifest.json");
    let tokens = stored_tokens();
    let listed = manifest["tokens"].as_array().unwrap();
    assert_eq!(
        listed.len(),
        tokens.len(),
        "manifest and stored.json list different tokens"
    );

    let mut seeds_checked = 0;
    let mut pw_tokens_checked = 0;
    let mut pins_checked = 0;
    let mut encrypted_pins_checked = 0;
    let mut user_pins_checked = 0;
    for token in listed {
        let serial = text(token, "serial");
        let row = tokens
            .get(serial)
            .unwrap_or_else(|| panic!("{serial} not in stored.json"));
        let seed = text(token, "seed");

        if text(token, "type") == "pw" {
            assert_eq!(text(row, "LinOtpKeyIV"), PW_TOKEN_KEY_IV);
            let hash = String::from_utf8(hex::decode(text(row, "LinOtpKeyEnc")).unwrap()).unwrap();
            assert_eq!(
                PasswordScheme::identify(&hash),
                Some(PasswordScheme::Sha512Crypt)
            );
            let (iv, enc) = (text(row, "LinOtpKeyIV"), text(row, "LinOtpKeyEnc"));
            assert!(verify_pw_token(&module, iv, enc, seed).unwrap(), "{serial}");
            assert!(
                !verify_pw_token(&module, iv, enc, "pwsecreT").unwrap(),
                "{serial}"
            );
            pw_tokens_checked += 1;
        } else {
            let decrypted =
                decrypt_seed(&module, text(row, "LinOtpKeyIV"), text(row, "LinOtpKeyEnc"))
                    .unwrap_or_else(|err| panic!("{serial}: {err}"));
            assert_eq!(decrypted.expose(), seed.as_bytes(), "{serial}: seed string");
            let encoding = text(token, "seed_encoding");
            if encoding == "hex" {
                let key = seed_to_key(&decrypted, SeedEncoding::Hex).unwrap();
                assert_eq!(key.expose(), hex::decode(seed).unwrap(), "{serial}: key");
            } else {
                assert!(
                    encoding.starts_with("ascii"),
                    "{serial}: unexpected encoding {encoding}"
                );
                let key = seed_to_key(&decrypted, SeedEncoding::Ascii).unwrap();
                assert_eq!(key.expose(), seed.as_bytes(), "{serial}: key");
            }
            seeds_checked += 1;
        }

        let pin = text(token, "pin");
        let (pin_hash, pin_seed) = (text(row, "LinOtpPinHash"), text(row, "LinOtpSeed"));
        assert!(
            verify_token_pin(&module, pin_hash, pin_seed, pin).unwrap(),
            "{serial}: PIN"
        );
        let wrong = format!("{pin}x");
        assert!(
            !verify_token_pin(&module, pin_hash, pin_seed, &wrong).unwrap(),
            "{serial}"
        );
        if !pin.is_empty() {
            assert!(
                !verify_token_pin(&module, pin_hash, pin_seed, "").unwrap(),
                "{serial}"
            );
        }
        if is_encrypted_pin(pin_hash) {
            let clear = decrypt_token_pin(&module, pin_hash).unwrap().unwrap();
            assert_eq!(clear.expose(), pin, "{serial}: encrypted PIN");
            encrypted_pins_checked += 1;
        }
        pins_checked += 1;

        let pin_user = text(row, "LinOtpTokenPinUser");
        match token.get("motp_userpin").and_then(Value::as_str) {
            Some(expected) => {
                let iv = text(row, "LinOtpTokenPinUserIV");
                let clear = decrypt_user_pin(&module, pin_user, iv).unwrap();
                assert_eq!(clear.expose(), expected, "{serial}: mOTP user PIN");
                user_pins_checked += 1;
            }
            None => assert!(pin_user.is_empty(), "{serial}: user PIN not in manifest"),
        }
    }

    let count_of = |pred: &dyn Fn(&Value) -> bool| listed.iter().filter(|t| pred(t)).count();
    assert_eq!(seeds_checked, count_of(&|t| t["type"] != "pw"));
    assert_eq!(
        seeds_checked, 12,
        "the fixture README lists 12 encrypted seeds"
    );
    assert_eq!(pw_tokens_checked, count_of(&|t| t["type"] == "pw"));
    assert_eq!(pins_checked, 13, "the fixture README lists 13 PIN hashes");
    assert_eq!(
        user_pins_checked,
        count_of(&|t| t.get("motp_userpin").is_some())
    );
    let encrypted_in_db = tokens
        .values()
        .filter(|row| is_encrypted_pin(text(row, "LinOtpPinHash")))
        .count();
    assert_eq!(encrypted_pins_checked, encrypted_in_db);
}

#[test]
fn every_encrypted_config_value_decrypts() {
    let module = module();
    let manifest = common::fixture_json("manifest.json");
    let config = stored_config();
    let decrypt = |key: &str| -> String {
        let (value, kind) = config
            .get(key)
            .unwrap_or_else(|| panic!("{key} not stored"));
        assert!(
            kind == "encrypted_data" || kind == "password",
            "{key} has type {kind}"
        );
        module
            .decrypt_password(value)
            .unwrap_or_else(|err| panic!("{key}: {err}"))
            .into_text("config value")
            .unwrap()
            .expose()
            .to_owned()
    };
    let mut checked = Vec::new();

    for (key, entry) in manifest["config"]["set_via_setConfig"].as_object().unwrap() {
        if entry.get("stored_type").and_then(Value::as_str) == Some("encrypted_data") {
            assert_eq!(decrypt(key), text(entry, "clear_value"), "{key}");
            checked.push(key.clone());
        }
    }
    for provider in manifest["config"]["providers"]
        .as_object()
        .unwrap()
        .values()
    {
        let key = text(provider, "config_key")
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        let clear: Value = serde_json::from_str(&decrypt(&key)).unwrap();
        assert_eq!(clear, provider["config_clear"], "{key}");
        checked.push(key);
    }
    let others = manifest["config"]["other_encrypted_entries"]
        .as_object()
        .unwrap();
    assert_eq!(decrypt("linotp.sqlresolver.Password.fixres"), "");
    let secret = BASE64
        .decode(decrypt("linotp.SecretKey.Partition.0").as_bytes())
        .unwrap();
    let public = BASE64
        .decode(decrypt("linotp.PublicKey.Partition.0").as_bytes())
        .unwrap();
    assert_eq!(
        secret.len(),
        64,
        "libsodium ed25519 secret key = seed ‖ public key"
    );
    assert_eq!(public.len(), 32);
    assert_eq!(
        &secret[32..],
        public.as_slice(),
        "partition key pair does not match"
    );
    checked.extend(others.keys().cloned());

    // Nothing encrypted in the database is left out, and nothing listed is missing.
    let mut encrypted_in_db: Vec<String> = config
        .iter()
        .filter(|(_, (_, kind))| kind == "encrypted_data" || kind == "password")
        .map(|(key, _)| key.clone())
        .collect();
    encrypted_in_db.sort();
    checked.sort();
    assert_eq!(checked, encrypted_in_db);
    assert_eq!(checked.len(), 6);
}

#[test]
fn every_user_and_admin_password_hash_verifies() {
    let manifest = common::fixture_json("manifest.json");
    let stored = common::fixture_json("stored.json");
    let rows = stored["tables"]["imported_user"].as_array().unwrap();
    let hash_of = |group: &str, name: &str| -> String {
        let row = rows
            .iter()
            .find(|row| row["groupid"] == group && row["username"] == name)
            .unwrap_or_else(|| panic!("{group}/{name} not stored"));
        text(row, "password").to_owned()
    };

    let mut checked = 0;
    for user in manifest["userstore"]["users"].as_array().unwrap() {
        let hash = hash_of("fixres", text(user, "username"));
        assert_eq!(text(user, "password_hash"), "sha512_crypt");
        assert_eq!(
            PasswordScheme::identify(&hash),
            Some(PasswordScheme::Sha512Crypt)
        );
        assert!(
            verify_password(text(user, "password"), &hash),
            "{}",
            user["username"]
        );
        checked += 1;
    }
    let admin = &manifest["admin"];
    let hash = hash_of("LinOTP_local_admins", text(admin, "user"));
    assert!(
        hash.starts_with("$6$rounds=656000$"),
        "LinOTP's default shape"
    );
    assert!(verify_password(text(admin, "password"), &hash));
    // Each check costs 656000 SHA-512 rounds (seconds in a debug build): one wrong-password
    // check stands for all hashes of the same scheme.
    assert!(!verify_password("test123!", &hash));
    checked += 1;

    assert_eq!(checked, rows.len(), "every imported_user row was checked");
}
