//! Embedded blobs: data URIs, base64 and hex runs, minified JSON, very long tables. None of
//! these has a mechanical fix (the content may matter); the finding says what it costs.

use std::ops::Range;

use super::{Code, Finding, LintInput, fenced_ranges, in_ranges, lines};
use crate::tokenize::group_thousands;

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

fn blob(input: &LintInput<'_>, range: Range<usize>, what: &str) -> Finding {
    let tokens = input.encoding.count(&input.text[range.clone()]) as u64;
    Finding {
        code: Code::Blob,
        message: format!(
            "Embedded {what} ({} bytes)",
            group_thousands((range.end - range.start) as u64)
        ),
        range,
        tokens,
        fix: None,
    }
}

/// Data URIs, base64 / hex runs and minified JSON lines.
pub fn blobs(input: &LintInput<'_>) -> Vec<Finding> {
    let text = input.text;
    let b = text.as_bytes();
    let min = input.config.blob_min_chars.max(16);
    let mut out: Vec<Finding> = Vec::new();
    // data URIs
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&b[from..], b"data:").map(|i| from + i) {
        from = i + 5;
        let head_end = b[i..].iter().take(100).position(|c| *c == b',').map(|p| i + p);
        let Some(comma) = head_end else { continue };
        let head = &text[i..comma];
        if head.bytes().any(|c| c.is_ascii_whitespace()) || !head.contains('/') {
            continue;
        }
        let end = comma + 1 + b[comma + 1..].iter().take_while(|c| is_b64(**c) || **c == b'%').count();
        if end - i >= 32 {
            out.push(blob(input, i..end, "data URI"));
            from = end;
        }
    }
    // base64 / hex runs
    let mut i = 0;
    while i < b.len() {
        if !is_b64(b[i]) || (i > 0 && is_b64(b[i - 1])) {
            i += 1;
            continue;
        }
        let end = i + b[i..].iter().take_while(|c| is_b64(**c)).count();
        let run = &b[i..end];
        if end - i >= min && !out.iter().any(|f| f.range.start <= i && i < f.range.end) {
            let digits = run.iter().filter(|c| c.is_ascii_digit()).count();
            let upper = run.iter().filter(|c| c.is_ascii_uppercase()).count();
            let lower = run.iter().filter(|c| c.is_ascii_lowercase()).count();
            let hex = run.iter().all(|c| c.is_ascii_hexdigit());
            if hex && digits > 0 {
                out.push(blob(input, i..end, "hex string"));
            } else if digits > 0 && upper > 0 && lower > 0 {
                out.push(blob(input, i..end, "base64 data"));
            }
        }
        i = end.max(i + 1);
    }
    // minified JSON
    let min_json = input.config.minified_json_min_chars.max(64);
    for (line, _) in lines(text) {
        let l = &text[line.clone()];
        if l.len() < min_json {
            continue;
        }
        let t = l.trim_start();
        if !(t.starts_with('{') || t.starts_with('[')) || !t.contains("\":") {
            continue;
        }
        let ws = t.bytes().filter(|c| c.is_ascii_whitespace()).count();
        if ws * 50 < t.len() && !out.iter().any(|f| f.range.start < line.end && line.start < f.range.end) {
            out.push(blob(input, line.start + (l.len() - t.len())..line.end, "minified JSON"));
        }
    }
    out.sort_by_key(|f| f.range.start);
    out
}

/// Markdown tables with more rows than `long_table_rows`.
pub fn long_tables(input: &LintInput<'_>) -> Vec<Finding> {
    let text = input.text;
    let fences = fenced_ranges(text);
    let max = input.config.long_table_rows;
    let mut out = Vec::new();
    let mut table: Option<(Range<usize>, usize)> = None;
    let mut flush = |table: &mut Option<(Range<usize>, usize)>| {
        if let Some((range, rows)) = table.take()
            && max > 0
            && rows > max
        {
            let tokens = input.encoding.count(&text[range.clone()]) as u64;
            out.push(Finding {
                code: Code::LongTable,
                range: range.start..text[range.start..].find('\n').map_or(range.end, |i| range.start + i),
                message: format!("Table of {rows} rows (more than {max}); consider linking to it or summarising"),
                tokens,
                fix: None,
            });
        }
    };
    for (line, _) in lines(text) {
        let is_row = text[line.clone()].trim_start().starts_with('|') && !in_ranges(&fences, line.start);
        if is_row {
            match &mut table {
                Some((r, n)) => {
                    r.end = line.end;
                    *n += 1;
                }
                None => table = Some((line.clone(), 1)),
            }
        } else {
            flush(&mut table);
        }
    }
    flush(&mut table);
    out
}

#[cfg(test)]
mod tests {
    use super::super::FileKind;
    use super::super::test_support::run;
    use super::*;

    #[test]
    fn data_uri_and_base64_and_hex() {
        let b64 =
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg".repeat(3);
        let text = format!(
            "# Img\n![x](data:image/png;base64,{b64})\nkey: {b64}\nsha: {}\nplain words that are long but normal\n",
            "0123456789abcdef".repeat(10)
        );
        let f = run(&text, FileKind::Other, blobs);
        let kinds: Vec<&str> = f.iter().map(|f| f.message.split(" (").next().unwrap()).collect();
        assert_eq!(
            kinds,
            ["Embedded data URI", "Embedded base64 data", "Embedded hex string"]
        );
        assert!(text[f[0].range.clone()].starts_with("data:image/png;base64,"));
        assert!(f.iter().all(|f| f.tokens > 10));
    }

    #[test]
    fn identifiers_and_paths_are_not_blobs() {
        let text = format!(
            "see src/{}/mod.rs and {}\n",
            "a".repeat(30),
            "snake_case_name_".repeat(10)
        );
        assert!(run(&text, FileKind::Other, blobs).is_empty());
    }

    #[test]
    fn minified_json_line() {
        let json = serde_json::to_string(
            &(0..60)
                .map(|i| (format!("k{i}"), i))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .unwrap();
        let text = format!("Config:\n{json}\n");
        let f = run(&text, FileKind::Other, blobs);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("Embedded minified JSON"));
    }

    #[test]
    fn long_table() {
        let mut text = "| a | b |\n| --- | --- |\n".to_string();
        for i in 0..45 {
            text.push_str(&format!("| {i} | x |\n"));
        }
        let f = run(&text, FileKind::Other, long_tables);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("Table of 47 rows"));
        assert_eq!(&text[f[0].range.clone()], "| a | b |");
    }
}
