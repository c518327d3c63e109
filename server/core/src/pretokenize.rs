//! Fast exact counting.
//!
//! Two things make counting faster than running `bpe-openai`'s regex and encoder piece by
//! piece, without changing a single count:
//! - a hand-written pretokenizer for ASCII text that yields exactly the pieces of the
//!   o200k_base / cl100k_base regexes. Whenever the extent of a piece depends on a non-ASCII
//!   character (which could be a Unicode letter, digit, mark or space), it hands that one piece
//!   to the regex;
//! - a per-thread cache of the token counts of short pieces (words repeat a lot in prose).
//!
//! The property tests in `tests/tokenizer.rs` check the counts against tiktoken-rs, and
//! `pieces_equal_the_regex` below checks the pieces against bpe-openai's regex.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use crate::tokenize::Encoding;

/// The pretokenizer pieces of `text`.
pub(crate) struct Pieces<'a> {
    enc: Encoding,
    text: &'a str,
    pos: usize,
}

impl<'a> Pieces<'a> {
    pub(crate) fn new(enc: Encoding, text: &'a str) -> Self {
        Pieces { enc, text, pos: 0 }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let start = self.pos;
        if start >= self.text.len() {
            return None;
        }
        let bytes = self.text.as_bytes();
        let end = match self.enc {
            Encoding::O200kBase => o200k_piece_end(bytes, start),
            Encoding::Cl100kBase => cl100k_piece_end(bytes, start),
        }
        .unwrap_or_else(|| start + regex_piece_len(self.enc, &self.text[start..]));
        self.pos = end;
        Some(&self.text[start..end])
    }
}

/// The first piece of `text` by the encoding's regex (matching is anchored and looks only
/// forward, so this is the piece at this offset of any text that continues with `text`).
#[cold]
fn regex_piece_len(enc: Encoding, text: &str) -> usize {
    match enc.tokenizer().split(text).next() {
        Some(p) if !p.is_empty() => p.len(),
        _ => text.chars().next().map_or(text.len(), char::len_utf8),
    }
}

#[inline]
fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// ASCII, and neither whitespace, letter nor digit (the `[^\s\p{L}\p{N}]` class).
#[inline]
fn is_punct(b: u8) -> bool {
    b < 0x80 && !is_ws(b) && !b.is_ascii_alphanumeric()
}

/// A contraction (`'s 't 're 've 'm 'll 'd`, any case) at `i`: Some(Some(len)), Some(None)
/// for none, None when a non-ASCII char makes it undecidable here (case folding: 'ſ' is 's').
#[inline]
fn contraction(b: &[u8], i: usize) -> Option<Option<usize>> {
    if b.get(i) != Some(&b'\'') {
        return Some(None);
    }
    let Some(&x) = b.get(i + 1) else { return Some(None) };
    if x >= 0x80 {
        return None;
    }
    match x.to_ascii_lowercase() {
        b's' | b't' | b'm' | b'd' => Some(Some(2)),
        c @ (b'r' | b'v' | b'l') => {
            let want = if c == b'l' { b'l' } else { b'e' };
            match b.get(i + 2) {
                Some(&y) if y >= 0x80 => None,
                Some(&y) if y.to_ascii_lowercase() == want => Some(Some(3)),
                _ => Some(None),
            }
        }
        _ => Some(None),
    }
}

/// Where a letter piece may start: at `pos` for a letter, after a one-char prefix
/// (`[^\r\n\p{L}\p{N}]`) followed by a letter; `Some(None)` when there is no letter piece;
/// `None` when undecidable in ASCII.
#[inline]
fn letters_start(b: &[u8], pos: usize) -> Option<Option<usize>> {
    let c = b[pos];
    if is_letter(c) {
        return Some(Some(pos));
    }
    if c == b'\r' || c == b'\n' || c.is_ascii_digit() {
        return Some(None);
    }
    match b.get(pos + 1) {
        Some(&x) if x >= 0x80 => None,
        Some(&x) if is_letter(x) => Some(Some(pos + 1)),
        _ => Some(None),
    }
}

/// Digits: `\p{N}{1,3}`.
#[inline]
fn digits_end(b: &[u8], pos: usize) -> Option<usize> {
    let mut j = pos;
    while j < b.len() && j - pos < 3 && b[j].is_ascii_digit() {
        j += 1;
    }
    if j - pos < 3 && j < b.len() && b[j] >= 0x80 {
        return None;
    }
    Some(j)
}

/// Punctuation: ` ?[^\s\p{L}\p{N}]+` followed by `trail`ing chars; `Some(None)` if no match.
#[inline]
fn punct_end(b: &[u8], pos: usize, trail: fn(u8) -> bool) -> Option<Option<usize>> {
    let mut i = pos;
    if b[pos] == b' ' {
        match b.get(pos + 1) {
            Some(&x) if x >= 0x80 => return None,
            Some(&x) if is_punct(x) => i = pos + 1,
            _ => return Some(None),
        }
    } else if !is_punct(b[pos]) {
        return Some(None);
    }
    let mut j = i;
    while j < b.len() && is_punct(b[j]) {
        j += 1;
    }
    if j < b.len() && b[j] >= 0x80 {
        return None;
    }
    while j < b.len() && trail(b[j]) {
        j += 1;
    }
    Some(Some(j))
}

/// Whitespace: `\s*[\r\n]+`, `\s+$`, `\s+(?!\S)`, `\s+`, in that order.
#[inline]
fn whitespace_end(b: &[u8], pos: usize) -> Option<usize> {
    let mut j = pos;
    while j < b.len() && is_ws(b[j]) {
        j += 1;
    }
    if j < b.len() && b[j] >= 0x80 {
        return None;
    }
    if let Some(last) = b[pos..j].iter().rposition(|&c| c == b'\r' || c == b'\n') {
        return Some(pos + last + 1);
    }
    if j == b.len() || j - pos == 1 {
        Some(j)
    } else {
        Some(j - 1)
    }
}

fn o200k_piece_end(b: &[u8], pos: usize) -> Option<usize> {
    let c = b[pos];
    if c >= 0x80 {
        return None;
    }
    if let Some(i) = letters_start(b, pos)? {
        // [Lu]*[Ll]+ or [Lu]+[Ll]*, then an optional contraction.
        let mut j = i;
        while j < b.len() && b[j].is_ascii_uppercase() {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].is_ascii_lowercase() {
            k += 1;
        }
        if k < b.len() && b[k] >= 0x80 {
            return None;
        }
        return Some(k + contraction(b, k)?.unwrap_or(0));
    }
    if c.is_ascii_digit() {
        return digits_end(b, pos);
    }
    if let Some(end) = punct_end(b, pos, |x| matches!(x, b'\r' | b'\n' | b'/'))? {
        return Some(end);
    }
    whitespace_end(b, pos)
}

fn cl100k_piece_end(b: &[u8], pos: usize) -> Option<usize> {
    let c = b[pos];
    if c >= 0x80 {
        return None;
    }
    if let Some(n) = contraction(b, pos)? {
        return Some(pos + n);
    }
    if let Some(i) = letters_start(b, pos)? {
        let mut j = i;
        while j < b.len() && is_letter(b[j]) {
            j += 1;
        }
        if j < b.len() && b[j] >= 0x80 {
            return None;
        }
        return Some(j);
    }
    if c.is_ascii_digit() {
        return digits_end(b, pos);
    }
    if let Some(end) = punct_end(b, pos, |x| matches!(x, b'\r' | b'\n'))? {
        return Some(end);
    }
    whitespace_end(b, pos)
}

/// Pieces up to this many bytes have their counts cached.
const MAX_CACHED: usize = 23;
const CACHE_SLOTS: usize = 1 << 13;

#[derive(Clone, Copy)]
struct Slot {
    /// 0 = empty; else 1 + encoding index.
    tag: u8,
    len: u8,
    count: u32,
    bytes: [u8; MAX_CACHED],
}

thread_local! {
    static CACHE: RefCell<Vec<Slot>> = RefCell::new(vec![Slot { tag: 0, len: 0, count: 0, bytes: [0; MAX_CACHED] }; CACHE_SLOTS]);
}

#[inline]
fn slot_of(tag: u8, piece: &[u8]) -> usize {
    // FNV-1a
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ tag as u64;
    for &b in piece {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 29)) as usize & (CACHE_SLOTS - 1)
}

/// Token bytes to rank (the token id), for the short-piece merge below.
type Ranks = HashMap<&'static [u8], u32, BuildHasherDefault<FxHasher>>;

fn ranks(enc: Encoding) -> &'static Ranks {
    static O200K: LazyLock<Ranks> = LazyLock::new(|| build_ranks(Encoding::O200kBase));
    static CL100K: LazyLock<Ranks> = LazyLock::new(|| build_ranks(Encoding::Cl100kBase));
    match enc {
        Encoding::O200kBase => &O200K,
        Encoding::Cl100kBase => &CL100K,
    }
}

fn build_ranks(enc: Encoding) -> Ranks {
    let bpe = &enc.tokenizer().bpe;
    let mut m = Ranks::with_capacity_and_hasher(bpe.num_tokens(), Default::default());
    for id in 0..bpe.num_tokens() as u32 {
        m.insert(bpe.token_bytes(id), id);
    }
    m
}

/// A small, fast, non-cryptographic hasher for short byte strings (the rustc one).
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Pieces up to this many bytes are merged here, without allocating.
const MAX_MERGED: usize = MAX_CACHED;

/// Token count of a short piece by tiktoken's byte-pair merge (repeatedly merge the adjacent
/// pair whose merged bytes have the lowest rank), which is the encoding both tiktoken and
/// `bpe-openai` produce.
fn merge_count(ranks: &Ranks, piece: &[u8]) -> usize {
    debug_assert!(piece.len() >= 2 && piece.len() <= MAX_MERGED);
    // parts[i] = (start offset, rank of merging part i with part i+1)
    let mut parts = [(0usize, u32::MAX); MAX_MERGED + 1];
    let mut n = piece.len() + 1;
    let rank = |parts: &[(usize, u32)], n: usize, i: usize| -> u32 {
        if i + 2 < n {
            ranks
                .get(&piece[parts[i].0..parts[i + 2].0])
                .copied()
                .unwrap_or(u32::MAX)
        } else {
            u32::MAX
        }
    };
    for (i, p) in parts.iter_mut().enumerate().take(n) {
        p.0 = i;
    }
    for i in 0..n - 2 {
        parts[i].1 = ranks.get(&piece[i..i + 2]).copied().unwrap_or(u32::MAX);
    }
    loop {
        let (mut best, mut at) = (u32::MAX, 0);
        for (i, p) in parts[..n - 1].iter().enumerate() {
            if p.1 < best {
                best = p.1;
                at = i;
            }
        }
        if best == u32::MAX {
            break;
        }
        // merge part at+1 into at
        parts.copy_within(at + 2..n, at + 1);
        n -= 1;
        parts[at].1 = rank(&parts, n, at);
        if at > 0 {
            parts[at - 1].1 = rank(&parts, n, at - 1);
        }
    }
    n - 1
}

/// Exact token count of one pretokenizer piece.
#[inline]
pub(crate) fn piece_count(enc: Encoding, piece: &[u8]) -> usize {
    if piece.len() <= 1 {
        return piece.len();
    }
    if piece.len() > MAX_CACHED {
        return enc.tokenizer().bpe.count(piece);
    }
    let tag = 1 + enc as u8;
    let i = slot_of(tag, piece);
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let s = &cache[i];
        if s.tag == tag && s.len as usize == piece.len() && &s.bytes[..piece.len()] == piece {
            return s.count as usize;
        }
        let n = if piece.len() <= MAX_MERGED {
            merge_count(ranks(enc), piece)
        } else {
            enc.tokenizer().bpe.count(piece)
        };
        let mut bytes = [0; MAX_CACHED];
        bytes[..piece.len()].copy_from_slice(piece);
        cache[i] = Slot {
            tag,
            len: piece.len() as u8,
            count: n as u32,
            bytes,
        };
        n
    })
}

/// Exact token count of `text`.
pub(crate) fn count(enc: Encoding, text: &str) -> usize {
    Pieces::new(enc, text).map(|p| piece_count(enc, p.as_bytes())).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) {
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let ours: Vec<&str> = Pieces::new(enc, text).collect();
            let regex: Vec<&str> = enc.tokenizer().split(text).collect();
            assert_eq!(ours, regex, "{} pieces of {text:?}", enc.name());
        }
    }

    #[test]
    fn pieces_equal_the_regex() {
        for t in [
            "",
            "Hello world",
            "HelloWorld ABc abC I'm we'LL they'Re it's ok'",
            "  leading and trailing  ",
            "a\n\n  b\r\n\tc \n",
            "x \n",
            "end\n  ",
            "end  ",
            "1234567 12 1",
            "a...b ?!x ./path//to\n//c\n/",
            "don't 'tis 'S 'x ' '",
            "<|endoftext|> <|fim_prefix|>",
            "café naïve 日本語 👩‍💻 e\u{301} ſ it'ſ Ⅻ½ x\u{a0}y \u{85}",
            "a'\u{17f}s K'\u{212a}",
            "\x00\x01\x1f\x7f tab\there",
        ] {
            check(t);
        }
    }

    #[test]
    fn short_piece_merge_equals_bpe() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/ .\n\xc3\xa9";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            for _ in 0..20_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let len = 2 + (x % (MAX_MERGED as u64 - 1)) as usize;
                let piece: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        alphabet[(x % alphabet.len() as u64) as usize]
                    })
                    .collect();
                assert_eq!(
                    merge_count(ranks(enc), &piece),
                    enc.tokenizer().bpe.count(&piece),
                    "{piece:?}"
                );
            }
            for w in [&b"hello"[..], b" world", b"aaaaaaaaaaaaaaaa", b"  ", b"\n\n\n", b"1234"] {
                assert_eq!(merge_count(ranks(enc), w), enc.tokenizer().bpe.count(w));
            }
        }
    }

    #[test]
    fn cache_returns_exact_counts() {
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            for w in [" hello", " hello", "world", "xyzzyplugh", " hello"] {
                assert_eq!(piece_count(enc, w.as_bytes()), enc.tokenizer().bpe.count(w.as_bytes()));
            }
        }
    }
}
