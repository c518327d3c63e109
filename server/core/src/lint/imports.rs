//! CLAUDE.md `@path` imports (Claude Code loads the imported file into the same context,
//! recursively up to 5 hops; imports inside code spans and code blocks are not evaluated).
//! Missing and cyclic imports are findings. Reading files is the caller's job: [`check`]
//! takes a resolver.

use std::ops::Range;

use super::{Code, Finding, fenced_ranges, in_ranges, lines};

/// Claude Code follows imports this many hops deep.
pub const MAX_DEPTH: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Byte range of `@path` in the document.
    pub range: Range<usize>,
    /// The path as written (without the `@`).
    pub path: String,
}

/// The `@path` imports of a CLAUDE.md-style text.
pub fn find_imports(text: &str) -> Vec<Import> {
    let fences = fenced_ranges(text);
    let mut out = Vec::new();
    for (line, _) in lines(text) {
        if in_ranges(&fences, line.start) {
            continue;
        }
        let l = &text[line.clone()];
        let b = l.as_bytes();
        let mut in_code = false;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'`' => in_code = !in_code,
                b'@' if !in_code && (i == 0 || b[i - 1].is_ascii_whitespace() || b"([".contains(&b[i - 1])) => {
                    let rest = &l[i + 1..];
                    let len = rest
                        .find(|c: char| c.is_whitespace() || c == '`' || c == ')')
                        .unwrap_or(rest.len());
                    let path = rest[..len].trim_end_matches(['.', ',', ';', ':', '!', '?', ']']);
                    let looks_like_path = path.contains('/') || path.contains('.') || path.starts_with('~');
                    if !path.is_empty() && looks_like_path && !path.contains('@') {
                        out.push(Import {
                            range: line.start + i..line.start + i + 1 + path.len(),
                            path: path.to_string(),
                        });
                    }
                    i += len;
                }
                _ => {}
            }
            i += 1;
        }
    }
    out
}

/// A resolved import: the file's canonical name and its text.
pub struct Resolved {
    pub name: String,
    pub text: String,
}

/// Check the imports of `text` (the file `self_name`). `resolve(importing_file, path)` returns
/// the imported file, or None when it does not exist.
pub fn check(text: &str, self_name: &str, resolve: &dyn Fn(&str, &str) -> Option<Resolved>) -> Vec<Finding> {
    let mut out = Vec::new();
    for imp in find_imports(text) {
        match resolve(self_name, &imp.path) {
            None => out.push(Finding {
                code: Code::ImportMissing,
                range: imp.range.clone(),
                message: format!("Import @{} not found; Claude Code skips it", imp.path),
                tokens: 0,
                fix: None,
            }),
            Some(r) => {
                let mut stack = vec![self_name.to_string()];
                if let Some(cycle) = find_cycle(&r, &mut stack, resolve, 1) {
                    out.push(Finding {
                        code: Code::ImportCycle,
                        range: imp.range.clone(),
                        message: format!("Import cycle: {}", cycle.join(" → ")),
                        tokens: 0,
                        fix: None,
                    });
                }
            }
        }
    }
    out
}

fn find_cycle(
    file: &Resolved,
    stack: &mut Vec<String>,
    resolve: &dyn Fn(&str, &str) -> Option<Resolved>,
    depth: usize,
) -> Option<Vec<String>> {
    if let Some(pos) = stack.iter().position(|s| *s == file.name) {
        let mut c: Vec<String> = stack[pos..].to_vec();
        c.push(file.name.clone());
        return Some(c);
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    stack.push(file.name.clone());
    for imp in find_imports(&file.text) {
        if let Some(r) = resolve(&file.name, &imp.path)
            && let Some(c) = find_cycle(&r, stack, resolve, depth + 1)
        {
            stack.pop();
            return Some(c);
        }
    }
    stack.pop();
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn imports_outside_code_only() {
        let text = "See @docs/a.md and @README.md.\nEmail me@example.com, `@not/this.md`\n```\n@nor/this.md\n```\n- @~/.claude/my.md\n";
        let paths: Vec<String> = find_imports(text).into_iter().map(|i| i.path).collect();
        assert_eq!(paths, ["docs/a.md", "README.md", "~/.claude/my.md"]);
    }

    #[test]
    fn missing_and_cyclic() {
        let text = "@a.md @ok.md @gone.md";
        let files: HashMap<&str, &str> = [
            ("a.md", "x @b.md"),
            ("b.md", "@CLAUDE.md"),
            ("ok.md", "fine"),
            ("CLAUDE.md", text),
        ]
        .into();
        let resolve = |_: &str, p: &str| {
            files.get(p).map(|t| Resolved {
                name: p.to_string(),
                text: t.to_string(),
            })
        };
        let f = check(text, "CLAUDE.md", &resolve);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].code, Code::ImportCycle);
        assert_eq!(f[0].message, "Import cycle: CLAUDE.md → a.md → b.md → CLAUDE.md");
        assert_eq!(&text[f[0].range.clone()], "@a.md");
        assert_eq!(f[1].code, Code::ImportMissing);
        assert_eq!(&text[f[1].range.clone()], "@gone.md");
    }
}
