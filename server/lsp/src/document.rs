//! An open document: its text, version, line index and the last analysis. Changes are applied
//! in the order they arrive; a change whose version is not newer than the document's is
//! refused, and a notification with an invalid range is refused without touching the text.
//!
//! Markdown prompt files are held in the core's incrementally counted `Document` (an edit
//! re-counts only the chunks it touches); documents too large or binary are held as plain
//! text and never counted.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use promptmeter_core::Encoding;
use promptmeter_core::document::{DocKind, Document};
use tower_lsp_server::ls_types::TextDocumentContentChangeEvent;

use crate::analysis::{self, Analysis, Counter, DocFormat};
use crate::line_index::LineIndex;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ChangeError {
    #[error("version {got} is not newer than the document's version {have}")]
    StaleVersion { have: i32, got: i32 },
    #[error("change range {0:?} is outside the document")]
    InvalidRange(tower_lsp_server::ls_types::Range),
}

/// Why a document is not analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    TooLarge,
    Binary,
}

enum Content {
    /// Counted incrementally (Markdown in the active encoding).
    Counted(Document),
    /// Held as text only (configs, or documents not analysed).
    Raw(String),
}

impl Content {
    fn text(&self) -> &str {
        match self {
            Content::Counted(d) => d.text(),
            Content::Raw(t) => t,
        }
    }

    fn edit(&mut self, range: Range<usize>, new: &str) {
        match self {
            Content::Counted(d) => {
                if d.edit(range.clone(), new).is_err() {
                    // ranges are validated against the line index first; this cannot happen
                    let mut t = d.text().to_string();
                    t.replace_range(range, new);
                    *self = Content::Raw(t);
                }
            }
            Content::Raw(t) => t.replace_range(range, new),
        }
    }

    fn take_text(self) -> String {
        match self {
            Content::Counted(d) => d.text().to_string(),
            Content::Raw(t) => t,
        }
    }
}

pub struct OpenDocument {
    pub path: Option<PathBuf>,
    /// Path relative to its workspace root (or the URI), for classification and messages.
    pub rel: String,
    pub version: i32,
    content: Content,
    index: LineIndex,
    pub format: DocFormat,
    counter: Counter,
    analysis: Option<(i32, Encoding, Arc<Analysis>)>,
}

fn skip_of(text: &str, max_bytes: usize) -> Option<Skip> {
    if text.len() > max_bytes {
        Some(Skip::TooLarge)
    } else if memchr::memchr(0, text.as_bytes()).is_some() {
        Some(Skip::Binary)
    } else {
        None
    }
}

impl OpenDocument {
    /// A document; `count` is whether to count it (selected, not too large, not binary).
    pub fn new(path: Option<PathBuf>, rel: String, version: i32, text: String, count: Option<Encoding>) -> Self {
        let format = DocFormat::of_path(&rel);
        let index = LineIndex::new(&text);
        let content = match (format, count) {
            (DocFormat::Markdown, Some(enc)) => Content::Counted(Document::new(text, DocKind::Markdown, enc)),
            _ => Content::Raw(text),
        };
        OpenDocument {
            path,
            rel,
            version,
            content,
            index,
            format,
            counter: Counter::default(),
            analysis: None,
        }
    }

    pub fn text(&self) -> &str {
        self.content.text()
    }

    pub fn index(&self) -> &LineIndex {
        &self.index
    }

    pub fn skip(&self, max_bytes: usize) -> Option<Skip> {
        skip_of(self.text(), max_bytes)
    }

    /// Apply one didChange notification's changes, all or nothing.
    pub fn apply(&mut self, version: i32, changes: Vec<TextDocumentContentChangeEvent>) -> Result<(), ChangeError> {
        if version <= self.version {
            return Err(ChangeError::StaleVersion {
                have: self.version,
                got: version,
            });
        }
        if changes.len() == 1 && changes[0].range.is_some() {
            // the common case: validate, then edit in place
            let ch = changes.into_iter().next().expect("one change");
            let r = ch.range.expect("ranged");
            let Some(br) = self.index.byte_range(self.text(), r) else {
                return Err(ChangeError::InvalidRange(r));
            };
            self.index.edit(br.clone(), &ch.text);
            self.content.edit(br, &ch.text);
            self.version = version;
            return Ok(());
        } else {
            // several changes (or a full replacement): apply to a copy, then swap
            let mut text = self.text().to_string();
            let mut index = self.index.clone();
            for ch in changes {
                match ch.range {
                    None => text = ch.text,
                    Some(r) => {
                        let Some(br) = index.byte_range(&text, r) else {
                            return Err(ChangeError::InvalidRange(r));
                        };
                        text.replace_range(br, &ch.text);
                    }
                }
                index = LineIndex::new(&text);
            }
            let enc = match &self.content {
                Content::Counted(d) => Some(d.encoding()),
                Content::Raw(_) => None,
            };
            self.content = match enc {
                Some(e) => Content::Counted(Document::new(text, DocKind::Markdown, e)),
                None => Content::Raw(text),
            };
        }
        self.index = LineIndex::new(self.text());
        self.version = version;
        Ok(())
    }

    /// The file total and the parts whose hint anchor lies in bytes `window`, without building
    /// the whole analysis (the keystroke path of inlay hints on large files).
    pub fn parts_in(&mut self, encoding: Encoding, window: Range<usize>) -> (u64, Vec<analysis::Part>) {
        if self.format == DocFormat::Markdown
            && let Content::Counted(d) = &self.content
            && d.encoding() == encoding
        {
            let secs = d.sections();
            // sections tile the text in order; a part's anchor is on its first line
            let from = secs.partition_point(|s| s.section.range.end <= window.start);
            let parts = secs[from..]
                .iter()
                .take_while(|s| s.section.range.start <= window.end)
                .filter_map(|s| analysis::part_of(d.text(), &s.section, s.tokens as u64, secs.len()))
                .filter(|p| window.start <= p.anchor && p.anchor <= window.end)
                .collect();
            return (d.total_tokens() as u64, parts);
        }
        let a = self.analysis(encoding);
        let parts = a
            .parts
            .iter()
            .filter(|p| window.start <= p.anchor && p.anchor <= window.end)
            .cloned()
            .collect();
        (a.total, parts)
    }

    /// The analysis of the current text in `encoding` (computed on demand; Markdown counts are
    /// maintained incrementally by the core document).
    pub fn analysis(&mut self, encoding: Encoding) -> Arc<Analysis> {
        if let Some((v, e, a)) = &self.analysis
            && *v == self.version
            && *e == encoding
        {
            return a.clone();
        }
        let a = match self.format {
            DocFormat::Markdown => {
                let needs_rebuild = !matches!(&self.content, Content::Counted(d) if d.encoding() == encoding);
                if needs_rebuild {
                    let old = std::mem::replace(&mut self.content, Content::Raw(String::new()));
                    self.content = Content::Counted(Document::new(old.take_text(), DocKind::Markdown, encoding));
                }
                let Content::Counted(d) = &self.content else {
                    unreachable!("just built")
                };
                analysis::from_sections(d.text(), d.sections(), d.total_tokens() as u64, encoding)
            }
            DocFormat::Config(_) => self.counter.analyse(self.content.text(), self.format, encoding),
        };
        let a = Arc::new(a);
        self.analysis = Some((self.version, encoding, a.clone()));
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Position, Range};

    fn change(l0: u32, c0: u32, l1: u32, c1: u32, t: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(l0, c0), Position::new(l1, c1))),
            range_length: None,
            text: t.into(),
        }
    }

    #[test]
    fn incremental_changes_in_order_with_versions() {
        let enc = Some(Encoding::O200kBase);
        let mut d = OpenDocument::new(None, "CLAUDE.md".into(), 1, "a😀b\nline2\n".into(), enc);
        d.apply(2, vec![change(0, 3, 0, 4, "B"), change(1, 0, 1, 4, "LINE")])
            .unwrap();
        assert_eq!(d.text(), "a😀B\nLINE2\n");
        assert_eq!(
            d.apply(2, vec![change(0, 0, 0, 0, "x")]),
            Err(ChangeError::StaleVersion { have: 2, got: 2 })
        );
        assert!(matches!(
            d.apply(3, vec![change(9, 0, 9, 1, "x")]),
            Err(ChangeError::InvalidRange(_))
        ));
        assert!(matches!(
            d.apply(3, vec![change(0, 0, 0, 1, "ok"), change(9, 0, 9, 1, "x")]),
            Err(ChangeError::InvalidRange(_))
        ));
        assert_eq!(d.text(), "a😀B\nLINE2\n");
        d.apply(4, vec![change(2, 0, 2, 0, "# end\nmore")]).unwrap();
        assert_eq!(d.text(), "a😀B\nLINE2\n# end\nmore");
        let a = d.analysis(Encoding::O200kBase);
        assert_eq!(a.total, Encoding::O200kBase.count(d.text()) as u64);
        let b = d.analysis(Encoding::Cl100kBase);
        assert_eq!(b.total, Encoding::Cl100kBase.count(d.text()) as u64);
    }
}
