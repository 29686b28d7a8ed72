//! figment providers: built-in defaults, LinOTP `.cfg` files, `LINOTP_*` variables.
//!
//! Each provider checks and converts its values itself, while it still knows the file line or
//! variable name, so figment only layers values that are already valid.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use figment::value::{Dict, Map};
use figment::{Metadata, Profile, Provider};

use crate::cfg_syntax;
use crate::error::{Location, Result, SettingsError};
use crate::schema::{self, ConfigClass, IGNORED_LINOTP_NAMES, SETTINGS};
use crate::search::{ENV_PREFIX, Environment};

/// Metadata name of the defaults provider.
pub(crate) const DEFAULTS_NAME: &str = "built-in default";
/// Metadata source of the environment provider.
pub(crate) const ENV_SOURCE: &str = "environment";

fn profile_map(dict: Dict) -> Map<Profile, Dict> {
    let mut map = Map::new();
    map.insert(Profile::Default, dict);
    map
}

/// The defaults of the selected configuration class.
#[derive(Debug)]
pub(crate) struct Defaults {
    values: Dict,
}

impl Defaults {
    pub(crate) fn new(class: ConfigClass) -> Self {
        let values = SETTINGS
            .iter()
            .filter_map(|spec| {
                let value = class.default_for(spec).to_value()?;
                Some((spec.name.to_owned(), value))
            })
            .collect();
        Defaults { values }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&figment::value::Value> {
        self.values.get(name)
    }
}

impl Provider for Defaults {
    fn metadata(&self) -> Metadata {
        Metadata::named(DEFAULTS_NAME)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(profile_map(self.values.clone()))
    }
}

/// One parsed and checked LinOTP `.cfg` file.
#[derive(Debug)]
pub(crate) struct CfgFile {
    path: PathBuf,
    values: Dict,
    /// Line of the (last) assignment of each setting.
    lines: Arc<BTreeMap<String, u32>>,
    /// Assignments skipped with a warning.
    pub(crate) warnings: Vec<String>,
}

impl CfgFile {
    /// Parses `text`, the content of `path`, checking every assignment against the schema.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self> {
        let at = |line: u32| Location::File {
            path: path.to_owned(),
            line,
        };
        let assignments = cfg_syntax::parse(text).map_err(|e| SettingsError::Syntax {
            location: at(e.line),
            message: e.message,
        })?;
        let mut values = Dict::new();
        let mut lines = BTreeMap::new();
        let mut warnings = Vec::new();
        for assignment in assignments {
            let Some(spec) = schema::find(&assignment.name) else {
                if IGNORED_LINOTP_NAMES.contains(&assignment.name.as_str()) {
                    let warning = format!(
                        "{}: {} is not a setting (LinOTP ignores it too); skipped",
                        at(assignment.line),
                        assignment.name
                    );
                    tracing::warn!("{warning}");
                    warnings.push(warning);
                    continue;
                }
                return Err(SettingsError::UnknownSetting {
                    location: at(assignment.line),
                    hint: suggestion(&assignment.name),
                    setting: assignment.name,
                });
            };
            let value = spec
                .kind
                .check_file_value(&assignment.value, spec.secrecy)
                .map_err(|problem| SettingsError::InvalidValue {
                    location: at(assignment.line),
                    setting: spec.name,
                    problem,
                })?;
            values.insert(spec.name.to_owned(), value);
            lines.insert(spec.name.to_owned(), assignment.line);
        }
        Ok(CfgFile {
            path: path.to_owned(),
            values,
            lines: Arc::new(lines),
            warnings,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn lines(&self) -> Arc<BTreeMap<String, u32>> {
        Arc::clone(&self.lines)
    }
}

impl Provider for CfgFile {
    fn metadata(&self) -> Metadata {
        let path = self.path.clone();
        let lines = Arc::clone(&self.lines);
        Metadata::named("LinOTP configuration file")
            .source(self.path.as_path())
            .interpolater(move |_profile, keys| {
                let key = keys.join(".");
                match lines.get(&key) {
                    Some(line) => format!("{}:{line}: {key}", path.display()),
                    None => key,
                }
            })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(profile_map(self.values.clone()))
    }
}

/// The `LINOTP_<NAME>` variables naming known settings.
#[derive(Debug)]
pub(crate) struct EnvVars {
    values: Dict,
}

/// Variables that are LinOTP's but not settings, so not worth reporting as ignored.
const NOT_SETTINGS: &[&str] = &["LINOTP_CFG", "LINOTP_CONFIG", "LINOTP_CMD"];

impl EnvVars {
    /// Checks every known variable; returns the provider and the unknown names it ignored.
    pub(crate) fn new(env: &Environment) -> Result<(Self, Vec<String>)> {
        let mut values = Dict::new();
        let mut ignored = Vec::new();
        for (var, text) in env.vars() {
            let Some(name) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if NOT_SETTINGS.contains(&var) {
                continue;
            }
            let Some(spec) = schema::find(name) else {
                // LinOTP ignores unknown names: containers set many LINOTP_* variables that
                // are meant for their entrypoint scripts.
                tracing::debug!(
                    variable = var,
                    "ignoring unknown LINOTP_ environment variable"
                );
                ignored.push(var.to_owned());
                continue;
            };
            let value = spec
                .kind
                .check_text(text, spec.secrecy)
                .map_err(|problem| SettingsError::InvalidValue {
                    location: Location::Env {
                        name: var.to_owned(),
                    },
                    setting: spec.name,
                    problem,
                })?;
            values.insert(spec.name.to_owned(), value);
        }
        Ok((EnvVars { values }, ignored))
    }
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        Metadata::named("LINOTP_* environment variable")
            .source(ENV_SOURCE)
            .interpolater(|_profile, keys| format!("{ENV_PREFIX}{}", keys.join(".")))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(profile_map(self.values.clone()))
    }
}

/// `" (did you mean X?)"` for a name close to a known setting, else empty.
fn suggestion(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    let best = SETTINGS
        .iter()
        .map(|spec| (edit_distance(&upper, spec.name), spec.name))
        .min();
    match best {
        Some((distance, known)) if distance <= 2 => {
            format!(" (did you mean {known}?)")
        }
        _ => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_for_near_misses_only() {
        assert_eq!(suggestion("LOG_LEVL"), " (did you mean LOG_LEVEL?)");
        assert_eq!(suggestion("log_level"), " (did you mean LOG_LEVEL?)");
        assert_eq!(suggestion("COMPLETELY_DIFFERENT"), "");
    }
}
