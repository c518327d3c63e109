//! Byte offsets <-> LSP positions (line, UTF-16 code unit). Out-of-range positions are
//! clamped the way the LSP spec asks (a character past the line end means the line end); a
//! position inside a surrogate pair or a multi-byte character snaps to the character start.

use tower_lsp_server::ls_types::{Position, Range};

#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 40 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// Update for the replacement of bytes `range` by `new_text` (cost: the lines after the
    /// edit are shifted, nothing is re-scanned but the new text).
    pub fn edit(&mut self, range: std::ops::Range<usize>, new_text: &str) {
        let first = self.starts.partition_point(|s| *s <= range.start);
        let last = self.starts.partition_point(|s| *s <= range.end);
        let delta = new_text.len() as isize - (range.end - range.start) as isize;
        let fresh: Vec<usize> = memchr::memchr_iter(b'\n', new_text.as_bytes())
            .map(|i| range.start + i + 1)
            .collect();
        let n = fresh.len();
        self.starts.splice(first..last, fresh);
        for s in &mut self.starts[first + n..] {
            *s = (*s as isize + delta) as usize;
        }
        self.len = (self.len as isize + delta) as usize;
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Byte range of line `line` without its terminator (`\n` or `\r\n`).
    pub fn line_range(&self, text: &str, line: usize) -> std::ops::Range<usize> {
        let start = self.starts[line.min(self.starts.len() - 1)];
        let mut end = self.starts.get(line + 1).map(|s| s - 1).unwrap_or(self.len);
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        start..end
    }

    /// The line containing byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset).saturating_sub(1)
    }

    /// Byte offset of `pos`, or None when the line is past the end of the document.
    pub fn offset(&self, text: &str, pos: Position) -> Option<usize> {
        let line = pos.line as usize;
        if line >= self.starts.len() {
            // One past the last line is allowed as "end of document" when the text ends with
            // a newline is already covered by the empty last line; anything beyond is invalid.
            return None;
        }
        let r = self.line_range(text, line);
        let mut units = 0u32;
        for (i, c) in text[r.clone()].char_indices() {
            let w = c.len_utf16() as u32;
            if units + w > pos.character {
                return Some(r.start + i);
            }
            units += w;
        }
        Some(r.end)
    }

    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_boundary(text, offset.min(text.len()));
        let line = self.line_of(offset);
        let start = self.starts[line];
        let character: usize = text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, character as u32)
    }

    pub fn range(&self, text: &str, r: std::ops::Range<usize>) -> Range {
        Range::new(self.position(text, r.start), self.position(text, r.end))
    }

    /// Byte range of an LSP range, or None when it is invalid (past the end, start after end).
    pub fn byte_range(&self, text: &str, r: Range) -> Option<std::ops::Range<usize>> {
        let s = self.offset(text, r.start)?;
        let e = self.offset(text, r.end)?;
        (s <= e).then_some(s..e)
    }
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_positions_round_trip() {
        // emoji (2 UTF-16 units, 4 bytes), CJK (1 unit, 3 bytes), combining mark (1 unit, 2 bytes)
        let text = "a😀b\n日本\ne\u{301}x\r\nlast";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 5), Position::new(0, 3)); // 'b'
        assert_eq!(idx.offset(text, Position::new(0, 3)), Some(5));
        assert_eq!(idx.offset(text, Position::new(0, 2)), Some(1)); // inside the surrogate pair
        assert_eq!(idx.offset(text, Position::new(1, 1)), Some(10)); // '本'
        assert_eq!(idx.offset(text, Position::new(2, 2)), Some(17)); // 'x' after e + U+0301
        assert_eq!(idx.offset(text, Position::new(2, 99)), Some(18)); // clamped before \r\n
        assert_eq!(idx.offset(text, Position::new(3, 4)), Some(text.len()));
        assert_eq!(idx.offset(text, Position::new(9, 0)), None);
        for (i, _) in text.char_indices().filter(|(i, _)| !text[..*i].ends_with('\r')) {
            assert_eq!(idx.offset(text, idx.position(text, i)), Some(i), "offset {i}");
        }
    }

    #[test]
    fn incremental_edit_matches_rebuild() {
        let cases: &[(&str, std::ops::Range<usize>, &str)] = &[
            ("a\nb\nc\n", 1..3, ""),
            ("a\nb\nc\n", 2..2, "x\ny\n"),
            ("a\nb\nc", 0..5, "\n"),
            ("", 0..0, "one\ntwo"),
            ("a\r\nb\n\n", 3..6, "z\r\n"),
        ];
        for (text, range, new) in cases {
            let mut idx = LineIndex::new(text);
            idx.edit(range.clone(), new);
            let mut t = text.to_string();
            t.replace_range(range.clone(), new);
            let fresh = LineIndex::new(&t);
            assert_eq!(
                (idx.starts.clone(), idx.len),
                (fresh.starts, fresh.len),
                "{text:?} {range:?} {new:?}"
            );
        }
    }
}
