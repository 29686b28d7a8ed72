//! The `Config` table: typed entries, LinOTP's splitting of long values, and the
//! `linotp.Config` change stamp.
//!
//! LinOTP stores values longer than `2000 - 6` characters in several rows: the first keeps
//! the key, the others are named `<key>__[i:n]` (n = last index); all but the last have Type
//! `C` and Description `i:n`, the last carries the real Type and Description. Writing here
//! splits exactly as LinOTP does (same chunk boundaries, including its UTF-8 variant), reading
//! reassembles, so both programs can share one database.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use chrono::{Local, NaiveDateTime, Timelike};
use diesel::prelude::*;

use crate::connection::{AnyConnection, write_transaction};
use crate::error::Result;
use crate::like;
use crate::schema::config;

/// The key whose value changes on every config write (other nodes compare it to invalidate
/// their config caches).
pub const CONFIG_TIMESTAMP_KEY: &str = "linotp.Config";

/// Type marking a continuation chunk.
pub const CONTINUATION_TYPE: &str = "C";

/// Longest chunk: LinOTP's `2000 - UTF8_MAX_BYTES`.
pub const MAX_CHUNK_LEN: usize = 2000 - 6;

/// One (reassembled) config entry.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Full key, `linotp.`-prefixed.
    pub key: String,
    /// The value (NULL reads as empty).
    pub value: String,
    /// `Type` as stored: `int`, `bool`, `text`, `encrypted_data`, `password`, `""`, LinOTP's
    /// literal `"None"`, or NULL.
    pub typ: Option<String>,
    /// `Description` as stored.
    pub description: Option<String>,
}

impl ConfigEntry {
    /// True for `encrypted_data` / legacy `password` entries (value is `hexiv:hexct`).
    pub fn is_encrypted(&self) -> bool {
        matches!(self.typ.as_deref(), Some("encrypted_data" | "password"))
    }
}

impl fmt::Debug for ConfigEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.is_encrypted() {
            &"<encrypted>"
        } else {
            &self.value
        };
        f.debug_struct("ConfigEntry")
            .field("key", &self.key)
            .field("value", value)
            .field("typ", &self.typ)
            .field("description", &self.description)
            .finish()
    }
}

/// LinOTP's key rule: keys get the `linotp.` prefix unless they have it (or the legacy
/// `enclinotp.` one).
pub fn full_key(key: &str) -> String {
    if key.starts_with("linotp.") || key.starts_with("enclinotp.") {
        key.to_owned()
    } else {
        format!("linotp.{key}")
    }
}

/// Splits a value into the chunks LinOTP would store.
///
/// ASCII text is cut every [`MAX_CHUNK_LEN`] characters. Other text goes through LinOTP's
/// `utf8_slice`: it adds up UTF-8 byte lengths and cuts before the character that would make
/// the running total plus 6 exceed the limit; the character at a cut starts the next chunk
/// but (LinOTP's quirk, kept for identical boundaries) is not counted in its total.
pub fn split_value(value: &str) -> Vec<&str> {
    if value.is_ascii() {
        if value.is_empty() {
            return vec![value];
        }
        // ASCII: every byte offset is a character boundary.
        return (0..value.len())
            .step_by(MAX_CHUNK_LEN)
            .filter_map(|start| value.get(start..(start + MAX_CHUNK_LEN).min(value.len())))
            .collect();
    }
    let mut chunks = Vec::new();
    let mut total = 0usize;
    let mut start = 0usize;
    for (pos, ch) in value.char_indices() {
        total += ch.len_utf8();
        if total + 6 > MAX_CHUNK_LEN {
            chunks.push(&value[start..pos]);
            total = 0;
            start = pos;
        }
    }
    chunks.push(&value[start..]);
    chunks
}

fn chunk_key(key: &str, index: usize, last: usize) -> String {
    format!("{key}__[{index}:{last}]")
}

type ConfigRow = (String, Option<String>, Option<String>, Option<String>);

fn entry_from(row: ConfigRow) -> ConfigEntry {
    ConfigEntry {
        key: row.0,
        value: row.1.unwrap_or_default(),
        typ: row.2,
        description: row.3,
    }
}

const CONFIG_COLUMNS: (config::key, config::value, config::typ, config::description) =
    (config::key, config::value, config::typ, config::description);

/// The last index `n` of a chunked entry's head row (`Type = 'C'`, `Description = '0:n'`).
fn chunk_count(entry: &ConfigEntry) -> Option<usize> {
    if entry.typ.as_deref() != Some(CONTINUATION_TYPE) {
        return None;
    }
    entry
        .description
        .as_deref()?
        .strip_prefix("0:")?
        .parse()
        .ok()
}

/// Reads one entry, reassembling chunked values. Type and description of a chunked entry come
/// from its last chunk.
pub fn get(conn: &mut AnyConnection, key: &str) -> Result<Option<ConfigEntry>> {
    let key = full_key(key);
    let head: Option<ConfigRow> = config::table
        .filter(config::key.eq(&key))
        .select(CONFIG_COLUMNS)
        .get_result(conn)
        .optional()?;
    let Some(head) = head.map(entry_from) else {
        return Ok(None);
    };
    let Some(last) = chunk_count(&head) else {
        return Ok(Some(head));
    };
    let keys: Vec<String> = (1..=last).map(|i| chunk_key(&key, i, last)).collect();
    let rows: Vec<ConfigRow> = config::table
        .filter(config::key.eq_any(&keys))
        .select(CONFIG_COLUMNS)
        .load(conn)?;
    let by_key: BTreeMap<String, ConfigEntry> = rows
        .into_iter()
        .map(entry_from)
        .map(|e| (e.key.clone(), e))
        .collect();
    let mut value = head.value;
    for chunk in &keys {
        if let Some(entry) = by_key.get(chunk) {
            value.push_str(&entry.value);
        } else {
            tracing::warn!(key = %key, chunk = %chunk, "config chunk missing");
        }
    }
    let tail = keys.last().and_then(|k| by_key.get(k));
    Ok(Some(ConfigEntry {
        key,
        value,
        typ: tail.and_then(|e| e.typ.clone()),
        description: tail.and_then(|e| e.description.clone()),
    }))
}

/// The value of one entry (reassembled), if present.
pub fn get_value(conn: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    Ok(get(conn, key)?.map(|entry| entry.value))
}

/// Every entry, chunked values reassembled (chunk rows folded into their head), sorted by
/// key. Chunk rows without a head stay visible under their own keys, as in LinOTP.
pub fn list(conn: &mut AnyConnection) -> Result<Vec<ConfigEntry>> {
    let rows: Vec<ConfigRow> = config::table.select(CONFIG_COLUMNS).load(conn)?;
    let mut entries: BTreeMap<String, ConfigEntry> = rows
        .into_iter()
        .map(entry_from)
        .map(|e| (e.key.clone(), e))
        .collect();
    let heads: Vec<(String, usize)> = entries
        .values()
        .filter_map(|e| chunk_count(e).map(|n| (e.key.clone(), n)))
        .collect();
    let mut consumed = HashSet::new();
    for (key, last) in heads {
        let mut value = String::new();
        let mut tail = None;
        for index in 1..=last {
            let chunk = chunk_key(&key, index, last);
            if let Some(entry) = entries.get(&chunk) {
                value.push_str(&entry.value);
                if index == last {
                    tail = Some((entry.typ.clone(), entry.description.clone()));
                }
                consumed.insert(chunk);
            }
        }
        if let Some(head) = entries.get_mut(&key) {
            head.value.push_str(&value);
            let (typ, description) = tail.unwrap_or((None, None));
            head.typ = typ;
            head.description = description;
        }
    }
    Ok(entries
        .into_iter()
        .filter(|(key, _)| !consumed.contains(key))
        .map(|(_, entry)| entry)
        .collect())
}

fn upsert_row(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
    typ: Option<&str>,
    description: Option<&str>,
) -> Result<()> {
    let updated = diesel::update(config::table.filter(config::key.eq(key)))
        .set((
            config::value.eq(value),
            config::typ.eq(typ),
            config::description.eq(description),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(config::table)
            .values((
                config::key.eq(key),
                config::value.eq(value),
                config::typ.eq(typ),
                config::description.eq(description),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn delete_chunks(conn: &mut AnyConnection, key: &str) -> Result<usize> {
    let pattern = format!("{}!_!_[%:%]", like::escape(key));
    Ok(
        diesel::delete(config::table.filter(config::key.like(pattern).escape(like::ESCAPE)))
            .execute(conn)?,
    )
}

/// Python's `str(datetime.now())`: local time, microseconds only when non-zero.
fn python_now() -> String {
    let now: NaiveDateTime = Local::now().naive_local();
    if now.nanosecond() / 1000 == 0 {
        now.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        now.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// Stores the change stamp `linotp.Config` = now (as LinOTP: local time, Python format,
/// Type and Description NULL).
pub fn touch_timestamp(conn: &mut AnyConnection) -> Result<String> {
    let now = python_now();
    upsert_row(conn, CONFIG_TIMESTAMP_KEY, &now, None, None)?;
    Ok(now)
}

/// The current change stamp, if any.
pub fn timestamp(conn: &mut AnyConnection) -> Result<Option<String>> {
    let value: Option<Option<String>> = config::table
        .filter(config::key.eq(CONFIG_TIMESTAMP_KEY))
        .select(config::value)
        .get_result(conn)
        .optional()?;
    Ok(value.map(Option::unwrap_or_default))
}

/// Inserts or replaces an entry, splitting long values like LinOTP, and bumps the change
/// stamp, all in one transaction. `typ` / `description` `None` are stored as NULL.
pub fn set(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
    typ: Option<&str>,
    description: Option<&str>,
) -> Result<()> {
    let key = full_key(key);
    write_transaction(conn, |conn| {
        // Old chunks first: the new value may need fewer of them.
        delete_chunks(conn, &key)?;
        let chunks = split_value(value);
        let last = chunks.len() - 1;
        if last == 0 {
            upsert_row(conn, &key, value, typ, description)?;
        } else {
            for (index, chunk) in chunks.iter().enumerate() {
                let marker = format!("{index}:{last}");
                let (chunk_key_text, chunk_typ, chunk_description) = if index == 0 {
                    (key.clone(), Some(CONTINUATION_TYPE), Some(marker.as_str()))
                } else if index == last {
                    (chunk_key(&key, index, last), typ, description)
                } else {
                    (
                        chunk_key(&key, index, last),
                        Some(CONTINUATION_TYPE),
                        Some(marker.as_str()),
                    )
                };
                upsert_row(conn, &chunk_key_text, chunk, chunk_typ, chunk_description)?;
            }
        }
        if key != CONFIG_TIMESTAMP_KEY {
            touch_timestamp(conn)?;
        }
        Ok(())
    })
}

/// Deletes an entry with all its chunks and bumps the change stamp. Returns the number of
/// rows removed (0: the key did not exist, and the stamp is left alone).
pub fn delete(conn: &mut AnyConnection, key: &str) -> Result<usize> {
    let key = full_key(key);
    write_transaction(conn, |conn| {
        let mut removed =
            diesel::delete(config::table.filter(config::key.eq(&key))).execute(conn)?;
        if removed > 0 {
            removed += delete_chunks(conn, &key)?;
            if key != CONFIG_TIMESTAMP_KEY {
                touch_timestamp(conn)?;
            }
        }
        Ok(removed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_get_the_linotp_prefix_once() {
        assert_eq!(full_key("DefaultRealm"), "linotp.DefaultRealm");
        assert_eq!(full_key("linotp.DefaultRealm"), "linotp.DefaultRealm");
        assert_eq!(full_key("enclinotp.x"), "enclinotp.x");
    }

    #[test]
    fn ascii_values_split_every_1994_characters() {
        assert_eq!(split_value(""), vec![""]);
        assert_eq!(split_value("abc"), vec!["abc"]);
        let long = "x".repeat(MAX_CHUNK_LEN * 2 + 5);
        let lengths: Vec<usize> = split_value(&long).iter().map(|c| c.len()).collect();
        assert_eq!(lengths, vec![1994, 1994, 5]);
        let exact = "y".repeat(MAX_CHUNK_LEN);
        assert_eq!(split_value(&exact).len(), 1);
    }

    /// Chunk lengths (in characters) that LinOTP's own `utf8_slice` produces, computed with
    /// LinOTP's Python code (`linotp/lib/text_utils.py`) for the same inputs.
    #[test]
    fn utf8_values_split_where_linotp_splits() {
        let chars_of = |value: &str| -> Vec<usize> {
            split_value(value)
                .iter()
                .map(|c| c.chars().count())
                .collect()
        };
        // "ä" * 2500: Python gives [994, 995, 511]
        assert_eq!(chars_of(&"ä".repeat(2500)), vec![994, 995, 511]);
        // "a" + "€" * 1000: Python gives [663, 338]
        assert_eq!(chars_of(&format!("a{}", "€".repeat(1000))), vec![663, 338]);
        // "ö" + "a" * 3000: Python gives [1987, 1014]
        assert_eq!(
            chars_of(&format!("ö{}", "a".repeat(3000))),
            vec![1987, 1014]
        );
        let text = format!("{}😀{}", "ß".repeat(1500), "z".repeat(900));
        assert_eq!(split_value(&text).concat(), text);
    }
}
