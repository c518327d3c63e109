//! Language-server benchmark through the real binary over stdio:
//! 1. didChange -> fresh inlay hints on a 1 MB prompt file (keystrokes every 25 ms, a pause
//!    every 50 so the background lint runs too): p50/p90/p99/max latency;
//! 2. resident memory with 50 open prompt documents.
//!
//! cargo build --release -p promptmeter
//! PROMPTMETER_BIN=$PWD/target/release/promptmeter cargo bench -p promptmeter-lsp --bench lsp_latency

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    id: i64,
}

impl Client {
    fn start(bin: &Path, root: &Path) -> Client {
        let mut child = Command::new(bin)
            .arg("lsp")
            .env("HOME", root)
            .env("XDG_CONFIG_HOME", root.join(".config"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start server");
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(v) = l.strip_prefix("Content-Length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut buf = vec![0; len];
                r.read_exact(&mut buf).unwrap();
                if tx.send(serde_json::from_slice(&buf).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            rx,
            id: 0,
        }
    }

    fn send(&mut self, v: Value) {
        let body = serde_json::to_vec(&v).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(&body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let v = self.rx.recv_timeout(Duration::from_secs(60)).expect("server reply");
            if v.get("method").is_some() && v.get("id").is_some() {
                let rid = v["id"].clone();
                self.send(json!({"jsonrpc": "2.0", "id": rid, "result": null}));
            } else if v["id"] == json!(id) {
                return v["result"].clone();
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

fn corpus_texts(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md" || x == "mdc") {
                out.push(std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out.sort();
    out
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let root_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = std::env::var("PROMPTMETER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root_dir.join("target/release/promptmeter"));
    let corpus = corpus_texts(&root_dir.join("tests/data/corpus"));
    let ws = std::env::temp_dir().join(format!("pm-lsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&ws).unwrap();
    let root_uri = format!("file://{}", ws.display());

    // 1 MB prompt file built from the corpus (its headings make ~1,000 sections)
    let mut big = String::new();
    while big.len() < 1024 * 1024 {
        for t in &corpus {
            big.push_str(t);
            big.push('\n');
        }
    }
    let mut c = Client::start(&bin, &ws);
    c.request(
        "initialize",
        json!({"processId": null, "rootUri": root_uri, "capabilities": {}}),
    );
    c.notify("initialized", json!({}));
    let rss_idle = c.rss_kib();
    let uri = format!("{root_uri}/CLAUDE.md");
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": big}}),
    );
    let lines = big.lines().count() as u32;
    let mid = lines / 2;
    let range = json!({"start": {"line": mid - 40, "character": 0}, "end": {"line": mid + 40, "character": 0}});
    let first = c.request(
        "textDocument/inlayHint",
        json!({"textDocument": {"uri": uri}, "range": range}),
    );
    assert!(first.as_array().is_some_and(|a| !a.is_empty()), "hints on the big file");
    let n = 600;
    let mut lat = Vec::with_capacity(n);
    let mut version = 1;
    for i in 0..n {
        version += 1;
        // type a character, then delete it: the document stays 1 MB
        let (range, text) = if i % 2 == 0 {
            (
                json!({"start": {"line": mid, "character": 0}, "end": {"line": mid, "character": 0}}),
                "x",
            )
        } else {
            (
                json!({"start": {"line": mid, "character": 0}, "end": {"line": mid, "character": 1}}),
                "",
            )
        };
        let t0 = Instant::now();
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": text}]}),
        );
        let hints = c.request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": uri}, "range": {"start": {"line": mid - 40, "character": 0}, "end": {"line": mid + 40, "character": 0}}}),
        );
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert!(hints.as_array().is_some_and(|a| !a.is_empty()));
        std::thread::sleep(Duration::from_millis(if i % 50 == 49 { 300 } else { 25 }));
    }
    let rss_big = c.rss_kib();
    let mut worst: Vec<(usize, f64)> = lat.iter().copied().enumerate().collect();
    worst.sort_by(|a, b| b.1.total_cmp(&a.1));
    let worst: Vec<String> = worst
        .iter()
        .take(8)
        .map(|(i, ms)| format!("#{i}: {ms:.1} ms"))
        .collect();
    println!("slowest keystrokes: {}", worst.join(", "));
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "didChange -> inlay hints, 1 MB file ({} bytes, {} lines), {n} keystrokes: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        big.len(),
        lines,
        pct(&lat, 0.5),
        pct(&lat, 0.9),
        pct(&lat, 0.99),
        lat[lat.len() - 1]
    );

    // 50 open documents: the 1 MB file above plus 49 corpus files
    let mut total_bytes = big.len();
    for (i, t) in corpus.iter().cycle().take(49).enumerate() {
        let uri = format!("{root_uri}/.claude/rules/doc{i}.md");
        total_bytes += t.len();
        c.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": t}}),
        );
        c.request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 9999, "character": 0}}}),
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss_50 = c.rss_kib();
    println!(
        "resident memory: idle {} KiB; 1 MB file open {} KiB; 50 open documents ({} bytes of text) {} KiB",
        rss_idle, rss_big, total_bytes, rss_50
    );
    c.request("shutdown", Value::Null);
    c.notify("exit", Value::Null);
    let _ = c.child.wait();
    let _ = std::fs::remove_dir_all(&ws);
}
