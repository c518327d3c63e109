//! textDocument/hover on a part's first line (heading, front matter, config key) or on the
//! first line (the file total): a table across the comparison models (tokens, $ per send,
//! $ per 1,000 sends, cache-read $ per send) and what the part is.

use promptmeter_core::pricing::format_usd;
use promptmeter_core::{Encoding, Model};
use rust_decimal::Decimal;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::analysis::{Part, describe};
use crate::settings::Settings;
use crate::state::{State, lock};

/// Comparison models: the active one first, then `[models] compare`.
fn models(settings: &Settings) -> Vec<&Model> {
    let mut ids = vec![settings.active.clone()];
    ids.extend(settings.config.models.compare.iter().cloned());
    let mut out: Vec<&Model> = Vec::new();
    for id in ids {
        if let Some(m) = settings.catalog.resolve(&id)
            && !out.iter().any(|o| o.id == m.id)
        {
            out.push(m);
        }
    }
    out
}

/// The markdown table for a text whose base count (in `enc`) is `base`.
pub fn table(settings: &Settings, text: &str, enc: Encoding, base: u64) -> String {
    let mut s = String::from(
        "| model | tokens | $ per send | $ per 1,000 sends | cache read, per send |\n|---|---:|---:|---:|---:|\n",
    );
    for m in models(settings) {
        let b = if m.tokenizer.base() == enc {
            base as usize
        } else {
            m.tokenizer.base().count(text)
        };
        let t = m.tokenizer.from_base_count(b);
        let name = if m.id == settings.active {
            format!("**{}** (active)", m.id)
        } else {
            m.id.clone()
        };
        match Settings::send_cost(m, t.tokens) {
            Some((plain, cached)) => s.push_str(&format!(
                "| {name} | {} | {} | {} | {} |\n",
                t.display(),
                format_usd(plain),
                format_usd(plain * Decimal::from(1000)),
                format_usd(cached)
            )),
            None => s.push_str(&format!("| {name} | {} | n/a | n/a | n/a |\n", t.display())),
        }
    }
    if let Some(note) = estimate_note(settings) {
        s.push_str(&note);
    }
    s
}

/// How the active model's estimate is made, and how good it is.
fn estimate_note(settings: &Settings) -> Option<String> {
    let m = settings.active_model()?;
    let promptmeter_core::tokenize::Tokenizer::Estimate {
        base,
        factor,
        error_bound,
    } = m.tokenizer
    else {
        return None;
    };
    let key = m.calibration_key();
    let source = match settings.calibration.learned(&key) {
        Some(_) => {
            let n = settings.calibration.models.get(&key).map_or(0, |o| o.n);
            format!("learned from {n} of your requests through the proxy")
        }
        None => "a published average; requests through `promptmeter proxy` calibrate it to your text".into(),
    };
    Some(format!(
        "\n≈ estimate: no public tokenizer for {}; counted in {} × {factor:.3}, within ±{}% ({source}).\n",
        m.id,
        base.name(),
        (error_bound * 100.0).round()
    ))
}

pub fn hover(state: &State, p: HoverParams) -> Result<Option<Hover>> {
    let pos = p.text_document_position_params.position;
    let Some(doc) = state.doc(&p.text_document_position_params.text_document.uri) else {
        return Ok(None);
    };
    let settings = state.settings();
    let mut d = lock(&doc);
    if !state.measured(&settings, &d) {
        return Ok(None);
    }
    let analysis = d.analysis(settings.encoding());
    let text = d.text();
    let index = d.index();
    if pos.line as usize >= index.line_count() {
        return Ok(None);
    }
    let line = index.line_range(text, pos.line as usize);
    let part: Option<&Part> = analysis
        .parts
        .iter()
        .find(|p| index.line_of(p.anchor) == pos.line as usize);
    let _ = line;
    let mut md = String::new();
    if let Some(part) = part {
        let body = match part.kind {
            crate::analysis::PartKind::Config(_) => &text[part.range.clone()],
            _ => &text[part.range.clone()],
        };
        md.push_str(&format!("**{}**: {}\n\n", part.title, describe(&d.rel, Some(part))));
        md.push_str(&table(&settings, body, analysis.encoding, part.base_tokens));
    }
    if pos.line == 0 {
        if !md.is_empty() {
            md.push_str("\n---\n\n");
        }
        md.push_str(&format!("**Whole file** ({}): {}\n\n", d.rel, describe(&d.rel, None)));
        md.push_str(&table(&settings, text, analysis.encoding, analysis.total));
    }
    if md.is_empty() {
        return Ok(None);
    }
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: md,
        }),
        range: None,
    }))
}
