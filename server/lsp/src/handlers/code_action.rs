//! textDocument/codeAction: quick fixes for the fixable findings under the cursor (trim
//! trailing whitespace, collapse blank lines, compact a table, remove invisible characters,
//! remove a duplicate), and the same fix for the whole file when there are several. Edits
//! cover only the finding's bytes; the rest of the document stays byte-identical.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use promptmeter_core::lint::{Code, Finding};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, OptionalVersionedTextDocumentIdentifier,
    TextDocumentEdit, TextEdit, WorkspaceEdit,
};

use crate::handlers::diagnostics::{Snapshot, lint_snapshot, to_diagnostic};
use crate::state::{State, lock};

/// Above this size, code actions use only the findings of the latest lint run.
const SYNC_LINT_MAX_BYTES: usize = 64 * 1024;

pub fn code_action(state: &State, p: CodeActionParams) -> Result<Option<Vec<CodeActionOrCommand>>> {
    let uri = p.text_document.uri;
    let Some(doc) = state.doc(&uri) else { return Ok(None) };
    let settings = state.settings();
    let mut d = lock(&doc);
    if !state.measured(&settings, &d) {
        return Ok(None);
    }
    let Some(range) = d.index().byte_range(d.text(), p.range) else {
        return Ok(None);
    };
    let version = d.version;
    let findings: Arc<Vec<Finding>> = match state.findings.get(&uri) {
        Some(f) if f.0 == version => f.1.clone(),
        // Editors ask for code actions on every cursor move; on a large document being typed
        // in, linting here would hold the document (and the hints) up. The published
        // diagnostics arrive shortly and the editor asks again.
        _ if d.text().len() > SYNC_LINT_MAX_BYTES => return Ok(Some(Vec::new())),
        _ => {
            let analysis = d.analysis(settings.encoding());
            let snap = Snapshot {
                version,
                text: d.text().to_string(),
                analysis,
                rel: d.rel.clone(),
                path: d.path.clone(),
            };
            Arc::new(lint_snapshot(state, &settings, &snap, false))
        }
    };
    let text = d.text();
    let index = d.index();
    let edit_for = |fs: &[&Finding]| {
        let mut edits: Vec<TextEdit> = fs
            .iter()
            .flat_map(|f| f.fix.iter().flat_map(|x| x.edits.iter()))
            .map(|e| TextEdit {
                range: index.range(text, e.range.clone()),
                new_text: e.new_text.clone(),
            })
            .collect();
        edits.sort_by_key(|e| (e.range.start.line, e.range.start.character));
        let mut changes = HashMap::new();
        changes.insert(uri.clone(), edits.clone());
        WorkspaceEdit {
            document_changes: Some(tower_lsp_server::ls_types::DocumentChanges::Edits(vec![
                TextDocumentEdit {
                    text_document: OptionalVersionedTextDocumentIdentifier {
                        uri: uri.clone(),
                        version: Some(version),
                    },
                    edits: edits.into_iter().map(tower_lsp_server::ls_types::OneOf::Left).collect(),
                },
            ])),
            ..Default::default()
        }
    };
    let mut out = Vec::new();
    let mut by_code: BTreeMap<Code, Vec<&Finding>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.fix.is_some()) {
        by_code.entry(f.code).or_default().push(f);
    }
    for f in findings.iter().filter(|f| f.fix.is_some()) {
        let touches = f.range.start <= range.end && range.start <= f.range.end;
        if !touches {
            continue;
        }
        let fix = f.fix.as_ref().expect("filtered");
        let saved = settings.tokens(f.tokens);
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: if f.tokens > 0 {
                format!("{} (saves {})", fix.title, plural_tokens(saved))
            } else {
                fix.title.clone()
            },
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: to_diagnostic(&settings, text, index, f).map(|d| vec![d]),
            edit: Some(edit_for(&[f])),
            is_preferred: Some(true),
            ..Default::default()
        }));
        let all = &by_code[&f.code];
        if all.len() > 1 && !out.iter().any(|a| matches!(a, CodeActionOrCommand::CodeAction(a) if a.title.starts_with(&format!("{} everywhere", fix.title)))) {
            let tokens: u64 = all.iter().map(|f| f.tokens).sum();
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!(
                    "{} everywhere in this file ({} places, saves {})",
                    fix.title,
                    all.len(),
                    plural_tokens(settings.tokens(tokens))
                ),
                kind: Some(CodeActionKind::QUICKFIX),
                edit: Some(edit_for(all)),
                ..Default::default()
            }));
        }
    }
    Ok(Some(out))
}

fn plural_tokens(t: promptmeter_core::TokenCount) -> String {
    if t.tokens == 1 {
        format!("{} token", t.display())
    } else {
        format!("{} tokens", t.display())
    }
}
