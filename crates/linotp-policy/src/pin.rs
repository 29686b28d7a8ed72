//! OTP PIN rules: `otp_pin_minlength`, `otp_pin_maxlength`, `otp_pin_contents`.

use serde::Serialize;

/// The PIN rules that apply to a user (from `selfservice` or `admin` policies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PinRules {
    /// `otp_pin_minlength`.
    pub min_length: Option<u32>,
    /// `otp_pin_maxlength`.
    pub max_length: Option<u32>,
    /// `otp_pin_contents`: `c` letters, `n` digits, `s` specials, `o` others;
    /// a leading `+` means "only these groups, at least one of them", a
    /// leading `-` means "each of these and nothing else", no prefix means
    /// "each of these".
    pub contents: String,
}

/// Why a PIN breaks the rules; `Display` is LinOTP's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PinViolation {
    /// Shorter than `otp_pin_minlength`.
    #[error("The provided PIN is too short. It should be at least {0} characters.")]
    TooShort(u32),
    /// Longer than `otp_pin_maxlength`.
    #[error("The provided PIN is too long. It should not be longer than {0} characters.")]
    TooLong(u32),
    /// `+` rule broken.
    #[error(
        "The provided PIN does not contain characters of the group or it does contains characters that are not in \
         the group {0}"
    )]
    OutsideGroups(String),
    /// A required group is missing.
    #[error("{}", missing_message(*.0))]
    Missing(CharGroup),
    /// `-` rule: a group that is not allowed.
    #[error("{}", forbidden_message(*.group, .contents))]
    Forbidden {
        /// The forbidden group found in the PIN.
        group: CharGroup,
        /// The `otp_pin_contents` value.
        contents: String,
    },
}

/// LinOTP's character groups for PIN contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharGroup {
    /// `c`: ASCII letters.
    Letters,
    /// `n`: ASCII digits.
    Digits,
    /// `s`: LinOTP's special characters `.:,;<=>?@[\]^_+*!/()$§%&#~`.
    Specials,
    /// `o`: everything else.
    Others,
}

impl CharGroup {
    fn of(ch: char) -> Self {
        // LinOTP's default class `[.:,;-_<>+*!/()=?$§%&#~\^]` includes the
        // range `;-_`, which also spans `<=>?@[\]^` (and letters, checked first).
        const SPECIALS: &str = ".:,;<=>?@[\\]^_+*!/()$§%&#~";
        if ch.is_ascii_alphabetic() {
            Self::Letters
        } else if ch.is_ascii_digit() {
            Self::Digits
        } else if SPECIALS.contains(ch) {
            Self::Specials
        } else {
            Self::Others
        }
    }

    fn letter(self) -> char {
        match self {
            Self::Letters => 'c',
            Self::Digits => 'n',
            Self::Specials => 's',
            Self::Others => 'o',
        }
    }
}

const GROUPS: [CharGroup; 4] = [
    CharGroup::Letters,
    CharGroup::Digits,
    CharGroup::Specials,
    CharGroup::Others,
];

fn missing_message(group: CharGroup) -> &'static str {
    match group {
        CharGroup::Letters => {
            "The provided PIN does not contain any letters. Check policy otp_pin_contents."
        }
        CharGroup::Digits => {
            "The provided PIN does not contain any numbers. Check policy otp_pin_contents."
        }
        CharGroup::Specials => {
            "The provided PIN does not contain any special characters. It should contain some of these characters \
             like .: ,;-_<>+*~!/()=?$. Check policy otp_pin_contents."
        }
        CharGroup::Others => {
            "The provided PIN does not contain any other characters. It should contain some of these characters \
             that are not contained in letters, digits and the defined special characters. Check policy \
             otp_pin_contents."
        }
    }
}

fn forbidden_message(group: CharGroup, contents: &str) -> String {
    match group {
        CharGroup::Letters => {
            format!("The PIN contains letters, although it should not! ({contents})")
        }
        CharGroup::Digits => {
            format!("The PIN contains digits, although it should not! ({contents})")
        }
        CharGroup::Specials => {
            format!("The PIN contains special characters, although it should not! ({contents})")
        }
        CharGroup::Others => {
            format!("The PIN contains other characters, although it should not! ({contents})")
        }
    }
}

impl PinRules {
    /// Checks a new PIN against the rules, in LinOTP's order. The PIN is
    /// never part of the error.
    pub fn check(&self, pin: &str) -> Result<(), PinViolation> {
        let length = u32::try_from(pin.chars().count()).unwrap_or(u32::MAX);
        if let Some(min) = self.min_length
            && min > length
        {
            return Err(PinViolation::TooShort(min));
        }
        if let Some(max) = self.max_length
            && max < length
        {
            return Err(PinViolation::TooLong(max));
        }
        if self.contents.is_empty() {
            return Ok(());
        }
        let required = |group: CharGroup| self.contents.contains(group.letter());
        let present = |group: CharGroup| pin.chars().any(|ch| CharGroup::of(ch) == group);
        if self.contents.starts_with('+') {
            let any_required = GROUPS.iter().any(|g| required(*g));
            let none_of_required = !GROUPS.iter().any(|g| required(*g) && present(*g));
            let foreign = GROUPS.iter().any(|g| !required(*g) && present(*g));
            if (any_required && none_of_required) || foreign {
                return Err(PinViolation::OutsideGroups(self.contents.clone()));
            }
            return Ok(());
        }
        if let Some(missing) = GROUPS.iter().find(|g| required(**g) && !present(**g)) {
            return Err(PinViolation::Missing(*missing));
        }
        if self.contents.starts_with('-')
            && let Some(group) = GROUPS.iter().find(|g| !required(**g) && present(**g))
        {
            return Err(PinViolation::Forbidden {
                group: *group,
                contents: self.contents.clone(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(min: Option<u32>, max: Option<u32>, contents: &str) -> PinRules {
        PinRules {
            min_length: min,
            max_length: max,
            contents: contents.to_owned(),
        }
    }

    #[test]
    fn length_and_content_rules() {
        let cases: &[(PinRules, &str, Option<&str>)] = &[
            (rules(None, None, ""), "", None),
            (
                rules(Some(4), None, ""),
                "abc",
                Some("The provided PIN is too short. It should be at least 4 characters."),
            ),
            (rules(Some(4), Some(6), ""), "abcd", None),
            (
                rules(None, Some(6), ""),
                "abcdefg",
                Some("The provided PIN is too long. It should not be longer than 6 characters."),
            ),
            (rules(None, None, "cn"), "abc123", None),
            (
                rules(None, None, "cn"),
                "abcdef",
                Some(
                    "The provided PIN does not contain any numbers. Check policy otp_pin_contents.",
                ),
            ),
            (
                rules(None, None, "cn"),
                "123456",
                Some(
                    "The provided PIN does not contain any letters. Check policy otp_pin_contents.",
                ),
            ),
            (rules(None, None, "cn"), "abc12!", None),
            (rules(None, None, "s"), "abc@1", None),
            (rules(None, None, "o"), "abc\u{e4}", None),
            (
                rules(None, None, "-cn"),
                "abc12!",
                Some("The PIN contains special characters, although it should not! (-cn)"),
            ),
            (rules(None, None, "-cn"), "abc123", None),
            (rules(None, None, "+cn"), "123", None),
            (rules(None, None, "+cn"), "abc", None),
            (
                rules(None, None, "+cn"),
                "abc!",
                Some(
                    "The provided PIN does not contain characters of the group or it does contains characters that are not in the group +cn",
                ),
            ),
        ];
        for (rule, pin, expected) in cases {
            let outcome = rule.check(pin).err().map(|violation| violation.to_string());
            assert_eq!(
                outcome.as_deref(),
                *expected,
                "{rule:?} with a {}-character PIN",
                pin.len()
            );
        }
    }

    #[test]
    fn special_characters_follow_linotps_class() {
        for ch in [
            '.', ':', ',', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '^', '_', '+', '*', '!',
            '/', '(', ')', '$', '§', '%', '&', '#', '~',
        ] {
            assert_eq!(CharGroup::of(ch), CharGroup::Specials, "{ch:?}");
        }
        for ch in [' ', '"', '\'', '{', '|', '}', '`', '-', '\u{e4}'] {
            assert_eq!(CharGroup::of(ch), CharGroup::Others, "{ch:?}");
        }
    }
}
