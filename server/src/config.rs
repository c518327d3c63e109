//! Reading configuration files: the edge around `promptmeter_core::config` (which only parses
//! text). Layers, later wins: built-in defaults, the user's file
//! (`$XDG_CONFIG_HOME/promptmeter/config.toml`, else the platform config dir), then the nearest
//! `.promptmeter.toml` from the working directory upwards. The catalog is the bundled snapshot,
//! or `[models] catalog_file` instead of it, with `[models.overrides]` applied on top, and
//! the tokenizer calibration the proxy learned (`calibration.json` next to the ledger).

use std::path::{Path, PathBuf};

use anyhow::Context;
use promptmeter_core::Catalog;
use promptmeter_core::config::Config;

/// The project file's name.
pub const PROJECT_FILE: &str = ".promptmeter.toml";

/// Where configuration came from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub user: Option<PathBuf>,
    pub project: Option<PathBuf>,
    /// The catalog file in use, when not the bundled snapshot.
    pub catalog: Option<PathBuf>,
}

/// The configuration and catalog for a process started in `cwd`.
pub fn load(cwd: &Path) -> anyhow::Result<(Config, Catalog)> {
    let (config, catalog, _) = load_with_sources(cwd)?;
    Ok((config, catalog))
}

/// [`load`], also telling which files were read.
pub fn load_with_sources(cwd: &Path) -> anyhow::Result<(Config, Catalog, Sources)> {
    let mut sources = Sources::default();
    let mut layers: Vec<(String, String)> = Vec::new();
    if let Some(p) = user_config_path().filter(|p| p.is_file()) {
        let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        layers.push((p.display().to_string(), text));
        sources.user = Some(p);
    }
    if let Some(p) = project_config_path(cwd) {
        let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        layers.push((p.display().to_string(), text));
        sources.project = Some(p);
    }
    let config = Config::from_layers(layers.iter().map(|(n, t)| (n.as_str(), t.as_str())))?;
    // A relative catalog_file is relative to the project file's directory, else to cwd.
    let base = sources
        .project
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cwd.to_path_buf());
    let catalog_path = config.models.catalog_file.as_deref().map(|f| resolve_path(&base, f));
    let mut catalog = catalog_for(&config, catalog_path.as_deref())?;
    // Estimated tokenizers (Claude, Gemini) take the factors the proxy learned from traffic.
    let ledger = promptmeter_ledger::path_in(&config, dirs::data_dir());
    catalog.calibrate(&promptmeter_ledger::calibration::load(
        &promptmeter_ledger::calibration::path_for(&ledger),
    ));
    sources.catalog = catalog_path;
    Ok((config, catalog, sources))
}

/// The catalog a configuration asks for: the bundled snapshot, or the LiteLLM-format file at
/// `catalog_file` instead of it; then `[models.overrides]`.
pub fn catalog_for(config: &Config, catalog_file: Option<&Path>) -> anyhow::Result<Catalog> {
    let mut catalog = match catalog_file {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading catalog file {}", p.display()))?;
            Catalog::from_litellm_json(&text).with_context(|| format!("catalog file {}", p.display()))?
        }
        None => Catalog::bundled(),
    };
    catalog
        .apply_overrides(&config.models.overrides)
        .context("[models.overrides]")?;
    Ok(catalog)
}

/// `$XDG_CONFIG_HOME/promptmeter/config.toml` (or the platform's config dir).
pub fn user_config_path() -> Option<PathBuf> {
    let dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(dirs::config_dir)?;
    Some(dir.join("promptmeter").join("config.toml"))
}

/// The nearest `.promptmeter.toml` in `cwd` or its ancestors.
pub fn project_config_path(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors().map(|d| d.join(PROJECT_FILE)).find(|p| p.is_file())
}

fn resolve_path(base: &Path, file: &str) -> PathBuf {
    if let Some(rest) = file.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    let p = Path::new(file);
    if p.is_absolute() { p.to_path_buf() } else { base.join(p) }
}
