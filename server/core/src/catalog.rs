//! The dated model catalog: prices, context windows, tokenizers and aliases, read from
//! LiteLLM's `model_prices_and_context_window.json` format. A filtered snapshot ships inside
//! the binary (`data/catalog-snapshot.json`); users can load a newer file and override any
//! entry. Prices are per token, in USD, held as `Decimal` (never binary floats).

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::tokenize::{Encoding, Tokenizer};

/// The snapshot bundled at build time (regenerate with
/// `promptmeter models --snapshot-from FULL.json --write server/core/data/catalog-snapshot.json`,
/// which runs [`snapshot_json`]).
pub const BUNDLED_SNAPSHOT: &str = include_str!("../data/catalog-snapshot.json");
/// Date of the LiteLLM data the bundled snapshot was generated from.
pub const BUNDLED_SNAPSHOT_SOURCE: &str = "LiteLLM 1.110.2 model_prices_and_context_window_backup.json";

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("catalog must be a JSON object of model id to entry")]
    NotAnObject,
    #[error("override for {model:?}: {message}")]
    BadOverride { model: String, message: String },
    #[error("entry {model:?}: field {field:?} is not a valid price: {value}")]
    BadPrice {
        model: String,
        field: String,
        value: String,
    },
}

/// Prices above a long-context threshold (all tokens of a request whose prompt exceeds
/// `threshold` are billed at these prices).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongContextTier {
    pub threshold: u64,
    pub input: Option<Decimal>,
    pub output: Option<Decimal>,
    pub cache_read: Option<Decimal>,
    pub cache_write_5m: Option<Decimal>,
    pub cache_write_1h: Option<Decimal>,
}

/// Per-token prices in USD.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelPrices {
    pub input: Option<Decimal>,
    pub output: Option<Decimal>,
    pub cache_read: Option<Decimal>,
    pub cache_write_5m: Option<Decimal>,
    pub cache_write_1h: Option<Decimal>,
    /// Separate reasoning price, when the provider lists one (else reasoning is output).
    pub reasoning: Option<Decimal>,
    pub long_context: Vec<LongContextTier>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Canonical id, as keyed in the catalog.
    pub id: String,
    /// LiteLLM provider name (anthropic, openai, gemini, vertex_ai-..., bedrock, azure, openrouter, ...).
    pub provider: String,
    pub mode: String,
    pub tokenizer: Tokenizer,
    pub context_window: Option<u64>,
    pub max_output: Option<u64>,
    pub prices: ModelPrices,
    /// Service tiers present in the data: "batches", "flex", "priority".
    pub service_tiers: BTreeMap<String, ModelPrices>,
    pub deprecation_date: Option<String>,
}

impl Model {
    /// Provider family used for usage rules and tokenizer choice.
    pub fn family(&self) -> Family {
        family_of(&self.id, &self.provider)
    }

    /// The calibration this model learns into and reads from: models that share a tokenizer
    /// share one (every Claude model of a tokenizer generation, every Gemini model), so what
    /// is learned from one request applies to its siblings, whatever dated id they go by.
    pub fn calibration_key(&self) -> String {
        let base = self.id.rsplit('/').next().unwrap_or(&self.id).to_ascii_lowercase();
        match self.family() {
            Family::Anthropic if crate::tokenize::calibration::claude_uses_new_tokenizer(&base) => {
                "claude (newer tokenizer)".into()
            }
            Family::Anthropic => "claude".into(),
            Family::Gemini => "gemini".into(),
            _ => self.id.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Anthropic,
    OpenAi,
    Gemini,
    Other,
}

pub fn family_of(id: &str, provider: &str) -> Family {
    let base = id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase();
    if base.contains("claude") || provider.contains("anthropic") {
        Family::Anthropic
    } else if base.contains("gemini") || base.contains("gemma") {
        Family::Gemini
    } else if base.starts_with("gpt-")
        || base.starts_with("chatgpt")
        || base.starts_with("codex")
        || base.starts_with("o1")
        || base.starts_with("o3")
        || base.starts_with("o4")
        || base.starts_with("gpt")
    {
        Family::OpenAi
    } else {
        Family::Other
    }
}

/// Default tokenizer for a model id: OpenAI models get their exact encoding; Claude and
/// Gemini get a calibrated estimate over o200k_base (see `calibration` for the figures).
pub fn default_tokenizer(id: &str, provider: &str) -> Tokenizer {
    let base = id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase();
    match family_of(id, provider) {
        Family::OpenAi => {
            let legacy = base.starts_with("gpt-4-") && !base.starts_with("gpt-4o")
                || base == "gpt-4"
                || base.starts_with("gpt-3.5")
                || base.starts_with("gpt-35");
            Tokenizer::exact(if legacy {
                Encoding::Cl100kBase
            } else {
                Encoding::O200kBase
            })
        }
        Family::Anthropic => crate::tokenize::calibration::claude(&base),
        Family::Gemini => crate::tokenize::calibration::gemini(&base),
        Family::Other => crate::tokenize::calibration::other(),
    }
}

/// The model catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: BTreeMap<String, Model>,
    /// lowercased alias -> canonical id
    aliases: BTreeMap<String, String>,
    /// The LiteLLM entry each model was read from (overrides patch these fields).
    raw: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

fn price(model: &str, field: &str, v: &serde_json::Value) -> Result<Option<Decimal>, CatalogError> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => {
            let s = n.to_string();
            let d = if s.contains(['e', 'E']) {
                Decimal::from_scientific(&s)
            } else {
                Decimal::from_str(&s)
            };
            d.map(|d| Some(d.normalize())).map_err(|_| CatalogError::BadPrice {
                model: model.into(),
                field: field.into(),
                value: s,
            })
        }
        serde_json::Value::String(s) => Decimal::from_str(s)
            .or_else(|_| Decimal::from_scientific(s))
            .map(|d| Some(d.normalize()))
            .map_err(|_| CatalogError::BadPrice {
                model: model.into(),
                field: field.into(),
                value: s.clone(),
            }),
        other => Err(CatalogError::BadPrice {
            model: model.into(),
            field: field.into(),
            value: other.to_string(),
        }),
    }
}

fn prices_with_suffix(
    id: &str,
    e: &serde_json::Map<String, serde_json::Value>,
    suffix: &str,
) -> Result<ModelPrices, CatalogError> {
    let get = |name: &str| -> Result<Option<Decimal>, CatalogError> {
        let key = format!("{name}{suffix}");
        e.get(&key).map(|v| price(id, &key, v)).transpose().map(Option::flatten)
    };
    let mut long_context = Vec::new();
    for (threshold, tag) in [
        (32_000u64, "_above_32k_tokens"),
        (100_000, "_above_100k_tokens"),
        (128_000, "_above_128k_tokens"),
        (200_000, "_above_200k_tokens"),
        (256_000, "_above_256k_tokens"),
        (272_000, "_above_272k_tokens"),
        (512_000, "_above_512k_tokens"),
    ] {
        let t = |name: &str| get(&format!("{name}{tag}"));
        let tier = LongContextTier {
            threshold,
            input: t("input_cost_per_token")?,
            output: t("output_cost_per_token")?,
            cache_read: t("cache_read_input_token_cost")?,
            cache_write_5m: t("cache_creation_input_token_cost")?,
            cache_write_1h: t("cache_creation_input_token_cost_above_1hr")?,
        };
        if tier.input.is_some() || tier.output.is_some() || tier.cache_read.is_some() || tier.cache_write_5m.is_some() {
            long_context.push(tier);
        }
    }
    Ok(ModelPrices {
        input: get("input_cost_per_token")?,
        output: get("output_cost_per_token")?,
        cache_read: match get("cache_read_input_token_cost")? {
            Some(p) => Some(p),
            None => get("input_cost_per_token_cache_hit")?,
        },
        cache_write_5m: get("cache_creation_input_token_cost")?,
        cache_write_1h: get("cache_creation_input_token_cost_above_1hr")?,
        reasoning: get("output_cost_per_reasoning_token")?,
        long_context,
    })
}

impl Catalog {
    /// The catalog bundled in the binary.
    pub fn bundled() -> Self {
        Self::from_litellm_json(BUNDLED_SNAPSHOT).expect("bundled catalog snapshot is valid")
    }

    /// Parse a LiteLLM-format JSON file. Entries that are not chat/responses/completion models
    /// and the `sample_spec` entry are skipped.
    pub fn from_litellm_json(text: &str) -> Result<Self, CatalogError> {
        let v: serde_json::Value = serde_json::from_str(text)?;
        let obj = v.as_object().ok_or(CatalogError::NotAnObject)?;
        let mut cat = Catalog::default();
        for (id, entry) in obj {
            if id == "sample_spec" {
                continue;
            }
            let Some(e) = entry.as_object() else { continue };
            let mode = e.get("mode").and_then(|m| m.as_str()).unwrap_or("chat").to_string();
            if !matches!(mode.as_str(), "chat" | "responses" | "completion") {
                continue;
            }
            cat.insert(Self::entry_to_model(id, e, mode)?);
            cat.raw.insert(id.clone(), e.clone());
        }
        Ok(cat)
    }

    /// Apply overrides in LiteLLM's field names (`[models.overrides."id"]` in config): each
    /// table patches the fields it names in the entry it resolves to (exact id first, then
    /// alias), or adds a new model under that id when none resolves.
    pub fn apply_overrides(&mut self, overrides: &toml::Table) -> Result<(), CatalogError> {
        for (key, value) in overrides {
            let toml::Value::Table(fields) = value else {
                return Err(CatalogError::BadOverride {
                    model: key.clone(),
                    message: "expected a table of LiteLLM fields".into(),
                });
            };
            let patch = serde_json::to_value(fields).map_err(|e| CatalogError::BadOverride {
                model: key.clone(),
                message: e.to_string(),
            })?;
            let serde_json::Value::Object(patch) = patch else {
                unreachable!("a table serializes to an object")
            };
            let id = match self.resolve(key) {
                Some(m) => m.id.clone(),
                None => key.clone(),
            };
            let mut entry = self.raw.get(&id).cloned().unwrap_or_default();
            for (k, v) in patch {
                entry.insert(k, v);
            }
            let mode = entry.get("mode").and_then(|m| m.as_str()).unwrap_or("chat").to_string();
            let model = Self::entry_to_model(&id, &entry, mode)?;
            if model.prices.input.is_none() && model.prices.output.is_none() && !self.models.contains_key(&id) {
                return Err(CatalogError::BadOverride {
                    model: key.clone(),
                    message: "a new model needs input_cost_per_token and output_cost_per_token".into(),
                });
            }
            self.insert(model);
            self.raw.insert(id, entry);
        }
        Ok(())
    }

    /// The LiteLLM entry a model was read from (after overrides).
    pub fn raw_entry(&self, id: &str) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.raw.get(id)
    }

    fn entry_to_model(
        id: &str,
        e: &serde_json::Map<String, serde_json::Value>,
        mode: String,
    ) -> Result<Model, CatalogError> {
        let provider = e
            .get("litellm_provider")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string();
        let mut service_tiers = BTreeMap::new();
        for tier in ["batches", "flex", "priority"] {
            let p = prices_with_suffix(id, e, &format!("_{tier}"))?;
            if p.input.is_some() || p.output.is_some() {
                service_tiers.insert(tier.to_string(), p);
            }
        }
        let int = |k: &str| e.get(k).and_then(|v| v.as_u64());
        Ok(Model {
            id: id.to_string(),
            tokenizer: default_tokenizer(id, &provider),
            provider,
            mode,
            context_window: int("max_input_tokens").or_else(|| int("max_tokens")),
            max_output: int("max_output_tokens"),
            prices: prices_with_suffix(id, e, "")?,
            service_tiers,
            deprecation_date: e.get("deprecation_date").and_then(|v| v.as_str()).map(str::to_string),
        })
    }

    /// Add or replace a model (and its aliases). An alias shared by several entries points to
    /// the direct provider's entry (anthropic, openai, gemini) when there is one, else to the
    /// first entry in id order.
    pub fn insert(&mut self, model: Model) {
        let id = model.id.clone();
        let direct = is_direct_provider(&model.provider);
        for alias in aliases_of(&id) {
            match self.aliases.get(&alias) {
                Some(existing) if existing != &id => {
                    let existing_direct = self
                        .models
                        .get(existing)
                        .is_some_and(|m| is_direct_provider(&m.provider));
                    let existing_exact = existing.to_ascii_lowercase() == alias;
                    if direct && !existing_direct && !existing_exact {
                        self.aliases.insert(alias, id.clone());
                    }
                }
                _ => {
                    self.aliases.insert(alias, id.clone());
                }
            }
        }
        self.aliases.insert(id.to_ascii_lowercase(), id.clone());
        self.models.insert(id, model);
    }

    /// Merge a LiteLLM-format JSON object over this catalog: each entry replaces the model
    /// of the same id, or, for fields given, patches it (so overrides can set one price).
    pub fn merge_litellm_json(&mut self, text: &str) -> Result<(), CatalogError> {
        let other = Self::from_litellm_json(text)?;
        for (id, m) in other.models {
            self.insert(m);
            if let Some(e) = other.raw.get(&id) {
                self.raw.insert(id, e.clone());
            }
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Model> {
        self.models.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Model> {
        self.models.get_mut(id)
    }

    /// Resolve a model name as it appears on the wire or in config: exact id, then
    /// case-insensitive, then without provider/cloud/region prefixes and date suffixes.
    pub fn resolve(&self, name: &str) -> Option<&Model> {
        if let Some(m) = self.models.get(name) {
            return Some(m);
        }
        let lower = name.trim().to_ascii_lowercase();
        if let Some(id) = self.aliases.get(&lower) {
            return self.models.get(id);
        }
        for alias in aliases_of(&lower) {
            if let Some(id) = self.aliases.get(&alias) {
                return self.models.get(id);
            }
        }
        None
    }

    pub fn iter(&self) -> impl Iterator<Item = &Model> {
        self.models.values()
    }

    /// Give every estimated tokenizer the factor and bound learned for its tokenizer
    /// (`Model::calibration_key`, once there are enough observations); exact tokenizers stay
    /// as they are.
    pub fn calibrate(&mut self, calibration: &crate::tokenize::calibration::Calibration) {
        for m in self.models.values_mut() {
            m.tokenizer = calibration.apply(&m.calibration_key(), m.tokenizer);
        }
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

fn is_direct_provider(provider: &str) -> bool {
    matches!(provider, "anthropic" | "openai" | "gemini" | "text-completion-openai")
}

/// Candidate lookup keys for an id: itself, without known prefixes (provider paths, cloud
/// region prefixes like `us.anthropic.`), and without date/version suffixes.
pub fn aliases_of(id: &str) -> Vec<String> {
    let lower = id.to_ascii_lowercase();
    let mut out = vec![lower.clone()];
    let mut stripped = lower.clone();
    // provider path prefixes: "openrouter/anthropic/claude-x" -> "claude-x"
    if let Some(last) = stripped.rsplit('/').next() {
        stripped = last.to_string();
    }
    // bedrock region/vendor prefixes: "us.anthropic.claude-x-v1:0" -> "claude-x"
    for p in ["global.", "us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov."] {
        if let Some(rest) = stripped.strip_prefix(p) {
            stripped = rest.to_string();
        }
    }
    for p in ["anthropic.", "openai.", "google.", "meta.", "amazon."] {
        if let Some(rest) = stripped.strip_prefix(p) {
            stripped = rest.to_string();
        }
    }
    out.push(stripped.clone());
    // version suffixes: "-v1:0", ":0", "@20240620", "-20250929", "-2024-08-06", "-latest"
    let mut s = stripped;
    loop {
        let before = s.clone();
        if let Some(i) = s.rfind(":") {
            s.truncate(i);
        }
        if let Some(i) = s.rfind('@') {
            s.truncate(i);
        }
        for suf in ["-v1", "-v2", "-latest", "-preview"] {
            if let Some(r) = s.strip_suffix(suf) {
                s = r.to_string();
            }
        }
        // -YYYYMMDD
        if s.len() > 9 {
            let tail = &s[s.len() - 9..];
            if tail.starts_with('-') && tail[1..].bytes().all(|b| b.is_ascii_digit()) {
                s.truncate(s.len() - 9);
            }
        }
        // -YYYY-MM-DD
        if s.len() > 11 {
            let tail = &s[s.len() - 11..];
            let b = tail.as_bytes();
            if b[0] == b'-' && b[5] == b'-' && b[8] == b'-' && tail[1..5].bytes().all(|c| c.is_ascii_digit()) {
                s.truncate(s.len() - 11);
            }
        }
        if s == before {
            break;
        }
        out.push(s.clone());
    }
    // "claude-sonnet-4.5" (OpenRouter style) and "claude-sonnet-4-5" are the same model.
    let dashed: Vec<String> = out
        .iter()
        .filter(|a| a.contains('.'))
        .map(|a| a.replace('.', "-"))
        .collect();
    out.extend(dashed);
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|a| seen.insert(a.clone()));
    out
}

/// Whether a LiteLLM entry belongs in the bundled snapshot: chat-style models of the Anthropic,
/// OpenAI and Google families, served directly or through OpenRouter, Azure, Bedrock or Vertex.
pub fn in_snapshot(id: &str, entry: &serde_json::Map<String, serde_json::Value>) -> bool {
    let provider = entry.get("litellm_provider").and_then(|v| v.as_str()).unwrap_or("");
    let mode = entry.get("mode").and_then(|v| v.as_str()).unwrap_or("chat");
    let provider_ok = matches!(
        provider,
        "anthropic"
            | "openai"
            | "text-completion-openai"
            | "gemini"
            | "openrouter"
            | "azure"
            | "azure_ai"
            | "bedrock"
            | "bedrock_converse"
    ) || provider.starts_with("vertex_ai");
    let has_price = entry.get("input_cost_per_token").is_some() && entry.get("output_cost_per_token").is_some();
    provider_ok
        && has_price
        && matches!(mode, "chat" | "responses" | "completion")
        && family_of(id, provider) != Family::Other
}

/// The fields of an entry the catalog reads (prices per token, windows, provider, mode).
fn snapshot_field(name: &str) -> bool {
    matches!(
        name,
        "litellm_provider" | "mode" | "max_input_tokens" | "max_output_tokens" | "max_tokens" | "deprecation_date"
    ) || (name.contains("cost") && name.contains("token") && !name.contains("audio") && !name.contains("image"))
}

/// The bundled snapshot from a full LiteLLM file: the entries [`in_snapshot`] keeps, with the
/// fields the catalog reads, as sorted, pretty-printed JSON (stable diffs on regeneration).
pub fn snapshot_json(full: &str) -> Result<String, CatalogError> {
    let v: serde_json::Value = serde_json::from_str(full)?;
    let obj = v.as_object().ok_or(CatalogError::NotAnObject)?;
    let mut out = BTreeMap::new();
    for (id, entry) in obj {
        let Some(e) = entry.as_object() else { continue };
        if id == "sample_spec" || !in_snapshot(id, e) {
            continue;
        }
        let kept: BTreeMap<&String, &serde_json::Value> = e.iter().filter(|(k, _)| snapshot_field(k)).collect();
        out.insert(id, kept);
    }
    let mut text = serde_json::to_string_pretty(&out)?;
    text.push('\n');
    Ok(text)
}
