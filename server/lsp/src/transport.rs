//! Framing between the editor and tower-lsp-server. tower-lsp-server stops reading its input
//! after the first undecodable message (its framed reader ends on a decode error), so a
//! single malformed message would end the server. This layer reads the frames itself,
//! answers malformed ones with a JSON-RPC error (id null) and forwards only well-formed
//! messages; the server's output is forwarded frame by frame, so the error replies never
//! interleave with a server message.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Messages larger than this are refused (their bytes are skipped).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

enum Frame {
    Body(Vec<u8>),
    /// Header without a usable Content-Length, or a body too large: skipped.
    Bad(&'static str),
    Eof,
}

async fn read_frame<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> Frame {
    let mut len: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        match r.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return Frame::Eof,
            Ok(_) => {}
        }
        let l = String::from_utf8_lossy(&line);
        let l = l.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            if saw_header {
                break;
            }
            continue;
        }
        saw_header = true;
        if let Some((name, value)) = l.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            len = value.trim().parse().ok();
        }
        if line.len() > 8192 {
            return Frame::Bad("header line too long");
        }
    }
    let Some(len) = len else {
        return Frame::Bad("missing Content-Length");
    };
    if len > MAX_MESSAGE_BYTES {
        let mut rest = (&mut *r).take(len as u64);
        let _ = tokio::io::copy(&mut rest, &mut tokio::io::sink()).await;
        return Frame::Bad("message too large");
    }
    let mut body = vec![0; len];
    if r.read_exact(&mut body).await.is_err() {
        return Frame::Eof;
    }
    Frame::Body(body)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn error_reply(code: i64, message: &str, id: Value) -> Vec<u8> {
    let v = json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": id});
    frame(&serde_json::to_vec(&v).unwrap_or_default())
}

fn valid_id(v: Option<&Value>) -> bool {
    matches!(
        v,
        None | Some(Value::Null) | Some(Value::Number(_)) | Some(Value::String(_))
    )
}

/// None when the message is well formed, else the error reply to send.
fn check(body: &[u8]) -> Option<Vec<u8>> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Some(error_reply(-32700, "Parse error", Value::Null));
    };
    let Some(o) = v.as_object() else {
        return Some(error_reply(-32600, "Invalid request", Value::Null));
    };
    let id_ok = valid_id(o.get("id"));
    let id = if id_ok {
        o.get("id").cloned().unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let version_ok = o.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
    let ok = version_ok
        && id_ok
        && match o.get("method") {
            Some(m) => {
                m.is_string()
                    && matches!(
                        o.get("params"),
                        None | Some(Value::Object(_)) | Some(Value::Array(_)) | Some(Value::Null)
                    )
            }
            None => o.contains_key("id") && (o.contains_key("result") ^ o.contains_key("error")),
        };
    if ok {
        None
    } else if o.get("method").is_none()
        && o.contains_key("id")
        && id_ok
        && !o.contains_key("result")
        && !o.contains_key("error")
    {
        Some(error_reply(-32600, "Invalid request", id))
    } else if o.get("method").is_none() && (o.contains_key("result") || o.contains_key("error")) {
        // a malformed response to one of our requests: nothing to answer
        Some(Vec::new())
    } else {
        Some(error_reply(-32600, "Invalid request", id))
    }
}

/// Serve the LSP service on `input`/`output` through the checking layer.
pub async fn serve<I, O>(
    input: I,
    mut output: O,
    run: impl AsyncFnOnce(tokio::io::DuplexStream, tokio::io::DuplexStream),
) where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (to_server, server_in) = tokio::io::duplex(1 << 20);
    let (server_out, from_server) = tokio::io::duplex(1 << 20);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();

    let reader_tx = tx.clone();
    let reader = tokio::spawn(async move {
        let mut to_server = to_server;
        let mut input = BufReader::new(input);
        loop {
            match read_frame(&mut input).await {
                Frame::Eof => break,
                Frame::Bad(why) => {
                    tracing::warn!("unreadable message: {why}");
                    let _ = reader_tx.send(error_reply(-32700, &format!("Parse error: {why}"), Value::Null));
                }
                Frame::Body(body) => match check(&body) {
                    None => {
                        if to_server.write_all(&frame(&body)).await.is_err() {
                            break;
                        }
                    }
                    Some(reply) => {
                        tracing::warn!("malformed JSON-RPC message ({} bytes)", body.len());
                        if !reply.is_empty() {
                            let _ = reader_tx.send(reply);
                        }
                    }
                },
            }
        }
        let _ = to_server.shutdown().await;
    });
    let forwarder = tokio::spawn(async move {
        let mut r = BufReader::new(from_server);
        while let Frame::Body(body) = read_frame(&mut r).await {
            if tx.send(frame(&body)).is_err() {
                break;
            }
        }
    });
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if output.write_all(&bytes).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    });
    run(server_in, server_out).await;
    // The service has ended (exit notification or end of input): flush what it wrote.
    let _ = forwarder.await;
    reader.abort();
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert!(check(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":{}}"#).is_none());
        assert!(check(br#"{"jsonrpc":"2.0","method":"n"}"#).is_none());
        assert!(check(br#"{"jsonrpc":"2.0","id":1,"result":null}"#).is_none());
        let bad = String::from_utf8(check(b"{nope").unwrap()).unwrap();
        assert!(bad.contains("-32700"));
        let bad = String::from_utf8(check(br#"{"jsonrpc":"2.0","id":true}"#).unwrap()).unwrap();
        assert!(bad.contains("-32600") && bad.contains("\"id\":null"));
        let bad = String::from_utf8(check(br#"{"jsonrpc":"2.0","id":7,"method":5}"#).unwrap()).unwrap();
        assert!(bad.contains("\"id\":7"));
        assert!(check(br#"[1,2]"#).is_some());
    }
}
