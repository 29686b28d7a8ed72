//! The `time` field: `;`-separated cron expressions
//! `minute hour day-of-month month day-of-week year`.

use chrono::{Datelike, NaiveDateTime, Timelike};

use crate::error::{Error, Result};
use crate::matching::{Check, MatchKind};

/// One value list of a cron field (`*`, `5`, `1-5`, `*/15`, `1,15,31`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum CronItem {
    Any,
    Value(i64),
    Every(i64),
    Range(i64, i64),
    /// LinOTP skips these silently (`1-5/2`, `a-b`): they never match.
    Ignored,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct CronField {
    items: Vec<CronItem>,
}

impl CronField {
    fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text == "*" {
            return Ok(Self {
                items: vec![CronItem::Any],
            });
        }
        let items = text
            .split(',')
            .map(|item| parse_item(item.trim()))
            .collect::<Result<_>>()?;
        Ok(Self { items })
    }

    fn matches(&self, target: i64) -> bool {
        self.items.iter().any(|item| match item {
            CronItem::Any => true,
            CronItem::Value(value) => *value == target,
            CronItem::Every(interval) => target % interval == 0,
            CronItem::Range(start, end) => (*start..=*end).contains(&target),
            CronItem::Ignored => false,
        })
    }
}

fn parse_item(item: &str) -> Result<CronItem> {
    if let Ok(value) = item.parse::<i64>() {
        return Ok(CronItem::Value(value));
    }
    if item.contains('/') {
        let Some((base, interval)) = item.split_once('/') else {
            return Err(Error::TimeField(item.to_owned()));
        };
        if interval.contains('/') {
            return Err(Error::TimeField(item.to_owned()));
        }
        if base.trim() != "*" {
            return Ok(CronItem::Ignored);
        }
        return match interval.trim().parse::<i64>() {
            Ok(interval) if interval != 0 => Ok(CronItem::Every(interval)),
            _ => Err(Error::TimeField(item.to_owned())),
        };
    }
    if item.contains('-') {
        let bounds: Vec<&str> = item.split('-').collect();
        if let [start, end] = bounds.as_slice()
            && let (Ok(start), Ok(end)) = (start.trim().parse(), end.trim().parse())
        {
            return Ok(CronItem::Range(start, end));
        }
    }
    Ok(CronItem::Ignored)
}

/// One cron expression with its six fields.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cron {
    fields: [CronField; 6],
}

impl Cron {
    fn parse(text: &str) -> Result<Self> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday, year] = parts.as_slice() else {
            return Err(Error::TimeFormat {
                fields: parts.len(),
            });
        };
        Ok(Self {
            fields: [
                CronField::parse(minute)?,
                CronField::parse(hour)?,
                CronField::parse(day)?,
                CronField::parse(month)?,
                CronField::parse(weekday)?,
                CronField::parse(year)?,
            ],
        })
    }

    fn matches(&self, at: &NaiveDateTime) -> bool {
        let [minute, hour, day, month, weekday, year] = &self.fields;
        // LinOTP counts Sunday as 0; 7 is accepted too, as in standard cron.
        let iso_weekday = i64::from(at.weekday().number_from_monday());
        let weekday_matches = if iso_weekday == 7 {
            weekday.matches(0) || weekday.matches(7)
        } else {
            weekday.matches(iso_weekday)
        };
        minute.matches(i64::from(at.minute()))
            && hour.matches(i64::from(at.hour()))
            && day.matches(i64::from(at.day()))
            && month.matches(i64::from(at.month()))
            && weekday_matches
            && year.matches(i64::from(at.year()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct TimeEntry {
    text: String,
    negated: bool,
    cron: std::result::Result<Cron, Error>,
}

/// A parsed `time` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TimeCondition {
    wildcard: bool,
    entries: Vec<TimeEntry>,
}

impl TimeCondition {
    pub(crate) fn parse(field: &str) -> Self {
        let mut wildcard = false;
        let mut entries = Vec::new();
        for raw in field
            .split(';')
            .map(str::trim)
            .filter(|raw| !raw.is_empty())
        {
            if raw == "*" {
                wildcard = true;
                continue;
            }
            let (negated, text) = match raw.strip_prefix(['!', '-']) {
                Some(rest) => (true, rest.trim()),
                None => (false, raw),
            };
            if text == "*" {
                entries.push(TimeEntry {
                    text: raw.to_owned(),
                    negated,
                    cron: Cron::parse("* * * * * *"),
                });
                continue;
            }
            entries.push(TimeEntry {
                text: raw.to_owned(),
                negated,
                cron: Cron::parse(text),
            });
        }
        Self { wildcard, entries }
    }

    /// The first syntax error in the field, for validation on `setPolicy`.
    pub(crate) fn error(&self) -> Option<&Error> {
        self.entries
            .iter()
            .find_map(|entry| entry.cron.as_ref().err())
    }

    pub(crate) fn matches(&self, at: &NaiveDateTime) -> Option<MatchKind> {
        let hit = |entry: &TimeEntry| matches!(&entry.cron, Ok(cron) if cron.matches(at));
        if self.entries.iter().any(|entry| entry.negated && hit(entry)) {
            return None;
        }
        if self.wildcard {
            return Some(MatchKind::Wildcard);
        }
        self.entries
            .iter()
            .any(|entry| !entry.negated && hit(entry))
            .then_some(MatchKind::Exact)
    }

    /// [`matches`](Self::matches) with the reason for a mismatch.
    pub(crate) fn check(&self, at: &NaiveDateTime) -> Check {
        for entry in self.entries.iter().filter(|entry| entry.negated) {
            if matches!(&entry.cron, Ok(cron) if cron.matches(at)) {
                return Check::excluded(format!("time {at} excluded by '{}'", entry.text));
            }
        }
        if self.wildcard {
            return Check::passed(MatchKind::Wildcard);
        }
        let mut invalid = Vec::new();
        for entry in self.entries.iter().filter(|entry| !entry.negated) {
            match &entry.cron {
                Ok(cron) if cron.matches(at) => return Check::passed(MatchKind::Exact),
                Ok(_) => {}
                Err(error) => invalid.push(format!("'{}' ({error})", entry.text)),
            }
        }
        let listed: Vec<&str> = self
            .entries
            .iter()
            .map(|entry| entry.text.as_str())
            .collect();
        let mut reason = format!("time {at} not in [{}]", listed.join("; "));
        if !invalid.is_empty() {
            reason.push_str(&format!("; unusable: {}", invalid.join(", ")));
        }
        Check::excluded(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    fn passes(field: &str, when: NaiveDateTime) -> bool {
        TimeCondition::parse(field).check(&when).is_pass()
    }

    #[test]
    fn cron_fields_and_lists() {
        // 2024-05-06 is a Monday, 2024-05-05 a Sunday.
        let monday_noon = at(2024, 5, 6, 12, 30);
        let sunday = at(2024, 5, 5, 12, 30);
        let cases: &[(&str, NaiveDateTime, bool)] = &[
            ("* * * * * *;", monday_noon, true),
            ("*", monday_noon, true),
            ("* 6-18 * * 1-5 *", monday_noon, true),
            ("* 6-18 * * 1-5 *", sunday, false),
            ("* 13-18 * * 1-5 *", monday_noon, false),
            ("*/15 * * * * *", monday_noon, true),
            ("*/7 * * * * *", monday_noon, false),
            ("30 12 6 5 1 2024", monday_noon, true),
            ("30 12 6 5 1 2025", monday_noon, false),
            ("0,15,30,45 * * * * *", monday_noon, true),
            ("* * * * 0 *", sunday, true),
            ("* * * * 7 *", sunday, true),
            ("* * * * 1-5/2 *", monday_noon, false),
            ("* 0-5 * * * *; * 12 * * * *", monday_noon, true),
            ("* * * * * *; !* 12 * * * *", monday_noon, false),
            ("* * * * * *; -* 12 * * * *", at(2024, 5, 6, 13, 0), true),
            ("*; !* * * * 0 *", sunday, false),
            (";", monday_noon, false),
        ];
        for (field, when, expected) in cases {
            assert_eq!(passes(field, *when), *expected, "time {field:?} at {when}");
        }
    }

    #[test]
    fn malformed_expressions_never_match_and_are_reported() {
        let condition = TimeCondition::parse("* * * * *");
        assert_eq!(
            condition.error().map(ToString::to_string).as_deref(),
            Some("Error in Time Condition format: Expected 6 but got 5 parts in cron notation")
        );
        assert!(!condition.check(&at(2024, 1, 1, 0, 0)).is_pass());
        assert!(TimeCondition::parse("*/0 * * * * *").error().is_some());
        assert!(TimeCondition::parse("*/x * * * * *").error().is_some());
        assert!(TimeCondition::parse("* 6-18 * * 1-5 *").error().is_none());
    }

    #[test]
    fn wildcard_kind_and_exact_kind() {
        let noon = at(2024, 5, 6, 12, 0);
        assert_eq!(
            TimeCondition::parse("*").check(&noon).kind(),
            Some(MatchKind::Wildcard)
        );
        assert_eq!(
            TimeCondition::parse("* 12 * * * *").check(&noon).kind(),
            Some(MatchKind::Exact)
        );
    }
}
