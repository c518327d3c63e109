//! Diagnostics: lint findings priced in tokens and dollars, published after a short debounce
//! from a background task (cross-file duplicate detection reads the other files the same agent
//! loads). A run whose document changed meanwhile is dropped.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use promptmeter_core::lint::{self, FileKind, Finding, LintInput, Severity, imports};
use promptmeter_core::sections::{Section, SectionKind};
use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, NumberOrString, Uri};

use crate::analysis::{Analysis, DocFormat};
use crate::composition;
use crate::handlers::blocking;
use crate::line_index::LineIndex;
use crate::settings::Settings;
use crate::state::{State, lock};

const DEBOUNCE: Duration = Duration::from_millis(120);

pub struct Snapshot {
    pub version: i32,
    pub text: String,
    pub analysis: Arc<Analysis>,
    pub rel: String,
    pub path: Option<std::path::PathBuf>,
}

/// Lint `uri` soon, off the request path.
pub fn schedule(state: &Arc<State>, uri: Uri) {
    let generation = {
        let mut g = state.lint_generation.entry(uri.clone()).or_insert(0);
        *g += 1;
        *g
    };
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(DEBOUNCE).await;
        if state.lint_generation.get(&uri).map(|g| *g) != Some(generation) {
            return;
        }
        run(&state, uri, Some(generation)).await;
    });
}

/// Lint `uri` now and publish.
pub async fn run(state: &Arc<State>, uri: Uri, generation: Option<u64>) {
    let Some(doc) = state.doc(&uri) else { return };
    let settings = state.settings();
    let snap = {
        let mut d = lock(&doc);
        if !state.measured(&settings, &d) {
            None
        } else {
            let analysis = d.analysis(settings.encoding());
            Some(Snapshot {
                version: d.version,
                text: d.text().to_string(),
                analysis,
                rel: d.rel.clone(),
                path: d.path.clone(),
            })
        }
    };
    let Some(snap) = snap else {
        if state.findings.remove(&uri).is_some() {
            state.client.publish_diagnostics(uri, Vec::new(), None).await;
        }
        return;
    };
    let st = state.clone();
    let s2 = settings.clone();
    let result = blocking("diagnostics", move || {
        let findings = lint_snapshot(&st, &s2, &snap, true);
        let index = LineIndex::new(&snap.text);
        let diags: Vec<Diagnostic> = findings
            .iter()
            .filter_map(|f| to_diagnostic(&s2, &snap.text, &index, f))
            .collect();
        Ok((snap.version, findings, diags))
    })
    .await;
    let Ok((version, findings, diags)) = result else { return };
    // Drop the result if the document moved on.
    let current = state.doc(&uri).map(|d| lock(&d).version);
    let still_current = generation.is_none_or(|g| state.lint_generation.get(&uri).map(|x| *x) == Some(g));
    if current != Some(version) || !still_current {
        return;
    }
    state.findings.insert(uri.clone(), (version, Arc::new(findings)));
    state.client.publish_diagnostics(uri, diags, Some(version)).await;
}

fn config_sections(a: &Analysis) -> (Vec<Section>, Vec<u64>) {
    a.parts
        .iter()
        .map(|p| {
            (
                Section {
                    kind: SectionKind::Heading,
                    title: p.title.clone(),
                    level: 1,
                    range: p.range.clone(),
                },
                p.base_tokens,
            )
        })
        .unzip()
}

/// Every finding for the snapshot; `cross_file` adds duplicates across the agent's files and
/// the CLAUDE.md import checks (they read other files).
pub fn lint_snapshot(state: &State, settings: &Settings, snap: &Snapshot, cross_file: bool) -> Vec<Finding> {
    let a = &snap.analysis;
    let kind = FileKind::of_path(&snap.rel);
    let markdown = a.format == DocFormat::Markdown;
    let (sections, section_tokens) = if markdown {
        (a.sections.clone(), a.section_tokens.clone())
    } else {
        config_sections(a)
    };
    let input = LintInput {
        text: &snap.text,
        kind,
        encoding: a.encoding,
        sections: &sections,
        section_tokens: &section_tokens,
        total_tokens: a.total,
        config: &settings.config.lsp.lint,
        markdown,
        preceding_bytes: if kind == FileKind::AgentsMd {
            codex_global_bytes(state, snap.path.as_deref())
        } else {
            0
        },
    };
    let mut out = if markdown {
        lint::lint(&input)
    } else {
        let mut v: Vec<Finding> = Vec::new();
        v.extend(lint::budget::file_over_budget(&input));
        v.extend(lint::budget::sections_over_budget(&input));
        v.extend(lint::chars::chars(&input));
        v.extend(lint::blobs::blobs(&input));
        v
    };
    if cross_file
        && markdown
        && let Some(path) = &snap.path
    {
        let others = composition::loaded_with(settings, path);
        let texts: Vec<(String, String)> = others
            .iter()
            .filter_map(|p| state.read_file(p).map(|t| (settings.relative(p), t)))
            .collect();
        let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        if !refs.is_empty() {
            out.extend(lint::duplicates::across_files(&input, &refs));
        }
        if kind == FileKind::ClaudeMd || snap.rel.contains(".claude/") {
            let resolve = |from: &str, import: &str| {
                let base = Path::new(from).parent()?.to_path_buf();
                let target = composition::resolve_import(&base, import)?;
                let text = state.read_file(&target)?;
                Some(imports::Resolved {
                    name: target.to_string_lossy().into_owned(),
                    text,
                })
            };
            let mut found = imports::check(&snap.text, &path.to_string_lossy(), &resolve);
            for f in &mut found {
                f.message = f.message.replace(
                    &format!(
                        "{}/",
                        path.parent().map(|p| p.display().to_string()).unwrap_or_default()
                    ),
                    "",
                );
            }
            out.extend(found);
        }
    }
    out.retain(|f| settings.severity(f.code) != Severity::Off);
    // An editor showing thousands of squiggles helps nobody, and the reply would hold up the
    // wire: keep the costliest ones.
    let max = settings.config.lsp.max_diagnostics;
    if max > 0 && out.len() > max {
        out.sort_by(|a, b| b.tokens.cmp(&a.tokens).then(a.range.start.cmp(&b.range.start)));
        out.truncate(max);
    }
    out.sort_by(|a, b| a.range.start.cmp(&b.range.start).then(a.code.cmp(&b.code)));
    out
}

/// Bytes of the user's global Codex instructions, read before a project's AGENTS.md (0 when
/// `path` is that global file itself).
fn codex_global_bytes(state: &State, path: Option<&Path>) -> usize {
    let Some(home) = dirs::home_dir() else { return 0 };
    let global = [home.join(".codex/AGENTS.override.md"), home.join(".codex/AGENTS.md")]
        .into_iter()
        .find(|p| p.is_file());
    match global {
        Some(g) if Some(g.as_path()) != path => state.read_file(&g).map_or(0, |t| t.len()),
        _ => 0,
    }
}

pub fn message(settings: &Settings, f: &Finding) -> String {
    if f.tokens == 0 {
        f.message.clone()
    } else if f.fix.is_some() {
        format!("{}: fix saves {}", f.message, settings.priced(f.tokens))
    } else {
        format!("{}: {}", f.message, settings.priced(f.tokens))
    }
}

pub fn to_diagnostic(settings: &Settings, text: &str, index: &LineIndex, f: &Finding) -> Option<Diagnostic> {
    let severity = match settings.severity(f.code) {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Information => DiagnosticSeverity::INFORMATION,
        Severity::Hint => DiagnosticSeverity::HINT,
        Severity::Off => return None,
    };
    Some(Diagnostic {
        range: index.range(text, f.range.clone()),
        severity: Some(severity),
        code: Some(NumberOrString::String(f.code.as_str().to_string())),
        source: Some("promptmeter".into()),
        message: message(settings, f),
        data: Some(serde_json::json!({"tokens": settings.tokens(f.tokens).tokens, "fixable": f.fix.is_some()})),
        ..Default::default()
    })
}
