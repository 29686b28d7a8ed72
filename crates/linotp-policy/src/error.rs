//! The crate's error type.

/// Everything that can go wrong in `linotp-policy`.
///
/// Where LinOTP has a fixed message for the same failure, [`Display`](std::fmt::Display)
/// renders LinOTP's text so the API can pass it through unchanged.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// `setPolicy` / `importPolicy` with a name outside `[a-zA-Z0-9_]`.
    #[error("The name of the policy may only contain the characters a-zA-Z0-9_.")]
    InvalidPolicyName {
        /// The rejected name.
        name: String,
    },
    /// `delPolicy` with a name outside `[a-zA-Z0-9_]` (LinOTP error 8888).
    #[error("policy name may only contain the characters a-zA-Z0-9_")]
    InvalidPolicyNameOnDelete {
        /// The rejected name.
        name: String,
    },
    /// `setPolicy` with an empty name.
    #[error("The name of the policy must not be empty")]
    EmptyPolicyName,
    /// A required policy attribute (`action`, `scope`, `realm`) is empty.
    #[error("Missing attribute {attribute} in policy {name}")]
    MissingAttribute {
        /// The policy name.
        name: String,
        /// The empty attribute.
        attribute: &'static str,
    },
    /// An action string LinOTP's parser rejects (unterminated quote, ...).
    #[error("{0}")]
    ActionSyntax(String),
    /// The same action key twice with different values.
    #[error("duplicate key definition {}", py_str(.0))]
    DuplicateAction(String),
    /// With `policy_action_validation` on: a scope no definition knows.
    #[error("unsupported policy scope {} in policy {}", py_str(.scope), py_str(.policy))]
    UnknownScope {
        /// The policy name.
        policy: String,
        /// The unknown scope.
        scope: String,
    },
    /// With `policy_action_validation` on: an action the scope does not define.
    #[error("unsupported policy action {} in policy {} ", py_str(.action), py_str(.policy))]
    UnknownAction {
        /// The policy name.
        policy: String,
        /// The unknown action.
        action: String,
    },
    /// An action value that does not fit the action's type or allowed values.
    /// `message` is LinOTP's wording.
    #[error("{message}")]
    InvalidActionValue {
        /// The scope.
        scope: String,
        /// The action.
        action: String,
        /// LinOTP's message.
        message: String,
    },
    /// A policy's stored action value cannot be converted to the action's
    /// type while evaluating (e.g. `maxtoken=abc`).
    #[error("Could not parse policy {}: Could not convert value {} of '{scope}:{action}'", py_str(.policy), py_str(.value))]
    ActionConversion {
        /// The policy holding the value.
        policy: String,
        /// The scope.
        scope: String,
        /// The action.
        action: String,
        /// The stored value.
        value: String,
    },
    /// Equally specific policies disagree on the value of a single-valued action.
    #[error(
        "multiple different values for action '{scope}:{action}' in policies {policies:?}: {values:?}"
    )]
    ConflictingValues {
        /// The scope.
        scope: String,
        /// The action.
        action: String,
        /// The policies that define a value, in name order.
        policies: Vec<String>,
        /// The differing values as text.
        values: Vec<String>,
    },
    /// Equally specific authentication policies disagree on `otppin`.
    #[error("multiple pin policies found")]
    MultiplePinPolicies {
        /// The policies that define `otppin`.
        policies: Vec<String>,
    },
    /// A `time` condition that is not a list of 6-field cron expressions.
    #[error("Error in Time Condition format: Expected 6 but got {fields} parts in cron notation")]
    TimeFormat {
        /// How many fields the expression had.
        fields: usize,
    },
    /// A `time` cron field LinOTP cannot evaluate (e.g. `*/0`, `*/x`).
    #[error("invalid time condition field {}", py_str(.0))]
    TimeField(String),
    /// Storing or deleting the policy would leave no admin able to write the
    /// system config (only checked for scope `system`; `enforce` overrides).
    #[error("Warning: potential lockout due to policy defintion: {reason}")]
    Lockout {
        /// Why a lock-out is feared.
        reason: String,
    },
    /// A policy export/import file that cannot be read.
    #[error("policy file line {line}: {message}")]
    PolicyFile {
        /// 1-based line number (0 when the problem is not tied to a line).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// `policies_flexi` with a sort column it does not have.
    #[error("unknown sort column {0:?}")]
    UnknownSortColumn(String),
}

impl Error {
    /// LinOTP's error code for this failure where LinOTP has a specific one
    /// (8888 for an invalid name on delete); `None` means LinOTP's generic code.
    pub fn linotp_code(&self) -> Option<i32> {
        match self {
            Self::InvalidPolicyNameOnDelete { .. } => Some(8888),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Renders a string the way Python's `repr()` does, since LinOTP's messages
/// embed values with `%r`/`!r`.
pub(crate) fn py_str(value: &str) -> String {
    let quote = if value.contains('\'') && !value.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(value.len() + 2);
    out.push(quote);
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr_of_strings() {
        assert_eq!(py_str("abc"), "'abc'");
        assert_eq!(py_str("it's"), "\"it's\"");
        assert_eq!(py_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_str("a\nb"), "'a\\nb'");
    }

    #[test]
    fn linotp_messages() {
        assert_eq!(
            Error::DuplicateAction("otppin".into()).to_string(),
            "duplicate key definition 'otppin'"
        );
        assert_eq!(
            Error::UnknownAction {
                policy: "p1".into(),
                action: "bogus".into()
            }
            .to_string(),
            "unsupported policy action 'bogus' in policy 'p1' "
        );
        assert_eq!(
            Error::InvalidPolicyNameOnDelete { name: "a.b".into() }.linotp_code(),
            Some(8888)
        );
        assert_eq!(Error::EmptyPolicyName.linotp_code(), None);
    }
}
