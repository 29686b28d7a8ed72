//! Where settings come from: the environment and LinOTP's configuration file search order.

use std::collections::BTreeMap;
use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::{Result, SettingsError};

/// Prefix of the environment variables LinOTP reads.
pub const ENV_PREFIX: &str = "LINOTP_";

/// The file in the application root that holds the default `LINOTP_CFG` list.
pub const CFG_DEFAULT_FILE: &str = "linotp-cfg-default";

/// The inputs of loading: `LINOTP_*` environment variables and the working directory
/// (LinOTP's "application root": base of relative `LINOTP_CFG` entries and of the default
/// `ROOT_DIR`).
///
/// Tests build one explicitly instead of changing the process environment:
///
/// ```
/// use linotp_settings::Environment;
///
/// let env = Environment::new("/srv/linotp").with_var("LINOTP_LOG_LEVEL", "INFO");
/// assert_eq!(env.var("LINOTP_LOG_LEVEL"), Some("INFO"));
/// ```
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, Zeroizing<String>>,
    working_dir: PathBuf,
}

impl Environment {
    /// An environment with no variables, rooted at `working_dir`.
    pub fn new(working_dir: impl Into<PathBuf>) -> Self {
        Environment {
            vars: BTreeMap::new(),
            working_dir: working_dir.into(),
        }
    }

    /// The `LINOTP_*` variables and the current directory of this process.
    pub fn from_process() -> Result<Self> {
        let working_dir = std::env::current_dir().map_err(SettingsError::WorkingDir)?;
        let mut env = Environment::new(working_dir);
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(ENV_PREFIX) {
                continue;
            }
            let value = value
                .into_string()
                .map_err(|_| SettingsError::NonUnicodeEnv(name.to_owned()))?;
            env.set_var(name, value);
        }
        Ok(env)
    }

    /// Adds or replaces a variable (builder style).
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_var(name, value);
        self
    }

    /// Adds or replaces a variable.
    pub fn set_var(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), Zeroizing::new(value.into()));
    }

    /// The value of a variable, if set.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|value| value.as_str())
    }

    /// All variables, sorted by name.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The application root.
    pub fn working_dir(&self) -> &Path {
        &self.working_dir
    }
}

/// Variable values may be secrets (`LINOTP_ADMIN_PASSWORD`), so only names are shown.
impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("working_dir", &self.working_dir)
            .finish()
    }
}

/// Where the list of configuration files came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CfgListOrigin {
    /// The `LINOTP_CFG` environment variable.
    Env,
    /// The `linotp-cfg-default` file in the application root.
    DefaultFile(PathBuf),
    /// Neither exists: `linotp.cfg` in the application root, if present.
    Builtin,
}

/// A file the search order named, after directory and glob expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) path: PathBuf,
    /// Written with a leading `-`: a missing file is not worth a warning.
    pub(crate) optional: bool,
}

/// The configuration files to read, in order, following LinOTP's search order.
pub(crate) fn config_files(env: &Environment) -> Result<(CfgListOrigin, Vec<Candidate>)> {
    let root = env.working_dir();
    let (origin, list) = match env.var("LINOTP_CFG") {
        Some(list) => (CfgListOrigin::Env, list.to_owned()),
        None => {
            let default_file = root.join(CFG_DEFAULT_FILE);
            match std::fs::read_to_string(&default_file) {
                Ok(text) => (
                    CfgListOrigin::DefaultFile(default_file),
                    text.trim().to_owned(),
                ),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    // Without any configuration linotp-rs runs on its defaults, so a missing
                    // linotp.cfg is expected rather than worth a warning.
                    (CfgListOrigin::Builtin, "-linotp.cfg".to_owned())
                }
                Err(source) => {
                    return Err(SettingsError::Read {
                        path: default_file,
                        source,
                    });
                }
            }
        }
    };
    let mut candidates = Vec::new();
    for entry in list.split(':') {
        let (optional, name) = match entry.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, entry),
        };
        // LinOTP would read an empty entry as the application root itself (all its *.cfg);
        // a stray colon is far more likely a typo than that wish.
        if name.is_empty() {
            continue;
        }
        let mut pattern = root.join(name);
        if pattern.is_dir() {
            pattern.push("*.cfg");
        }
        let matches = expand(&pattern)?;
        if matches.is_empty() {
            candidates.push(Candidate {
                path: pattern,
                optional,
            });
        }
        candidates.extend(matches.into_iter().map(|path| Candidate { path, optional }));
    }
    Ok((origin, candidates))
}

/// The files matching `pattern`, sorted. Wildcards (`*`, `?`, `[...]`) are allowed in the
/// last component only, as in LinOTP; hidden files match only a pattern starting with `.`.
fn expand(pattern: &Path) -> Result<Vec<PathBuf>> {
    let Some(file_pattern) = pattern.file_name().and_then(|name| name.to_str()) else {
        return Ok(if pattern.is_file() {
            vec![pattern.to_owned()]
        } else {
            Vec::new()
        });
    };
    if !file_pattern.contains(['*', '?', '[']) {
        return Ok(if pattern.is_file() {
            vec![pattern.to_owned()]
        } else {
            Vec::new()
        });
    }
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(SettingsError::Read {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut matches = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SettingsError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        if name.starts_with('.') && !file_pattern.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if glob_match(file_pattern, name) && path.is_file() {
            matches.push(path);
        }
    }
    matches.sort();
    Ok(matches)
}

/// Shell-style matching of one file name: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was and how much of the name it has eaten so far, for backtracking.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class_match(&pattern[p..], name[n]) {
                Some((true, width)) => Some(width),
                Some((false, _)) => None,
                // An unclosed `[` is an ordinary character.
                None => (name[n] == '[').then_some(1),
            },
            Some(&c) => (c == name[n]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(width), _) => {
                p += width;
                n += 1;
            }
            (None, Some((star_p, star_n))) => {
                p = star_p + 1;
                n = star_n + 1;
                star = Some((star_p, star_n + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class at the start of `pattern` (which begins with `[`).
/// Returns whether it matched and the class's width in the pattern, or `None` if unclosed.
fn class_match(pattern: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(pattern.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while let Some(&start) = pattern.get(i) {
        if start == ']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&end| end != ']') {
            let end = pattern[i + 2];
            matched |= start <= c && c <= end;
            i += 3;
        } else {
            matched |= start == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns() {
        let cases = [
            ("*.cfg", "linotp.cfg", true),
            ("*.cfg", "linotp.cfg.bak", false),
            ("*.cfg", ".cfg", true),
            ("0?-*.cfg", "01-database.cfg", true),
            ("0?-*.cfg", "1-database.cfg", false),
            ("[0-4]*.cfg", "3x.cfg", true),
            ("[0-4]*.cfg", "5x.cfg", false),
            ("[!0-4]*.cfg", "5x.cfg", true),
            ("[ab].cfg", "b.cfg", true),
            ("a*b*c", "aXXbYYbZc", true),
            ("a*b*c", "aXXbYYbZ", false),
            ("linotp.cfg", "linotp.cfg", true),
            ("[unclosed", "[unclosed", true),
            ("*", "", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(glob_match(pattern, name), expected, "{pattern} vs {name}");
        }
    }

    #[test]
    fn process_environment_is_rooted_at_the_current_directory() {
        let env = Environment::from_process().unwrap();
        assert_eq!(env.working_dir(), std::env::current_dir().unwrap());
        assert!(env.vars().all(|(name, _)| name.starts_with(ENV_PREFIX)));
    }

    #[test]
    fn debug_hides_variable_values() {
        let env = Environment::new("/x").with_var("LINOTP_ADMIN_PASSWORD", "hunter2");
        let shown = format!("{env:?}");
        assert!(shown.contains("LINOTP_ADMIN_PASSWORD"));
        assert!(!shown.contains("hunter2"));
    }
}
