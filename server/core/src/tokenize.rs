//! Token counting. OpenAI encodings (o200k_base, cl100k_base) are exact, via GitHub's
//! `bpe-openai` (linear-time, no backtracking blow-up). Models without a public tokenizer
//! (Claude 3+, Gemini) are estimated: an exact base count times a per-model calibration
//! factor, always marked as an estimate and carrying an error bound.

use serde::{Deserialize, Serialize};

/// An exact, public BPE encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    pub(crate) fn tokenizer(self) -> &'static bpe_openai::Tokenizer {
        match self {
            Encoding::O200kBase => bpe_openai::o200k_base(),
            Encoding::Cl100kBase => bpe_openai::cl100k_base(),
        }
    }

    /// Exact token count of `text` in this encoding (special-token-looking strings such as
    /// `<|endoftext|>` are counted as ordinary text, as the APIs do for user content).
    pub fn count(self, text: &str) -> usize {
        crate::pretokenize::count(self, text)
    }

    /// Exact count of `text`, split at byte `at` (a char boundary): each pretokenizer piece's
    /// tokens go to the side where the piece starts. The two parts always sum to
    /// `count(text)`; when `at` is a [`safe_boundary`] they equal counting each side alone.
    pub fn count_split(self, text: &str, at: usize) -> (usize, usize) {
        let (mut before, mut after) = (0, 0);
        let mut pos = 0;
        for piece in self.pieces(text) {
            let n = crate::pretokenize::piece_count(self, piece.as_bytes());
            if pos < at {
                before += n;
            } else {
                after += n;
            }
            pos += piece.len();
        }
        (before, after)
    }

    /// The text pieces of the pretokenizer (the regex split before byte-pair encoding).
    pub fn pieces(self, text: &str) -> impl Iterator<Item = &str> {
        crate::pretokenize::Pieces::new(self, text)
    }
}

/// Whether byte offset `p` of `text` is a boundary that no pretokenizer piece of o200k_base or
/// cl100k_base crosses, so that `count(text) == count(&text[..p]) + count(&text[p..])`.
///
/// Rules (the reasoning against the pretokenizer regexes is in ARCHITECTURE.md, "Safe
/// boundaries"; property tests in `tests/tokenizer.rs` check the equation):
/// - `p` is 0 or `text.len()`;
/// - (A) the previous char is `'\n'` and the next char is neither whitespace nor `'/'`;
/// - (B) the previous char is not whitespace and the next char is whitespace other than
///   `'\r'`/`'\n'`;
/// - (C) the previous char is ASCII alphanumeric and the next char is `'\r'` or `'\n'`.
///
/// Returns false for offsets that are not char boundaries.
pub fn safe_boundary(text: &str, p: usize) -> bool {
    if p == 0 || p == text.len() {
        return true;
    }
    if p > text.len() || !text.is_char_boundary(p) {
        return false;
    }
    let Some(prev) = text[..p].chars().next_back() else {
        return false;
    };
    let Some(next) = text[p..].chars().next() else {
        return false;
    };
    boundary_between(prev, next)
}

/// The first safe boundary at or after `from` (rounded up to a char boundary), or `limit`.
pub fn next_safe_boundary(text: &str, from: usize, limit: usize) -> usize {
    if from >= limit {
        return limit;
    }
    let mut p = from;
    while !text.is_char_boundary(p) {
        p += 1;
    }
    if p >= limit {
        return limit;
    }
    let mut prev = text[..p].chars().next_back();
    for (off, next) in text[p..limit].char_indices() {
        if let Some(pc) = prev
            && boundary_between(pc, next)
        {
            return p + off;
        }
        prev = Some(next);
    }
    limit
}

/// [`safe_boundary`] for the two chars around the offset.
#[inline]
pub fn boundary_between(prev: char, next: char) -> bool {
    if prev == '\n' {
        return !next.is_whitespace() && next != '/';
    }
    if prev.is_whitespace() {
        return false;
    }
    if next == '\r' || next == '\n' {
        return prev.is_ascii_alphanumeric();
    }
    next.is_whitespace()
}

/// How a model's tokens are counted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tokenizer {
    /// Exact count in a public encoding.
    Exact { encoding: Encoding },
    /// Estimate: `base` count times `factor`, true value within `error_bound` (a fraction,
    /// 0.10 = ±10%) on the calibration corpus.
    Estimate {
        base: Encoding,
        factor: f64,
        error_bound: f64,
    },
}

impl Tokenizer {
    pub fn exact(encoding: Encoding) -> Self {
        Tokenizer::Exact { encoding }
    }

    pub fn base(&self) -> Encoding {
        match *self {
            Tokenizer::Exact { encoding } => encoding,
            Tokenizer::Estimate { base, .. } => base,
        }
    }

    pub fn is_exact(&self) -> bool {
        matches!(self, Tokenizer::Exact { .. })
    }

    /// Turn an exact base-encoding count into this tokenizer's count.
    pub fn from_base_count(&self, base_tokens: usize) -> TokenCount {
        match *self {
            Tokenizer::Exact { .. } => TokenCount {
                tokens: base_tokens as u64,
                exact: true,
                error_bound: 0.0,
            },
            Tokenizer::Estimate {
                factor, error_bound, ..
            } => TokenCount {
                tokens: (base_tokens as f64 * factor).round() as u64,
                exact: false,
                error_bound,
            },
        }
    }

    pub fn count(&self, text: &str) -> TokenCount {
        self.from_base_count(self.base().count(text))
    }
}

/// A token count, exact or estimated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TokenCount {
    pub tokens: u64,
    /// false for estimates; show them with "≈".
    pub exact: bool,
    /// Relative error bound of an estimate (0.0 when exact).
    pub error_bound: f64,
}

impl TokenCount {
    /// "1,234" or "≈1,234".
    pub fn display(&self) -> String {
        let n = group_thousands(self.tokens);
        if self.exact { n } else { format!("≈{n}") }
    }
}

pub fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Calibration of estimated tokenizers, relative to o200k_base.
///
/// The defaults below are starting points taken from published comparisons (no exact Claude or
/// Gemini tokenizer is public, so they cannot be measured offline); the error bound of each is
/// chosen to cover the spread those comparisons report across prose, Markdown and code.
/// [`Calibration`] learns a per-model factor and bound from observations — the proxy sees the
/// provider-reported input count of every request whose text it counted — and replaces the
/// default once it has [`Calibration::MIN_OBSERVATIONS`] of them.
pub mod calibration {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::{Encoding, Tokenizer};

    /// Observations of one model: provider-reported counts against our base counts.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct Observations {
        pub n: u64,
        pub base_sum: u64,
        pub reported_sum: u64,
        pub min_ratio: f64,
        pub max_ratio: f64,
    }

    /// Calibration learned from (base count, reported count) observations, keyed by tokenizer
    /// (`Model::calibration_key`). Serializable: the proxy persists it, every command loads it.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct Calibration {
        pub models: BTreeMap<String, Observations>,
    }

    impl Calibration {
        /// Observations needed before a learned factor replaces the default.
        pub const MIN_OBSERVATIONS: u64 = 5;
        /// Texts shorter than this (in base tokens) are ignored: fixed per-request overhead
        /// would dominate the ratio.
        pub const MIN_BASE_TOKENS: u64 = 200;
        /// The smallest error bound claimed, however consistent the observations.
        pub const MIN_ERROR_BOUND: f64 = 0.01;

        /// Record that a text of `base_count` tokens (in the model's base encoding) was
        /// reported by the provider as `reported_count` input tokens. Returns whether the
        /// observation was used.
        pub fn observe(&mut self, model: &str, base_count: u64, reported_count: u64) -> bool {
            if base_count < Self::MIN_BASE_TOKENS || reported_count == 0 {
                return false;
            }
            let ratio = reported_count as f64 / base_count as f64;
            let o = self.models.entry(model.to_string()).or_default();
            if o.n == 0 {
                o.min_ratio = ratio;
                o.max_ratio = ratio;
            } else {
                o.min_ratio = o.min_ratio.min(ratio);
                o.max_ratio = o.max_ratio.max(ratio);
            }
            o.n += 1;
            o.base_sum += base_count;
            o.reported_sum += reported_count;
            true
        }

        /// The learned (factor, error bound) of a model, once it has enough observations:
        /// factor = Σ reported / Σ base; bound = the largest relative deviation of any single
        /// observation's ratio from that factor (at least [`Self::MIN_ERROR_BOUND`]).
        pub fn learned(&self, model: &str) -> Option<(f64, f64)> {
            let o = self.models.get(model)?;
            if o.n < Self::MIN_OBSERVATIONS || o.base_sum == 0 {
                return None;
            }
            let factor = o.reported_sum as f64 / o.base_sum as f64;
            let dev = ((o.min_ratio - factor) / factor)
                .abs()
                .max(((o.max_ratio - factor) / factor).abs());
            Some((factor, dev.max(Self::MIN_ERROR_BOUND)))
        }

        /// The tokenizer to use for `model`: an exact tokenizer stays exact; an estimate takes
        /// the learned factor and bound when there are enough observations.
        pub fn apply(&self, model: &str, default: Tokenizer) -> Tokenizer {
            match (default, self.learned(model)) {
                (Tokenizer::Estimate { base, .. }, Some((factor, error_bound))) => Tokenizer::Estimate {
                    base,
                    factor,
                    error_bound,
                },
                (t, _) => t,
            }
        }
    }

    /// Claude 3.x-4.6 tokenizer vs o200k_base on English prose/Markdown/code.
    pub const CLAUDE_LEGACY_FACTOR: f64 = 1.16;
    /// Newer Claude tokenizers (Opus 4.7 and later) produce 1.0-1.45x the tokens of the
    /// older one for the same text; 1.25x is the midpoint on prompt-like text.
    pub const CLAUDE_NEW_TOKENIZER_RATIO: f64 = 1.25;
    pub const GEMINI_FACTOR: f64 = 1.05;

    /// Whether a Claude model id uses the newer tokenizer.
    pub fn claude_uses_new_tokenizer(base_id: &str) -> bool {
        // claude-opus-4-7 and later 4.x, and any 5.x or later.
        let id = base_id.to_ascii_lowercase();
        let nums: Vec<u32> = id
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty() && s.len() < 4)
            .filter_map(|s| s.parse().ok())
            .collect();
        match nums.as_slice() {
            [major, minor, ..] if *major == 4 => *minor >= 7 && id.contains("opus") || *minor >= 8,
            [major, ..] => *major >= 5,
            _ => id.contains("latest"),
        }
    }

    pub fn claude(base_id: &str) -> Tokenizer {
        if claude_uses_new_tokenizer(base_id) {
            Tokenizer::Estimate {
                base: Encoding::O200kBase,
                factor: CLAUDE_LEGACY_FACTOR * CLAUDE_NEW_TOKENIZER_RATIO,
                error_bound: 0.20,
            }
        } else {
            Tokenizer::Estimate {
                base: Encoding::O200kBase,
                factor: CLAUDE_LEGACY_FACTOR,
                error_bound: 0.15,
            }
        }
    }

    pub fn gemini(_base_id: &str) -> Tokenizer {
        Tokenizer::Estimate {
            base: Encoding::O200kBase,
            factor: GEMINI_FACTOR,
            error_bound: 0.15,
        }
    }

    pub fn other() -> Tokenizer {
        Tokenizer::Estimate {
            base: Encoding::O200kBase,
            factor: 1.0,
            error_bound: 0.25,
        }
    }
}
