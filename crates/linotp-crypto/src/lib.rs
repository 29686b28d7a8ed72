//! LinOTP cryptography, data-compatible with LinOTP 3.x/4.x.
//!
//! * [`EncKey`]: the 96-byte `encKey` file (three AES-256 / HMAC keys): generate, read, write
//!   atomically without clobbering, restore from hex or from the paper backup (`--dump`).
//! * [`SecurityModule`] with the file-based [`DefaultSecurityModule`]: LinOTP's
//!   "hex inside AES-256-CBC" encryption per key slot (PKCS#7, legacy padding accepted), the
//!   `"<hex iv>:<hex ct>"` text form, the challenge MAC and the admin JWT key.
//! * [`token_secrets`]: the secret columns of the `Token` table (seeds, PIN hashes, `@@`
//!   encrypted PINs, mOTP user PINs, pw tokens).
//! * [`password`]: passlib-compatible crypt hashes (`sha512_crypt` … `bcrypt_sha256`).
//! * [`audit`]: RSA-SHA256 audit-row signatures and the signed message text.
//!
//! Secrets come back as [`SecretBytes`]/[`SecretString`]: zeroized on drop, redacted in `Debug`.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use linotp_crypto::{DefaultSecurityModule, EncKey, SecurityModule, token_secrets};
//!
//! # fn main() -> linotp_crypto::Result<()> {
//! let module: Arc<dyn SecurityModule> = Arc::new(DefaultSecurityModule::new(EncKey::generate()?));
//!
//! // Enroll: store the seed encrypted and the PIN hashed, as LinOTP does.
//! let seed = token_secrets::encrypt_seed(module.as_ref(), b"3132333435363738393031323334353637383930")?;
//! let pin = token_secrets::hash_pin(module.as_ref(), "1234")?;
//!
//! // Authenticate: check the PIN, then decrypt the seed for the OTP check.
//! assert!(token_secrets::verify_token_pin(module.as_ref(), &pin.pin_hash, &pin.pin_seed, "1234")?);
//! let seed_string = token_secrets::decrypt_seed(module.as_ref(), &seed.key_iv, &seed.key_enc)?;
//! let key = token_secrets::seed_to_key(&seed_string, token_secrets::SeedEncoding::Hex)?;
//! assert_eq!(key.expose(), b"12345678901234567890");
//!
//! // Challenge integrity MAC.
//! let mac = module.sign_message(br#"{"a": 1}"#)?;
//! assert!(module.verify_message_signature(br#"{"a": 1}"#, &mac));
//! # Ok(())
//! # }
//! ```

pub mod aes_cbc;
pub mod audit;
pub mod enckey;
mod error;
pub mod module;
pub mod password;
pub mod random;
mod secret;
pub mod token_secrets;

pub use audit::{AuditRecord, AuditSigner, AuditVerifier};
pub use enckey::{ENC_KEY_LEN, EncKey, KeySlot, WriteMode};
pub use error::{CryptoError, Result};
pub use module::{DefaultSecurityModule, HashAlgorithm, SecurityModule};
pub use password::{PasswordScheme, hash_password, verify_password};
pub use secret::{SecretBytes, SecretString};
