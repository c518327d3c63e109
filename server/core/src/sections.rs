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
/// fenced code blocks are not headings.
pub fn markdown_sections(text: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let mut pos = 0;
    let bytes = text.as_bytes();
    // front matter: "---\n" ... "\n---" or "+++"
    for fence in ["---", "+++"] {
        if text.starts_with(fence) && matches!(bytes.get(3), Some(b'\n') | Some(b'\r')) {
            let mut line_start = text[3..].find('\n').map(|i| i + 4).unwrap_or(text.len());
            while line_start < text.len() {
                let end = text[line_start..]
                    .find('\n')
                    .map(|i| line_start + i + 1)
                    .unwrap_or(text.len());
                if text[line_start..end].trim_end() == fence {
                    out.push(Section {
                        kind: SectionKind::FrontMatter,
                        title: "front matter".into(),
                        level: 0,
                        range: 0..end,
                    });
                    pos = end;
                    break;
                }
                line_start = end;
            }
        }
    }
    let mut current = Section {
        kind: SectionKind::Preamble,
        title: String::new(),
        level: 0,
        range: pos..pos,
    };
    let mut in_fence: Option<(u8, usize)> = None;
    let mut line_start = pos;
    while line_start < text.len() {
        let end = memchr::memchr(b'\n', &bytes[line_start..])
            .map(|i| line_start + i + 1)
            .unwrap_or(text.len());
        let line = &text[line_start..end];
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        if indent < 4 {
            let tb = trimmed.as_bytes();
            if let Some(&c) = tb.first().filter(|c| **c == b'`' || **c == b'~') {
                let n = tb.iter().take_while(|b| **b == c).count();
                if n >= 3 {
                    match in_fence {
                        None => in_fence = Some((c, n)),
                        Some((fc, fnum)) if fc == c && n >= fnum && trimmed[n..].trim().is_empty() => in_fence = None,
                        _ => {}
                    }
                }
            } else if in_fence.is_none() && tb.first() == Some(&b'#') {
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
    out
}
