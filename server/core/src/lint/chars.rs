//! Characters that tokenize poorly (emoji, box drawing: several tokens per character) and
//! invisible ones (zero-width characters, non-breaking spaces, soft hyphens) that cost tokens
//! and confuse models. Invisible characters have a fix (remove them, or a plain space for the
//! non-breaking ones); emoji and box drawing do not.

use std::ops::Range;

use super::{Code, Edit, Finding, Fix, LintInput, tokens_saved};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Emoji,
    BoxDrawing,
    ZeroWidth,
    NonBreakingSpace,
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xE0020..=0xE007F)
}

fn classify(c: char, prev: Option<Class>) -> Option<Class> {
    match c as u32 {
        // joiners and variation selectors inside an emoji sequence belong to the emoji
        0x200D | 0xFE0F | 0xFE0E | 0x20E3 if prev == Some(Class::Emoji) => Some(Class::Emoji),
        0x1F3FB..=0x1F3FF if prev == Some(Class::Emoji) => Some(Class::Emoji),
        0x2500..=0x259F => Some(Class::BoxDrawing),
        0x200B..=0x200D | 0x2060 | 0xFEFF | 0x00AD | 0x180E => Some(Class::ZeroWidth),
        0x00A0 | 0x202F | 0x2007 => Some(Class::NonBreakingSpace),
        _ if is_emoji(c) => Some(Class::Emoji),
        _ => None,
    }
}

pub fn chars(input: &LintInput<'_>) -> Vec<Finding> {
    let text = input.text;
    // runs of one class on one line; box drawing and emoji runs are merged per line
    let mut runs: Vec<(Class, Range<usize>, usize)> = Vec::new();
    let mut prev: Option<Class> = None;
    for (i, c) in text.char_indices() {
        let class = classify(c, prev);
        if let Some(cl) = class {
            let end = i + c.len_utf8();
            match runs.last_mut() {
                Some((lc, r, n)) if *lc == cl && (r.end == i || (!text[r.end..i].contains('\n') && mergeable(cl))) => {
                    r.end = end;
                    *n += 1;
                }
                _ => runs.push((cl, i..end, 1)),
            }
        }
        prev = class;
    }
    runs.into_iter()
        .filter_map(|(class, range, n)| finding(input, class, range, n))
        .collect()
}

fn mergeable(c: Class) -> bool {
    matches!(c, Class::Emoji | Class::BoxDrawing)
}

fn finding(input: &LintInput<'_>, class: Class, range: Range<usize>, n: usize) -> Option<Finding> {
    let text = input.text;
    let plural = |w: &str| if n == 1 { format!("1 {w}") } else { format!("{n} {w}s") };
    match class {
        Class::Emoji | Class::BoxDrawing => {
            // tokens of the special characters alone
            let special: String = text[range.clone()]
                .chars()
                .filter(|c| classify(*c, Some(Class::Emoji)).is_some())
                .collect();
            let tokens = input.encoding.count(&special) as u64;
            let what = if class == Class::Emoji {
                plural("emoji")
            } else {
                plural("box-drawing character")
            };
            Some(Finding {
                code: Code::PoorTokenization,
                message: format!("{what} on this line, several tokens each"),
                range,
                tokens,
                fix: None,
            })
        }
        Class::ZeroWidth | Class::NonBreakingSpace => {
            let (what, new_text, title) = if class == Class::ZeroWidth {
                (plural("zero-width character"), "", "Remove invisible characters")
            } else {
                (
                    plural("non-breaking space"),
                    " ",
                    "Replace non-breaking spaces with spaces",
                )
            };
            let edits: Vec<Edit> = text[range.clone()]
                .char_indices()
                .map(|(i, c)| Edit {
                    range: range.start + i..range.start + i + c.len_utf8(),
                    new_text: new_text.to_string(),
                })
                .collect();
            let tokens = tokens_saved(input.encoding, text, range.clone(), &new_text.repeat(edits.len()));
            Some(Finding {
                code: Code::InvisibleCharacter,
                message: format!("Invisible: {what}"),
                range,
                tokens,
                fix: Some(Fix {
                    title: title.to_string(),
                    edits,
                }),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::FileKind;
    use super::super::test_support::{fixed, run};
    use super::*;

    #[test]
    fn emoji_box_drawing_invisible() {
        let text = "# Rules 🚀✨\n┌──┐ box\nzero\u{200B}width and\u{00A0}nbsp\nfamily 👨\u{200D}👩\u{200D}👧 ok\n";
        let f = run(text, FileKind::Other, chars);
        let summary: Vec<(Code, &str)> = f.iter().map(|f| (f.code, &text[f.range.clone()])).collect();
        assert_eq!(
            summary,
            [
                (Code::PoorTokenization, "🚀✨"),
                (Code::PoorTokenization, "┌──┐"),
                (Code::InvisibleCharacter, "\u{200B}"),
                (Code::InvisibleCharacter, "\u{00A0}"),
                (Code::PoorTokenization, "👨\u{200D}👩\u{200D}👧"),
            ]
        );
        assert!(f[0].tokens >= 2);
        let out = fixed(text, &f);
        assert_eq!(out, text.replace('\u{200B}', "").replace('\u{00A0}', " "));
    }

    #[test]
    fn plain_text_has_no_findings() {
        assert!(run("Plain ASCII, café, 日本語.", FileKind::Other, chars).is_empty());
    }
}
