//! What resolvers answer: user attributes and user searches.

use serde_json::{Map, Value};

/// The attributes a resolver tells about one user, in the resolver's order (LinOTP's user
/// info dict): `userid`, `username`, `givenname`, `surname`, `email`, `phone`, `mobile`,
/// `description` and whatever else the resolver's mapping names. Never a password hash.
///
/// Values are JSON values because LinOTP passes SQL column types through (an integer id
/// stays a number, a NULL column is `null`); LDAP and passwd values are always strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserInfo {
    fields: Vec<(String, Value)>,
}

impl UserInfo {
    /// Attributes in order; a later duplicate key replaces the earlier value in place.
    pub fn from_fields(fields: impl IntoIterator<Item = (String, Value)>) -> UserInfo {
        let mut info = UserInfo::default();
        for (key, value) in fields {
            info.set(&key, value);
        }
        info
    }

    /// Sets one attribute (replacing it in place, or appending).
    pub fn set(&mut self, key: &str, value: Value) {
        match self.fields.iter_mut().find(|(name, _)| name == key) {
            Some((_, slot)) => *slot = value,
            None => self.fields.push((key.to_owned(), value)),
        }
    }

    /// One attribute as stored.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// One attribute as text: strings as they are, numbers and booleans written out; `None`
    /// for absent and `null` attributes.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }

    /// `userid` as text.
    pub fn user_id(&self) -> Option<String> {
        self.text("userid")
    }

    /// `username` as text.
    pub fn username(&self) -> Option<String> {
        self.text("username")
    }

    /// All attributes in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The attributes as a JSON object (key order is serde_json's, see [`UserInfo::iter`] for
    /// the resolver's order).
    pub fn to_json(&self) -> Map<String, Value> {
        self.fields.iter().cloned().collect()
    }
}

/// A user search (`/admin/userlist`'s `<field>=<pattern>` parameters, LinOTP's `searchDict`).
///
/// Patterns use LinOTP's syntax: `*` any text, `.` one character (SQL resolvers), `<`, `<=`,
/// `>`, `>=` comparisons; for LDAP the pattern goes into the filter as an LDAP assertion value.
/// The field `searchTerm` matches when any attribute matches. Fields a resolver does not know
/// are ignored, as in LinOTP. An empty search lists everybody (up to the resolver's limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSearch {
    /// `(field, pattern)` in request order.
    pub fields: Vec<(String, String)>,
}

impl UserSearch {
    /// Everybody.
    pub fn all() -> UserSearch {
        UserSearch::default()
    }

    /// A search with these `(field, pattern)` pairs.
    pub fn new<K: Into<String>, V: Into<String>>(
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> UserSearch {
        UserSearch {
            fields: fields
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        }
    }

    /// The `searchTerm` pattern, if any (non-empty).
    pub fn search_term(&self) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, value)| key == "searchTerm" && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// The field patterns other than `searchTerm`.
    pub fn field_patterns(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .filter(|(key, _)| key != "searchTerm")
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_keeps_the_resolver_order_and_renders_text() {
        let info = UserInfo::from_fields([
            ("userid".to_owned(), Value::from(1001)),
            ("username".to_owned(), Value::from("alice")),
            ("phone".to_owned(), Value::Null),
            ("username".to_owned(), Value::from("alice2")),
        ]);
        let keys: Vec<&str> = info.iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["userid", "username", "phone"]);
        assert_eq!(info.user_id().as_deref(), Some("1001"));
        assert_eq!(info.username().as_deref(), Some("alice2"));
        assert_eq!(info.text("phone"), None);
        assert_eq!(info.text("missing"), None);
    }

    #[test]
    fn search_term_is_split_from_the_field_patterns() {
        let search = UserSearch::new([("searchTerm", "al*"), ("email", "*@x")]);
        assert_eq!(search.search_term(), Some("al*"));
        let fields: Vec<_> = search.field_patterns().collect();
        assert_eq!(fields, [("email", "*@x")]);
        assert_eq!(UserSearch::new([("searchTerm", "")]).search_term(), None);
    }
}
