//! LinOTP's system configuration (the `Config` table) as a cached snapshot.
//!
//! Every node keeps the whole table in memory and compares the `linotp.Config` change stamp
//! (one primary-key lookup) before using it: a change made by another node or by LinOTP
//! itself is seen by the next request, with no cache to flush by hand.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use linotp_crypto::{SecretString, SecurityModule};
use linotp_store::AnyConnection;
use linotp_store::config::{self, ConfigEntry};

use crate::error::{ApiError, Result};
use crate::params::parse_bool;

/// One consistent view of the `Config` table.
#[derive(Debug, Default)]
pub struct SystemConfig {
    stamp: Option<String>,
    entries: HashMap<String, ConfigEntry>,
    /// The policies of this snapshot, parsed on first use (see [`crate::policy`]).
    pub(crate) policies: OnceLock<linotp_policy::PolicySet>,
}

/// `linotp.`-prefixed form of a key, as the table stores it.
fn full_key(key: &str) -> String {
    config::full_key(key)
}

impl SystemConfig {
    /// A snapshot of the given entries (tests, and [`ConfigCache`]).
    pub fn from_entries(stamp: Option<String>, entries: Vec<ConfigEntry>) -> SystemConfig {
        SystemConfig {
            stamp,
            entries: entries
                .into_iter()
                .map(|entry| (entry.key.clone(), entry))
                .collect(),
            policies: OnceLock::new(),
        }
    }

    /// The change stamp this snapshot was read at.
    pub fn stamp(&self) -> Option<&str> {
        self.stamp.as_deref()
    }

    /// The raw entry (`key` with or without the `linotp.` prefix).
    pub fn entry(&self, key: &str) -> Option<&ConfigEntry> {
        self.entries.get(&full_key(key))
    }

    /// All entries, unordered.
    pub fn entries(&self) -> impl Iterator<Item = &ConfigEntry> {
        self.entries.values()
    }

    /// The stored text of a plain (not encrypted) entry.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entry(key)
            .filter(|entry| !entry.is_encrypted())
            .map(|entry| entry.value.as_str())
    }

    /// A boolean entry as LinOTP reads it (`True`/`False`, `1`/`0`, `yes`/`no`, …); the
    /// default when absent or unreadable.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.get(key)
            .and_then(|value| parse_bool(value.trim()))
            .unwrap_or(default)
    }

    /// An integer entry; the default when absent or unreadable.
    pub fn int_or(&self, key: &str, default: i64) -> i64 {
        self.get(key)
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(default)
    }

    /// An `encrypted_data`/`password` entry decrypted with the config key (slot 1); plain
    /// entries are returned as they are.
    pub fn decrypted(
        &self,
        key: &str,
        security: &dyn SecurityModule,
    ) -> Result<Option<SecretString>> {
        let Some(entry) = self.entry(key) else {
            return Ok(None);
        };
        if !entry.is_encrypted() {
            return Ok(Some(SecretString::new(entry.value.clone())));
        }
        let clear = security
            .decrypt_password(&entry.value)
            .and_then(|bytes| bytes.into_text("config value"))
            .map_err(|error| ApiError::Hsm(format!("cannot decrypt {key}: {error}")))?;
        Ok(Some(clear))
    }

    /// `linotp.DefaultRealm`, lower-case, if set.
    pub fn default_realm(&self) -> Option<String> {
        self.get("DefaultRealm")
            .map(str::trim)
            .filter(|realm| !realm.is_empty())
            .map(str::to_lowercase)
    }

    /// The resolver specs of a realm (`linotp.useridresolver.group.<realm>`), in order.
    pub fn realm_resolvers(&self, realm: &str) -> Vec<String> {
        self.get(&format!("useridresolver.group.{}", realm.to_lowercase()))
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|spec| !spec.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `DefaultMaxFailCount` (10).
    pub fn default_max_fail(&self) -> i64 {
        self.int_or("DefaultMaxFailCount", 10)
    }

    /// `DefaultCountWindow` (10).
    pub fn default_count_window(&self) -> i64 {
        self.int_or("DefaultCountWindow", 10)
    }

    /// `DefaultSyncWindow` (1000).
    pub fn default_sync_window(&self) -> i64 {
        self.int_or("DefaultSyncWindow", 1000)
    }

    /// `DefaultOtpLen` (6).
    pub fn default_otp_len(&self) -> i64 {
        self.int_or("DefaultOtpLen", 6)
    }

    /// `PrependPin` (true): PIN before OTP.
    pub fn prepend_pin(&self) -> bool {
        self.bool_or("PrependPin", true)
    }

    /// `AutoResync` (false).
    pub fn auto_resync(&self) -> bool {
        self.bool_or("AutoResync", false)
    }

    /// `AutoResyncTimeout` in seconds (240, LinOTP's database default).
    pub fn auto_resync_timeout(&self) -> i64 {
        self.int_or("AutoResyncTimeout", 240)
    }

    /// `DefaultResetFailCount` (true).
    pub fn reset_fail_count(&self) -> bool {
        self.bool_or("DefaultResetFailCount", true)
    }

    /// `splitAtSign` (true): `user@realm` is split at the last `@`.
    pub fn split_at_sign(&self) -> bool {
        self.bool_or("splitAtSign", true)
    }

    /// `PassOnUserNotFound` (false).
    pub fn pass_on_user_not_found(&self) -> bool {
        self.get("PassOnUserNotFound")
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
    }

    /// `PassOnUserNoToken` (false).
    pub fn pass_on_user_no_token(&self) -> bool {
        self.get("PassOnUserNoToken")
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
    }

    /// `TransactionIdLength` (17, LinOTP allows 12 to 17).
    pub fn transaction_id_length(&self) -> usize {
        let length = self.int_or("TransactionIdLength", 17);
        usize::try_from(length.clamp(12, 17)).unwrap_or(17)
    }

    /// `totp.timeStep` (30).
    pub fn totp_time_step(&self) -> i64 {
        self.int_or("totp.timeStep", 30)
    }

    /// `totp.timeWindow` (300 as LinOTP's database default; stored, not used to verify).
    pub fn totp_time_window(&self) -> i64 {
        self.int_or("totp.timeWindow", 300)
    }

    /// `hotp.hashlib` / `totp.hashlib` default hash name (`sha1`).
    pub fn default_hashlib(&self, token_type: &str) -> String {
        self.get(&format!("{}.hashlib", token_type.to_lowercase()))
            .map(str::to_owned)
            .unwrap_or_else(|| "sha1".to_owned())
    }
}

/// A snapshot of `linotp.<key>` = `value` rows, for unit tests.
#[cfg(test)]
pub(crate) fn test_config(entries: &[(&str, &str)]) -> SystemConfig {
    SystemConfig::from_entries(
        Some("stamp".into()),
        entries
            .iter()
            .map(|(key, value)| ConfigEntry {
                key: format!("linotp.{key}"),
                value: (*value).to_owned(),
                typ: None,
                description: None,
            })
            .collect(),
    )
}

/// The process's copy of [`SystemConfig`], refreshed when the change stamp moves.
#[derive(Debug, Default)]
pub struct ConfigCache {
    current: RwLock<Option<Arc<SystemConfig>>>,
    /// The user resolvers built from the configuration, kept while their definitions stay
    /// the same (see [`crate::users`]).
    pub(crate) resolvers: OnceLock<linotp_resolvers::ResolverRegistry>,
}

impl ConfigCache {
    /// An empty cache: the first request loads the table.
    pub fn new() -> ConfigCache {
        ConfigCache::default()
    }

    /// The configuration as of now: compares the stamp and reloads the table if another
    /// writer changed it since the last load.
    pub fn current(&self, conn: &mut AnyConnection) -> Result<Arc<SystemConfig>> {
        let stamp = config::timestamp(conn)?;
        if let Some(cached) = self.cached()
            && cached.stamp.is_some()
            && cached.stamp == stamp
        {
            return Ok(cached);
        }
        let fresh = Arc::new(SystemConfig::from_entries(stamp, config::list(conn)?));
        if let Ok(mut slot) = self.current.write() {
            *slot = Some(Arc::clone(&fresh));
        }
        Ok(fresh)
    }

    /// Forget the cached copy (after a write whose stamp might collide).
    pub fn invalidate(&self) {
        if let Ok(mut slot) = self.current.write() {
            *slot = None;
        }
    }

    fn cached(&self) -> Option<Arc<SystemConfig>> {
        self.current.read().ok().and_then(|slot| slot.clone())
    }
}
