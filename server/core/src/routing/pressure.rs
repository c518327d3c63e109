//! Budget-pressure caps: from `mid_at` percent of a budget, requests for a model dearer than
//! the family's mid-priced model are served by it; from `cheapest_at` percent, by the
//! family's cheapest. A cap only ever replaces a more expensive model: a request for a model
//! at or below the cap is left alone. Only requests to the family's own provider are capped
//! (a named upstream may not know the cap model's id).

use rust_decimal::Decimal;

use crate::catalog::{Catalog, Family, Model, aliases_of, family_of};
use crate::config::budget::{FamilyCaps, PressureConfig};

#[derive(Debug, Clone, PartialEq)]
pub struct PressureRules {
    pub enabled: bool,
    /// Only this budget's pressure counts (else every budget that applies).
    pub budget: Option<String>,
    /// Fractions (0.85).
    pub mid_at: Decimal,
    pub cheapest_at: Decimal,
    anthropic: FamilyCaps,
    openai: FamilyCaps,
    gemini: FamilyCaps,
}

/// A cap that applies now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cap {
    pub model: String,
    /// `pressure>85% weekly`
    pub rule: String,
}

impl PressureRules {
    pub fn from_config(c: &PressureConfig) -> PressureRules {
        PressureRules {
            enabled: c.enabled,
            budget: c.budget.clone(),
            mid_at: c.mid_at / Decimal::ONE_HUNDRED,
            cheapest_at: c.cheapest_at / Decimal::ONE_HUNDRED,
            anthropic: c.anthropic.clone(),
            openai: c.openai.clone(),
            gemini: c.gemini.clone(),
        }
    }

    fn caps(&self, family: Family) -> Option<&FamilyCaps> {
        match family {
            Family::Anthropic => Some(&self.anthropic),
            Family::OpenAi => Some(&self.openai),
            Family::Gemini => Some(&self.gemini),
            Family::Other => None,
        }
    }

    /// The cap for a request to `provider` for `model` at `pressure` (budget name, fraction).
    pub fn cap(&self, provider: &str, model: &str, pressure: Option<&(String, Decimal)>) -> Option<Cap> {
        let (budget, p) = pressure?;
        if !self.enabled || *p < self.mid_at.min(self.cheapest_at) {
            return None;
        }
        let family = family_of(model, "");
        let own_provider = matches!(
            (family, provider),
            (Family::Anthropic, "anthropic") | (Family::OpenAi, "openai") | (Family::Gemini, "gemini")
        );
        if !own_provider {
            return None;
        }
        let caps = self.caps(family)?;
        let (target, at) = if *p >= self.cheapest_at && !caps.cheapest.is_empty() {
            (&caps.cheapest, self.cheapest_at)
        } else if *p >= self.mid_at && !caps.mid.is_empty() {
            (&caps.mid, self.mid_at)
        } else {
            return None;
        };
        Some(Cap {
            model: target.clone(),
            rule: format!("pressure>{}% {budget}", (at * Decimal::ONE_HUNDRED).normalize()),
        })
    }
}

/// What a model costs per token, input and output together: the order caps go by.
pub fn price_level(m: &Model) -> Option<Decimal> {
    Some(m.prices.input? + m.prices.output?)
}

/// Is `a` dearer than `b`? `None` when either has no price in the catalog.
pub fn dearer(catalog: &Catalog, a: &str, b: &str) -> Option<bool> {
    let pa = price_level(catalog.resolve(a)?)?;
    let pb = price_level(catalog.resolve(b)?)?;
    Some(pa > pb)
}

/// The same model under two names (dated ids, aliases)?
pub fn same_model(catalog: &Catalog, a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    if let (Some(x), Some(y)) = (catalog.resolve(a), catalog.resolve(b))
        && x.id == y.id
    {
        return true;
    }
    // Dated snapshots and their alias: `claude-sonnet-4-5-20250929` is `claude-sonnet-4-5`.
    aliases_of(a).last() == aliases_of(b).last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn rules() -> PressureRules {
        PressureRules::from_config(&PressureConfig::default())
    }

    fn cap(provider: &str, model: &str, p: Decimal) -> Option<String> {
        rules()
            .cap(provider, model, Some(&("weekly".to_string(), p)))
            .map(|c| format!("{} by {}", c.model, c.rule))
    }

    #[test]
    fn caps_by_level_and_family() {
        assert_eq!(cap("anthropic", "claude-opus-4-8", dec!(0.8499)), None);
        assert_eq!(
            cap("anthropic", "claude-opus-4-8", dec!(0.85)).as_deref(),
            Some("claude-sonnet-4-5 by pressure>85% weekly")
        );
        assert_eq!(
            cap("anthropic", "claude-opus-4-8", dec!(0.95)).as_deref(),
            Some("claude-haiku-4-5 by pressure>95% weekly")
        );
        assert_eq!(
            cap("openai", "gpt-5", dec!(0.9)).as_deref(),
            Some("gpt-5-mini by pressure>85% weekly")
        );
        assert_eq!(
            cap("gemini", "gemini-2.5-pro", dec!(1.2)).as_deref(),
            Some("gemini-2.5-flash-lite by pressure>95% weekly")
        );
        // Named upstreams and unknown families are not capped.
        assert_eq!(cap("openrouter", "anthropic/claude-opus-4-8", dec!(0.99)), None);
        assert_eq!(cap("openai", "claude-opus-4-8", dec!(0.99)), None);
        assert_eq!(cap("anthropic", "llama-3", dec!(0.99)), None);
        assert_eq!(rules().cap("anthropic", "claude-opus-4-8", None), None);
    }

    #[test]
    fn disabled_or_emptied_caps_do_nothing() {
        let mut c = PressureConfig::default();
        c.anthropic.cheapest.clear();
        let r = PressureRules::from_config(&c);
        let p = ("w".to_string(), dec!(0.99));
        assert_eq!(
            r.cap("anthropic", "claude-opus-4-8", Some(&p)).unwrap().model,
            "claude-sonnet-4-5"
        );
        c.enabled = false;
        assert_eq!(
            PressureRules::from_config(&c).cap("anthropic", "claude-opus-4-8", Some(&p)),
            None
        );
    }

    #[test]
    fn price_order_from_the_catalog() {
        let cat = Catalog::bundled();
        assert_eq!(dearer(&cat, "claude-opus-4-8", "claude-sonnet-4-5"), Some(true));
        assert_eq!(dearer(&cat, "claude-haiku-4-5", "claude-sonnet-4-5"), Some(false));
        assert_eq!(
            dearer(&cat, "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
            Some(false)
        );
        assert_eq!(dearer(&cat, "gpt-5", "gpt-5-mini"), Some(true));
        assert_eq!(dearer(&cat, "gpt-5-nano", "gpt-5-mini"), Some(false));
        assert_eq!(dearer(&cat, "no-such-model", "gpt-5-mini"), None);
        assert!(same_model(&cat, "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"));
        assert!(!same_model(&cat, "claude-haiku-4-5", "claude-sonnet-4-5"));
    }
}
