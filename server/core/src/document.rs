//! Incrementally counted documents.
//!
//! A [`Document`] keeps its text cut into chunks of a few KiB whose boundaries are
//! [`safe_boundary`] offsets: no pretokenizer piece crosses them, so the exact count of the
//! whole text is the sum of the chunks' counts. An edit re-counts only the chunks it touches
//! (from the last boundary strictly before the edit to the first boundary strictly after it:
//! the two characters around each of those boundaries are untouched, so they stay safe) and
//! shifts the rest.
//!
//! Sections (Markdown front matter and headings, or the whole text for plain text) tile the
//! text. Each section boundary is made a chunk boundary when it is safe, so a section's count
//! is a sum of chunk counts and equals counting the section's text alone. A boundary that is
//! not safe is first moved forward over whitespace to the next line start when that one is
//! safe (blank lines after front matter join the front matter). When that is impossible (a
//! heading indented by spaces after a line ending in punctuation), the one pretokenizer piece
//! that straddles the boundary is given to the section where it starts: totals stay exact and
//! sections still sum to the total.

use std::ops::Range;

use crate::sections::{self, Section, SectionKind};
use crate::tokenize::{Encoding, next_safe_boundary, safe_boundary};

/// How a document is sectioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// Front matter, preamble, one section per heading.
    Markdown,
    /// One section: the whole text.
    PlainText,
}

/// A section and its exact token count in the document's base encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionCount {
    pub section: Section,
    /// Exact base-encoding tokens.
    pub tokens: usize,
}

/// An edit that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("edit range {start}..{end} is outside the document (length {len})")]
    OutOfBounds { start: usize, end: usize, len: usize },
    #[error("edit range {start}..{end} does not fall on UTF-8 character boundaries")]
    NotCharBoundary { start: usize, end: usize },
}

/// Target chunk size in bytes. Smaller chunks make edits cheaper and sums over more chunks
/// costlier; 2 KiB keeps an edit at a few microseconds of counting.
const CHUNK_TARGET: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk {
    start: usize,
    tokens: usize,
}

/// A text document with exact, incrementally maintained token counts.
#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    kind: DocKind,
    encoding: Encoding,
    /// Tile the text in order; every `start` is a safe boundary; never empty when text is not.
    chunks: Vec<Chunk>,
    total: usize,
    sections: Vec<SectionCount>,
}

impl Document {
    pub fn new(text: String, kind: DocKind, encoding: Encoding) -> Self {
        let mut doc = Document {
            text,
            kind,
            encoding,
            chunks: Vec::new(),
            total: 0,
            sections: Vec::new(),
        };
        doc.chunks = doc.chunk_region(0, doc.text.len());
        doc.total = doc.chunks.iter().map(|c| c.tokens).sum();
        doc.refresh_sections();
        doc
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> DocKind {
        self.kind
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Exact token count of the whole text (`== encoding.count(text)`).
    pub fn total_tokens(&self) -> usize {
        self.total
    }

    /// Per-section exact counts; sections tile the text and their counts sum to the total.
    pub fn sections(&self) -> &[SectionCount] {
        &self.sections
    }

    /// Fenced code blocks with their counts (they nest inside [`Self::sections`]; computed on
    /// demand). A block's count is the tokens of the pretokenizer pieces that start inside it.
    pub fn fenced_blocks(&self) -> Vec<SectionCount> {
        if self.kind != DocKind::Markdown {
            return Vec::new();
        }
        sections::fenced_blocks(&self.text)
            .into_iter()
            .map(|section| SectionCount {
                tokens: self.tokens_in(section.range.clone()),
                section,
            })
            .collect()
    }

    /// Exact tokens of the pretokenizer pieces that start inside byte `range` (equal to
    /// counting `&text[range]` alone when both ends are safe boundaries). Out-of-range ends are
    /// clamped.
    pub fn tokens_in(&self, range: Range<usize>) -> usize {
        let end = range.end.min(self.text.len());
        let start = range.start.min(end);
        self.tokens_before(end) - self.tokens_before(start)
    }

    /// Tokens of the pieces starting before byte `at`.
    fn tokens_before(&self, at: usize) -> usize {
        if at == 0 || self.chunks.is_empty() {
            return 0;
        }
        if at >= self.text.len() {
            return self.total;
        }
        let i = self.chunks.partition_point(|c| c.start <= at) - 1;
        let prior: usize = self.chunks[..i].iter().map(|c| c.tokens).sum();
        let c = self.chunks[i];
        if c.start == at {
            return prior;
        }
        let end = self.chunk_end(i);
        let at = (at..).find(|&p| self.text.is_char_boundary(p)).unwrap_or(end);
        prior + self.encoding.count_split(&self.text[c.start..end], at - c.start).0
    }

    /// Replace the whole text (re-counts everything).
    pub fn set_text(&mut self, text: String) {
        *self = Document::new(text, self.kind, self.encoding);
    }

    /// Replace bytes `range` with `new_text`. Errs (never panics) when the range is out of
    /// bounds, reversed, or not on char boundaries; the document is then unchanged.
    pub fn edit(&mut self, range: Range<usize>, new_text: &str) -> Result<(), EditError> {
        let Range { start, end } = range;
        let len = self.text.len();
        if start > end || end > len {
            return Err(EditError::OutOfBounds { start, end, len });
        }
        if !self.text.is_char_boundary(start) || !self.text.is_char_boundary(end) {
            return Err(EditError::NotCharBoundary { start, end });
        }
        if start == end && new_text.is_empty() {
            return Ok(());
        }
        // Chunks [i0, i1) are re-counted: i0 is the last chunk starting strictly before `start`
        // (or 0), i1 the first chunk starting strictly after `end`.
        let i0 = self.chunks.partition_point(|c| c.start < start).saturating_sub(1);
        let i1 = self.chunks.partition_point(|c| c.start <= end);
        let region_start = self.chunks.get(i0).map_or(0, |c| c.start);
        let old_region_end = self.chunks.get(i1).map_or(len, |c| c.start);

        self.text.replace_range(start..end, new_text);
        let delta = new_text.len() as isize - (end - start) as isize;
        let new_region_end = (old_region_end as isize + delta) as usize;

        let fresh = self.chunk_region(region_start, new_region_end);
        let old_tokens: usize = self.chunks[i0..i1].iter().map(|c| c.tokens).sum();
        let new_tokens: usize = fresh.iter().map(|c| c.tokens).sum();
        let fresh_len = fresh.len();
        self.chunks.splice(i0..i1, fresh);
        for c in &mut self.chunks[i0 + fresh_len..] {
            c.start = (c.start as isize + delta) as usize;
        }
        self.total = self.total - old_tokens + new_tokens;
        self.update_sections(start, end, start + new_text.len());
        Ok(())
    }

    /// Cut `text[from..to]` (both safe boundaries) into counted chunks.
    fn chunk_region(&self, from: usize, to: usize) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut pos = from;
        while pos < to {
            let end = next_safe_boundary(&self.text, pos + CHUNK_TARGET, to);
            out.push(Chunk {
                start: pos,
                tokens: self.encoding.count(&self.text[pos..end]),
            });
            pos = end;
        }
        out
    }

    fn chunk_end(&self, i: usize) -> usize {
        self.chunks.get(i + 1).map_or(self.text.len(), |c| c.start)
    }

    /// Make `at` (a safe boundary inside the text) a chunk boundary; returns the chunk index
    /// that starts there.
    fn split_chunk_at(&mut self, at: usize) -> usize {
        let i = self.chunks.partition_point(|c| c.start <= at) - 1;
        let c = self.chunks[i];
        if c.start == at {
            return i;
        }
        let end = self.chunk_end(i);
        // Count the shorter side; the other is the difference (the boundary is safe).
        let (left, right) = if at - c.start <= end - at {
            let l = self.encoding.count(&self.text[c.start..at]);
            (l, c.tokens - l)
        } else {
            let r = self.encoding.count(&self.text[at..end]);
            (c.tokens - r, r)
        };
        self.chunks[i].tokens = left;
        self.chunks.insert(
            i + 1,
            Chunk {
                start: at,
                tokens: right,
            },
        );
        i + 1
    }

    /// Recompute the sections from scratch, then their counts.
    fn refresh_sections(&mut self) {
        let secs = match self.kind {
            DocKind::Markdown => snap_boundaries(&self.text, sections::markdown_sections(&self.text)),
            DocKind::PlainText => vec![Section {
                kind: SectionKind::Preamble,
                title: String::new(),
                level: 0,
                range: 0..self.text.len(),
            }],
        };
        self.sections = secs
            .into_iter()
            .map(|section| SectionCount { section, tokens: 0 })
            .collect();
        self.recount_sections();
    }

    /// After replacing old bytes `start..old_end` by new bytes `start..new_end`: re-scan the
    /// Markdown structure from the last heading before the edited line, until the scan meets an
    /// old heading past the edit outside any fence; the sections after it are the old ones,
    /// shifted. Then recount.
    fn update_sections(&mut self, start: usize, old_end: usize, new_end: usize) {
        let delta = new_end as isize - old_end as isize;
        match self.kind {
            DocKind::PlainText => {
                self.sections[0].section.range.end = self.text.len();
                self.recount_sections();
                return;
            }
            DocKind::Markdown => {}
        }
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        // k: the last heading section starting before the edited line.
        let k = self.sections.partition_point(|s| s.section.range.start < line_start);
        let k = (0..k)
            .rev()
            .find(|&i| self.sections[i].section.kind == SectionKind::Heading);
        let Some(k) = k else {
            return self.refresh_sections();
        };
        let old = std::mem::take(&mut self.sections);
        // Old heading starts after the edit, in old coordinates, with their indices.
        let first_after = old.partition_point(|s| s.section.range.start <= old_end);
        let mut resumed_at = None;
        let mut scanned = Vec::new();
        let current = Section {
            range: old[k].section.range.start..old[k].section.range.start,
            ..old[k].section.clone()
        };
        let stop = sections::scan_headings(
            &self.text,
            current,
            None,
            |ls| {
                if ls < new_end {
                    return false;
                }
                let old_ls = (ls as isize - delta) as usize;
                match old[first_after..].binary_search_by_key(&old_ls, |s| s.section.range.start) {
                    Ok(j) if old[first_after + j].section.kind == SectionKind::Heading => {
                        resumed_at = Some(first_after + j);
                        true
                    }
                    _ => false,
                }
            },
            &mut scanned,
        );
        let mut secs: Vec<SectionCount> = Vec::with_capacity(old.len() + 2);
        let mut old = old.into_iter();
        secs.extend(old.by_ref().take(k));
        secs.extend(scanned.into_iter().map(|section| SectionCount { section, tokens: 0 }));
        if let (Some(_), Some(j)) = (stop, resumed_at) {
            secs.extend(old.skip(j - k).map(|mut s| {
                s.section.range.start = (s.section.range.start as isize + delta) as usize;
                s.section.range.end = (s.section.range.end as isize + delta) as usize;
                s
            }));
        }
        self.sections = secs;
        self.recount_sections();
    }

    /// Counts of the current sections, from the chunks.
    fn recount_sections(&mut self) {
        if self.text.is_empty() {
            for s in &mut self.sections {
                s.tokens = 0;
            }
            return;
        }
        // Safe section boundaries become chunk boundaries (splitting costs one small count).
        for i in 1..self.sections.len() {
            let b = self.sections[i].section.range.start;
            if b < self.text.len() && safe_boundary(&self.text, b) {
                self.split_chunk_at(b);
            }
        }
        // One sweep over the chunks: tokens of the pieces before each section start.
        let (mut ci, mut acc) = (0, 0);
        let mut prev_before = 0;
        for si in 0..self.sections.len() {
            let at = self.sections[si].section.range.start;
            while ci + 1 < self.chunks.len() && self.chunks[ci + 1].start <= at {
                acc += self.chunks[ci].tokens;
                ci += 1;
            }
            let c = self.chunks[ci];
            let before = if at <= c.start {
                acc
            } else if at >= self.text.len() {
                self.total
            } else {
                let end = self.chunk_end(ci);
                acc + self.encoding.count_split(&self.text[c.start..end], at - c.start).0
            };
            if si > 0 {
                self.sections[si - 1].tokens = before - prev_before;
            }
            prev_before = before;
        }
        if let Some(last) = self.sections.last_mut() {
            last.tokens = self.total - prev_before;
        }
    }
}

/// Move section boundaries that are not safe forward over whitespace to the next line start,
/// when that one is safe; a section that is all whitespace after an unsafe boundary (blank
/// lines after front matter) joins the section before it.
fn snap_boundaries(text: &str, secs: Vec<Section>) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::with_capacity(secs.len());
    for mut s in secs {
        let Some(prev) = out.last_mut() else {
            out.push(s);
            continue;
        };
        let b = s.range.start;
        if safe_boundary(text, b) {
            out.push(s);
            continue;
        }
        let rest = &text[b..s.range.end];
        let ws = rest.len() - rest.trim_start().len();
        if ws == rest.len() {
            prev.range.end = s.range.end;
            continue;
        }
        if let Some(nl) = rest[..ws].rfind('\n') {
            let nb = b + nl + 1;
            if safe_boundary(text, nb) {
                prev.range.end = nb;
                s.range.start = nb;
            }
        }
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(doc: &Document) {
        let text = doc.text();
        assert_eq!(doc.total_tokens(), doc.encoding().count(text), "total");
        let mut pos = 0;
        let mut sum = 0;
        for s in doc.sections() {
            assert_eq!(s.section.range.start, pos, "sections tile the text");
            pos = s.section.range.end;
            sum += s.tokens;
        }
        assert_eq!(pos, text.len());
        assert_eq!(sum, doc.total_tokens(), "sections sum to the total");
        let mut pos = 0;
        for (i, c) in doc.chunks.iter().enumerate() {
            assert_eq!(c.start, pos);
            let end = doc.chunk_end(i);
            assert!(end > c.start, "no empty chunk");
            assert!(safe_boundary(text, c.start));
            assert_eq!(c.tokens, doc.encoding().count(&text[c.start..end]), "chunk {i}");
            pos = end;
        }
    }

    #[test]
    fn empty_document() {
        let mut d = Document::new(String::new(), DocKind::Markdown, Encoding::O200kBase);
        assert_eq!(d.total_tokens(), 0);
        assert_eq!(d.sections().len(), 1);
        check(&d);
        d.edit(0..0, "# Hi\n").unwrap();
        check(&d);
        d.edit(0..5, "").unwrap();
        check(&d);
    }

    #[test]
    fn bad_edits_are_errors() {
        let mut d = Document::new("héllo".into(), DocKind::PlainText, Encoding::O200kBase);
        assert!(matches!(d.edit(2..3, "x"), Err(EditError::NotCharBoundary { .. })));
        assert!(matches!(d.edit(0..99, "x"), Err(EditError::OutOfBounds { .. })));
        #[allow(clippy::reversed_empty_ranges)]
        let r = 4..2;
        assert!(matches!(d.edit(r, "x"), Err(EditError::OutOfBounds { .. })));
        assert_eq!(d.text(), "héllo");
        check(&d);
    }

    #[test]
    fn front_matter_followed_by_blank_line_snaps() {
        let text = "---\nname: x\n---\n\n# Title\nbody\n";
        let d = Document::new(text.into(), DocKind::Markdown, Encoding::O200kBase);
        check(&d);
        let s = d.sections();
        assert_eq!(s[0].section.kind, SectionKind::FrontMatter);
        assert_eq!(&text[s[0].section.range.clone()], "---\nname: x\n---\n\n");
        for sc in s {
            assert_eq!(sc.tokens, d.encoding().count(&text[sc.section.range.clone()]));
        }
    }

    #[test]
    fn indented_heading_after_punctuation_keeps_totals() {
        let text = "intro.\n   # Heading\nbody\n";
        let d = Document::new(text.into(), DocKind::Markdown, Encoding::O200kBase);
        check(&d);
        assert_eq!(d.sections().len(), 2);
    }

    #[test]
    fn large_document_edits() {
        let para = "## Section\nSome prose with words, numbers 12345 and émoji 🎉.\n\n";
        let text: String = para.repeat(400);
        let mut d = Document::new(text, DocKind::Markdown, Encoding::Cl100kBase);
        check(&d);
        assert!(d.chunks.len() > 5);
        d.edit(5000..5001, "X").unwrap();
        check(&d);
        d.edit(100..100, "\n# New heading\n").unwrap();
        check(&d);
        let len = d.text().len();
        d.edit(len - 10..len, "").unwrap();
        check(&d);
        d.edit(0..len / 2, "").unwrap();
        check(&d);
    }
}
