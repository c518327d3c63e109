//! Duplicated passages: paragraphs (blocks between blank lines) and long single lines that
//! occur more than once in a file, or also occur in another file the same agent loads in the
//! same context window (every copy is sent, every time). Passages are compared with their
//! whitespace collapsed. The fix removes the later copy (or this file's copy, across files).

use std::collections::HashMap;
use std::ops::Range;

use super::{Code, Edit, Finding, Fix, LintInput, lines};

#[derive(Debug, Clone)]
struct Unit {
    /// Lines of the passage, terminators excluded.
    range: Range<usize>,
    /// Range to delete: the lines with their terminators, plus one following blank line for a
    /// whole paragraph.
    delete: Range<usize>,
    key: String,
    /// Whether this is a whole paragraph (as opposed to one line inside one).
    paragraph: bool,
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn units(text: &str, min_chars: usize) -> Vec<Unit> {
    let mut out = Vec::new();
    let all: Vec<(Range<usize>, usize)> = lines(text).collect();
    let mut i = 0;
    while i < all.len() {
        if text[all[i].0.clone()].trim().is_empty() {
            i += 1;
            continue;
        }
        let first = i;
        while i < all.len() && !text[all[i].0.clone()].trim().is_empty() {
            i += 1;
        }
        let last = i - 1;
        let range = all[first].0.start..all[last].0.end;
        // delete the paragraph's lines and the blank line after it (or before it at the end)
        let mut delete = all[first].0.start..all[last].1;
        if i < all.len() {
            delete.end = all[i].1;
        } else if first > 0 && text[all[first - 1].0.clone()].trim().is_empty() {
            delete.start = all[first - 1].0.start;
        }
        let key = normalise(&text[range.clone()]);
        let heading_only = first == last && text[range.clone()].trim_start().starts_with('#');
        if key.chars().count() >= min_chars && !heading_only {
            out.push(Unit {
                range: range.clone(),
                delete,
                key: key.clone(),
                paragraph: true,
            });
        }
        if last > first {
            for (line, next) in &all[first..=last] {
                let k = normalise(&text[line.clone()]);
                if k.chars().count() >= min_chars && !k.starts_with('#') && !k.starts_with("```") {
                    out.push(Unit {
                        range: line.clone(),
                        delete: line.start..*next,
                        key: k,
                        paragraph: false,
                    });
                }
            }
        }
    }
    out
}

fn line_of(text: &str, pos: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..pos]).count() + 1
}

fn push(
    out: &mut Vec<Finding>,
    taken: &mut Vec<Range<usize>>,
    input: &LintInput<'_>,
    u: &Unit,
    code: Code,
    where_: String,
) {
    if taken.iter().any(|r| r.start < u.delete.end && u.delete.start < r.end) {
        return;
    }
    taken.push(u.delete.clone());
    let what = if u.paragraph { "passage" } else { "line" };
    out.push(Finding {
        code,
        range: u.range.clone(),
        message: format!("Duplicate {what}: {where_}"),
        tokens: input.encoding.count(&input.text[u.delete.clone()]) as u64,
        fix: Some(Fix {
            title: format!("Remove duplicate {what}"),
            edits: vec![Edit {
                range: u.delete.clone(),
                new_text: String::new(),
            }],
        }),
    });
}

/// Passages repeated within the document; the later copies are reported (whole paragraphs
/// first, then single lines that are not part of a reported paragraph).
pub fn within(input: &LintInput<'_>) -> Vec<Finding> {
    let text = input.text;
    let units = units(text, input.config.duplicate_min_chars.max(1));
    let mut groups: HashMap<&str, Vec<&Unit>> = HashMap::new();
    for u in &units {
        groups.entry(u.key.as_str()).or_default().push(u);
    }
    let mut dups: Vec<(&Unit, usize)> = Vec::new();
    for g in groups.values_mut().filter(|g| g.len() > 1) {
        g.sort_by_key(|u| u.range.start);
        let first = g[0].range.start;
        dups.extend(g[1..].iter().map(|u| (*u, first)));
    }
    dups.sort_by_key(|(u, _)| (!u.paragraph, u.range.start));
    let mut out = Vec::new();
    let mut taken: Vec<Range<usize>> = Vec::new();
    for (u, first) in dups {
        let msg = format!("same text as line {}", line_of(text, first));
        push(&mut out, &mut taken, input, u, Code::Duplicate, msg);
    }
    out.sort_by_key(|f| f.range.start);
    out
}

/// Passages of this document that also occur in `others` (name, text): files the same agent
/// loads together with it.
pub fn across_files(input: &LintInput<'_>, others: &[(&str, &str)]) -> Vec<Finding> {
    let min = input.config.duplicate_min_chars.max(1);
    let mut index: HashMap<String, (usize, usize)> = HashMap::new();
    for (fi, (_, other)) in others.iter().enumerate() {
        for u in units(other, min) {
            index.entry(u.key).or_insert((fi, u.range.start));
        }
    }
    let mut out = Vec::new();
    let mut taken = Vec::new();
    let units = units(input.text, min);
    for pass in [true, false] {
        for u in units.iter().filter(|u| u.paragraph == pass) {
            if let Some(&(fi, start)) = index.get(&u.key) {
                let (name, other) = others[fi];
                let msg = format!(
                    "also in {name} (line {}), loaded in the same context",
                    line_of(other, start)
                );
                push(&mut out, &mut taken, input, u, Code::DuplicateAcrossFiles, msg);
            }
        }
    }
    out.sort_by_key(|f| f.range.start);
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fixed, run};
    use super::super::{FileKind, LintInput};
    use super::*;

    const P: &str = "Always run the full test suite with `cargo test --workspace` before you open a pull request.";

    #[test]
    fn repeated_paragraph_reported_once_and_removed() {
        let text = format!("# A\n\n{P}\n\n# B\n\n{P}\n\nEnd.\n");
        let f = run(&text, FileKind::Other, within);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].message, "Duplicate passage: same text as line 3");
        assert!(f[0].tokens > 10);
        assert_eq!(fixed(&text, &f), format!("# A\n\n{P}\n\n# B\n\nEnd.\n"));
    }

    #[test]
    fn repeated_line_inside_lists() {
        let text = format!("- one\n- {P}\n- two\n\nother\n- three\n-   {P}\n");
        let f = run(&text, FileKind::Other, within);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].message, "Duplicate line: same text as line 2");
        assert_eq!(fixed(&text, &f), format!("- one\n- {P}\n- two\n\nother\n- three\n"));
    }

    #[test]
    fn short_passages_are_fine() {
        assert!(run("ok\n\nok\n", FileKind::Other, within).is_empty());
    }

    #[test]
    fn across_files_names_the_other_file() {
        let text = format!("# Mine\n\n{P}\n");
        let other = format!("# Theirs\n\nintro\n\n{P}\n");
        let f = run(&text, FileKind::Other, |i: &LintInput<'_>| {
            across_files(i, &[("AGENTS.md", &other)])
        });
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, Code::DuplicateAcrossFiles);
        assert_eq!(
            f[0].message,
            "Duplicate passage: also in AGENTS.md (line 5), loaded in the same context"
        );
        assert_eq!(fixed(&text, &f), "# Mine\n");
    }
}
