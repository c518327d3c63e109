//! `[lsp]`: which documents the language server measures and its lint thresholds.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LspConfig {}
