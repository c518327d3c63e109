//! `[models]`: which model prices are shown, and where the catalog comes from.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// The model whose tokens/costs inlay hints and `count` show by default.
    pub active: String,
    /// Models compared in hovers and `count --model` defaults.
    pub compare: Vec<String>,
    /// A newer LiteLLM-format JSON file to use instead of the bundled snapshot.
    pub catalog_file: Option<String>,
    /// Per-model overrides in LiteLLM's field names, e.g.
    /// `[models.overrides."claude-sonnet-4-5"] input_cost_per_token = 3e-6`.
    pub overrides: toml::Table,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            active: "claude-sonnet-4-5".into(),
            compare: vec![
                "claude-sonnet-4-5".into(),
                "claude-opus-4-8".into(),
                "claude-haiku-4-5".into(),
                "gpt-5".into(),
                "gemini-2.5-pro".into(),
            ],
            catalog_file: None,
            overrides: toml::Table::new(),
        }
    }
}
