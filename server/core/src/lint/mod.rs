//! Lint rules for prompt files: pure functions from text to findings.
//!
//! Every finding carries a byte range in the document, the tokens it costs on every send (in
//! the document's base encoding; callers convert to a model's tokens and price them), and,
//! when the fix is mechanical, the edits that fix it. Edits touch only their own byte ranges,
//! so applying a fix leaves the rest of the document byte-identical.
//!
//! One rule family per file: [`budget`] (file and section over budget), [`whitespace`]
//! (trailing spaces, blank-line runs, table padding), [`blobs`] (base64, data URIs, minified
//! JSON, very long tables), [`chars`] (emoji, box drawing, invisible characters),
//! [`duplicates`] (repeated passages within a file and across files), [`imports`]
//! (CLAUDE.md `@path` imports that are missing or cyclic).

pub mod blobs;
pub mod budget;
pub mod chars;
pub mod duplicates;
pub mod imports;
pub mod whitespace;

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::config::lsp::LintConfig;
use crate::sections::Section;
use crate::tokenize::Encoding;

/// What a finding is about. The string form is the diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    FileOverBudget,
    SectionOverBudget,
    Duplicate,
    DuplicateAcrossFiles,
    Whitespace,
    BlankLines,
    TablePadding,
    Blob,
    LongTable,
    PoorTokenization,
    InvisibleCharacter,
    ImportMissing,
    ImportCycle,
}

impl Code {
    pub const ALL: [Code; 13] = [
        Code::FileOverBudget,
        Code::SectionOverBudget,
        Code::Duplicate,
        Code::DuplicateAcrossFiles,
        Code::Whitespace,
        Code::BlankLines,
        Code::TablePadding,
        Code::Blob,
        Code::LongTable,
        Code::PoorTokenization,
        Code::InvisibleCharacter,
        Code::ImportMissing,
        Code::ImportCycle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::FileOverBudget => "file-over-budget",
            Code::SectionOverBudget => "section-over-budget",
            Code::Duplicate => "duplicate",
            Code::DuplicateAcrossFiles => "duplicate-across-files",
            Code::Whitespace => "whitespace",
            Code::BlankLines => "blank-lines",
            Code::TablePadding => "table-padding",
            Code::Blob => "blob",
            Code::LongTable => "long-table",
            Code::PoorTokenization => "poor-tokenization",
            Code::InvisibleCharacter => "invisible-character",
            Code::ImportMissing => "import-missing",
            Code::ImportCycle => "import-cycle",
        }
    }

    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Default severity of the code.
    pub fn default_severity(self) -> Severity {
        match self {
            Code::FileOverBudget | Code::ImportMissing | Code::ImportCycle => Severity::Warning,
            Code::SectionOverBudget | Code::Duplicate | Code::DuplicateAcrossFiles | Code::Blob => Severity::Warning,
            Code::InvisibleCharacter => Severity::Warning,
            Code::LongTable | Code::PoorTokenization => Severity::Information,
            Code::Whitespace | Code::BlankLines | Code::TablePadding => Severity::Hint,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Information,
    Hint,
    Off,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "information" | "info" => Some(Severity::Information),
            "hint" => Some(Severity::Hint),
            "off" | "none" | "ignore" => Some(Severity::Off),
            _ => None,
        }
    }
}

/// One replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub range: Range<usize>,
    pub new_text: String,
}

/// A mechanical fix: a title for the editor's quick-fix menu and its edits (non-overlapping,
/// in document order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<Edit>,
}

/// A lint finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    /// Byte range in the document.
    pub range: Range<usize>,
    /// What is wrong, without the price (the caller appends tokens and dollars).
    pub message: String,
    /// Tokens (base encoding) this finding costs on every send: what fixing or removing it saves.
    pub tokens: u64,
    pub fix: Option<Fix>,
}

/// What kind of prompt file a document is; budgets depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    ClaudeMd,
    AgentsMd,
    WindsurfRule,
    Other,
}

impl FileKind {
    /// Classify by path (any separator).
    pub fn of_path(path: &str) -> FileKind {
        let p = path.replace('\\', "/");
        let name = p.rsplit('/').next().unwrap_or(&p);
        if name == "CLAUDE.md" || name == "CLAUDE.local.md" {
            FileKind::ClaudeMd
        } else if name == "AGENTS.md" || name == "AGENTS.override.md" {
            FileKind::AgentsMd
        } else if p.contains(".windsurf/rules/") || name == ".windsurfrules" {
            FileKind::WindsurfRule
        } else {
            FileKind::Other
        }
    }
}

/// Everything one document's lint run needs.
pub struct LintInput<'a> {
    pub text: &'a str,
    pub kind: FileKind,
    pub encoding: Encoding,
    pub sections: &'a [Section],
    /// Tokens of each section (base encoding), parallel to `sections`.
    pub section_tokens: &'a [u64],
    /// Tokens of the whole text (base encoding).
    pub total_tokens: u64,
    pub config: &'a LintConfig,
    /// Whether the text is Markdown (tables, headings and fences mean something).
    pub markdown: bool,
    /// Bytes of the files the agent reads before this one in the same chain (Codex reads
    /// `~/.codex/AGENTS.md` before the project's AGENTS.md; its 32 KiB limit is for the chain).
    pub preceding_bytes: usize,
}

/// Run every single-file rule. Cross-file duplicates and imports need other files and are run
/// separately ([`duplicates::across_files`], [`imports::check`]).
pub fn lint(input: &LintInput<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(budget::file_over_budget(input));
    out.extend(budget::sections_over_budget(input));
    out.extend(whitespace::trailing(input));
    out.extend(whitespace::blank_runs(input));
    if input.markdown {
        out.extend(whitespace::table_padding(input));
        out.extend(blobs::long_tables(input));
    }
    out.extend(blobs::blobs(input));
    out.extend(chars::chars(input));
    out.extend(duplicates::within(input));
    out.sort_by(|a, b| a.range.start.cmp(&b.range.start).then(a.code.cmp(&b.code)));
    out
}

/// Apply non-overlapping edits (any order) to `text`.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| e.range.start);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for e in sorted {
        if e.range.start < pos || e.range.end > text.len() {
            continue;
        }
        out.push_str(&text[pos..e.range.start]);
        out.push_str(&e.new_text);
        pos = e.range.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// Tokens saved by replacing `range` of `text` with `new_text`, counted on the affected lines.
pub(crate) fn tokens_saved(enc: Encoding, text: &str, range: Range<usize>, new_text: &str) -> u64 {
    let start = text[..range.start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let end = text[range.end..]
        .find('\n')
        .map(|i| range.end + i)
        .unwrap_or(text.len());
    let before = &text[start..end];
    let mut after = String::with_capacity(before.len());
    after.push_str(&text[start..range.start]);
    after.push_str(new_text);
    after.push_str(&text[range.end..end]);
    (enc.count(before) as u64).saturating_sub(enc.count(&after) as u64)
}

/// Byte ranges of lines (without the terminator) with the offset of the next line.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (Range<usize>, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let nl = memchr::memchr(b'\n', &bytes[pos..]).map(|i| pos + i);
        let (end, next) = match nl {
            Some(i) => (if i > pos && bytes[i - 1] == b'\r' { i - 1 } else { i }, i + 1),
            None => (text.len(), text.len()),
        };
        let r = (pos..end, next);
        pos = next;
        Some(r)
    })
}

/// Byte ranges of fenced code blocks (```` ``` ```` / `~~~`), fence lines included.
pub(crate) fn fenced_ranges(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut open: Option<(u8, usize, usize)> = None;
    for (line, next) in lines(text) {
        let l = &text[line.clone()];
        let t = l.trim_start_matches(' ');
        if l.len() - t.len() >= 4 {
            continue;
        }
        let tb = t.as_bytes();
        let Some(&c) = tb.first().filter(|c| **c == b'`' || **c == b'~') else {
            continue;
        };
        let n = tb.iter().take_while(|b| **b == c).count();
        if n < 3 {
            continue;
        }
        match open {
            None => open = Some((c, n, line.start)),
            Some((oc, on, start)) if oc == c && n >= on && t[n..].trim().is_empty() => {
                out.push(start..next);
                open = None;
            }
            _ => {}
        }
    }
    if let Some((_, _, start)) = open {
        out.push(start..text.len());
    }
    out
}

pub(crate) fn in_ranges(ranges: &[Range<usize>], pos: usize) -> bool {
    let i = ranges.partition_point(|r| r.end <= pos);
    ranges.get(i).is_some_and(|r| r.start <= pos)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::sections::markdown_sections;

    pub fn run(text: &str, kind: FileKind, f: impl Fn(&LintInput<'_>) -> Vec<Finding>) -> Vec<Finding> {
        run_with(text, kind, &LintConfig::default(), f)
    }

    pub fn run_with(
        text: &str,
        kind: FileKind,
        config: &LintConfig,
        f: impl Fn(&LintInput<'_>) -> Vec<Finding>,
    ) -> Vec<Finding> {
        let sections = markdown_sections(text);
        let enc = Encoding::O200kBase;
        let section_tokens: Vec<u64> = sections
            .iter()
            .map(|s| enc.count(&text[s.range.clone()]) as u64)
            .collect();
        let input = LintInput {
            text,
            kind,
            encoding: enc,
            sections: &sections,
            section_tokens: &section_tokens,
            total_tokens: enc.count(text) as u64,
            config,
            markdown: true,
            preceding_bytes: 0,
        };
        f(&input)
    }

    /// Apply every finding's fix and check that only the fixed ranges changed.
    pub fn fixed(text: &str, findings: &[Finding]) -> String {
        let edits: Vec<Edit> = findings
            .iter()
            .filter_map(|f| f.fix.as_ref())
            .flat_map(|f| f.edits.clone())
            .collect();
        apply_edits(text, &edits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::json!(c.as_str()));
        }
    }

    #[test]
    fn file_kinds() {
        assert_eq!(FileKind::of_path("/a/b/CLAUDE.md"), FileKind::ClaudeMd);
        assert_eq!(FileKind::of_path("AGENTS.md"), FileKind::AgentsMd);
        assert_eq!(FileKind::of_path("x/.windsurf/rules/a.md"), FileKind::WindsurfRule);
        assert_eq!(FileKind::of_path("README.md"), FileKind::Other);
    }

    #[test]
    fn apply_edits_keeps_the_rest() {
        let e = [
            Edit {
                range: 6..8,
                new_text: "X".into(),
            },
            Edit {
                range: 0..1,
                new_text: String::new(),
            },
        ];
        assert_eq!(apply_edits("abcdefghij", &e), "bcdefXij");
    }

    #[test]
    fn fences_found() {
        let t = "a\n```rust\nfn x\n```\nb\n~~~\nopen";
        let f = fenced_ranges(t);
        assert_eq!(&t[f[0].clone()], "```rust\nfn x\n```\n");
        assert_eq!(&t[f[1].clone()], "~~~\nopen");
        assert!(in_ranges(&f, 3));
        assert!(!in_ranges(&f, 0));
    }
}
