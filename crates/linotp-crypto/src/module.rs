//! The security-module abstraction (LinOTP's `lib/security`): who holds the keys and performs
//! encryption, decryption and the challenge MAC.
//!
//! [`DefaultSecurityModule`] keeps the `encKey` in memory. An HSM-backed module (PKCS#11) only has
//! to implement the required methods; the stored formats built on top (the `"iv:ct"` text, PIN
//! and password encryption) are provided methods, so every module produces identical data.

use std::fmt;
use std::path::Path;

use ring::{digest, hkdf, hmac};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::aes_cbc::{AES_BLOCK_LEN, IvCiphertext, decrypt_hex_payload, encrypt_hex_payload};
use crate::enckey::{EncKey, KeySlot};
use crate::error::{CryptoError, Result};
use crate::random::fill_random;
use crate::secret::SecretBytes;

/// Hash functions LinOTP names in `hash_digest` / `hmac_digest` (token `hashlib`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1 (HOTP default; legacy only).
    Sha1,
    /// SHA-256 (PIN hashes, challenge MAC).
    Sha256,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            HashAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlgorithm::Sha256 => &digest::SHA256,
            HashAlgorithm::Sha512 => &digest::SHA512,
        }
    }

    fn hmac_algorithm(self) -> hmac::Algorithm {
        match self {
            HashAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            HashAlgorithm::Sha256 => hmac::HMAC_SHA256,
            HashAlgorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// The context string of the admin JWT key derivation. Changing it logs every admin out.
pub const JWT_SECRET_LABEL: &[u8] = b"linotp-rs admin jwt v1";

/// A keeper of the three LinOTP keys. Implementations must be cheap to share (`Arc<dyn
/// SecurityModule>`) and safe to use from many threads at once.
pub trait SecurityModule: Send + Sync + fmt::Debug {
    /// False while the module still waits for its keys (e.g. an HSM login).
    fn is_ready(&self) -> bool {
        true
    }

    /// Fills `buf` from a CSPRNG.
    fn random(&self, buf: &mut [u8]) -> Result<()> {
        fill_random(buf)
    }

    /// LinOTP `encrypt(data, iv, slot)`: AES-256-CBC over PKCS#7-padded `hex(data)`.
    fn encrypt(&self, slot: KeySlot, iv: &[u8; AES_BLOCK_LEN], data: &[u8]) -> Result<Vec<u8>>;

    /// LinOTP `decrypt(ct, iv, slot)`; accepts both PKCS#7 and the ≤ 3.0 padding.
    fn decrypt(
        &self,
        slot: KeySlot,
        iv: &[u8; AES_BLOCK_LEN],
        ciphertext: &[u8],
    ) -> Result<SecretBytes>;

    /// LinOTP `signMessage`: lower-case hex HMAC-SHA256 of `message` keyed with slot 2.
    fn sign_message(&self, message: &[u8]) -> Result<String>;

    /// The 32-byte HS256 key for admin session JWTs, derived from the token key.
    ///
    /// LinOTP derives it with PBKDF2 and a random salt per process start, so every restart
    /// logs all admins out and two worker processes reject each other's cookies. We want
    /// sessions that survive restarts and work on every node behind a load balancer, so the
    /// key must depend only on what all nodes share (the encKey) plus a fixed context label:
    /// HKDF-SHA256 over slot 0 with [`JWT_SECRET_LABEL`]. Rotating the encKey (or the label)
    /// invalidates all sessions, which is the wanted effect.
    fn jwt_secret(&self) -> Result<SecretBytes>;

    /// A fresh random 16-byte IV.
    fn random_iv(&self) -> Result<[u8; AES_BLOCK_LEN]> {
        let mut iv = [0u8; AES_BLOCK_LEN];
        self.random(&mut iv)?;
        Ok(iv)
    }

    /// LinOTP `verfiyMessageSignature`: constant-time check of a hex MAC from
    /// [`SecurityModule::sign_message`]. A MAC of the wrong length never matches.
    fn verify_message_signature(&self, message: &[u8], hex_mac: &str) -> bool {
        match self.sign_message(message) {
            Ok(expected) => expected
                .as_bytes()
                .ct_eq(hex_mac.to_ascii_lowercase().as_bytes())
                .into(),
            Err(_) => false,
        }
    }

    /// Encrypts with a new random IV into the `"<hex iv>:<hex ct>"` text form.
    fn encrypt_to_text(&self, slot: KeySlot, data: &[u8]) -> Result<String> {
        let iv = self.random_iv()?;
        self.encrypt_to_text_with_iv(slot, &iv, data)
    }

    /// Encrypts with the given IV into the `"<hex iv>:<hex ct>"` text form.
    fn encrypt_to_text_with_iv(
        &self,
        slot: KeySlot,
        iv: &[u8; AES_BLOCK_LEN],
        data: &[u8],
    ) -> Result<String> {
        let ciphertext = self.encrypt(slot, iv, data)?;
        Ok(IvCiphertext {
            iv: *iv,
            ciphertext,
        }
        .to_text())
    }

    /// Decrypts the `"<hex iv>:<hex ct>"` text form.
    fn decrypt_text(&self, slot: KeySlot, text: &str) -> Result<SecretBytes> {
        let parsed = IvCiphertext::parse(text)?;
        self.decrypt(slot, &parsed.iv, &parsed.ciphertext)
    }

    /// LinOTP `encryptPassword`: config secrets, slot 1, random IV, `"iv:ct"` text.
    fn encrypt_password(&self, password: &[u8]) -> Result<String> {
        self.encrypt_to_text(KeySlot::Config, password)
    }

    /// LinOTP `decryptPassword`: inverse of [`SecurityModule::encrypt_password`].
    fn decrypt_password(&self, text: &str) -> Result<SecretBytes> {
        self.decrypt_text(KeySlot::Config, text)
    }

    /// LinOTP `encryptPin`: slot 0, the given or a random IV, `"iv:ct"` text.
    fn encrypt_pin(&self, pin: &[u8], iv: Option<&[u8; AES_BLOCK_LEN]>) -> Result<String> {
        match iv {
            Some(iv) => self.encrypt_to_text_with_iv(KeySlot::Token, iv, pin),
            None => self.encrypt_to_text(KeySlot::Token, pin),
        }
    }

    /// LinOTP `decryptPin`: inverse of [`SecurityModule::encrypt_pin`].
    fn decrypt_pin(&self, text: &str) -> Result<SecretBytes> {
        self.decrypt_text(KeySlot::Token, text)
    }

    /// LinOTP `hash_digest(val, seed, hashfunc)` = `H(value ‖ seed)` (token PIN hashing).
    fn hash_digest(&self, value: &[u8], seed: &[u8], algorithm: HashAlgorithm) -> Vec<u8> {
        let mut context = digest::Context::new(algorithm.digest_algorithm());
        context.update(value);
        context.update(seed);
        context.finish().as_ref().to_vec()
    }

    /// LinOTP `hmac_digest(key, data, hashfunc)`: a plain HMAC (OTP calculation).
    fn hmac_digest(&self, key: &[u8], data: &[u8], algorithm: HashAlgorithm) -> Vec<u8> {
        let key = hmac::Key::new(algorithm.hmac_algorithm(), key);
        hmac::sign(&key, data).as_ref().to_vec()
    }
}

/// The file-based module: all three keys from the `encKey` file, held in memory
/// (zeroized on drop, never shown by `Debug`).
#[derive(Debug, Clone)]
pub struct DefaultSecurityModule {
    key: EncKey,
}

impl DefaultSecurityModule {
    /// Uses the given key material.
    pub fn new(key: EncKey) -> Self {
        Self { key }
    }

    /// Reads the key file (`SECRET_FILE`).
    pub fn from_key_file(path: &Path) -> Result<Self> {
        let key = EncKey::read(path)?;
        tracing::debug!(path = %path.display(), "loaded encryption key file");
        Ok(Self { key })
    }
}

impl SecurityModule for DefaultSecurityModule {
    fn encrypt(&self, slot: KeySlot, iv: &[u8; AES_BLOCK_LEN], data: &[u8]) -> Result<Vec<u8>> {
        Ok(encrypt_hex_payload(self.key.slot(slot), iv, data))
    }

    fn decrypt(
        &self,
        slot: KeySlot,
        iv: &[u8; AES_BLOCK_LEN],
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        decrypt_hex_payload(self.key.slot(slot), iv, ciphertext)
    }

    fn sign_message(&self, message: &[u8]) -> Result<String> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.key.slot(KeySlot::Value));
        Ok(hex::encode(hmac::sign(&key, message).as_ref()))
    }

    fn jwt_secret(&self) -> Result<SecretBytes> {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"linotp-rs");
        let pseudo_random_key = salt.extract(self.key.slot(KeySlot::Token));
        let mut secret = Zeroizing::new(vec![0u8; 32]);
        pseudo_random_key
            .expand(&[JWT_SECRET_LABEL], hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut secret))
            .map_err(|_| CryptoError::Random)?;
        Ok(SecretBytes::new(secret.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// The synthetic key of crypto.md §3: bytes 0x00 … 0x5f.
    fn spec_module() -> DefaultSecurityModule {
        DefaultSecurityModule::new(EncKey::from_bytes((0u8..96).collect()).unwrap())
    }

    #[test]
    fn challenge_mac_matches_the_spec_vector() {
        let module = spec_module();
        let mac = module.sign_message(br#"{"a": 1}"#).unwrap();
        assert_eq!(
            mac,
            "f7a90c9744b8ed6fca5a73cbd01af78197a41c0682d17abee616f1f7ebf91217"
        );
        assert!(module.verify_message_signature(br#"{"a": 1}"#, &mac));
        assert!(module.verify_message_signature(br#"{"a": 1}"#, &mac.to_uppercase()));
        assert!(!module.verify_message_signature(br#"{"a": 2}"#, &mac));
        assert!(!module.verify_message_signature(br#"{"a": 1}"#, &mac[..63]));
        assert!(!module.verify_message_signature(br#"{"a": 1}"#, ""));
    }

    #[test]
    fn config_secret_matches_the_spec_vector() {
        let module = spec_module();
        let text = module
            .encrypt_to_text_with_iv(KeySlot::Config, &[0x11; 16], b"secret")
            .unwrap();
        assert_eq!(
            text,
            "11111111111111111111111111111111:d2e4bcc3f7e134ea843c1e0a8c6a5f97"
        );
        assert_eq!(module.decrypt_password(&text).unwrap().expose(), b"secret");
    }

    #[test]
    fn pin_and_password_use_different_slots() {
        let module = spec_module();
        let iv = [0x11; 16];
        let as_pin = module.encrypt_pin(b"1234", Some(&iv)).unwrap();
        let as_password = module
            .encrypt_to_text_with_iv(KeySlot::Config, &iv, b"1234")
            .unwrap();
        assert_ne!(as_pin, as_password);
        assert!(module.decrypt_password(&as_pin).is_err());
        assert_eq!(module.decrypt_pin(&as_pin).unwrap().expose(), b"1234");
    }

    #[test]
    fn random_ivs_make_each_encryption_different() {
        let module = spec_module();
        let first = module.encrypt_password(b"same").unwrap();
        let second = module.encrypt_password(b"same").unwrap();
        assert_ne!(first, second);
        assert_eq!(module.decrypt_password(&second).unwrap().expose(), b"same");
    }

    #[test]
    fn jwt_secret_is_stable_per_key_and_differs_between_keys() {
        let first = spec_module().jwt_secret().unwrap();
        let again = spec_module().jwt_secret().unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(first.expose(), again.expose());
        let other = DefaultSecurityModule::new(EncKey::generate().unwrap());
        assert_ne!(first.expose(), other.jwt_secret().unwrap().expose());
        // Not simply a copy of any key slot.
        let key = EncKey::from_bytes((0u8..96).collect()).unwrap();
        assert_ne!(first.expose(), key.slot(KeySlot::Token));
    }

    #[test]
    fn hash_digest_is_hash_of_value_then_seed() {
        let module = spec_module();
        let salt: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            hex::encode(module.hash_digest(b"pin", &salt, HashAlgorithm::Sha256)),
            "7d6b5d60863705bc66f1c84671502ab94f420ad8c87795c7c11033ec535bb1a7"
        );
    }

    #[test]
    fn hmac_digest_matches_rfc_4231_case_2() {
        let module = spec_module();
        let mac = module.hmac_digest(
            b"Jefe",
            b"what do ya want for nothing?",
            HashAlgorithm::Sha256,
        );
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn module_is_shareable_across_threads_and_hides_keys_in_debug() {
        let module: Arc<dyn SecurityModule> = Arc::new(spec_module());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let module = Arc::clone(&module);
                std::thread::spawn(move || module.sign_message(b"x").unwrap())
            })
            .collect();
        let macs: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(macs.windows(2).all(|pair| pair[0] == pair[1]));
        assert!(format!("{module:?}").contains("REDACTED"));
    }
}
