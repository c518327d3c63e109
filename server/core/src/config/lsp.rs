//! `[lsp]`: which documents the language server measures, its lint thresholds and severities,
//! and the proxy feed it relays to the editor.
//!
//! ```toml
//! [lsp]
//! documents = ["CLAUDE.md", "docs/prompts/**"]   # replaces the default globs
//! extra_documents = ["notes/*.md"]               # added to them
//! feed_url = "http://127.0.0.1:4747/_promptmeter/feed"
//!
//! [lsp.lint]
//! claude_md_max_chars = 40000
//! section_max_tokens = 3000
//!
//! [lsp.severity]
//! poor-tokenization = "hint"
//! whitespace = "off"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Prompt files and agent configs measured by default (gitignore-style globs, matched against
/// the path relative to the workspace root; a pattern without `/` matches at any depth).
pub const DEFAULT_DOCUMENTS: &[&str] = &[
    "CLAUDE.md",
    "CLAUDE.local.md",
    ".claude/rules/**/*.md",
    ".claude/agents/**/*.md",
    ".claude/commands/**/*.md",
    ".claude/skills/*/SKILL.md",
    "AGENTS.md",
    "AGENTS.override.md",
    "GEMINI.md",
    ".cursorrules",
    ".cursor/rules/**/*.mdc",
    ".github/copilot-instructions.md",
    ".github/instructions/**/*.instructions.md",
    "*.prompt.md",
    "*.agent.md",
    ".windsurf/rules/*.md",
    ".continue/rules/*.md",
    ".continue/rules/*.yaml",
    "*.prompty",
    "prompts/**",
    // agent configs: prompt-bearing strings and tool definitions inside them
    ".mcp.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".continue/config.yaml",
    ".continue/config.json",
    "promptfooconfig.yaml",
    "promptfooconfig.yml",
    "promptfooconfig.json",
    ".codex/config.toml",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LspConfig {
    /// Globs of the documents to measure; replaces [`DEFAULT_DOCUMENTS`] when set.
    pub documents: Option<Vec<String>>,
    /// Globs added to the documents (defaults or `documents`).
    pub extra_documents: Vec<String>,
    /// Documents larger than this (bytes) are not analysed (a message says so).
    pub max_document_bytes: usize,
    /// The proxy's live feed (server-sent events); empty to turn the relay off.
    pub feed_url: String,
    /// Show inlay hints (per section and per file).
    pub inlay_hints: bool,
    /// At most this many diagnostics per document (the costliest are kept; 0: no limit).
    pub max_diagnostics: usize,
    pub lint: LintConfig,
    /// Severity per diagnostic code: "error", "warning", "information", "hint" or "off".
    pub severity: BTreeMap<String, String>,
}

impl Default for LspConfig {
    fn default() -> Self {
        LspConfig {
            documents: None,
            extra_documents: Vec::new(),
            max_document_bytes: 4 * 1024 * 1024,
            feed_url: "http://127.0.0.1:4747/_promptmeter/feed".into(),
            inlay_hints: true,
            max_diagnostics: 200,
            lint: LintConfig::default(),
            severity: BTreeMap::new(),
        }
    }
}

impl LspConfig {
    /// The globs in effect.
    pub fn document_globs(&self) -> Vec<String> {
        let mut globs: Vec<String> = match &self.documents {
            Some(d) => d.clone(),
            None => DEFAULT_DOCUMENTS.iter().map(|s| s.to_string()).collect(),
        };
        globs.extend(self.extra_documents.iter().cloned());
        globs
    }
}

/// Lint thresholds. Defaults come from the agents' own limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LintConfig {
    /// Claude Code warns when a CLAUDE.md is larger than this many characters.
    pub claude_md_max_chars: usize,
    /// Codex stops reading the AGENTS.md chain after this many bytes (project_doc_max_bytes).
    pub agents_md_max_bytes: usize,
    /// Windsurf allows this many characters per rule file.
    pub windsurf_rule_max_chars: usize,
    /// Any other prompt file: warn above this many tokens (0: no limit).
    pub file_max_tokens: usize,
    /// A single section (heading, front matter, config key) above this many tokens.
    pub section_max_tokens: usize,
    /// Passages shorter than this (characters, whitespace-normalised) are not reported as duplicates.
    pub duplicate_min_chars: usize,
    /// This many consecutive blank lines or more are a blank run (2 keeps one empty line).
    pub blank_run_lines: usize,
    /// Base64 / hex runs at least this long are blobs.
    pub blob_min_chars: usize,
    /// Markdown tables with more rows than this are "very long".
    pub long_table_rows: usize,
    /// Lines of JSON longer than this with almost no whitespace are minified JSON.
    pub minified_json_min_chars: usize,
}

impl Default for LintConfig {
    fn default() -> Self {
        LintConfig {
            claude_md_max_chars: 40_000,
            agents_md_max_bytes: 32 * 1024,
            windsurf_rule_max_chars: 6_000,
            file_max_tokens: 10_000,
            section_max_tokens: 2_500,
            duplicate_min_chars: 80,
            blank_run_lines: 3,
            blob_min_chars: 120,
            long_table_rows: 40,
            minified_json_min_chars: 400,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn lsp_layers_and_json_overrides_merge() {
        let c = Config::from_layers([
            (
                "user",
                "[lsp]\nextra_documents = [\"notes/*.md\"]\n[lsp.lint]\nsection_max_tokens = 10\n",
            ),
            ("project", "[lsp.severity]\nwhitespace = \"off\"\n"),
        ])
        .unwrap();
        assert_eq!(c.lsp.lint.section_max_tokens, 10);
        assert_eq!(c.lsp.lint.claude_md_max_chars, 40_000);
        assert_eq!(c.lsp.severity.get("whitespace").map(String::as_str), Some("off"));
        assert!(c.lsp.document_globs().contains(&"notes/*.md".to_string()));
        assert!(c.lsp.document_globs().contains(&"CLAUDE.md".to_string()));
        let c2 = c
            .with_json_overrides(
                &serde_json::json!({"lsp": {"documents": ["x.md"], "lint": {"section_max_tokens": 99}}}),
            )
            .unwrap();
        assert_eq!(
            c2.lsp.document_globs(),
            vec!["x.md".to_string(), "notes/*.md".to_string()]
        );
        assert_eq!(c2.lsp.lint.section_max_tokens, 99);
    }
}
