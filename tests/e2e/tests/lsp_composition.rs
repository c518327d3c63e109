//! `promptmeter/composition` and the `promptmeter.composition` command on a workspace with a
//! full Claude Code setup (user memory, imports, rules, subagents, commands, skills, MCP) and
//! a Codex AGENTS.md.

use promptmeter_e2e::lsp_client::{LspClient, TempDir};
use serde_json::{Value, json};

fn setup(ws: &TempDir, home: &TempDir) {
    home.write(".claude/CLAUDE.md", "# Me\nI prefer short answers.\n");
    ws.write("CLAUDE.md", "# Project\nSee @docs/style.md for style.\n");
    ws.write("docs/style.md", "# Style\nTabs, not spaces. Short functions.\n");
    ws.write(".claude/rules/testing.md", "# Testing\nEvery change has a test.\n");
    ws.write(
        ".claude/agents/reviewer.md",
        "---\nname: reviewer\ndescription: Reviews diffs for bugs and style problems\ntools: Read, Grep\n---\nYou are a meticulous reviewer. A long body that only loads when the subagent runs.\n",
    );
    ws.write(
        ".claude/commands/deploy.md",
        "---\ndescription: Deploy to staging\n---\nRun the deploy script.\n",
    );
    ws.write(
        ".claude/skills/pdf/SKILL.md",
        "---\nname: pdf\ndescription: Fill PDF forms\n---\nBody.\n",
    );
    ws.write(
        ".mcp.json",
        r#"{"mcpServers": {"search": {"command": "search-mcp", "tools": [{"name": "find", "description": "Find documents by keyword", "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}}}]}}}"#,
    );
    ws.write("AGENTS.md", "# Agents\nUse cargo. Run clippy before committing.\n");
}

fn names(v: &Value) -> Vec<(String, String)> {
    v["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["category"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn composition_of_a_claude_code_setup() {
    let mut c = LspClient::start_with(setup, Value::Null);
    let r = c
        .request("promptmeter/composition", json!({"model": null}))
        .expect("composition");
    assert_eq!(r["model"], "claude-sonnet-4-5");
    assert_eq!(r["agent"], "claude-code");
    assert_eq!(r["exact"], false);
    let total = r["totalTokens"].as_u64().unwrap();
    assert_eq!(
        r["freeTokens"].as_u64().unwrap(),
        r["contextWindow"].as_u64().unwrap() - total
    );
    let sum: u64 = r["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["category"] != "free")
        .map(|c| c["tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, total);
    assert_eq!(
        names(&r),
        [
            ("~/.claude/CLAUDE.md", "memory"),
            ("CLAUDE.md", "memory"),
            (".claude/rules/testing.md", "rules"),
            (".claude/agents/reviewer.md", "agents"),
            (".claude/commands/deploy.md", "commands"),
            (".claude/skills/pdf/SKILL.md", "skills"),
            (".mcp.json: mcpServers.search", "tools"),
            ("free", "free"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(
        r["children"][1]["children"][0]["name"], "docs/style.md",
        "imports are children"
    );
    insta::assert_json_snapshot!("composition_claude_code", c.redact(&r));
    c.finish();
}

#[test]
fn composition_command_for_codex() {
    let mut c = LspClient::start_with(setup, Value::Null);
    let r = c
        .request(
            "workspace/executeCommand",
            json!({"command": "promptmeter.composition", "arguments": [{"model": "gpt-5"}]}),
        )
        .expect("command");
    assert_eq!(r["agent"], "codex");
    assert_eq!(r["exact"], true);
    assert_eq!(
        names(&r),
        [
            ("AGENTS.md".to_string(), "memory".to_string()),
            ("free".into(), "free".into())
        ]
    );
    assert_eq!(r["agents"][0]["agent"], "claude-code");
    let explicit = c
        .request(
            "promptmeter/composition",
            json!({"model": "gpt-5", "agent": "claude-code"}),
        )
        .expect("composition");
    assert_eq!(explicit["agent"], "claude-code");
    c.finish();
}
