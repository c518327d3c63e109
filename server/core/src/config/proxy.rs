//! `[proxy]`: listen address, upstreams, ledger location, text capture, projects, feed.
//!
//! ```toml
//! [proxy]
//! listen = "127.0.0.1:4747"
//! ledger = "/home/me/.local/share/promptmeter/ledger.sqlite"   # default: the user data dir
//! capture_text = false
//!
//! [proxy.upstreams]                 # per provider base URL (default: the real provider)
//! anthropic = "https://api.anthropic.com"
//! openai = "https://api.openai.com"
//! gemini = "https://generativelanguage.googleapis.com"
//!
//! [proxy.named.openrouter]          # reached at http://127.0.0.1:4747/openrouter/v1/...
//! url = "https://openrouter.ai/api"
//! kind = "openai"                   # wire format: openai | anthropic | gemini
//!
//! [proxy.projects.myrepo]           # requests matching any rule are recorded under "myrepo"
//! sessions = ["abc123"]             # session ids (exact)
//! user_agent = "my-agent"           # substring of the User-Agent header
//!
//! [proxy.feed]
//! recent = 200                      # records kept in memory for /_promptmeter/requests
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4747";
pub const ANTHROPIC_URL: &str = "https://api.anthropic.com";
pub const OPENAI_URL: &str = "https://api.openai.com";
pub const GEMINI_URL: &str = "https://generativelanguage.googleapis.com";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyConfig {
    /// Address to listen on. Loopback by default; anything else must be asked for.
    pub listen: String,
    /// Ledger file; `None` means `<user data dir>/promptmeter/ledger.sqlite`.
    pub ledger: Option<String>,
    /// Store prompt and response text in the ledger (off by default).
    pub capture_text: bool,
    pub upstreams: Upstreams,
    /// Named extra upstreams, reached under `/<name>/...`.
    pub named: BTreeMap<String, NamedUpstream>,
    /// Project name -> rules that put a request in that project.
    pub projects: BTreeMap<String, ProjectRule>,
    pub feed: FeedConfig,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            listen: DEFAULT_LISTEN.into(),
            ledger: None,
            capture_text: false,
            upstreams: Upstreams::default(),
            named: BTreeMap::new(),
            projects: BTreeMap::new(),
            feed: FeedConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Upstreams {
    pub anthropic: String,
    pub openai: String,
    pub gemini: String,
}

impl Default for Upstreams {
    fn default() -> Self {
        Upstreams {
            anthropic: ANTHROPIC_URL.into(),
            openai: OPENAI_URL.into(),
            gemini: GEMINI_URL.into(),
        }
    }
}

/// The wire format an upstream speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireKind {
    Anthropic,
    #[default]
    Openai,
    Gemini,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NamedUpstream {
    pub url: String,
    pub kind: WireKind,
    /// A flat-rate upstream (subscription, local server): tracked in tokens and
    /// API-equivalent dollars, costs nothing at the margin (used by routing, issue 5).
    pub flat_rate: bool,
    /// Ask this upstream for streamed usage (`stream_options.include_usage`) when the client
    /// did not; turn off for OpenAI-compatible servers that reject the field.
    #[serde(default = "yes")]
    pub ask_usage: bool,
}

fn yes() -> bool {
    true
}

impl Default for NamedUpstream {
    fn default() -> Self {
        NamedUpstream {
            url: String::new(),
            kind: WireKind::default(),
            flat_rate: false,
            ask_usage: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectRule {
    /// Session ids that belong to this project.
    pub sessions: Vec<String>,
    /// Substring of the User-Agent header.
    pub user_agent: Option<String>,
    /// Value of an `x-promptmeter-project` header that maps to this project (aliases).
    pub header: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// Completed requests kept in memory for `/_promptmeter/requests`.
    pub recent: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig { recent: 200 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_section() {
        let text = r#"
            listen = "127.0.0.1:5000"
            capture_text = true
            [upstreams]
            anthropic = "http://127.0.0.1:9000"
            [named.openrouter]
            url = "https://openrouter.ai/api"
            kind = "openai"
            [projects.myrepo]
            sessions = ["abc"]
        "#;
        let c: ProxyConfig = toml::from_str(text).unwrap();
        assert_eq!(c.listen, "127.0.0.1:5000");
        assert!(c.capture_text);
        assert_eq!(c.upstreams.anthropic, "http://127.0.0.1:9000");
        assert_eq!(c.upstreams.openai, OPENAI_URL);
        assert_eq!(c.named["openrouter"].kind, WireKind::Openai);
        assert!(c.named["openrouter"].ask_usage);
        assert_eq!(c.projects["myrepo"].sessions, vec!["abc".to_string()]);
        assert_eq!(c.feed.recent, 200);
    }

    #[test]
    fn defaults_are_loopback_and_no_capture() {
        let c = ProxyConfig::default();
        assert_eq!(c.listen, "127.0.0.1:4747");
        assert!(!c.capture_text);
    }
}
