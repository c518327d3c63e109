//! `promptmeter count FILE... | -`: tokens per file and per section, the cost of sending each
//! file once as input (uncached and as a cache hit) for each chosen model, and its share of the
//! model's context window. Exit codes: 0 ok, 1 a file is over `--max-tokens`, 2 an error
//! (unreadable, directory, binary or non-UTF-8 file, unknown model).

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use promptmeter_core::document::{DocKind, Document};
use promptmeter_core::pricing::{format_usd, prompt_send_cost};
use promptmeter_core::tokenize::{Encoding, group_thousands};
use promptmeter_core::{Catalog, Model};
use serde_json::json;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to count; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Model to price and size against (repeatable; default: `[models] active` from config).
    #[arg(long = "model", short = 'm', value_name = "MODEL")]
    pub models: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit with status 1 when a file's token count (for any chosen model, estimates included)
    /// exceeds N.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
    /// Do not list sections.
    #[arg(long)]
    pub no_sections: bool,
}

/// Exit status when a file is over `--max-tokens`.
const OVER_LIMIT: u8 = 1;
/// Exit status when any file could not be counted.
const ERROR: u8 = 2;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let (config, catalog) = crate::config::load(&cwd)?;
    let names = if args.models.is_empty() {
        vec![config.models.active.clone()]
    } else {
        args.models.clone()
    };
    let models = resolve_models(&catalog, &names)?;

    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for file in &args.files {
        match read_input(file) {
            Ok(text) => reports.push(count_file(file, text, &models, args.max_tokens)),
            Err(e) => errors.push((file.clone(), format!("{e:#}"))),
        }
    }

    let mut out: Vec<u8> = Vec::new();
    if args.json {
        let value = json!({
            "files": reports.iter().map(FileReport::to_json).collect::<Vec<_>>(),
            "errors": errors.iter().map(|(p, e)| json!({"path": p, "error": e})).collect::<Vec<_>>(),
            "maxTokens": args.max_tokens,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        for (i, r) in reports.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            r.write_text(&mut out, !args.no_sections, args.max_tokens)?;
        }
    }
    super::models::write_stdout(&out)?;
    for (path, e) in &errors {
        eprintln!("promptmeter: {path}: {e}");
    }
    let over = reports.iter().any(|r| r.over_limit);
    Ok(if !errors.is_empty() {
        ExitCode::from(ERROR)
    } else if over {
        ExitCode::from(OVER_LIMIT)
    } else {
        ExitCode::SUCCESS
    })
}

/// Resolve model names; any unknown name is an error (never priced at zero).
fn resolve_models<'a>(catalog: &'a Catalog, names: &[String]) -> anyhow::Result<Vec<(String, &'a Model)>> {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for n in names {
        match catalog.resolve(n) {
            Some(m) => out.push((n.clone(), m)),
            None => unknown.push(n.as_str()),
        }
    }
    if !unknown.is_empty() {
        bail!(
            "unknown model{} {} (not in the catalog; see `promptmeter models`, or add it under [models.overrides])",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.iter().map(|u| format!("{u:?}")).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(out)
}

/// The text of a file (or stdin for `-`), with a clear error for what cannot be counted.
fn read_input(file: &str) -> anyhow::Result<String> {
    let bytes = if file == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut b)
            .context("reading standard input")?;
        b
    } else {
        let p = Path::new(file);
        let meta = std::fs::metadata(p).map_err(|e| anyhow::anyhow!(io_message(&e)))?;
        if meta.is_dir() {
            bail!("is a directory (give the files inside it, e.g. {file}/*.md)");
        }
        std::fs::read(p).map_err(|e| anyhow::anyhow!(io_message(&e)))?
    };
    if bytes[..bytes.len().min(8192)].contains(&0) {
        bail!("binary file (contains NUL bytes), not counted");
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "not valid UTF-8 (first bad byte at offset {}), not counted",
            e.utf8_error().valid_up_to()
        )
    })
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn doc_kind(file: &str) -> DocKind {
    let ext = Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "json" | "yaml" | "yml" | "toml" | "txt" | "jsonc" => DocKind::PlainText,
        _ => DocKind::Markdown,
    }
}

struct ModelLine {
    requested: String,
    id: String,
    tokens: u64,
    exact: bool,
    error_bound: f64,
    send: Option<(rust_decimal::Decimal, rust_decimal::Decimal)>,
    window: Option<u64>,
}

struct FileReport {
    path: String,
    bytes: usize,
    encoding: Encoding,
    doc: Document,
    models: Vec<ModelLine>,
    over_limit: bool,
}

fn count_file(path: &str, text: String, models: &[(String, &Model)], max_tokens: Option<u64>) -> FileReport {
    let encoding = models.first().map_or(Encoding::O200kBase, |(_, m)| m.tokenizer.base());
    let bytes = text.len();
    let doc = Document::new(text, doc_kind(path), encoding);
    let mut other_counts: Vec<(Encoding, usize)> = Vec::new();
    let mut lines = Vec::new();
    for (requested, m) in models {
        let base = m.tokenizer.base();
        let base_count = if base == encoding {
            doc.total_tokens()
        } else if let Some((_, n)) = other_counts.iter().find(|(e, _)| *e == base) {
            *n
        } else {
            let n = base.count(doc.text());
            other_counts.push((base, n));
            n
        };
        let c = m.tokenizer.from_base_count(base_count);
        lines.push(ModelLine {
            requested: requested.clone(),
            id: m.id.clone(),
            tokens: c.tokens,
            exact: c.exact,
            error_bound: c.error_bound,
            send: prompt_send_cost(m, c.tokens),
            window: m.context_window,
        });
    }
    let over_limit = max_tokens.is_some_and(|max| lines.iter().any(|l| l.tokens > max));
    FileReport {
        path: path.to_string(),
        bytes,
        encoding,
        doc,
        models: lines,
        over_limit,
    }
}

fn tokens_display(tokens: u64, exact: bool, bound: f64) -> String {
    if exact {
        group_thousands(tokens)
    } else {
        format!("≈{} ±{:.0}%", group_thousands(tokens), bound * 100.0)
    }
}

impl FileReport {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "path": self.path,
            "bytes": self.bytes,
            "encoding": self.encoding.name(),
            "tokens": self.doc.total_tokens(),
            "overMaxTokens": self.over_limit,
            "sections": self.doc.sections().iter().map(|s| json!({
                "kind": s.section.kind,
                "title": s.section.title,
                "level": s.section.level,
                "start": s.section.range.start,
                "end": s.section.range.end,
                "tokens": s.tokens,
            })).collect::<Vec<_>>(),
            "fencedBlocks": self.doc.fenced_blocks().iter().map(|b| json!({
                "info": b.section.title,
                "start": b.section.range.start,
                "end": b.section.range.end,
                "tokens": b.tokens,
            })).collect::<Vec<_>>(),
            "models": self.models.iter().map(|l| json!({
                "model": l.requested,
                "id": l.id,
                "tokens": l.tokens,
                "exact": l.exact,
                "errorBound": l.error_bound,
                "costPerSend": l.send.map(|(p, _)| p.to_string()),
                "cachedCostPerSend": l.send.map(|(_, c)| c.to_string()),
                "contextWindow": l.window,
                "windowShare": l.window.filter(|w| *w > 0).map(|w| l.tokens as f64 / w as f64),
            })).collect::<Vec<_>>(),
        })
    }

    fn write_text(&self, out: &mut impl Write, sections: bool, max_tokens: Option<u64>) -> std::io::Result<()> {
        let path = if self.path == "-" { "(stdin)" } else { &self.path };
        writeln!(
            out,
            "{path}: {} tokens ({}), {} bytes",
            group_thousands(self.doc.total_tokens() as u64),
            self.encoding.name(),
            group_thousands(self.bytes as u64)
        )?;
        let secs = self.doc.sections();
        if sections && secs.len() > 1 {
            let width = secs
                .iter()
                .map(|s| section_label(s).chars().count())
                .max()
                .unwrap_or(0)
                .clamp(12, 60);
            let blocks = self.doc.fenced_blocks();
            for s in secs {
                let label: String = section_label(s).chars().take(60).collect();
                writeln!(out, "  {label:<width$}  {:>9}", group_thousands(s.tokens as u64))?;
                for b in blocks
                    .iter()
                    .filter(|b| s.section.range.contains(&b.section.range.start))
                {
                    let label: String = format!("  {}", section_label(b)).chars().take(60).collect();
                    writeln!(out, "  {label:<width$}  {:>9}", group_thousands(b.tokens as u64))?;
                }
            }
        }
        for l in &self.models {
            let send = match l.send {
                Some((p, c)) => format!("{} per send, {} cached", format_usd(p), format_usd(c)),
                None => "no price listed".into(),
            };
            let window = match l.window {
                Some(w) if w > 0 => {
                    let pct = l.tokens as f64 * 100.0 / w as f64;
                    let pct = if pct >= 1.0 {
                        format!("{pct:.1}")
                    } else {
                        format!("{pct:.2}")
                    };
                    format!(", {pct}% of {} window", group_thousands(w))
                }
                _ => String::new(),
            };
            let name = if l.requested == l.id {
                l.id.clone()
            } else {
                format!("{} ({})", l.requested, l.id)
            };
            let over = match max_tokens {
                Some(max) if l.tokens > max => format!("  OVER --max-tokens {}", group_thousands(max)),
                _ => String::new(),
            };
            writeln!(
                out,
                "  {name}: {} tokens, {send}{window}{over}",
                tokens_display(l.tokens, l.exact, l.error_bound)
            )?;
        }
        Ok(())
    }
}

fn section_label(s: &promptmeter_core::document::SectionCount) -> String {
    use promptmeter_core::sections::SectionKind;
    match s.section.kind {
        SectionKind::Heading => format!("{} {}", "#".repeat(s.section.level as usize), s.section.title),
        SectionKind::FrontMatter => "(front matter)".into(),
        SectionKind::Preamble => "(preamble)".into(),
        SectionKind::FencedBlock => format!("```{}", s.section.title),
    }
}
