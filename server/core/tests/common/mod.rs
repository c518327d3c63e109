//! Shared helpers for the core's integration tests: the corpus and text generators.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;

/// The corpus of real prompt files (`$PROMPTMETER_CORPUS` or tests/data/corpus).
pub fn corpus_dir() -> PathBuf {
    std::env::var("PROMPTMETER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/corpus"))
}

/// Every corpus file as (relative path, text), sorted by path.
pub fn corpus() -> Vec<(String, String)> {
    let root = corpus_dir();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    assert!(out.len() >= 10, "corpus at {} looks empty", root.display());
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read corpus dir").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.push((rel, text));
        }
    }
}

/// Fragments that stress the pretokenizer: words in several scripts and cases, contractions,
/// digits, punctuation and '/', whitespace runs of every kind, CRLF, emoji, combining marks,
/// special-token-looking strings, Markdown structure.
pub fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z]{1,12}",
        2 => prop::sample::select(vec![
            " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "\n  ", "\u{a0}", "\u{85}", "\u{2003}",
            "\u{3000}", "\r", "\x0b", "\x0c",
        ])
        .prop_map(str::to_string),
        2 => prop::sample::select(vec![
            "<|endoftext|>", "<|fim_prefix|>", "<|im_start|>", "<|endofprompt|>", "'s", "'S", "'ll", "'RE", "n't",
            "# ", "## ", "```", "```rust\n", "---\n", "+++\n", "- ", "* ", "1. ", "//", "/", "./src/", "http://x.y/z",
            "...", "!?", "(", ")", "{", "}", "\"", "'", "`", "=>", "->", "::", "_", "__", "\\", "|", "@", "$", "%",
        ])
        .prop_map(str::to_string),
        1 => "[0-9]{1,8}",
        1 => prop::sample::select(vec![
            "日本語のテキスト", "中文字符", "한국어", "Ünïcödé", "naïve café", "Ελληνικά", "русский текст", "עברית",
            "العربية", "हिन्दी", "ไทย", "🎉", "👩‍💻", "🇫🇷", "e\u{301}", "a\u{308}\u{323}", "\u{200b}", "\u{feff}",
            "ﬁ", "Ⅻ", "½", "²", "𝔘𝔫𝔦",
        ])
        .prop_map(str::to_string),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ]
}

/// Generated text: a sequence of fragments.
pub fn text(max_fragments: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..max_fragments).prop_map(|v| v.concat())
}
