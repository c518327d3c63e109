//! File and section over budget. File budgets default to the agents' own limits: Claude Code
//! warns above 40,000 characters of CLAUDE.md, Codex stops reading the AGENTS.md chain at
//! 32 KiB (what follows is silently dropped), Windsurf allows 6,000 characters per rule file.

use std::ops::Range;

use super::{Code, FileKind, Finding, LintInput};
use crate::tokenize::group_thousands;

/// Byte offset of the `n`th character (or the text length).
fn char_offset(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map(|(i, _)| i).unwrap_or(text.len())
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The line containing `pos` (without its terminator).
fn line_at(text: &str, pos: usize) -> Range<usize> {
    let start = text[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let end = text[pos..].find('\n').map(|i| pos + i).unwrap_or(text.len());
    let end = if end > start && text.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    start..end
}

pub fn file_over_budget(input: &LintInput<'_>) -> Option<Finding> {
    let text = input.text;
    let cfg = input.config;
    let (limit_desc, excess_start) = match input.kind {
        FileKind::ClaudeMd => {
            let chars = text.chars().count();
            if cfg.claude_md_max_chars == 0 || chars <= cfg.claude_md_max_chars {
                return None;
            }
            (
                format!(
                    "{} characters, above Claude Code's {} character warning for CLAUDE.md",
                    group_thousands(chars as u64),
                    group_thousands(cfg.claude_md_max_chars as u64)
                ),
                char_offset(text, cfg.claude_md_max_chars),
            )
        }
        FileKind::AgentsMd => {
            let limit = cfg.agents_md_max_bytes;
            let before = input.preceding_bytes;
            if limit == 0 || text.len() + before <= limit {
                return None;
            }
            let chain = if before > 0 {
                format!(" (after {} bytes earlier in the chain)", group_thousands(before as u64))
            } else {
                String::new()
            };
            (
                format!(
                    "{} bytes{chain}; Codex stops reading the AGENTS.md chain at {} bytes and silently drops the rest",
                    group_thousands(text.len() as u64),
                    group_thousands(limit as u64)
                ),
                floor_char_boundary(text, limit.saturating_sub(before)),
            )
        }
        FileKind::WindsurfRule => {
            let chars = text.chars().count();
            if cfg.windsurf_rule_max_chars == 0 || chars <= cfg.windsurf_rule_max_chars {
                return None;
            }
            (
                format!(
                    "{} characters, above Windsurf's {} character limit per rule file",
                    group_thousands(chars as u64),
                    group_thousands(cfg.windsurf_rule_max_chars as u64)
                ),
                char_offset(text, cfg.windsurf_rule_max_chars),
            )
        }
        FileKind::Other => {
            if cfg.file_max_tokens == 0 || input.total_tokens <= cfg.file_max_tokens as u64 {
                return None;
            }
            let over = input.total_tokens - cfg.file_max_tokens as u64;
            return Some(Finding {
                code: Code::FileOverBudget,
                range: line_at(text, 0),
                message: format!(
                    "File over budget: {} tokens, {} above the {} token budget",
                    group_thousands(input.total_tokens),
                    group_thousands(over),
                    group_thousands(cfg.file_max_tokens as u64)
                ),
                tokens: over,
                fix: None,
            });
        }
    };
    let tokens = input.encoding.count(&text[excess_start..]) as u64;
    let line = line_at(text, excess_start);
    Some(Finding {
        code: Code::FileOverBudget,
        range: excess_start.max(line.start)..line.end.max(excess_start),
        message: format!("File over budget: {limit_desc}; the part from here on"),
        tokens,
        fix: None,
    })
}

pub fn sections_over_budget(input: &LintInput<'_>) -> Vec<Finding> {
    let max = input.config.section_max_tokens as u64;
    if max == 0 {
        return Vec::new();
    }
    input
        .sections
        .iter()
        .zip(input.section_tokens)
        .filter(|(_, t)| **t > max)
        .map(|(s, t)| {
            let name = if s.title.is_empty() {
                "(preamble)".to_string()
            } else {
                s.title.clone()
            };
            Finding {
                code: Code::SectionOverBudget,
                range: line_at(input.text, s.range.start),
                message: format!(
                    "Section \"{name}\" over budget: {} tokens, above the {} token budget per section",
                    group_thousands(*t),
                    group_thousands(max)
                ),
                tokens: *t - max,
                fix: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, run_with};
    use super::*;
    use crate::config::lsp::LintConfig;

    #[test]
    fn claude_md_over_40k_chars() {
        let text = "# Rules\n".to_string() + &"é".repeat(40_010);
        let f = run(&text, FileKind::ClaudeMd, |i| file_over_budget(i).into_iter().collect());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, Code::FileOverBudget);
        // 40,000 chars from the start: 8 ASCII + 39,992 two-byte chars.
        assert_eq!(f[0].range.start, 8 + 39_992 * 2);
        assert!(f[0].tokens > 0);
        assert!(f[0].message.contains("40,018 characters"), "{}", f[0].message);
        let ok = run("# small", FileKind::ClaudeMd, |i| {
            file_over_budget(i).into_iter().collect()
        });
        assert!(ok.is_empty());
    }

    #[test]
    fn agents_md_truncation_point() {
        let text = "word ".repeat(7000);
        let f = run(&text, FileKind::AgentsMd, |i| file_over_budget(i).into_iter().collect());
        assert_eq!(f[0].range.start, 32 * 1024);
        assert!(f[0].message.contains("silently drops"));
    }

    #[test]
    fn agents_md_chain_counts_the_files_before() {
        let text = "word ".repeat(6000); // 30,000 bytes: fine alone
        let alone = run(&text, FileKind::AgentsMd, |i| file_over_budget(i).into_iter().collect());
        assert!(alone.is_empty());
        let sections = crate::sections::markdown_sections(&text);
        let cfg = LintConfig::default();
        let input = LintInput {
            text: &text,
            kind: FileKind::AgentsMd,
            encoding: crate::tokenize::Encoding::O200kBase,
            sections: &sections,
            section_tokens: &[6000],
            total_tokens: 6000,
            config: &cfg,
            markdown: true,
            preceding_bytes: 5000,
        };
        let f = file_over_budget(&input).expect("over with the global file");
        assert_eq!(f.range.start, 32 * 1024 - 5000);
        assert!(
            f.message.contains("after 5,000 bytes earlier in the chain"),
            "{}",
            f.message
        );
    }

    #[test]
    fn sections_over_budget_by_tokens() {
        let cfg = LintConfig {
            section_max_tokens: 5,
            ..LintConfig::default()
        };
        let text = "# Short\nok\n# Long\none two three four five six seven eight\n";
        let f = run_with(text, FileKind::Other, &cfg, sections_over_budget);
        assert_eq!(f.len(), 1);
        assert_eq!(&text[f[0].range.clone()], "# Long");
        assert!(f[0].message.contains("\"Long\""));
    }
}
