//! `LDAPIdResolver`: users in an LDAP directory or Active Directory.
//!
//! Lookups run on pooled service connections bound as `BINDDN`; a password check binds a
//! fresh connection as the user's DN, as LinOTP does. Every step has a timeout (`TIMEOUT`, or
//! 10 s connect / 30 s response when LinOTP's "no limit" is configured), the number of
//! concurrent operations per resolver is bounded, and servers that failed are tried last for
//! 30 s. Referrals are never chased.

mod pool;
mod runtime;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, Scope, SearchEntry, SearchOptions, ldap_escape};
use serde_json::Value;

use crate::config::LdapSettings;
use crate::error::{ResolverError, Result};
use crate::info::{UserInfo, UserSearch};
use crate::resolver::{ConnectionTest, UserIdResolver};
use crate::spec::{ResolverClass, ResolverSpec};

use pool::{ConnectError, LdapPool, Lease, describe};

/// Concurrent operations per LDAP resolver (pooled connections plus password binds).
pub const DEFAULT_MAX_CONNECTIONS: usize = 8;

/// LDAP result codes handled specially.
const RC_SIZE_LIMIT_EXCEEDED: u32 = 4;
const RC_NO_SUCH_OBJECT: u32 = 32;
const RC_REFERRAL: u32 = 10;

/// An LDAP / Active Directory resolver.
pub struct LdapResolver {
    spec: ResolverSpec,
    pool: Arc<LdapPool>,
}

impl std::fmt::Debug for LdapResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapResolver")
            .field("spec", &self.spec)
            .field("settings", &self.pool.settings)
            .finish()
    }
}

/// One directory entry as the resolver needs it.
struct Entry {
    dn: String,
    attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl Entry {
    fn from_search(entry: SearchEntry) -> Entry {
        let mut attrs: Vec<(String, Vec<Vec<u8>>)> = entry
            .attrs
            .into_iter()
            .map(|(name, values)| (name, values.into_iter().map(String::into_bytes).collect()))
            .collect();
        attrs.extend(entry.bin_attrs);
        Entry {
            dn: entry.dn,
            attrs,
        }
    }

    /// The values of `name` (attribute names are case-insensitive).
    fn values(&self, name: &str) -> Option<&Vec<Vec<u8>>> {
        self.attrs
            .iter()
            .find(|(attr, _)| attr.eq_ignore_ascii_case(name))
            .map(|(_, values)| values)
    }

    fn first_text(&self, name: &str) -> Option<String> {
        let value = self.values(name)?.first()?;
        Some(if name.eq_ignore_ascii_case("objectGUID") {
            hex::encode(value)
        } else {
            String::from_utf8_lossy(value).into_owned()
        })
    }
}

/// Builds the TLS client configuration when certificates other than the system's are to be
/// trusted (`CACERTIFICATE`, or the server's `TLS_CA_CERTIFICATES_FILE`).
fn tls_config(
    settings: &LdapSettings,
    ca_file: Option<&Path>,
) -> Result<Option<Arc<rustls::ClientConfig>>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut pem = Vec::new();
    if let Some(text) = &settings.ca_certificate {
        pem.extend_from_slice(text.as_bytes());
        pem.push(b'\n');
    }
    if settings.ca_certificate.is_none()
        && let Some(file) = ca_file
    {
        let bytes = std::fs::read(file).map_err(|source| ResolverError::File {
            path: file.display().to_string(),
            source,
        })?;
        pem.extend_from_slice(&bytes);
    }
    if pem.is_empty() {
        return Ok(None);
    }
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|error| {
            ResolverError::definition(format!(
                "resolver {}: unreadable CA certificate: {error}",
                settings.name
            ))
        })?;
        roots.add(certificate).map_err(|error| {
            ResolverError::definition(format!(
                "resolver {}: unusable CA certificate: {error}",
                settings.name
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(ResolverError::definition(format!(
            "resolver {}: CACERTIFICATE holds no certificate",
            settings.name
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ResolverError::definition(format!("TLS: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

/// Escapes an admin's search pattern for a filter, keeping `*` as the wildcard.
fn escape_keeping_wildcards(pattern: &str) -> String {
    pattern
        .split('*')
        .map(|part| ldap_escape(part).into_owned())
        .collect::<Vec<_>>()
        .join("*")
}

/// `\90\39\5F…`: an objectGUID in hex as a filter value.
fn escape_hex_for_search(hex_value: &str) -> String {
    hex_value
        .as_bytes()
        .chunks(2)
        .map(|pair| format!("\\{}", String::from_utf8_lossy(pair)))
        .collect()
}

impl LdapResolver {
    /// Builds the resolver; no connection is made until the first lookup. `ca_file` is the
    /// server's CA bundle (`TLS_CA_CERTIFICATES_FILE`), used when the resolver has no
    /// `CACERTIFICATE` of its own; without either, the system's roots are trusted.
    pub fn new(settings: &LdapSettings, ca_file: Option<&Path>) -> Result<LdapResolver> {
        LdapResolver::with_max_connections(settings, ca_file, DEFAULT_MAX_CONNECTIONS)
    }

    /// [`LdapResolver::new`] with a bound on concurrent operations.
    pub fn with_max_connections(
        settings: &LdapSettings,
        ca_file: Option<&Path>,
        max_connections: usize,
    ) -> Result<LdapResolver> {
        if settings.uris.is_empty() {
            return Err(ResolverError::definition(format!(
                "resolver {}: no LDAPURI configured",
                settings.name
            )));
        }
        let tls = tls_config(settings, ca_file)?;
        Ok(LdapResolver {
            spec: ResolverSpec::new(ResolverClass::Ldap, &settings.name),
            pool: Arc::new(LdapPool::new(
                Arc::new(settings.clone()),
                tls,
                max_connections,
            )),
        })
    }

    fn settings(&self) -> &LdapSettings {
        &self.pool.settings
    }

    /// How long a whole call may take: waiting for a slot, connecting, two operations.
    fn call_limit(&self) -> Duration {
        let settings = self.settings();
        settings.connect_timeout + settings.response_timeout * 4 + Duration::from_secs(1)
    }

    fn run<T, F, Fut>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<LdapPool>) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        runtime::run(self.spec.name(), self.call_limit(), work(self.pool.clone()))
    }

    /// LinOTP's `%(now)s` macro in filters: the Unix time, or for Active Directory (any
    /// filter naming sAMAccountName) the Windows file time LinOTP computes.
    fn replace_macros(settings: &LdapSettings, filter: &str) -> String {
        if !filter.contains("%(now)s") {
            return filter.to_owned();
        }
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let is_ad = [
            &settings.login_attribute,
            &settings.search_filter,
            &settings.login_filter,
        ]
        .iter()
        .any(|text| text.contains("sAMAccountName"));
        let now = if is_ad {
            u128::from(unix) * 10_000_000 + 116_444_736_000_000_000 + 86_400
        } else {
            u128::from(unix)
        };
        filter.replace("%(now)s", &now.to_string())
    }

    fn uid_of(settings: &LdapSettings, entry: &Entry) -> Option<String> {
        if settings.uid_is_dn() {
            return Some(entry.dn.clone()).filter(|dn| !dn.is_empty());
        }
        entry
            .first_text(&settings.uid_type)
            .filter(|uid| !uid.is_empty())
    }

    /// The search that finds the entry of a user id.
    fn locate(settings: &LdapSettings, user_id: &str) -> (String, Scope, String) {
        if settings.uid_is_dn() {
            (
                user_id.to_owned(),
                Scope::Base,
                "(objectClass=*)".to_owned(),
            )
        } else if settings.uid_type.eq_ignore_ascii_case("objectguid") {
            if settings.proxy {
                (
                    settings.base.clone(),
                    Scope::Subtree,
                    format!("(objectGUID={})", escape_hex_for_search(user_id)),
                )
            } else {
                (
                    format!("<GUID={user_id}>"),
                    Scope::Base,
                    "(objectClass=*)".to_owned(),
                )
            }
        } else {
            (
                settings.base.clone(),
                Scope::Subtree,
                format!("({}={})", settings.uid_type, ldap_escape(user_id)),
            )
        }
    }

    fn mapped_attributes(settings: &LdapSettings) -> Vec<String> {
        let mut attrs: Vec<String> = settings
            .user_info
            .iter()
            .map(|(_, attr)| attr.clone())
            .collect();
        if !settings.uid_is_dn() {
            attrs.push(settings.uid_type.clone());
        }
        if attrs.is_empty() {
            attrs.push("1.1".to_owned());
        }
        attrs
    }
}

/// A search on a leased connection, bounded by the response timeout; the connection goes
/// back to the pool only when the search worked.
async fn search(
    pool: &LdapPool,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[String],
) -> Result<(Vec<Entry>, bool)> {
    let lease = pool.lease().await?;
    let (result, lease) = search_on(pool, lease, base, scope, filter, attrs).await;
    if let Some(lease) = lease {
        pool.give_back(lease);
    }
    result
}

async fn search_on(
    pool: &LdapPool,
    mut lease: Lease,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[String],
) -> (Result<(Vec<Entry>, bool)>, Option<Lease>) {
    let settings = &pool.settings;
    let name = settings.name.clone();
    let outcome = tokio::time::timeout(
        settings.response_timeout,
        search_ldap(&mut lease.ldap, settings, base, scope, filter, attrs),
    )
    .await;
    match outcome {
        Ok(Ok(found)) => (Ok(found), Some(lease)),
        Ok(Err(error)) => (Err(ResolverError::backend(&name, error)), None),
        Err(_) => (
            Err(ResolverError::unavailable(
                &name,
                format!("no answer within {:?}", settings.response_timeout),
            )),
            None,
        ),
    }
}

async fn search_ldap(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[String],
) -> std::result::Result<(Vec<Entry>, bool), String> {
    let result = ldap
        .with_search_options(SearchOptions::new().sizelimit(settings.size_limit))
        .with_timeout(settings.response_timeout)
        .search(base, scope, filter, attrs)
        .await
        .map_err(|error| describe(&error))?;
    let ldap3::SearchResult(raw_entries, outcome) = result;
    match outcome.rc {
        0 | RC_SIZE_LIMIT_EXCEEDED | RC_REFERRAL => {}
        RC_NO_SUCH_OBJECT => return Ok((Vec::new(), false)),
        rc => return Err(format!("search failed: rc={rc} {}", outcome.text)),
    }
    let entries = raw_entries
        .into_iter()
        .filter(|entry| !entry.is_ref() && !entry.is_intermediate())
        .map(|entry| Entry::from_search(SearchEntry::construct(entry)))
        .filter(|entry| !entry.dn.is_empty())
        .collect();
    Ok((entries, outcome.rc == RC_SIZE_LIMIT_EXCEEDED))
}

impl UserIdResolver for LdapResolver {
    fn spec(&self) -> &ResolverSpec {
        &self.spec
    }

    fn user_id(&self, login: &str) -> Result<Option<String>> {
        if login.is_empty() {
            return Ok(None);
        }
        let settings = self.settings();
        let template = LdapResolver::replace_macros(settings, &settings.login_filter);
        let filter = template.replace("%s", &ldap_escape(login));
        let attrs = if settings.uid_is_dn() {
            vec!["1.1".to_owned()]
        } else {
            vec![settings.uid_type.clone()]
        };
        self.run(move |pool| async move {
            let base = pool.settings.base.clone();
            let (entries, _) = search(&pool, &base, Scope::Subtree, &filter, &attrs).await?;
            Ok(entries
                .first()
                .and_then(|entry| LdapResolver::uid_of(&pool.settings, entry)))
        })
    }

    fn user_info(&self, user_id: &str) -> Result<Option<UserInfo>> {
        if user_id.is_empty() {
            return Ok(None);
        }
        let settings = self.settings();
        let (base, scope, filter) = LdapResolver::locate(settings, user_id);
        let attrs = LdapResolver::mapped_attributes(settings);
        let user_id = user_id.to_owned();
        self.run(move |pool| async move {
            let (entries, _) = search(&pool, &base, scope, &filter, &attrs).await?;
            let Some(entry) = entries.first() else {
                return Ok(None);
            };
            let mut fields = vec![("userid".to_owned(), Value::from(user_id))];
            for (key, attr) in &pool.settings.user_info {
                let value = entry.first_text(attr).unwrap_or_default();
                fields.push((key.clone(), Value::from(value)));
            }
            Ok(Some(UserInfo::from_fields(fields)))
        })
    }

    fn search(&self, search_request: &UserSearch) -> Result<Vec<UserInfo>> {
        let settings = self.settings();
        let mut filter = LdapResolver::replace_macros(settings, &settings.search_filter);
        for (key, pattern) in search_request.field_patterns() {
            match settings.user_info.iter().find(|(mapped, _)| mapped == key) {
                Some((_, attr)) => {
                    filter.push_str(&format!("({attr}={})", escape_keeping_wildcards(pattern)));
                }
                None => tracing::debug!(resolver = %self.spec, key, "unknown search key"),
            }
        }
        let filter = match search_request.search_term() {
            Some(term) => {
                let term = escape_keeping_wildcards(term);
                let alternatives: String = settings
                    .user_info
                    .iter()
                    .map(|(_, attr)| format!("({attr}={term})"))
                    .collect();
                format!("(&(|{alternatives}){filter})")
            }
            None => format!("(&{filter})"),
        };
        let attrs = LdapResolver::mapped_attributes(settings);
        self.run(move |pool| async move {
            let base = pool.settings.base.clone();
            let (entries, _) = search(&pool, &base, Scope::Subtree, &filter, &attrs).await?;
            let users = entries
                .iter()
                .filter_map(|entry| {
                    let uid = LdapResolver::uid_of(&pool.settings, entry)?;
                    let mut fields = vec![("userid".to_owned(), Value::from(uid))];
                    for (key, attr) in &pool.settings.user_info {
                        if let Some(value) = entry.first_text(attr) {
                            fields.push((key.clone(), Value::from(value)));
                        }
                    }
                    Some(UserInfo::from_fields(fields))
                })
                .collect();
            Ok(users)
        })
    }

    fn check_password(&self, user_id: &str, password: &str) -> Result<bool> {
        // An empty password would be an anonymous bind, which "succeeds".
        if password.is_empty() || user_id.is_empty() {
            return Ok(false);
        }
        let settings = self.settings();
        let (base, scope, filter) = LdapResolver::locate(settings, user_id);
        let known_dn = settings.uid_is_dn().then(|| user_id.to_owned());
        let password = zeroize::Zeroizing::new(password.to_owned());
        self.run(move |pool| async move {
            let dn = match known_dn {
                Some(dn) => dn,
                None => {
                    let attrs = ["1.1".to_owned()];
                    let (entries, _) = search(&pool, &base, scope, &filter, &attrs).await?;
                    match entries.into_iter().next() {
                        Some(entry) => entry.dn,
                        None => return Ok(false),
                    }
                }
            };
            let _permit = pool.permit().await?;
            match pool.connect_bound(&dn, &password).await? {
                Some(mut ldap) => {
                    let _ = ldap.unbind().await;
                    Ok(true)
                }
                None => Ok(false),
            }
        })
    }

    fn test_connection(&self) -> ConnectionTest {
        let filter = format!("(&{})", self.settings().search_filter);
        let outcome = self.run(move |pool| async move {
            let settings = pool.settings.clone();
            let mut failure = String::from("no LDAPURI");
            for uri in &settings.uris {
                let mut ldap = match pool
                    .connect_one(uri, &settings.bind_dn, settings.bind_password.expose())
                    .await
                {
                    Ok(ldap) => ldap,
                    Err(ConnectError::InvalidCredentials) => {
                        failure = "Invalid credentials".to_owned();
                        continue;
                    }
                    Err(ConnectError::Failed(reason)) => {
                        failure = reason;
                        continue;
                    }
                };
                let searched = tokio::time::timeout(
                    settings.response_timeout,
                    search_ldap(
                        &mut ldap,
                        &settings,
                        &settings.base,
                        Scope::Subtree,
                        &filter,
                        &["1.1".to_owned()],
                    ),
                )
                .await;
                let _ = ldap.unbind().await;
                return match searched {
                    Ok(Ok((entries, exceeded))) => Ok(ConnectionTest::LdapUsers {
                        dns: entries.into_iter().map(|entry| entry.dn).collect(),
                        size_limit_exceeded: exceeded,
                    }),
                    Ok(Err(error)) => Ok(ConnectionTest::LdapError(error)),
                    Err(_) => Ok(ConnectionTest::LdapError(format!(
                        "no answer within {:?}",
                        settings.response_timeout
                    ))),
                };
            }
            Ok(ConnectionTest::LdapError(failure))
        });
        outcome.unwrap_or_else(|error| ConnectionTest::LdapError(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_are_escaped_except_wildcards() {
        assert_eq!(escape_keeping_wildcards("al*"), "al*");
        assert_eq!(escape_keeping_wildcards("x)(uid=*"), "x\\29\\28uid=*");
    }

    #[test]
    fn object_guids_are_escaped_bytewise() {
        assert_eq!(escape_hex_for_search("90395F19"), "\\90\\39\\5F\\19");
    }
}
