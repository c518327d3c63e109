//! Where a request goes: the proxy's own namespace, or an upstream and (for the endpoints the
//! proxy meters) the wire API that reads it. Only path and header facts; no I/O.
//!
//! - `/_promptmeter/...`: the proxy's own endpoints;
//! - `/p/<project>/...`: the rest of the path, recorded under `<project>`;
//! - `/<name>/...` for a configured named upstream (`[proxy.named.<name>]`);
//! - `/v1/messages`: Anthropic; `/v1/chat/completions`, `/v1/responses`: OpenAI;
//!   `.../models/<m>:generateContent|:streamGenerateContent`: Gemini; other `/v1/*`: Anthropic
//!   when the request carries Anthropic headers, Gemini with a Gemini key header, else OpenAI.

use hyper::{HeaderMap, Method};
use promptmeter_core::config::proxy::{ProxyConfig, WireKind};

use crate::providers::WireApi;
use crate::providers::anthropic::Anthropic;
use crate::providers::gemini::Gemini;
use crate::providers::openai_chat::OpenAiChat;
use crate::providers::openai_responses::OpenAiResponses;

pub static ANTHROPIC: Anthropic = Anthropic;
pub static OPENAI_CHAT: OpenAiChat = OpenAiChat;
pub static OPENAI_RESPONSES: OpenAiResponses = OpenAiResponses;
pub static GEMINI: Gemini = Gemini;

#[derive(Clone)]
pub struct Route {
    /// Provider label recorded with the request.
    pub provider: String,
    pub kind: WireKind,
    /// Upstream base URL without a trailing slash.
    pub base: String,
    /// Path and query to request from the upstream.
    pub path_and_query: String,
    /// The wire API that meters this endpoint; `None`: pass through unmetered.
    pub api: Option<&'static dyn WireApi>,
    /// Project from a `/p/<project>/` prefix.
    pub project: Option<String>,
    /// Ask the upstream for streamed usage the client did not ask for (named upstreams may
    /// turn it off).
    pub ask_usage: bool,
}

impl Route {
    /// The path without its query (what gets recorded: a query may carry `key=`).
    pub fn path(&self) -> &str {
        self.path_and_query.split('?').next().unwrap_or("")
    }
}

pub const NAMESPACE: &str = "/_promptmeter";

pub fn is_namespace(path: &str) -> bool {
    path == NAMESPACE || path.starts_with("/_promptmeter/")
}

fn split_first(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('/')?;
    let (first, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    Some((first, tail))
}

/// The metered API of a path in a given wire format.
fn api_for(kind: WireKind, method: &Method, path: &str) -> Option<&'static dyn WireApi> {
    if method != Method::POST {
        return None;
    }
    let path = path.trim_end_matches('/');
    match kind {
        WireKind::Anthropic if path.ends_with("/messages") => Some(&ANTHROPIC),
        WireKind::Openai if path.ends_with("/chat/completions") => Some(&OPENAI_CHAT),
        WireKind::Openai if path.ends_with("/responses") => Some(&OPENAI_RESPONSES),
        WireKind::Gemini if path.contains(":generateContent") || path.contains(":streamGenerateContent") => {
            Some(&GEMINI)
        }
        _ => None,
    }
}

fn default_kind(path: &str, headers: &HeaderMap) -> WireKind {
    let p = path.split('?').next().unwrap_or("");
    if p.starts_with("/v1/messages") {
        return WireKind::Anthropic;
    }
    if p.contains(":generateContent") || p.contains(":streamGenerateContent") || p.starts_with("/v1beta/") {
        return WireKind::Gemini;
    }
    if p.starts_with("/v1/chat/") || p.starts_with("/v1/responses") {
        return WireKind::Openai;
    }
    if headers.contains_key("anthropic-version") || headers.contains_key("x-api-key") {
        return WireKind::Anthropic;
    }
    if headers.contains_key("x-goog-api-key") {
        return WireKind::Gemini;
    }
    if p == "/" && !headers.contains_key(hyper::header::AUTHORIZATION) {
        // Claude Code probes `HEAD /` at start.
        return WireKind::Anthropic;
    }
    WireKind::Openai
}

pub fn route(cfg: &ProxyConfig, method: &Method, path_and_query: &str, headers: &HeaderMap) -> Route {
    let mut pq = path_and_query.to_string();
    let mut project = None;
    if let Some(("p", tail)) = split_first(&pq)
        && let Some((name, rest)) = split_first(tail).filter(|(n, _)| !n.is_empty())
    {
        project = Some(name.to_string());
        pq = if rest.is_empty() { "/".into() } else { rest.to_string() };
    }
    if let Some((first, tail)) = split_first(&pq)
        && let Some(named) = cfg.named.get(first)
    {
        let rest = if tail.is_empty() {
            "/".to_string()
        } else {
            tail.to_string()
        };
        let path = rest.split('?').next().unwrap_or("").to_string();
        return Route {
            provider: first.to_string(),
            kind: named.kind,
            base: named.url.trim_end_matches('/').to_string(),
            api: api_for(named.kind, method, &path),
            path_and_query: rest,
            project,
            ask_usage: named.ask_usage,
        };
    }
    let kind = default_kind(&pq, headers);
    let (provider, base) = match kind {
        WireKind::Anthropic => ("anthropic", &cfg.upstreams.anthropic),
        WireKind::Openai => ("openai", &cfg.upstreams.openai),
        WireKind::Gemini => ("gemini", &cfg.upstreams.gemini),
    };
    let path = pq.split('?').next().unwrap_or("").to_string();
    Route {
        provider: provider.into(),
        kind,
        base: base.trim_end_matches('/').to_string(),
        api: api_for(kind, method, &path),
        path_and_query: pq,
        project,
        ask_usage: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptmeter_core::config::proxy::NamedUpstream;

    fn r(method: Method, pq: &str, headers: &[(&'static str, &str)]) -> (String, String, Option<&'static str>, String) {
        let mut cfg = ProxyConfig::default();
        cfg.named.insert(
            "openrouter".into(),
            NamedUpstream {
                url: "https://openrouter.ai/api/".into(),
                kind: WireKind::Openai,
                ..Default::default()
            },
        );
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, v.parse().unwrap());
        }
        let route = route(&cfg, &method, pq, &h);
        (
            route.provider.clone(),
            route.base.clone(),
            route.api.map(|a| a.api_name()),
            route.path_and_query.clone(),
        )
    }

    #[test]
    fn routes_by_path_and_headers() {
        let m = Method::POST;
        assert_eq!(
            r(m.clone(), "/v1/messages?beta=true", &[]).2,
            Some("anthropic_messages")
        );
        assert_eq!(r(m.clone(), "/v1/messages/count_tokens", &[]).2, None);
        assert_eq!(r(m.clone(), "/v1/messages/count_tokens", &[]).0, "anthropic");
        assert_eq!(r(m.clone(), "/v1/chat/completions", &[]).2, Some("openai_chat"));
        assert_eq!(r(m.clone(), "/v1/responses", &[]).2, Some("openai_responses"));
        assert_eq!(r(Method::GET, "/v1/responses", &[]).2, None);
        let g = r(
            m.clone(),
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse&key=SECRET",
            &[],
        );
        assert_eq!((g.0.as_str(), g.2), ("gemini", Some("gemini")));
        assert_eq!(r(Method::GET, "/v1/models", &[("x-api-key", "k")]).0, "anthropic");
        assert_eq!(
            r(Method::GET, "/v1/models", &[("authorization", "Bearer k")]).0,
            "openai"
        );
        assert_eq!(r(Method::HEAD, "/", &[]).0, "anthropic");
        let named = r(m.clone(), "/openrouter/v1/chat/completions", &[]);
        assert_eq!(
            named,
            (
                "openrouter".into(),
                "https://openrouter.ai/api".into(),
                Some("openai_chat"),
                "/v1/chat/completions".into()
            )
        );
    }

    #[test]
    fn project_prefix() {
        let cfg = ProxyConfig::default();
        let route = route(&cfg, &Method::POST, "/p/myrepo/v1/messages", &HeaderMap::new());
        assert_eq!(route.project.as_deref(), Some("myrepo"));
        assert_eq!(route.path_and_query, "/v1/messages");
        assert_eq!(route.path(), "/v1/messages");
        assert!(is_namespace("/_promptmeter/feed"));
        assert!(!is_namespace("/_promptmeterx"));
    }
}
