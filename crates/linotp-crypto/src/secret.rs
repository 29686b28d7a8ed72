//! Wrappers for secret values: zeroized on drop, redacted in `Debug`.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{CryptoError, Result};

/// Secret bytes (a seed, a PIN, a key). Wiped from memory when dropped; `Debug` prints no content.
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret bytes. Keep the borrow short and never log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares with `other` in constant time (for equal lengths).
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        self.0.as_slice().ct_eq(other).into()
    }

    /// Converts to text; `what` names the value in the error.
    pub fn into_text(self, what: &'static str) -> Result<SecretString> {
        let bytes: Vec<u8> = self.0.to_vec();
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SecretString::new(text)),
            Err(err) => {
                // The rejected bytes are secret too.
                drop(Zeroizing::new(err.into_bytes()));
                Err(CryptoError::NotUtf8 { what })
            }
        }
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes([REDACTED])")
    }
}

/// Secret text (a password, a decrypted config value). Wiped when dropped; `Debug` prints no content.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Takes ownership of `text`.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The secret text. Keep the borrow short and never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([REDACTED])")
    }
}

/// Decodes hex (either case) into a zeroizing buffer; `what` names the value in the error.
pub(crate) fn decode_hex_secret(hex_text: &[u8], what: &'static str) -> Result<SecretBytes> {
    if !hex_text.len().is_multiple_of(2) {
        return Err(CryptoError::InvalidHex { what });
    }
    let mut out = Zeroizing::new(vec![0u8; hex_text.len() / 2]);
    hex::decode_to_slice(hex_text, &mut out).map_err(|_| CryptoError::InvalidHex { what })?;
    Ok(SecretBytes(out))
}

/// Decodes non-secret hex (IVs, ciphertexts, salts), ignoring surrounding whitespace.
pub(crate) fn decode_hex(hex_text: &str, what: &'static str) -> Result<Vec<u8>> {
    hex::decode(hex_text.trim()).map_err(|_| CryptoError::InvalidHex { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_secret() {
        let bytes = SecretBytes::new(b"hunter2".to_vec());
        let text = SecretString::new("hunter2".to_owned());
        assert!(!format!("{bytes:?}").contains("hunter2"));
        assert!(!format!("{text:?}").contains("hunter2"));
        assert!(!format!("{bytes:?}").contains("104")); // 'h' as a number
    }

    #[test]
    fn invalid_utf8_is_rejected_with_the_value_name() {
        let err = SecretBytes::new(vec![0xff, 0xfe]).into_text("config value");
        assert!(matches!(
            err,
            Err(CryptoError::NotUtf8 {
                what: "config value"
            })
        ));
    }

    #[test]
    fn hex_secret_decoding_rejects_odd_length_and_bad_digits() {
        assert!(decode_hex_secret(b"abc", "x").is_err());
        assert!(decode_hex_secret(b"zz", "x").is_err());
        assert_eq!(decode_hex_secret(b"4A4b", "x").unwrap().expose(), b"JK");
    }
}
