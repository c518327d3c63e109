//! One test per pricing rule, each with a figure computed by hand from the listed prices
//! (per token, USD) of the bundled catalog.

use promptmeter_core::pricing::{cost_of, prompt_send_cost};
use promptmeter_core::{Catalog, Usage};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// The one check of this file: the total cost of `usage` on `model` (optionally in a service
/// tier) is exactly `expected` dollars.
fn check(model: &str, usage: Usage, tier: Option<&str>, expected: Decimal) {
    let cat = Catalog::bundled();
    let m = cat.resolve(model).unwrap_or_else(|| panic!("{model} in the catalog"));
    let cost = cost_of(m, &usage, tier).expect("priced");
    assert_eq!(cost.total, expected, "{model} {usage:?}: {cost:?}");
    assert_eq!(
        cost.total,
        cost.input + cost.cache_read + cost.cache_write + cost.output
    );
}

#[test]
fn anthropic_input_excludes_cache_reads() {
    // claude-sonnet-4-5: input $3/M, cache read $0.30/M, output $15/M.
    // 1,000 x 0.000003 + 50,000 x 0.0000003 + 500 x 0.000015 = 0.003 + 0.015 + 0.0075
    let u = Usage::from_anthropic(1_000, 50_000, 0, None, None, 500);
    assert_eq!(u.input, 1_000);
    check("claude-sonnet-4-5", u, None, dec!(0.0255));
}

#[test]
fn anthropic_cache_write_5m_is_1_25x_input() {
    // 10,000 x 0.00000375 (= 1.25 x $3/M) = 0.0375
    let u = Usage::from_anthropic(0, 0, 10_000, Some(10_000), Some(0), 0);
    check("claude-sonnet-4-5", u, None, dec!(0.0375));
}

#[test]
fn anthropic_cache_write_1h_is_2x_input() {
    // 10,000 x 0.000006 (= 2 x $3/M) = 0.06
    let u = Usage::from_anthropic(0, 0, 10_000, Some(0), Some(10_000), 0);
    check("claude-sonnet-4-5", u, None, dec!(0.06));
}

#[test]
fn anthropic_cache_write_total_without_split_counts_as_5m() {
    // 4,000 x 0.00000375 = 0.015
    let u = Usage::from_anthropic(0, 0, 4_000, None, None, 0);
    check("claude-sonnet-4-5", u, None, dec!(0.015));
}

#[test]
fn cache_write_multipliers_apply_when_the_catalog_lists_no_write_price() {
    // A model with only input $2/M and output $8/M: 5m write at 1.25x = $2.5/M, 1h at 2x = $4/M.
    // 1,000 x 0.0000025 + 1,000 x 0.000004 = 0.0065
    let mut cat = Catalog::bundled();
    let o: toml::Table =
        toml::from_str("[\"my-model\"]\ninput_cost_per_token = 2e-6\noutput_cost_per_token = 8e-6\n").unwrap();
    cat.apply_overrides(&o).unwrap();
    let u = Usage::from_anthropic(0, 0, 2_000, Some(1_000), Some(1_000), 0);
    let cost = cost_of(cat.resolve("my-model").unwrap(), &u, None).unwrap();
    assert_eq!(cost.total, dec!(0.0065));
    assert_eq!(
        cost.assumptions.len(),
        2,
        "derived prices are reported: {:?}",
        cost.assumptions
    );
}

#[test]
fn cache_read_at_the_listed_price() {
    // gpt-4o lists cache read at $1.25/M (half its $2.5/M input): 8,000 x 0.00000125 = 0.01
    check("gpt-4o", Usage::from_openai(8_000, 8_000, 0, 0), None, dec!(0.01));
}

#[test]
fn openai_prompt_tokens_include_cached_tokens() {
    // gpt-4o: prompt 10,000 of which 8,000 cached, 1,000 completion:
    // 2,000 x 0.0000025 + 8,000 x 0.00000125 + 1,000 x 0.00001 = 0.005 + 0.01 + 0.01
    let u = Usage::from_openai(10_000, 8_000, 1_000, 0);
    assert_eq!((u.input, u.cache_read), (2_000, 8_000));
    check("gpt-4o", u, None, dec!(0.025));
}

#[test]
fn openai_completion_tokens_include_reasoning_tokens() {
    // o3: input $2/M, output $8/M; 3,000 completion tokens of which 2,000 reasoning are billed
    // once: 1,000 x 0.000002 + 3,000 x 0.000008 = 0.002 + 0.024
    let u = Usage::from_openai(1_000, 0, 3_000, 2_000);
    assert_eq!((u.output, u.reasoning), (3_000, 2_000));
    check("o3", u, None, dec!(0.026));
}

#[test]
fn long_context_tier_does_not_apply_at_the_threshold() {
    // gpt-5.4: $2.5/M up to 272k prompt tokens. 272,000 x 0.0000025 = 0.68
    check("gpt-5.4", Usage::from_openai(272_000, 0, 0, 0), None, dec!(0.68));
}

#[test]
fn long_context_tier_applies_strictly_above_the_threshold() {
    // gpt-5.4 above 272k: input $5/M, output $22.5/M, for the whole request.
    // 272,001 x 0.000005 + 1,000 x 0.0000225 = 1.360005 + 0.0225
    check(
        "gpt-5.4",
        Usage::from_openai(272_001, 0, 1_000, 0),
        None,
        dec!(1.382505),
    );
}

#[test]
fn long_context_threshold_counts_cached_tokens_too() {
    // Bedrock Claude Sonnet 4.5 (us.): above 200k input $6.6/M, cache read $0.66/M.
    // Prompt = 100,000 uncached + 100,001 cache reads = 200,001 > 200k:
    // 100,000 x 0.0000066 + 100,001 x 0.00000066 = 0.66 + 0.06600066
    let u = Usage::from_anthropic(100_000, 100_001, 0, None, None, 0);
    check(
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        u,
        None,
        dec!(0.72600066),
    );
}

#[test]
fn gemini_prompt_token_count_includes_cached_content() {
    // gemini-2.5-pro: input $1.25/M, cache read $0.125/M, output $10/M; thoughts are output.
    // 4,000 x 0.00000125 + 6,000 x 0.000000125 + (500 + 1,500) x 0.00001 = 0.005 + 0.00075 + 0.02
    let u = Usage::from_gemini(10_000, 6_000, 500, 1_500);
    assert_eq!((u.input, u.cache_read, u.output), (4_000, 6_000, 2_000));
    check("gemini-2.5-pro", u, None, dec!(0.02575));
}

#[test]
fn service_tier_prices() {
    // gpt-5 priority: input $2.5/M, output $20/M. 1,000 x 0.0000025 + 1,000 x 0.00002 = 0.0225
    check(
        "gpt-5",
        Usage::from_openai(1_000, 0, 1_000, 0),
        Some("priority"),
        dec!(0.0225),
    );
    // gpt-5 batches: half price. 1,000 x 0.000000625 + 1,000 x 0.000005 = 0.005625
    check(
        "gpt-5",
        Usage::from_openai(1_000, 0, 1_000, 0),
        Some("batches"),
        dec!(0.005625),
    );
}

#[test]
fn sums_are_exact_decimals() {
    // 0.1 + 0.2 style sums stay exact: 3 x 100,000 tokens at $0.30/M cache read, one by one.
    let cat = Catalog::bundled();
    let m = cat.resolve("claude-sonnet-4-5").unwrap();
    let mut total = Decimal::ZERO;
    for _ in 0..3 {
        total += cost_of(m, &Usage::from_anthropic(0, 100_000, 0, None, None, 0), None)
            .unwrap()
            .total;
    }
    assert_eq!(total.to_string(), "0.09");
}

#[test]
fn prompt_send_cost_is_plain_and_cached_input() {
    // 2,000 tokens on claude-sonnet-4-5: 2,000 x 0.000003 = 0.006; cached 2,000 x 0.0000003 = 0.0006
    let cat = Catalog::bundled();
    let (plain, cached) = prompt_send_cost(cat.resolve("claude-sonnet-4-5").unwrap(), 2_000).unwrap();
    assert_eq!((plain, cached), (dec!(0.006), dec!(0.0006)));
}

#[test]
fn unpriced_models_are_errors_not_zero() {
    let mut cat = Catalog::bundled();
    let o: toml::Table = toml::from_str("[\"claude-sonnet-4-5\"]\ninput_cost_per_token = \"oops\"\n").unwrap();
    assert!(cat.apply_overrides(&o).is_err(), "a bad price is an error");
    assert!(cat.resolve("no-such-model-anywhere").is_none());
}
