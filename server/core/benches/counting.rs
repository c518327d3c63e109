//! Counting and catalog benchmarks (not tests): `cargo bench -p promptmeter-core --bench counting`.
//!
//! Prints Markdown tables for BENCHMARKS.md. Everything runs on one thread. tiktoken-rs (the
//! anchor) is measured side by side in the same run; on pathological inputs it runs in a child
//! process with a time limit, since it can panic or take very long there.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promptmeter_core::Catalog;
use promptmeter_core::document::{DocKind, Document};
use promptmeter_core::tokenize::Encoding;

const CHILD_TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Child mode: `--tiktoken-child KIND MB ENCODING` measures one pathological input.
    if let Some(i) = args.iter().position(|a| a == "--tiktoken-child") {
        let kind = &args[i + 1];
        let mb: usize = args[i + 2].parse().unwrap();
        let enc = encoding(&args[i + 3]);
        let text = pathological(kind, mb << 20);
        let t = Instant::now();
        let n = reference_count(enc, &text);
        println!("{} {}", t.elapsed().as_secs_f64(), n);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    println!("# promptmeter counting benchmarks\n");
    println!(
        "machine: {} logical cores, one used\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    corpus_throughput(if quick { 0.3 } else { 2.0 });
    edit_latency(if quick { 200 } else { 2000 });
    pathological_inputs();
    catalog();
}

fn encoding(name: &str) -> Encoding {
    match name {
        "o200k_base" => Encoding::O200kBase,
        "cl100k_base" => Encoding::Cl100kBase,
        other => panic!("unknown encoding {other}"),
    }
}

fn reference_count(enc: Encoding, text: &str) -> usize {
    match enc {
        Encoding::O200kBase => tiktoken_rs::o200k_base_singleton().encode_ordinary(text).len(),
        Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton().encode_ordinary(text).len(),
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                out.push(t);
            }
        }
    }
    let dir = std::env::var("PROMPTMETER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("tests/data/corpus"));
    let mut out = Vec::new();
    walk(&dir, &mut out);
    out
}

/// Run `f` over and over for at least `secs`; returns seconds per run (best of 3 rounds).
fn time_per_run(secs: f64, mut f: impl FnMut()) -> f64 {
    f(); // warm-up (lazy tables)
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut runs = 0u32;
        while start.elapsed().as_secs_f64() < secs / 3.0 || runs == 0 {
            f();
            runs += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / runs as f64);
    }
    best
}

fn corpus_throughput(secs: f64) {
    let files = corpus();
    let bytes: usize = files.iter().map(String::len).sum();
    println!(
        "## Full count of the corpus ({} files, {:.0} KB)\n",
        files.len(),
        bytes as f64 / 1e3
    );
    println!("| encoding | promptmeter (bpe-openai) MB/s | tiktoken-rs MB/s | ratio |");
    println!("|---|---|---|---|");
    for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
        // Alternate rounds of ours and theirs so that load from other processes hits both.
        let (mut ours, mut theirs) = (f64::MAX, f64::MAX);
        for _ in 0..3 {
            ours = ours.min(time_per_run(secs / 3.0, || {
                for f in &files {
                    black_box(enc.count(black_box(f)));
                }
            }));
            theirs = theirs.min(time_per_run(secs / 3.0, || {
                for f in &files {
                    black_box(reference_count(enc, black_box(f)));
                }
            }));
        }
        let (a, b) = (bytes as f64 / ours / 1e6, bytes as f64 / theirs / 1e6);
        println!("| {} | {a:.1} | {b:.1} | {:.2}x |", enc.name(), a / b);
    }
    println!();
}

fn edit_latency(edits: usize) {
    let files = corpus();
    let mut text = String::new();
    while text.len() < 1 << 20 {
        for f in &files {
            text.push_str(f);
            text.push('\n');
        }
    }
    text.truncate((0..=1 << 20).rev().find(|&i| text.is_char_boundary(i)).unwrap());
    let len = text.len();
    println!("## One-character edit in a 1 MB Markdown document ({len} bytes), o200k_base\n");
    let t = Instant::now();
    let mut doc = Document::new(text.clone(), DocKind::Markdown, Encoding::O200kBase);
    let build = t.elapsed();
    let t = Instant::now();
    let full = Encoding::O200kBase.count(&text);
    let full_time = t.elapsed();
    assert_eq!(doc.total_tokens(), full);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    // Per offset: insert one char and delete it again, three times; the best of three filters
    // out preemption by other processes (this machine is shared), the raw times are kept too.
    let mut best = Vec::with_capacity(edits);
    let mut raw = Vec::with_capacity(edits * 6);
    for _ in 0..edits {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut at = (x % len as u64) as usize;
        while !doc.text().is_char_boundary(at) {
            at -= 1;
        }
        let mut b = Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            doc.edit(at..at, "x").unwrap();
            let d = t.elapsed();
            raw.push(d);
            b = b.min(d);
            let t = Instant::now();
            doc.edit(at..at + 1, "").unwrap();
            raw.push(t.elapsed());
        }
        best.push(b);
    }
    assert_eq!(doc.total_tokens(), full);
    best.sort();
    raw.sort();
    let pct = |v: &[Duration], p: f64| v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    println!("| measure | time |");
    println!("|---|---|");
    println!("| full count, one pass | {:.2} ms |", full_time.as_secs_f64() * 1e3);
    println!(
        "| Document::new (chunk, count, section) | {:.2} ms |",
        build.as_secs_f64() * 1e3
    );
    println!(
        "| edit + exact re-count + sections, p50 (best of 3 per offset) | {:.0} µs |",
        pct(&best, 0.5)
    );
    println!(
        "| edit + exact re-count + sections, p99 (best of 3 per offset) | {:.0} µs |",
        pct(&best, 0.99)
    );
    println!(
        "| edit + exact re-count + sections, max (best of 3 per offset) | {:.0} µs |",
        pct(&best, 1.0)
    );
    println!(
        "| edit, all {} raw timings: p50 / p99 | {:.0} µs / {:.0} µs |",
        raw.len(),
        pct(&raw, 0.5),
        pct(&raw, 0.99)
    );
    println!(
        "\n({edits} random offsets, {} sections; counts checked exact at the end)\n",
        doc.sections().len()
    );
}

fn pathological(kind: &str, bytes: usize) -> String {
    match kind {
        "letter" => "a".repeat(bytes),
        "spaces" => " ".repeat(bytes),
        "base64" => {
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            (0..bytes)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[(x % 64) as usize] as char
                })
                .collect()
        }
        "cjk" => {
            // A repeating run of common CJK ideographs and kana (3 bytes each).
            let chars: Vec<char> = "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从知使点业本去把性好应开它合因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质".chars().collect();
            let mut s = String::with_capacity(bytes);
            let mut i = 0;
            while s.len() + 3 <= bytes {
                s.push(chars[i % chars.len()]);
                i += 7;
            }
            s
        }
        other => panic!("unknown input {other}"),
    }
}

/// tiktoken-rs in a child process (panics and hangs are reported, not fatal).
fn reference_in_child(kind: &str, mb: usize, enc: Encoding) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut child = match Command::new(exe)
        .args(["--tiktoken-child", kind, &mb.to_string(), enc.name()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return format!("could not run: {e}"),
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut out = String::new();
                if let Some(mut so) = child.stdout.take() {
                    use std::io::Read;
                    let _ = so.read_to_string(&mut out);
                }
                if !status.success() {
                    let mut err = String::new();
                    if let Some(mut se) = child.stderr.take() {
                        use std::io::Read;
                        let _ = se.read_to_string(&mut err);
                    }
                    let why = if err.contains("stack overflow") {
                        "stack overflow".to_string()
                    } else if err.contains("panicked") {
                        "panicked".to_string()
                    } else {
                        format!("crashed ({status})")
                    };
                    return why;
                }
                let secs: f64 = out
                    .split_whitespace()
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(f64::NAN);
                return format!("{:.1} ms", secs * 1e3);
            }
            Ok(None) if start.elapsed() > CHILD_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return format!("> {} s (stopped)", CHILD_TIMEOUT.as_secs());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return format!("wait failed: {e}"),
        }
    }
}

fn pathological_inputs() {
    println!("## Pathological inputs\n");
    println!(
        "| input | encoding | promptmeter 1 MB | promptmeter 4 MB | per MB (4 MB) | tiktoken-rs 1 MB | tiktoken-rs 4 MB |"
    );
    println!("|---|---|---|---|---|---|---|");
    for kind in ["letter", "spaces", "base64", "cjk"] {
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let mut ours = Vec::new();
            for mb in [1, 4] {
                let text = pathological(kind, mb << 20);
                let secs = time_per_run(0.2, || {
                    black_box(enc.count(black_box(&text)));
                });
                ours.push(secs);
            }
            let t1 = reference_in_child(kind, 1, enc);
            let t4 = reference_in_child(kind, 4, enc);
            println!(
                "| {kind} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {t1} | {t4} |",
                enc.name(),
                ours[0] * 1e3,
                ours[1] * 1e3,
                ours[1] * 1e3 / 4.0
            );
        }
    }
    println!();
}

fn catalog() {
    println!("## Catalog\n");
    let full = std::fs::read_to_string(workspace_root().join("tests/data/litellm-model-prices.json")).unwrap();
    let parse_full = time_per_run(1.0, || {
        black_box(Catalog::from_litellm_json(black_box(&full)).unwrap());
    });
    let parse_bundled = time_per_run(1.0, || {
        black_box(Catalog::bundled());
    });
    let cat = Catalog::bundled();
    let names = [
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "openrouter/anthropic/claude-sonnet-4.5",
        "vertex_ai/claude-opus-4-1@20250805",
        "gpt-5",
        "gpt-4o-2024-08-06",
        "gemini-2.5-pro",
        "no-such-model",
    ];
    let resolve = time_per_run(1.0, || {
        for n in names {
            black_box(cat.resolve(black_box(n)));
        }
    }) / names.len() as f64;
    println!("| measure | time |");
    println!("|---|---|");
    println!(
        "| parse the full LiteLLM file ({:.1} MB) | {:.1} ms |",
        full.len() as f64 / 1e6,
        parse_full * 1e3
    );
    println!(
        "| parse the bundled snapshot ({} models) | {:.2} ms |",
        cat.len(),
        parse_bundled * 1e3
    );
    println!(
        "| resolve one model name (mix of ids and aliases) | {:.2} µs |",
        resolve * 1e6
    );
    println!();
}
