//! Pressure: the spend in the current window over the budget's limit, and the level it is shown
//! at (`ok` below 85%, `warning` from 85%, `error` from 100%, as in docs/protocol.md).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warning,
    Error,
}

/// `spent / limit`, exact. A limit of zero or less counts as fully used.
pub fn pressure_of(spent: Decimal, limit: Decimal) -> Decimal {
    if limit <= Decimal::ZERO {
        return Decimal::ONE;
    }
    spent.checked_div(limit).unwrap_or(Decimal::MAX)
}

pub fn level_of(pressure: Decimal) -> Level {
    if pressure >= Decimal::ONE {
        Level::Error
    } else if pressure >= Decimal::new(85, 2) {
        Level::Warning
    } else {
        Level::Ok
    }
}

/// The pressure as a JSON number, rounded to four places (display only; decisions use the
/// exact decimal).
pub fn as_f64(pressure: Decimal) -> f64 {
    pressure.round_dp(4).to_f64().unwrap_or(f64::MAX)
}

/// Whole percent, rounded down, so that "at 85%" is never shown before 85% is reached.
pub fn whole_percent(pressure: Decimal) -> Decimal {
    (pressure * Decimal::ONE_HUNDRED).floor()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn pressure_and_levels() {
        assert_eq!(pressure_of(dec!(43), dec!(50)), dec!(0.86));
        assert_eq!(level_of(dec!(0.8499)), Level::Ok);
        assert_eq!(level_of(dec!(0.85)), Level::Warning);
        assert_eq!(level_of(dec!(0.9999)), Level::Warning);
        assert_eq!(level_of(dec!(1)), Level::Error);
        assert_eq!(pressure_of(dec!(1), dec!(0)), dec!(1));
        assert_eq!(as_f64(dec!(0.123456)), 0.1235);
        assert_eq!(whole_percent(dec!(0.8599)), dec!(85));
    }
}
