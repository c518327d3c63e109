//! Whitespace and formatting waste: trailing spaces, runs of blank lines, padded Markdown
//! tables. Each finding states the tokens its fix saves; findings that save nothing are not
//! reported.

use std::ops::Range;

use super::{Code, Edit, Finding, Fix, LintInput, fenced_ranges, in_ranges, lines, tokens_saved};
use crate::tokenize::Encoding;

fn saved(enc: Encoding, text: &str, edits: &[Edit]) -> u64 {
    edits
        .iter()
        .map(|e| tokens_saved(enc, text, e.range.clone(), &e.new_text))
        .sum()
}

fn finding(code: Code, range: Range<usize>, message: String, tokens: u64, title: &str, edits: Vec<Edit>) -> Finding {
    Finding {
        code,
        range,
        message,
        tokens,
        fix: Some(Fix {
            title: title.to_string(),
            edits,
        }),
    }
}

/// Trailing spaces and tabs, one finding per run of consecutive lines that have them.
pub fn trailing(input: &LintInput<'_>) -> Vec<Finding> {
    let text = input.text;
    let mut out = Vec::new();
    let mut run: Vec<Edit> = Vec::new();
    let flush = |run: &mut Vec<Edit>, out: &mut Vec<Finding>| {
        if run.is_empty() {
            return;
        }
        let edits = std::mem::take(run);
        let tokens = saved(input.encoding, text, &edits);
        if tokens == 0 {
            return;
        }
        let n = edits.len();
        let range = edits[0].range.start..edits[n - 1].range.end;
        let what = if n == 1 {
            "1 line".to_string()
        } else {
            format!("{n} lines")
        };
        out.push(finding(
            Code::Whitespace,
            range,
            format!("Trailing whitespace on {what}"),
            tokens,
            "Trim trailing whitespace",
            edits,
        ));
    };
    for (line, _) in lines(text) {
        let l = &text[line.clone()];
        let trimmed = l.trim_end_matches([' ', '\t']);
        if trimmed.len() < l.len() && !trimmed.is_empty() {
            run.push(Edit {
                range: line.start + trimmed.len()..line.end,
                new_text: String::new(),
            });
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Runs of `blank_run_lines` or more blank lines (outside code fences), collapsed to one.
pub fn blank_runs(input: &LintInput<'_>) -> Vec<Finding> {
    let text = input.text;
    let min = input.config.blank_run_lines.max(2);
    let fences = fenced_ranges(text);
    let mut out = Vec::new();
    let mut run: Option<(usize, usize, usize)> = None; // (start, end incl. newline, count)
    let mut flush = |run: &mut Option<(usize, usize, usize)>| {
        if let Some((start, end, count)) = run.take()
            && count >= min
        {
            // Keep the first blank line's terminator: one empty line stays.
            let keep = if text[start..end].contains("\r\n") {
                "\r\n"
            } else {
                "\n"
            };
            let edit = Edit {
                range: start..end,
                new_text: keep.to_string(),
            };
            // count with the neighbouring lines: runs of newlines merge into single tokens
            let ctx_start = text[..start.saturating_sub(1)].rfind('\n').map_or(0, |i| i + 1);
            let ctx_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
            let before = input.encoding.count(&text[ctx_start..ctx_end]) as u64;
            let after = format!("{}{keep}{}", &text[ctx_start..start], &text[end..ctx_end]);
            let tokens = before.saturating_sub(input.encoding.count(&after) as u64);
            if tokens > 0 {
                out.push(finding(
                    Code::BlankLines,
                    start..end,
                    format!("{count} blank lines in a row"),
                    tokens,
                    "Collapse blank lines",
                    vec![edit],
                ));
            }
        }
    };
    for (line, next) in lines(text) {
        let blank = text[line.clone()].trim().is_empty() && !in_ranges(&fences, line.start);
        if blank && next > line.end {
            match &mut run {
                Some((_, end, count)) => {
                    *end = next;
                    *count += 1;
                }
                None => run = Some((line.start, next, 1)),
            }
        } else {
            flush(&mut run);
        }
    }
    flush(&mut run);
    out
}

fn split_cells(row: &str) -> Option<Vec<&str>> {
    let t = row.trim();
    let inner = t.strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let b = inner.as_bytes();
    let mut start = 0;
    let mut in_code = false;
    for i in 0..b.len() {
        match b[i] {
            b'`' => in_code = !in_code,
            b'|' if !in_code && (i == 0 || b[i - 1] != b'\\') => {
                cells.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    cells.push(&inner[start..]);
    Some(cells)
}

fn is_separator_cell(c: &str) -> bool {
    let c = c.trim();
    !c.is_empty() && c.contains('-') && c.bytes().all(|b| matches!(b, b'-' | b':'))
}

/// The row with every cell trimmed to one space of padding (separator rows to `---`).
fn compact_row(row: &str) -> Option<String> {
    let cells = split_cells(row)?;
    let sep = cells.iter().all(|c| is_separator_cell(c));
    let mut out = String::from("|");
    for c in cells {
        let c = c.trim();
        if sep {
            let l = if c.starts_with(':') { ":" } else { "" };
            let r = if c.len() > 1 && c.ends_with(':') { ":" } else { "" };
            out.push_str(&format!(" {l}---{r} |"));
        } else if c.is_empty() {
            out.push_str(" |");
        } else {
            out.push(' ');
            out.push_str(c);
            out.push_str(" |");
        }
    }
    Some(out)
}

/// Markdown tables padded for alignment, one finding per table.
pub fn table_padding(input: &LintInput<'_>) -> Vec<Finding> {
    let text = input.text;
    let fences = fenced_ranges(text);
    let mut out = Vec::new();
    let mut table: Vec<Edit> = Vec::new();
    let mut table_range: Option<Range<usize>> = None;
    let mut flush = |table: &mut Vec<Edit>, range: &mut Option<Range<usize>>| {
        let edits = std::mem::take(table);
        let Some(range) = range.take() else { return };
        if edits.is_empty() {
            return;
        }
        let tokens = saved(input.encoding, text, &edits);
        if tokens > 0 {
            out.push(finding(
                Code::TablePadding,
                range,
                format!("Table padded for alignment ({} rows to compact)", edits.len()),
                tokens,
                "Compact table padding",
                edits,
            ));
        }
    };
    for (line, _) in lines(text) {
        let l = &text[line.clone()];
        let is_row = l.trim_start().starts_with('|') && !in_ranges(&fences, line.start);
        if !is_row {
            flush(&mut table, &mut table_range);
            continue;
        }
        let content_start = line.start + (l.len() - l.trim_start().len());
        let content_end = line.start + l.trim_end().len();
        let row = &text[content_start..content_end];
        table_range = Some(table_range.map_or(line.clone(), |r| r.start..line.end));
        if let Some(c) = compact_row(row)
            && c != row
        {
            table.push(Edit {
                range: content_start..content_end,
                new_text: c,
            });
        }
    }
    flush(&mut table, &mut table_range);
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fixed, run};
    use super::super::{FileKind, apply_edits};
    use super::*;

    #[test]
    fn trailing_whitespace_runs_and_fix() {
        let text = "# T\nalpha   \nbeta\t\t\ngamma\ndelta    \n";
        let f = run(text, FileKind::Other, trailing);
        assert_eq!(f.len(), 2);
        assert!(f[0].message.contains("2 lines"));
        assert!(f.iter().all(|f| f.tokens > 0));
        assert_eq!(fixed(text, &f), "# T\nalpha\nbeta\ngamma\ndelta\n");
    }

    #[test]
    fn crlf_lines_keep_their_terminator() {
        let text = "a  \r\nb\r\n";
        let f = run(text, FileKind::Other, trailing);
        assert_eq!(fixed(text, &f), "a\r\nb\r\n");
    }

    #[test]
    fn blank_runs_collapse_outside_fences() {
        let text = "a\n\n  \n\t\n\nb\n```\n\n\n\n\n```\n";
        let f = run(text, FileKind::Other, blank_runs);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].message, "4 blank lines in a row");
        assert_eq!(fixed(text, &f), "a\n\nb\n```\n\n\n\n\n```\n");
    }

    #[test]
    fn table_padding_compacts_every_row() {
        let text = "x\n| Name      | Value     |\n|-----------|:---------:|\n| a         | b         |\ny\n";
        let f = run(text, FileKind::Other, table_padding);
        assert_eq!(f.len(), 1);
        assert!(f[0].tokens > 0);
        let edits = &f[0].fix.as_ref().unwrap().edits;
        assert_eq!(
            apply_edits(text, edits),
            "x\n| Name | Value |\n| --- | :---: |\n| a | b |\ny\n"
        );
    }

    #[test]
    fn compact_table_is_left_alone() {
        let text = "| a | b |\n| --- | --- |\n| `x|y` | c |\n";
        assert!(run(text, FileKind::Other, table_padding).is_empty());
    }
}
