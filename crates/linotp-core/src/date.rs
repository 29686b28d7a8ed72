//! Calendar arithmetic without a clock: civil dates, LinOTP's validity
//! period format and the DPW date string.

use crate::error::{Error, Result};

const SECONDS_PER_DAY: i64 = 86_400;

/// A proleptic Gregorian calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate {
    year: i32,
    month: u32,
    day: u32,
}

impl CalendarDate {
    /// A date, checked: month 1..=12 and a day that exists in that month.
    pub fn new(year: i32, month: u32, day: u32) -> Result<Self> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        if valid {
            Ok(Self { year, month, day })
        } else {
            Err(Error::InvalidCalendarDate { year, month, day })
        }
    }

    /// The date of a Unix time seen at a fixed UTC offset (seconds east).
    pub fn from_unix(unix_time: i64, utc_offset_secs: i64) -> Self {
        let days = unix_time
            .saturating_add(utc_offset_secs)
            .div_euclid(SECONDS_PER_DAY);
        civil_from_days(days)
    }

    /// Year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month 1..=12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// Day of month.
    pub fn day(self) -> u32 {
        self.day
    }

    /// `DDMMYY`, the date string the DPW token hashes (`strftime("%d%m%y")`).
    pub fn ddmmyy(self) -> String {
        format!(
            "{:02}{:02}{:02}",
            self.day,
            self.month,
            self.year.rem_euclid(100)
        )
    }

    /// Days since 1970-01-01.
    fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days: exact integer
// conversions between a Gregorian date and a day count, no tables.
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> CalendarDate {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    CalendarDate {
        // Years of i64 day counts from i64 Unix seconds fit in i32.
        year: i32::try_from(year).unwrap_or(i32::MAX),
        month: u32::try_from(month).unwrap_or(1),
        day: u32::try_from(day).unwrap_or(1),
    }
}

/// Parses LinOTP's validity period format `%d/%m/%y %H:%M` (e.g.
/// `"31/12/25 23:59"`) as a UTC time and returns its Unix time.
///
/// Follows Python's `strptime`: day, month, hour and minute take one or two
/// digits, the year exactly two (`69..=99` → 19xx, `00..=68` → 20xx).
///
/// ```
/// use linotp_core::parse_validity_date;
/// assert_eq!(parse_validity_date("01/01/25 00:00").unwrap(), 1_735_689_600);
/// ```
pub fn parse_validity_date(text: &str) -> Result<i64> {
    let invalid = || Error::InvalidDate(text.to_owned());
    let (date, time) = text.split_once(' ').ok_or_else(invalid)?;
    let mut date_parts = date.split('/');
    let (Some(day), Some(month), Some(year), None) = (
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
    ) else {
        return Err(invalid());
    };
    let (hour, minute) = time.split_once(':').ok_or_else(invalid)?;

    let number = |field: &str, min_len: usize| -> Result<u32> {
        let well_formed =
            (min_len..=2).contains(&field.len()) && field.bytes().all(|byte| byte.is_ascii_digit());
        if !well_formed {
            return Err(invalid());
        }
        field.parse().map_err(|_| invalid())
    };
    let day = number(day, 1)?;
    let month = number(month, 1)?;
    let short_year = number(year, 2)?;
    let hour = number(hour, 1)?;
    let minute = number(minute, 1)?;
    if hour > 23 || minute > 59 {
        return Err(invalid());
    }
    // `short_year` has two digits, so it fits in i32.
    let short_year = i32::try_from(short_year).map_err(|_| invalid())?;
    let year = if short_year >= 69 {
        1900 + short_year
    } else {
        2000 + short_year
    };
    let date = CalendarDate::new(year, month, day).map_err(|_| invalid())?;
    Ok(date.days_since_epoch() * SECONDS_PER_DAY + i64::from(hour) * 3600 + i64::from(minute) * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_dates_parse_like_python_strptime() {
        // date -u -d '2025-12-31 23:59' +%s
        assert_eq!(
            parse_validity_date("31/12/25 23:59").unwrap(),
            1_767_225_540
        );
        assert_eq!(parse_validity_date("1/1/70 0:00").unwrap(), 0);
        assert_eq!(
            parse_validity_date("29/02/24 12:30").unwrap(),
            1_709_209_800
        );
        // 69 is the first year Python maps to the 1900s.
        assert_eq!(parse_validity_date("01/01/69 00:00").unwrap(), -31_536_000);
        assert_eq!(
            parse_validity_date("01/01/68 00:00").unwrap(),
            3_092_601_600
        );
    }

    #[test]
    fn malformed_validity_dates_are_rejected() {
        for text in [
            "",
            "31/12/25",
            "31/12/2025 23:59",
            "29/02/25 00:00",
            "32/01/25 00:00",
            "01/13/25 00:00",
            "01/01/25 24:00",
            "01/01/25 23:60",
            "01/01/25 23:5x",
            "01/01/25/1 00:00",
            "+1/01/25 00:00",
        ] {
            assert!(
                parse_validity_date(text).is_err(),
                "{text:?} should be rejected"
            );
        }
    }

    #[test]
    fn civil_conversion_round_trips_and_respects_offsets() {
        for days in [-800_000, -1, 0, 59, 11_016, 19_782, 2_932_896] {
            let date = civil_from_days(days);
            assert_eq!(date.days_since_epoch(), days);
        }
        // 2026-11-26 23:30 UTC is already the 27th at UTC+1.
        let unix = parse_validity_date("26/11/26 23:30").unwrap();
        assert_eq!(
            CalendarDate::from_unix(unix, 0),
            CalendarDate::new(2026, 11, 26).unwrap()
        );
        assert_eq!(
            CalendarDate::from_unix(unix, 3600),
            CalendarDate::new(2026, 11, 27).unwrap()
        );
        assert_eq!(
            CalendarDate::from_unix(-1, 0),
            CalendarDate::new(1969, 12, 31).unwrap()
        );
        assert_eq!(CalendarDate::new(2024, 2, 29).unwrap().ddmmyy(), "290224");
        assert!(CalendarDate::new(2023, 2, 29).is_err());
        assert!(CalendarDate::new(2000, 2, 29).is_ok());
        assert!(CalendarDate::new(1900, 2, 29).is_err());
    }
}
