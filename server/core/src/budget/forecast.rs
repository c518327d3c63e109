//! Burn-rate forecast: at the average rate spent so far in this window, when does the budget
//! run out? The rate is the window's spend over the time elapsed in it, with at least one hour
//! elapsed (so that the first dollar of a fresh window does not predict doom). A forecast past
//! the window's end means the budget lasts.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use time::{Duration, OffsetDateTime};

use super::window::Window;

/// The least elapsed time the burn rate is measured over.
pub const MIN_ELAPSED: Duration = Duration::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forecast {
    /// Already used up.
    Exhausted,
    /// Runs out at this time (within the window), to the minute.
    RunsOutAt(OffsetDateTime),
    /// Lasts until the window ends (or nothing has been spent).
    Lasts,
}

impl Forecast {
    pub fn at(&self) -> Option<OffsetDateTime> {
        match self {
            Forecast::RunsOutAt(t) => Some(*t),
            _ => None,
        }
    }
}

pub fn forecast(window: &Window, spent: Decimal, limit: Decimal, now: OffsetDateTime) -> Forecast {
    if spent >= limit {
        return Forecast::Exhausted;
    }
    if spent <= Decimal::ZERO {
        return Forecast::Lasts;
    }
    let elapsed = (now - window.start).max(MIN_ELAPSED);
    let remaining = limit - spent;
    // seconds left = remaining / (spent / elapsed)
    let Some(secs) = Decimal::from(elapsed.whole_seconds())
        .checked_mul(remaining)
        .and_then(|x| x.checked_div(spent))
        .and_then(|s| s.floor().to_i64())
    else {
        return Forecast::Lasts;
    };
    let Some(at) = now.checked_add(Duration::seconds(secs)) else {
        return Forecast::Lasts;
    };
    if at >= window.end {
        return Forecast::Lasts;
    }
    let at = at.replace_second(0).unwrap_or(at).replace_nanosecond(0).unwrap_or(at);
    Forecast::RunsOutAt(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::window::{Calendar, WindowKind};
    use rust_decimal_macros::dec;
    use time::macros::datetime;

    fn week(now: OffsetDateTime) -> Window {
        Calendar::default().window(WindowKind::Week, now)
    }

    #[test]
    fn forecasts_at_the_average_rate() {
        // Monday 00:00 to Wednesday 00:00 (48 h): $40 of $50, so $10 more takes 12 h.
        let now = datetime!(2026-12-02 0:00 UTC);
        assert_eq!(
            forecast(&week(now), dec!(40), dec!(50), now),
            Forecast::RunsOutAt(datetime!(2026-12-02 12:00 UTC))
        );
        // Thursday 00:00 (72 h in), $36 of $50: $0.50/h, so $14 more takes 28 h.
        let now = datetime!(2026-12-03 0:00 UTC);
        assert_eq!(
            forecast(&week(now), dec!(36), dec!(50), now),
            Forecast::RunsOutAt(datetime!(2026-12-04 4:00 UTC))
        );
    }

    #[test]
    fn lasts_when_the_forecast_is_past_the_window() {
        let now = datetime!(2026-12-02 0:00 UTC);
        assert_eq!(forecast(&week(now), dec!(10), dec!(50), now), Forecast::Lasts);
        assert_eq!(forecast(&week(now), dec!(0), dec!(50), now), Forecast::Lasts);
    }

    #[test]
    fn exhausted_at_or_over_the_limit() {
        let now = datetime!(2026-12-02 0:00 UTC);
        assert_eq!(forecast(&week(now), dec!(50), dec!(50), now), Forecast::Exhausted);
        assert_eq!(forecast(&week(now), dec!(51), dec!(50), now), Forecast::Exhausted);
    }

    #[test]
    fn a_fresh_window_measures_at_least_an_hour() {
        // Five minutes into the week, $1 of $50: at $1/h, 49 h later.
        let now = datetime!(2026-11-30 0:05 UTC);
        assert_eq!(
            forecast(&week(now), dec!(1), dec!(50), now),
            Forecast::RunsOutAt(datetime!(2026-12-02 1:05 UTC))
        );
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let now = datetime!(2026-12-02 0:00 UTC);
        let w = week(now);
        for (s, l) in [
            (Decimal::MAX, Decimal::MAX),
            (dec!(0.0000000000000000000000000001), Decimal::MAX),
            (dec!(1), Decimal::MAX),
        ] {
            let _ = forecast(&w, s, l, now);
        }
    }
}
