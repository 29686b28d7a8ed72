//! LinOTP's user-id resolvers: the user stores a realm is made of.
//!
//! * [`UserIdResolver`] is the interface: user id of a login, user info of an id, user search,
//!   password check, connection test. It is **synchronous** (see its documentation for why);
//!   async callers use `spawn_blocking`.
//! * Implementations: [`LdapResolver`] (LDAP / Active Directory over `ldap3` with rustls:
//!   failover over several URIs, STARTTLS and `ldaps://`, a bounded pool of bound service
//!   connections, timeouts on every step), [`SqlResolver`] (any table in SQLite, PostgreSQL or
//!   MySQL/MariaDB; imported users and LinOTP's local administrators are `readonly` SQL
//!   resolvers on LinOTP's own `imported_user` table), [`PasswdResolver`] (passwd-style files).
//! * [`CachedResolver`] is LinOTP's user lookup cache (`user_lookup_cache.*`), and
//!   [`ResolverRegistry`] keeps built resolvers, with their pools and caches, while their
//!   definition is unchanged.
//! * [`ResolverConfig`] reads and writes LinOTP's config rows (`linotp.ldapresolver.LDAPURI.corp`,
//!   …), [`define_resolver`] is `/system/setResolver`'s validation with LinOTP's error texts,
//!   [`ResolverSpec`] the `useridresolver.<Class>.IdResolver.<name>` names.
//!
//! The crate holds no encKey: callers hand in configuration values with `BINDPW` / `Password`
//! already decrypted, and encrypt the `encrypted_data` rows [`ResolverConfig::to_entries`]
//! returns.
//!
//! ```
//! use std::collections::HashMap;
//! use linotp_resolvers::{ResolverEnvironment, ResolverRegistry, ResolverSpec, UserIdResolver,
//!     UserSearch};
//!
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("passwd");
//! // alice's password is "Test123!" (sha512_crypt).
//! std::fs::write(&file, "alice:$6$rounds=1000$abcdefgh$sq7w2EXEFBc10jkWD9f93wgdENd6K/j.aeWaZ6THi2VvQj5cu5u3JsjgkNgvxB0gKsDxSUPN.O5zPzCJ1mLER1:1001:1001:Alice Smith:/home/alice:/bin/sh\n")?;
//! let config = HashMap::from([(
//!     "linotp.passwdresolver.fileName.local".to_owned(),
//!     file.display().to_string(),
//! )]);
//!
//! let registry = ResolverRegistry::new(ResolverEnvironment::default());
//! let spec = ResolverSpec::parse("useridresolver.PasswdIdResolver.IdResolver.local").unwrap();
//! let resolver = registry.resolver(&spec, &config)?.expect("defined");
//!
//! let id = resolver.user_id("alice")?.expect("known");
//! assert!(resolver.check_password(&id, "Test123!")?);
//! assert!(!resolver.check_password(&id, "wrong")?);
//! let info = resolver.user_info(&id)?.expect("known");
//! assert_eq!(info.text("surname").as_deref(), Some("Smith"));
//! assert_eq!(resolver.search(&UserSearch::new([("username", "al*")]))?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cache;
pub mod config;
mod error;
mod info;
pub mod ldap;
pub mod passwd;
pub mod password;
mod registry;
mod resolver;
mod spec;
pub mod sql;
#[cfg(feature = "testing")]
pub mod testing;

pub use cache::{CacheSettings, CachedResolver};
pub use config::{
    ConfigLookup, DefineMode, LdapSettings, PasswdSettings, ResolverConfig, ResolverDefinition,
    ResolverSettings, SqlSettings, SqlSource, StoredEntry, define_resolver,
};
pub use error::{GENERIC_ERROR_CODE, PARAMETER_ERROR_CODE, ResolverError, Result};
pub use info::{UserInfo, UserSearch};
pub use ldap::LdapResolver;
pub use passwd::PasswdResolver;
pub use registry::{ResolverEnvironment, ResolverRegistry, build_resolver};
pub use resolver::{ConnectionTest, UserIdResolver};
pub use spec::{ResolverClass, ResolverSpec};
pub use sql::SqlResolver;
