//! `proxy-bench`: the proxy's benchmarks, side by side with going direct to the same fake
//! upstream in the same run (see BENCHMARKS.md, "Proxy").
//!
//! 1. added latency at a fixed request rate (open loop), non-streaming chat completions:
//!    p50/p99 through the proxy minus p50/p99 direct, in alternating phases;
//! 2. added time to first byte of streams (Anthropic Messages, SSE);
//! 3. memory per concurrent stream: the proxy's RSS with N streams held open, minus idle.
//!
//! Usage: `proxy-bench [--proxy-bin PATH] [--rate 2000] [--secs 5] [--phases 2]
//!         [--stream-rate 200] [--streams 1000] [--body-kib N]`. Raise the open-file limit
//! first (`ulimit -n 8192` or more): 1,000 streams hold 3,000 sockets. `--stream-rate 0` and
//! `--streams 0` skip those parts. `--body-kib N` sends, in part 1, a coding agent's request of
//! about N KiB (a system prompt, tool definitions and a history of tool calls, built from the
//! prompt corpus in tests/data/corpus) instead of a two-message one.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Mutex;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

struct Opts {
    proxy_bin: String,
    rate: u64,
    secs: u64,
    phases: u32,
    stream_rate: u64,
    streams: usize,
    body_kib: usize,
}

fn opts() -> Opts {
    let mut o = Opts {
        proxy_bin: "target/release/promptmeter".into(),
        rate: 2000,
        secs: 5,
        phases: 2,
        stream_rate: 200,
        streams: 1000,
        body_kib: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--proxy-bin" => o.proxy_bin = v,
            "--rate" => o.rate = v.parse().expect("--rate"),
            "--secs" => o.secs = v.parse().expect("--secs"),
            "--phases" => o.phases = v.parse().expect("--phases"),
            "--stream-rate" => o.stream_rate = v.parse().expect("--stream-rate"),
            "--streams" => o.streams = v.parse().expect("--streams"),
            "--body-kib" => o.body_kib = v.parse().expect("--body-kib"),
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

fn start_proxy(bin: &str, upstream: &str, ledger: &std::path::Path) -> (Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(bin)
        .args(["proxy", "--listen", "127.0.0.1:0", "--ledger"])
        .arg(ledger)
        .args(["--anthropic-upstream", upstream, "--openai-upstream", upstream])
        .env("XDG_CONFIG_HOME", ledger.parent().unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the proxy");
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("proxy output").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

const CHAT: &str = r#"{"model":"gpt-5","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello."}]}"#;
const STREAM: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"system":"Be terse.","messages":[{"role":"user","content":"Say hello."}]}"#;

/// A chat completion shaped like a coding agent's: a system prompt (the corpus's CLAUDE.md
/// files), 16 tool definitions, then user turns, assistant tool calls and tool results (the
/// rest of the corpus, in order) until the body is about `kib` KiB.
fn agent_body(kib: usize) -> Payload {
    use serde_json::json;
    let corpus = promptmeter_e2e::corpus_dir();
    let mut texts = Vec::new();
    for sub in ["claude_md", "agents_md", "cursor_rules", "copilot", "claude_agents"] {
        let mut paths: Vec<_> = walk(&corpus.join(sub));
        paths.sort();
        texts.extend(paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    }
    assert!(!texts.is_empty(), "no prompt corpus under {}", corpus.display());
    let system = texts[..3].join("\n\n");
    let tools: Vec<_> = (0..16)
        .map(|i| {
            let d = &texts[(i + 3) % texts.len()];
            json!({"type": "function", "function": {
                "name": format!("tool_{i}"),
                "description": d.chars().take(1500).collect::<String>(),
                "parameters": {"type": "object", "properties": {
                    "path": {"type": "string", "description": "Absolute path of the file"},
                    "pattern": {"type": "string"}}, "required": ["path"]}}})
        })
        .collect();
    let mut messages = vec![json!({"role": "system", "content": system})];
    // The body's size: the rest of it, then each message and its comma.
    let mut size = json!({"model": "gpt-5", "tools": tools, "messages": messages})
        .to_string()
        .len();
    let mut i = 0;
    while size < kib * 1024 {
        let id = format!("call_{i}");
        let round = [
            json!({"role": "user", "content": format!("Look at part {i} and fix what is wrong.")}),
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": id,
                "type": "function", "function": {"name": "tool_1", "arguments": format!("{{\"path\":\"/src/{i}.md\"}}")}}]}),
            json!({"role": "tool", "tool_call_id": id,
                   "content": texts[i % texts.len()].chars().take(4000).collect::<String>()}),
        ];
        size += round.iter().map(|m| m.to_string().len() + 1).sum::<usize>();
        messages.extend(round);
        i += 1;
    }
    messages.push(json!({"role": "user", "content": TAIL}));
    let body = json!({"model": "gpt-5", "tools": tools, "messages": messages});
    let text: &'static str = Box::leak(body.to_string().into_boxed_str());
    let counter_at = text.rfind(TAIL).map(|i| i + "Request ".len());
    Payload { text, counter_at }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A request body; with `counter_at`, ten digits at that offset are replaced by a counter,
/// so that each request's last turn is new (as a coding agent's is), the rest as before.
#[derive(Clone, Copy)]
struct Payload {
    text: &'static str,
    counter_at: Option<usize>,
}

const TAIL: &str = "Request 0000000000: what next?";

static SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Payload {
    fn fixed(text: &'static str) -> Self {
        Payload { text, counter_at: None }
    }

    fn bytes(self) -> Bytes {
        let Some(at) = self.counter_at else {
            return Bytes::from_static(self.text.as_bytes());
        };
        let n = SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut v = self.text.as_bytes().to_vec();
        v[at..at + 10].copy_from_slice(format!("{n:010}").as_bytes());
        Bytes::from(v)
    }
}

fn req(addr: &str, path: &str, body: Payload, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut b = Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-bench");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(body.bytes())).unwrap()
}

/// Open loop: `rate` requests a second for `secs`; returns latencies (ms) of whole
/// responses, or of the first body byte with `first_byte`.
async fn open_loop(
    client: &HttpClient,
    addr: &str,
    path: &'static str,
    body: Payload,
    rate: u64,
    secs: u64,
    first_byte: bool,
) -> (Vec<f64>, u64) {
    let lat = Arc::new(Mutex::new(Vec::with_capacity((rate * secs) as usize)));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let period = Duration::from_nanos(1_000_000_000 / rate);
    let start = tokio::time::Instant::now();
    let total = rate * secs;
    let mut handles = Vec::with_capacity(total as usize);
    for i in 0..total {
        tokio::time::sleep_until(start + period * i as u32).await;
        let (client, lat, errors) = (client.clone(), lat.clone(), errors.clone());
        let r = req(addr, path, body, &[]);
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            match client.request(r).await {
                Ok(resp) if resp.status().is_success() => {
                    let mut body = resp.into_body();
                    let mut first = None;
                    while let Some(f) = body.frame().await {
                        match f {
                            Ok(_) if first.is_none() => first = Some(t.elapsed()),
                            Ok(_) => {}
                            Err(_) => {
                                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                    let d = if first_byte {
                        first.unwrap_or_default()
                    } else {
                        t.elapsed()
                    };
                    lat.lock().await.push(d.as_secs_f64() * 1e3);
                }
                _ => {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    let mut v = std::mem::take(&mut *lat.lock().await);
    v.sort_by(|a, b| a.total_cmp(b));
    (v, errors.load(std::sync::atomic::Ordering::Relaxed))
}

fn client() -> HttpClient {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(4096)
        .pool_idle_timeout(Duration::from_secs(60))
        .build(http)
}

/// Part 2: added time to the first byte of streams.
async fn added_ttfb(c: &HttpClient, faddr: &str, paddr: &str, o: &Opts) {
    let stream = Payload::fixed(STREAM);
    println!(
        "\n## added time to first byte, streaming Anthropic Messages, {} req/s",
        o.stream_rate
    );
    let (mut sd, mut sv) = (Vec::new(), Vec::new());
    for _ in 0..o.phases {
        sd.extend(
            open_loop(c, faddr, "/v1/messages", stream, o.stream_rate, o.secs, true)
                .await
                .0,
        );
        sv.extend(
            open_loop(c, paddr, "/v1/messages", stream, o.stream_rate, o.secs, true)
                .await
                .0,
        );
    }
    sd.sort_by(|a, b| a.total_cmp(b));
    sv.sort_by(|a, b| a.total_cmp(b));
    println!("| | streams | TTFB p50 ms | TTFB p99 ms |");
    println!("|---|---|---|---|");
    println!(
        "| direct | {} | {:.3} | {:.3} |",
        sd.len(),
        pct(&sd, 0.5),
        pct(&sd, 0.99)
    );
    println!(
        "| via proxy | {} | {:.3} | {:.3} |",
        sv.len(),
        pct(&sv, 0.5),
        pct(&sv, 0.99)
    );
    println!(
        "| **added** | | **{:.3}** | {:.3} |",
        pct(&sv, 0.5) - pct(&sd, 0.5),
        pct(&sv, 0.99) - pct(&sd, 0.99)
    );
}

/// Part 3: memory per open stream, on a fresh proxy.
async fn memory_per_stream(c: &HttpClient, fake_url: &str, dir: &std::path::Path, o: &Opts) {
    let stream = Payload::fixed(STREAM);
    println!("\n## memory per concurrent stream, {} streams held open", o.streams);
    // A fresh proxy, so that memory the allocator kept from the load above does not hide
    // what the streams take.
    let ledger2 = dir.join("ledger-mem.sqlite");
    let (mut mem_proxy, maddr) = start_proxy(&o.proxy_bin, fake_url, &ledger2);
    open_loop(c, &maddr, "/v1/messages", stream, 100, 1, true).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kib(mem_proxy.id());
    let held = Arc::new(tokio::sync::Semaphore::new(0));
    let mut tasks = Vec::new();
    for _ in 0..o.streams {
        let (c, held, addr) = (c.clone(), held.clone(), maddr.clone());
        let r = req(
            &addr,
            "/v1/messages",
            stream,
            &[("x-fake-scenario", "hold"), ("x-fake-hold-ms", "6000")],
        );
        tasks.push(tokio::spawn(async move {
            let Ok(resp) = c.request(r).await else { return false };
            let mut body = resp.into_body();
            let mut signalled = false;
            while let Some(f) = body.frame().await {
                if f.is_err() {
                    return false;
                }
                if !signalled {
                    held.add_permits(1);
                    signalled = true;
                }
            }
            true
        }));
    }
    let all = held.acquire_many(o.streams as u32).await;
    let peak = rss_kib(mem_proxy.id());
    drop(all);
    let ok = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .filter(|r| matches!(r, Ok(true)))
        .count();
    let per = (peak.saturating_sub(idle)) as f64 * 1024.0 / o.streams as f64;
    println!(
        "| proxy RSS idle | RSS with {} open streams | per stream | streams completed |",
        o.streams
    );
    println!("|---|---|---|---|");
    println!(
        "| {:.1} MiB | {:.1} MiB | **{:.1} KB** | {ok} |",
        idle as f64 / 1024.0,
        peak as f64 / 1024.0,
        per / 1000.0
    );
    let _ = mem_proxy.kill();
    let _ = mem_proxy.wait();
}

fn main() {
    let o = opts();
    let fake = promptmeter_e2e::fake_upstream::spawn();
    let dir = std::env::temp_dir().join(format!("promptmeter-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ledger = dir.join("ledger.sqlite");
    let (mut proxy, paddr) = start_proxy(&o.proxy_bin, &fake.url(), &ledger);
    let faddr = fake.addr.to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let chat = if o.body_kib > 0 {
        agent_body(o.body_kib)
    } else {
        Payload::fixed(CHAT)
    };
    rt.block_on(async {
        let c = client();
        // warm up pools and caches
        open_loop(&c, &faddr, "/v1/chat/completions", chat, 500, 1, false).await;
        open_loop(&c, &paddr, "/v1/chat/completions", chat, 500, 1, false).await;

        println!(
            "## added latency, non-streaming chat completions of {} bytes, {} req/s open loop",
            chat.text.len(),
            o.rate
        );
        let (mut direct, mut via) = (Vec::new(), Vec::new());
        let (mut derr, mut verr) = (0, 0);
        for phase in 0..o.phases {
            let (d, e) = open_loop(&c, &faddr, "/v1/chat/completions", chat, o.rate, o.secs, false).await;
            direct.extend(d);
            derr += e;
            let (v, e) = open_loop(&c, &paddr, "/v1/chat/completions", chat, o.rate, o.secs, false).await;
            via.extend(v);
            verr += e;
            eprintln!("phase {phase} done");
        }
        direct.sort_by(|a, b| a.total_cmp(b));
        via.sort_by(|a, b| a.total_cmp(b));
        println!("| | requests | errors | p50 ms | p90 ms | p99 ms |");
        println!("|---|---|---|---|---|---|");
        for (name, v, e) in [("direct", &direct, derr), ("via proxy", &via, verr)] {
            println!(
                "| {name} | {} | {e} | {:.3} | {:.3} | {:.3} |",
                v.len(),
                pct(v, 0.5),
                pct(v, 0.9),
                pct(v, 0.99)
            );
        }
        println!(
            "| **added** | | | **{:.3}** | {:.3} | **{:.3}** |",
            pct(&via, 0.5) - pct(&direct, 0.5),
            pct(&via, 0.9) - pct(&direct, 0.9),
            pct(&via, 0.99) - pct(&direct, 0.99)
        );

        if o.stream_rate > 0 {
            added_ttfb(&c, &faddr, &paddr, &o).await;
        }
        if o.streams > 0 {
            memory_per_stream(&c, &fake.url(), &dir, &o).await;
        }

        // the proxy's own view of the time it adds
        let m = c
            .request(
                Request::get(format!("http://{paddr}/_promptmeter/metrics"))
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        let text = String::from_utf8_lossy(&m);
        let get = |k: &str| {
            text.lines()
                .find(|l| l.starts_with(k))
                .and_then(|l| l.split_whitespace().last())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let (sum, count) = (
            get("promptmeter_added_latency_seconds_sum"),
            get("promptmeter_added_latency_seconds_count"),
        );
        println!(
            "\nproxy's own added-latency histogram: mean {:.3} ms over {count} requests",
            sum / count.max(1.0) * 1e3
        );
        let commits = get("promptmeter_ledger_commits_total");
        println!(
            "ledger: {} records spooled, {} waited for; {commits} transactions, mean {:.3} ms",
            get("promptmeter_ledger_records_total{path=\"spooled\"}"),
            get("promptmeter_ledger_records_total{path=\"waited\"}"),
            get("promptmeter_ledger_commit_seconds_total") / commits.max(1.0) * 1e3
        );
        println!(
            "ledger transactions over 0.25 / 0.5 / 1 ms: {} / {} / {}",
            get("promptmeter_ledger_slow_commits_total{over=\"0.00025\"}"),
            get("promptmeter_ledger_slow_commits_total{over=\"0.0005\"}"),
            get("promptmeter_ledger_slow_commits_total{over=\"0.001\"}")
        );
    });
    let _ = proxy.kill();
    let _ = proxy.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
