//! LIKE pattern helpers.

/// The escape character used with every LIKE built from user text (`!` rather than `\`,
/// which MySQL string handling would mangle).
pub(crate) const ESCAPE: char = '!';

/// Escapes `%`, `_` and the escape character so `text` matches literally in a LIKE pattern.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | ESCAPE) {
            out.push(ESCAPE);
        }
        out.push(ch);
    }
    out
}

/// LinOTP's wildcard convention: `*` matches anything, everything else literally.
pub(crate) fn wildcard(pattern: &str) -> String {
    pattern.split('*').map(escape).collect::<Vec<_>>().join("%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_metacharacters() {
        assert_eq!(escape("a_b%c!d"), "a!_b!%c!!d");
        assert_eq!(wildcard("LSGO*_1*"), "LSGO%!_1%");
    }
}
