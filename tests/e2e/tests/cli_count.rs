//! `promptmeter count` through the real binary: per-file and per-section counts, costs per
//! send, window shares, JSON, `--max-tokens`, stdin, config defaults and overrides, and clear
//! errors (never a panic) for what cannot be counted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use promptmeter_e2e::{bin_path, corpus_dir};

/// An isolated working directory with its own (empty) user config dir.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("xdg")).unwrap();
        std::fs::create_dir_all(dir.path().join("project")).unwrap();
        Workspace { dir }
    }

    fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.project().join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Run `promptmeter ARGS` in the project directory, with `stdin` as standard input.
    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = Command::new(bin_path());
        cmd.args(args)
            .current_dir(self.project())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn promptmeter");
        let mut input = child.stdin.take().unwrap();
        let data = stdin.map(<[u8]>::to_vec).unwrap_or_default();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args, None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const DOC: &str = "---\nname: reviewer\n---\n\nIntro line.\n\n# Rules\nBe brief.\n\n## Tests\n```sh\n# not a heading\ncargo test\n```\n";

#[test]
fn text_output_lists_sections_models_costs_and_window_share() {
    let ws = Workspace::new();
    ws.write("AGENTS.md", DOC);
    let out = ws.run(
        &["count", "AGENTS.md", "--model", "claude-sonnet-4-5", "--model", "gpt-5"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn json_output_for_a_corpus_file() {
    let ws = Workspace::new();
    let file = corpus_dir().join("claude_md/microsoft__playwright/CLAUDE.md");
    let v = ws.json(&[
        "count",
        file.to_str().unwrap(),
        "-m",
        "gpt-4o",
        "-m",
        "claude-opus-4-8",
        "--json",
    ]);
    let f = &v["files"][0];
    // Sections tile the file and sum to its count.
    let sections = f["sections"].as_array().unwrap();
    let sum: u64 = sections.iter().map(|s| s["tokens"].as_u64().unwrap()).sum();
    assert_eq!(sum, f["tokens"].as_u64().unwrap());
    assert_eq!(sections.last().unwrap()["end"].as_u64(), f["bytes"].as_u64());
    // The exact model's count is the file's count; the estimate is marked as such.
    assert_eq!(f["models"][0]["tokens"], f["tokens"]);
    assert_eq!(f["models"][0]["exact"], true);
    assert_eq!(f["models"][1]["exact"], false);
    let mut redacted = v.clone();
    redacted["files"][0]["path"] = "CLAUDE.md".into();
    insta::assert_json_snapshot!(redacted);
}

#[test]
fn stdin_is_counted() {
    let ws = Workspace::new();
    let out = ws.run(&["count", "-", "--json", "-m", "gpt-4o"], Some(b"hello world"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["path"], "-");
    assert_eq!(v["files"][0]["tokens"], 2);
    // $2.5/M x 2 tokens
    assert_eq!(v["files"][0]["models"][0]["costPerSend"], "0.000005");
}

#[test]
fn max_tokens_exit_codes() {
    let ws = Workspace::new();
    ws.write("small.md", "hello world\n");
    ws.write("big.md", "word ".repeat(500));
    let ok = ws.run(&["count", "small.md", "--max-tokens", "100", "-m", "gpt-4o"], None);
    assert_eq!(ok.status.code(), Some(0));
    let over = ws.run(
        &["count", "small.md", "big.md", "--max-tokens", "100", "-m", "gpt-4o"],
        None,
    );
    assert_eq!(over.status.code(), Some(1), "{}", stdout(&over));
    assert!(stdout(&over).contains("OVER --max-tokens 100"), "{}", stdout(&over));
    // An estimated model's count is what is compared for that model.
    let v = ws.run(
        &[
            "count",
            "big.md",
            "--max-tokens",
            "100",
            "--json",
            "-m",
            "claude-sonnet-4-5",
        ],
        None,
    );
    assert_eq!(v.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(v["files"][0]["overMaxTokens"], true);
}

#[test]
fn unreadable_inputs_are_clear_errors() {
    let ws = Workspace::new();
    ws.write("good.md", "# Title\nbody\n");
    ws.write("binary.bin", [0x7f, b'E', b'L', b'F', 0, 0, 1, 2]);
    ws.write("latin1.md", b"caf\xe9\n");
    std::fs::create_dir_all(ws.project().join("adir")).unwrap();
    for (file, message) in [
        ("missing.md", "missing.md: no such file"),
        ("adir", "adir: is a directory"),
        ("binary.bin", "binary.bin: binary file"),
        ("latin1.md", "latin1.md: not valid UTF-8 (first bad byte at offset 3)"),
    ] {
        let out = ws.run(&["count", "good.md", file, "-m", "gpt-4o"], None);
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert!(stderr(&out).contains(message), "{file}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("good.md: "),
            "good files are still counted: {}",
            stdout(&out)
        );
    }
}

#[test]
fn unknown_models_are_reported_not_priced_at_zero() {
    let ws = Workspace::new();
    ws.write("a.md", "hi\n");
    let out = ws.run(&["count", "a.md", "-m", "gpt-4o", "-m", "claude-sonnet-9-9"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown model \"claude-sonnet-9-9\""),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn aliases_resolve_on_the_command_line() {
    let ws = Workspace::new();
    ws.write("a.md", "hi\n");
    let v = ws.json(&["count", "a.md", "--json", "-m", "us.anthropic.claude-opus-4-8-v1:0"]);
    assert_eq!(v["files"][0]["models"][0]["id"], "claude-opus-4-8");
}

#[test]
fn default_model_comes_from_project_config_with_overrides() {
    let ws = Workspace::new();
    ws.write("a.md", "hello world");
    ws.write(
        ".promptmeter.toml",
        "[models]\nactive = \"gpt-4o\"\n[models.overrides.\"gpt-4o\"]\ninput_cost_per_token = 1e-6\nmax_input_tokens = 1000\n",
    );
    std::fs::create_dir_all(ws.project().join("sub")).unwrap();
    std::fs::write(ws.project().join("sub/b.md"), "hello world").unwrap();
    let v = ws.json(&["count", "a.md", "sub/b.md", "--json"]);
    for f in v["files"].as_array().unwrap() {
        let m = &f["models"][0];
        assert_eq!(m["id"], "gpt-4o");
        assert_eq!(m["costPerSend"], "0.000002", "2 tokens x $1/M (overridden)");
        assert_eq!(m["contextWindow"], 1000);
        assert_eq!(m["windowShare"], 0.002);
    }
}

#[test]
fn user_config_and_catalog_file() {
    let ws = Workspace::new();
    ws.write("a.md", "hello world");
    let catalog = ws.write(
        "newer.json",
        r#"{"brand-new-model": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 3e-6,
            "output_cost_per_token": 1e-5, "max_input_tokens": 400000}}"#,
    );
    let user = ws.dir.path().join("xdg/promptmeter");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(
        user.join("config.toml"),
        format!(
            "[models]\nactive = \"brand-new-model\"\ncatalog_file = {:?}\n",
            catalog.display().to_string()
        ),
    )
    .unwrap();
    let v = ws.json(&["count", "a.md", "--json"]);
    assert_eq!(v["files"][0]["models"][0]["costPerSend"], "0.000006");
    // The catalog file replaces the bundled one: bundled ids are unknown now.
    let out = ws.run(&["count", "a.md", "-m", "claude-sonnet-4-5"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_config_is_a_clear_error() {
    let ws = Workspace::new();
    ws.write("a.md", "x");
    ws.write(".promptmeter.toml", "[models\nactive = 1\n");
    let out = ws.run(&["count", "a.md"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(".promptmeter.toml"), "{}", stderr(&out));
}

#[test]
fn pathological_inputs_never_panic() {
    let ws = Workspace::new();
    let mb = 1 << 20;
    for (name, text) in [
        ("spaces", " ".repeat(mb)),
        ("letter", "a".repeat(mb)),
        ("cjk", "日本語の文章".repeat(mb / 18)),
        ("tokens", "<|endoftext|>".repeat(mb / 13)),
    ] {
        let out = ws.run(&["count", "-", "--json", "-m", "gpt-4o"], Some(text.as_bytes()));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["files"][0]["tokens"].as_u64().unwrap() > 0, "{name}");
    }
}

#[test]
fn every_corpus_file_counts() {
    let ws = Workspace::new();
    let mut files = Vec::new();
    collect(&corpus_dir(), &mut files);
    let args: Vec<String> = ["count", "--json", "--no-sections", "-m", "gpt-4o"]
        .into_iter()
        .map(String::from)
        .chain(files.iter().map(|p| p.display().to_string()))
        .collect();
    let out = ws.run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"].as_array().unwrap().len(), files.len());
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
    out.sort();
}
