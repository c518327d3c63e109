//! Sectioning of prompt documents: Markdown headings, YAML/TOML front matter, fenced blocks.
//! Sections are byte ranges of the document; their boundaries fall on line starts.

use serde::{Deserialize, Serialize};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// Text before the first heading.
    Preamble,
    FrontMatter,
    Heading,
    FencedBlock,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub kind: SectionKind,
    /// Heading text without the #s, or "front matter", or the fence's info string.
    pub title: String,
    /// Heading level 1..=6 (0 for non-heading sections).
    pub level: u8,
    /// Byte range in the document.
    pub range: Range<usize>,
}

/// Split a Markdown document into top-level sections: optional front matter, a preamble,
/// then one section per heading (running to the next heading of any level). Headings inside
/// fenced code blocks are not headings. The sections tile the text (an empty text has one
/// empty preamble).
pub fn markdown_sections(text: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let pos = front_matter_end(text);
    if pos > 0 {
        out.push(Section {
            kind: SectionKind::FrontMatter,
            title: "front matter".into(),
            level: 0,
            range: 0..pos,
        });
    }
    let preamble = Section {
        kind: SectionKind::Preamble,
        title: String::new(),
        level: 0,
        range: pos..pos,
    };
    scan_headings(text, preamble, None, |_| false, &mut out);
    out
}

/// Fenced code blocks (``` or ~~~, up to 3 spaces of indent) outside front matter, in order:
/// each runs from its opening fence line to the end of its closing fence line (or of the text,
/// when unclosed). They nest inside the sections of [`markdown_sections`]; the title is the
/// fence's info string.
pub fn fenced_blocks(text: &str) -> Vec<Section> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut line_start = front_matter_end(text);
    let mut open: Option<(u8, usize, usize, String)> = None;
    while line_start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[line_start..])
            .map(|i| line_start + i + 1)
            .unwrap_or(bytes.len());
        let line = &text[line_start..end];
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let tb = trimmed.as_bytes();
        if indent < 4
            && let Some(&c) = tb.first().filter(|c| **c == b'`' || **c == b'~')
        {
            let n = tb.iter().take_while(|b| **b == c).count();
            if n >= 3 {
                match &open {
                    None => open = Some((c, n, line_start, trimmed[n..].trim().to_string())),
                    Some((fc, fnum, start, info)) if *fc == c && n >= *fnum && trimmed[n..].trim().is_empty() => {
                        out.push(Section {
                            kind: SectionKind::FencedBlock,
                            title: info.clone(),
                            level: 0,
                            range: *start..end,
                        });
                        open = None;
                    }
                    _ => {}
                }
            }
        }
        line_start = end;
    }
    if let Some((_, _, start, info)) = open {
        out.push(Section {
            kind: SectionKind::FencedBlock,
            title: info,
            level: 0,
            range: start..text.len(),
        });
    }
    out
}

/// End of a leading YAML (`---`) or TOML (`+++`) front matter block, or 0 when there is none.
fn front_matter_end(text: &str) -> usize {
    let bytes = text.as_bytes();
    for fence in ["---", "+++"] {
        if text.starts_with(fence) && matches!(bytes.get(3), Some(b'\n') | Some(b'\r')) {
            let mut line_start = text[3..].find('\n').map(|i| i + 4).unwrap_or(text.len());
            while line_start < text.len() {
                let end = memchr::memchr(b'\n', &bytes[line_start..])
                    .map(|i| line_start + i + 1)
                    .unwrap_or(text.len());
                if text[line_start..end].trim_end() == fence {
                    return end;
                }
                line_start = end;
            }
        }
    }
    0
}

/// A fence that is open: its character and length.
pub(crate) type OpenFence = Option<(u8, usize)>;

/// Scan lines from `current.range.start` (a line start, with `fence` the fence state there),
/// pushing each finished section to `out`, the last one running to the end of the text. Before
/// each line outside a fence, `resume(line_start)` may stop the scan: the current section then
/// ends there and the line start is returned (the caller continues with sections it knows).
pub(crate) fn scan_headings(
    text: &str,
    mut current: Section,
    mut fence: OpenFence,
    mut resume: impl FnMut(usize) -> bool,
    out: &mut Vec<Section>,
) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut line_start = current.range.start;
    let mut first = true;
    while line_start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[line_start..])
            .map(|i| line_start + i + 1)
            .unwrap_or(bytes.len());
        if !first && fence.is_none() && resume(line_start) {
            current.range.end = line_start;
            out.push(current);
            return Some(line_start);
        }
        first = false;
        // Only lines starting (after up to 3 spaces) with #, ` or ~ matter.
        let mut i = line_start;
        while i < end && i - line_start < 4 && bytes[i] == b' ' {
            i += 1;
        }
        let indent = i - line_start;
        let c = bytes.get(i).copied().unwrap_or(b'\n');
        if indent < 4 && matches!(c, b'#' | b'`' | b'~') {
            let line = &text[line_start..end];
            let trimmed = &line[indent..];
            let tb = trimmed.as_bytes();
            if c == b'`' || c == b'~' {
                let n = tb.iter().take_while(|b| **b == c).count();
                if n >= 3 {
                    match fence {
                        None => fence = Some((c, n)),
                        Some((fc, fnum)) if fc == c && n >= fnum && trimmed[n..].trim().is_empty() => fence = None,
                        _ => {}
                    }
                }
            } else if fence.is_none() {
                let level = tb.iter().take_while(|b| **b == b'#').count();
                if level <= 6
                    && matches!(
                        tb.get(level),
                        None | Some(b' ') | Some(b'\t') | Some(b'\n') | Some(b'\r')
                    )
                {
                    current.range.end = line_start;
                    if !current.range.is_empty() {
                        out.push(current);
                    }
                    let title = trimmed[level..].trim().trim_end_matches('#').trim().to_string();
                    current = Section {
                        kind: SectionKind::Heading,
                        title,
                        level: level as u8,
                        range: line_start..line_start,
                    };
                }
            }
        }
        line_start = end;
    }
    current.range.end = text.len();
    if !current.range.is_empty() || out.is_empty() {
        out.push(current);
    }
    None
}
