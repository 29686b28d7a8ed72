//! LinOTP's user lookup cache (`user_lookup_cache.enabled` / `.expiration`): login → user id
//! and user id → user info, per resolver, with expiry.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::config::{ConfigLookup, parse_boolean, parse_duration};
use crate::error::Result;
use crate::info::{UserInfo, UserSearch};
use crate::resolver::{ConnectionTest, UserIdResolver};
use crate::spec::ResolverSpec;

/// LinOTP's default expiry of cached lookups (36 h).
pub const DEFAULT_EXPIRATION: Duration = Duration::from_secs(36 * 3600);

/// Most entries one resolver's cache holds: beyond it, expired entries are dropped and, if
/// that is not enough, the cache starts over (lookups of made-up logins must not grow memory).
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

/// Whether and how long lookups are cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// `user_lookup_cache.enabled` (default true).
    pub enabled: bool,
    /// `user_lookup_cache.expiration` (default 36 h).
    pub expiration: Duration,
    /// Entry bound per map.
    pub max_entries: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: true,
            expiration: DEFAULT_EXPIRATION,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

impl CacheSettings {
    /// Reads `linotp.user_lookup_cache.enabled` and `.expiration` the way LinOTP does: an
    /// unreadable expiration disables the cache.
    pub fn from_config(lookup: &dyn ConfigLookup) -> CacheSettings {
        let enabled = lookup
            .lookup("linotp.user_lookup_cache.enabled")
            .map(|value| parse_boolean(&value).unwrap_or(true))
            .unwrap_or(true);
        let expiration = match lookup.lookup("linotp.user_lookup_cache.expiration") {
            None => Some(DEFAULT_EXPIRATION),
            Some(text) => parse_duration(&text),
        };
        match expiration {
            Some(expiration) => CacheSettings {
                enabled,
                expiration,
                ..CacheSettings::default()
            },
            None => CacheSettings {
                enabled: false,
                ..CacheSettings::default()
            },
        }
    }
}

struct TtlMap<K, V> {
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlMap<K, V> {
    fn new() -> Self {
        TtlMap {
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, value)| value.clone())
    }

    fn insert(&self, key: K, value: V, ttl: Duration, max_entries: usize) {
        let now = Instant::now();
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= max_entries {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= max_entries {
                entries.clear();
            }
        }
        let expires = now.checked_add(ttl).unwrap_or(now + DEFAULT_EXPIRATION);
        entries.insert(key, (expires, value));
    }

    fn remove_where(&self, condition: impl Fn(&K, &V) -> bool) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.retain(|key, (_, value)| !condition(key, value));
    }

    fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Counters of a [`CachedResolver`].
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheStats {
    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that went to the user store.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

/// A resolver with LinOTP's user lookup cache in front: [`UserIdResolver::user_id`] and
/// [`UserIdResolver::user_info`] answers are kept for the expiration time. Unknown users are
/// not cached (so a user added to the directory is found at once), errors are not cached,
/// password checks and searches always go to the store.
///
/// ```
/// # use linotp_resolvers::*;
/// # fn demo(resolver: std::sync::Arc<dyn UserIdResolver>) -> Result<()> {
/// let cached = CachedResolver::new(resolver, CacheSettings::default());
/// let first = cached.user_id("alice")?; // asks the directory
/// let again = cached.user_id("alice")?; // answered from memory
/// assert_eq!(first, again);
/// assert_eq!(cached.stats().hits(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CachedResolver {
    inner: Arc<dyn UserIdResolver>,
    settings: CacheSettings,
    ids: Arc<TtlMap<String, String>>,
    infos: Arc<TtlMap<String, UserInfo>>,
    stats: Arc<CacheStats>,
}

impl std::fmt::Debug for CachedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedResolver")
            .field("inner", &self.inner)
            .field("settings", &self.settings)
            .field("stats", &self.stats)
            .finish()
    }
}

impl CachedResolver {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn UserIdResolver>, settings: CacheSettings) -> CachedResolver {
        CachedResolver {
            inner,
            settings,
            ids: Arc::new(TtlMap::new()),
            infos: Arc::new(TtlMap::new()),
            stats: Arc::new(CacheStats::default()),
        }
    }

    /// The wrapped resolver.
    pub fn inner(&self) -> &Arc<dyn UserIdResolver> {
        &self.inner
    }

    /// The cache settings in force.
    pub fn settings(&self) -> CacheSettings {
        self.settings
    }

    /// Hit and miss counters.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// Forgets everything (LinOTP flushes on resolver changes and when the cache is disabled).
    pub fn flush(&self) {
        self.ids.clear();
        self.infos.clear();
    }

    /// Forgets one user (by login and/or id).
    pub fn forget(&self, login: Option<&str>, user_id: Option<&str>) {
        if let Some(login) = login {
            self.ids.remove_where(|key, _| key == login);
        }
        if let Some(user_id) = user_id {
            self.ids.remove_where(|_, value| value == user_id);
            self.infos.remove_where(|key, _| key == user_id);
        }
    }

    fn count(&self, hit: bool) {
        let counter = if hit {
            &self.stats.hits
        } else {
            &self.stats.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl UserIdResolver for CachedResolver {
    fn spec(&self) -> &ResolverSpec {
        self.inner.spec()
    }

    fn user_id(&self, login: &str) -> Result<Option<String>> {
        if !self.settings.enabled {
            return self.inner.user_id(login);
        }
        if let Some(id) = self.ids.get(&login.to_owned()) {
            self.count(true);
            return Ok(Some(id));
        }
        self.count(false);
        let found = self.inner.user_id(login)?;
        if let Some(id) = &found {
            self.ids.insert(
                login.to_owned(),
                id.clone(),
                self.settings.expiration,
                self.settings.max_entries,
            );
        }
        Ok(found)
    }

    fn user_info(&self, user_id: &str) -> Result<Option<UserInfo>> {
        if !self.settings.enabled {
            return self.inner.user_info(user_id);
        }
        if let Some(info) = self.infos.get(&user_id.to_owned()) {
            self.count(true);
            return Ok(Some(info));
        }
        self.count(false);
        let found = self.inner.user_info(user_id)?;
        if let Some(info) = &found {
            self.infos.insert(
                user_id.to_owned(),
                info.clone(),
                self.settings.expiration,
                self.settings.max_entries,
            );
        }
        Ok(found)
    }

    fn search(&self, search: &UserSearch) -> Result<Vec<UserInfo>> {
        self.inner.search(search)
    }

    fn check_password(&self, user_id: &str, password: &str) -> Result<bool> {
        self.inner.check_password(user_id, password)
    }

    fn test_connection(&self) -> ConnectionTest {
        self.inner.test_connection()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_linotp_keys() {
        let config = |enabled: Option<&str>, expiration: Option<&str>| {
            let enabled = enabled.map(str::to_owned);
            let expiration = expiration.map(str::to_owned);
            CacheSettings::from_config(&move |key: &str| match key {
                "linotp.user_lookup_cache.enabled" => enabled.clone(),
                "linotp.user_lookup_cache.expiration" => expiration.clone(),
                _ => None,
            })
        };
        assert_eq!(config(None, None), CacheSettings::default());
        assert!(!config(Some("False"), None).enabled);
        assert_eq!(
            config(None, Some("64800")).expiration,
            Duration::from_secs(64800)
        );
        assert_eq!(
            config(None, Some("2h")).expiration,
            Duration::from_secs(7200)
        );
        assert!(!config(Some("True"), Some("whenever")).enabled);
    }

    #[test]
    fn entries_expire_and_the_map_stays_bounded() {
        let map: TtlMap<String, String> = TtlMap::new();
        map.insert("a".into(), "1".into(), Duration::ZERO, 10);
        assert_eq!(map.get(&"a".to_owned()), None);
        for index in 0..25 {
            map.insert(index.to_string(), "v".into(), Duration::from_secs(60), 10);
        }
        let len = map.entries.read().map(|entries| entries.len()).unwrap_or(0);
        assert!(len <= 10, "{len}");
        assert_eq!(map.get(&"24".to_owned()).as_deref(), Some("v"));
    }
}
