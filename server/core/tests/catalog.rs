//! The model catalog: the full LiteLLM file parses, the bundled snapshot is what the
//! regeneration produces from it, aliases resolve, tokenizers and windows are right, overrides
//! patch or add entries, and calibration learns factors.

use promptmeter_core::catalog::{BUNDLED_SNAPSHOT, snapshot_json};
use promptmeter_core::tokenize::calibration::{self, Calibration};
use promptmeter_core::tokenize::{Encoding, Tokenizer};
use promptmeter_core::{Catalog, Model};
use rust_decimal_macros::dec;

fn full_file() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/litellm-model-prices.json"
    ))
    .expect("tests/data/litellm-model-prices.json")
}

/// The one lookup helper: `name` resolves to the entry `id`.
fn resolves(cat: &Catalog, name: &str, id: &str) {
    let m: &Model = cat.resolve(name).unwrap_or_else(|| panic!("{name} resolves"));
    assert_eq!(m.id, id, "{name}");
}

#[test]
fn full_litellm_file_parses() {
    let cat = Catalog::from_litellm_json(&full_file()).unwrap();
    assert!(cat.len() > 2000, "{} models", cat.len());
}

#[test]
fn bundled_snapshot_is_regenerated_from_the_data_file() {
    // If this fails: promptmeter models --snapshot-from tests/data/litellm-model-prices.json \
    //   --write server/core/data/catalog-snapshot.json
    assert!(
        snapshot_json(&full_file()).unwrap() == BUNDLED_SNAPSHOT,
        "snapshot is stale"
    );
    let cat = Catalog::bundled();
    assert!(cat.len() > 500);
    for m in cat.iter() {
        assert!(m.prices.input.is_some() && m.prices.output.is_some(), "{} priced", m.id);
    }
}

#[test]
fn aliases_resolve() {
    let cat = Catalog::bundled();
    resolves(&cat, "claude-sonnet-4-5", "claude-sonnet-4-5");
    resolves(&cat, "CLAUDE-SONNET-4-5", "claude-sonnet-4-5");
    resolves(&cat, "claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929");
    resolves(&cat, "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5");
    resolves(&cat, "openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5");
    resolves(&cat, "openrouter/openai/gpt-5", "gpt-5");
    // Cloud entries keep their own (regional) prices when listed…
    resolves(
        &cat,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    );
    resolves(
        &cat,
        "vertex_ai/claude-haiku-4-5@20251001",
        "vertex_ai/claude-haiku-4-5@20251001",
    );
    // …and fall back to the direct provider's entry when not.
    resolves(&cat, "eu.anthropic.claude-opus-4-8-v1:0", "claude-opus-4-8");
    resolves(&cat, "vertex_ai/claude-opus-4-8@20990101", "claude-opus-4-8");
    resolves(&cat, "gpt-4o-2024-08-06", "gpt-4o-2024-08-06");
    resolves(&cat, "gemini/gemini-2.5-pro", "gemini/gemini-2.5-pro");
    assert!(cat.resolve("claude-sonnet-9-9").is_none(), "unknown stays unknown");
    assert!(cat.resolve("").is_none());
}

#[test]
fn tokenizers_windows_and_tiers() {
    let cat = Catalog::bundled();
    let m = |n: &str| cat.resolve(n).unwrap();
    assert_eq!(m("gpt-4o").tokenizer, Tokenizer::exact(Encoding::O200kBase));
    assert_eq!(m("gpt-5").tokenizer, Tokenizer::exact(Encoding::O200kBase));
    assert_eq!(m("gpt-4").tokenizer, Tokenizer::exact(Encoding::Cl100kBase));
    assert_eq!(m("gpt-3.5-turbo").tokenizer, Tokenizer::exact(Encoding::Cl100kBase));
    assert!(!m("claude-sonnet-4-5").tokenizer.is_exact());
    assert!(!m("gemini-2.5-pro").tokenizer.is_exact());
    assert_eq!(m("claude-opus-4-8").context_window, Some(1_000_000));
    assert_eq!(m("claude-sonnet-4-5").context_window, Some(200_000));
    let s = &m("claude-sonnet-4-5").prices;
    assert_eq!(
        (s.input, s.output, s.cache_read, s.cache_write_5m, s.cache_write_1h),
        (
            Some(dec!(0.000003)),
            Some(dec!(0.000015)),
            Some(dec!(0.0000003)),
            Some(dec!(0.00000375)),
            Some(dec!(0.000006))
        )
    );
    let g = &m("gpt-5.4");
    assert_eq!(g.prices.long_context[0].threshold, 272_000);
    assert_eq!(g.prices.long_context[0].input, Some(dec!(0.000005)));
    assert!(g.service_tiers.contains_key("priority") && g.service_tiers.contains_key("flex"));
    let b = &m("us.anthropic.claude-sonnet-4-5-20250929-v1:0").prices.long_context[0];
    assert_eq!((b.threshold, b.cache_write_1h), (200_000, Some(dec!(0.0000132))));
}

#[test]
fn claude_tokenizer_generations() {
    assert!(!calibration::claude_uses_new_tokenizer("claude-sonnet-4-5"));
    assert!(!calibration::claude_uses_new_tokenizer("claude-3-5-sonnet-20240620"));
    assert!(calibration::claude_uses_new_tokenizer("claude-opus-4-7"));
    assert!(calibration::claude_uses_new_tokenizer("claude-opus-4-8"));
    assert!(calibration::claude_uses_new_tokenizer("claude-sonnet-5"));
    let cat = Catalog::bundled();
    let f = |n: &str| match cat.resolve(n).unwrap().tokenizer {
        Tokenizer::Estimate { factor, .. } => factor,
        t => panic!("{t:?}"),
    };
    assert!(
        f("claude-opus-4-8") > f("claude-sonnet-4-5"),
        "newer tokenizer counts more"
    );
}

#[test]
fn overrides_patch_fields_and_add_models() {
    let mut cat = Catalog::bundled();
    let o: toml::Table = toml::from_str(
        r#"
        ["claude-sonnet-4-5"]
        input_cost_per_token = 2.5e-6
        ["claude-sonnet-4-5-20250929"]
        max_input_tokens = 1000000
        ["my-local-model"]
        litellm_provider = "openai"
        input_cost_per_token = "1e-7"
        output_cost_per_token = 2e-7
        max_input_tokens = 32000
        "#,
    )
    .unwrap();
    cat.apply_overrides(&o).unwrap();
    let s = cat.resolve("claude-sonnet-4-5").unwrap();
    assert_eq!(s.prices.input, Some(dec!(0.0000025)), "patched");
    assert_eq!(s.prices.output, Some(dec!(0.000015)), "other fields kept");
    assert_eq!(
        cat.resolve("claude-sonnet-4-5-20250929").unwrap().context_window,
        Some(1_000_000)
    );
    let n = cat.resolve("my-local-model").unwrap();
    assert_eq!(
        (n.prices.input, n.context_window),
        (Some(dec!(0.0000001)), Some(32_000))
    );

    let bad: toml::Table = toml::from_str("[\"brand-new\"]\nmax_input_tokens = 10\n").unwrap();
    assert!(
        cat.apply_overrides(&bad).is_err(),
        "a new model without prices is refused"
    );
}

#[test]
fn calibration_learns_factor_and_bound() {
    let mut cal = Calibration::default();
    let default = calibration::claude("claude-sonnet-4-5");
    assert_eq!(cal.apply("claude-sonnet-4-5", default), default, "no data: default");
    assert!(!cal.observe("claude-sonnet-4-5", 10, 12), "tiny texts ignored");
    for (base, reported) in [(1000, 1200), (2000, 2300), (1000, 1250), (4000, 4800), (2000, 2400)] {
        assert!(cal.observe("claude-sonnet-4-5", base, reported));
    }
    let (factor, bound) = cal.learned("claude-sonnet-4-5").unwrap();
    // factor = 11,950 / 10,000; ratios 1.15..1.25 deviate at most |1.25 - 1.195| / 1.195
    assert!((factor - 1.195).abs() < 1e-12);
    assert!((bound - (1.25 - 1.195) / 1.195).abs() < 1e-12);
    match cal.apply("claude-sonnet-4-5", default) {
        Tokenizer::Estimate {
            factor: f,
            error_bound: b,
            ..
        } => assert_eq!((f, b), (factor, bound)),
        t => panic!("{t:?}"),
    }
    let exact = Tokenizer::exact(Encoding::O200kBase);
    assert_eq!(cal.apply("claude-sonnet-4-5", exact), exact, "exact stays exact");
    let json = serde_json::to_string(&cal).unwrap();
    assert_eq!(serde_json::from_str::<Calibration>(&json).unwrap(), cal);
}

#[test]
fn calibrating_a_catalog_changes_only_learned_estimates() {
    let mut catalog = Catalog::bundled();
    let sonnet = catalog.resolve("claude-sonnet-4-5").unwrap().clone();
    let dated = catalog.resolve("claude-haiku-4-5-20251001").unwrap().clone();
    let newer = catalog.resolve("claude-opus-4-7").unwrap().clone();
    let gemini = catalog.resolve("gemini-2.5-pro").unwrap().clone();
    let gpt = catalog.resolve("gpt-5").unwrap().clone();
    assert_eq!(
        sonnet.calibration_key(),
        dated.calibration_key(),
        "one tokenizer, one key"
    );
    assert_ne!(sonnet.calibration_key(), newer.calibration_key());
    let mut cal = Calibration::default();
    for _ in 0..Calibration::MIN_OBSERVATIONS {
        cal.observe(&sonnet.calibration_key(), 1000, 1300);
        cal.observe(&gpt.calibration_key(), 1000, 1300);
    }
    catalog.calibrate(&cal);
    let count = |id: &str| catalog.get(id).unwrap().tokenizer.from_base_count(1000);
    assert_eq!(count(&sonnet.id).tokens, 1300, "learned");
    assert_eq!(count(&dated.id).tokens, 1300, "learned for the whole tokenizer");
    for m in [&newer, &gemini] {
        assert_eq!(
            catalog.get(&m.id).unwrap().tokenizer,
            m.tokenizer,
            "no observations: the default stays"
        );
    }
    assert_eq!(
        catalog.get(&gpt.id).unwrap().tokenizer,
        gpt.tokenizer,
        "exact stays exact"
    );
}
