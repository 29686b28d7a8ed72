//! The `encKey` file: three 32-byte keys, raw, no header.
//!
//! Slot 0 encrypts token secrets, slot 1 config values, slot 2 keys the challenge MAC.
//! The file is written with mode 0400 through a temporary file and a rename, so a crash never
//! leaves half a key behind, and an existing key is only replaced when the caller asks for it.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ring::digest;
use zeroize::Zeroizing;

use crate::error::{CryptoError, Result};
use crate::random::{fill_random, random_bytes};
use crate::secret::decode_hex_secret;

/// Bytes per key slot.
pub const KEY_SLOT_LEN: usize = 32;
/// Number of key slots LinOTP writes.
pub const KEY_SLOT_COUNT: usize = 3;
/// Size of a key file written by `linotp init enc-key`.
pub const ENC_KEY_LEN: usize = KEY_SLOT_LEN * KEY_SLOT_COUNT;

/// Hex characters per line of the paper backup.
const PAPER_CHUNK_LEN: usize = 16;

/// Which of the three keys to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeySlot {
    /// Slot 0: token seeds, mOTP user PINs, encrypted token PINs (`@@`).
    Token,
    /// Slot 1: Config entries of type `encrypted_data` / `password`.
    Config,
    /// Slot 2: HMAC key of the challenge integrity MAC.
    Value,
}

impl KeySlot {
    /// Position of the slot in the key file (0, 1, 2).
    pub fn index(self) -> usize {
        match self {
            KeySlot::Token => 0,
            KeySlot::Config => 1,
            KeySlot::Value => 2,
        }
    }
}

/// How [`EncKey::write`] treats an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Fail with [`CryptoError::KeyFileExists`] if the file exists (the safe default).
    CreateNew,
    /// Replace an existing file atomically (`--force`; make a backup first).
    Replace,
}

/// The key material of an `encKey` file (at least 96 bytes). Zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct EncKey {
    /// The whole file content (kept for paper backups and re-writing).
    bytes: Zeroizing<Vec<u8>>,
    /// The three keys, split out once so slot access cannot fail.
    slots: Zeroizing<[[u8; KEY_SLOT_LEN]; KEY_SLOT_COUNT]>,
}

impl fmt::Debug for EncKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncKey")
            .field("bytes", &"[REDACTED]")
            .finish()
    }
}

impl EncKey {
    /// Creates a new key from 96 bytes of OS randomness.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new(vec![0u8; ENC_KEY_LEN]);
        fill_random(&mut bytes)?;
        Self::from_material(bytes)
    }

    /// Wraps existing key material; fails if it is shorter than 96 bytes.
    /// Longer material is accepted like LinOTP does (the extra bytes are kept but unused).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        Self::from_material(Zeroizing::new(bytes))
    }

    fn from_material(bytes: Zeroizing<Vec<u8>>) -> Result<Self> {
        let mut slots = Zeroizing::new([[0u8; KEY_SLOT_LEN]; KEY_SLOT_COUNT]);
        let mut chunks = bytes.chunks_exact(KEY_SLOT_LEN);
        for slot in slots.iter_mut() {
            let chunk = chunks.next().ok_or(CryptoError::KeyMaterialTooShort {
                len: bytes.len(),
                needed: ENC_KEY_LEN,
            })?;
            slot.copy_from_slice(chunk);
        }
        Ok(Self { bytes, slots })
    }

    /// Restores a key from hex (`linotp init enc-key --keys HEX`); whitespace is ignored.
    pub fn from_hex(keys: &str) -> Result<Self> {
        let compact: Zeroizing<Vec<u8>> = Zeroizing::new(
            keys.bytes()
                .filter(|byte| !byte.is_ascii_whitespace())
                .collect(),
        );
        let decoded = decode_hex_secret(&compact, "key hex")?;
        Self::from_bytes(decoded.expose().to_vec())
    }

    /// Reads a key file; a file shorter than 96 bytes is an error naming the file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = Zeroizing::new(fs::read(path).map_err(|source| CryptoError::Io {
            action: "reading key file",
            path: path.to_path_buf(),
            source,
        })?);
        if bytes.len() < ENC_KEY_LEN {
            return Err(CryptoError::KeyFileTooShort {
                path: path.to_path_buf(),
                len: bytes.len(),
                needed: ENC_KEY_LEN,
            });
        }
        Self::from_material(bytes)
    }

    /// Writes the key file with mode 0400 via a temporary file in the same directory.
    ///
    /// With [`WriteMode::CreateNew`] an existing file is never touched, even if another process
    /// creates it while we write (the final step is a hard link, which fails if the name exists;
    /// the directory's file system must therefore support hard links).
    pub fn write(&self, path: &Path, mode: WriteMode) -> Result<()> {
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if mode == WriteMode::CreateNew && path.exists() {
            return Err(CryptoError::KeyFileExists {
                path: path.to_path_buf(),
            });
        }
        let temp_path = write_private_temp_file(&dir, path, &self.bytes, 0o400)?;
        let published = publish_temp_file(&temp_path, path, mode);
        // Best effort: the temp name is gone after a rename, and must go after a link or error.
        let _ = fs::remove_file(&temp_path);
        published?;
        sync_dir(&dir);
        Ok(())
    }

    /// The 32 bytes of one key slot.
    pub fn slot(&self, slot: KeySlot) -> &[u8; KEY_SLOT_LEN] {
        &self.slots[slot.index()]
    }

    /// All key bytes as stored in the file (96 or more).
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The paper backup lines of `linotp init enc-key --dump`, without the instructions:
    /// one line per 16 hex chars followed by the CRC32 (`%08x`) of those ASCII chars, and a
    /// last line of 16 spaces, a space and the first 8 hex chars of SHA-1 over all chunks.
    pub fn paper_backup(&self) -> String {
        let hex_key = Zeroizing::new(hex::encode(self.bytes.as_slice()));
        let mut out = String::new();
        let mut sha1 = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        for chunk in hex_key.as_bytes().chunks(PAPER_CHUNK_LEN) {
            sha1.update(chunk);
            let text = String::from_utf8_lossy(chunk);
            out.push_str(&format!("{text} {:08x}\n", crc32fast::hash(chunk)));
        }
        let total = hex::encode(sha1.finish().as_ref());
        out.push_str(&format!(
            "{} {}\n",
            " ".repeat(PAPER_CHUNK_LEN),
            &total[..8]
        ));
        out
    }

    /// The full `--dump` text as LinOTP prints it: file name and creation time, the
    /// instructions, then [`EncKey::paper_backup`]. `created` is the local time stamp to show.
    pub fn paper_backup_with_instructions(&self, filename: &str, created: &str) -> String {
        let hex_key = Zeroizing::new(hex::encode(self.bytes.as_slice()));
        let head = &hex_key[..12];
        let tail = &hex_key[hex_key.len() - 12..];
        format!(
            "{filename} {created}\n\n\
             INSTRUCTIONS: Print this and store it in a safe place. Remember where you put\nit.\n\n\
             To recover the keys, concatenate the FIRST column of each line and pass the\n\
             result to `linotp init enc-key` using the `--keys` option (spaces are\n\
             allowed to make the key data easier to enter):\n\n  \
             linotp init enc-key --keys '{head}...{tail}'\n\n\
             Compare the output to this list; if the values on the final lines agree,\n\
             everything is probably OK. Otherwise compare the values in the second columns;\n\
             if there is a mismatch, then the data in the first column on that line\n\
             contains one or more typoes. Enjoy!\n\n{}",
            self.paper_backup()
        )
    }

    /// Reads a paper backup back (with or without the instruction text), checking every
    /// line's CRC32 and the final SHA-1 line.
    pub fn from_paper_backup(text: &str) -> Result<Self> {
        let mut hex_key = Zeroizing::new(String::new());
        let mut sha1 = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        let mut final_check: Option<(usize, String)> = None;
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [chunk, crc] if is_key_chunk(chunk) && is_hex_of_len(crc, 8) => {
                    if final_check.is_some() {
                        return Err(CryptoError::InvalidPaperBackup {
                            line: line_no,
                            reason: "key line after the final check line",
                        });
                    }
                    let expected = format!("{:08x}", crc32fast::hash(chunk.as_bytes()));
                    if !expected.eq_ignore_ascii_case(crc) {
                        return Err(CryptoError::InvalidPaperBackup {
                            line: line_no,
                            reason: "CRC32 does not match the key chars (typo in this line)",
                        });
                    }
                    sha1.update(chunk.to_ascii_lowercase().as_bytes());
                    hex_key.push_str(chunk);
                }
                [check]
                    if line.starts_with(' ') && is_hex_of_len(check, 8) && !hex_key.is_empty() =>
                {
                    final_check = Some((line_no, check.to_ascii_lowercase()));
                }
                _ => {}
            }
        }
        let Some((line_no, check)) = final_check else {
            return Err(CryptoError::InvalidPaperBackup {
                line: 0,
                reason: "no final check line (16 spaces and 8 hex chars) found",
            });
        };
        let total = hex::encode(sha1.finish().as_ref());
        if total[..8] != check {
            return Err(CryptoError::InvalidPaperBackup {
                line: line_no,
                reason: "final SHA-1 check does not match (lines missing or out of order)",
            });
        }
        Self::from_hex(&hex_key)
    }
}

fn is_hex_of_len(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn is_key_chunk(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= PAPER_CHUNK_LEN
        && text.len().is_multiple_of(2)
        && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Writes `bytes` to a new, uniquely named file next to `target` with the given mode and
/// flushes it to disk; returns its path.
pub(crate) fn write_private_temp_file(
    dir: &Path,
    target: &Path,
    bytes: &[u8],
    mode: u32,
) -> Result<PathBuf> {
    let stem = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "key".to_owned());
    let suffix = hex::encode(random_bytes(6)?);
    let temp_path = dir.join(format!(".{stem}.tmp-{suffix}"));
    let io_error = |source| CryptoError::Io {
        action: "writing temporary file",
        path: temp_path.clone(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&temp_path).map_err(io_error)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(source) = written {
        let _ = fs::remove_file(&temp_path);
        return Err(io_error(source));
    }
    Ok(temp_path)
}

/// Moves a finished temp file to its final name.
pub(crate) fn publish_temp_file(temp_path: &Path, target: &Path, mode: WriteMode) -> Result<()> {
    let result = match mode {
        WriteMode::Replace => fs::rename(temp_path, target),
        WriteMode::CreateNew => fs::hard_link(temp_path, target),
    };
    result.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            CryptoError::KeyFileExists {
                path: target.to_path_buf(),
            }
        } else {
            CryptoError::Io {
                action: "writing",
                path: target.to_path_buf(),
                source,
            }
        }
    })
}

/// Flushes the directory entry so the rename survives a crash (best effort).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting_key() -> EncKey {
        EncKey::from_bytes((0u8..96).collect()).unwrap()
    }

    #[test]
    fn slots_are_consecutive_32_byte_ranges() {
        let key = counting_key();
        assert_eq!(key.slot(KeySlot::Token)[0], 0);
        assert_eq!(key.slot(KeySlot::Config)[0], 32);
        assert_eq!(key.slot(KeySlot::Value)[31], 95);
    }

    #[test]
    fn short_material_is_rejected_and_longer_accepted() {
        assert!(matches!(
            EncKey::from_bytes(vec![0; 95]),
            Err(CryptoError::KeyMaterialTooShort {
                len: 95,
                needed: 96
            })
        ));
        let long = EncKey::from_bytes((0u8..100).collect()).unwrap();
        assert_eq!(long.slot(KeySlot::Value)[0], 64);
    }

    #[test]
    fn generated_keys_differ() {
        let first = EncKey::generate().unwrap();
        let second = EncKey::generate().unwrap();
        assert_eq!(first.expose_bytes().len(), ENC_KEY_LEN);
        assert_ne!(first.expose_bytes(), second.expose_bytes());
    }

    #[test]
    fn hex_recovery_ignores_spaces_and_newlines() {
        let hex_text: String = hex::encode((0u8..96).collect::<Vec<_>>());
        let spaced = hex_text
            .as_bytes()
            .chunks(16)
            .map(|chunk| std::str::from_utf8(chunk).unwrap())
            .collect::<Vec<_>>()
            .join(" \n");
        assert_eq!(
            EncKey::from_hex(&spaced).unwrap().expose_bytes(),
            counting_key().expose_bytes()
        );
        assert!(matches!(
            EncKey::from_hex("00zz"),
            Err(CryptoError::InvalidHex { .. })
        ));
    }

    #[test]
    fn paper_backup_lines_carry_crc32_and_sha1_of_the_ascii_chunks() {
        let dump = counting_key().paper_backup();
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(lines.len(), 192 / 16 + 1);
        // CRC32("0001020304050607") and SHA1 over the 192 hex chars, computed independently
        // with Python's binascii/hashlib.
        assert_eq!(lines[0], "0001020304050607 b8317597");
        assert_eq!(lines[12], "                 f13e9b66");
    }

    #[test]
    fn paper_backup_round_trips_with_and_without_instructions() {
        let key = EncKey::generate().unwrap();
        let plain = EncKey::from_paper_backup(&key.paper_backup()).unwrap();
        assert_eq!(plain.expose_bytes(), key.expose_bytes());
        let full = key.paper_backup_with_instructions("/etc/linotp/encKey", "2026-01-01T00:00:00");
        assert!(full.starts_with("/etc/linotp/encKey 2026-01-01T00:00:00\n\nINSTRUCTIONS:"));
        let restored = EncKey::from_paper_backup(&full).unwrap();
        assert_eq!(restored.expose_bytes(), key.expose_bytes());
    }

    #[test]
    fn paper_backup_typos_name_the_line() {
        let dump = counting_key().paper_backup();
        let typo = dump.replacen("0001020304050607", "0001020304050608", 1);
        assert!(matches!(
            EncKey::from_paper_backup(&typo),
            Err(CryptoError::InvalidPaperBackup { line: 1, .. })
        ));
        let mut lines: Vec<&str> = dump.lines().collect();
        lines.swap(2, 3);
        assert!(matches!(
            EncKey::from_paper_backup(&lines.join("\n")),
            Err(CryptoError::InvalidPaperBackup { line: 13, .. })
        ));
        let without_check: Vec<&str> = dump.lines().take(12).collect();
        assert!(EncKey::from_paper_backup(&without_check.join("\n")).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let key = counting_key();
        let shown = format!("{key:?}");
        assert!(shown.contains("REDACTED"));
        assert!(!shown.contains("0, 1, 2"));
    }
}
