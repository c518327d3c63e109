//! End-to-end tests of `promptmeter lsp`: the real binary over stdio, replies snapshotted.

use promptmeter_e2e::corpus_dir;
use promptmeter_e2e::lsp_client::{LspClient, apply_workspace_edit};
use serde_json::{Value, json};

fn corpus(rel: &str) -> String {
    std::fs::read_to_string(corpus_dir().join(rel)).expect("corpus file")
}

fn labels(hints: &Value) -> Vec<String> {
    hints
        .as_array()
        .expect("hints")
        .iter()
        .map(|h| h["label"].as_str().expect("string label").to_string())
        .collect()
}

fn codes(diags: &Value) -> Vec<String> {
    diags
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn inlay_hints_on_a_corpus_claude_md() {
    let mut c = LspClient::start();
    let text = corpus("claude_md/microsoft__playwright/CLAUDE.md");
    let uri = c.open("CLAUDE.md", &text);
    let hints = c.inlay_hints(&uri, text.lines().count() as u32 + 1);
    insta::assert_json_snapshot!("playwright_claude_md_hints", c.redact(&hints));
    let diags = c.diagnostics(&uri, 1);
    insta::assert_json_snapshot!("playwright_claude_md_diagnostics", c.redact(&diags));
    c.finish();
}

#[test]
fn inlay_hints_follow_typing() {
    let mut c = LspClient::start();
    c.ignore("textDocument/publishDiagnostics");
    let uri = c.open("AGENTS.md", "# Build\nRun make.\n");
    let before = labels(&c.inlay_hints(&uri, 10));
    assert_eq!(before.len(), 2, "{before:?}");
    c.change(
        &uri,
        2,
        [(2, 0), (2, 0)],
        "## Test\nRun make test with the race detector on, always, in every package.\n",
    );
    let after = labels(&c.inlay_hints(&uri, 10));
    assert_eq!(after.len(), 3, "{after:?}");
    assert_ne!(before[0], after[0], "the total follows the edit");
    assert_eq!(before[1], after[1], "the untouched section keeps its count");
    insta::assert_json_snapshot!("typing_hints", after);
    c.finish();
}

#[test]
fn other_documents_get_nothing() {
    let mut c = LspClient::start();
    let uri = c.open("README.md", "# Readme\nhello   \n\n\n\n\nworld\n");
    assert_eq!(c.inlay_hints(&uri, 10), Value::Null);
    assert_eq!(c.hover(&uri, 0, 1), Value::Null);
    let src = c.open("src/main.rs", "fn main() {}\n");
    assert_eq!(c.inlay_hints(&src, 10), Value::Null);
    // finish() fails if any diagnostics were published for these documents
    c.finish();
}

#[test]
fn hover_table_across_models() {
    let mut c = LspClient::start();
    c.ignore("textDocument/publishDiagnostics");
    let text = "# Rules\nAlways run the tests.\n\n## Examples\nInput: 2+2\nOutput: 4\n";
    let uri = c.open(".claude/rules/testing.md", text);
    let heading = c.hover(&uri, 3, 4);
    insta::assert_json_snapshot!("hover_examples_section", heading);
    let total = c.hover(&uri, 0, 0);
    let md = total["contents"]["value"].as_str().expect("markdown");
    assert!(
        md.contains("**Whole file** (.claude/rules/testing.md): a rule file"),
        "{md}"
    );
    assert!(md.contains("| **claude-sonnet-4-5** (active) |"), "{md}");
    assert!(md.contains("gpt-5"), "{md}");
    assert_eq!(c.hover(&uri, 1, 3), Value::Null, "body lines have no hover");
    c.finish();
}

const BLOATED: &str = "# Project   \n\
Use pnpm for everything in this repository, never npm or yarn, and keep the lockfile committed.\n\
\n\
\n\
\t\n\
\n\
| Command      | What          |\n\
|--------------|---------------|\n\
| pnpm build   | builds        |\n\
\n\
Logo: data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\n\
\n\
## Style 🚀✨\n\
Write\u{200B}clear code.\n\
\n\
Use pnpm for everything in this repository, never npm or yarn, and keep the lockfile committed.\n\
\n\
See @docs/missing.md and @docs/a.md.\n";

fn bloated_workspace(ws: &promptmeter_e2e::lsp_client::TempDir) {
    ws.write("docs/a.md", "Part A imports @b.md\n");
    ws.write("docs/b.md", "Part B imports @../CLAUDE.md\n");
    ws.write("CLAUDE.md", BLOATED);
}

#[test]
fn diagnostics_are_priced_and_coded() {
    let mut c = LspClient::start_with(|ws, _| bloated_workspace(ws), Value::Null);
    let uri = c.open("CLAUDE.md", BLOATED);
    let diags = c.diagnostics(&uri, 1);
    assert_eq!(
        codes(&diags),
        [
            "whitespace",
            "blank-lines",
            "table-padding",
            "blob",
            "poor-tokenization",
            "invisible-character",
            "duplicate",
            "import-missing",
            "import-cycle"
        ]
    );
    for d in diags.as_array().unwrap() {
        let m = d["message"].as_str().unwrap();
        if !d["code"].as_str().unwrap().starts_with("import") {
            assert!(
                m.contains(" token") && m.contains("per send on claude-sonnet-4-5"),
                "{m}"
            );
        }
    }
    insta::assert_json_snapshot!("bloated_diagnostics", c.redact(&diags));
    c.finish();
}

#[test]
fn quick_fixes_leave_the_rest_byte_identical() {
    let mut c = LspClient::start_with(|ws, _| bloated_workspace(ws), Value::Null);
    let uri = c.open("CLAUDE.md", BLOATED);
    let diags = c.diagnostics(&uri, 1);
    let mut titles = Vec::new();
    for d in diags.as_array().unwrap().clone() {
        if !d["data"]["fixable"].as_bool().unwrap() {
            continue;
        }
        let r = &d["range"];
        let actions = c.code_actions(
            &uri,
            [
                (
                    r["start"]["line"].as_u64().unwrap() as u32,
                    r["start"]["character"].as_u64().unwrap() as u32,
                ),
                (
                    r["end"]["line"].as_u64().unwrap() as u32,
                    r["end"]["character"].as_u64().unwrap() as u32,
                ),
            ],
        );
        let action = actions
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["diagnostics"][0]["code"] == d["code"])
            .unwrap_or_else(|| panic!("no fix for {d}"))
            .clone();
        assert_eq!(action["kind"], "quickfix");
        assert_eq!(action["edit"]["documentChanges"][0]["textDocument"]["version"], 1);
        titles.push(action["title"].as_str().unwrap().to_string());
        let fixed = apply_workspace_edit(BLOATED, &action["edit"]);
        let expected = match d["code"].as_str().unwrap() {
            "whitespace" => BLOATED.replacen("# Project   \n", "# Project\n", 1),
            "blank-lines" => BLOATED.replacen("committed.\n\n\n\t\n\n|", "committed.\n\n|", 1),
            "table-padding" => BLOATED.replacen(
                "| Command      | What          |\n|--------------|---------------|\n| pnpm build   | builds        |",
                "| Command | What |\n| --- | --- |\n| pnpm build | builds |",
                1,
            ),
            "invisible-character" => BLOATED.replacen('\u{200B}', "", 1),
            "duplicate" => BLOATED.replacen(
                "\nUse pnpm for everything in this repository, never npm or yarn, and keep the lockfile committed.\n\nSee",
                "\nSee",
                1,
            ),
            other => panic!("unexpected fixable code {other}"),
        };
        assert_eq!(fixed, expected, "fix for {}", d["code"]);
    }
    insta::assert_json_snapshot!("quick_fix_titles", titles);
    c.finish();
}

#[test]
fn duplicates_across_files_one_agent_loads() {
    let shared = "Never commit secrets: keys live in the vault and are injected at deploy time only.";
    let mut c = LspClient::start_with(
        |ws, _| {
            ws.write(".claude/rules/security.md", format!("# Security\n\n{shared}\n"));
        },
        Value::Null,
    );
    let uri = c.open("CLAUDE.md", &format!("# Rules\n\n{shared}\n\nOther text.\n"));
    let diags = c.diagnostics(&uri, 1);
    assert_eq!(codes(&diags), ["duplicate-across-files"]);
    assert!(
        diags[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Duplicate passage: also in .claude/rules/security.md (line 3), loaded in the same context: ")
    );
    c.finish();
}

#[test]
fn configuration_from_file_init_options_and_changes() {
    let mut c = LspClient::start_with(
        |ws, _| {
            ws.write(
                ".promptmeter.toml",
                "[lsp.severity]\nwhitespace = \"off\"\n[lsp.lint]\nsection_max_tokens = 5\n",
            );
        },
        json!({"lsp": {"extra_documents": ["notes/*.md"]}}),
    );
    let uri = c.open(
        "notes/plan.md",
        "# Plan   \none two three four five six seven eight nine ten\n",
    );
    let diags = c.diagnostics(&uri, 1);
    assert_eq!(
        codes(&diags),
        ["section-over-budget"],
        "whitespace is off; notes/ selected"
    );
    let hints = labels(&c.inlay_hints(&uri, 5));
    assert!(hints[1].starts_with('≈'), "Claude counts are estimates: {hints:?}");
    // switch the model from the editor: exact o200k counts, no ≈
    c.notify("workspace/didChangeConfiguration", json!({"settings": {"promptmeter": {"models": {"active": "gpt-5"}, "lsp": {"extra_documents": ["notes/*.md"], "severity": {"section-over-budget": "error"}}}}}));
    c.take("workspace/inlayHint/refresh", |_| true);
    let diags = c.diagnostics(&uri, 1);
    assert_eq!(diags[0]["severity"], 1);
    assert!(diags[0]["message"].as_str().unwrap().contains("per send on gpt-5"));
    let hints = labels(&c.inlay_hints(&uri, 5));
    assert!(!hints[1].starts_with('≈'), "{hints:?}");
    c.finish();
}

#[test]
fn set_model_command_and_refresh() {
    let mut c = LspClient::start();
    c.ignore("textDocument/publishDiagnostics");
    let uri = c.open("GEMINI.md", "# Notes\nshort\n");
    let r = c.request(
        "workspace/executeCommand",
        json!({"command": "promptmeter.setModel", "arguments": ["gpt-4o"]}),
    );
    assert_eq!(r, Ok(json!("gpt-4o")));
    let hints = labels(&c.inlay_hints(&uri, 5));
    assert!(hints[0].contains("128k window"), "{hints:?}");
    let bad = c.request(
        "workspace/executeCommand",
        json!({"command": "promptmeter.setModel", "arguments": ["no-such-model"]}),
    );
    assert!(bad.is_err());
    c.take("workspace/inlayHint/refresh", |_| true);
    c.finish();
}

#[test]
fn agent_configs_show_prompt_values() {
    let mut c = LspClient::start();
    c.ignore("textDocument/publishDiagnostics");
    let text = corpus("configs/PostHog__posthog/.mcp.json");
    let uri = c.open(".mcp.json", &text);
    let hints = c.inlay_hints(&uri, 200);
    insta::assert_json_snapshot!("posthog_mcp_json_hints", hints);
    let tools = "{\n  \"system\": \"You are a careful reviewer.\",\n  \"tools\": [{\"name\": \"grep\", \"description\": \"Search files\", \"input_schema\": {\"type\": \"object\", \"properties\": {\"q\": {\"type\": \"string\"}}}}]\n}\n";
    let uri = c.open(".claude/settings.json", tools);
    let hints = labels(&c.inlay_hints(&uri, 20));
    assert_eq!(hints.len(), 4, "total, system, description, schema: {hints:?}");
    let hover = c.hover(&uri, 1, 4);
    let md = hover["contents"]["value"].as_str().unwrap();
    assert!(
        md.starts_with("**system**: system prompt of an agent configuration"),
        "{md}"
    );
    c.finish();
}

#[test]
fn file_over_budget_uses_each_agents_limit() {
    let mut c = LspClient::start();
    // Claude Code warns above 40,000 characters of CLAUDE.md: a corpus file repeated past it
    let unit = corpus("claude_md/astral-sh__ruff/CLAUDE.md");
    let mut big = String::new();
    while big.chars().count() <= 40_000 {
        big.push_str(&unit);
    }
    let uri = c.open("CLAUDE.md", &big);
    let diags = c.diagnostics(&uri, 1);
    let over: Vec<&Value> = diags
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "file-over-budget")
        .collect();
    assert_eq!(over.len(), 1, "{diags}");
    let m = over[0]["message"].as_str().unwrap();
    assert!(
        m.contains("above Claude Code's 40,000 character warning for CLAUDE.md"),
        "{m}"
    );
    // the range starts after the first 40,000 characters
    let byte = big.char_indices().nth(40_000).unwrap().0;
    let line = big[..byte].matches('\n').count();
    let line_start = big[..byte].rfind('\n').map_or(0, |i| i + 1);
    let character = big[line_start..byte].encode_utf16().count();
    assert_eq!(over[0]["range"]["start"], json!({"line": line, "character": character}));
    // Codex stops reading AGENTS.md at 32 KiB
    let agents = "Use the workspace's scripts for every task; never call tools directly.\n".repeat(500);
    let uri = c.open("AGENTS.md", &agents);
    let diags = c.diagnostics(&uri, 1);
    let over: Vec<&Value> = diags
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "file-over-budget")
        .collect();
    assert_eq!(over.len(), 1);
    assert!(
        over[0]["message"]
            .as_str()
            .unwrap()
            .contains("Codex stops reading the AGENTS.md chain at 32,768 bytes")
    );
    assert_eq!(over[0]["range"]["start"]["line"], 32768 / 71);
    // and a very long table
    let mut table = "# Data\n| k | v |\n| --- | --- |\n".to_string();
    for i in 0..60 {
        table.push_str(&format!("| key{i} | value {i} |\n"));
    }
    let uri = c.open(".claude/rules/data.md", &table);
    let diags = c.diagnostics(&uri, 1);
    assert!(codes(&diags).contains(&"long-table".to_string()), "{diags}");
    c.finish();
}

#[test]
fn keystrokes_apply_in_order() {
    let mut c = LspClient::start();
    c.ignore("textDocument/publishDiagnostics");
    let uri = c.open("CLAUDE.md", "intro\n");
    let typed = "# Typed heading, one didChange per character: ordering matters 😀 日本";
    let mut col = 0u32;
    for (i, ch) in typed.chars().enumerate() {
        c.change(&uri, i as i32 + 2, [(1, col), (1, col)], &ch.to_string());
        col += ch.len_utf16() as u32;
    }
    let hints = c.inlay_hints(&uri, 5);
    let heading = hints
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["position"]["line"] == 1)
        .unwrap_or_else(|| panic!("a hint on the typed heading: {hints}"));
    let tooltip = heading["tooltip"].as_str().expect("tooltip");
    assert!(tooltip.starts_with(&format!("{}: ", &typed[2..])), "{tooltip}");
    assert_eq!(heading["position"], json!({"line": 1, "character": col}));
    c.finish();
}

#[test]
fn codex_chain_budget_counts_the_global_agents_md() {
    let mut c = LspClient::start_with(
        |_, home| {
            home.write(".codex/AGENTS.md", "Global rule, short and plain.\n".repeat(200));
        },
        Value::Null,
    );
    // 32,000 bytes: under 32 KiB alone, over it after the 6,000-byte global file
    let text: String = (0..1000)
        .map(|i| format!("Rule {i:05}: prefer plain words.\n"))
        .collect();
    assert_eq!(text.len(), 32_000);
    let uri = c.open("AGENTS.md", &text);
    let diags = c.diagnostics(&uri, 1);
    let over: Vec<&Value> = diags
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "file-over-budget")
        .collect();
    assert_eq!(over.len(), 1, "{diags}");
    let m = over[0]["message"].as_str().unwrap();
    assert!(
        m.starts_with("File over budget: 32,000 bytes (after 6,000 bytes earlier in the chain); Codex stops reading"),
        "{m}"
    );
    assert_eq!(
        over[0]["range"]["start"],
        json!({"line": (32_768 - 6_000) / 32, "character": (32_768 - 6_000) % 32})
    );
    c.finish();
}
