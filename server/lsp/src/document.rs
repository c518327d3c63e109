//! An open document: its text, version, line index and the last analysis. Changes are applied
//! in the order they arrive; a change whose version is not newer than the document's is
//! refused, and a change with an invalid range is refused without touching the text.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use promptmeter_core::Encoding;
use tower_lsp_server::ls_types::TextDocumentContentChangeEvent;

use crate::analysis::{Analysis, Counter, DocFormat};
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

pub struct OpenDocument {
    pub path: Option<PathBuf>,
    /// Path relative to its workspace root (or the URI), for classification and messages.
    pub rel: String,
    pub version: i32,
    text: String,
    index: LineIndex,
    pub format: DocFormat,
    counter: Counter,
    analysis: Option<(i32, Encoding, Arc<Analysis>)>,
}

impl OpenDocument {
    pub fn new(path: Option<PathBuf>, rel: String, version: i32, text: String) -> Self {
        let format = DocFormat::of_path(&rel);
        OpenDocument {
            path,
            rel,
            version,
            index: LineIndex::new(&text),
            text,
            format,
            counter: Counter::default(),
            analysis: None,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn index(&self) -> &LineIndex {
        &self.index
    }

    pub fn skip(&self, max_bytes: usize) -> Option<Skip> {
        if self.text.len() > max_bytes {
            Some(Skip::TooLarge)
        } else if self.text.as_bytes().contains(&0) {
            Some(Skip::Binary)
        } else {
            None
        }
    }

    /// Apply one didChange notification's changes, all or nothing.
    pub fn apply(&mut self, version: i32, changes: Vec<TextDocumentContentChangeEvent>) -> Result<(), ChangeError> {
        if version <= self.version {
            return Err(ChangeError::StaleVersion {
                have: self.version,
                got: version,
            });
        }
        // Validate against a scratch copy only when there is more than one ranged change.
        let mut text: Option<String> = None;
        let mut index: Option<LineIndex> = None;
        for ch in changes {
            let cur = text.as_deref().unwrap_or(&self.text);
            let idx = index.as_ref().unwrap_or(&self.index);
            match ch.range {
                None => {
                    text = Some(ch.text);
                }
                Some(r) => {
                    let Some(br) = idx.byte_range(cur, r) else {
                        return Err(ChangeError::InvalidRange(r));
                    };
                    let mut t = text.take().unwrap_or_else(|| self.text.clone());
                    replace(&mut t, br, &ch.text);
                    text = Some(t);
                }
            }
            index = Some(LineIndex::new(text.as_deref().unwrap_or_default()));
        }
        if let (Some(t), Some(i)) = (text, index) {
            self.text = t;
            self.index = i;
        }
        self.version = version;
        Ok(())
    }

    /// The analysis of the current text (computed on demand, re-counting only changed parts).
    pub fn analysis(&mut self, encoding: Encoding) -> Arc<Analysis> {
        if let Some((v, e, a)) = &self.analysis
            && *v == self.version
            && *e == encoding
        {
            return a.clone();
        }
        let a = Arc::new(self.counter.analyse(&self.text, self.format, encoding));
        self.analysis = Some((self.version, encoding, a.clone()));
        a
    }
}

fn replace(text: &mut String, range: Range<usize>, new: &str) {
    text.replace_range(range, new);
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
        let mut d = OpenDocument::new(None, "CLAUDE.md".into(), 1, "a😀b\nline2\n".into());
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
        assert_eq!(d.text(), "a😀B\nLINE2\n");
        d.apply(4, vec![change(2, 0, 2, 0, "end")]).unwrap();
        assert_eq!(d.text(), "a😀B\nLINE2\nend");
    }
}
