//! Exact counts: bpe-openai (what we ship) against tiktoken-rs (the reference) on every corpus
//! file and on generated text; the safe-boundary rule; pathological inputs never panic.

mod common;

use promptmeter_core::tokenize::{Encoding, safe_boundary};
use proptest::prelude::*;
use tiktoken_rs::{CoreBPE, cl100k_base_singleton, o200k_base_singleton};

const ENCODINGS: [Encoding; 2] = [Encoding::O200kBase, Encoding::Cl100kBase];

fn reference(enc: Encoding) -> &'static CoreBPE {
    match enc {
        Encoding::O200kBase => o200k_base_singleton(),
        Encoding::Cl100kBase => cl100k_base_singleton(),
    }
}

/// The one check of this file: our count equals tiktoken-rs's `encode_ordinary` (special
/// tokens counted as ordinary text, as the APIs do for user content).
fn check_equal(enc: Encoding, text: &str) {
    let ours = enc.count(text);
    let theirs = reference(enc).encode_ordinary(text).len();
    assert_eq!(ours, theirs, "{} count of {:?}", enc.name(), truncate(text));
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(200);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[test]
fn corpus_counts_equal_tiktoken() {
    let corpus = common::corpus();
    for enc in ENCODINGS {
        for (_, text) in &corpus {
            check_equal(enc, text);
        }
    }
}

#[test]
fn known_figures() {
    // Hand-checked against tiktoken: "hello world" is 2 tokens in both encodings.
    assert_eq!(Encoding::O200kBase.count("hello world"), 2);
    assert_eq!(Encoding::Cl100kBase.count("hello world"), 2);
    assert_eq!(Encoding::O200kBase.count(""), 0);
    // Special-token-looking text is ordinary text: several tokens, not one.
    assert!(Encoding::O200kBase.count("<|endoftext|>") > 1);
}

#[test]
fn whitespace_runs_at_the_end() {
    for enc in ENCODINGS {
        for s in [
            "a\n  ",
            "a\n",
            "a  ",
            "a \n \n ",
            "\n",
            "  ",
            "a\r\n\t",
            "x\u{a0}\u{a0}",
            "a\n\u{3000}",
        ] {
            check_equal(enc, s);
        }
    }
}

#[test]
fn special_token_strings_count_as_text() {
    for enc in ENCODINGS {
        for s in [
            "<|endoftext|>",
            "a<|endoftext|>b",
            "<|fim_prefix|><|fim_middle|><|fim_suffix|>",
            "<|endofprompt|>",
        ] {
            check_equal(enc, s);
        }
    }
}

/// 1 MB of pathological input: counted without panicking, and equal to the sum over safe
/// chunks where the input has safe boundaries.
#[test]
fn pathological_inputs_do_not_panic() {
    let mb = 1 << 20;
    let base64: String = {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..mb)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % 64) as usize] as char
            })
            .collect()
    };
    let inputs = [
        "a".repeat(mb),
        " ".repeat(mb),
        "\n".repeat(mb),
        base64,
        "日本語".repeat(mb / 9),
        "1".repeat(mb),
        "!".repeat(mb),
    ];
    for enc in ENCODINGS {
        for text in &inputs {
            let n = enc.count(text);
            assert!(n > 0);
            let (a, b) = enc.count_split(text, text.len() / 2 - text.len() / 2 % 3);
            assert_eq!(a + b, n);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The hand-written ASCII pretokenizer yields exactly the regex's pieces.
    #[test]
    fn fast_pieces_equal_the_regex(text in common::text(40)) {
        for (enc, regex) in [(Encoding::O200kBase, bpe_openai::o200k_base()), (Encoding::Cl100kBase, bpe_openai::cl100k_base())] {
            let ours: Vec<&str> = enc.pieces(&text).collect();
            let theirs: Vec<&str> = regex.split(&text).collect();
            prop_assert_eq!(ours, theirs, "{}", enc.name());
        }
    }

    #[test]
    fn generated_text_counts_equal_tiktoken(text in common::text(40)) {
        for enc in ENCODINGS {
            check_equal(enc, &text);
        }
    }

    /// Splitting at any safe boundary adds up exactly, and the split count attributes pieces
    /// so that the parts always sum to the whole.
    #[test]
    fn safe_boundaries_split_counts_exactly(text in common::text(30)) {
        for enc in ENCODINGS {
            let whole = enc.count(&text);
            for p in (0..=text.len()).filter(|&p| text.is_char_boundary(p)) {
                let (a, b) = enc.count_split(&text, p);
                prop_assert_eq!(a + b, whole);
                if safe_boundary(&text, p) {
                    let left = enc.count(&text[..p]);
                    let right = enc.count(&text[p..]);
                    prop_assert_eq!(left + right, whole, "{} at {} of {:?}", enc.name(), p, text);
                    prop_assert_eq!((a, b), (left, right));
                    // and the reference tokenizer agrees
                    prop_assert_eq!(
                        reference(enc).encode_ordinary(&text[..p]).len() + reference(enc).encode_ordinary(&text[p..]).len(),
                        reference(enc).encode_ordinary(&text).len()
                    );
                }
            }
        }
    }
}
