//! A typed LSP client for end-to-end tests: starts the real `promptmeter lsp` binary with an
//! isolated HOME and workspace, speaks JSON-RPC over its stdio, answers the server's requests,
//! and queues its notifications. `finish()` shuts the server down, reads it to the end and
//! fails the test if a server message was left unread (logs excepted); a client dropped
//! without `finish()` kills the server.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use serde_json::{Value, json};

/// How long to wait for any one server message before declaring the server stuck. A safety
/// net against hangs, not a performance assertion.
const PATIENCE: Duration = Duration::from_secs(60);

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "pm-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p.canonicalize().expect("canonical temp dir"))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Write `rel` (creating directories) and return its absolute path.
    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `file://` URI of a path (percent-encoding the few characters tests use).
pub fn file_uri(p: &Path) -> String {
    let s = p.to_string_lossy().replace('%', "%25").replace(' ', "%20");
    format!("file://{s}")
}

enum Incoming {
    Message(Value),
    Eof,
}

pub struct LspClient {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Incoming>,
    next_id: i64,
    /// Server notifications and requests not yet taken by the test.
    unread: VecDeque<Value>,
    /// Methods whose notifications the test does not care about.
    ignored: Vec<String>,
    pub workspace: TempDir,
    pub home: TempDir,
    finished: bool,
    eof: bool,
    /// Settings returned for workspace/configuration requests.
    pub configuration: Value,
}

impl LspClient {
    /// Start the server with a fresh workspace and HOME (nothing initialized yet).
    pub fn spawn() -> LspClient {
        let workspace = TempDir::new("ws");
        let home = TempDir::new("home");
        let mut child = Command::new(crate::bin_path())
            .arg("lsp")
            .current_dir(workspace.path())
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            // and no ledger or learned calibration from the machine either
            .env("XDG_DATA_HOME", home.path().join(".local").join("share"))
            .env_remove("PROMPTMETER_CONFIG")
            .env("PROMPTMETER_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start promptmeter lsp");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    match r.read_line(&mut line) {
                        Ok(0) | Err(_) => {
                            let _ = tx.send(Incoming::Eof);
                            return;
                        }
                        Ok(_) => {}
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length:") {
                        len = v.trim().parse::<usize>().ok();
                    }
                }
                let Some(len) = len else {
                    let _ = tx.send(Incoming::Eof);
                    return;
                };
                let mut buf = vec![0; len];
                if r.read_exact(&mut buf).is_err() {
                    let _ = tx.send(Incoming::Eof);
                    return;
                }
                let v: Value = serde_json::from_slice(&buf).expect("server sent invalid JSON");
                if tx.send(Incoming::Message(v)).is_err() {
                    return;
                }
            }
        });
        LspClient {
            child,
            stdin,
            rx,
            next_id: 1,
            unread: VecDeque::new(),
            ignored: vec!["window/logMessage".into(), "$/logTrace".into()],
            workspace,
            home,
            finished: false,
            eof: false,
            configuration: Value::Null,
        }
    }

    /// Start and initialize with `initializationOptions` (client capabilities of a modern
    /// editor: inlay hints with refresh, workspace configuration, UTF-16 positions).
    /// The proxy feed is off unless `init_options` sets `lsp.feed_url` (no test may depend on a
    /// proxy that happens to run on the machine).
    pub fn start_with(setup: impl FnOnce(&TempDir, &TempDir), init_options: Value) -> LspClient {
        let mut init_options = if init_options.is_object() {
            init_options
        } else {
            json!({})
        };
        if init_options["lsp"]["feed_url"].is_null() {
            let lsp = init_options
                .as_object_mut()
                .expect("object")
                .entry("lsp")
                .or_insert_with(|| json!({}));
            lsp["feed_url"] = json!("");
        }
        let mut c = LspClient::spawn();
        setup(&c.workspace, &c.home);
        let root = file_uri(c.workspace.path());
        let caps = json!({
            "general": {"positionEncodings": ["utf-16"]},
            "workspace": {"configuration": true, "inlayHint": {"refreshSupport": true}, "didChangeConfiguration": {"dynamicRegistration": false}},
            "textDocument": {"inlayHint": {}, "hover": {"contentFormat": ["markdown"]}, "codeAction": {}, "publishDiagnostics": {"versionSupport": true}}
        });
        let r = c.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": root,
                "workspaceFolders": [{"uri": root, "name": "ws"}],
                "capabilities": caps,
                "initializationOptions": init_options,
            }),
        );
        assert!(r.is_ok(), "initialize failed: {r:?}");
        c.notify("initialized", json!({}));
        c
    }

    pub fn start() -> LspClient {
        LspClient::start_with(|_, _| {}, Value::Null)
    }

    /// Stop caring about notifications of `method` (they are dropped when read).
    pub fn ignore(&mut self, method: &str) {
        self.ignored.push(method.to_string());
        self.unread.retain(|m| m["method"] != method);
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to server");
        stdin.flush().expect("flush");
    }

    fn send(&mut self, v: &Value) {
        let body = serde_json::to_vec(v).expect("serialize");
        let mut msg = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        msg.extend(body);
        self.send_raw(&msg);
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Send a request; returns its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// Read one message, answering server requests (recorded as unread unless ignored).
    fn read(&mut self) -> Option<Value> {
        if self.eof {
            return None;
        }
        match self.rx.recv_timeout(PATIENCE) {
            Ok(Incoming::Message(v)) => {
                if v.get("method").is_some() && v.get("id").is_some() {
                    let result = match v["method"].as_str() {
                        Some("workspace/configuration") => {
                            let n = v["params"]["items"].as_array().map_or(1, |a| a.len());
                            Value::Array(vec![self.configuration.clone(); n])
                        }
                        _ => Value::Null,
                    };
                    let id = v["id"].clone();
                    self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
                }
                Some(v)
            }
            Ok(Incoming::Eof) => {
                self.eof = true;
                None
            }
            Err(RecvTimeoutError::Timeout) => panic!("no message from the server in {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                None
            }
        }
    }

    fn keep(&mut self, v: Value) {
        let method = v["method"].as_str().unwrap_or("");
        if method.is_empty() || !self.ignored.iter().any(|m| m == method) {
            self.unread.push_back(v);
        }
    }

    /// Wait for the response to request `id`: Ok(result) or Err(error object).
    pub fn response(&mut self, id: i64) -> Result<Value, Value> {
        loop {
            let v = self
                .read()
                .unwrap_or_else(|| panic!("server exited before answering request {id}"));
            if v.get("method").is_none() && v["id"] == json!(id) {
                return match v.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(v["result"].clone()),
                };
            }
            if v.get("method").is_some() || v["id"].is_null() {
                // notifications, server requests, and error replies to unreadable messages
                self.keep(v);
            } else {
                panic!("unexpected response {v}");
            }
        }
    }

    /// The error reply the server sent to a message it could not read (id null).
    pub fn take_unreadable_reply(&mut self) -> Value {
        loop {
            if let Some(i) = self
                .unread
                .iter()
                .position(|m| m.get("method").is_none() && m["id"].is_null())
            {
                return self.unread.remove(i).expect("index valid")["error"].clone();
            }
            let v = self
                .read()
                .unwrap_or_else(|| panic!("server exited while waiting for an error reply"));
            if v.get("method").is_some() || v["id"].is_null() {
                self.keep(v);
            }
        }
    }

    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.send_request(method, params);
        self.response(id)
    }

    /// The first unread (or next) server message of `method` that satisfies `pred`.
    pub fn take(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self
            .unread
            .iter()
            .position(|m| m["method"] == method && pred(&m["params"]))
        {
            return self.unread.remove(i).expect("index valid")["params"].clone();
        }
        loop {
            let v = self
                .read()
                .unwrap_or_else(|| panic!("server exited while waiting for {method}"));
            if v["method"] == method && pred(&v["params"]) {
                return v["params"].clone();
            }
            if v.get("method").is_some() || v["id"].is_null() {
                self.keep(v);
            }
        }
    }

    /// Drop queued messages of `method` (e.g. superseded diagnostics).
    pub fn discard(&mut self, method: &str) {
        self.unread.retain(|m| m["method"] != method);
    }

    pub fn uri(&self, rel: &str) -> String {
        file_uri(&self.workspace.path().join(rel))
    }

    /// Write `rel` to the workspace and open it in the server (version 1).
    pub fn open(&mut self, rel: &str, text: &str) -> String {
        self.workspace.write(rel, text);
        let uri = self.uri(rel);
        let lang = if rel.ends_with(".json") { "json" } else { "markdown" };
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": lang, "version": 1, "text": text}}),
        );
        uri
    }

    /// One incremental change: replace (line, UTF-16 char) range with `text`.
    pub fn change(&mut self, uri: &str, version: i32, range: [(u32, u32); 2], text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{
                "range": {"start": {"line": range[0].0, "character": range[0].1}, "end": {"line": range[1].0, "character": range[1].1}},
                "text": text}]}),
        );
    }

    /// The diagnostics published for `uri` at `version`.
    pub fn diagnostics(&mut self, uri: &str, version: i32) -> Value {
        let p = self.take("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri && (p["version"] == json!(version) || p["version"].is_null())
        });
        // Older publications for the same document are superseded.
        self.unread
            .retain(|m| !(m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri));
        p["diagnostics"].clone()
    }

    pub fn inlay_hints(&mut self, uri: &str, last_line: u32) -> Value {
        self.request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": last_line, "character": 0}}}),
        )
        .expect("inlayHint")
    }

    pub fn hover(&mut self, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
        .expect("hover")
    }

    pub fn code_actions(&mut self, uri: &str, range: [(u32, u32); 2]) -> Value {
        self.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": {"line": range[0].0, "character": range[0].1}, "end": {"line": range[1].0, "character": range[1].1}}, "context": {"diagnostics": []}}),
        )
        .expect("codeAction")
    }

    /// Replace absolute paths of the workspace and home with `$WS` / `$HOME` in a reply.
    pub fn redact(&self, v: &Value) -> Value {
        let s = serde_json::to_string(v).expect("serialize");
        let s = s
            .replace(&file_uri(self.workspace.path()), "file://$WS")
            .replace(&self.workspace.path().to_string_lossy().to_string(), "$WS")
            .replace(&self.home.path().to_string_lossy().to_string(), "$HOME");
        serde_json::from_str(&s).expect("reparse")
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Shut down and exit; read the server to the end; fail if a message was left unread.
    pub fn finish(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert!(r.is_ok(), "shutdown failed: {r:?}");
        self.notify("exit", Value::Null);
        self.stdin = None;
        while let Some(v) = self.read() {
            if v.get("method").is_some() || v["id"].is_null() {
                self.keep(v);
            }
        }
        let status = self.child.wait().expect("wait for server");
        self.finished = true;
        assert!(status.success(), "server exited with {status}");
        let unread: Vec<&Value> = self.unread.iter().collect();
        assert!(unread.is_empty(), "the test left server messages unread: {unread:#?}");
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Edits of a WorkspaceEdit (documentChanges or changes) applied to `text` (UTF-16 positions).
pub fn apply_workspace_edit(text: &str, edit: &Value) -> String {
    let edits: Vec<Value> = if let Some(dc) = edit["documentChanges"].as_array() {
        dc.iter()
            .flat_map(|d| d["edits"].as_array().cloned().unwrap_or_default())
            .collect()
    } else {
        edit["changes"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .flat_map(|v| v.as_array().cloned().unwrap_or_default())
            .collect()
    };
    let offset = |pos: &Value| -> usize {
        let line = pos["line"].as_u64().expect("line") as usize;
        let ch = pos["character"].as_u64().expect("character") as usize;
        let mut start = 0;
        for _ in 0..line {
            start += text[start..].find('\n').expect("line exists") + 1;
        }
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= ch || c == '\n' || c == '\r' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().expect("newText").to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (s, e, t) in spans {
        out.replace_range(s..e, &t);
    }
    out
}
