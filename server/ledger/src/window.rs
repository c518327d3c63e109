//! Calendar windows (today, this week, this month) as millisecond ranges, where the core's
//! `Calendar` puts them (`[budgets] utc_offset` and `week_starts`), so the totals here and the
//! budgets count the same days and weeks.

use promptmeter_core::budget::window::{Calendar, WindowKind};
use time::{Date, OffsetDateTime, Time, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub day_start_ms: i64,
    pub week_start_ms: i64,
    pub month_start_ms: i64,
    /// Start of the next day: the windows must be recomputed from then on.
    pub next_day_ms: i64,
}

pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn start_of(date: Date, offset: UtcOffset) -> i64 {
    to_ms(date.with_time(Time::MIDNIGHT).assume_offset(offset))
}

impl Windows {
    pub fn at(now_ms: i64, calendar: &Calendar) -> Windows {
        let now = from_ms(now_ms);
        let day = calendar.window(WindowKind::Day, now);
        Windows {
            day_start_ms: to_ms(day.start),
            week_start_ms: to_ms(calendar.window(WindowKind::Week, now).start),
            month_start_ms: to_ms(calendar.window(WindowKind::Month, now).start),
            next_day_ms: to_ms(day.end),
        }
    }

    /// The earliest window start (where a totals scan must begin).
    pub fn earliest_ms(&self) -> i64 {
        self.week_start_ms.min(self.month_start_ms)
    }
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-12-03T16:40:00.123Z`.
pub fn rfc3339_ms(ms: i64) -> String {
    let t = from_ms(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parse `YYYY-MM-DD` (start of that day in `offset`) or an RFC 3339 time into ms.
pub fn parse_time(s: &str, offset: UtcOffset) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(to_ms(t));
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).ok().map(|d| start_of(d, offset))
}

/// The local UTC offset. Call it before starting threads (the `time` crate refuses to read
/// the local offset once a process has several threads); UTC when it cannot be read.
pub fn local_offset() -> time::UtcOffset {
    time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_in_utc() {
        // Thursday 2026-12-03 16:40:00.123 UTC
        let now = parse_time("2026-12-03T16:40:00.123Z", UtcOffset::UTC).unwrap();
        let w = Windows::at(now, &Calendar::default());
        assert_eq!(rfc3339_ms(w.day_start_ms), "2026-12-03T00:00:00.000Z");
        assert_eq!(rfc3339_ms(w.week_start_ms), "2026-11-30T00:00:00.000Z");
        assert_eq!(rfc3339_ms(w.month_start_ms), "2026-12-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(w.next_day_ms), "2026-12-04T00:00:00.000Z");
        assert_eq!(rfc3339_ms(now), "2026-12-03T16:40:00.123Z");
    }

    #[test]
    fn windows_follow_the_offset() {
        let now = parse_time("2026-12-03T23:30:00Z", UtcOffset::UTC).unwrap();
        let plus2 = Calendar {
            offset: UtcOffset::from_hms(2, 0, 0).unwrap(),
            ..Calendar::default()
        };
        let w = Windows::at(now, &plus2);
        // 01:30 on Friday the 4th in UTC+2: the day began at 22:00 UTC on the 3rd.
        assert_eq!(rfc3339_ms(w.day_start_ms), "2026-12-03T22:00:00.000Z");
    }

    #[test]
    fn weeks_start_where_the_calendar_says() {
        // Thursday 2026-12-03; weeks from Sunday began on 2026-11-29.
        let now = parse_time("2026-12-03T16:40:00Z", UtcOffset::UTC).unwrap();
        let sunday = Calendar {
            week_starts: time::Weekday::Sunday,
            ..Calendar::default()
        };
        assert_eq!(
            rfc3339_ms(Windows::at(now, &sunday).week_start_ms),
            "2026-11-29T00:00:00.000Z"
        );
    }

    #[test]
    fn parse_dates() {
        assert_eq!(
            parse_time("2026-12-01", UtcOffset::UTC).map(rfc3339_ms).as_deref(),
            Some("2026-12-01T00:00:00.000Z")
        );
        assert_eq!(parse_time("yesterday-ish", UtcOffset::UTC), None);
    }
}
