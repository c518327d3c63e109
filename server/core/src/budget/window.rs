//! Budget windows: the day, week or month containing an instant, in the user's UTC offset.
//! The offset is fixed for the computation (the caller reads the local offset; daylight
//! saving changes take effect when it passes a new one).

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset, Weekday};

use super::BudgetError;
use crate::config::budget::BudgetsConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Day,
    Week,
    Month,
}

impl WindowKind {
    /// `day`/`daily`, `week`/`weekly`, `month`/`monthly` (case-insensitive).
    pub fn parse(s: &str) -> Option<WindowKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" => Some(WindowKind::Day),
            "week" | "weekly" => Some(WindowKind::Week),
            "month" | "monthly" => Some(WindowKind::Month),
            _ => None,
        }
    }

    /// `day`, `week`, `month` (the protocol's `window` field).
    pub fn as_str(self) -> &'static str {
        match self {
            WindowKind::Day => "day",
            WindowKind::Week => "week",
            WindowKind::Month => "month",
        }
    }

    /// `daily`, `weekly`, `monthly`.
    pub fn adjective(self) -> &'static str {
        match self {
            WindowKind::Day => "daily",
            WindowKind::Week => "weekly",
            WindowKind::Month => "monthly",
        }
    }
}

/// Where windows begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    pub offset: UtcOffset,
    pub week_starts: Weekday,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            offset: UtcOffset::UTC,
            week_starts: Weekday::Monday,
        }
    }
}

/// One window: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub kind: WindowKind,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

impl Window {
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.start <= t && t < self.end
    }
}

fn midnight(date: Date, offset: UtcOffset) -> OffsetDateTime {
    date.with_time(Time::MIDNIGHT).assume_offset(offset)
}

fn next_month(date: Date) -> Date {
    let (y, m) = match date.month() {
        Month::December => (date.year() + 1, Month::January),
        m => (date.year(), m.next()),
    };
    // Day 1 always exists; the year stays in range for any date `time` can represent but the last.
    Date::from_calendar_date(y, m, 1).unwrap_or(date)
}

pub fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "monday" | "mon" => Weekday::Monday,
        "tuesday" | "tue" => Weekday::Tuesday,
        "wednesday" | "wed" => Weekday::Wednesday,
        "thursday" | "thu" => Weekday::Thursday,
        "friday" | "fri" => Weekday::Friday,
        "saturday" | "sat" => Weekday::Saturday,
        "sunday" | "sun" => Weekday::Sunday,
        _ => return None,
    })
}

/// `"UTC"`, `"Z"`, `"+01:00"`, `"-0530"`, `"+2"`. (`"local"` is resolved by the caller.)
pub fn parse_offset(s: &str) -> Option<UtcOffset> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s.eq_ignore_ascii_case("z") {
        return Some(UtcOffset::UTC);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1i8, &s[1..]),
        b'-' => (-1i8, &s[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let h: i8 = h.parse().ok()?;
    let m: i8 = m.parse().ok()?;
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
        return None;
    }
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

impl Calendar {
    /// Where days, weeks and months begin: `[budgets] utc_offset` and `week_starts`. Budgets,
    /// the feed's totals, the status line and reports all use it, so "this week" is the same
    /// week everywhere. `local_offset` is what `utc_offset = "local"` means.
    pub fn from_config(cfg: &BudgetsConfig, local_offset: UtcOffset) -> Result<Calendar, BudgetError> {
        let err = |message: String| BudgetError {
            budget: String::new(),
            message,
        };
        let offset = if cfg.utc_offset.trim().eq_ignore_ascii_case("local") || cfg.utc_offset.trim().is_empty() {
            local_offset
        } else {
            parse_offset(&cfg.utc_offset).ok_or_else(|| {
                err(format!(
                    "utc_offset {:?} is not \"local\" or like \"+01:00\"",
                    cfg.utc_offset
                ))
            })?
        };
        let week_starts = parse_weekday(&cfg.week_starts)
            .ok_or_else(|| err(format!("week_starts {:?} is not a day of the week", cfg.week_starts)))?;
        Ok(Calendar { offset, week_starts })
    }

    /// The window of `kind` that contains `now`.
    pub fn window(&self, kind: WindowKind, now: OffsetDateTime) -> Window {
        let date = now.to_offset(self.offset).date();
        let (start, end) = match kind {
            WindowKind::Day => (date, date.next_day().unwrap_or(date)),
            WindowKind::Week => {
                let back = (date.weekday().number_days_from_monday() as i64
                    - self.week_starts.number_days_from_monday() as i64)
                    .rem_euclid(7);
                let start = date.saturating_sub(Duration::days(back));
                (start, start.saturating_add(Duration::days(7)))
            }
            WindowKind::Month => {
                let first = date.replace_day(1).unwrap_or(date);
                (first, next_month(first))
            }
        };
        Window {
            kind,
            start: midnight(start, self.offset),
            end: midnight(end, self.offset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn check(cal: Calendar, kind: WindowKind, now: OffsetDateTime, start: OffsetDateTime, end: OffsetDateTime) {
        let w = cal.window(kind, now);
        assert_eq!((w.start, w.end), (start, end), "{kind:?} at {now}");
        assert!(w.contains(now));
    }

    #[test]
    fn windows_in_utc() {
        let cal = Calendar::default();
        let now = datetime!(2026-12-03 16:40 UTC); // a Thursday
        check(
            cal,
            WindowKind::Day,
            now,
            datetime!(2026-12-03 0:00 UTC),
            datetime!(2026-12-04 0:00 UTC),
        );
        check(
            cal,
            WindowKind::Week,
            now,
            datetime!(2026-11-30 0:00 UTC),
            datetime!(2026-12-07 0:00 UTC),
        );
        check(
            cal,
            WindowKind::Month,
            now,
            datetime!(2026-12-01 0:00 UTC),
            datetime!(2027-01-01 0:00 UTC),
        );
    }

    #[test]
    fn windows_follow_the_local_offset() {
        let cal = Calendar {
            offset: UtcOffset::from_hms(2, 0, 0).unwrap(),
            week_starts: Weekday::Monday,
        };
        // 23:30 UTC on Sunday 6 December is 01:30 on Monday the 7th in UTC+2: a new week.
        let now = datetime!(2026-12-06 23:30 UTC);
        check(
            cal,
            WindowKind::Day,
            now,
            datetime!(2026-12-07 0:00 +2),
            datetime!(2026-12-08 0:00 +2),
        );
        check(
            cal,
            WindowKind::Week,
            now,
            datetime!(2026-12-07 0:00 +2),
            datetime!(2026-12-14 0:00 +2),
        );
        // 23:30 UTC on 30 November is already December in UTC+2.
        let now = datetime!(2026-11-30 23:30 UTC);
        check(
            cal,
            WindowKind::Month,
            now,
            datetime!(2026-12-01 0:00 +2),
            datetime!(2027-01-01 0:00 +2),
        );
    }

    #[test]
    fn weeks_can_start_on_sunday() {
        let cal = Calendar {
            offset: UtcOffset::UTC,
            week_starts: Weekday::Sunday,
        };
        check(
            cal,
            WindowKind::Week,
            datetime!(2026-12-06 10:00 UTC), // Sunday
            datetime!(2026-12-06 0:00 UTC),
            datetime!(2026-12-13 0:00 UTC),
        );
        check(
            cal,
            WindowKind::Week,
            datetime!(2026-12-05 23:59 UTC), // Saturday
            datetime!(2026-11-29 0:00 UTC),
            datetime!(2026-12-06 0:00 UTC),
        );
    }

    #[test]
    fn window_ends_are_exclusive() {
        let cal = Calendar::default();
        let w = cal.window(WindowKind::Day, datetime!(2026-12-04 0:00 UTC));
        assert_eq!(w.start, datetime!(2026-12-04 0:00 UTC));
        assert!(
            !cal.window(WindowKind::Day, datetime!(2026-12-03 23:59:59.999 UTC))
                .contains(w.start)
        );
    }

    #[test]
    fn parses_offsets_and_weekdays() {
        assert_eq!(parse_offset("UTC"), Some(UtcOffset::UTC));
        assert_eq!(parse_offset("+01:00"), UtcOffset::from_hms(1, 0, 0).ok());
        assert_eq!(parse_offset("-0530"), UtcOffset::from_hms(-5, -30, 0).ok());
        assert_eq!(parse_offset("+2"), UtcOffset::from_hms(2, 0, 0).ok());
        for bad in ["", "+", "01:00", "+25:00", "+01:60", "local", "+aa"] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        assert_eq!(parse_weekday("Sunday"), Some(Weekday::Sunday));
        assert_eq!(parse_weekday("funday"), None);
        assert_eq!(WindowKind::parse("Weekly"), Some(WindowKind::Week));
        assert_eq!(WindowKind::parse("fortnight"), None);
    }
}
