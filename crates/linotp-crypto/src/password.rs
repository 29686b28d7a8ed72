//! Password hashes in the crypt formats LinOTP's passlib context accepts: local admins
//! (`admin_users` / imported admin rows), imported users and the `pw` token.

use data_encoding::BASE64;
use pwhash::{
    HashSetup, bsdi_crypt, md5_crypt, sha1_crypt, sha256_crypt, sha512_crypt, unix_crypt,
};
use ring::hmac;
use zeroize::Zeroizing;

use crate::error::{CryptoError, Result};
use crate::random::fill_random;

/// passlib's default `sha512_crypt` rounds, used by LinOTP for every new hash.
pub const SHA512_CRYPT_DEFAULT_ROUNDS: u32 = 656_000;

/// Salt length passlib uses for `sha512_crypt`.
const SHA512_CRYPT_SALT_LEN: usize = 16;

/// The crypt alphabet of salts and checksums.
const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The schemes of LinOTP's `CryptContext`, recognised by the hash's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PasswordScheme {
    /// `$6$…` (default for new hashes).
    Sha512Crypt,
    /// `$5$…`.
    Sha256Crypt,
    /// `$sha1$…` (NetBSD).
    Sha1Crypt,
    /// `$1$…`.
    Md5Crypt,
    /// `$2a$`, `$2b$`, `$2y$`.
    Bcrypt,
    /// passlib `$bcrypt-sha256$…` (v1 and v2).
    BcryptSha256,
    /// Traditional 13-char DES crypt.
    DesCrypt,
    /// BSDi extended DES, `_` + 19 chars.
    BsdiCrypt,
}

impl PasswordScheme {
    /// Identifies the scheme of `hash`; `None` for anything unknown (including `*` and `!…`).
    pub fn identify(hash: &str) -> Option<Self> {
        let scheme = if hash.starts_with("$6$") {
            Self::Sha512Crypt
        } else if hash.starts_with("$5$") {
            Self::Sha256Crypt
        } else if hash.starts_with("$sha1$") {
            Self::Sha1Crypt
        } else if hash.starts_with("$1$") {
            Self::Md5Crypt
        } else if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
            Self::Bcrypt
        } else if hash.starts_with("$bcrypt-sha256$") {
            Self::BcryptSha256
        } else if hash.len() == 13 && is_crypt_text(hash) {
            Self::DesCrypt
        } else if hash.len() == 20 && hash.starts_with('_') && is_crypt_text(&hash[1..]) {
            Self::BsdiCrypt
        } else {
            return None;
        };
        Some(scheme)
    }
}

fn is_crypt_text(text: &str) -> bool {
    text.bytes().all(|byte| CRYPT_ALPHABET.contains(&byte))
}

/// Checks `candidate` against a stored crypt hash. Unknown formats, `*` (login disabled) and
/// malformed hashes never match. The comparison of the computed hash is constant-time.
pub fn verify_password(candidate: &str, stored_hash: &str) -> bool {
    let Some(scheme) = PasswordScheme::identify(stored_hash) else {
        return false;
    };
    let password = candidate.as_bytes();
    match scheme {
        PasswordScheme::Sha512Crypt => sha512_crypt::verify(password, stored_hash),
        PasswordScheme::Sha256Crypt => sha256_crypt::verify(password, stored_hash),
        PasswordScheme::Sha1Crypt => sha1_crypt::verify(password, stored_hash),
        PasswordScheme::Md5Crypt => md5_crypt::verify(password, stored_hash),
        PasswordScheme::Bcrypt => verify_bcrypt(password, stored_hash),
        PasswordScheme::BcryptSha256 => verify_bcrypt_sha256(password, stored_hash),
        PasswordScheme::DesCrypt => unix_crypt::verify(password, stored_hash),
        PasswordScheme::BsdiCrypt => bsdi_crypt::verify(password, stored_hash),
    }
}

fn verify_bcrypt(password: &[u8], stored_hash: &str) -> bool {
    // passlib refuses NUL bytes in bcrypt secrets (C strings would cut them off).
    !password.contains(&0) && bcrypt::verify(password, stored_hash).unwrap_or(false)
}

/// passlib `bcrypt_sha256`: bcrypt over base64 of a SHA-256 pre-hash, so long passwords
/// are not cut at 72 bytes.
///
/// * v2 `$bcrypt-sha256$v=2,t=2b,r=12$<salt22>$<checksum31>`: key = base64(HMAC-SHA256(key =
///   the 22 salt chars, message = password)).
/// * v1 `$bcrypt-sha256$2a,12$<salt22>$<checksum31>`: key = base64(SHA-256(password)).
fn verify_bcrypt_sha256(password: &[u8], stored_hash: &str) -> bool {
    let Some(rest) = stored_hash.strip_prefix("$bcrypt-sha256$") else {
        return false;
    };
    let mut parts = rest.split('$');
    let (Some(params), Some(salt), Some(checksum), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if salt.len() != 22 || checksum.len() != 31 || !is_crypt_text(salt) || !is_crypt_text(checksum)
    {
        return false;
    }
    let Some((version, ident, rounds)) = parse_bcrypt_sha256_params(params) else {
        return false;
    };
    let digest = if version == 2 {
        let key = hmac::Key::new(hmac::HMAC_SHA256, salt.as_bytes());
        hmac::sign(&key, password).as_ref().to_vec()
    } else {
        ring::digest::digest(&ring::digest::SHA256, password)
            .as_ref()
            .to_vec()
    };
    let prehashed = Zeroizing::new(BASE64.encode(&digest));
    let bcrypt_hash = format!("${ident}${rounds:02}${salt}{checksum}");
    bcrypt::verify(prehashed.as_bytes(), &bcrypt_hash).unwrap_or(false)
}

/// Parses `v=2,t=2b,r=12` (v2) or `2a,12` (v1) into (version, bcrypt ident, rounds).
fn parse_bcrypt_sha256_params(params: &str) -> Option<(u8, &str, u32)> {
    let is_ident = |ident: &str| ident == "2a" || ident == "2b";
    if let Some(v2) = params.strip_prefix("v=2,") {
        let mut ident = None;
        let mut rounds = None;
        for field in v2.split(',') {
            match field.split_once('=')? {
                ("t", value) if is_ident(value) => ident = Some(value),
                ("r", value) => rounds = value.parse::<u32>().ok(),
                _ => return None,
            }
        }
        return Some((2, ident?, rounds?));
    }
    let (ident, rounds) = params.split_once(',')?;
    if !is_ident(ident) {
        return None;
    }
    Some((1, ident, rounds.parse().ok()?))
}

/// Hashes a new password the way LinOTP does: `$6$rounds=656000$<16-char salt>$…`.
pub fn hash_password(password: &str) -> Result<String> {
    hash_password_with_rounds(password, SHA512_CRYPT_DEFAULT_ROUNDS)
}

/// Like [`hash_password`] with an explicit `sha512_crypt` round count (1000 ..= 999999999).
pub fn hash_password_with_rounds(password: &str, rounds: u32) -> Result<String> {
    if !(1_000..=999_999_999).contains(&rounds) {
        return Err(CryptoError::PasswordHash(format!(
            "sha512_crypt rounds {rounds} outside 1000..=999999999"
        )));
    }
    let salt = random_crypt_salt(SHA512_CRYPT_SALT_LEN)?;
    let setup = HashSetup {
        salt: Some(&salt),
        rounds: Some(rounds),
    };
    sha512_crypt::hash_with(setup, password.as_bytes())
        .map_err(|err| CryptoError::PasswordHash(err.to_string()))
}

/// A random salt of `len` chars from the crypt alphabet (64 symbols: no modulo bias).
fn random_crypt_salt(len: usize) -> Result<String> {
    let mut raw = Zeroizing::new(vec![0u8; len]);
    fill_random(&mut raw)?;
    Ok(raw
        .iter()
        .map(|byte| char::from(CRYPT_ALPHABET[usize::from(byte % 64)]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors below were produced independently with the system's libxcrypt through
    // Python's `crypt.crypt("Test123!", salt)`.
    const PASSWORD: &str = "Test123!";

    #[test]
    fn verifies_every_crypt_scheme_from_libxcrypt() {
        let hashes = [
            "$6$rounds=1000$abcdefgh$sq7w2EXEFBc10jkWD9f93wgdENd6K/j.aeWaZ6THi2VvQj5cu5u3JsjgkNgvxB0gKsDxSUPN.O5zPzCJ1mLER1",
            "$6$rounds=5000$saltsaltsaltsalt$udB/J.3/tANza8WcWKHFhc...zELbmEjzWS7BUutLeS0Qw4YusPhqwvabcgD5uu./dp7glJvkHETJ1t4QFbbE.",
            "$5$rounds=1000$abcdefgh$i4iWeRMHsYkIbK/6xtKKoEfzZoEiR9ArgqEPpyl9zY.",
            "$sha1$480$abcdefgh$mSiJ.M99WKQg.OlnSnx9bZiXKd1F",
            "$1$abcdefgh$rckllS.npsRHr8753QU9F0",
            "$2a$04$abcdefghijklmnopqrstuuc1v0RjomgASaaVwvOKJNz5kr8MMyxxC",
            "$2b$04$abcdefghijklmnopqrstuuc1v0RjomgASaaVwvOKJNz5kr8MMyxxC",
            "$2y$04$abcdefghijklmnopqrstuuc1v0RjomgASaaVwvOKJNz5kr8MMyxxC",
            "ab/l7KzX3BD1A",
            "_J9..abcd8HUvf8nJ5kU",
        ];
        for hash in hashes {
            assert!(PasswordScheme::identify(hash).is_some(), "{hash}");
            assert!(
                verify_password(PASSWORD, hash),
                "correct password rejected: {hash}"
            );
            assert!(
                !verify_password("Test123?", hash),
                "wrong password accepted: {hash}"
            );
        }
    }

    #[test]
    fn verifies_passlib_bcrypt_sha256_v1_and_v2() {
        // v1: the example hash of passlib's own documentation (password "password").
        let v1 = "$bcrypt-sha256$2a,12$LrmaIX5x4TRtAwEfwJZa1.$2ehnw6LvuIUTM0iz4iz9hTxv21B6KFO";
        assert!(verify_password("password", v1));
        assert!(!verify_password("Password", v1));
        // v2: a passlib 1.7 hash published with its password; checked with Python's
        // hmac + libxcrypt bcrypt before being used here.
        let v2 =
            "$bcrypt-sha256$v=2,t=2b,r=12$6lJafyh73K/pqYCF9vHMwe$Pb9EPytqNZgpbzEsgG6Qp5/mvm9PaMK";
        assert!(verify_password("jozefkosmider1995", v2));
        assert!(!verify_password("jozefkosmider1996", v2));
    }

    #[test]
    fn malformed_bcrypt_sha256_never_matches() {
        for hash in [
            "$bcrypt-sha256$v=3,t=2b,r=12$6lJafyh73K/pqYCF9vHMwe$Pb9EPytqNZgpbzEsgG6Qp5/mvm9PaMK",
            "$bcrypt-sha256$v=2,t=2y,r=12$6lJafyh73K/pqYCF9vHMwe$Pb9EPytqNZgpbzEsgG6Qp5/mvm9PaMK",
            "$bcrypt-sha256$v=2,t=2b,r=12$6lJafyh73K/pqYCF9vHMwe$Pb9EPytqNZgpbzEsgG6Qp5",
            "$bcrypt-sha256$v=2,t=2b$6lJafyh73K/pqYCF9vHMwe$Pb9EPytqNZgpbzEsgG6Qp5/mvm9PaMK",
            "$bcrypt-sha256$",
        ] {
            assert!(!verify_password("jozefkosmider1995", hash), "{hash}");
        }
    }

    #[test]
    fn unknown_and_disabled_hashes_never_match() {
        for hash in [
            "*",
            "",
            "!",
            "!$6$x$y",
            "plaintext",
            "$7$whatever",
            "{SSHA}abcd",
        ] {
            assert_eq!(PasswordScheme::identify(hash), None, "{hash}");
            assert!(!verify_password("", hash));
            assert!(!verify_password(hash, hash));
        }
    }

    #[test]
    fn new_hashes_use_sha512_crypt_with_passlib_shape() {
        let hash = hash_password_with_rounds("Secret ünïcode", 1_000).unwrap();
        let fields: Vec<&str> = hash.split('$').collect();
        assert_eq!(fields[1], "6");
        assert_eq!(fields[2], "rounds=1000");
        assert_eq!(fields[3].len(), 16);
        assert!(is_crypt_text(fields[3]));
        assert!(verify_password("Secret ünïcode", &hash));
        assert!(!verify_password("Secret unicode", &hash));
        let again = hash_password_with_rounds("Secret ünïcode", 1_000).unwrap();
        assert_ne!(hash, again, "salts must be random");
        assert!(hash_password_with_rounds("x", 999).is_err());
    }
}
