//! The measuring engine: a document's parts (Markdown sections, or the prompt-bearing values
//! of an agent config) with their token counts in the active model's base encoding. It knows
//! nothing of LSP: byte ranges in, counts out.
//!
//! Counting is incremental per part: a part whose text did not change since the last analysis
//! keeps its count (looked up by a hash of its text), so a keystroke re-counts one section.
//! Section boundaries fall on line starts before a heading, where the o200k/cl100k
//! pretokenizers always split, so the parts' counts sum to the exact count of the file.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::ops::Range;

use promptmeter_core::Encoding;
use promptmeter_core::document::SectionCount;
use promptmeter_core::prompt_config::{ConfigFormat, PromptKind, find_prompts};
use promptmeter_core::sections::{Section, SectionKind, markdown_sections};

/// How a document is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    Markdown,
    Config(ConfigFormat),
}

impl DocFormat {
    pub fn of_path(path: &str) -> DocFormat {
        match ConfigFormat::of_path(path) {
            Some(f) => DocFormat::Config(f),
            None => DocFormat::Markdown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    FrontMatter,
    Preamble,
    Heading(u8),
    Config(PromptKind),
}

#[derive(Debug, Clone)]
pub struct Part {
    pub title: String,
    pub kind: PartKind,
    /// Byte range of the whole part.
    pub range: Range<usize>,
    /// Byte offset where its hint goes (end of its first line, or end of the config key).
    pub anchor: usize,
    /// Tokens in the base encoding.
    pub base_tokens: u64,
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub format: DocFormat,
    pub encoding: Encoding,
    pub parts: Vec<Part>,
    /// Markdown sections (for lint rules), parallel to `section_tokens`.
    pub sections: Vec<Section>,
    pub section_tokens: Vec<u64>,
    /// Tokens of what is sent: the whole file (Markdown) or the prompt values (configs).
    pub total: u64,
}

impl Analysis {
    /// The part whose anchor line contains `offset`, if any.
    pub fn part_at_line(&self, line: Range<usize>) -> Option<&Part> {
        self.parts
            .iter()
            .find(|p| line.start <= p.anchor && p.anchor <= line.end && p.range.start < line.end.max(line.start + 1))
    }
}

/// Counts parts, remembering the counts of texts it has seen in the last analysis.
#[derive(Debug, Default)]
pub struct Counter {
    encoding: Option<Encoding>,
    cache: HashMap<u64, u64>,
}

fn hash(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// The analysis of a Markdown document from the core's incrementally counted sections.
pub fn from_sections(text: &str, sections: &[SectionCount], total: u64, encoding: Encoding) -> Analysis {
    let mut parts = Vec::new();
    for sc in sections {
        let s = &sc.section;
        if let Some(p) = part_of(text, s, sc.tokens as u64, sections.len()) {
            parts.push(p);
        }
    }
    Analysis {
        format: DocFormat::Markdown,
        encoding,
        parts,
        sections: sections.iter().map(|s| s.section.clone()).collect(),
        section_tokens: sections.iter().map(|s| s.tokens as u64).collect(),
        total,
    }
}

pub fn part_of(text: &str, s: &Section, n: u64, count: usize) -> Option<Part> {
    let kind = match s.kind {
        SectionKind::FrontMatter => PartKind::FrontMatter,
        SectionKind::Heading => PartKind::Heading(s.level),
        _ => PartKind::Preamble,
    };
    if kind == PartKind::Preamble && (count == 1 || text[s.range.clone()].trim().is_empty()) {
        return None;
    }
    let first_line_end = text[s.range.clone()]
        .find('\n')
        .map_or(s.range.end, |i| s.range.start + i);
    let first_line_end = if text[..first_line_end].ends_with('\r') {
        first_line_end - 1
    } else {
        first_line_end
    };
    Some(Part {
        title: match kind {
            PartKind::FrontMatter => "front matter".into(),
            PartKind::Preamble => "(before the first heading)".into(),
            _ => s.title.clone(),
        },
        kind,
        range: s.range.clone(),
        anchor: first_line_end,
        base_tokens: n,
    })
}

impl Counter {
    fn count(&mut self, next: &mut HashMap<u64, u64>, encoding: Encoding, text: &str) -> u64 {
        let k = hash(text);
        let n = match self.cache.get(&k) {
            Some(n) => *n,
            None => encoding.count(text) as u64,
        };
        next.insert(k, n);
        n
    }

    pub fn analyse(&mut self, text: &str, format: DocFormat, encoding: Encoding) -> Analysis {
        if self.encoding != Some(encoding) {
            self.cache.clear();
            self.encoding = Some(encoding);
        }
        let mut next = HashMap::with_capacity(self.cache.len() + 8);
        let mut parts = Vec::new();
        let mut sections = Vec::new();
        let mut section_tokens = Vec::new();
        let total;
        match format {
            DocFormat::Markdown => {
                sections = markdown_sections(text);
                let mut sum = 0;
                for s in &sections {
                    let n = self.count(&mut next, encoding, &text[s.range.clone()]);
                    section_tokens.push(n);
                    sum += n;
                    parts.extend(part_of(text, s, n, sections.len()));
                }
                total = sum;
            }
            DocFormat::Config(cf) => {
                let mut sum = 0;
                for p in find_prompts(text, cf) {
                    let n = if p.text.is_empty() {
                        0
                    } else {
                        self.count(&mut next, encoding, &p.text)
                    };
                    sum += n;
                    parts.push(Part {
                        title: p.key_path,
                        kind: PartKind::Config(p.kind),
                        range: p.range,
                        anchor: p.key_range.end,
                        base_tokens: n,
                    });
                }
                total = sum;
            }
        }
        self.cache = next;
        Analysis {
            format,
            encoding,
            parts,
            sections,
            section_tokens,
            total,
        }
    }
}

/// What a part is, in words, for the hover.
pub fn describe(path: &str, part: Option<&Part>) -> String {
    let p = path.replace('\\', "/");
    let name = p.rsplit('/').next().unwrap_or(&p);
    let file = if name == "CLAUDE.md" || name == "CLAUDE.local.md" {
        "a memory file: Claude Code loads it into every session's context"
    } else if name.starts_with("AGENTS") {
        "a memory file: Codex (and other agents) load the AGENTS.md chain into every session"
    } else if name == "GEMINI.md" {
        "a memory file: Gemini CLI loads it into every session"
    } else if p.contains("/.claude/agents/") || p.starts_with(".claude/agents/") {
        "a subagent definition: its description is in the main context; the body is the subagent's system prompt"
    } else if p.contains(".claude/commands/") {
        "a slash command: its description is listed in context; the body is sent when invoked"
    } else if name == "SKILL.md" {
        "a skill: its name and description are in context; the body loads when the skill is used"
    } else if p.contains("/rules/") || name == ".cursorrules" || name.ends_with(".mdc") {
        "a rule file: loaded into the system prompt when it applies"
    } else if name.ends_with(".instructions.md") || name == "copilot-instructions.md" {
        "an instructions file: Copilot adds it to the system prompt"
    } else if name.ends_with(".prompt.md") || name.ends_with(".prompty") || p.contains("prompts/") {
        "a prompt file: sent when the prompt is run"
    } else if name.ends_with(".agent.md") {
        "an agent definition: its instructions are the agent's system prompt"
    } else {
        "an agent configuration"
    };
    let Some(part) = part else { return file.to_string() };
    let what = match part.kind {
        PartKind::FrontMatter => "front matter (metadata: name, description, globs)".to_string(),
        PartKind::Config(PromptKind::System) => "system prompt".to_string(),
        PartKind::Config(PromptKind::Prompt) => "prompt text".to_string(),
        PartKind::Config(PromptKind::ToolDescription) => "tool definition (description)".to_string(),
        PartKind::Config(PromptKind::ToolSchema) => "tool definition (input schema, sent as JSON)".to_string(),
        PartKind::Config(PromptKind::McpServer) => {
            "MCP server: its tool definitions load into every request while it is enabled".to_string()
        }
        _ => {
            let t = part.title.to_ascii_lowercase();
            if t.contains("example") {
                "examples".to_string()
            } else {
                "section".to_string()
            }
        }
    };
    format!("{what} of {file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_sum_to_exact_total_and_cache_follows_edits() {
        let mut text = String::from("---\nname: x\n---\nintro\n# One\nalpha beta\n## Two\ngamma 😀\n");
        let mut c = Counter::default();
        let a = c.analyse(&text, DocFormat::Markdown, Encoding::O200kBase);
        assert_eq!(a.total, Encoding::O200kBase.count(&text) as u64);
        let titles: Vec<&str> = a.parts.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["front matter", "(before the first heading)", "One", "Two"]);
        assert_eq!(&text[a.parts[2].range.start..a.parts[2].anchor], "# One");
        text.insert_str(text.find("gamma").unwrap(), "delta ");
        let b = c.analyse(&text, DocFormat::Markdown, Encoding::O200kBase);
        assert_eq!(b.total, Encoding::O200kBase.count(&text) as u64);
        assert_eq!(b.parts[3].base_tokens, a.parts[3].base_tokens + 1);
    }

    #[test]
    fn config_parts() {
        let text = r#"{"system": "Be brief.", "mcpServers": {"gh": {"command": "x"}}}"#;
        let a = Counter::default().analyse(text, DocFormat::Config(ConfigFormat::Json), Encoding::O200kBase);
        assert_eq!(a.parts.len(), 2);
        assert_eq!(a.parts[0].title, "system");
        assert_eq!(a.total, Encoding::O200kBase.count("Be brief.") as u64);
    }
}
