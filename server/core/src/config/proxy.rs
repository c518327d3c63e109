//! `[proxy]`: listen address, upstreams, ledger location, text capture.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyConfig {}
