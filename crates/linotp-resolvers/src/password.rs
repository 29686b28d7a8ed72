//! Password hashes an SQL user table may hold: the formats LinOTP's `SQLIdResolver` accepts
//! through its passlib contexts (LDAP-style `{SCHEME}…`, modular crypt `$id$…`, PHPass,
//! database formats, archaic crypts).
//!
//! Unknown formats, and plain text, never match: a column that holds clear passwords is a
//! configuration error, not something to compare against.

use data_encoding::BASE64;
use md5::{Digest as _, Md5};
use ring::{digest, pbkdf2};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Checks `candidate` against `stored`, whatever of the supported formats `stored` is in.
///
/// ```
/// use linotp_resolvers::password::verify_sql_password;
///
/// // {SSHA}: base64(sha1(password + salt) + salt), as OpenLDAP's slappasswd writes it.
/// assert!(verify_sql_password("Pw-Ü1 test", "{SSHA}BgBo0qbik3uDu3qdw7PrzGKw601zYWx0c2FsdA=="));
/// assert!(!verify_sql_password("wrong", "{SSHA}BgBo0qbik3uDu3qdw7PrzGKw601zYWx0c2FsdA=="));
/// assert!(!verify_sql_password("plain", "plain"));
/// ```
pub fn verify_sql_password(candidate: &str, stored: &str) -> bool {
    let stored = stored.trim();
    if stored.is_empty() {
        return false;
    }
    if let Some(rest) = stored.strip_prefix('{')
        && let Some((scheme, payload)) = rest.split_once('}')
    {
        return verify_ldap_scheme(candidate, &scheme.to_ascii_uppercase(), payload);
    }
    if stored.starts_with("$P$") || stored.starts_with("$H$") {
        return verify_phpass(candidate, stored);
    }
    if let Some(hex_digest) = stored.strip_prefix('*')
        && hex_digest.len() == 40
        && is_hex(hex_digest)
    {
        let inner = sha1(candidate.as_bytes());
        let outer = hex::encode_upper(sha1(&inner));
        return ct_eq(outer.as_bytes(), hex_digest.to_ascii_uppercase().as_bytes());
    }
    if stored.len() == 16 && is_hex(stored) {
        let computed = mysql323(candidate.as_bytes());
        return ct_eq(computed.as_bytes(), stored.to_ascii_lowercase().as_bytes());
    }
    if let Some(rest) = stored
        .strip_prefix("0x0100")
        .or_else(|| stored.strip_prefix("0X0100"))
        && is_hex(rest)
        && (rest.len() == 48 || rest.len() == 88)
    {
        return verify_mssql(candidate, rest);
    }
    if let Some(rest) = stored.strip_prefix("S:")
        && rest.len() == 60
        && is_hex(rest)
    {
        let (digest_hex, salt_hex) = rest.split_at(40);
        let Ok(salt) = hex::decode(salt_hex) else {
            return false;
        };
        let mut input = Zeroizing::new(candidate.as_bytes().to_vec());
        input.extend_from_slice(&salt);
        let computed = hex::encode_upper(sha1(&input));
        return ct_eq(
            computed.as_bytes(),
            digest_hex.to_ascii_uppercase().as_bytes(),
        );
    }
    linotp_crypto::verify_password(candidate, stored)
}

fn verify_ldap_scheme(candidate: &str, scheme: &str, payload: &str) -> bool {
    let password = candidate.as_bytes();
    match scheme {
        "CRYPT" => linotp_crypto::verify_password(candidate, payload),
        "SHA" => unsalted(payload, &sha1(password)),
        "SHA256" => unsalted(payload, &Sha256::digest(password)),
        "SHA512" => unsalted(payload, &Sha512::digest(password)),
        "MD5" => unsalted(payload, &Md5::digest(password)),
        "SSHA" => salted(payload, 20, |salt| {
            sha1(&[password, salt].concat()).to_vec()
        }),
        "SSHA256" => salted(payload, 32, |salt| {
            Sha256::digest([password, salt].concat()).to_vec()
        }),
        "SSHA512" => salted(payload, 64, |salt| {
            Sha512::digest([password, salt].concat()).to_vec()
        }),
        "SMD5" => salted(payload, 16, |salt| {
            Md5::digest([password, salt].concat()).to_vec()
        }),
        "PKCS5S2" => verify_atlassian(password, payload),
        _ => false,
    }
}

fn unsalted(payload: &str, computed: &[u8]) -> bool {
    match BASE64.decode(payload.as_bytes()) {
        Ok(stored) => ct_eq(computed, &stored),
        Err(_) => false,
    }
}

fn salted(payload: &str, digest_len: usize, compute: impl Fn(&[u8]) -> Vec<u8>) -> bool {
    let Ok(decoded) = BASE64.decode(payload.as_bytes()) else {
        return false;
    };
    if decoded.len() <= digest_len {
        return false;
    }
    let (stored_digest, salt) = decoded.split_at(digest_len);
    let computed = Zeroizing::new(compute(salt));
    ct_eq(&computed, stored_digest)
}

/// Atlassian `{PKCS5S2}`: base64(16-byte salt + PBKDF2-HMAC-SHA1(password, salt, 10000, 32)).
fn verify_atlassian(password: &[u8], payload: &str) -> bool {
    let Ok(decoded) = BASE64.decode(payload.as_bytes()) else {
        return false;
    };
    if decoded.len() != 48 {
        return false;
    }
    let (salt, stored) = decoded.split_at(16);
    let iterations = std::num::NonZeroU32::new(10_000).unwrap_or(std::num::NonZeroU32::MIN);
    pbkdf2::verify(pbkdf2::PBKDF2_HMAC_SHA1, iterations, salt, password, stored).is_ok()
}

const PHPASS_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// PHPass portable hashes (`$P$` WordPress, `$H$` phpBB): iterated MD5.
fn verify_phpass(candidate: &str, stored: &str) -> bool {
    let bytes = stored.as_bytes();
    if bytes.len() != 34 {
        return false;
    }
    let Some(log2) = PHPASS_ALPHABET.iter().position(|c| *c == bytes[3]) else {
        return false;
    };
    if !(7..=30).contains(&log2) {
        return false;
    }
    let salt = &bytes[4..12];
    let password = candidate.as_bytes();
    let mut hash = Md5::digest([salt, password].concat());
    for _ in 0..(1u64 << log2) {
        let mut hasher = Md5::new();
        hasher.update(hash);
        hasher.update(password);
        hash = hasher.finalize();
    }
    let encoded = phpass_encode(&hash);
    ct_eq(encoded.as_bytes(), &bytes[12..])
}

fn phpass_encode(input: &[u8]) -> String {
    let mut out = String::new();
    let mut index = 0;
    while index < input.len() {
        let mut value = u32::from(input[index]);
        index += 1;
        out.push(char::from(PHPASS_ALPHABET[(value & 0x3f) as usize]));
        if index < input.len() {
            value |= u32::from(input[index]) << 8;
        }
        out.push(char::from(PHPASS_ALPHABET[((value >> 6) & 0x3f) as usize]));
        if index >= input.len() {
            break;
        }
        index += 1;
        if index < input.len() {
            value |= u32::from(input[index]) << 16;
        }
        out.push(char::from(PHPASS_ALPHABET[((value >> 12) & 0x3f) as usize]));
        if index >= input.len() {
            break;
        }
        index += 1;
        out.push(char::from(PHPASS_ALPHABET[((value >> 18) & 0x3f) as usize]));
    }
    out
}

/// MySQL's pre-4.1 `OLD_PASSWORD()`.
fn mysql323(password: &[u8]) -> String {
    let mut nr: u32 = 1_345_345_333;
    let mut add: u32 = 7;
    let mut nr2: u32 = 0x1234_5671;
    for &byte in password {
        if byte == b' ' || byte == b'\t' {
            continue;
        }
        let c = u32::from(byte);
        nr ^= ((nr & 63).wrapping_add(add))
            .wrapping_mul(c)
            .wrapping_add(nr << 8);
        nr2 = nr2.wrapping_add((nr2 << 8) ^ nr);
        add = add.wrapping_add(c);
    }
    format!("{:08x}{:08x}", nr & 0x7fff_ffff, nr2 & 0x7fff_ffff)
}

/// MS-SQL 2000 / 2005: `0x0100` + 4-byte salt + SHA1(UTF-16LE(password) + salt) (2000 adds
/// the digest of the upper-cased password, which is what it is checked against).
fn verify_mssql(candidate: &str, rest: &str) -> bool {
    let Ok(decoded) = hex::decode(rest) else {
        return false;
    };
    let (salt, digests) = decoded.split_at(4);
    let digest_of = |text: &str| {
        let mut input: Zeroizing<Vec<u8>> =
            Zeroizing::new(text.encode_utf16().flat_map(u16::to_le_bytes).collect());
        input.extend_from_slice(salt);
        sha1(&input)
    };
    if digests.len() == 40 {
        ct_eq(&digest_of(&candidate.to_uppercase()), &digests[20..])
    } else {
        ct_eq(&digest_of(candidate), digests)
    }
}

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut out = [0u8; 20];
    out.copy_from_slice(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data).as_ref());
    out
}

fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn ct_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && bool::from(left.ct_eq(right))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every hash below was made by passlib 1.7.4 (the library LinOTP uses) for this password.
    const PASSWORD: &str = "Pw-Ü1 test";
    const HASHES: &[(&str, &str)] = &[
        ("ldap_sha1", "{SHA}PktzfWq1GByVk8H9wvrIDehQKPE="),
        (
            "ldap_salted_sha1",
            "{SSHA}BgBo0qbik3uDu3qdw7PrzGKw601zYWx0c2FsdA==",
        ),
        (
            "ldap_salted_sha256",
            "{SSHA256}ySyeFHrnpGI7gDCfAaPmDuexuHuyv6oNTe4LZuWufANzYWx0c2FsdA==",
        ),
        (
            "ldap_salted_sha512",
            "{SSHA512}LC8hZBtiDwva/qWgPW1ZnQwLCbGH2c/Wz8TZcNLHgT3BcTC5+JP42VKSiDIQWjWPr4m/pGNuX+S5fYh5zqhTvXNhbHRzYWx0",
        ),
        ("ldap_md5", "{MD5}V3nzc/xnHguxXuNp6SPlzA=="),
        ("ldap_salted_md5", "{SMD5}oS9OZfltlNsk01n9m8V7WXNhbHRzYWx0"),
        (
            "ldap_md5_crypt",
            "{CRYPT}$1$abcdefgh$B5jwH21wmiKQTqfUPr1Xj.",
        ),
        (
            "ldap_sha512_crypt",
            "{CRYPT}$6$abcdefgh$CNd.0ScyYWHEjTwph0.QT2nrEHQaCzWZrKzOBqi8rkhDGk9mMtMtIf.r.8kA7gnNTdVIABKeys8qHFID3yCrw.",
        ),
        (
            "atlassian_pbkdf2_sha1",
            "{PKCS5S2}MDEyMzQ1Njc4OWFiY2RlZvrh1jaa3NS8wEs/t/7YeGnKGZU6aWm7bafQM1G24yJn",
        ),
        ("phpass P", "$P$8abcdefgh467MltvJEhhvRrJ8sun/h."),
        ("phpass H", "$H$6abcdefghYXVzqcqipKkXUIthunMYn1"),
        ("mysql41", "*53B98A9C6259CA4BA381EEB479004055435BE019"),
        ("mysql323", "37b9dd0201a6622e"),
        (
            "mssql2000",
            "0x010001020304512B7B1623D05EE88E9EF670FF33D845EDE6356343123D1530DC97076042D63DDD99E0EC25A0F7AF",
        ),
        (
            "mssql2005",
            "0x010001020304512B7B1623D05EE88E9EF670FF33D845EDE63563",
        ),
        (
            "oracle11",
            "S:11502A1C21510E038E9FB1A0FB5CA99446A5FC310123456789ABCDEF0123",
        ),
        (
            "bcrypt",
            "$2b$04$EccH2VBP4Pk2vyf6iNXMW.B/LXmFty7PUqbp6wEH9aiYZRsz2v/gO",
        ),
    ];

    #[test]
    fn every_passlib_format_verifies_the_right_password_only() {
        for (scheme, hash) in HASHES {
            assert!(verify_sql_password(PASSWORD, hash), "{scheme} rejects");
            assert!(
                !verify_sql_password("Pw-Ü2 test", hash),
                "{scheme} accepts a wrong password"
            );
        }
    }

    #[test]
    fn mssql2000_compares_case_insensitively_like_passlib() {
        let hash = HASHES
            .iter()
            .find(|(scheme, _)| *scheme == "mssql2000")
            .map(|(_, hash)| *hash)
            .unwrap_or_default();
        assert!(verify_sql_password(&PASSWORD.to_lowercase(), hash));
    }

    #[test]
    fn unknown_plain_and_malformed_values_never_match() {
        for stored in [
            "",
            "Pw-Ü1 test",
            "{SSHA}",
            "{SSHA}!!notbase64",
            "{UNKNOWN}abc",
            "$P$short",
            "*",
            "!$6$rounds=1000$abc$def",
        ] {
            assert!(!verify_sql_password(PASSWORD, stored), "{stored}");
        }
    }
}
