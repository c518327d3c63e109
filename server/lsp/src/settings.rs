//! The server's effective settings: configuration layers (built-in defaults, the user's
//! `config.toml`, the workspace's `.promptmeter.toml`, then the client's initializationOptions
//! and workspace/didChangeConfiguration settings), the model catalog, and the document globs.
//! Rebuilt as a whole on every change; handlers hold an `Arc` to one snapshot.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use promptmeter_core::config::Config;
use promptmeter_core::lint::{Code, Severity};
use promptmeter_core::pricing::{format_usd, prompt_send_cost};
use promptmeter_core::{Catalog, Encoding, Model, TokenCount, Tokenizer};
use rust_decimal::Decimal;

/// Where the configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub user_file: Option<PathBuf>,
    pub roots: Vec<PathBuf>,
    /// initializationOptions, then workspace settings (later wins).
    pub editor: Vec<serde_json::Value>,
    /// `promptmeter.setModel`.
    pub model_override: Option<String>,
}

pub struct Settings {
    pub config: Config,
    pub catalog: Catalog,
    pub roots: Vec<PathBuf>,
    globs: GlobSet,
    /// The active model's catalog id.
    pub active: String,
    /// Problems found while loading (shown to the user once).
    pub errors: Vec<String>,
    /// The tokenizer calibration the proxy learned (`calibration.json` next to the ledger),
    /// and when that file was last changed as loaded: estimates use its factors.
    pub calibration_file: PathBuf,
    pub calibration_mtime: Option<std::time::SystemTime>,
    pub calibration: promptmeter_core::tokenize::calibration::Calibration,
}

/// When a file last changed (None: it does not exist).
pub fn mtime(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The user's config file: `$PROMPTMETER_CONFIG`, else `$XDG_CONFIG_HOME/promptmeter/config.toml`
/// (`~/.config/promptmeter/config.toml`).
pub fn user_config_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PROMPTMETER_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".config")))?;
    Some(base.join("promptmeter").join("config.toml"))
}

/// Editor settings come in the config's shape (`{"models": {"active": ..}, "lsp": {..}}`);
/// editor-style keys are accepted too: `model` (the active model), `models` as a list (the
/// comparison models), `proxy.url` (the proxy whose feed to relay). Other editor-only keys
/// (`server`, `trace`) are dropped.
pub fn normalise_editor_settings(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Map, Value};
    let Some(o) = v.as_object() else { return v.clone() };
    let mut out = Map::new();
    let mut models = Map::new();
    let mut lsp = Map::new();
    for (k, val) in o {
        match (k.as_str(), val) {
            ("model", Value::String(m)) => {
                models.insert("active".into(), Value::String(m.clone()));
            }
            ("models", Value::Array(list)) => {
                models.insert("compare".into(), Value::Array(list.clone()));
            }
            ("proxy", Value::Object(p)) if p.contains_key("url") => {
                if let Some(Value::String(url)) = p.get("url")
                    && !url.trim().is_empty()
                {
                    lsp.insert(
                        "feed_url".into(),
                        Value::String(format!("{}/_promptmeter/feed", url.trim().trim_end_matches('/'))),
                    );
                }
                let rest: Map<String, Value> = p
                    .iter()
                    .filter(|(k, _)| *k != "url")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !rest.is_empty() {
                    out.insert("proxy".into(), Value::Object(rest));
                }
            }
            ("server" | "trace", _) => {}
            _ => {
                out.insert(k.clone(), val.clone());
            }
        }
    }
    for (key, extra) in [("models", models), ("lsp", lsp)] {
        if extra.is_empty() {
            continue;
        }
        let entry = out.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            for (k, v) in extra {
                m.entry(k).or_insert(v);
            }
        }
    }
    Value::Object(out)
}

fn build_globs(patterns: &[String], errors: &mut Vec<String>) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let p = p.trim();
        let anchored = p.strip_prefix('/');
        let pat = match anchored {
            Some(a) => a.to_string(),
            None => format!("**/{p}"),
        };
        match GlobBuilder::new(&pat).literal_separator(true).build() {
            Ok(g) => {
                b.add(g);
            }
            Err(e) => errors.push(format!("document glob {p:?}: {e}")),
        }
    }
    b.build().unwrap_or_else(|e| {
        errors.push(format!("document globs: {e}"));
        GlobSet::empty()
    })
}

impl Settings {
    pub fn load(src: &Sources, catalog: &Catalog) -> Settings {
        let mut errors = Vec::new();
        let user = src.user_file.as_ref().and_then(|p| std::fs::read_to_string(p).ok());
        let project: Vec<(String, String)> = src
            .roots
            .iter()
            .filter_map(|r| {
                let p = r.join(".promptmeter.toml");
                std::fs::read_to_string(&p).ok().map(|t| (p.display().to_string(), t))
            })
            .collect();
        let mut layers: Vec<(&str, &str)> = Vec::new();
        if let Some(u) = &user {
            layers.push(("user config", u));
        }
        for (n, t) in &project {
            layers.push((n, t));
        }
        // A broken layer is reported and skipped; the others still apply.
        let mut config = Config::default();
        let mut good: Vec<(&str, &str)> = Vec::new();
        for l in layers {
            let mut trial = good.clone();
            trial.push(l);
            match Config::from_layers(trial.iter().copied()) {
                Ok(c) => {
                    config = c;
                    good = trial;
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        for json in &src.editor {
            let json = normalise_editor_settings(json.get("promptmeter").unwrap_or(json));
            if json.is_null() || json.as_object().is_some_and(|o| o.is_empty()) {
                continue;
            }
            match config.with_json_overrides(&json) {
                Ok(c) => config = c,
                Err(e) => errors.push(e.to_string()),
            }
        }
        let mut catalog = catalog.clone();
        if let Some(file) = &config.models.catalog_file {
            match std::fs::read_to_string(file) {
                Ok(t) => {
                    if let Err(e) = catalog.merge_litellm_json(&t) {
                        errors.push(format!("catalog file {file}: {e}"));
                    }
                }
                Err(e) => errors.push(format!("catalog file {file}: {e}")),
            }
        }
        if !config.models.overrides.is_empty() {
            let json = serde_json::to_string(&config.models.overrides).unwrap_or_default();
            if let Err(e) = catalog.merge_litellm_json(&json) {
                errors.push(format!("[models.overrides]: {e}"));
            }
        }
        // Claude and Gemini counts are estimates; the proxy learns their factors from the
        // provider-reported input counts of real requests.
        let calibration_file =
            promptmeter_ledger::calibration::path_for(&promptmeter_ledger::path_in(&config, dirs::data_dir()));
        let calibration_mtime = mtime(&calibration_file);
        let calibration = promptmeter_ledger::calibration::load(&calibration_file);
        catalog.calibrate(&calibration);
        let wanted = src
            .model_override
            .clone()
            .unwrap_or_else(|| config.models.active.clone());
        let active = match catalog.resolve(&wanted) {
            Some(m) => m.id.clone(),
            None => {
                errors.push(format!("unknown model {wanted:?}; using claude-sonnet-4-5"));
                catalog
                    .resolve("claude-sonnet-4-5")
                    .map(|m| m.id.clone())
                    .unwrap_or_else(|| catalog.iter().next().map(|m| m.id.clone()).unwrap_or_default())
            }
        };
        let globs = build_globs(&config.lsp.document_globs(), &mut errors);
        Settings {
            config,
            catalog,
            roots: src.roots.clone(),
            globs,
            active,
            errors,
            calibration_file,
            calibration_mtime,
            calibration,
        }
    }

    pub fn active_model(&self) -> Option<&Model> {
        self.catalog.get(&self.active)
    }

    pub fn tokenizer(&self) -> Tokenizer {
        self.active_model()
            .map(|m| m.tokenizer)
            .unwrap_or(Tokenizer::exact(Encoding::O200kBase))
    }

    pub fn encoding(&self) -> Encoding {
        self.tokenizer().base()
    }

    /// The path relative to the workspace root containing it (else the path itself).
    pub fn relative(&self, path: &Path) -> String {
        for r in &self.roots {
            if let Ok(rel) = path.strip_prefix(r) {
                return rel.to_string_lossy().replace('\\', "/");
            }
        }
        path.to_string_lossy().replace('\\', "/")
    }

    /// Whether the document at `path` is a prompt file or agent config to measure.
    pub fn selects(&self, path: &Path) -> bool {
        let rel = self.relative(path);
        self.globs.is_match(&rel) || self.globs.is_match(rel.trim_start_matches('/'))
    }

    pub fn severity(&self, code: Code) -> Severity {
        self.config
            .lsp
            .severity
            .get(code.as_str())
            .and_then(|s| Severity::parse(s))
            .unwrap_or(code.default_severity())
    }

    /// Tokens for the active model from a base-encoding count.
    pub fn tokens(&self, base: u64) -> TokenCount {
        self.tokenizer().from_base_count(base as usize)
    }

    /// Cost of sending `tokens` to `model` once (uncached, cache read).
    pub fn send_cost(model: &Model, tokens: u64) -> Option<(Decimal, Decimal)> {
        prompt_send_cost(model, tokens)
    }

    /// "≈1,234 tok · $0.0037" for the active model.
    pub fn short_label(&self, base: u64) -> String {
        let t = self.tokens(base);
        match self.active_model().and_then(|m| prompt_send_cost(m, t.tokens)) {
            Some((usd, _)) => format!("{} tok · {}", t.display(), format_usd(usd)),
            None => format!("{} tok", t.display()),
        }
    }

    /// "≈1,234 tokens ($0.0037 per send on claude-sonnet-4-5)".
    pub fn priced(&self, base: u64) -> String {
        let t = self.tokens(base);
        let tokens = if t.tokens == 1 { "token" } else { "tokens" };
        match self.active_model().and_then(|m| prompt_send_cost(m, t.tokens)) {
            Some((usd, _)) => format!(
                "{} {tokens} ({} per send on {})",
                t.display(),
                format_usd(usd),
                self.active
            ),
            None => format!("{} {tokens}", t.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_globs_select_prompt_files_only() {
        let s = Settings::load(
            &Sources {
                roots: vec![PathBuf::from("/w")],
                ..Default::default()
            },
            &Catalog::bundled(),
        );
        for yes in [
            "/w/CLAUDE.md",
            "/w/sub/CLAUDE.md",
            "/w/.claude/rules/a/b.md",
            "/w/.claude/agents/x.md",
            "/w/.github/instructions/ts.instructions.md",
            "/w/x/y.prompt.md",
            "/w/prompts/a/b.txt",
            "/w/.mcp.json",
            "/w/.cursor/rules/r.mdc",
        ] {
            assert!(s.selects(Path::new(yes)), "{yes}");
        }
        for no in [
            "/w/README.md",
            "/w/src/main.rs",
            "/w/.claude/agents.json",
            "/w/package.json",
        ] {
            assert!(!s.selects(Path::new(no)), "{no}");
        }
        assert!(s.errors.is_empty(), "{:?}", s.errors);
    }

    #[test]
    fn editor_style_settings_are_translated() {
        let v = normalise_editor_settings(&serde_json::json!({
            "model": "gpt-5", "models": ["gpt-5", "claude-opus-4-8"], "proxy": {"url": "http://127.0.0.1:9/"},
            "server": {"path": "/x"}, "lsp": {"inlay_hints": false}
        }));
        assert_eq!(
            v,
            serde_json::json!({
                "models": {"active": "gpt-5", "compare": ["gpt-5", "claude-opus-4-8"]},
                "lsp": {"inlay_hints": false, "feed_url": "http://127.0.0.1:9/_promptmeter/feed"}
            })
        );
    }

    #[test]
    fn editor_settings_override() {
        let s = Settings::load(
            &Sources {
                roots: vec![PathBuf::from("/w")],
                editor: vec![serde_json::json!({"lsp": {"documents": ["notes/*.md"]}, "models": {"active": "gpt-5"}})],
                ..Default::default()
            },
            &Catalog::bundled(),
        );
        assert!(s.selects(Path::new("/w/notes/a.md")));
        assert!(!s.selects(Path::new("/w/CLAUDE.md")));
        assert_eq!(s.active, "gpt-5");
        assert!(s.tokenizer().is_exact());
    }
}
