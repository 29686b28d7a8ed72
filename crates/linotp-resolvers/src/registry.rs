//! Building resolvers from the configuration, and keeping them (with their connection pools
//! and lookup caches) for as long as their definition does not change.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use linotp_store::Store;

use crate::cache::{CacheSettings, CachedResolver};
use crate::config::{ConfigLookup, ResolverConfig, ResolverSettings};
use crate::error::Result;
use crate::ldap::{DEFAULT_MAX_CONNECTIONS, LdapResolver};
use crate::passwd::PasswdResolver;
use crate::resolver::UserIdResolver;
use crate::spec::{ResolverClass, ResolverSpec};
use crate::sql::SqlResolver;

/// What resolvers need from the server around them.
#[derive(Debug, Clone, Default)]
pub struct ResolverEnvironment {
    /// LinOTP's own database, for `readonly` SQL resolvers (imported users, local admins).
    /// Use a pool of its own (the same URI is fine): a request that holds a connection of
    /// this pool while it asks such a resolver could otherwise wait for itself.
    pub own_database: Option<Store>,
    /// `TLS_CA_CERTIFICATES_FILE`: CA bundle trusted by LDAP resolvers without `CACERTIFICATE`.
    pub ldap_ca_file: Option<PathBuf>,
    /// Concurrent operations per LDAP resolver (default [`DEFAULT_MAX_CONNECTIONS`]).
    pub ldap_max_connections: Option<usize>,
}

/// Builds the resolver a definition describes (uncached).
pub fn build_resolver(
    config: &ResolverConfig,
    environment: &ResolverEnvironment,
) -> Result<Arc<dyn UserIdResolver>> {
    Ok(match config.settings()? {
        ResolverSettings::Ldap(settings) => Arc::new(LdapResolver::with_max_connections(
            &settings,
            environment.ldap_ca_file.as_deref(),
            environment
                .ldap_max_connections
                .unwrap_or(DEFAULT_MAX_CONNECTIONS),
        )?),
        ResolverSettings::Sql(settings) => Arc::new(SqlResolver::new(
            &settings,
            environment.own_database.as_ref(),
        )?),
        ResolverSettings::Passwd(settings) => Arc::new(PasswdResolver::new(&settings)?),
    })
}

/// Whether any config row of resolver `name` of `class` exists.
fn is_defined(class: ResolverClass, name: &str, lookup: &dyn ConfigLookup) -> bool {
    class
        .params()
        .iter()
        .any(|param| lookup.lookup(&class.config_key(param.name, name)).is_some())
}

struct Built {
    fingerprint: [u8; 32],
    resolver: CachedResolver,
}

/// The server's resolvers, built on demand from the configuration and kept while their
/// definition stays the same: a changed definition (any parameter, or the password) builds a
/// new resolver, and its lookup cache starts empty, as LinOTP flushes it on resolver changes.
///
/// ```
/// use std::collections::HashMap;
/// use linotp_resolvers::{ResolverEnvironment, ResolverRegistry, ResolverSpec, UserIdResolver};
///
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("passwd");
/// std::fs::write(&file, "alice:x:1001:1001:Alice Smith:/home/alice:/bin/sh\n")?;
/// let config: HashMap<String, String> = HashMap::from([(
///     "linotp.passwdresolver.fileName.local".to_owned(),
///     file.display().to_string(),
/// )]);
///
/// let registry = ResolverRegistry::new(ResolverEnvironment::default());
/// let spec = ResolverSpec::parse("useridresolver.PasswdIdResolver.IdResolver.local").unwrap();
/// let resolver = registry.resolver(&spec, &config)?.expect("defined");
/// assert_eq!(resolver.user_id("alice")?.as_deref(), Some("1001"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ResolverRegistry {
    environment: ResolverEnvironment,
    built: RwLock<HashMap<ResolverSpec, Built>>,
}

impl std::fmt::Debug for ResolverRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .built
            .read()
            .map(|built| built.keys().map(ResolverSpec::full).collect())
            .unwrap_or_default();
        f.debug_struct("ResolverRegistry")
            .field("environment", &self.environment)
            .field("built", &names)
            .finish()
    }
}

impl ResolverRegistry {
    /// An empty registry.
    pub fn new(environment: ResolverEnvironment) -> ResolverRegistry {
        ResolverRegistry {
            environment,
            built: RwLock::new(HashMap::new()),
        }
    }

    /// The environment resolvers are built in.
    pub fn environment(&self) -> &ResolverEnvironment {
        &self.environment
    }

    /// The resolver `spec` names, built from `lookup` (full config keys, passwords decrypted;
    /// the `user_lookup_cache.*` keys are read too). `Ok(None)` when no such resolver is
    /// defined; `Err` when its definition is unusable.
    pub fn resolver(
        &self,
        spec: &ResolverSpec,
        lookup: &dyn ConfigLookup,
    ) -> Result<Option<CachedResolver>> {
        if !is_defined(spec.class(), spec.name(), lookup) {
            self.forget(spec);
            return Ok(None);
        }
        let config = ResolverConfig::from_config(spec.class(), spec.name(), lookup)?;
        let fingerprint = config.fingerprint();
        let cache = CacheSettings::from_config(lookup);
        if let Some(built) = self
            .built
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(spec)
            && built.fingerprint == fingerprint
            && built.resolver.settings() == cache
        {
            return Ok(Some(built.resolver.clone()));
        }
        let mut built = self.built.write().unwrap_or_else(|p| p.into_inner());
        let inner = match built.get(spec) {
            // Same definition, other cache settings: keep the connections, start a new cache.
            Some(existing) if existing.fingerprint == fingerprint => {
                existing.resolver.inner().clone()
            }
            _ => {
                tracing::info!(resolver = %spec, "building resolver");
                build_resolver(&config, &self.environment)?
            }
        };
        let resolver = CachedResolver::new(inner, cache);
        built.insert(
            spec.clone(),
            Built {
                fingerprint,
                resolver: resolver.clone(),
            },
        );
        Ok(Some(resolver))
    }

    /// Drops a resolver (after `/system/delResolver` or a rename); the next request builds it
    /// again if it is still defined.
    pub fn forget(&self, spec: &ResolverSpec) {
        self.built
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(spec);
    }

    /// Empties every resolver's lookup cache.
    pub fn flush_caches(&self) {
        for built in self
            .built
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            built.resolver.flush();
        }
    }
}
