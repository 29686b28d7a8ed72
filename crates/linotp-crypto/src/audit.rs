//! Audit-row signatures: RSA-2048, RSASSA-PKCS1-v1_5 with SHA-256, lower-case hex, over the
//! text LinOTP builds from the row (crypto.md §8). Rows signed here pass LinOTP's `sig_check`
//! and rows signed by LinOTP verify here.
//!
//! Signing runs on `ring` for keys of 2048 to 4096 bits (about four times faster than the
//! pure-Rust `rsa` crate; PKCS#1 v1.5 is deterministic, so both give the same bytes) and
//! falls back to `rsa` for other sizes.
//!
//! A server that cannot afford an RSA signature per request first stores a row with a
//! *pending mark* ([`AuditSigner::pending_mark`]): `pending:` and an HMAC-SHA256 of the
//! signed text under a key derived from the private audit key. Only the holder of that key
//! can make a valid mark, so a later signing pass ([`AuditSigner::verify_pending_mark`]) can
//! tell an untouched pending row from one changed in the database meanwhile.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use ring::{digest, hmac, rand, signature as ring_signature};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::enckey::{WriteMode, publish_temp_file, sync_dir, write_private_temp_file};
use crate::error::{CryptoError, Result};

/// Key size of `linotp init audit-keys` (`openssl genrsa 2048`).
pub const AUDIT_KEY_BITS: usize = 2048;

/// One audit row, as stored (values after truncation; `None` = SQL NULL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditRecord {
    /// `id` (the row number; the row is signed after it got its id).
    pub id: i64,
    /// `timestamp`, UTC ISO-8601 with milliseconds (`2024-05-02T10:11:12.123+00:00`).
    pub timestamp: Option<String>,
    /// `action`, e.g. `validate/check`.
    pub action: Option<String>,
    /// `success`, `"1"` or `"0"`.
    pub success: Option<String>,
    /// `serial`.
    pub serial: Option<String>,
    /// `tokentype`.
    pub tokentype: Option<String>,
    /// `user`.
    pub user: Option<String>,
    /// `realm`.
    pub realm: Option<String>,
    /// `administrator`; signed in Python `repr` form (`'admin@realm'`).
    pub administrator: Option<String>,
    /// `action_detail`.
    pub action_detail: Option<String>,
    /// `info`.
    pub info: Option<String>,
    /// `linotp_server`.
    pub linotp_server: Option<String>,
    /// `client`.
    pub client: Option<String>,
    /// `log_level`.
    pub log_level: Option<String>,
    /// `clearance_level`.
    pub clearance_level: Option<i64>,
}

impl AuditRecord {
    /// The exact text LinOTP signs for this row:
    /// `number=<id>, date=<timestamp>, action=<action>, <success>, serial=<serial>,
    /// <tokentype>, user=<user>, <realm>, admin=<repr(administrator)>, <action_detail>,
    /// <info>, server=<linotp_server>, <log_level>, <clearance_level>, client=<client>`
    /// on one line, with `None` for NULL values.
    pub fn signing_message(&self) -> String {
        fn text(value: &Option<String>) -> &str {
            value.as_deref().unwrap_or("None")
        }
        let admin = match &self.administrator {
            Some(name) => python_repr(name),
            None => "None".to_owned(),
        };
        let clearance = match self.clearance_level {
            Some(level) => level.to_string(),
            None => "None".to_owned(),
        };
        format!(
            "number={}, date={}, action={}, {}, serial={}, {}, user={}, {}, admin={}, {}, {}, \
             server={}, {}, {}, client={}",
            self.id,
            text(&self.timestamp),
            text(&self.action),
            text(&self.success),
            text(&self.serial),
            text(&self.tokentype),
            text(&self.user),
            text(&self.realm),
            admin,
            text(&self.action_detail),
            text(&self.info),
            text(&self.linotp_server),
            text(&self.log_level),
            clearance,
            text(&self.client),
        )
    }
}

/// Cuts an audit value to `max_chars` characters the way LinOTP does before storing and
/// signing it: the first `max_chars - 1` characters followed by `…`.
pub fn truncate_audit_value(value: &str, max_chars: usize) -> String {
    if value.chars().count() <= max_chars {
        return value.to_owned();
    }
    let mut cut: String = value.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Python's `repr()` of a `str`: single quotes unless the text contains `'` and no `"`;
/// backslash escapes for the quote, `\`, `\t`, `\n`, `\r` and non-printable characters.
///
/// Non-printable is approximated by the control, format, separator and private-use ranges
/// that appear in practice; Python also escapes unassigned code points, which we keep as is.
pub fn python_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_python_printable(c) => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn is_python_printable(character: char) -> bool {
    let code = u32::from(character);
    !matches!(
        code,
        0x00..=0x1f
            | 0x7f..=0xa0
            | 0xad
            | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x180e
            | 0x1680
            | 0x2000..=0x200f
            | 0x2028..=0x202f
            | 0x205f..=0x2064
            | 0x2066..=0x206f
            | 0x3000
            | 0xe000..=0xf8ff
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0xfffe..=0xffff
            | 0xe0001
            | 0xe0020..=0xe007f
            | 0xf0000..
    )
}

/// Prefix of a pending mark in the `signature` column (see the module docs).
pub const PENDING_MARK_PREFIX: &str = "pending:";

/// Domain separation of the pending-mark key derived from the private audit key.
const PENDING_MARK_KEY_LABEL: &[u8] = b"linotp-rs audit pending mark v1\0";

/// Whether a `signature` column value is a pending mark rather than a signature.
pub fn is_pending_mark(signature: &str) -> bool {
    signature.starts_with(PENDING_MARK_PREFIX)
}

/// Signs audit rows with the private audit key.
pub struct AuditSigner {
    key: SigningKey<Sha256>,
    fast_key: Option<ring_signature::RsaKeyPair>,
    rng: rand::SystemRandom,
    mark_key: hmac::Key,
    public: RsaPublicKey,
}

impl fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditSigner")
            .field("private_key", &"[REDACTED]")
            .field("fast_signing", &self.fast_key.is_some())
            .finish()
    }
}

impl AuditSigner {
    /// Parses a private key PEM: PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let private = RsaPrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem))
            .map_err(|_| {
                CryptoError::AuditKey(
                    "private key is neither PKCS#1 nor unencrypted PKCS#8 RSA PEM".to_owned(),
                )
            })?;
        Self::from_key(private)
    }

    /// Reads the private key file (`AUDIT_PRIVATE_KEY_FILE`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let pem = Zeroizing::new(read_text(path, "reading private audit key")?);
        Self::from_pem(&pem)
    }

    fn from_key(private: RsaPrivateKey) -> Result<Self> {
        let public = private.to_public_key();
        let der = private
            .to_pkcs1_der()
            .map_err(|err| CryptoError::AuditKey(format!("encoding private key: {err}")))?;
        // ring refuses keys outside 2048..=4096 bits; those keep the slower rsa path.
        let fast_key = ring_signature::RsaKeyPair::from_der(der.as_bytes()).ok();
        let mut derivation = digest::Context::new(&digest::SHA256);
        derivation.update(PENDING_MARK_KEY_LABEL);
        derivation.update(der.as_bytes());
        let mark_key = hmac::Key::new(hmac::HMAC_SHA256, derivation.finish().as_ref());
        Ok(Self {
            key: SigningKey::<Sha256>::new(private),
            fast_key,
            rng: rand::SystemRandom::new(),
            mark_key,
            public,
        })
    }

    /// Signs `message` and returns the lower-case hex signature (512 chars for RSA-2048).
    pub fn sign_hex(&self, message: &[u8]) -> Result<String> {
        match &self.fast_key {
            Some(pair) => {
                let mut signature = vec![0u8; pair.public().modulus_len()];
                pair.sign(
                    &ring_signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    message,
                    &mut signature,
                )
                .map_err(|_| CryptoError::AuditKey("signing failed".to_owned()))?;
                Ok(hex::encode(signature))
            }
            None => self.sign_hex_portable(message),
        }
    }

    /// Signs with the pure-Rust implementation (the fallback of [`AuditSigner::sign_hex`]).
    pub fn sign_hex_portable(&self, message: &[u8]) -> Result<String> {
        let signature = self
            .key
            .try_sign(message)
            .map_err(|err| CryptoError::AuditKey(format!("signing failed: {err}")))?;
        Ok(hex::encode(signature.to_bytes()))
    }

    /// Whether signatures are made by `ring` (keys of 2048 to 4096 bits).
    pub fn uses_fast_signing(&self) -> bool {
        self.fast_key.is_some()
    }

    /// The pending mark of a row: [`PENDING_MARK_PREFIX`] and the hex HMAC-SHA256 of its
    /// signing message (microseconds instead of an RSA signature's milliseconds).
    pub fn pending_mark(&self, record: &AuditRecord) -> String {
        let tag = hmac::sign(&self.mark_key, record.signing_message().as_bytes());
        format!("{PENDING_MARK_PREFIX}{}", hex::encode(tag.as_ref()))
    }

    /// Whether `mark` is this key's pending mark of exactly this row (constant time).
    pub fn verify_pending_mark(&self, record: &AuditRecord, mark: &str) -> bool {
        let Some(tag_hex) = mark.strip_prefix(PENDING_MARK_PREFIX) else {
            return false;
        };
        let Ok(tag) = hex::decode(tag_hex) else {
            return false;
        };
        hmac::verify(&self.mark_key, record.signing_message().as_bytes(), &tag).is_ok()
    }

    /// Signs an audit row (its [`AuditRecord::signing_message`]).
    pub fn sign_record(&self, record: &AuditRecord) -> Result<String> {
        self.sign_hex(record.signing_message().as_bytes())
    }

    /// The matching verifier.
    pub fn verifier(&self) -> AuditVerifier {
        AuditVerifier::from_key(self.public.clone())
    }
}

/// Checks audit row signatures with the public audit key.
#[derive(Clone, Debug)]
pub struct AuditVerifier {
    key: VerifyingKey<Sha256>,
}

impl AuditVerifier {
    /// Parses a public key PEM: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, what
    /// `openssl rsa -pubout` writes) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let public = RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map_err(|_| CryptoError::AuditKey("public key is not an RSA PEM".to_owned()))?;
        Ok(Self::from_key(public))
    }

    /// Reads the public key file (`AUDIT_PUBLIC_KEY_FILE`).
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_pem(&read_text(path, "reading public audit key")?)
    }

    fn from_key(public: RsaPublicKey) -> Self {
        Self {
            key: VerifyingKey::<Sha256>::new(public),
        }
    }

    /// True when `signature_hex` is a valid signature of `message`. Malformed hex is `false`.
    pub fn verify_hex(&self, message: &[u8], signature_hex: &str) -> bool {
        let Ok(bytes) = hex::decode(signature_hex.trim()) else {
            return false;
        };
        let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
            return false;
        };
        self.key.verify(message, &signature).is_ok()
    }

    /// Verifies an audit row against its stored `signature` column.
    pub fn verify_record(&self, record: &AuditRecord, signature_hex: &str) -> bool {
        self.verify_hex(record.signing_message().as_bytes(), signature_hex)
    }
}

/// A freshly generated audit key pair in PEM form.
pub struct AuditKeyPem {
    /// PKCS#1 `BEGIN RSA PRIVATE KEY` (what `openssl genrsa` of LinOTP's era wrote).
    pub private_pem: Zeroizing<String>,
    /// SubjectPublicKeyInfo `BEGIN PUBLIC KEY` (what `openssl rsa -pubout` writes).
    pub public_pem: String,
}

impl fmt::Debug for AuditKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditKeyPem")
            .field("private_pem", &"[REDACTED]")
            .field("public_pem", &self.public_pem)
            .finish()
    }
}

/// Generates an RSA key pair of `bits` bits (use [`AUDIT_KEY_BITS`]).
pub fn generate_audit_key_pem(bits: usize) -> Result<AuditKeyPem> {
    let mut rng = rsa::rand_core::OsRng;
    let private = RsaPrivateKey::new(&mut rng, bits)
        .map_err(|err| CryptoError::AuditKey(format!("key generation failed: {err}")))?;
    let private_pem = private
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|err| CryptoError::AuditKey(format!("encoding private key: {err}")))?;
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|err| CryptoError::AuditKey(format!("encoding public key: {err}")))?;
    Ok(AuditKeyPem {
        private_pem,
        public_pem,
    })
}

/// `linotp init audit-keys`: writes a new RSA-2048 pair, the private key with mode 0600 and
/// the public key with mode 0644, each atomically. With [`WriteMode::CreateNew`] an existing
/// private key is left alone (error); the public key is always rewritten since it derives
/// from the private one.
pub fn write_audit_key_files(
    private_path: &Path,
    public_path: &Path,
    mode: WriteMode,
) -> Result<()> {
    write_audit_key_pem_files(
        &generate_audit_key_pem(AUDIT_KEY_BITS)?,
        private_path,
        public_path,
        mode,
    )
}

/// Writes an existing PEM pair like [`write_audit_key_files`] does.
pub fn write_audit_key_pem_files(
    pair: &AuditKeyPem,
    private_path: &Path,
    public_path: &Path,
    mode: WriteMode,
) -> Result<()> {
    if mode == WriteMode::CreateNew && private_path.exists() {
        return Err(CryptoError::KeyFileExists {
            path: private_path.to_path_buf(),
        });
    }
    write_atomically(private_path, pair.private_pem.as_bytes(), 0o600, mode)?;
    write_atomically(
        public_path,
        pair.public_pem.as_bytes(),
        0o644,
        WriteMode::Replace,
    )
}

fn write_atomically(path: &Path, bytes: &[u8], file_mode: u32, mode: WriteMode) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp_path = write_private_temp_file(&dir, path, bytes, file_mode)?;
    let published = publish_temp_file(&temp_path, path, mode);
    let _ = fs::remove_file(&temp_path);
    published?;
    sync_dir(&dir);
    Ok(())
}

fn read_text(path: &Path, action: &'static str) -> Result<String> {
    fs::read_to_string(path).map_err(|source| CryptoError::Io {
        action,
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_record() -> AuditRecord {
        AuditRecord {
            id: 4,
            timestamp: Some("2026-11-26T10:11:11.854+00:00".to_owned()),
            action: Some("system/setRealm".to_owned()),
            success: Some("1".to_owned()),
            serial: Some(String::new()),
            tokentype: Some(String::new()),
            user: Some(String::new()),
            realm: Some(String::new()),
            administrator: Some("admin@linotp_admins (LinOTP_local_admins)".to_owned()),
            action_detail: Some(String::new()),
            info: Some("realm: 'fixrealm'".to_owned()),
            linotp_server: Some("vm".to_owned()),
            client: Some("127.0.0.1".to_owned()),
            log_level: Some("INFO".to_owned()),
            clearance_level: Some(0),
        }
    }

    #[test]
    fn signing_message_has_linotps_field_layout() {
        assert_eq!(
            sample_record().signing_message(),
            "number=4, date=2026-11-26T10:11:11.854+00:00, action=system/setRealm, 1, serial=, , \
             user=, , admin='admin@linotp_admins (LinOTP_local_admins)', , realm: 'fixrealm', \
             server=vm, INFO, 0, client=127.0.0.1"
        );
    }

    #[test]
    fn null_values_print_as_python_none() {
        let record = AuditRecord {
            id: 7,
            ..AuditRecord::default()
        };
        assert_eq!(
            record.signing_message(),
            "number=7, date=None, action=None, None, serial=None, None, user=None, None, \
             admin=None, None, None, server=None, None, None, client=None"
        );
        let empty_admin = AuditRecord {
            administrator: Some(String::new()),
            ..record
        };
        assert!(empty_admin.signing_message().contains("admin='',"));
    }

    #[test]
    fn python_repr_quotes_and_escapes_like_python() {
        // Expected values from CPython's repr().
        assert_eq!(python_repr("admin@realm"), "'admin@realm'");
        assert_eq!(python_repr(""), "''");
        assert_eq!(python_repr("o'neil"), "\"o'neil\"");
        assert_eq!(python_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(python_repr("say \"hi\""), "'say \"hi\"'");
        assert_eq!(python_repr("back\\slash"), "'back\\\\slash'");
        assert_eq!(python_repr("tab\tnl\ncr\r"), "'tab\\tnl\\ncr\\r'");
        assert_eq!(python_repr("\u{1}\u{7f}"), "'\\x01\\x7f'");
        assert_eq!(python_repr("Jürgen"), "'Jürgen'");
        assert_eq!(python_repr("nb\u{a0}sp"), "'nb\\xa0sp'");
        assert_eq!(python_repr("z\u{200b}w"), "'z\\u200bw'");
        assert_eq!(python_repr("emoji 😀"), "'emoji 😀'");
    }

    #[test]
    fn truncation_matches_linotp() {
        assert_eq!(truncate_audit_value("abcdef", 6), "abcdef");
        assert_eq!(truncate_audit_value("abcdefg", 6), "abcde…");
        assert_eq!(truncate_audit_value("äöüäöüä", 6).chars().count(), 6);
    }

    #[test]
    fn ring_and_portable_signatures_are_identical() {
        let pair = generate_audit_key_pem(AUDIT_KEY_BITS).unwrap();
        let signer = AuditSigner::from_pem(&pair.private_pem).unwrap();
        assert!(signer.uses_fast_signing());
        let message = sample_record().signing_message();
        let fast = signer.sign_hex(message.as_bytes()).unwrap();
        let portable = signer.sign_hex_portable(message.as_bytes()).unwrap();
        assert_eq!(fast.len(), 512);
        assert_eq!(fast, portable);
        let verifier = AuditVerifier::from_pem(&pair.public_pem).unwrap();
        assert!(verifier.verify_hex(message.as_bytes(), &fast));
    }

    #[test]
    fn small_keys_fall_back_to_the_portable_signer() {
        let pem = include_str!("../tests/data/audit-test-private-1024.pem");
        let signer = AuditSigner::from_pem(pem).unwrap();
        assert!(!signer.uses_fast_signing());
        let signature = signer.sign_record(&sample_record()).unwrap();
        assert_eq!(signature.len(), 256);
        assert!(
            signer
                .verifier()
                .verify_record(&sample_record(), &signature)
        );
    }

    #[test]
    fn pending_marks_bind_row_and_key() {
        let pem = include_str!("../tests/data/audit-test-private-1024.pem");
        let signer = AuditSigner::from_pem(pem).unwrap();
        let record = sample_record();
        let mark = signer.pending_mark(&record);
        assert!(is_pending_mark(&mark));
        assert_eq!(mark.len(), PENDING_MARK_PREFIX.len() + 64);
        assert!(signer.verify_pending_mark(&record, &mark));
        // Deterministic: the same row gives the same mark.
        assert_eq!(signer.pending_mark(&record), mark);

        let changed = AuditRecord {
            info: Some("realm: 'otherrealm'".to_owned()),
            ..record.clone()
        };
        assert!(!signer.verify_pending_mark(&changed, &mark));
        assert!(!signer.verify_pending_mark(&record, "pending:zz"));
        assert!(!signer.verify_pending_mark(&record, &mark[PENDING_MARK_PREFIX.len()..]));

        let other =
            AuditSigner::from_pem(&generate_audit_key_pem(1024).unwrap().private_pem).unwrap();
        assert!(!other.verify_pending_mark(&record, &mark));
        // A mark is no signature.
        assert!(!signer.verifier().verify_record(&record, &mark));
        assert!(!is_pending_mark(&signer.sign_record(&record).unwrap()));
    }

    #[test]
    fn malformed_signatures_are_rejected() {
        let pem = include_str!("../tests/data/audit-test-private-1024.pem");
        let signer = AuditSigner::from_pem(pem).unwrap();
        let verifier = signer.verifier();
        let record = sample_record();
        let signature = signer.sign_record(&record).unwrap();
        assert!(verifier.verify_record(&record, &signature));
        assert!(!verifier.verify_record(&record, "zz"));
        assert!(!verifier.verify_record(&record, ""));
        assert!(!verifier.verify_record(&record, &signature[..signature.len() - 2]));
        let changed = AuditRecord {
            success: Some("0".to_owned()),
            ..record
        };
        assert!(!verifier.verify_record(&changed, &signature));
        assert!(format!("{signer:?}").contains("REDACTED"));
    }
}
