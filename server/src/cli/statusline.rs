//! `promptmeter statusline`: one short line for shells, tmux and Claude Code's `statusLine`
//! command. From the running proxy's summary when it answers (within 300 ms), else from the
//! ledger. With `--claude-code`, reads Claude Code's status JSON on stdin for the session id.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use promptmeter_ledger::window::{Windows, local_offset};
use promptmeter_ledger::{Ledger, Totals};
use rust_decimal::Decimal;
use serde_json::Value;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Proxy address (default: `[proxy] listen`).
    #[arg(long)]
    pub proxy: Option<String>,
    /// Ledger file (default: as `promptmeter proxy`).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Read Claude Code's statusLine JSON from stdin and show that session's spend.
    #[arg(long)]
    pub claude_code: bool,
    /// Print the summary JSON instead of a line.
    #[arg(long)]
    pub json: bool,
}

/// GET a path from the proxy over plain HTTP/1.1 with short timeouts.
fn fetch(addr: &str, path: &str) -> Option<Value> {
    let sock: SocketAddr = addr.to_socket_addrs().ok()?.next()?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_millis(300)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(300))).ok()?;
    s.set_write_timeout(Some(Duration::from_millis(300))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    s.take(4 * 1024 * 1024).read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    serde_json::from_str(body).ok()
}

/// `$4.50` for sums, `$0.0123` below a cent, `$0.00` for nothing.
fn format_usd(d: Decimal) -> String {
    if d.is_zero() || d.abs() >= Decimal::new(1, 2) {
        format!("${:.2}", d.round_dp(2))
    } else {
        format!("${:.4}", d.round_dp(4))
    }
}

fn usd(v: &Value) -> Decimal {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
}

/// The line: today, week, the session (when known), the last request, the budget under
/// the most pressure.
pub fn line(summary: &Value, session: Option<(&str, Decimal, u64)>) -> String {
    let mut parts = vec![
        format!("{} today", format_usd(usd(&summary["todayUsd"]))),
        format!("{} week", format_usd(usd(&summary["weekUsd"]))),
    ];
    if let Some((_, cost, n)) = session {
        parts.push(format!("session {} ({n} req)", format_usd(cost)));
    }
    let last = &summary["last"];
    if last.is_object() {
        let model = last["modelServed"]
            .as_str()
            .or(last["modelRequested"].as_str())
            .unwrap_or("?");
        let cost = if last["costKnown"].as_bool() == Some(true) {
            let c = usd(&last["costUsd"]);
            if c.abs() < Decimal::ONE {
                format!("${:.4}", c.round_dp(4))
            } else {
                format_usd(c)
            }
        } else {
            "unpriced".into()
        };
        parts.push(format!("last {model} {cost}"));
    }
    let worst = summary["budgets"].as_array().and_then(|bs| {
        bs.iter().max_by(|a, b| {
            a["pressure"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b["pressure"].as_f64().unwrap_or(0.0))
        })
    });
    if let Some(b) = worst
        && let (Some(name), Some(p)) = (b["name"].as_str(), b["pressure"].as_f64())
    {
        parts.push(format!("{name} {:.0}%", p * 100.0));
    }
    parts.join(" | ")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let offset = local_offset();
    let (config, _) = super::proxy::load_config(&std::env::current_dir()?)?;
    let calendar = super::proxy::calendar(&config, offset)?;
    let session_id = if args.claude_code {
        let mut input = String::new();
        let _ = std::io::stdin().take(1024 * 1024).read_to_string(&mut input);
        serde_json::from_str::<Value>(&input)
            .ok()
            .and_then(|v| v["session_id"].as_str().map(str::to_string))
    } else {
        None
    };
    let addr = args.proxy.unwrap_or_else(|| config.proxy.listen.clone());
    let path = super::proxy::ledger_path(&config, args.ledger.as_deref());
    let ledger = || {
        // What a proxy that died left in the spool (a no-op while one runs).
        let _ = path.exists().then(|| promptmeter_ledger::spool::recover(&path));
        path.exists().then(|| Ledger::open_read_only(&path).ok()).flatten()
    };
    let summary = match fetch(&addr, "/_promptmeter/summary") {
        Some(s) => s,
        None => {
            let now = promptmeter_proxy::feed::now_ms();
            let windows = Windows::at(now, &calendar);
            let l = ledger();
            let records = l
                .as_ref()
                .and_then(|l| l.between(windows.earliest_ms(), i64::MAX).ok())
                .unwrap_or_default();
            let totals = Totals::from_records(windows, &records);
            let mut v = serde_json::to_value(&totals)?;
            v["last"] = l
                .as_ref()
                .and_then(|l| l.recent(1).ok())
                .and_then(|r| r.into_iter().next())
                .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            v["budgets"] = Value::Array(Vec::new());
            v
        }
    };
    let session = session_id.as_deref().and_then(|sid| {
        let (cost, n) = ledger()?.session_totals(sid).ok()?;
        Some((sid, cost, n))
    });
    if args.json {
        println!("{summary}");
    } else {
        println!("{}", line(&summary, session));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_from_summary() {
        let s = serde_json::json!({
            "todayUsd": "1.234", "weekUsd": "4.5",
            "last": {"modelServed": "claude-sonnet-4-5", "costUsd": "0.0123", "costKnown": true},
            "budgets": [{"name": "weekly", "pressure": 0.86}]
        });
        assert_eq!(
            line(&s, None),
            "$1.23 today | $4.50 week | last claude-sonnet-4-5 $0.0123 | weekly 86%"
        );
        let empty = serde_json::json!({"todayUsd": "0", "weekUsd": "0", "last": null, "budgets": []});
        assert_eq!(
            line(&empty, Some(("s", Decimal::ONE, 2))),
            "$0.00 today | $0.00 week | session $1.00 (2 req)"
        );
    }
}
