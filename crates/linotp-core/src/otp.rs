//! The OTP algorithms: HOTP (RFC 4226), TOTP (RFC 6238), mOTP and the DPW
//! day password. Plain functions of key, counter/time and length.

use md5::{Digest, Md5};
use ring::hmac;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::date::CalendarDate;
use crate::error::{Error, Result};

/// Longest HOTP code: the truncated value has 31 bits, so 10 digits hold it.
pub const MAX_HOTP_DIGITS: u32 = 10;

/// The HMAC hash of an HOTP/TOTP token (tokeninfo `hashlib`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum HashAlgorithm {
    /// HMAC-SHA1, LinOTP's default.
    #[default]
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA384.
    Sha384,
    /// HMAC-SHA512.
    Sha512,
}

impl HashAlgorithm {
    /// Reads a tokeninfo `hashlib` value the way LinOTP does: case-insensitive,
    /// empty means SHA1, and a name LinOTP does not know falls back to SHA1.
    /// `md5` and `sha224` are known to LinOTP but not computable here.
    pub fn from_linotp_name(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "md5" | "sha224" => Err(Error::UnsupportedHash(name.to_owned())),
            other => Ok(Self::from_known_name(other).unwrap_or(Self::Sha1)),
        }
    }

    /// The lower-case name LinOTP stores in tokeninfo.
    pub fn linotp_name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    fn from_known_name(lower: &str) -> Option<Self> {
        match lower {
            "" | "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    fn ring_algorithm(self) -> hmac::Algorithm {
        match self {
            Self::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha384 => hmac::HMAC_SHA384,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

impl std::str::FromStr for HashAlgorithm {
    type Err = Error;

    /// Strict parsing (for command lines): unknown names are an error.
    fn from_str(name: &str) -> Result<Self> {
        Self::from_known_name(&name.to_ascii_lowercase())
            .filter(|_| !name.is_empty())
            .ok_or_else(|| Error::UnknownHash(name.to_owned()))
    }
}

impl std::fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.linotp_name())
    }
}

/// A decimal OTP held on the stack, left-padded with zeros.
#[derive(Clone, Copy)]
struct Code {
    digits: [u8; MAX_HOTP_DIGITS as usize],
    len: usize,
}

impl Code {
    fn new(mut value: u64, len: usize) -> Self {
        let mut digits = [b'0'; MAX_HOTP_DIGITS as usize];
        for slot in digits[..len].iter_mut().rev() {
            // `value % 10` is a single decimal digit.
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        Self { digits, len }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.digits[..self.len]
    }
}

/// An HMAC key prepared once and used for many counters, as a window check
/// needs. Cheap per counter: one HMAC over 8 bytes.
pub(crate) struct HotpGenerator {
    key: hmac::Key,
    digits: u32,
}

impl HotpGenerator {
    pub(crate) fn new(key: &[u8], algorithm: HashAlgorithm, digits: u32) -> Result<Self> {
        if !(1..=MAX_HOTP_DIGITS).contains(&digits) {
            return Err(Error::InvalidOtpLength(digits));
        }
        Ok(Self {
            key: hmac::Key::new(algorithm.ring_algorithm(), key),
            digits,
        })
    }

    fn code(&self, counter: u64) -> Code {
        let tag = hmac::sign(&self.key, &counter.to_be_bytes());
        let mac = tag.as_ref();
        // RFC 4226 §5.3 dynamic truncation; every HMAC here is ≥ 20 bytes, so
        // offset + 3 ≤ 15 + 3 stays inside the tag.
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        let modulus = 10u64.pow(self.digits);
        Code::new(u64::from(binary) % modulus, self.digits as usize)
    }

    pub(crate) fn otp(&self, counter: u64) -> String {
        String::from_utf8_lossy(self.code(counter).as_bytes()).into_owned()
    }

    /// First counter in `[start, end)` (negative starts clamped to 0) whose
    /// OTP equals `candidate`; each comparison runs in constant time.
    pub(crate) fn find(&self, candidate: &str, start: i64, end: i64) -> Option<i64> {
        if candidate.len() != self.digits as usize {
            // No counter can produce a code of another length.
            return None;
        }
        (start.max(0)..end).find(|&counter| {
            // The range is non-negative, so the cast is lossless.
            bool::from(
                self.code(counter as u64)
                    .as_bytes()
                    .ct_eq(candidate.as_bytes()),
            )
        })
    }
}

impl std::fmt::Debug for HotpGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotpGenerator")
            .field("key", &"[redacted]")
            .field("digits", &self.digits)
            .finish()
    }
}

/// HOTP (RFC 4226): `Truncate(HMAC(key, counter)) mod 10^digits`, zero-padded.
///
/// `digits` may be 1..=10.
///
/// ```
/// use linotp_core::{hotp, HashAlgorithm};
/// let otp = hotp(b"12345678901234567890", 1, 6, HashAlgorithm::Sha1).unwrap();
/// assert_eq!(otp, "287082");
/// ```
pub fn hotp(key: &[u8], counter: u64, digits: u32, algorithm: HashAlgorithm) -> Result<String> {
    Ok(HotpGenerator::new(key, algorithm, digits)?.otp(counter))
}

/// The TOTP counter of a Unix time: `floor((unix_time + time_shift) / step)`.
///
/// Floors towards minus infinity like Python's `//`, so the result can be
/// negative for times before the epoch.
pub fn totp_counter(unix_time: i64, time_shift: i64, step: i64) -> Result<i64> {
    if step <= 0 {
        return Err(Error::InvalidTimeStep(step));
    }
    Ok(unix_time.saturating_add(time_shift).div_euclid(step))
}

/// TOTP (RFC 6238, T0 = 0): HOTP over [`totp_counter`]`(unix_time, 0, step)`.
///
/// ```
/// use linotp_core::{totp, HashAlgorithm};
/// let otp = totp(b"12345678901234567890", 59, 30, 8, HashAlgorithm::Sha1).unwrap();
/// assert_eq!(otp, "94287082");
/// ```
pub fn totp(
    key: &[u8],
    unix_time: i64,
    step: i64,
    digits: u32,
    algorithm: HashAlgorithm,
) -> Result<String> {
    let counter = totp_counter(unix_time, 0, step)?;
    let counter = u64::try_from(counter).map_err(|_| Error::NegativeCounter(unix_time))?;
    hotp(key, counter, digits, algorithm)
}

/// mOTP ("mobile OTP"): the first `digits` hex characters (at most 32) of
/// `MD5(decimal(epoch10) ‖ secret ‖ pin)`, where `epoch10 = floor(unix / 10)`.
///
/// ```
/// use linotp_core::motp;
/// assert_eq!(motp(b"0123456789abcdef", b"6666", 129612120, 6), "6ed4e4");
/// ```
pub fn motp(secret: &[u8], pin: &[u8], epoch10: i64, digits: usize) -> String {
    let mut input = Zeroizing::new(epoch10.to_string().into_bytes());
    input.extend_from_slice(secret);
    input.extend_from_slice(pin);
    let hex = Zeroizing::new(to_hex(&Md5::digest(input.as_slice())));
    hex[..digits.min(hex.len())].to_owned()
}

/// DPW day password ("Tagespasswort"): `MD5(secret ‖ DDMMYY)` as hex, its last
/// `digits` hex characters read as a number, printed in decimal, cut to the
/// last `digits` digits and zero-padded. `digits` may be 1..=32.
///
/// ```
/// use linotp_core::{day_password, CalendarDate};
/// let day = CalendarDate::new(2024, 2, 29).unwrap();
/// assert_eq!(day_password(b"abc", day, 6).unwrap(), "772046");
/// ```
pub fn day_password(secret: &[u8], date: CalendarDate, digits: usize) -> Result<String> {
    if !(1..=32).contains(&digits) {
        return Err(Error::InvalidOtpLength(
            u32::try_from(digits).unwrap_or(u32::MAX),
        ));
    }
    let mut input = Zeroizing::new(secret.to_vec());
    input.extend_from_slice(date.ddmmyy().as_bytes());
    let hex = Zeroizing::new(to_hex(&Md5::digest(input.as_slice())));
    let tail = &hex[hex.len() - digits..];
    // At most 32 hex digits = 128 bits, so this always fits.
    let value = u128::from_str_radix(tail, 16).map_err(|_| Error::InvalidOtpLength(0))?;
    let decimal = Zeroizing::new(value.to_string());
    let kept = &decimal[decimal.len().saturating_sub(digits)..];
    Ok(format!("{kept:0>digits$}"))
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    const RFC_SEED_SHA1: &str = "3132333435363738393031323334353637383930";
    const RFC_SEED_SHA256: &str =
        "3132333435363738393031323334353637383930313233343536373839303132";
    const RFC_SEED_SHA512: &str = "31323334353637383930313233343536373839303132333435363738393031323334353637383930313233343536373839303132333435363738393031323334";

    #[test]
    fn rfc4226_appendix_d_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let key = unhex(RFC_SEED_SHA1);
        for (counter, otp) in expected.iter().enumerate() {
            assert_eq!(
                &hotp(&key, counter as u64, 6, HashAlgorithm::Sha1).unwrap(),
                otp
            );
        }
    }

    #[test]
    fn linotp_functional_test_seed_vectors() {
        let expected = [
            "870581", "793334", "088491", "013126", "818771", "454594", "217219", "250710",
            "478893", "517407",
        ];
        let key = unhex("AD8EABE235FC57C815B26CEF3709075580B44738");
        for (counter, otp) in expected.iter().enumerate() {
            assert_eq!(
                &hotp(&key, counter as u64, 6, HashAlgorithm::Sha1).unwrap(),
                otp
            );
        }
    }

    #[test]
    fn rfc6238_appendix_b_vectors_all_hashes() {
        // (unix time, T, sha1, sha256, sha512)
        let table = [
            (59, 0x1, "94287082", "46119246", "90693936"),
            (1111111109, 0x23523EC, "07081804", "68084774", "25091201"),
            (1111111111, 0x23523ED, "14050471", "67062674", "99943326"),
            (1234567890, 0x273EF07, "89005924", "91819424", "93441116"),
            (2000000000, 0x3F940AA, "69279037", "90698825", "38618901"),
            (20000000000, 0x27BC86AA, "65353130", "77737706", "47863826"),
        ];
        let keys = [
            (unhex(RFC_SEED_SHA1), HashAlgorithm::Sha1),
            (unhex(RFC_SEED_SHA256), HashAlgorithm::Sha256),
            (unhex(RFC_SEED_SHA512), HashAlgorithm::Sha512),
        ];
        for (time, counter, sha1, sha256, sha512) in table {
            assert_eq!(totp_counter(time, 0, 30).unwrap(), counter);
            for ((key, algorithm), otp) in keys.iter().zip([sha1, sha256, sha512]) {
                assert_eq!(
                    totp(key, time, 30, 8, *algorithm).unwrap(),
                    otp,
                    "{algorithm} at {time}"
                );
                assert_eq!(hotp(key, counter as u64, 8, *algorithm).unwrap(), otp);
            }
        }
    }

    #[test]
    fn totp_counter_applies_shift_and_floors_like_python() {
        assert_eq!(totp_counter(59, 0, 30).unwrap(), 1);
        assert_eq!(totp_counter(59, 1, 30).unwrap(), 2);
        assert_eq!(totp_counter(60, -31, 30).unwrap(), 0);
        assert_eq!(totp_counter(-1, 0, 30).unwrap(), -1);
        assert_eq!(totp_counter(0, 0, 0), Err(Error::InvalidTimeStep(0)));
        assert_eq!(
            totp(b"k", -1, 30, 6, HashAlgorithm::Sha1),
            Err(Error::NegativeCounter(-1))
        );
    }

    #[test]
    fn otp_length_limits() {
        let key = unhex(RFC_SEED_SHA1);
        assert_eq!(
            hotp(&key, 0, 0, HashAlgorithm::Sha1),
            Err(Error::InvalidOtpLength(0))
        );
        assert_eq!(
            hotp(&key, 0, 11, HashAlgorithm::Sha1),
            Err(Error::InvalidOtpLength(11))
        );
        // RFC 4226 Appendix D: counter 0 truncates to 1284755224.
        assert_eq!(
            hotp(&key, 0, 10, HashAlgorithm::Sha1).unwrap(),
            "1284755224"
        );
        assert_eq!(hotp(&key, 0, 1, HashAlgorithm::Sha1).unwrap(), "4");
        // Shorter codes are the same truncated value modulo a smaller power of ten.
        assert_eq!(hotp(&key, 2, 3, HashAlgorithm::Sha1).unwrap(), "152");
    }

    #[test]
    fn motp_vectors_from_the_reference_implementation() {
        let cases = [
            (129612120, "6666", "6ed4e4"),
            (129612130, "6666", "502a59"),
            (0, "1", "bd94a4"),
            (4, "1", "fb596e"),
            (129612244, "77777777", "7abf75"),
            (129612253, "77777777", "4d4ac4"),
        ];
        for (epoch10, pin, otp) in cases {
            assert_eq!(motp(b"0123456789abcdef", pin.as_bytes(), epoch10, 6), otp);
        }
        // LinOTP functional test: 2018-12-12 12:12:00 UTC = 1544616720.
        assert_eq!(
            motp(b"1234567890123456", b"1234", 1544616720 / 10, 6),
            "488ccf"
        );
    }

    #[test]
    fn day_password_vectors() {
        // Computed independently with python3:
        //   md = hashlib.md5(secret + b"DDMMYY").hexdigest()
        //   otp = str(int(md[-n:], 16))[-n:].zfill(n)
        let cases = [
            ("1234567890123456", (2026, 11, 26), 6, "200081"),
            ("1234567890123456", (2025, 1, 1), 6, "150645"),
            ("secret", (1999, 1, 31), 8, "72329246"),
            ("abc", (2024, 2, 29), 6, "772046"),
        ];
        for (secret, (y, m, d), digits, otp) in cases {
            let date = CalendarDate::new(y, m, d).unwrap();
            assert_eq!(day_password(secret.as_bytes(), date, digits).unwrap(), otp);
        }
        let date = CalendarDate::new(2024, 2, 29).unwrap();
        assert!(day_password(b"abc", date, 0).is_err());
        assert!(day_password(b"abc", date, 33).is_err());
    }

    #[test]
    fn hash_names_follow_linotp() {
        assert_eq!(
            HashAlgorithm::from_linotp_name("SHA256").unwrap(),
            HashAlgorithm::Sha256
        );
        assert_eq!(
            HashAlgorithm::from_linotp_name("").unwrap(),
            HashAlgorithm::Sha1
        );
        assert_eq!(
            HashAlgorithm::from_linotp_name("whirlpool").unwrap(),
            HashAlgorithm::Sha1
        );
        assert!(HashAlgorithm::from_linotp_name("md5").is_err());
        assert!("whirlpool".parse::<HashAlgorithm>().is_err());
        assert!("".parse::<HashAlgorithm>().is_err());
        assert_eq!(
            "Sha512".parse::<HashAlgorithm>().unwrap(),
            HashAlgorithm::Sha512
        );
    }

    #[test]
    fn window_search_returns_first_match_and_respects_bounds() {
        let key = unhex(RFC_SEED_SHA1);
        let generator = HotpGenerator::new(&key, HashAlgorithm::Sha1, 6).unwrap();
        assert_eq!(generator.find("969429", 0, 10), Some(3));
        assert_eq!(generator.find("969429", 4, 10), None);
        assert_eq!(generator.find("969429", 0, 3), None);
        assert_eq!(generator.find("969429", -5, 4), Some(3));
        assert_eq!(generator.find("96942", 0, 10), None);
    }
}
