//! Prompt-bearing strings and tool definitions inside agent configs (JSON/JSONC, YAML, TOML):
//! values under keys such as `system`, `system_prompt`, `instructions`, `prompt`, `rules`, a
//! tool's `description` and input schema, and the servers under `mcpServers`. Each is returned
//! with the byte range of its value in the file and its text as the model receives it.
//!
//! The JSON and YAML readers are small span-keeping scanners written for this purpose (no
//! maintained crate gives byte spans for both, and tolerance matters more than full
//! conformance: a half-typed config in an editor must still yield what can be read). TOML
//! uses the `toml` crate's spanned document tree.

use std::ops::Range;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigFormat {
    Json,
    Yaml,
    Toml,
}

impl ConfigFormat {
    pub fn of_path(path: &str) -> Option<ConfigFormat> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") || lower.ends_with(".jsonc") {
            Some(ConfigFormat::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(ConfigFormat::Yaml)
        } else if lower.ends_with(".toml") {
            Some(ConfigFormat::Toml)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptKind {
    /// A system prompt / instructions sent with every request.
    System,
    /// A prompt template or rule text.
    Prompt,
    /// A tool's description.
    ToolDescription,
    /// A tool's input schema (sent as JSON).
    ToolSchema,
    /// An MCP server declaration (its tools are only known when it runs).
    McpServer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptSpan {
    /// Dotted key path, e.g. `mcpServers.github` or `tools[0].description`.
    pub key_path: String,
    pub kind: PromptKind,
    /// Byte range of the key (where a hint goes).
    pub key_range: Range<usize>,
    /// Byte range of the value in the file.
    pub range: Range<usize>,
    /// The value as the model receives it (unescaped string; schema as written).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Map,
    Seq,
    Other,
}

#[derive(Debug, Clone)]
struct Entry {
    path: Vec<String>,
    key_range: Range<usize>,
    range: Range<usize>,
    value: Value,
}

const SYSTEM_KEYS: &[&str] = &[
    "system",
    "system_prompt",
    "systemprompt",
    "system_message",
    "systemmessage",
    "instructions",
    "developer_instructions",
    "base_instructions",
    "custom_instructions",
];
const PROMPT_KEYS: &[&str] = &["prompt", "prompts", "rules", "rule", "template"];
const SCHEMA_KEYS: &[&str] = &["input_schema", "inputschema", "parameters"];
const TOOL_CONTAINERS: &[&str] = &["tools", "functions"];

/// The prompt-bearing values of a config file. Unreadable parts are skipped.
pub fn find_prompts(text: &str, format: ConfigFormat) -> Vec<PromptSpan> {
    let entries = match format {
        ConfigFormat::Json => json::entries(text),
        ConfigFormat::Yaml => yaml::entries(text),
        ConfigFormat::Toml => toml_entries(text),
    };
    classify(text, &entries)
}

fn is_index(s: &str) -> bool {
    s.starts_with('[')
}

fn key_name(path: &[String]) -> Option<String> {
    path.iter().rev().find(|p| !is_index(p)).map(|s| s.to_ascii_lowercase())
}

fn join_path(path: &[String]) -> String {
    let mut s = String::new();
    for p in path {
        if !s.is_empty() && !is_index(p) {
            s.push('.');
        }
        s.push_str(p);
    }
    s
}

fn classify(text: &str, entries: &[Entry]) -> Vec<PromptSpan> {
    let mut out = Vec::new();
    let in_tool = |path: &[String]| {
        path.iter()
            .any(|p| TOOL_CONTAINERS.contains(&p.to_ascii_lowercase().as_str()))
    };
    let parent_has = |path: &[String], keys: &[&str]| {
        let parent = &path[..path.len().saturating_sub(1)];
        entries.iter().any(|e| {
            e.path.len() == path.len()
                && e.path[..e.path.len() - 1] == *parent
                && keys.contains(&e.path[e.path.len() - 1].to_ascii_lowercase().as_str())
        })
    };
    let mut covered: Vec<Range<usize>> = Vec::new();
    for e in entries {
        if e.path.is_empty() || covered.iter().any(|r| r.start <= e.range.start && e.range.end <= r.end) {
            continue;
        }
        let Some(key) = key_name(&e.path) else { continue };
        let last_is_key = !is_index(&e.path[e.path.len() - 1]);
        let parent_key = e.path.len().checked_sub(2).map(|i| e.path[i].to_ascii_lowercase());
        let kind = match (&e.value, key.as_str()) {
            (Value::Map, _) if last_is_key && parent_key.as_deref() == Some("mcpservers") => {
                Some(PromptKind::McpServer)
            }
            (Value::Map, k)
                if SCHEMA_KEYS.contains(&k)
                    && last_is_key
                    && (in_tool(&e.path) || parent_has(&e.path, &["description"])) =>
            {
                Some(PromptKind::ToolSchema)
            }
            (Value::Str(_), "description") if last_is_key && (in_tool(&e.path) || parent_has(&e.path, SCHEMA_KEYS)) => {
                Some(PromptKind::ToolDescription)
            }
            (Value::Str(_), k) if SYSTEM_KEYS.contains(&k) => Some(PromptKind::System),
            (Value::Str(_), k) if PROMPT_KEYS.contains(&k) => Some(PromptKind::Prompt),
            _ => None,
        };
        let Some(kind) = kind else { continue };
        let value_text = match &e.value {
            Value::Str(s) => s.clone(),
            _ if kind == PromptKind::McpServer => String::new(),
            _ => text[e.range.clone()].to_string(),
        };
        if matches!(kind, PromptKind::ToolSchema | PromptKind::McpServer) {
            covered.push(e.range.clone());
        }
        out.push(PromptSpan {
            key_path: join_path(&e.path),
            kind,
            key_range: e.key_range.clone(),
            range: e.range.clone(),
            text: value_text,
        });
    }
    out.sort_by_key(|s| s.range.start);
    out
}

fn toml_entries(text: &str) -> Vec<Entry> {
    use toml::de::{DeTable, DeValue};
    let Ok(root) = DeTable::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    fn walk(v: &toml::Spanned<DeValue<'_>>, path: &mut Vec<String>, key_range: Range<usize>, out: &mut Vec<Entry>) {
        let value = match v.get_ref() {
            DeValue::String(s) => Value::Str(s.to_string()),
            DeValue::Table(_) => Value::Map,
            DeValue::Array(_) => Value::Seq,
            _ => Value::Other,
        };
        out.push(Entry {
            path: path.clone(),
            key_range,
            range: v.span(),
            value,
        });
        match v.get_ref() {
            DeValue::Table(t) => {
                for (k, child) in t.iter() {
                    path.push(k.get_ref().to_string());
                    walk(child, path, k.span(), out);
                    path.pop();
                }
            }
            DeValue::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    path.push(format!("[{i}]"));
                    walk(child, path, child.span(), out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    for (k, v) in root.get_ref().iter() {
        let mut path = vec![k.get_ref().to_string()];
        walk(v, &mut path, k.span(), &mut out);
    }
    out
}

mod json {
    //! A tolerant JSON/JSONC scanner keeping byte spans: comments, trailing commas and a
    //! truncated tail are accepted; what cannot be read is skipped.
    use super::{Entry, Value};

    struct P<'a> {
        s: &'a str,
        b: &'a [u8],
        i: usize,
        out: Vec<Entry>,
        depth: usize,
    }

    pub fn entries(text: &str) -> Vec<Entry> {
        let mut p = P {
            s: text,
            b: text.as_bytes(),
            i: 0,
            out: Vec::new(),
            depth: 0,
        };
        p.ws();
        let mut path = Vec::new();
        let _ = p.value(&mut path, 0..0);
        p.out
    }

    impl P<'_> {
        fn ws(&mut self) {
            loop {
                while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
                    self.i += 1;
                }
                if self.b[self.i..].starts_with(b"//") {
                    self.i = self.b[self.i..]
                        .iter()
                        .position(|c| *c == b'\n')
                        .map_or(self.b.len(), |p| self.i + p);
                } else if self.b[self.i..].starts_with(b"/*") {
                    self.i = self.s[self.i + 2..]
                        .find("*/")
                        .map_or(self.b.len(), |p| self.i + 2 + p + 2);
                } else {
                    return;
                }
            }
        }

        fn string(&mut self) -> Option<String> {
            // at '"'
            self.i += 1;
            let mut out = String::new();
            let start = self.i;
            let mut run = start;
            while self.i < self.b.len() {
                match self.b[self.i] {
                    b'"' => {
                        out.push_str(&self.s[run..self.i]);
                        self.i += 1;
                        return Some(out);
                    }
                    b'\\' => {
                        out.push_str(&self.s[run..self.i]);
                        let e = *self.b.get(self.i + 1)?;
                        self.i += 2;
                        match e {
                            b'n' => out.push('\n'),
                            b't' => out.push('\t'),
                            b'r' => out.push('\r'),
                            b'b' => out.push('\u{8}'),
                            b'f' => out.push('\u{c}'),
                            b'u' => {
                                let hex = self.s.get(self.i..self.i + 4)?;
                                let mut cp = u32::from_str_radix(hex, 16).ok()?;
                                self.i += 4;
                                if (0xD800..0xDC00).contains(&cp) && self.s[self.i..].starts_with("\\u") {
                                    let lo = u32::from_str_radix(self.s.get(self.i + 2..self.i + 6)?, 16).ok()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                        self.i += 6;
                                    }
                                }
                                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                            }
                            other => out.push(other as char),
                        }
                        run = self.i;
                    }
                    b'\n' => return None,
                    _ => self.i += 1,
                }
            }
            None
        }

        fn value(&mut self, path: &mut Vec<String>, key_range: std::ops::Range<usize>) -> Option<()> {
            self.ws();
            let start = self.i;
            let first = *self.b.get(self.i)?;
            self.depth += 1;
            if self.depth > 256 {
                return None;
            }
            let idx = self.out.len();
            self.out.push(Entry {
                path: path.clone(),
                key_range: key_range.clone(),
                range: start..start,
                value: Value::Other,
            });
            let value = match first {
                b'{' => {
                    self.i += 1;
                    loop {
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            Some(b',') => self.i += 1,
                            Some(b'"') => {
                                let ks = self.i;
                                let key = self.string()?;
                                let kr = ks..self.i;
                                self.ws();
                                if self.b.get(self.i) != Some(&b':') {
                                    return None;
                                }
                                self.i += 1;
                                path.push(key);
                                let r = self.value(path, kr);
                                path.pop();
                                r?;
                            }
                            _ => return None,
                        }
                    }
                    Value::Map
                }
                b'[' => {
                    self.i += 1;
                    let mut n = 0;
                    loop {
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            Some(b',') => self.i += 1,
                            Some(_) => {
                                path.push(format!("[{n}]"));
                                let here = self.i;
                                let r = self.value(path, here..here);
                                path.pop();
                                r?;
                                n += 1;
                            }
                            None => return None,
                        }
                    }
                    Value::Seq
                }
                b'"' => Value::Str(self.string()?),
                _ => {
                    while self.i < self.b.len() && !b",}] \t\r\n/".contains(&self.b[self.i]) {
                        self.i += 1;
                    }
                    if self.i == start {
                        return None;
                    }
                    Value::Other
                }
            };
            self.depth -= 1;
            self.out[idx].range = start..self.i;
            self.out[idx].value = value;
            if key_range.is_empty() {
                self.out[idx].key_range = start..start;
            }
            Some(())
        }
    }
}

mod yaml {
    //! A line-based YAML scanner for the block style agent configs are written in: mappings,
    //! sequences (`- `), plain and quoted scalars, block scalars (`|`, `>` with chomping and
    //! indentation indicators). Flow collections and anchors are kept as opaque values.
    use super::{Entry, Value};

    struct Frame {
        indent: usize,
        path_len: usize,
        entry: Option<usize>,
        item: bool,
    }

    fn unquote(v: &str) -> String {
        let v = v.trim();
        if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('"') => out.push('"'),
                        Some('\\') => out.push('\\'),
                        Some(o) => {
                            out.push('\\');
                            out.push(o)
                        }
                        None => {}
                    }
                } else {
                    out.push(c);
                }
            }
            out
        } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            inner.replace("''", "'")
        } else {
            v.to_string()
        }
    }

    /// Strip a trailing ` # comment` from a plain scalar.
    fn strip_comment(v: &str) -> &str {
        let b = v.as_bytes();
        if let Some(&q) = b.first().filter(|q| **q == b'"' || **q == b'\'') {
            let mut i = 1;
            while i < b.len() {
                if q == b'"' && b[i] == b'\\' {
                    i += 2;
                    continue;
                }
                if b[i] == q {
                    if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return &v[..=i];
                }
                i += 1;
            }
            return v;
        }
        match v.find(" #") {
            Some(i) => v[..i].trim_end(),
            None => v,
        }
    }

    /// Split `key: value` at the first `: ` (or trailing `:`) outside quotes.
    fn split_key(line: &str) -> Option<(usize, &str)> {
        let b = line.as_bytes();
        let mut quote: Option<u8> = None;
        for i in 0..b.len() {
            match (quote, b[i]) {
                (None, b'"' | b'\'') if i == 0 => quote = Some(b[i]),
                (Some(q), c) if c == q => quote = None,
                (None, b':') if b.get(i + 1).is_none_or(|c| *c == b' ' || *c == b'\t') => {
                    return Some((i, &line[i + 1..]));
                }
                (None, b'#') if i > 0 && b[i - 1] == b' ' => return None,
                _ => {}
            }
        }
        None
    }

    pub fn entries(text: &str) -> Vec<Entry> {
        let lines: Vec<(usize, &str)> = {
            let mut v = Vec::new();
            let mut pos = 0;
            for l in text.split_inclusive('\n') {
                v.push((pos, l.trim_end_matches(['\n', '\r'])));
                pos += l.len();
            }
            v
        };
        let mut out: Vec<Entry> = Vec::new();
        let mut path: Vec<String> = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut seq_counters: Vec<(usize, usize)> = Vec::new(); // (indent, next index)
        let mut i = 0;
        // Close the frames that a line at `indent` ends (for a sequence item, `item` is true:
        // the enclosing key at the same indent stays open, the previous item closes).
        let close = |stack: &mut Vec<Frame>,
                     path: &mut Vec<String>,
                     out: &mut Vec<Entry>,
                     indent: usize,
                     item: bool,
                     end: usize| {
            while let Some(f) = stack.last() {
                if f.indent < indent || (item && f.indent == indent && !f.item) {
                    break;
                }
                let f = stack.pop().unwrap();
                if let Some(e) = f.entry {
                    out[e].range.end = out[e].range.end.max(end);
                }
                path.truncate(f.path_len);
            }
        };
        let mut last_content_end = 0;
        while i < lines.len() {
            let (lstart, line) = lines[i];
            let trimmed = line.trim_start();
            i += 1;
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" || trimmed == "..." {
                continue;
            }
            let mut indent = line.len() - trimmed.len();
            let mut rest = trimmed;
            let mut rest_start = lstart + indent;
            let is_item = rest == "-" || rest.starts_with("- ");
            close(&mut stack, &mut path, &mut out, indent, is_item, last_content_end);
            // sequence items: "- " (possibly nested "- - ")
            let mut first_item = true;
            while rest == "-" || rest.starts_with("- ") {
                if !first_item {
                    close(&mut stack, &mut path, &mut out, indent, true, last_content_end);
                }
                first_item = false;
                seq_counters.retain(|(ind, _)| *ind <= indent);
                let n = match seq_counters.iter_mut().find(|(ind, _)| *ind == indent) {
                    Some((_, n)) => {
                        *n += 1;
                        *n - 1
                    }
                    None => {
                        seq_counters.push((indent, 1));
                        0
                    }
                };
                let path_len = path.len();
                path.push(format!("[{n}]"));
                let after = rest[1..].trim_start();
                let skip = rest.len() - after.len();
                out.push(Entry {
                    path: path.clone(),
                    key_range: rest_start..rest_start + 1,
                    range: rest_start + skip..rest_start + rest.len(),
                    value: Value::Map,
                });
                stack.push(Frame {
                    indent,
                    path_len,
                    entry: Some(out.len() - 1),
                    item: true,
                });
                indent += skip;
                rest_start += skip;
                rest = after;
                if rest.is_empty() {
                    break;
                }
                if split_key(rest).is_none() {
                    let idx = out.len() - 1;
                    let v = strip_comment(rest);
                    out[idx].value = if v.starts_with('{') || v.starts_with('[') {
                        Value::Other
                    } else {
                        Value::Str(unquote(v))
                    };
                    out[idx].range = rest_start..rest_start + v.len();
                    rest = "";
                }
            }
            last_content_end = lstart + line.len();
            if rest.is_empty() {
                continue;
            }
            let Some((colon, value)) = split_key(rest) else {
                continue;
            };
            seq_counters.retain(|(ind, _)| *ind < indent);
            let key_range = rest_start..rest_start + colon;
            let key = unquote(&rest[..colon]);
            let value_trim = value.trim_start();
            let value_start = rest_start + colon + 1 + (value.len() - value_trim.len());
            let v = strip_comment(value_trim);
            let path_len = path.len();
            path.push(key);
            if v.is_empty() {
                // nested block: a mapping or a sequence follows
                out.push(Entry {
                    path: path.clone(),
                    key_range,
                    range: value_start..value_start,
                    value: Value::Map,
                });
                stack.push(Frame {
                    indent,
                    path_len,
                    entry: Some(out.len() - 1),
                    item: false,
                });
                continue;
            }
            if v.starts_with('|') || v.starts_with('>') {
                // block scalar
                let folded = v.starts_with('>');
                let keep = v.contains('+');
                let strip = v.contains('-');
                let mut block: Vec<&str> = Vec::new();
                let mut block_indent: Option<usize> = None;
                let mut end = value_start + v.len();
                while i < lines.len() {
                    let (ls, l) = lines[i];
                    let t = l.trim_start();
                    let ind = l.len() - t.len();
                    if !t.is_empty() && ind <= indent {
                        break;
                    }
                    if !t.is_empty() && block_indent.is_none() {
                        block_indent = Some(ind);
                    }
                    block.push(l);
                    if !t.is_empty() {
                        end = ls + l.len();
                    }
                    i += 1;
                }
                let bi = block_indent.unwrap_or(indent + 2);
                let body: Vec<&str> = block.iter().map(|l| l.get(bi..).unwrap_or("")).collect();
                let mut s = if folded {
                    let mut s = String::new();
                    for (k, l) in body.iter().enumerate() {
                        if k > 0 {
                            s.push(if l.is_empty() || body[k - 1].is_empty() {
                                '\n'
                            } else {
                                ' '
                            });
                        }
                        s.push_str(l);
                    }
                    s
                } else {
                    body.join("\n")
                };
                let trimmed_len = s.trim_end_matches('\n').len();
                if !keep {
                    s.truncate(trimmed_len);
                    if !strip {
                        s.push('\n');
                    }
                }
                out.push(Entry {
                    path: path.clone(),
                    key_range,
                    range: value_start..end,
                    value: Value::Str(s),
                });
                last_content_end = end;
                path.truncate(path_len);
                continue;
            }
            let (value, end) = if v.starts_with('"') && !(v.len() > 1 && v.ends_with('"')) {
                // multi-line double-quoted scalar
                let mut s = v.to_string();
                let mut end = value_start + v.len();
                while i < lines.len() {
                    let (ls, l) = lines[i];
                    i += 1;
                    s.push(' ');
                    s.push_str(l.trim());
                    end = ls + l.len();
                    if l.trim_end().ends_with('"') && !l.trim_end().ends_with("\\\"") {
                        break;
                    }
                }
                (Value::Str(unquote(&s)), end)
            } else if v.starts_with('{') || v.starts_with('[') || v.starts_with('&') || v.starts_with('*') {
                (Value::Other, value_start + v.len())
            } else {
                (Value::Str(unquote(v)), value_start + v.len())
            };
            out.push(Entry {
                path: path.clone(),
                key_range,
                range: value_start..end,
                value,
            });
            last_content_end = end;
            path.truncate(path_len);
        }
        close(&mut stack, &mut path, &mut out, 0, false, last_content_end);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(text: &str, f: ConfigFormat) -> Vec<(String, PromptKind, String)> {
        find_prompts(text, f)
            .into_iter()
            .map(|s| {
                assert!(text.get(s.range.clone()).is_some());
                (s.key_path, s.kind, s.text)
            })
            .collect()
    }

    #[test]
    fn json_system_tools_and_mcp() {
        let text = r#"{
  // JSONC comment
  "system": "You are \"helpful\".\nBe brief. \ud83d\ude00",
  "tools": [
    {"name": "search", "description": "Search the web", "input_schema": {"type": "object"}},
  ],
  "mcpServers": {"github": {"command": "gh", "args": ["mcp"]}},
}"#;
        let s = summary(text, ConfigFormat::Json);
        assert_eq!(
            s,
            vec![
                (
                    "system".into(),
                    PromptKind::System,
                    "You are \"helpful\".\nBe brief. 😀".into()
                ),
                (
                    "tools[0].description".into(),
                    PromptKind::ToolDescription,
                    "Search the web".into()
                ),
                (
                    "tools[0].input_schema".into(),
                    PromptKind::ToolSchema,
                    "{\"type\": \"object\"}".into()
                ),
                ("mcpServers.github".into(), PromptKind::McpServer, "".into()),
            ]
        );
        let spans = find_prompts(text, ConfigFormat::Json);
        assert_eq!(&text[spans[0].key_range.clone()], "\"system\"");
        assert!(text[spans[0].range.clone()].starts_with("\"You are"));
    }

    #[test]
    fn json_truncated_keeps_what_was_read() {
        let text = r#"{"instructions": "be brief", "prompt": "unterminated"#;
        let s = summary(text, ConfigFormat::Json);
        assert_eq!(s, vec![("instructions".into(), PromptKind::System, "be brief".into())]);
    }

    #[test]
    fn yaml_block_scalars_sequences_and_tools() {
        let text = "name: cfg\nrules:\n  - Always write tests\n  - name: style\n    rule: |\n      Use tabs.\n      Never spaces.\n\nsystem_prompt: >-\n  one\n  two\nmodels:\n  - name: x\n    systemMessage: \"quoted # not comment\"\ntools:\n  - name: t\n    description: 'It''s a tool' # comment\n";
        let s = summary(text, ConfigFormat::Yaml);
        assert_eq!(
            s,
            vec![
                ("rules[0]".into(), PromptKind::Prompt, "Always write tests".into()),
                (
                    "rules[1].rule".into(),
                    PromptKind::Prompt,
                    "Use tabs.\nNever spaces.\n".into()
                ),
                ("system_prompt".into(), PromptKind::System, "one two".into()),
                (
                    "models[0].systemMessage".into(),
                    PromptKind::System,
                    "quoted # not comment".into()
                ),
                (
                    "tools[0].description".into(),
                    PromptKind::ToolDescription,
                    "It's a tool".into()
                ),
            ]
        );
        let spans = find_prompts(text, ConfigFormat::Yaml);
        assert_eq!(&text[spans[1].range.clone()], "|\n      Use tabs.\n      Never spaces.");
        assert_eq!(&text[spans[2].key_range.clone()], "system_prompt");
    }

    #[test]
    fn toml_codex_config() {
        let text =
            "model = \"gpt-5\"\ninstructions = \"\"\"\nBe terse.\n\"\"\"\n[mcp_servers.docs]\ncommand = \"npx\"\n";
        let s = summary(text, ConfigFormat::Toml);
        assert_eq!(
            s,
            vec![("instructions".into(), PromptKind::System, "Be terse.\n".into())]
        );
        assert_eq!(ConfigFormat::of_path("/x/.codex/config.toml"), Some(ConfigFormat::Toml));
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "",
            "{",
            "[[[[",
            "\"",
            "key: |",
            "- - -",
            "a: \"open",
            "{\"a\": \"\\u12\"}",
            "x = ",
        ] {
            for f in [ConfigFormat::Json, ConfigFormat::Yaml, ConfigFormat::Toml] {
                let _ = find_prompts(t, f);
            }
        }
    }
}
