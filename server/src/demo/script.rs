//! The agent session the demo replays: a coding agent (Claude, streaming) fixing a bug over a
//! dozen tool calls, so its context grows turn by turn with tool results; a subagent exploring
//! on a cheaper model; title/heartbeat calls that a task rule reroutes; and a Codex-style
//! reviewer on OpenAI (streaming with usage). Content is generated, sized like the real thing.

use serde_json::{Value, json};

/// Which wire API a step speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Anthropic,
    OpenAiChat,
}

/// One request of the session.
#[derive(Debug, Clone)]
pub struct Step {
    pub wire: Wire,
    pub session: &'static str,
    /// Pause before sending, in milliseconds at speed 1.
    pub pause_ms: u64,
    /// Output tokens the simulated model answers with.
    pub output_tokens: u64,
    /// `x-promptmeter-task` (task rules).
    pub task: Option<&'static str>,
    pub body: Value,
    /// What the narrator prints.
    pub note: String,
}

const SYSTEM: &str = "You are an interactive coding agent working in the user's repository. Use the \
tools to read, search and edit files and to run commands. Be concise; show your work through \
tool calls, not prose.\n\n";

/// A CLAUDE.md-like project memory, a few thousand tokens, as agents send on every request.
fn project_memory() -> String {
    let mut s = String::from(SYSTEM);
    s.push_str("# CLAUDE.md\n\n## Project\ncsvkit-rs: a streaming CSV importer for the billing pipeline. ");
    s.push_str("Crates: `csv-core` (tokenizer), `importer` (schema mapping), `cli`.\n\n## Rules\n");
    let rules = [
        "Run `cargo test --workspace` before claiming a fix; paste the failing test first.",
        "Never change the public API of `csv-core` without a changelog entry.",
        "Errors: `thiserror` in libraries, `anyhow` in the binary; no `unwrap` outside tests.",
        "Keep functions under 60 lines; split parsing from I/O.",
        "Property tests live next to the code (`proptest`), fixtures in `tests/data/`.",
        "Quoted fields may contain newlines, quotes (doubled) and the delimiter.",
        "Use `memchr` for scanning; no regex in the hot path.",
        "Commit messages: imperative mood, one line under 72 characters, then a blank line.",
    ];
    for (i, r) in rules.iter().enumerate() {
        s.push_str(&format!("{}. {r}\n", i + 1));
    }
    s.push_str("\n## Style\n");
    for topic in [
        "naming",
        "modules",
        "tests",
        "docs",
        "performance",
        "errors",
        "logging",
        "unsafe",
    ] {
        s.push_str(&format!(
            "### {topic}\nFollow the existing {topic} conventions of the crate you are editing. When in \
             doubt about {topic}, read two neighbouring files and copy what they do; do not invent a \
             new convention for {topic} in a bug fix. Reviewers reject changes that mix a {topic} \
             clean-up with a behaviour change, so keep them in separate commits.\n\n"
        ));
    }
    s
}

fn tool(name: &str, what: &str, params: Value) -> Value {
    json!({
        "name": name,
        "description": format!("{what} {}", "Use it whenever it is the most direct way to make progress; prefer it over asking the user. Output is truncated at 30,000 characters. ".repeat(3)),
        "input_schema": {"type": "object", "properties": params, "required": []},
    })
}

fn tools() -> Value {
    json!([
        tool(
            "bash",
            "Run a shell command in the repository and return stdout and stderr.",
            json!({"command": {"type": "string", "description": "the command line"}, "timeout": {"type": "integer"}})
        ),
        tool(
            "read_file",
            "Read a file of the repository, with line numbers.",
            json!({"path": {"type": "string"}, "offset": {"type": "integer"}, "limit": {"type": "integer"}})
        ),
        tool(
            "edit_file",
            "Replace an exact string in a file with another.",
            json!({"path": {"type": "string"}, "old": {"type": "string"}, "new": {"type": "string"}})
        ),
        tool(
            "grep",
            "Search the repository with a regular expression (ripgrep).",
            json!({"pattern": {"type": "string"}, "glob": {"type": "string"}})
        ),
        tool(
            "todo_write",
            "Keep a short todo list for the task.",
            json!({"items": {"type": "array", "items": {"type": "string"}}})
        ),
    ])
}

/// Plausible Rust source of `lines` lines.
fn source(file: &str, lines: usize) -> String {
    let mut s = format!("// {file}\n");
    for i in 0..lines {
        let line = match i % 9 {
            0 => format!("/// Reads field {i} of the record, honouring quotes and escapes."),
            1 => format!("pub fn field_{i}(input: &[u8], pos: &mut usize) -> Result<Field, ParseError> {{"),
            2 => "    let start = *pos;".to_string(),
            3 => "    while let Some(&b) = input.get(*pos) {".to_string(),
            4 => "        if b == b'\"' { in_quotes = !in_quotes; } else if b == b'\\n' && !in_quotes { break; }"
                .to_string(),
            5 => "        *pos += 1;".to_string(),
            6 => "    }".to_string(),
            7 => format!("    Ok(Field::new(&input[start..*pos], {i}))"),
            _ => "}".to_string(),
        };
        s.push_str(&format!("{:>4}  {line}\n", i + 1));
    }
    s
}

fn test_run(failing: bool, tests: usize) -> String {
    let mut s = String::from("   Compiling csv-core v0.4.2\n   Compiling importer v0.4.2\n    Finished test profile\n");
    for i in 0..tests {
        let ok = !(failing && i % 17 == 3);
        s.push_str(&format!(
            "test reader::tests::record_{i:03}_{} ... {}\n",
            ["quoted", "plain", "crlf", "bom", "escaped"][i % 5],
            if ok { "ok" } else { "FAILED" }
        ));
    }
    if failing {
        s.push_str("\n---- reader::tests::record_003_crlf stdout ----\nthread panicked at src/reader.rs:212:9:\nassertion `left == right` failed\n  left: 2\n right: 3\n");
    }
    s
}

fn grep_hits(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "csv-core/src/reader.rs:{}:    if b == b'\"' {{ in_quotes = !in_quotes; }}\n",
                40 + i * 7
            )
        })
        .collect()
}

fn diff(lines: usize) -> String {
    let mut s = String::from("diff --git a/csv-core/src/reader.rs b/csv-core/src/reader.rs\n@@ -205,12 +205,19 @@\n");
    for i in 0..lines {
        s.push_str(&match i % 3 {
            0 => format!("-        if b == b'\\n' {{ break; }} // {i}\n"),
            1 => format!("+        if b == b'\\n' && !in_quotes {{ break; }} // {i}\n"),
            _ => "         *pos += 1;\n".to_string(),
        });
    }
    s
}

/// The main agent's actions: (tool, input, result, output tokens of the call that chose it).
fn actions() -> Vec<(&'static str, Value, String, u64)> {
    vec![
        (
            "todo_write",
            json!({"items": ["reproduce", "find the newline handling", "fix", "test"]}),
            "ok".into(),
            160,
        ),
        (
            "grep",
            json!({"pattern": "in_quotes", "glob": "*.rs"}),
            grep_hits(24),
            120,
        ),
        (
            "read_file",
            json!({"path": "csv-core/src/reader.rs"}),
            source("csv-core/src/reader.rs", 260),
            140,
        ),
        (
            "bash",
            json!({"command": "cargo test -p csv-core"}),
            test_run(true, 120),
            180,
        ),
        (
            "read_file",
            json!({"path": "csv-core/src/quote.rs"}),
            source("csv-core/src/quote.rs", 180),
            150,
        ),
        (
            "edit_file",
            json!({"path": "csv-core/src/reader.rs", "old": "if b == b'\\n' {", "new": "if b == b'\\n' && !in_quotes {"}),
            "edited 1 occurrence".into(),
            420,
        ),
        (
            "bash",
            json!({"command": "cargo test -p csv-core"}),
            test_run(false, 120),
            160,
        ),
        (
            "read_file",
            json!({"path": "importer/tests/import.rs"}),
            source("importer/tests/import.rs", 200),
            170,
        ),
        (
            "edit_file",
            json!({"path": "importer/tests/import.rs", "old": "// quoted", "new": "#[test] fn quoted_newline() { .. }"}),
            "edited 1 occurrence".into(),
            650,
        ),
        (
            "bash",
            json!({"command": "cargo test --workspace"}),
            test_run(false, 260),
            150,
        ),
        (
            "bash",
            json!({"command": "cargo clippy --workspace -- -D warnings"}),
            "    Checking csv-core v0.4.2\n    Finished dev profile\n".into(),
            130,
        ),
        (
            "bash",
            json!({"command": "git diff --stat"}),
            " csv-core/src/reader.rs   | 9 ++++++---\n importer/tests/import.rs | 14 ++++++++++++++\n".into(),
            900,
        ),
    ]
}

/// The whole session, in order.
pub fn session() -> Vec<Step> {
    let system = project_memory();
    let tools = tools();
    let mut messages = vec![
        json!({"role": "user", "content": "Rows with a quoted newline are split in two by the importer (see issue #212). Find the cause and fix it, with a test."}),
    ];
    let mut steps = Vec::new();
    let main_model = "claude-opus-4-1";
    let push_main = |steps: &mut Vec<Step>, messages: &Vec<Value>, output: u64, stream: bool, note: String| {
        steps.push(Step {
            wire: Wire::Anthropic,
            session: "agent-main",
            pause_ms: 1400,
            output_tokens: output,
            task: None,
            body: json!({"model": main_model, "max_tokens": 8192, "stream": stream, "system": system, "tools": tools, "messages": messages}),
            note,
        });
    };
    let acts = actions();
    push_main(&mut steps, &messages, acts[0].3, true, "agent: reads the task".into());
    for (i, (name, input, result, _)) in acts.iter().enumerate() {
        let id = format!("toolu_{i:02}");
        messages.push(json!({"role": "assistant", "content": [
            {"type": "text", "text": format!("Step {}: {name}.", i + 1)},
            {"type": "tool_use", "id": id, "name": name, "input": input}]}));
        messages
            .push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": result}]}));
        let output = acts.get(i + 1).map_or(700, |a| a.3);
        push_main(
            &mut steps,
            &messages,
            output,
            i % 3 != 2,
            format!("agent: {name} result ({} bytes)", result.len()),
        );
        match i {
            // a title/heartbeat call, which the task rule sends to the cheapest model
            1 | 6 | 10 => steps.push(Step {
                wire: Wire::Anthropic,
                session: "agent-main",
                pause_ms: 300,
                output_tokens: 12,
                task: Some("heartbeat"),
                body: json!({"model": "claude-sonnet-4-5", "max_tokens": 32, "stream": false,
                    "system": "Write a 3-6 word title for this coding session.",
                    "messages": [{"role": "user", "content": messages[0]["content"]}]}),
                note: "heartbeat: session title".into(),
            }),
            // a subagent explores on a mid-priced model
            3 => {
                for (j, f) in ["importer/src/map.rs", "importer/src/schema.rs"].iter().enumerate() {
                    steps.push(Step {
                        wire: Wire::Anthropic,
                        session: "subagent-explore",
                        pause_ms: 600,
                        output_tokens: 350,
                        task: None,
                        body: json!({"model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": true,
                            "system": "You are a read-only explorer subagent. Report file purposes in 5 bullets.",
                            "tools": [tools[1].clone()],
                            "messages": [{"role": "user", "content": format!("Summarize {f}:\n{}", source(f, 120 + 60 * j))}]}),
                        note: format!("subagent: explores {f}"),
                    });
                }
            }
            // a Codex-style reviewer on OpenAI
            5 | 9 => {
                let lines = if i == 5 { 30 } else { 90 };
                steps.push(Step {
                    wire: Wire::OpenAiChat,
                    session: "codex-review",
                    pause_ms: 800,
                    output_tokens: if i == 5 { 600 } else { 1100 },
                    task: None,
                    body: json!({"model": "gpt-5", "stream": true, "stream_options": {"include_usage": true},
                        "messages": [
                            {"role": "system", "content": format!("You review diffs for correctness and style.\n{}", "Flag behaviour changes without tests. ".repeat(60))},
                            {"role": "user", "content": format!("Review this diff:\n{}", diff(lines))}]}),
                    note: "codex: reviews the diff (gpt-5, reasoning)".into(),
                });
            }
            _ => {}
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_context_grows_every_turn_and_every_kind_of_step_is_there() {
        let steps = session();
        let main: Vec<usize> = steps
            .iter()
            .filter(|s| s.session == "agent-main" && s.task.is_none())
            .map(|s| s.body.to_string().len())
            .collect();
        assert!(main.len() >= 12);
        assert!(main.windows(2).all(|w| w[1] > w[0]), "context grows: {main:?}");
        assert!(steps.iter().any(|s| s.wire == Wire::OpenAiChat));
        assert!(steps.iter().any(|s| s.task == Some("heartbeat")));
        assert!(steps.iter().any(|s| s.session == "subagent-explore"));
        assert!(steps.iter().any(|s| s.body["stream"] == false));
    }
}
