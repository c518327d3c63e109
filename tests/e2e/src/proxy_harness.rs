//! Helpers for the proxy's end-to-end tests: start the real `promptmeter proxy` against a
//! fake upstream, and a minimal blocking HTTP/1.1 client that returns the exact body bytes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::bin_path;

/// A running `promptmeter proxy` process (killed on drop).
pub struct ProxyProcess {
    pub child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub ledger: PathBuf,
}

impl ProxyProcess {
    /// Start the proxy on a free port with every provider pointed at `upstream`.
    pub fn start(upstream: &str, ledger: &Path) -> ProxyProcess {
        Self::start_with(upstream, ledger, &[])
    }

    pub fn start_with(upstream: &str, ledger: &Path, extra: &[&str]) -> ProxyProcess {
        Self::start_env(upstream, ledger, extra, &[])
    }

    pub fn start_env(upstream: &str, ledger: &Path, extra: &[&str], env: &[(&str, &str)]) -> ProxyProcess {
        let home = ledger.parent().unwrap().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut child = Command::new(bin_path())
            .args(["proxy", "--listen", "127.0.0.1:0", "--ledger"])
            .arg(ledger)
            .args([
                "--anthropic-upstream",
                upstream,
                "--openai-upstream",
                upstream,
                "--gemini-upstream",
                upstream,
            ])
            .args(extra)
            // no user config file from the machine running the tests
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("HOME", &home)
            .envs(env.iter().copied())
            .current_dir(ledger.parent().unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn promptmeter proxy");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.expect("proxy stderr");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                addr = Some(rest.split_whitespace().next().unwrap().to_string());
                break;
            }
            if line.contains("promptmeter:") {
                panic!("proxy failed to start: {line}");
            }
        }
        // keep draining stderr so the proxy never blocks on a full pipe
        std::thread::spawn(move || for _ in lines {});
        ProxyProcess {
            child,
            addr: addr.expect("proxy printed its address"),
            ledger: ledger.to_path_buf(),
        }
    }

    /// Wait until every response already released is committed to the ledger (a response
    /// goes out once its record is spooled; the proxy's own endpoints wait for the commit).
    pub fn flush(&self) {
        assert_eq!(get(&self.addr, "/_promptmeter/summary").status, 200);
    }

    /// Every record in the ledger, newest first, once committed.
    pub fn records(&self) -> Vec<promptmeter_ledger::RequestRecord> {
        self.flush();
        promptmeter_ledger::Ledger::open_read_only(&self.ledger)
            .unwrap()
            .recent(1_000_000)
            .unwrap()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as the application sees it (chunked transfer coding removed).
    pub body: Vec<u8>,
    /// False when the connection ended before the body did.
    pub complete: bool,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a fresh connection (`Connection: close`). `addr` is `host:port`.
pub fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    try_request(addr, method, path, headers, body).unwrap_or_else(|| panic!("no response from {addr}{path}"))
}

/// Like `request`, but `None` when the connection fails or no response head arrives.
pub fn try_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<HttpResponse> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw); // a reset connection still leaves what arrived
    parse_response(&raw)
}

pub fn post_json(addr: &str, path: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> HttpResponse {
    let mut h = vec![("Content-Type", "application/json")];
    h.extend_from_slice(headers);
    request(addr, "POST", path, &h, body.to_string().as_bytes())
}

pub fn get(addr: &str, path: &str) -> HttpResponse {
    request(addr, "GET", path, &[], b"")
}

fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let (body, complete) = if chunked {
        dechunk(rest)
    } else if let Some(n) = length {
        (rest[..rest.len().min(n)].to_vec(), rest.len() >= n)
    } else {
        (rest.to_vec(), true)
    };
    Some(HttpResponse {
        status,
        headers,
        body,
        complete,
    })
}

fn dechunk(mut data: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16) else {
            return (out, false);
        };
        data = &data[eol + 2..];
        if size == 0 {
            return (out, true);
        }
        if data.len() < size + 2 {
            out.extend_from_slice(&data[..data.len().min(size)]);
            return (out, false);
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
