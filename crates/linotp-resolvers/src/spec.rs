//! Resolver classes and specs (`useridresolver.<Class>.IdResolver.<name>`).

use std::fmt;

/// The kinds of resolver LinOTP knows (and this crate implements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResolverClass {
    /// `LDAPIdResolver`, config type `ldapresolver`.
    Ldap,
    /// `SQLIdResolver`, config type `sqlresolver`.
    Sql,
    /// `PasswdIdResolver`, config type `passwdresolver`.
    Passwd,
}

impl ResolverClass {
    /// Every class, in LinOTP's registry order.
    pub const ALL: [ResolverClass; 3] = [
        ResolverClass::Ldap,
        ResolverClass::Sql,
        ResolverClass::Passwd,
    ];

    /// The config type (`ldapresolver`, `sqlresolver`, `passwdresolver`): the `type` parameter of
    /// `/system/setResolver` and the second part of the config keys.
    pub fn type_name(self) -> &'static str {
        match self {
            ResolverClass::Ldap => "ldapresolver",
            ResolverClass::Sql => "sqlresolver",
            ResolverClass::Passwd => "passwdresolver",
        }
    }

    /// The class name in specs (`LDAPIdResolver`, …).
    pub fn class_name(self) -> &'static str {
        match self {
            ResolverClass::Ldap => "LDAPIdResolver",
            ResolverClass::Sql => "SQLIdResolver",
            ResolverClass::Passwd => "PasswdIdResolver",
        }
    }

    /// The class for a config type name (`ldapresolver`); also accepts LinOTP's other registry
    /// aliases (`useridresolver.ldapresolver`, the class paths).
    pub fn from_type_name(name: &str) -> Option<ResolverClass> {
        let name = name.trim();
        ResolverClass::ALL.into_iter().find(|class| {
            name == class.type_name()
                || name.strip_prefix("useridresolver.") == Some(class.type_name())
                || ResolverSpec::class_path_of(name) == Some(class.class_name())
        })
    }

    /// The class for a class name (`SQLIdResolver`).
    pub fn from_class_name(name: &str) -> Option<ResolverClass> {
        ResolverClass::ALL
            .into_iter()
            .find(|class| class.class_name() == name)
    }

    /// The config key of attribute `attribute` of resolver `name`:
    /// `linotp.<type>.<attribute>.<name>`.
    pub fn config_key(self, attribute: &str, name: &str) -> String {
        format!("linotp.{}.{attribute}.{name}", self.type_name())
    }
}

impl fmt::Display for ResolverClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

/// A resolver spec as realms list them and tokens store them (`LinOtp.IdResClass`):
/// `useridresolver.<Class>.IdResolver.<name>`.
///
/// ```
/// use linotp_resolvers::{ResolverClass, ResolverSpec};
///
/// let spec = ResolverSpec::parse("useridresolver.LDAPIdResolver.IdResolver.corp").unwrap();
/// assert_eq!(spec.class(), ResolverClass::Ldap);
/// assert_eq!(spec.name(), "corp");
/// assert_eq!(spec.short(), "LDAPIdResolver.IdResolver.corp");
/// assert_eq!(ResolverSpec::parse("LDAPIdResolver.IdResolver.corp"), Some(spec));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolverSpec {
    class: ResolverClass,
    name: String,
}

impl ResolverSpec {
    /// A spec for a class and a resolver name.
    pub fn new(class: ResolverClass, name: &str) -> ResolverSpec {
        ResolverSpec {
            class,
            name: name.to_owned(),
        }
    }

    /// Parses the full spec, the legacy `useridresolveree.` prefix, and the short form
    /// `<Class>.IdResolver.<name>` that tokens keep in `LinOtp.IdResolver`. `None` for anything
    /// else, including unknown classes.
    pub fn parse(text: &str) -> Option<ResolverSpec> {
        let text = text.trim();
        let (class_path, name) = text.rsplit_once('.')?;
        if name.is_empty() {
            return None;
        }
        let class = ResolverClass::from_class_name(ResolverSpec::class_path_of(class_path)?)?;
        Some(ResolverSpec::new(class, name))
    }

    /// `useridresolver.SQLIdResolver.IdResolver` → `SQLIdResolver`.
    fn class_path_of(class_path: &str) -> Option<&str> {
        let without_suffix = class_path.strip_suffix(".IdResolver")?;
        let class_name = match without_suffix.rsplit_once('.') {
            Some((prefix, class_name)) => {
                if prefix != "useridresolver" && prefix != "useridresolveree" {
                    return None;
                }
                class_name
            }
            None => without_suffix,
        };
        (!class_name.is_empty()).then_some(class_name)
    }

    /// The class.
    pub fn class(&self) -> ResolverClass {
        self.class
    }

    /// The resolver's configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `useridresolver.<Class>.IdResolver.<name>` (`LinOtp.IdResClass`, realm lists).
    pub fn full(&self) -> String {
        format!(
            "useridresolver.{}.IdResolver.{}",
            self.class.class_name(),
            self.name
        )
    }

    /// `<Class>.IdResolver.<name>` (`LinOtp.IdResolver`).
    pub fn short(&self) -> String {
        format!("{}.IdResolver.{}", self.class.class_name(), self.name)
    }
}

impl fmt::Display for ResolverSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_spec_parses_to_the_same_resolver() {
        let expected = ResolverSpec::new(ResolverClass::Sql, "fixres");
        for text in [
            "useridresolver.SQLIdResolver.IdResolver.fixres",
            "useridresolveree.SQLIdResolver.IdResolver.fixres",
            "SQLIdResolver.IdResolver.fixres",
            "  useridresolver.SQLIdResolver.IdResolver.fixres ",
        ] {
            assert_eq!(
                ResolverSpec::parse(text).as_ref(),
                Some(&expected),
                "{text}"
            );
        }
        assert_eq!(
            expected.full(),
            "useridresolver.SQLIdResolver.IdResolver.fixres"
        );
    }

    #[test]
    fn unknown_classes_and_broken_specs_are_refused() {
        for text in [
            "useridresolver.HTTPIdResolver.IdResolver.x",
            "useridresolver.SQLIdResolver.IdResolver.",
            "nonsense",
            "other.SQLIdResolver.IdResolver.x",
            "useridresolver.SQLIdResolver.x",
        ] {
            assert_eq!(ResolverSpec::parse(text), None, "{text}");
        }
    }

    #[test]
    fn type_names_and_aliases_map_to_classes() {
        assert_eq!(
            ResolverClass::from_type_name("ldapresolver"),
            Some(ResolverClass::Ldap)
        );
        assert_eq!(
            ResolverClass::from_type_name("useridresolver.passwdresolver"),
            Some(ResolverClass::Passwd)
        );
        assert_eq!(
            ResolverClass::from_type_name("useridresolver.SQLIdResolver.IdResolver"),
            Some(ResolverClass::Sql)
        );
        assert_eq!(ResolverClass::from_type_name("httpresolver"), None);
        assert_eq!(
            ResolverClass::Ldap.config_key("LDAPURI", "corp"),
            "linotp.ldapresolver.LDAPURI.corp"
        );
    }
}
