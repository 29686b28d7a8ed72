//! LinOTP's "hex inside AES-256-CBC" primitive and the `"<hex iv>:<hex cipher>"` text form.
//!
//! The plaintext fed to AES is the lower-case hex of the data, padded with PKCS#7 (LinOTP ≥ 3.1).
//! LinOTP ≤ 3.0 padded with `01 02` and zero bytes instead; such data is still found in old
//! databases (mOTP user PINs, `@@` PINs, qr/push seeds are never migrated), so decryption
//! accepts both.

use aes::Aes256;
use aes::cipher::block_padding::{NoPadding, Pkcs7};
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use zeroize::Zeroizing;

use crate::error::{CryptoError, Result};
use crate::secret::{SecretBytes, decode_hex, decode_hex_secret};

type Aes256CbcEnc = cbc::Encryptor<Aes256>;
type Aes256CbcDec = cbc::Decryptor<Aes256>;

/// AES block and IV size.
pub const AES_BLOCK_LEN: usize = 16;

/// Encrypts `data` the LinOTP way: AES-256-CBC over PKCS#7-padded `hex(data)`.
pub fn encrypt_hex_payload(key: &[u8; 32], iv: &[u8; AES_BLOCK_LEN], data: &[u8]) -> Vec<u8> {
    let plaintext = Zeroizing::new(hex::encode(data).into_bytes());
    Aes256CbcEnc::new(key.into(), iv.into()).encrypt_padded_vec::<Pkcs7>(&plaintext)
}

/// Decrypts what [`encrypt_hex_payload`] (or LinOTP ≤ 3.0) produced and returns the data.
///
/// Tries PKCS#7 first and falls back to the legacy `01 02 00…` padding.
pub fn decrypt_hex_payload(
    key: &[u8; 32],
    iv: &[u8; AES_BLOCK_LEN],
    ciphertext: &[u8],
) -> Result<SecretBytes> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(AES_BLOCK_LEN) {
        return Err(CryptoError::InvalidCiphertextLength {
            len: ciphertext.len(),
        });
    }
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let padded = Aes256CbcDec::new(key.into(), iv.into())
        .decrypt_padded::<NoPadding>(&mut buf)
        .map_err(|_| CryptoError::DecryptionFailed)?;
    if let Some(hex_text) = strip_pkcs7(padded)
        && let Ok(data) = decode_hex_secret(hex_text, "decrypted payload")
    {
        return Ok(data);
    }
    if let Some(hex_text) = strip_legacy_padding(padded)
        && let Ok(data) = decode_hex_secret(hex_text, "decrypted payload")
    {
        tracing::debug!("decrypted a value with the LinOTP <= 3.0 padding");
        return Ok(data);
    }
    Err(CryptoError::DecryptionFailed)
}

/// Removes PKCS#7 padding, or `None` if it is not well formed.
fn strip_pkcs7(padded: &[u8]) -> Option<&[u8]> {
    let pad_len = usize::from(*padded.last()?);
    if pad_len == 0 || pad_len > AES_BLOCK_LEN || pad_len > padded.len() {
        return None;
    }
    let (body, padding) = padded.split_at(padded.len() - pad_len);
    padding
        .iter()
        .all(|&byte| usize::from(byte) == pad_len)
        .then_some(body)
}

/// Removes the LinOTP ≤ 3.0 padding: trailing zero bytes after the marker `01 02`.
fn strip_legacy_padding(padded: &[u8]) -> Option<&[u8]> {
    let end = padded.iter().rposition(|&byte| byte != 0)? + 1;
    padded[..end].strip_suffix(&[0x01, 0x02])
}

/// Pads the LinOTP ≤ 3.0 way (`01 02` then zeros to a block boundary). Only needed to
/// produce legacy data in tests and migration tools; new data always uses PKCS#7.
pub fn legacy_pad(plaintext: &[u8]) -> Vec<u8> {
    let mut padded = plaintext.to_vec();
    padded.extend_from_slice(&[0x01, 0x02]);
    let rest = padded.len() % AES_BLOCK_LEN;
    if rest != 0 {
        padded.resize(padded.len() + AES_BLOCK_LEN - rest, 0);
    }
    padded
}

/// Encrypts with the legacy padding (to create LinOTP ≤ 3.0 style data for tests/tools).
pub fn encrypt_hex_payload_legacy(
    key: &[u8; 32],
    iv: &[u8; AES_BLOCK_LEN],
    data: &[u8],
) -> Vec<u8> {
    let padded = Zeroizing::new(legacy_pad(hex::encode(data).as_bytes()));
    Aes256CbcEnc::new(key.into(), iv.into()).encrypt_padded_vec::<NoPadding>(&padded)
}

/// Parses a 32-hex-char IV; `what` names the value in errors.
pub fn parse_iv(hex_iv: &str, what: &'static str) -> Result<[u8; AES_BLOCK_LEN]> {
    let bytes = decode_hex(hex_iv, what)?;
    <[u8; AES_BLOCK_LEN]>::try_from(bytes.as_slice()).map_err(|_| CryptoError::InvalidIvLength {
        what,
        len: bytes.len(),
    })
}

/// The `"<hex iv>:<hex ciphertext>"` text LinOTP stores for config secrets and encrypted PINs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IvCiphertext {
    /// The 16-byte IV.
    pub iv: [u8; AES_BLOCK_LEN],
    /// The AES ciphertext.
    pub ciphertext: Vec<u8>,
}

impl IvCiphertext {
    /// Parses the text form, splitting at the first `:`.
    pub fn parse(text: &str) -> Result<Self> {
        let (iv_hex, ct_hex) = text.split_once(':').ok_or(CryptoError::MalformedValue {
            what: "iv:ciphertext value",
            reason: "no ':' separator",
        })?;
        Ok(Self {
            iv: parse_iv(iv_hex, "iv of iv:ciphertext value")?,
            ciphertext: decode_hex(ct_hex, "ciphertext of iv:ciphertext value")?,
        })
    }

    /// Formats as lower-case `"<hex iv>:<hex ciphertext>"`.
    pub fn to_text(&self) -> String {
        format!("{}:{}", hex::encode(self.iv), hex::encode(&self.ciphertext))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> [u8; 32] {
        let mut key = [0u8; 32];
        for (index, byte) in key.iter_mut().enumerate() {
            *byte = u8::try_from(index).unwrap();
        }
        key
    }

    #[test]
    fn round_trip_for_every_length_around_block_boundaries() {
        let iv = [0x42; 16];
        for len in 0..40 {
            let data: Vec<u8> = (0..len)
                .map(|index| u8::try_from(index * 7 % 256).unwrap())
                .collect();
            let ciphertext = encrypt_hex_payload(&key(), &iv, &data);
            assert_eq!(ciphertext.len() % 16, 0);
            assert_eq!(
                decrypt_hex_payload(&key(), &iv, &ciphertext)
                    .unwrap()
                    .expose(),
                data
            );
        }
    }

    #[test]
    fn legacy_padding_is_read_for_every_length() {
        let iv = [0x07; 16];
        for len in 0..40 {
            let data: Vec<u8> = (0..len)
                .map(|index| u8::try_from(index + 1).unwrap())
                .collect();
            let ciphertext = encrypt_hex_payload_legacy(&key(), &iv, &data);
            assert_eq!(
                decrypt_hex_payload(&key(), &iv, &ciphertext)
                    .unwrap()
                    .expose(),
                data
            );
        }
    }

    #[test]
    fn legacy_padding_adds_no_block_when_marker_ends_aligned() {
        assert_eq!(legacy_pad(&[b'a'; 14]).len(), 16);
        assert_eq!(legacy_pad(&[b'a'; 15]).len(), 32);
        assert_eq!(&legacy_pad(b"ab")[..6], &[b'a', b'b', 1, 2, 0, 0]);
    }

    #[test]
    fn wrong_key_or_bad_length_fails_cleanly() {
        let iv = [0u8; 16];
        let ciphertext = encrypt_hex_payload(&key(), &iv, b"secret seed");
        let mut other = key();
        other[0] ^= 1;
        assert!(matches!(
            decrypt_hex_payload(&other, &iv, &ciphertext),
            Err(CryptoError::DecryptionFailed)
        ));
        assert!(matches!(
            decrypt_hex_payload(&key(), &iv, &ciphertext[..15]),
            Err(CryptoError::InvalidCiphertextLength { len: 15 })
        ));
        assert!(decrypt_hex_payload(&key(), &iv, &[]).is_err());
    }

    #[test]
    fn iv_ciphertext_text_splits_at_first_colon() {
        let parsed = IvCiphertext::parse("11111111111111111111111111111111:d2e4").unwrap();
        assert_eq!(parsed.iv, [0x11; 16]);
        assert_eq!(parsed.ciphertext, vec![0xd2, 0xe4]);
        assert_eq!(parsed.to_text(), "11111111111111111111111111111111:d2e4");
        assert!(IvCiphertext::parse("1111:d2e4").is_err());
        assert!(IvCiphertext::parse("no separator").is_err());
        assert!(IvCiphertext::parse("11111111111111111111111111111111:d2:e4").is_err());
    }
}
