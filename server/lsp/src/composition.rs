//! Context-window composition: what an agent setup loads into every request's context, read
//! from the workspace (and the user's home) as each agent documents it.
//!
//! - Claude Code: `~/.claude/CLAUDE.md`, then `CLAUDE.md` / `.claude/CLAUDE.md` from the
//!   filesystem root down to the workspace, `CLAUDE.local.md`, each with its `@imports`
//!   (5 hops); `.claude/rules/**/*.md`; the name and description of each subagent, slash
//!   command and skill (their bodies load only when used); MCP servers from `.mcp.json` with
//!   any tool definitions declared there.
//! - Codex: `~/.codex/AGENTS.md`, then `AGENTS.override.md` or `AGENTS.md` at the workspace
//!   root; `instructions` in `.codex/config.toml`.
//! - Cursor, Copilot, Gemini CLI, Windsurf, Continue: their rule and instruction files.
//!
//! This module reads files (the language server is an edge) but knows nothing of LSP.

use std::path::{Path, PathBuf};

use promptmeter_core::Model;
use promptmeter_core::lint::imports::{MAX_DEPTH, find_imports};
use promptmeter_core::prompt_config::{ConfigFormat, PromptKind, find_prompts};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Agent {
    #[serde(rename = "claude-code")]
    ClaudeCode,
    #[serde(rename = "codex")]
    Codex,
    #[serde(rename = "cursor")]
    Cursor,
    #[serde(rename = "copilot")]
    Copilot,
    #[serde(rename = "gemini")]
    Gemini,
    #[serde(rename = "windsurf")]
    Windsurf,
    #[serde(rename = "continue")]
    Continue,
}

impl Agent {
    pub const ALL: [Agent; 7] = [
        Agent::ClaudeCode,
        Agent::Codex,
        Agent::Cursor,
        Agent::Copilot,
        Agent::Gemini,
        Agent::Windsurf,
        Agent::Continue,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
            Agent::Cursor => "cursor",
            Agent::Copilot => "copilot",
            Agent::Gemini => "gemini",
            Agent::Windsurf => "windsurf",
            Agent::Continue => "continue",
        }
    }

    pub fn parse(s: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.id() == s)
    }

    /// The agent that normally runs a model of this provider.
    pub fn for_provider(provider: &str) -> Agent {
        match provider {
            "openai" | "azure" => Agent::Codex,
            "gemini" | "vertex_ai-language-models" => Agent::Gemini,
            _ => Agent::ClaudeCode,
        }
    }
}

/// One thing in the context window: a file (or the part of it that loads), with children
/// (imports, tool definitions).
#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub category: &'static str,
    pub path: Option<PathBuf>,
    /// What of it is loaded into the context.
    pub text: String,
    pub children: Vec<Item>,
}

type Reader<'a> = &'a dyn Fn(&Path) -> Option<String>;

/// Resolve a CLAUDE.md `@import` relative to the importing file's directory; None when missing.
pub fn resolve_import(base_dir: &Path, import: &str) -> Option<PathBuf> {
    let p = if let Some(rest) = import.strip_prefix("~/") {
        dirs::home_dir()?.join(rest)
    } else if Path::new(import).is_absolute() {
        PathBuf::from(import)
    } else {
        base_dir.join(import)
    };
    if !p.is_file() {
        return None;
    }
    Some(p.canonicalize().unwrap_or(p))
}

fn display(path: &Path, roots: &[PathBuf]) -> String {
    if let Some(home) = dirs::home_dir()
        && let Ok(rel) = path.strip_prefix(&home)
        && !roots.iter().any(|r| path.starts_with(r))
    {
        return format!("~/{}", rel.to_string_lossy());
    }
    for r in roots {
        if let Ok(rel) = path.strip_prefix(r) {
            return rel.to_string_lossy().into_owned();
        }
    }
    path.to_string_lossy().into_owned()
}

/// A memory file with its imports (recursively, up to Claude Code's 5 hops, cycles cut).
fn memory(path: &Path, roots: &[PathBuf], read: Reader<'_>, stack: &mut Vec<PathBuf>) -> Option<Item> {
    let text = read(path)?;
    let mut children = Vec::new();
    if stack.len() < MAX_DEPTH {
        stack.push(path.to_path_buf());
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        for imp in find_imports(&text) {
            if let Some(target) = resolve_import(&dir, &imp.path)
                && !stack.contains(&target)
                && let Some(child) = memory(&target, roots, read, stack)
            {
                children.push(child);
            }
        }
        stack.pop();
    }
    Some(Item {
        name: display(path, roots),
        category: "memory",
        path: Some(path.to_path_buf()),
        text,
        children,
    })
}

/// Files under `dir` (recursively, bounded) whose name satisfies `pred`, sorted.
fn walk(dir: &Path, pred: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && depth < 8 {
                let n = e.file_name();
                if n != "node_modules" && n != ".git" && n != "target" {
                    stack.push((p, depth + 1));
                }
            } else if ft.is_file() && pred(&p) {
                out.push(p);
                if out.len() >= 2000 {
                    return out;
                }
            }
        }
    }
    out.sort();
    out
}

fn ext(p: &Path, e: &str) -> bool {
    p.extension().is_some_and(|x| x == e)
}

/// Front-matter `key:` value (plain, quoted, or a folded/literal block), if any.
pub fn front_matter_field(text: &str, key: &str) -> Option<String> {
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let end = rest.find("\n---").unwrap_or(rest.len());
    let fm = &rest[..end];
    let mut lines = fm.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(v) = l.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        let v = v.trim();
        let mut out = if v.starts_with('|') || v.starts_with('>') {
            String::new()
        } else {
            v.to_string()
        };
        while let Some(next) = lines.peek() {
            if next.starts_with(' ') || next.starts_with('\t') {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(next.trim());
                lines.next();
            } else {
                break;
            }
        }
        let out = out.trim_matches(|c| c == '"' || c == '\'').to_string();
        return Some(out);
    }
    None
}

fn described(path: &Path, roots: &[PathBuf], read: Reader<'_>, category: &'static str) -> Option<Item> {
    let text = read(path)?;
    let name = front_matter_field(&text, "name").unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let description = front_matter_field(&text, "description").unwrap_or_else(|| {
        let body = text
            .strip_prefix("---")
            .and_then(|r| r.find("\n---").map(|i| &r[i + 4..]))
            .unwrap_or(&text);
        body.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    });
    Some(Item {
        name: display(path, roots),
        category,
        path: Some(path.to_path_buf()),
        text: format!("{name}: {description}"),
        children: Vec::new(),
    })
}

fn whole(path: &Path, roots: &[PathBuf], read: Reader<'_>, category: &'static str) -> Option<Item> {
    Some(Item {
        name: display(path, roots),
        category,
        path: Some(path.to_path_buf()),
        text: read(path)?,
        children: Vec::new(),
    })
}

/// Prompt values and tool definitions declared in a config file.
fn config_items(path: &Path, roots: &[PathBuf], read: Reader<'_>, format: ConfigFormat) -> Vec<Item> {
    let Some(text) = read(path) else { return Vec::new() };
    let spans = find_prompts(&text, format);
    let mut out: Vec<Item> = Vec::new();
    let file = display(path, roots);
    for s in &spans {
        match s.kind {
            PromptKind::McpServer => out.push(Item {
                name: format!("{file}: {}", s.key_path),
                category: "tools",
                path: Some(path.to_path_buf()),
                text: String::new(),
                children: spans
                    .iter()
                    .filter(|t| {
                        matches!(t.kind, PromptKind::ToolDescription | PromptKind::ToolSchema)
                            && s.range.start <= t.range.start
                            && t.range.end <= s.range.end
                    })
                    .map(|t| Item {
                        name: t.key_path.clone(),
                        category: "tools",
                        path: Some(path.to_path_buf()),
                        text: t.text.clone(),
                        children: Vec::new(),
                    })
                    .collect(),
            }),
            PromptKind::ToolDescription | PromptKind::ToolSchema => {
                if !out.iter().any(|o| o.children.iter().any(|c| c.name == s.key_path)) {
                    out.push(Item {
                        name: format!("{file}: {}", s.key_path),
                        category: "tools",
                        path: Some(path.to_path_buf()),
                        text: s.text.clone(),
                        children: Vec::new(),
                    });
                }
            }
            PromptKind::System | PromptKind::Prompt => out.push(Item {
                name: format!("{file}: {}", s.key_path),
                category: "system",
                path: Some(path.to_path_buf()),
                text: s.text.clone(),
                children: Vec::new(),
            }),
        }
    }
    out
}

/// What `agent` loads for a workspace at `root`.
pub fn items(agent: Agent, roots: &[PathBuf], home: Option<&Path>, read: Reader<'_>) -> Vec<Item> {
    let mut out = Vec::new();
    let Some(root) = roots.first() else { return out };
    let file = |rel: &str| root.join(rel);
    match agent {
        Agent::ClaudeCode => {
            let mut stack = Vec::new();
            if let Some(h) = home {
                out.extend(memory(&h.join(".claude/CLAUDE.md"), roots, read, &mut stack));
            }
            let mut ancestors: Vec<&Path> = root.ancestors().collect();
            ancestors.reverse();
            for dir in ancestors {
                if home.is_some_and(|h| h == dir) {
                    continue;
                }
                out.extend(memory(&dir.join("CLAUDE.md"), roots, read, &mut stack));
                if dir == root.as_path() {
                    out.extend(memory(&dir.join(".claude/CLAUDE.md"), roots, read, &mut stack));
                    out.extend(memory(&dir.join("CLAUDE.local.md"), roots, read, &mut stack));
                }
            }
            for p in walk(&file(".claude/rules"), &|p| ext(p, "md")) {
                out.extend(whole(&p, roots, read, "rules"));
            }
            for p in walk(&file(".claude/agents"), &|p| ext(p, "md")) {
                out.extend(described(&p, roots, read, "agents"));
            }
            for p in walk(&file(".claude/commands"), &|p| ext(p, "md")) {
                out.extend(described(&p, roots, read, "commands"));
            }
            for p in walk(&file(".claude/skills"), &|p| {
                p.file_name().is_some_and(|n| n == "SKILL.md")
            }) {
                out.extend(described(&p, roots, read, "skills"));
            }
            out.extend(config_items(&file(".mcp.json"), roots, read, ConfigFormat::Json));
            out.extend(config_items(
                &file(".claude/settings.json"),
                roots,
                read,
                ConfigFormat::Json,
            ));
        }
        Agent::Codex => {
            if let Some(h) = home {
                let o = h.join(".codex/AGENTS.override.md");
                let p = if o.is_file() { o } else { h.join(".codex/AGENTS.md") };
                out.extend(whole(&p, roots, read, "memory"));
            }
            let o = file("AGENTS.override.md");
            let p = if o.is_file() { o } else { file("AGENTS.md") };
            out.extend(whole(&p, roots, read, "memory"));
            out.extend(config_items(
                &file(".codex/config.toml"),
                roots,
                read,
                ConfigFormat::Toml,
            ));
        }
        Agent::Cursor => {
            out.extend(whole(&file(".cursorrules"), roots, read, "rules"));
            for p in walk(&file(".cursor/rules"), &|p| ext(p, "mdc") || ext(p, "md")) {
                out.extend(whole(&p, roots, read, "rules"));
            }
        }
        Agent::Copilot => {
            out.extend(whole(&file(".github/copilot-instructions.md"), roots, read, "rules"));
            for p in walk(&file(".github/instructions"), &|p| {
                p.to_string_lossy().ends_with(".instructions.md")
            }) {
                out.extend(whole(&p, roots, read, "rules"));
            }
        }
        Agent::Gemini => {
            if let Some(h) = home {
                out.extend(whole(&h.join(".gemini/GEMINI.md"), roots, read, "memory"));
            }
            out.extend(whole(&file("GEMINI.md"), roots, read, "memory"));
        }
        Agent::Windsurf => {
            out.extend(whole(&file(".windsurfrules"), roots, read, "rules"));
            for p in walk(&file(".windsurf/rules"), &|p| ext(p, "md")) {
                out.extend(whole(&p, roots, read, "rules"));
            }
        }
        Agent::Continue => {
            for p in walk(&file(".continue/rules"), &|p| {
                ext(p, "md") || ext(p, "yaml") || ext(p, "yml")
            }) {
                if ext(&p, "md") {
                    out.extend(whole(&p, roots, read, "rules"));
                } else {
                    out.extend(config_items(&p, roots, read, ConfigFormat::Yaml));
                }
            }
            out.extend(config_items(
                &file(".continue/config.yaml"),
                roots,
                read,
                ConfigFormat::Yaml,
            ));
        }
    }
    out
}

fn flatten<'a>(items: &'a [Item], out: &mut Vec<&'a Item>) {
    for i in items {
        out.push(i);
        flatten(&i.children, out);
    }
}

/// The other files loaded into the same context as `path` by any agent that loads it.
pub fn loaded_with(settings: &crate::settings::Settings, path: &Path) -> Vec<PathBuf> {
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let home = dirs::home_dir();
    let mut out: Vec<PathBuf> = Vec::new();
    for agent in Agent::ALL {
        let items = items(agent, &settings.roots, home.as_deref(), &read);
        let mut flat = Vec::new();
        flatten(&items, &mut flat);
        // only whole files (memory, rules) can share passages with the document
        let files: Vec<&PathBuf> = flat
            .iter()
            .filter(|i| matches!(i.category, "memory" | "rules"))
            .filter_map(|i| i.path.as_ref())
            .collect();
        if files.iter().any(|p| p.as_path() == path) {
            for f in files {
                if f.as_path() != path && !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
    }
    out
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub name: String,
    pub category: &'static str,
    /// Tokens of this node including its children.
    pub tokens: u64,
    pub share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Composition {
    pub model: String,
    pub agent: Agent,
    pub context_window: u64,
    pub exact: bool,
    pub total_tokens: u64,
    pub free_tokens: u64,
    pub children: Vec<Node>,
    /// Totals of the other agents found in the workspace.
    pub agents: Vec<AgentTotal>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentTotal {
    pub agent: Agent,
    pub total_tokens: u64,
    pub files: usize,
}

fn node(item: &Item, model: &Model, window: u64, to_uri: &dyn Fn(&Path) -> Option<String>) -> Node {
    let children: Vec<Node> = item.children.iter().map(|c| node(c, model, window, to_uri)).collect();
    let own = if item.text.is_empty() {
        0
    } else {
        model.tokenizer.count(&item.text).tokens
    };
    let tokens = own + children.iter().map(|c| c.tokens).sum::<u64>();
    Node {
        name: item.name.clone(),
        category: item.category,
        tokens,
        share: share(tokens, window),
        uri: item.path.as_deref().and_then(to_uri),
        children,
    }
}

fn share(tokens: u64, window: u64) -> f64 {
    if window == 0 {
        0.0
    } else {
        (tokens as f64 / window as f64 * 1e6).round() / 1e6
    }
}

/// The composition for `model` (and `agent`, default: the one that runs the model's provider,
/// or else the one with files in the workspace).
pub fn compose(
    model: &Model,
    agent: Option<Agent>,
    roots: &[PathBuf],
    home: Option<&Path>,
    read: Reader<'_>,
    to_uri: &dyn Fn(&Path) -> Option<String>,
) -> Composition {
    let all: Vec<(Agent, Vec<Item>)> = Agent::ALL
        .into_iter()
        .map(|a| (a, items(a, roots, home, read)))
        .collect();
    let agent = agent.unwrap_or_else(|| {
        let preferred = Agent::for_provider(&model.provider);
        let has = |a: Agent| all.iter().any(|(x, i)| *x == a && !i.is_empty());
        if has(preferred) {
            preferred
        } else {
            Agent::ALL.into_iter().find(|a| has(*a)).unwrap_or(preferred)
        }
    });
    let window = model.context_window.unwrap_or(0);
    let items = &all.iter().find(|(a, _)| *a == agent).expect("every agent listed").1;
    let mut children: Vec<Node> = items.iter().map(|i| node(i, model, window, to_uri)).collect();
    let total: u64 = children.iter().map(|c| c.tokens).sum();
    let free = window.saturating_sub(total);
    children.push(Node {
        name: "free".into(),
        category: "free",
        tokens: free,
        share: share(free, window),
        uri: None,
        children: Vec::new(),
    });
    let agents = all
        .iter()
        .filter(|(a, i)| *a != agent && !i.is_empty())
        .map(|(a, i)| AgentTotal {
            agent: *a,
            total_tokens: i.iter().map(|x| node(x, model, window, to_uri).tokens).sum(),
            files: i.len(),
        })
        .collect();
    Composition {
        model: model.id.clone(),
        agent,
        context_window: window,
        exact: model.tokenizer.is_exact(),
        total_tokens: total,
        free_tokens: free,
        children,
        agents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_fields() {
        let t = "---\nname: reviewer\ndescription: >\n  Reviews code\n  for bugs\ntools: Read\n---\nbody\n";
        assert_eq!(front_matter_field(t, "name").as_deref(), Some("reviewer"));
        assert_eq!(
            front_matter_field(t, "description").as_deref(),
            Some("Reviews code for bugs")
        );
        assert_eq!(front_matter_field("no front matter", "name"), None);
    }
}
