//! `promptmeter models [FILTER] [--json]`: the model catalog with prices per million tokens and
//! context windows. `--snapshot-from FULL.json --write PATH` regenerates the bundled snapshot
//! from a full LiteLLM file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use promptmeter_core::catalog::{Model, ModelPrices, snapshot_json};
use promptmeter_core::tokenize::{Tokenizer, group_thousands};
use rust_decimal::Decimal;
use serde_json::json;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show only models whose id or provider contains this text (case-insensitive), or the
    /// one model this name resolves to (dated and cloud-prefixed ids resolve).
    pub filter: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Regenerate the bundled snapshot from this full LiteLLM
    /// `model_prices_and_context_window.json` (with `--write`).
    #[arg(long, value_name = "FULL_JSON", requires = "write")]
    pub snapshot_from: Option<PathBuf>,
    /// Where to write the regenerated snapshot (`-` for standard output).
    #[arg(long, value_name = "PATH", requires = "snapshot_from")]
    pub write: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(to)) = (&args.snapshot_from, &args.write) {
        let full = std::fs::read_to_string(from).with_context(|| format!("reading {}", from.display()))?;
        let snapshot = snapshot_json(&full).with_context(|| format!("{}", from.display()))?;
        if to.as_os_str() == "-" {
            write_stdout(snapshot.as_bytes())?;
        } else {
            std::fs::write(to, &snapshot).with_context(|| format!("writing {}", to.display()))?;
            let n = promptmeter_core::Catalog::from_litellm_json(&snapshot)?.len();
            eprintln!("wrote {} ({n} models)", to.display());
        }
        return Ok(ExitCode::SUCCESS);
    }

    let cwd = std::env::current_dir()?;
    let (_, catalog) = crate::config::load(&cwd)?;
    let models: Vec<&Model> = match &args.filter {
        None => catalog.iter().collect(),
        Some(f) => {
            let needle = f.to_ascii_lowercase();
            let mut v: Vec<&Model> = catalog
                .iter()
                .filter(|m| {
                    m.id.to_ascii_lowercase().contains(&needle) || m.provider.to_ascii_lowercase().contains(&needle)
                })
                .collect();
            if v.is_empty()
                && let Some(m) = catalog.resolve(f)
            {
                v.push(m);
            }
            v
        }
    };
    if models.is_empty() {
        eprintln!(
            "promptmeter: no model matches {:?} (unknown models are never priced)",
            args.filter.as_deref().unwrap_or("")
        );
        return Ok(ExitCode::from(2));
    }
    let mut out: Vec<u8> = Vec::new();
    if args.json {
        let v: Vec<_> = models.iter().map(|m| model_json(m)).collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        write_table(&mut out, &models)?;
    }
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Write to stdout; a closed pipe (`promptmeter models | head`) is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// USD per million tokens, as a decimal string.
fn per_million(p: Option<Decimal>) -> Option<String> {
    p.map(|p| (p * Decimal::from(1_000_000)).normalize().to_string())
}

fn prices_json(p: &ModelPrices) -> serde_json::Value {
    json!({
        "input": per_million(p.input),
        "output": per_million(p.output),
        "cacheRead": per_million(p.cache_read),
        "cacheWrite5m": per_million(p.cache_write_5m),
        "cacheWrite1h": per_million(p.cache_write_1h),
        "reasoning": per_million(p.reasoning),
        "longContext": p.long_context.iter().map(|t| json!({
            "above": t.threshold,
            "input": per_million(t.input),
            "output": per_million(t.output),
            "cacheRead": per_million(t.cache_read),
            "cacheWrite5m": per_million(t.cache_write_5m),
            "cacheWrite1h": per_million(t.cache_write_1h),
        })).collect::<Vec<_>>(),
    })
}

fn model_json(m: &Model) -> serde_json::Value {
    let tokenizer = match m.tokenizer {
        Tokenizer::Exact { encoding } => json!({"exact": true, "encoding": encoding.name()}),
        Tokenizer::Estimate {
            base,
            factor,
            error_bound,
        } => json!({"exact": false, "base": base.name(), "factor": factor, "errorBound": error_bound}),
    };
    json!({
        "id": m.id,
        "provider": m.provider,
        "mode": m.mode,
        "tokenizer": tokenizer,
        "contextWindow": m.context_window,
        "maxOutput": m.max_output,
        "unit": "USD per million tokens",
        "prices": prices_json(&m.prices),
        "serviceTiers": m.service_tiers.iter().map(|(k, p)| (k.clone(), prices_json(p))).collect::<serde_json::Map<_, _>>(),
        "deprecationDate": m.deprecation_date,
    })
}

fn money(p: Option<Decimal>) -> String {
    per_million(p).map_or_else(|| "-".into(), |s| format!("${s}"))
}

fn write_table(out: &mut impl Write, models: &[&Model]) -> std::io::Result<()> {
    let width = models.iter().map(|m| m.id.len()).max().unwrap_or(5).clamp(5, 60);
    writeln!(
        out,
        "{:<width$}  {:<26}  {:>9}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  tokens  notes",
        "model", "provider", "window", "input", "output", "cache rd", "write 5m", "write 1h"
    )?;
    for m in models {
        let p = &m.prices;
        let tokens = match m.tokenizer {
            Tokenizer::Exact { encoding } => encoding.name().trim_end_matches("_base").to_string(),
            Tokenizer::Estimate { error_bound, .. } => format!("≈±{:.0}%", error_bound * 100.0),
        };
        let mut notes = Vec::new();
        for t in &p.long_context {
            notes.push(format!(
                ">{}k: {}/{}",
                t.threshold / 1000,
                money(t.input),
                money(t.output)
            ));
        }
        if !m.service_tiers.is_empty() {
            notes.push(format!(
                "tiers: {}",
                m.service_tiers.keys().cloned().collect::<Vec<_>>().join(",")
            ));
        }
        if let Some(r) = p.reasoning {
            notes.push(format!("reasoning {}", money(Some(r))));
        }
        writeln!(
            out,
            "{:<width$}  {:<26}  {:>9}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:<6}  {}",
            m.id,
            m.provider,
            m.context_window.map_or_else(|| "-".into(), group_thousands),
            money(p.input),
            money(p.output),
            money(p.cache_read),
            money(p.cache_write_5m),
            money(p.cache_write_1h),
            tokens,
            notes.join("; ")
        )?;
    }
    writeln!(
        out,
        "\nprices in USD per million tokens; ≈ marks estimated token counts"
    )?;
    Ok(())
}
