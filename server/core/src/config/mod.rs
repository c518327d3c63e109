//! Configuration types, parsed from TOML text. Layers (later wins): built-in defaults, the
//! user's file (`$XDG_CONFIG_HOME/promptmeter/config.toml`), the project's
//! `.promptmeter.toml`, then editor settings (as JSON). Reading the files is the edges' job;
//! this module only parses and merges text.
//!
//! Each concern owns one file: `models.rs` (active model, comparison models, catalog file and
//! overrides), `lsp.rs` (documents, lint thresholds), `proxy.rs` (listen address, upstreams,
//! ledger, capture), `budget.rs` (budgets, alerts, routing).

pub mod budget;
pub mod lsp;
pub mod models;
pub mod proxy;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub models: models::ModelsConfig,
    pub lsp: lsp::LspConfig,
    pub proxy: proxy::ProxyConfig,
    pub budgets: budget::BudgetsConfig,
    pub routing: budget::RoutingConfig,
}

#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ConfigError {
    pub source_name: String,
    pub message: String,
}

impl Config {
    /// Parse and merge TOML layers in order (later layers override earlier ones, table by
    /// table, key by key). `layers` are (name for error messages, TOML text).
    pub fn from_layers<'a>(layers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Config, ConfigError> {
        let mut merged = toml::Table::new();
        for (name, text) in layers {
            let t: toml::Table = toml::from_str(text).map_err(|e| ConfigError {
                source_name: name.to_string(),
                message: e.to_string(),
            })?;
            merge_tables(&mut merged, t);
        }
        Self::from_table(merged)
    }

    /// Merge a JSON object (editor settings, initializationOptions) over a config.
    pub fn with_json_overrides(&self, json: &serde_json::Value) -> Result<Config, ConfigError> {
        let err = |m: String| ConfigError {
            source_name: "editor settings".into(),
            message: m,
        };
        let mut base = toml::Table::try_from(self).map_err(|e| err(e.to_string()))?;
        let over: toml::Table = serde_json::from_value(strip_nulls(json.clone())).map_err(|e| err(e.to_string()))?;
        merge_tables(&mut base, over);
        Self::from_table(base).map_err(|e| err(e.message))
    }

    fn from_table(t: toml::Table) -> Result<Config, ConfigError> {
        Config::deserialize(toml::Value::Table(t)).map_err(|e| ConfigError {
            source_name: "config".into(),
            message: e.to_string(),
        })
    }
}

fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}
