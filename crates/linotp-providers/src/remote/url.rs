//! The few URL parts a server definition has: `scheme://host[:port]/path?query`.

use crate::error::{ProviderError, Result};

#[derive(Debug, Clone, PartialEq)]
pub(super) struct ParsedUrl {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
    pub path: String,
    /// Decoded query parameters, first value of each name (as LinOTP's `parse_qs` use).
    pub query: Vec<(String, String)>,
}

impl ParsedUrl {
    pub fn parse(url: &str) -> Result<ParsedUrl> {
        let invalid =
            |why: &str| ProviderError::Definition(format!("{why}: {}", without_query(url.trim())));
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| invalid("no scheme"))?;
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = match location.find('/') {
            Some(slash) => (&location[..slash], &location[slash..]),
            None => (location, ""),
        };
        // user:password@ is not how LinOTP configures secrets; it is dropped, not sent.
        let authority = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let (host, port) = split_host_port(authority).ok_or_else(|| invalid("bad port"))?;
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for field in query.split('&').filter(|field| !field.trim().is_empty()) {
            let (name, value) = field.split_once('=').unwrap_or((field, ""));
            let name = percent_decode(name.trim());
            if !pairs.iter().any(|(known, _)| *known == name) {
                pairs.push((name, percent_decode(value.trim())));
            }
        }
        Ok(ParsedUrl {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_owned(),
            port,
            path: path.trim().to_owned(),
            query: pairs,
        })
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
    }

    /// The URL for logs: no query (it may carry the secret).
    pub fn without_secrets(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}{}", self.scheme, self.host, self.path),
            None => format!("{}://{}{}", self.scheme, self.host, self.path),
        }
    }
}

fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(before, _)| before)
}

fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    // [v6]:port
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((authority, None)),
    }
}

/// `%XX` escapes and `+` as space (malformed escapes stay as written).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| {
                let high = char::from(*bytes.get(index + 1)?).to_digit(16)?;
                let low = char::from(*bytes.get(index + 2)?).to_digit(16)?;
                u8::try_from(high << 4 | low).ok()
            })
            .flatten();
        match (bytes[index], escaped) {
            (b'+', _) => out.push(b' '),
            (_, Some(byte)) => {
                out.push(byte);
                index += 2;
            }
            (other, None) => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_urls_keep_host_port_and_decoded_secret() {
        let url =
            ParsedUrl::parse(" radius://10.0.0.1:1812/?secret=s%3Dcr+et&a=1&secret=2 ").unwrap();
        assert_eq!(url.scheme, "radius");
        assert_eq!(url.host, "10.0.0.1");
        assert_eq!(url.port, Some(1812));
        assert_eq!(url.path, "/");
        assert_eq!(url.query("secret"), Some("s=cr et"));
        assert_eq!(url.query("a"), Some("1"));
        assert_eq!(url.without_secrets(), "radius://10.0.0.1:1812/");
    }

    #[test]
    fn http_urls_without_port_and_ipv6_hosts() {
        let url = ParsedUrl::parse("https://linotp.example/validate/check").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("linotp.example", None));
        assert_eq!(url.path, "/validate/check");
        let v6 = ParsedUrl::parse("http://[::1]:5001/validate/check?verify_ssl_certificate=true")
            .unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", Some(5001)));
        assert_eq!(v6.query("verify_ssl_certificate"), Some("true"));
    }

    #[test]
    fn unusable_urls_are_refused_without_showing_the_query() {
        for bad in [
            "10.0.0.1:1812",
            "radius://:1812/",
            "radius://host:port/?secret=x",
        ] {
            let error = ParsedUrl::parse(bad).unwrap_err().to_string();
            assert!(!error.contains("secret=x"), "{error}");
        }
    }
}
