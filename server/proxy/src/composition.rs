//! A request's context-window composition: count each category's text, then scale so that
//! the parts sum exactly to the provider-reported input count (largest-remainder rounding).
//! Also the system prompt's section fingerprints (hashes, never text) and a derived session id.

use promptmeter_core::sections::markdown_sections;
use promptmeter_core::tokenize::{Encoding, next_safe_boundary};
use promptmeter_ledger::Composition;
use promptmeter_ledger::record::Fingerprint;
use sha2::{Digest, Sha256};

use crate::providers::{Part, Parts};

/// Token counts of pieces of text already seen. A coding agent resends its system prompt,
/// tool definitions and every earlier turn with each request; with this, only what is new
/// since the last request is tokenized (a 128 KiB request whose prefix was seen costs hashing,
/// not counting).
pub struct CountCache {
    seen: quick_cache::sync::Cache<(Encoding, u128), u64>,
}

/// Pieces are cut at the first safe boundary (`count(a + b) == count(a) + count(b)` there)
/// past `PIECE` bytes, so the pieces' counts sum exactly to the text's; the same text is
/// always cut the same way, and text appended at the end leaves the earlier pieces as they
/// were. A run of `MAX_PIECE` bytes without a safe boundary (a base64 blob, say) is cut at a
/// char boundary, where the sum may differ from the whole's by a few tokens.
const PIECE: usize = 4096;
const MAX_PIECE: usize = 16384;

impl CountCache {
    /// Remembers up to `pieces` pieces (about 4 KiB of text each).
    pub fn new(pieces: usize) -> Self {
        CountCache {
            seen: quick_cache::sync::Cache::new(pieces),
        }
    }

    /// The tokens in `text`: the sum of its pieces' counts.
    pub fn count(&self, enc: Encoding, text: &str) -> u64 {
        pieces(text)
            .map(|piece| {
                let key = (enc, xxhash_rust::xxh3::xxh3_128(piece.as_bytes()));
                self.seen.get(&key).unwrap_or_else(|| {
                    let n = enc.count(piece) as u64;
                    self.seen.insert(key, n);
                    n
                })
            })
            .sum()
    }
}

impl Default for CountCache {
    fn default() -> Self {
        // ~128 MiB of distinct text; full, it takes ~4 MiB (RSS grew by 4,052 KiB when 40,000
        // pieces were put in it).
        CountCache::new(32_768)
    }
}

fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut limit = rest.len().min(MAX_PIECE);
        while !rest.is_char_boundary(limit) {
            limit += 1;
        }
        let (piece, tail) = rest.split_at(next_safe_boundary(rest, PIECE, limit));
        rest = tail;
        Some(piece)
    })
}

/// Counts of a request's parts, before scaling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    /// system, tools, history, tool results, current turn.
    pub counts: [u64; 5],
    /// (hash, tokens) of each section of the system prompt.
    pub sections: Vec<(String, u64)>,
    /// A stable id for the conversation: hash of the system prompt and first user message.
    pub derived_session: String,
}

fn hash16(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub fn measure(parts: &Parts, enc: Encoding, cache: &CountCache) -> Measured {
    let count = |s: &str| cache.count(enc, s);
    // The system prompt's sections tile it: its count is theirs summed.
    let mut system = 0;
    let mut sections = Vec::new();
    for t in markdown_sections(&parts.system)
        .into_iter()
        .filter_map(|s| parts.system.get(s.range))
    {
        let n = count(t);
        system += n;
        if !t.trim().is_empty() {
            sections.push((hash16(t), n));
        }
    }
    let mut seed = String::with_capacity(parts.system.len().min(8192) + parts.first_user.len());
    seed.extend(parts.system.chars().take(8192));
    seed.push('\u{0}');
    seed.push_str(&parts.first_user);
    Measured {
        counts: [
            system + parts.media_in(Part::System),
            count(&parts.tools) + parts.media_in(Part::Tools),
            count(&parts.history) + parts.media_in(Part::History),
            count(&parts.tool_results) + parts.media_in(Part::ToolResults),
            count(&parts.current_turn) + parts.media_in(Part::CurrentTurn),
        ],
        sections,
        derived_session: format!("d-{}", &hash16(&seed)[..12]),
    }
}

/// Scale `counts` to sum to `total` (largest remainder). With no total, the counts as they are.
pub fn scale_counts(counts: &[u64], total: Option<u64>) -> Vec<u64> {
    let Some(total) = total else { return counts.to_vec() };
    let sum: u64 = counts.iter().sum();
    if sum == 0 {
        let mut out = vec![0; counts.len()];
        if let Some(last) = out.last_mut() {
            *last = total;
        }
        return out;
    }
    let mut out: Vec<u64> = Vec::with_capacity(counts.len());
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(counts.len());
    for (i, &c) in counts.iter().enumerate() {
        let exact = c as u128 * total as u128;
        out.push((exact / sum as u128) as u64);
        rems.push((exact % sum as u128, i));
    }
    let mut left = total - out.iter().sum::<u64>();
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rems {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// The composition scaled to the reported prompt size, and the system sections scaled with
/// the system part.
pub fn scaled(m: &Measured, reported_input: Option<u64>) -> (Composition, Vec<Fingerprint>) {
    let c = scale_counts(&m.counts, reported_input);
    let composition = Composition {
        system: c[0],
        tools: c[1],
        history: c[2],
        tool_results: c[3],
        current_turn: c[4],
    };
    let raw_sections: Vec<u64> = m.sections.iter().map(|s| s.1).collect();
    let section_total = if m.counts[0] > 0 {
        Some(composition.system)
    } else {
        None
    };
    let scaled_sections = scale_counts(&raw_sections, section_total.filter(|_| !raw_sections.is_empty()));
    let fingerprints = m
        .sections
        .iter()
        .zip(scaled_sections)
        .map(|((hash, _), tokens)| Fingerprint {
            hash: hash.clone(),
            tokens,
        })
        .collect();
    (composition, fingerprints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_sums_exactly_to_the_reported_input() {
        assert_eq!(scale_counts(&[1, 1, 1], Some(10)), vec![4, 3, 3]);
        assert_eq!(scale_counts(&[100, 0, 50], Some(3)), vec![2, 0, 1]);
        assert_eq!(scale_counts(&[0, 0], Some(7)), vec![0, 7]);
        assert_eq!(scale_counts(&[5, 6], None), vec![5, 6]);
        for total in [0u64, 1, 99, 12345] {
            let s = scale_counts(&[17, 3, 0, 999, 42], Some(total));
            assert_eq!(s.iter().sum::<u64>(), total);
        }
    }

    #[test]
    fn measures_parts_and_fingerprints_sections() {
        let parts = Parts {
            system: "# Rules\nBe terse.\n\n# Style\nNo emoji.\n".into(),
            tools: "{\"name\":\"bash\"}".into(),
            history: String::new(),
            tool_results: String::new(),
            current_turn: "hello there".into(),
            first_user: "hello there".into(),
            media: [0, 0, 0, 1590, 0],
        };
        let cache = CountCache::new(64);
        let m = measure(&parts, Encoding::O200kBase, &cache);
        assert_eq!(m.counts[4], Encoding::O200kBase.count("hello there") as u64);
        assert_eq!(m.counts[3], 1590, "a screenshot in a tool result");
        assert_eq!(m.sections.len(), 2);
        assert_eq!(m.sections[0].0.len(), 16);
        assert!(m.derived_session.starts_with("d-"));
        let (c, f) = scaled(&m, Some(1000));
        assert_eq!(c.total(), 1000);
        assert_eq!(f.iter().map(|f| f.tokens).sum::<u64>(), c.system);
        // same conversation, later turn: same derived session
        let later = Parts {
            history: "hello there\nhi\n".into(),
            current_turn: "more".into(),
            ..parts.clone()
        };
        assert_eq!(
            measure(&later, Encoding::O200kBase, &cache).derived_session,
            m.derived_session
        );
    }

    #[test]
    fn counts_through_the_cache_equal_counts_without_it() {
        let corpus = include_str!("../../../tests/data/corpus/claude_md/anthropics__claude-code-action/CLAUDE.md");
        let long = corpus.repeat(40);
        let cache = CountCache::new(1024);
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let cold = cache.count(enc, &long);
            assert_eq!(cache.count(enc, &long), cold, "warm");
            assert_eq!(cold, enc.count(&long) as u64, "cut at safe boundaries: exact");
            assert!(pieces(&long).count() > 10);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn pieces_tile_the_text_and_appending_keeps_them(
            a in "(\\PC{0,40}\n?){0,800}",
            b in "\\PC{0,3000}",
        ) {
            let ps: Vec<&str> = pieces(&a).collect();
            proptest::prop_assert_eq!(ps.concat(), a.clone());
            for p in &ps {
                proptest::prop_assert!(!p.is_empty() && p.len() <= MAX_PIECE + 3);
            }
            // Every cut is a safe boundary unless a piece ran to `MAX_PIECE` without one; where
            // all are, the cached sum is the exact count.
            let mut at = 0;
            let mut all_safe = true;
            for p in &ps {
                at += p.len();
                let safe = promptmeter_core::tokenize::safe_boundary(&a, at);
                proptest::prop_assert!(safe || p.len() >= MAX_PIECE, "unsafe cut at {at}");
                all_safe &= safe;
            }
            if all_safe {
                let cache = CountCache::new(16);
                proptest::prop_assert_eq!(cache.count(Encoding::O200kBase, &a), Encoding::O200kBase.count(&a) as u64);
            }
            let ab = format!("{a}{b}");
            let qs: Vec<&str> = pieces(&ab).collect();
            // every piece of `a` but its last is a piece of `a + b`, unchanged
            let keep = ps.len().saturating_sub(1);
            proptest::prop_assert_eq!(&qs[..keep.min(qs.len())], &ps[..keep]);
        }
    }
}
