//! textDocument/inlayHint: tokens and cost per send of each part (Markdown heading, front
//! matter, config key) for the active model, at the end of its first line, and the file total
//! with its share of the model's context window at the end of the first line.

use promptmeter_core::tokenize::group_thousands;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{InlayHint, InlayHintLabel, InlayHintParams, InlayHintTooltip};

use crate::analysis::PartKind;
use crate::settings::Settings;
use crate::state::{State, lock};
use promptmeter_core::prompt_config::PromptKind;

/// "200k" / "1M" style window sizes.
pub fn window_label(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 {
        format!("{}k", (n as f64 / 1000.0).round() as u64)
    } else {
        n.to_string()
    }
}

pub fn share_label(settings: &Settings, tokens: u64) -> Option<String> {
    let window = settings.active_model()?.context_window?;
    if window == 0 {
        return None;
    }
    let pct = tokens as f64 * 100.0 / window as f64;
    let pct = if pct < 0.1 && tokens > 0 {
        "<0.1".to_string()
    } else {
        format!("{pct:.1}")
    };
    Some(format!("{pct}% of {} window", window_label(window)))
}

pub fn inlay_hint(state: &State, p: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
    let Some(doc) = state.doc(&p.text_document.uri) else {
        return Ok(None);
    };
    let settings = state.settings();
    if !settings.config.lsp.inlay_hints {
        return Ok(None);
    }
    let mut d = lock(&doc);
    if !state.measured(&settings, &d) {
        return Ok(None);
    }
    let first = p.range.start.line as usize;
    let last = (p.range.end.line as usize).min(d.index().line_count().saturating_sub(1));
    if first > last {
        return Ok(Some(Vec::new()));
    }
    let window = d.index().line_range(d.text(), first).start..d.index().line_range(d.text(), last).end;
    let encoding = settings.encoding();
    let (total, parts) = d.parts_in(encoding, window);
    let text = d.text();
    let index = d.index();
    let mut hints = Vec::new();
    if first == 0 {
        let end = index.line_range(text, 0).end;
        let t = settings.tokens(total);
        let mut label = format!("Σ {}", settings.short_label(total));
        if let Some(share) = share_label(&settings, t.tokens) {
            label.push_str(&format!(" · {share}"));
        }
        hints.push(InlayHint {
            position: index.position(text, end),
            label: InlayHintLabel::String(label),
            kind: None,
            text_edits: None,
            tooltip: Some(InlayHintTooltip::String(format!(
                "Whole file: {} on {} ({} base-encoding tokens, {})",
                settings.priced(total),
                settings.active,
                group_thousands(total),
                encoding.name()
            ))),
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    for part in &parts {
        hints.push(InlayHint {
            position: index.position(text, part.anchor),
            label: InlayHintLabel::String(if part.kind == PartKind::Config(PromptKind::McpServer) {
                "MCP server: tool definitions load while it runs".to_string()
            } else {
                settings.short_label(part.base_tokens)
            }),
            kind: None,
            text_edits: None,
            tooltip: Some(InlayHintTooltip::String(format!(
                "{}: {}",
                part.title,
                settings.priced(part.base_tokens)
            ))),
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    Ok(Some(hints))
}
