//! The sentences users read: alert messages ("Weekly budget at 86% ($43.00 of $50.00); at this
//! rate it runs out Thursday 14:00") and hard-limit refusals (which budget, and how to raise
//! it). Times are shown in the user's offset.

use rust_decimal::Decimal;
use time::{OffsetDateTime, UtcOffset};

use super::Budget;
use super::forecast::Forecast;
use super::pressure::whole_percent;

/// `$43.00`; below a dollar, four places (`$0.0123`).
pub fn usd(d: Decimal) -> String {
    let dp = if d.abs() >= Decimal::ONE || d.is_zero() { 2 } else { 4 };
    let r = d.round_dp(dp);
    if r.is_sign_negative() && !r.is_zero() {
        format!("-${:.*}", dp as usize, r.abs())
    } else {
        format!("${:.*}", dp as usize, r.abs())
    }
}

/// "today 14:00", "tomorrow 09:30", "Thursday 14:00" (within a week), else
/// "Thursday 24 December 14:00".
pub fn when(at: OffsetDateTime, now: OffsetDateTime, offset: UtcOffset) -> String {
    let at = at.to_offset(offset);
    let today = now.to_offset(offset).date();
    let days = (at.date() - today).whole_days();
    let hm = format!("{:02}:{:02}", at.hour(), at.minute());
    match days {
        0 => format!("today {hm}"),
        1 => format!("tomorrow {hm}"),
        2..=6 => format!("{} {hm}", at.weekday()),
        _ => format!("{} {} {} {hm}", at.weekday(), at.day(), at.month()),
    }
}

/// "Weekly budget", or `Budget "oai-daily" (daily, provider openai)`.
pub fn title(b: &Budget) -> String {
    if b.name.eq_ignore_ascii_case(b.window.adjective()) && b.scope == super::Scope::Global {
        let mut t = b.window.adjective().to_string();
        t[..1].make_ascii_uppercase();
        format!("{t} budget")
    } else {
        let scope = match &b.scope {
            super::Scope::Global => String::new(),
            super::Scope::Provider(p) => format!(", provider {p}"),
            super::Scope::Project(p) => format!(", project {p}"),
        };
        format!("Budget \"{}\" ({}{scope})", b.name, b.window.adjective())
    }
}

/// The message of an alert.
pub fn alert(
    b: &Budget,
    spent: Decimal,
    pressure: Decimal,
    forecast: Forecast,
    resets_at: OffsetDateTime,
    now: OffsetDateTime,
    offset: UtcOffset,
) -> String {
    let head = format!(
        "{} at {}% ({} of {})",
        title(b),
        whole_percent(pressure),
        usd(spent),
        usd(b.limit)
    );
    let tail = match forecast {
        Forecast::RunsOutAt(at) => format!("at this rate it runs out {}", when(at, now, offset)),
        Forecast::Lasts => format!("at this rate it lasts until {}", when(resets_at, now, offset)),
        Forecast::Exhausted if b.hard_limit => format!(
            "used up: requests are refused until {} (raise [budgets.{}] usd to continue)",
            when(resets_at, now, offset),
            b.name
        ),
        Forecast::Exhausted => format!("used up until {}", when(resets_at, now, offset)),
    };
    format!("{head}; {tail}")
}

/// The message of a hard-limit refusal.
pub fn refusal(
    b: &Budget,
    spent: Decimal,
    reserved: Decimal,
    resets_at: OffsetDateTime,
    now: OffsetDateTime,
    offset: UtcOffset,
) -> String {
    let in_flight = if reserved > Decimal::ZERO {
        format!(" (plus {} reserved by requests in flight)", usd(reserved))
    } else {
        String::new()
    };
    format!(
        "promptmeter: {} is used up: {} of {} spent{in_flight}; it resets {}. \
         To continue now, raise `usd` under [budgets.{}] in your promptmeter config, \
         or set `hard_limit = false` there.",
        title(b),
        usd(spent),
        usd(b.limit),
        when(resets_at, now, offset),
        b.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{Scope, WindowKind};
    use rust_decimal_macros::dec;
    use time::macros::{datetime, offset};

    fn weekly() -> Budget {
        Budget {
            name: "weekly".into(),
            window: WindowKind::Week,
            scope: Scope::Global,
            limit: dec!(50),
            hard_limit: false,
            thresholds: vec![],
        }
    }

    #[test]
    fn money() {
        assert_eq!(usd(dec!(43)), "$43.00");
        assert_eq!(usd(dec!(0.01234)), "$0.0123");
        assert_eq!(usd(dec!(0)), "$0.00");
        assert_eq!(usd(dec!(-2.5)), "-$2.50");
        assert_eq!(usd(dec!(1234.567)), "$1234.57");
    }

    #[test]
    fn times_relative_to_now_in_the_users_offset() {
        let now = datetime!(2026-12-01 9:00 UTC); // Tuesday
        let o = offset!(+1);
        assert_eq!(when(datetime!(2026-12-01 13:00 UTC), now, o), "today 14:00");
        assert_eq!(when(datetime!(2026-12-01 23:30 UTC), now, o), "tomorrow 00:30");
        assert_eq!(when(datetime!(2026-12-03 13:00 UTC), now, o), "Thursday 14:00");
        assert_eq!(
            when(datetime!(2026-12-24 13:00 UTC), now, o),
            "Thursday 24 December 14:00"
        );
    }

    #[test]
    fn alert_sentences() {
        let now = datetime!(2026-12-01 9:00 UTC);
        let resets = datetime!(2026-12-07 0:00 UTC);
        let b = weekly();
        assert_eq!(
            alert(
                &b,
                dec!(43),
                dec!(0.86),
                Forecast::RunsOutAt(datetime!(2026-12-03 14:00 UTC)),
                resets,
                now,
                offset!(UTC)
            ),
            "Weekly budget at 86% ($43.00 of $50.00); at this rate it runs out Thursday 14:00"
        );
        assert_eq!(
            alert(&b, dec!(25), dec!(0.5), Forecast::Lasts, resets, now, offset!(UTC)),
            "Weekly budget at 50% ($25.00 of $50.00); at this rate it lasts until Monday 00:00"
        );
        let hard = Budget {
            hard_limit: true,
            name: "oai".into(),
            scope: Scope::Provider("openai".into()),
            window: WindowKind::Day,
            ..b
        };
        assert_eq!(
            alert(&hard, dec!(50), dec!(1), Forecast::Exhausted, resets, now, offset!(UTC)),
            "Budget \"oai\" (daily, provider openai) at 100% ($50.00 of $50.00); used up: requests are \
             refused until Monday 00:00 (raise [budgets.oai] usd to continue)"
        );
    }

    #[test]
    fn refusal_names_the_budget_and_the_way_out() {
        let now = datetime!(2026-12-01 9:00 UTC);
        let m = refusal(
            &weekly(),
            dec!(49.5),
            dec!(0.75),
            datetime!(2026-12-07 0:00 UTC),
            now,
            offset!(UTC),
        );
        assert!(m.contains("Weekly budget is used up: $49.50 of $50.00 spent (plus $0.7500 reserved"));
        assert!(m.contains("[budgets.weekly]"));
        assert!(m.contains("resets Monday 00:00"));
    }
}
