//! CSPRNG bytes from the operating system (ring's `SystemRandom`).

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{CryptoError, Result};

/// Fills `buf` with bytes from the OS random generator.
pub fn fill_random(buf: &mut [u8]) -> Result<()> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| CryptoError::Random)
}

/// Returns `len` random bytes.
pub fn random_bytes(len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    fill_random(&mut buf)?;
    Ok(buf)
}

/// Returns a fresh random 16-byte AES IV (or PIN salt).
pub fn random_iv() -> Result<[u8; 16]> {
    let mut iv = [0u8; 16];
    fill_random(&mut iv)?;
    Ok(iv)
}
