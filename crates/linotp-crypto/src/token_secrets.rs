//! The secret columns of LinOTP's `Token` table: seeds, PIN hashes, encrypted PINs,
//! mOTP user PINs and the `pw` token's password hash.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::aes_cbc::parse_iv;
use crate::enckey::KeySlot;
use crate::error::{CryptoError, Result};
use crate::module::{HashAlgorithm, SecurityModule};
use crate::password::{hash_password, verify_password};
use crate::secret::{SecretBytes, SecretString, decode_hex, decode_hex_secret};

/// `LinOtpKeyIV` of a pw token in the 3.x format: `hex(":1:")`.
pub const PW_TOKEN_KEY_IV: &str = "3a313a";

/// Prefix of an encrypted (instead of hashed) token PIN in `LinOtpPinHash`.
pub const ENCRYPTED_PIN_PREFIX: &str = "@@";

/// `LinOtpKeyIV` + `LinOtpKeyEnc` as stored (hex text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSeed {
    /// `LinOtpKeyIV`: hex of the IV (or [`PW_TOKEN_KEY_IV`]).
    pub key_iv: String,
    /// `LinOtpKeyEnc`: hex of the ciphertext (or of the crypt hash for pw tokens).
    pub key_enc: String,
}

/// `LinOtpPinHash` + `LinOtpSeed` as stored (hex text; `LinOtpSeed` is the PIN salt/IV).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPin {
    /// `LinOtpPinHash`: hex SHA-256, or `@@` + hex of the `"iv:ct"` text.
    pub pin_hash: String,
    /// `LinOtpSeed`: hex of the salt (hashed PIN) or IV (encrypted PIN).
    pub pin_seed: String,
}

/// `LinOtpTokenPinUser` + `LinOtpTokenPinUserIV` (mOTP device PIN) as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUserPin {
    /// `LinOtpTokenPinUser`: hex of the ciphertext.
    pub pin_user: String,
    /// `LinOtpTokenPinUserIV`: hex of the IV.
    pub pin_user_iv: String,
}

/// How a token type turns the enrolled seed string into its key (crypto.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedEncoding {
    /// HOTP, TOTP, OCRA, Yubikey, SMS, e-mail, voice: the seed string is hex of the key.
    Hex,
    /// mOTP and DPW: the seed string itself is the key.
    Ascii,
    /// RADIUS: hex of the shared secret, which must be UTF-8 text.
    HexOfText,
}

/// Encrypts an enrolled seed string (the `otpkey` as sent, usually hex) with slot 0 and a
/// new random IV.
pub fn encrypt_seed(module: &dyn SecurityModule, seed: &[u8]) -> Result<StoredSeed> {
    let iv = module.random_iv()?;
    let ciphertext = module.encrypt(KeySlot::Token, &iv, seed)?;
    Ok(StoredSeed {
        key_iv: hex::encode(iv),
        key_enc: hex::encode(ciphertext),
    })
}

/// Decrypts `LinOtpKeyEnc` with the IV in `LinOtpKeyIV` and returns the enrolled seed string's
/// bytes (e.g. the ASCII hex of an HOTP key). Use [`seed_to_key`] for the key itself.
pub fn decrypt_seed(
    module: &dyn SecurityModule,
    key_iv: &str,
    key_enc: &str,
) -> Result<SecretBytes> {
    let iv = parse_iv(key_iv, "LinOtpKeyIV")?;
    let ciphertext = decode_hex(key_enc, "LinOtpKeyEnc")?;
    module.decrypt(KeySlot::Token, &iv, &ciphertext)
}

/// Turns a decrypted seed string into the token's key material.
pub fn seed_to_key(seed: &SecretBytes, encoding: SeedEncoding) -> Result<SecretBytes> {
    match encoding {
        SeedEncoding::Ascii => Ok(seed.clone()),
        SeedEncoding::Hex => decode_hex_secret(seed.expose(), "token seed"),
        SeedEncoding::HexOfText => {
            let secret = decode_hex_secret(seed.expose(), "radius secret")?;
            if std::str::from_utf8(secret.expose()).is_err() {
                return Err(CryptoError::NotUtf8 {
                    what: "radius secret",
                });
            }
            Ok(secret)
        }
    }
}

/// Hashes a token PIN with a new random 16-byte salt: `sha256(pin ‖ salt)`.
/// An empty PIN is hashed too, as LinOTP does at enrollment.
pub fn hash_pin(module: &dyn SecurityModule, pin: &str) -> Result<StoredPin> {
    let mut salt = [0u8; 16];
    module.random(&mut salt)?;
    Ok(hash_pin_with_salt(module, pin, &salt))
}

/// Hashes a token PIN with the given salt (for tests and re-hashing with a known salt).
pub fn hash_pin_with_salt(module: &dyn SecurityModule, pin: &str, salt: &[u8]) -> StoredPin {
    let digest = module.hash_digest(pin.as_bytes(), salt, HashAlgorithm::Sha256);
    StoredPin {
        pin_hash: hex::encode(digest),
        pin_seed: hex::encode(salt),
    }
}

/// Stores a token PIN encrypted (`encryptpin=true`): `"@@" + hex("<hex iv>:<hex ct>")`
/// with slot 0, `LinOtpSeed` = hex(iv).
pub fn encrypt_pin_for_token(module: &dyn SecurityModule, pin: &str) -> Result<StoredPin> {
    let iv = module.random_iv()?;
    encrypt_pin_for_token_with_iv(module, pin, &iv)
}

/// [`encrypt_pin_for_token`] with a given IV (deterministic; for tests and migrations).
pub fn encrypt_pin_for_token_with_iv(
    module: &dyn SecurityModule,
    pin: &str,
    iv: &[u8; 16],
) -> Result<StoredPin> {
    let text = module.encrypt_pin(pin.as_bytes(), Some(iv))?;
    Ok(StoredPin {
        pin_hash: format!("{ENCRYPTED_PIN_PREFIX}{}", hex::encode(text.as_bytes())),
        pin_seed: hex::encode(iv),
    })
}

/// True when `LinOtpPinHash` holds an encrypted PIN (`@@…`).
pub fn is_encrypted_pin(pin_hash: &str) -> bool {
    pin_hash.starts_with(ENCRYPTED_PIN_PREFIX)
}

/// Decrypts an `@@` PIN; `Ok(None)` when the PIN is hashed (not recoverable).
pub fn decrypt_token_pin(
    module: &dyn SecurityModule,
    pin_hash: &str,
) -> Result<Option<SecretString>> {
    let Some(hex_text) = pin_hash.strip_prefix(ENCRYPTED_PIN_PREFIX) else {
        return Ok(None);
    };
    let text = decode_hex(hex_text, "encrypted LinOtpPinHash")?;
    let text = String::from_utf8(text).map_err(|_| CryptoError::MalformedValue {
        what: "encrypted LinOtpPinHash",
        reason: "not an ASCII iv:ciphertext text",
    })?;
    let pin = module.decrypt_pin(&text)?;
    pin.into_text("token PIN").map(Some)
}

/// Checks a PIN candidate against `LinOtpPinHash`/`LinOtpSeed`.
///
/// * `@@…`: the stored PIN is decrypted (either padding) and compared in constant time.
/// * otherwise `sha256(candidate ‖ unhex(LinOtpSeed))` is compared in constant time with
///   `unhex(LinOtpPinHash)`; an empty stored hash matches only the empty candidate.
///
/// Errors mean the stored data is unusable (bad hex, wrong key); treat them as "no match".
pub fn verify_token_pin(
    module: &dyn SecurityModule,
    pin_hash: &str,
    pin_seed: &str,
    candidate: &str,
) -> Result<bool> {
    if is_encrypted_pin(pin_hash) {
        let stored = decrypt_token_pin(module, pin_hash)?.unwrap_or_default();
        return Ok(bool::from(
            stored.expose().as_bytes().ct_eq(candidate.as_bytes()),
        ));
    }
    let pin_hash = pin_hash.trim();
    if pin_hash.is_empty() {
        return Ok(candidate.is_empty());
    }
    let expected = decode_hex(pin_hash, "LinOtpPinHash")?;
    let salt = decode_hex(pin_seed, "LinOtpSeed")?;
    let actual =
        Zeroizing::new(module.hash_digest(candidate.as_bytes(), &salt, HashAlgorithm::Sha256));
    Ok(bool::from(actual.as_slice().ct_eq(&expected)))
}

/// Encrypts an mOTP device PIN (or another user secret) for `LinOtpTokenPinUser` with slot 0
/// and a new IV.
pub fn encrypt_user_pin(module: &dyn SecurityModule, pin: &str) -> Result<StoredUserPin> {
    let iv = module.random_iv()?;
    let ciphertext = module.encrypt(KeySlot::Token, &iv, pin.as_bytes())?;
    Ok(StoredUserPin {
        pin_user: hex::encode(ciphertext),
        pin_user_iv: hex::encode(iv),
    })
}

/// Decrypts `LinOtpTokenPinUser` with `LinOtpTokenPinUserIV` (surrounding spaces, as MS SQL
/// returns them, are ignored).
pub fn decrypt_user_pin(
    module: &dyn SecurityModule,
    pin_user: &str,
    pin_user_iv: &str,
) -> Result<SecretString> {
    let iv = parse_iv(pin_user_iv, "LinOtpTokenPinUserIV")?;
    let ciphertext = decode_hex(pin_user, "LinOtpTokenPinUser")?;
    module
        .decrypt(KeySlot::Token, &iv, &ciphertext)?
        .into_text("mOTP user PIN")
}

/// Creates the stored form of a new pw token: `LinOtpKeyIV = "3a313a"`,
/// `LinOtpKeyEnc = hex(sha512_crypt(password))`.
pub fn create_pw_token_seed(password: &str) -> Result<StoredSeed> {
    let hash = hash_password(password)?;
    Ok(StoredSeed {
        key_iv: PW_TOKEN_KEY_IV.to_owned(),
        key_enc: hex::encode(hash.as_bytes()),
    })
}

/// Checks a pw token password. New format (`LinOtpKeyIV = "3a313a"`): crypt-verify against
/// `unhex(LinOtpKeyEnc)`. Legacy format (random IV): the password was stored like a seed;
/// decrypt it (either padding) and compare in constant time.
pub fn verify_pw_token(
    module: &dyn SecurityModule,
    key_iv: &str,
    key_enc: &str,
    candidate: &str,
) -> Result<bool> {
    if key_iv.trim().eq_ignore_ascii_case(PW_TOKEN_KEY_IV) {
        let hash = decode_hex(key_enc, "LinOtpKeyEnc")?;
        let hash = String::from_utf8(hash).map_err(|_| CryptoError::MalformedValue {
            what: "pw token LinOtpKeyEnc",
            reason: "not a crypt hash text",
        })?;
        return Ok(verify_password(candidate, &hash));
    }
    let stored = decrypt_seed(module, key_iv, key_enc)?;
    Ok(stored.ct_eq(candidate.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aes_cbc::encrypt_hex_payload_legacy;
    use crate::enckey::EncKey;
    use crate::module::DefaultSecurityModule;

    /// The synthetic key of crypto.md §3: bytes 0x00 … 0x5f.
    fn spec_module() -> DefaultSecurityModule {
        DefaultSecurityModule::new(EncKey::from_bytes((0u8..96).collect()).unwrap())
    }

    const SPEC_SEED_ENC: &str = concat!(
        "93fe229fd553e8389b9b69dc6610b02fe5007a8ba6608d7020212c7eb8c7e2f6",
        "81b799b1c479ed9b3be0e53901f0d48b2acec09a30f2d5b885633bd05c67a7a8",
        "b5f0317f2eb3056f6523f631028c67175b46ad756d5559ba980947b5b861665b"
    );

    #[test]
    fn spec_seed_vector_decrypts_to_the_enrolled_hex_string() {
        let module = spec_module();
        let seed =
            decrypt_seed(&module, "11111111111111111111111111111111", SPEC_SEED_ENC).unwrap();
        assert_eq!(seed.expose(), b"3132333435363738393031323334353637383930");
        let key = seed_to_key(&seed, SeedEncoding::Hex).unwrap();
        assert_eq!(key.expose(), b"12345678901234567890");
    }

    #[test]
    fn spec_seed_vector_is_what_encryption_with_that_iv_produces() {
        let module = spec_module();
        let ciphertext = module
            .encrypt(
                KeySlot::Token,
                &[0x11; 16],
                b"3132333435363738393031323334353637383930",
            )
            .unwrap();
        assert_eq!(hex::encode(ciphertext), SPEC_SEED_ENC);
    }

    #[test]
    fn spec_encrypted_pin_vector() {
        let module = spec_module();
        let stored = encrypt_pin_for_token_with_iv(&module, "1234", &[0x11; 16]).unwrap();
        assert_eq!(
            stored.pin_hash,
            concat!(
                "@@3131313131313131313131313131313131313131313131313131313131313131",
                "3a6335346239646134663735636663353561366236366363663866316164306231"
            )
        );
        assert_eq!(stored.pin_seed, "11111111111111111111111111111111");
        assert!(verify_token_pin(&module, &stored.pin_hash, &stored.pin_seed, "1234").unwrap());
        assert!(!verify_token_pin(&module, &stored.pin_hash, &stored.pin_seed, "1235").unwrap());
        assert!(!verify_token_pin(&module, &stored.pin_hash, &stored.pin_seed, "").unwrap());
        assert_eq!(
            decrypt_token_pin(&module, &stored.pin_hash)
                .unwrap()
                .unwrap()
                .expose(),
            "1234"
        );
    }

    #[test]
    fn spec_hashed_pin_vector() {
        let module = spec_module();
        let salt: Vec<u8> = (0u8..16).collect();
        let stored = hash_pin_with_salt(&module, "pin", &salt);
        assert_eq!(
            stored.pin_hash,
            "7d6b5d60863705bc66f1c84671502ab94f420ad8c87795c7c11033ec535bb1a7"
        );
        assert_eq!(stored.pin_seed, "000102030405060708090a0b0c0d0e0f");
        assert!(verify_token_pin(&module, &stored.pin_hash, &stored.pin_seed, "pin").unwrap());
        assert!(!verify_token_pin(&module, &stored.pin_hash, &stored.pin_seed, "pin ").unwrap());
        assert!(
            decrypt_token_pin(&module, &stored.pin_hash)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn new_pin_hashes_get_random_salts_and_verify() {
        let module = spec_module();
        let first = hash_pin(&module, "geheim").unwrap();
        let second = hash_pin(&module, "geheim").unwrap();
        assert_ne!(first.pin_seed, second.pin_seed);
        assert_eq!(first.pin_seed.len(), 32);
        assert!(verify_token_pin(&module, &first.pin_hash, &first.pin_seed, "geheim").unwrap());
    }

    #[test]
    fn empty_pin_rules() {
        let module = spec_module();
        // Empty stored hash: only the empty candidate matches.
        assert!(verify_token_pin(&module, "", "", "").unwrap());
        assert!(!verify_token_pin(&module, "", "", "x").unwrap());
        // An empty PIN set at enrollment is a real hash of "" with a salt.
        let stored = hash_pin(&module, "").unwrap();
        assert_eq!(stored.pin_hash.len(), 64);
        assert!(verify_token_pin(&module, &stored.pin_hash, &stored.pin_seed, "").unwrap());
        assert!(!verify_token_pin(&module, &stored.pin_hash, &stored.pin_seed, "x").unwrap());
    }

    #[test]
    fn corrupt_stored_pins_are_errors_not_matches() {
        let module = spec_module();
        assert!(verify_token_pin(&module, "zz", "00", "x").is_err());
        assert!(verify_token_pin(&module, "@@zz", "00", "x").is_err());
    }

    #[test]
    fn legacy_padded_encrypted_pin_still_verifies() {
        // `@@` PINs are not re-encrypted by the 3.1 migration, so old padding must be read.
        let module = spec_module();
        let key = EncKey::from_bytes((0u8..96).collect()).unwrap();
        let iv = [0x22; 16];
        let ciphertext = encrypt_hex_payload_legacy(key.slot(KeySlot::Token), &iv, b"oldpin");
        let text = format!("{}:{}", hex::encode(iv), hex::encode(ciphertext));
        let pin_hash = format!("@@{}", hex::encode(text));
        assert!(verify_token_pin(&module, &pin_hash, &hex::encode(iv), "oldpin").unwrap());
        assert!(!verify_token_pin(&module, &pin_hash, &hex::encode(iv), "newpin").unwrap());
    }

    #[test]
    fn user_pin_round_trip_and_legacy_padding() {
        let module = spec_module();
        let stored = encrypt_user_pin(&module, "1234").unwrap();
        assert_eq!(
            decrypt_user_pin(&module, &stored.pin_user, &stored.pin_user_iv)
                .unwrap()
                .expose(),
            "1234"
        );
        let key = EncKey::from_bytes((0u8..96).collect()).unwrap();
        let iv = [0x33; 16];
        let legacy = encrypt_hex_payload_legacy(key.slot(KeySlot::Token), &iv, b"6666");
        let padded_with_spaces = format!(" {} ", hex::encode(legacy));
        assert_eq!(
            decrypt_user_pin(&module, &padded_with_spaces, &hex::encode(iv))
                .unwrap()
                .expose(),
            "6666"
        );
    }

    #[test]
    fn seed_encodings() {
        let ascii = SecretBytes::new(b"0123456789abcdef".to_vec());
        assert_eq!(
            seed_to_key(&ascii, SeedEncoding::Ascii).unwrap().expose(),
            b"0123456789abcdef"
        );
        assert_eq!(
            seed_to_key(&ascii, SeedEncoding::Hex).unwrap().expose(),
            &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
        );
        let radius = SecretBytes::new(hex::encode("testing123").into_bytes());
        assert_eq!(
            seed_to_key(&radius, SeedEncoding::HexOfText)
                .unwrap()
                .expose(),
            b"testing123"
        );
        let not_text = SecretBytes::new(b"ff".to_vec());
        assert!(seed_to_key(&not_text, SeedEncoding::HexOfText).is_err());
        assert!(seed_to_key(&SecretBytes::new(b"xyz".to_vec()), SeedEncoding::Hex).is_err());
    }

    #[test]
    fn seed_round_trip_with_random_iv() {
        let module = spec_module();
        let stored = encrypt_seed(&module, b"deadbeef").unwrap();
        assert_eq!(stored.key_iv.len(), 32);
        assert_eq!(
            decrypt_seed(&module, &stored.key_iv, &stored.key_enc)
                .unwrap()
                .expose(),
            b"deadbeef"
        );
        let other = encrypt_seed(&module, b"deadbeef").unwrap();
        assert_ne!(stored.key_iv, other.key_iv);
    }

    #[test]
    fn legacy_pw_token_is_checked_by_decrypting() {
        let module = spec_module();
        let stored = encrypt_seed(&module, b"lost-token-pw").unwrap();
        assert!(
            verify_pw_token(&module, &stored.key_iv, &stored.key_enc, "lost-token-pw").unwrap()
        );
        assert!(
            !verify_pw_token(&module, &stored.key_iv, &stored.key_enc, "lost-token-p").unwrap()
        );
    }

    #[test]
    fn new_format_pw_token_with_fast_hash() {
        let module = spec_module();
        // A cheap libxcrypt-made hash of "Test123!" stands in for the 656000-round default.
        let hash = "$5$rounds=1000$abcdefgh$i4iWeRMHsYkIbK/6xtKKoEfzZoEiR9ArgqEPpyl9zY.";
        let key_enc = hex::encode(hash);
        assert!(verify_pw_token(&module, PW_TOKEN_KEY_IV, &key_enc, "Test123!").unwrap());
        assert!(!verify_pw_token(&module, PW_TOKEN_KEY_IV, &key_enc, "Test123").unwrap());
    }
}
