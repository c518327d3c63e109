//! Incremental document counts: after any sequence of edits, a `Document` has exactly the
//! total and per-section counts of a document built from scratch on the same text, and each
//! section's count equals counting its text alone wherever its boundaries are safe.

mod common;

use promptmeter_core::document::{DocKind, Document};
use promptmeter_core::sections::SectionKind;
use promptmeter_core::tokenize::{Encoding, safe_boundary};
use proptest::prelude::*;

/// The one check of this file.
fn check(doc: &Document) {
    let text = doc.text();
    let enc = doc.encoding();
    assert_eq!(doc.total_tokens(), enc.count(text), "total");
    let fresh = Document::new(text.to_string(), doc.kind(), enc);
    assert_eq!(doc.sections(), fresh.sections(), "incremental sections == full recount");
    let mut pos = 0;
    let mut sum = 0;
    for s in doc.sections() {
        let r = s.section.range.clone();
        assert_eq!(r.start, pos, "sections tile the text");
        pos = r.end;
        sum += s.tokens;
        if safe_boundary(text, r.start) && safe_boundary(text, r.end) {
            assert_eq!(
                s.tokens,
                enc.count(&text[r.clone()]),
                "section {:?} alone",
                s.section.title
            );
        }
    }
    assert_eq!(pos, text.len());
    assert_eq!(sum, doc.total_tokens(), "sections sum to the total");
    if text.len() < 64 * 1024 {
        for b in doc.fenced_blocks() {
            let r = b.section.range.clone();
            if safe_boundary(text, r.start) && safe_boundary(text, r.end) {
                assert_eq!(b.tokens, enc.count(&text[r]), "block {:?} alone", b.section.title);
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Edit {
    /// Where, as a fraction of the length (snapped down to a char boundary).
    at: f64,
    /// How many chars to delete.
    delete: usize,
    insert: String,
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        0.0..=1.0f64,
        prop_oneof![3 => 0..2usize, 1 => 0..40usize, 1 => 0..400usize],
        common::text(6),
    )
        .prop_map(|(at, delete, insert)| Edit { at, delete, insert })
}

fn apply(doc: &mut Document, e: &Edit) {
    let text = doc.text();
    let mut start = ((text.len() as f64) * e.at) as usize;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let end = text[start..]
        .char_indices()
        .nth(e.delete)
        .map_or(text.len(), |(i, _)| start + i);
    doc.edit(start..end, &e.insert).expect("valid edit");
}

#[test]
fn corpus_files_count_and_section_exactly() {
    let mut headings = 0;
    for (name, text) in common::corpus() {
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let doc = Document::new(text.clone(), DocKind::Markdown, enc);
            check(&doc);
            // Real files: every section boundary is safe after snapping, so every section's
            // count equals counting it alone (`check` compares them).
            for s in doc.sections() {
                assert!(
                    safe_boundary(&text, s.section.range.start),
                    "{name}: unsafe boundary {:?}",
                    s.section
                );
            }
            headings += doc
                .sections()
                .iter()
                .filter(|s| s.section.kind == SectionKind::Heading)
                .count();
        }
    }
    assert!(headings > 200, "the corpus is sectioned by its headings ({headings})");
}

#[test]
fn one_char_edits_everywhere_in_a_file() {
    let (_, text) = common::corpus()
        .into_iter()
        .find(|(n, _)| n.contains("openai__codex"))
        .unwrap();
    let mut doc = Document::new(text, DocKind::Markdown, Encoding::O200kBase);
    let len = doc.text().len();
    for at in (0..len).step_by(97) {
        if !doc.text().is_char_boundary(at) {
            continue;
        }
        doc.edit(at..at, "x").unwrap();
        check(&doc);
        doc.edit(at..at + 1, "").unwrap();
        check(&doc);
    }
}

#[test]
fn large_document_typing_session() {
    // ~1 MB built from the corpus; type a line, delete it, add and remove a heading.
    let corpus = common::corpus();
    let mut text = String::new();
    while text.len() < 1 << 20 {
        for (_, t) in &corpus {
            text.push_str(t);
            text.push('\n');
        }
    }
    let mut doc = Document::new(text, DocKind::Markdown, Encoding::O200kBase);
    check(&doc);
    let at = doc.text().len() / 2;
    let at = (at..).find(|&i| doc.text().is_char_boundary(i)).unwrap();
    for (i, c) in "\n## A new heading, typed\nwith 世界 text".char_indices() {
        let mut buf = [0; 4];
        doc.edit(at + i..at + i, c.encode_utf8(&mut buf)).unwrap();
    }
    check(&doc);
    doc.edit(at..at + 20, "").unwrap();
    check(&doc);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random edit sequences (multi-byte text, headings, fences, whitespace runs) on corpus files.
    #[test]
    fn random_edits_on_corpus_files_match_full_counts(
        file in 0..1000usize,
        plain in any::<bool>(),
        cl100k in any::<bool>(),
        edits in prop::collection::vec(edit(), 1..25),
    ) {
        let corpus = common::corpus();
        let (_, text) = &corpus[file % corpus.len()];
        let enc = if cl100k { Encoding::Cl100kBase } else { Encoding::O200kBase };
        let kind = if plain { DocKind::PlainText } else { DocKind::Markdown };
        let mut doc = Document::new(text.clone(), kind, enc);
        for e in &edits {
            apply(&mut doc, e);
            check(&doc);
        }
    }

    /// Random edits on generated documents (small, so edits hit chunk and section boundaries).
    #[test]
    fn random_edits_on_generated_text_match_full_counts(
        start in common::text(60),
        edits in prop::collection::vec(edit(), 1..30),
    ) {
        let mut doc = Document::new(start, DocKind::Markdown, Encoding::O200kBase);
        for e in &edits {
            apply(&mut doc, e);
            check(&doc);
        }
    }
}
