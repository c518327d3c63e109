//! The language server under bad input: huge and binary documents, invalid ranges, stale
//! versions, malformed JSON-RPC, unknown methods. Each gives an error or nothing, and the
//! server keeps answering.

use promptmeter_e2e::lsp_client::LspClient;
use serde_json::{Value, json};

/// The server still measures a small prompt file.
fn still_serves(c: &mut LspClient) {
    let uri = c.open("GEMINI.md", "# Alive\nyes\n");
    let hints = c.inlay_hints(&uri, 3);
    assert_eq!(hints.as_array().map(|a| a.len()), Some(2), "{hints}");
    assert!(c.alive());
}

#[test]
fn ten_megabyte_and_binary_documents_are_skipped() {
    let mut c = LspClient::start();
    c.ignore("textDocument/publishDiagnostics");
    let big = "# Huge\n".to_string() + &"word ".repeat(2 * 1024 * 1024);
    assert!(big.len() > 10_000_000);
    let uri = c.open("CLAUDE.md", &big);
    assert_eq!(c.inlay_hints(&uri, 3), Value::Null);
    assert_eq!(c.hover(&uri, 0, 0), Value::Null);
    c.change(&uri, 2, [(0, 2), (0, 6)], "Still huge");
    assert_eq!(c.inlay_hints(&uri, 3), Value::Null);
    let bin = c.open("AGENTS.md", "\u{0}\u{1}PNG\u{0}\u{0}binary\u{0}");
    assert_eq!(c.inlay_hints(&bin, 3), Value::Null);
    still_serves(&mut c);
    c.finish();
}

#[test]
fn invalid_ranges_and_stale_versions_change_nothing() {
    let mut c = LspClient::start();
    c.ignore("textDocument/publishDiagnostics");
    let uri = c.open("CLAUDE.md", "# One\nalpha\n");
    let before = c.inlay_hints(&uri, 5);
    c.change(&uri, 2, [(40, 0), (41, 0)], "# Injected\n");
    c.change(&uri, 3, [(1, 3), (0, 0)], "reversed range");
    c.change(&uri, 1, [(0, 0), (0, 0)], "# Stale version\n");
    assert_eq!(c.inlay_hints(&uri, 5), before);
    // a valid change after the refused ones still applies
    c.change(&uri, 4, [(2, 0), (2, 0)], "# Two\nbeta gamma\n");
    let after = c.inlay_hints(&uri, 5);
    assert_eq!(after.as_array().unwrap().len(), 3, "{after}");
    // positions past the end of a line or document
    assert_eq!(c.hover(&uri, 99, 0), Value::Null);
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 50, "character": 0}, "end": {"line": 60, "character": 0}}, "context": {"diagnostics": []}}),
    );
    assert_eq!(r, Ok(Value::Null));
    // a change to a document that is not open
    c.change(&c.uri("NOPE.md"), 2, [(0, 0), (0, 0)], "x");
    still_serves(&mut c);
    c.finish();
}

#[test]
fn malformed_json_rpc_gets_an_error_not_a_dead_server() {
    let mut c = LspClient::start();
    c.ignore("textDocument/publishDiagnostics");
    c.send_raw(b"Content-Length: 9\r\n\r\n{\"bad\": }");
    let e = c.take_unreadable_reply();
    assert_eq!(e["code"], -32700, "parse error: {e}");
    c.send_raw(b"Content-Length: 27\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":true}");
    let e = c.take_unreadable_reply();
    assert!(e["code"].as_i64().is_some(), "{e}");
    c.send_raw(b"no header at all\r\n\r\n");
    let e = c.take_unreadable_reply();
    assert_eq!(e["code"], -32700, "{e}");
    let unknown = c.request("promptmeter/noSuchMethod", json!({}));
    assert_eq!(unknown.unwrap_err()["code"], -32601);
    let bad_params = c.request("textDocument/hover", json!({"textDocument": 5}));
    assert_eq!(bad_params.unwrap_err()["code"], -32602);
    let bad_command = c.request(
        "workspace/executeCommand",
        json!({"command": "promptmeter.nope", "arguments": []}),
    );
    assert!(bad_command.is_err());
    let bad_model = c.request("promptmeter/composition", json!({"model": "no-such-model"}));
    assert_eq!(bad_model.unwrap_err()["code"], -32602);
    still_serves(&mut c);
    c.finish();
}

#[test]
fn utf16_positions_with_emoji_cjk_and_combining_marks() {
    let mut c = LspClient::start();
    let text = "# 🚀 Launch\n😀日本e\u{301}\u{200B}x\n";
    let uri = c.open("CLAUDE.md", text);
    let hints = c.inlay_hints(&uri, 3);
    // "# " + 🚀 (2 UTF-16 units) + " Launch"
    assert_eq!(hints[0]["position"], json!({"line": 0, "character": 11}));
    let diags = c.diagnostics(&uri, 1);
    let zw = diags
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "invisible-character")
        .expect("zero-width found");
    // 😀 (2) + 日 + 本 + e + U+0301 = 6 units before the zero-width space
    assert_eq!(
        zw["range"],
        json!({"start": {"line": 1, "character": 6}, "end": {"line": 1, "character": 7}})
    );
    // insert another zero-width space right after the emoji (UTF-16 offset 2)
    c.change(&uri, 2, [(1, 2), (1, 2)], "\u{200B}");
    let diags = c.diagnostics(&uri, 2);
    let ranges: Vec<Value> = diags
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "invisible-character")
        .map(|d| d["range"].clone())
        .collect();
    assert_eq!(
        ranges,
        [
            json!({"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 3}}),
            json!({"start": {"line": 1, "character": 7}, "end": {"line": 1, "character": 8}})
        ]
    );
    c.finish();
}
