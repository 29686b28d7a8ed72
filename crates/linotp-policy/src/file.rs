//! The policy file of `getPolicy?export=true` and `importPolicy`: LinOTP
//! writes it with Python's ConfigObj, one `[name]` section per policy with
//! `key = value` lines, quoting values the way ConfigObj does.

use crate::error::{Error, Result};
use crate::policy::{NewPolicy, Policy};

/// Renders policies as LinOTP's export file `policy.cfg` (empty text for
/// no policies). Fails only for a value ConfigObj cannot quote either
/// (containing both `'''` and `"""`).
pub fn render_policy_file<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> Result<String> {
    let mut out = String::new();
    for policy in policies {
        out.push('[');
        out.push_str(&quote(policy.name(), false)?);
        out.push_str("]\n");
        let fields = [
            ("action", policy.action()),
            ("scope", policy.scope()),
            ("realm", policy.realm()),
            ("user", policy.user()),
            ("time", policy.time()),
            ("client", policy.client()),
            ("active", policy.active()),
            ("name", policy.name()),
        ];
        for (key, value) in fields {
            out.push_str(key);
            out.push_str(" = ");
            out.push_str(&quote(value, true)?);
            out.push('\n');
        }
    }
    Ok(out)
}

/// ConfigObj's `_quote` with `list_values=True`.
fn quote(value: &str, multiline: bool) -> Result<String> {
    if value.is_empty() {
        return Ok("\"\"".to_owned());
    }
    let both_quotes = value.contains('\'') && value.contains('"');
    let needs_triple = multiline && (both_quotes || value.contains('\n'));
    let unquotable = || Error::PolicyFile {
        line: 0,
        message: format!("value {value:?} cannot be safely quoted"),
    };
    if needs_triple {
        // ConfigObj picks `"""` exactly when the value contains `"""`, which
        // it cannot read back; the other triple quote always can be.
        return match (value.contains("'''"), value.contains("\"\"\"")) {
            (true, true) => Err(unquotable()),
            (true, false) => Ok(format!("\"\"\"{value}\"\"\"")),
            (false, _) => Ok(format!("'''{value}'''")),
        };
    }
    if value.contains('\n') {
        return Err(unquotable());
    }
    const SPACE_OR_QUOTE: &[char] = &[' ', '\r', '\n', '\u{b}', '\t', '\'', '"'];
    let bare = !value.starts_with(SPACE_OR_QUOTE)
        && !value.ends_with(SPACE_OR_QUOTE)
        && !value.contains(',');
    if bare && !value.contains('#') {
        return Ok(value.to_owned());
    }
    if both_quotes {
        return Err(unquotable());
    }
    Ok(if value.contains('"') {
        format!("'{value}'")
    } else {
        format!("\"{value}\"")
    })
}

/// Reads a policy file (as written by [`render_policy_file`] or by LinOTP)
/// into the policies `importPolicy` stores, applying its defaults: `realm`,
/// `user`, `time`, `client` missing or empty → `*`, `active` → `True`;
/// `system` policies are stored with `enforce`.
pub fn parse_policy_file(text: &str) -> Result<Vec<NewPolicy>> {
    let sections = parse_sections(text)?;
    sections
        .into_iter()
        .map(|(name, entries)| {
            let get = |key: &str| {
                entries
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            let required = |key: &str| {
                get(key).ok_or_else(|| Error::PolicyFile {
                    line: 0,
                    message: format!("policy {name:?} has no {key}"),
                })
            };
            let wildcard_default = |key: &str| {
                Some(
                    get(key)
                        .filter(|value| !value.is_empty())
                        .unwrap_or_else(|| "*".to_owned()),
                )
            };
            let scope = required("scope")?;
            Ok(NewPolicy {
                action: required("action")?,
                enforce: scope == "system",
                scope,
                realm: get("realm")
                    .filter(|value| !value.is_empty())
                    .unwrap_or_else(|| "*".to_owned()),
                user: wildcard_default("user"),
                time: wildcard_default("time"),
                client: wildcard_default("client"),
                active: Some(get("active").unwrap_or_else(|| "True".to_owned())),
                name,
            })
        })
        .collect()
}

type Section = (String, Vec<(String, String)>);

fn parse_sections(text: &str) -> Result<Vec<Section>> {
    let mut sections: Vec<Section> = Vec::new();
    // Inside a `[[sub]]` section of a policy: its keys are ignored, as LinOTP does.
    let mut in_subsection = false;
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let mut index = 0;
    while index < lines.len() {
        let number = index + 1;
        let line = lines[index].trim();
        index += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |message: &str| Error::PolicyFile {
            line: number,
            message: message.to_owned(),
        };
        if line.starts_with('[') {
            let depth = line.chars().take_while(|c| *c == '[').count();
            let rest = &line[depth..];
            let closing = "]".repeat(depth);
            let Some((name, after)) = rest.split_once(closing.as_str()) else {
                return Err(error("section marker is not closed"));
            };
            let after = after.trim();
            if !after.is_empty() && !after.starts_with('#') {
                return Err(error("text after a section marker"));
            }
            let name = unquote_name(name.trim());
            if depth > 1 {
                in_subsection = true;
                continue;
            }
            in_subsection = false;
            if sections.iter().any(|(existing, _)| *existing == name) {
                return Err(error("duplicate section name"));
            }
            sections.push((name, Vec::new()));
            continue;
        }
        let Some((key, raw_value)) = line.split_once('=') else {
            return Err(error("expected 'key = value'"));
        };
        let key = unquote_name(key.trim());
        let raw_value = raw_value.trim();
        let value = if let Some(quote) = ["'''", "\"\"\""]
            .into_iter()
            .find(|q| raw_value.starts_with(q))
        {
            let mut body = raw_value[3..].to_owned();
            loop {
                if let Some(end) = find_closing_triple(&body, quote) {
                    let after = body[end + 3..].trim();
                    if !after.is_empty() && !after.starts_with('#') {
                        return Err(error("text after a triple-quoted value"));
                    }
                    body.truncate(end);
                    break body;
                }
                let Some(next) = lines.get(index) else {
                    return Err(error("unterminated triple-quoted value"));
                };
                index += 1;
                body.push('\n');
                body.push_str(next);
            }
        } else {
            parse_value(raw_value).ok_or_else(|| error("cannot read the value"))?
        };
        if in_subsection {
            continue;
        }
        let Some((_, entries)) = sections.last_mut() else {
            return Err(error("value outside a policy section"));
        };
        if entries.iter().any(|(existing, _)| *existing == key) {
            return Err(error("duplicate keyword name"));
        }
        entries.push((key, value));
    }
    Ok(sections)
}

/// The last closing triple quote followed only by spaces or a comment
/// (ConfigObj's non-greedy match anchored at the line end).
fn find_closing_triple(body: &str, quote: &str) -> Option<usize> {
    (0..body.len())
        .filter(|at| body.is_char_boundary(*at) && body[*at..].starts_with(quote))
        .find(|at| {
            let after = body[at + 3..].trim();
            after.is_empty() || after.starts_with('#')
        })
}

fn unquote_name(name: &str) -> String {
    for quote in ['"', '\''] {
        if name.len() >= 2 && name.starts_with(quote) && name.ends_with(quote) {
            return name[1..name.len() - 1].to_owned();
        }
    }
    name.to_owned()
}

/// A single-line ConfigObj value: one item, or a comma list (joined with
/// `, `), items quoted or bare, optional `# comment`.
fn parse_value(text: &str) -> Option<String> {
    let mut items: Vec<String> = Vec::new();
    let mut is_list = false;
    let mut rest = text.trim_start();
    loop {
        if rest.is_empty() || rest.starts_with('#') {
            break;
        }
        let (item, after) =
            if let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let body = &rest[1..];
                let end = body.find(quote)?;
                (body[..end].to_owned(), &body[end + 1..])
            } else {
                let end = rest.find([',', '#']).unwrap_or(rest.len());
                (rest[..end].trim_end().to_owned(), &rest[end..])
            };
        items.push(item);
        rest = after.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            is_list = true;
            rest = next.trim_start();
        } else if !(rest.is_empty() || rest.starts_with('#')) {
            return None;
        }
    }
    if is_list {
        Some(items.join(", "))
    } else {
        Some(items.pop().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicySet;

    #[test]
    fn quoting_follows_configobj() {
        let cases: &[(&str, &str)] = &[
            ("", "\"\""),
            ("selfservice", "selfservice"),
            ("* * * * * *;", "* * * * * *;"),
            ("x=y", "x=y"),
            ("enrollHMAC, setOTPPIN", "\"enrollHMAC, setOTPPIN\""),
            (" lead", "\" lead\""),
            ("a#b", "\"a#b\""),
            ("say \"hi\", bye", "'say \"hi\", bye'"),
            ("'", "\"'\""),
            ("smstext=\"otp\", msg='x'", "'''smstext=\"otp\", msg='x''''"),
            ("both '\"\"\" here", "'''both '\"\"\" here'''"),
            ("x''' and \"y\"", "\"\"\"x''' and \"y\"\"\"\""),
        ];
        for (value, expected) in cases {
            assert_eq!(quote(value, true).unwrap(), *expected, "{value:?}");
        }
        assert!(quote("''' and \"\"\"", true).is_err());
    }

    #[test]
    fn values_like_configobj_reads_them() {
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("plain # comment", "plain"),
            ("\"quoted, value\"", "quoted, value"),
            ("'single \"inner\"'", "single \"inner\""),
            ("\"\"", ""),
            ("", ""),
            ("enrollHMAC, setOTPPIN", "enrollHMAC, setOTPPIN"),
            ("'a, b', c", "a, b, c"),
            ("x=y'z", "x=y'z"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_value(text).as_deref(), Some(*expected), "{text:?}");
        }
        assert_eq!(parse_value("\"a\"b"), None);
        assert_eq!(parse_value("\"open"), None);
    }

    #[test]
    fn linotp_import_defaults() {
        // LinOTP's own import test file.
        let text = "[empty_realm]\nrealm = \"\"\nactive = True\nclient = \"\"\nuser = *\ntime = \"\"\naction = \"otppin=password \"\nscope = authentication\n\n[no_realm]\naction = otppin=1\nscope = system\n";
        let policies = parse_policy_file(text).unwrap();
        assert_eq!(policies.len(), 2);
        let first = &policies[0];
        assert_eq!(first.name, "empty_realm");
        assert_eq!(first.realm, "*");
        assert_eq!(first.client.as_deref(), Some("*"));
        assert_eq!(first.time.as_deref(), Some("*"));
        assert_eq!(first.action, "otppin=password ");
        assert!(!first.enforce);
        let second = &policies[1];
        assert_eq!(second.realm, "*");
        assert_eq!(second.user.as_deref(), Some("*"));
        assert_eq!(second.active.as_deref(), Some("True"));
        assert!(second.enforce, "system policies are imported with enforce");
    }

    #[test]
    fn file_errors_name_the_line() {
        let cases: &[(&str, &str)] = &[
            (
                "scope = admin\n",
                "policy file line 1: value outside a policy section",
            ),
            (
                "[p]\nscope = admin\nscope = system\n",
                "policy file line 3: duplicate keyword name",
            ),
            ("[p]\nscope\n", "policy file line 2: expected 'key = value'"),
            ("[p\n", "policy file line 1: section marker is not closed"),
            (
                "[p]\naction = '''open\n",
                "policy file line 2: unterminated triple-quoted value",
            ),
            (
                "[p]\nscope = admin\n",
                "policy file line 0: policy \"p\" has no action",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                parse_policy_file(text).unwrap_err().to_string(),
                *message,
                "{text:?}"
            );
        }
    }

    #[test]
    fn multiline_and_subsections() {
        let text = "# exported\n[p]\naction = '''smstext=\"a\nb\", x='y''''\nscope = authentication\n[[extra]]\nignored = 1\n[q]\naction = *\nscope = admin\n";
        let policies = parse_policy_file(text).unwrap();
        assert_eq!(policies[0].action, "smstext=\"a\nb\", x='y'");
        assert_eq!(policies[1].name, "q");
    }

    #[test]
    fn export_import_round_trip() {
        let set = PolicySet::from_config([
            (
                "linotp.Policy.fix_selfservice.action",
                "enrollHMAC, enrollTOTP, setOTPPIN, history, otp_pin_minlength=4",
            ),
            ("linotp.Policy.fix_selfservice.scope", "selfservice"),
            ("linotp.Policy.fix_selfservice.realm", "fixrealm"),
            ("linotp.Policy.fix_selfservice.user", "*"),
            ("linotp.Policy.fix_selfservice.time", ""),
            ("linotp.Policy.fix_selfservice.client", ""),
            ("linotp.Policy.fix_selfservice.active", "True"),
            (
                "linotp.Policy.sms.action",
                "smstext='Your OTP: <otp>, \"quoted\"', trigger_sms",
            ),
            ("linotp.Policy.sms.scope", "authentication"),
            ("linotp.Policy.sms.realm", "r1, r2"),
            ("linotp.Policy.sms.client", "10.0.0.0/8, !10.1.0.0/16"),
            ("linotp.Policy.sms.active", "False"),
            ("linotp.Policy.sys.action", "read, write"),
            ("linotp.Policy.sys.scope", "system"),
            ("linotp.Policy.sys.realm", "*"),
            ("linotp.Policy.sys.user", "admin #1"),
            ("linotp.Policy.sys.client", "*"),
        ]);
        let text = render_policy_file(set.iter()).unwrap();
        assert!(text.starts_with(
            "[fix_selfservice]\naction = \"enrollHMAC, enrollTOTP, setOTPPIN, history, otp_pin_minlength=4\"\nscope = \
             selfservice\nrealm = fixrealm\nuser = *\ntime = * * * * * *;\nclient = *\nactive = True\nname = \
             fix_selfservice\n[sms]\n"
        ));
        let imported = PolicySet::from_policies(
            parse_policy_file(&text)
                .unwrap()
                .iter()
                .map(NewPolicy::to_policy),
        );
        assert_eq!(imported, set);
        assert_eq!(render_policy_file(std::iter::empty()).unwrap(), "");

        // Import widens empty fields to `*`, also where loading would not (scope system).
        let mut bare = set.clone();
        bare.insert(
            NewPolicy {
                client: Some(String::new()),
                ..parse_policy_file(&text).unwrap()[2].clone()
            }
            .to_policy(),
        );
        assert_eq!(bare.get("sys").map(Policy::client), Some(""));
        let text = render_policy_file(bare.iter()).unwrap();
        assert!(text.contains("client = \"\"\n"));
        let reimported = parse_policy_file(&text).unwrap();
        assert_eq!(reimported[2].client.as_deref(), Some("*"));
    }
}
