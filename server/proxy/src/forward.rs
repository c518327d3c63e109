//! Forwarding: pass-through for everything the proxy does not meter, and the metered path
//! (read the request, ask the policy, forward, relay the response through a `MeteredBody`).
//! Proxy trouble never breaks the user's request: a body it cannot parse goes through as it
//! came, unmetered.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use promptmeter_core::tokenize::Encoding;

use crate::composition::measure;
use crate::metered::{Meter, MeteredBody, Mode, commit_and_publish};
use crate::policy::{Decision, PolicyRequest};
use crate::providers::WireApi;
use crate::record::{RequestFacts, ResponseFacts, build};
use crate::routes::Route;
use crate::sse::SseSplitter;
use crate::{App, Body, BoxError, full};

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// Headers as forwarded: without hop-by-hop headers (and those named by `Connection`),
/// without `Host` (the client sets the upstream's).
pub fn forwardable(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        out.remove(n);
    }
    for h in HOP_BY_HOP {
        out.remove(h);
    }
    out.remove(header::HOST);
    out
}

fn upstream_uri(base: &str, path_and_query: &str) -> Option<Uri> {
    format!("{base}{path_and_query}").parse().ok()
}

fn bad_gateway(api: Option<&dyn WireApi>, message: &str) -> Response<Body> {
    let body = match api {
        Some(api) => api.error_body(502, message),
        None => Bytes::from(serde_json::json!({"error": {"type": "proxy_error", "message": message}}).to_string()),
    };
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The session named by headers: ours, Claude Code's, Codex's.
pub fn session_from_headers(h: &HeaderMap) -> Option<String> {
    [
        "x-promptmeter-session",
        "x-claude-code-session-id",
        "session_id",
        "session-id",
        "conversation_id",
    ]
    .iter()
    .find_map(|n| header_str(h, n))
    .map(|s| s.chars().take(128).collect())
}

fn project_of(app: &App, route: &Route, h: &HeaderMap, session: Option<&str>) -> Option<String> {
    let header = header_str(h, "x-promptmeter-project");
    let ua = header_str(h, "user-agent").unwrap_or("");
    for (name, rule) in &app.config.projects {
        let by_header = header.is_some() && rule.header.as_deref() == header;
        let by_session = session.is_some_and(|s| rule.sessions.iter().any(|x| x == s));
        let by_ua = rule
            .user_agent
            .as_deref()
            .is_some_and(|p| !p.is_empty() && ua.contains(p));
        if by_header || by_session || by_ua {
            return Some(name.clone());
        }
    }
    header.map(str::to_string).or_else(|| route.project.clone())
}

/// Relay a request untouched (streamed both ways), unmetered.
pub async fn pass_through(app: Arc<App>, req: Request<Incoming>, route: Route) -> Response<Body> {
    app.metrics.passthrough.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    send(
        &app,
        parts,
        body.map_err(|e| Box::new(e) as BoxError).boxed_unsync(),
        &route,
        None,
    )
    .await
}

async fn send(
    app: &App,
    parts: hyper::http::request::Parts,
    body: Body,
    route: &Route,
    api: Option<&dyn WireApi>,
) -> Response<Body> {
    let Some(uri) = upstream_uri(&route.base, &route.path_and_query) else {
        return bad_gateway(api, "promptmeter: invalid upstream URL");
    };
    let mut up = Request::new(body);
    *up.method_mut() = parts.method;
    *up.uri_mut() = uri;
    *up.headers_mut() = forwardable(&parts.headers);
    match app.client.request(up).await {
        Ok(resp) => {
            let (mut rparts, rbody) = resp.into_parts();
            rparts.headers = forwardable(&rparts.headers);
            Response::from_parts(rparts, rbody.map_err(|e| Box::new(e) as BoxError).boxed_unsync())
        }
        Err(e) => bad_gateway(api, &format!("promptmeter: upstream {} unreachable: {e}", route.base)),
    }
}

pub async fn metered(
    app: Arc<App>,
    req: Request<Incoming>,
    route: Route,
    api: &'static dyn WireApi,
    t0: Instant,
) -> Response<Body> {
    let ts_ms = crate::feed::now_ms();
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => return bad_gateway(Some(api), &format!("promptmeter: reading the request body: {e}")),
    };
    let Some(info) = api.inspect(route.path(), &body) else {
        // Not a body we understand: through as it came.
        app.metrics.passthrough.fetch_add(1, Ordering::Relaxed);
        return send(&app, parts, full(body), &route, Some(api)).await;
    };
    let session = session_from_headers(&parts.headers);
    let project = project_of(&app, &route, &parts.headers, session.as_deref());

    let verdict = app.policy.before(&PolicyRequest {
        provider: &route.provider,
        path: route.path(),
        model: info.model.as_deref(),
        stream: info.stream,
        session: session.as_deref(),
        project: project.as_deref(),
        headers: &parts.headers,
        body: &body,
        catalog: &app.catalog,
    });
    let mut route = route;
    let mut forward_body = body.clone();
    let mut model_forwarded = info.model.clone();
    let mut reroute = None;
    match verdict.decision {
        Decision::Forward => {}
        Decision::Refuse { status, message } => {
            let mut resp = crate::policy::refusal(status, api.error_body(status, &message));
            resp.headers_mut()
                .insert("x-promptmeter-refused", HeaderValue::from_static("budget"));
            // The official SDKs honour this: retrying cannot help until the budget is raised.
            resp.headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
            return resp.map(|b| b.map_err(|never| match never {}).boxed_unsync());
        }
        Decision::Reroute { model, upstream, rule } => {
            if let Some((path, b)) = api.with_model(&route.path_and_query, &body, &model) {
                route.path_and_query = path;
                forward_body = b;
                if let Some(up) = upstream {
                    route.provider = up.provider;
                    route.base = up.base_url.trim_end_matches('/').to_string();
                }
                reroute = Some((info.model.clone().unwrap_or_default(), rule));
                model_forwarded = Some(model);
            }
        }
    }
    let prepared = if route.ask_usage {
        api.prepare(&info, &forward_body)
    } else {
        None
    };
    let strip = prepared.is_some();
    if let Some(p) = prepared {
        forward_body = p;
    }

    // Composition is counted off the request path, while the upstream works.
    let count_body = body.clone();
    let encoding = model_forwarded
        .as_deref()
        .and_then(|m| app.catalog.resolve(m))
        .map(|m| m.tokenizer.base())
        .unwrap_or(Encoding::O200kBase);
    let counts = app.counts.clone();
    let composition = tokio::task::spawn_blocking(move || {
        let v: serde_json::Value = serde_json::from_slice(&count_body).ok()?;
        Some(measure(&api.parts(&v), encoding, &counts))
    });

    let facts = RequestFacts {
        id: crate::ids::new_id(ts_ms),
        ts_ms,
        provider: route.provider.clone(),
        upstream: route.base.clone(),
        path: route.path().to_string(),
        model_requested: info.model.clone(),
        model_forwarded,
        session,
        project,
        stream: info.stream,
        bytes_in: body.len() as u64,
        service_tier: info.service_tier.clone(),
        reroute,
        captured_request: app
            .config
            .capture_text
            .then(|| String::from_utf8_lossy(&body[..body.len().min(crate::metered::MAX_CAPTURE)]).into_owned()),
        flat_rate: app.is_flat_rate(&route.provider),
    };

    let Some(uri) = upstream_uri(&route.base, &route.path_and_query) else {
        return bad_gateway(Some(api), "promptmeter: invalid upstream URL");
    };
    let mut headers = forwardable(&parts.headers);
    // Usage is read from the response: ask for it uncompressed.
    headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(forward_body.len()));
    let mut up = Request::new(full(forward_body));
    *up.method_mut() = parts.method;
    *up.uri_mut() = uri;
    *up.headers_mut() = headers;

    let pre = t0.elapsed();
    let result = app.client.request(up).await;
    let t_headers = Instant::now();
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            let message = format!("promptmeter: upstream {} unreachable: {e}", route.base);
            let resp = ResponseFacts {
                status: 502,
                complete: false,
                latency_ms: t0.elapsed().as_secs_f64() * 1e3,
                ttft_ms: None,
                bytes_out: 0,
                error: Some("upstream_unreachable".into()),
                captured_response: None,
            };
            let measured = composition.await.ok().flatten();
            let record = build(&app.catalog, &facts, &Default::default(), measured.as_ref(), &resp);
            commit_and_publish(&app, record, verdict.reservation).await;
            return bad_gateway(Some(api), &message);
        }
    };
    let (mut rparts, rbody) = resp.into_parts();
    let is_sse = rparts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let strip = strip && is_sse;
    rparts.headers = forwardable(&rparts.headers);
    if strip {
        rparts.headers.remove(header::CONTENT_LENGTH);
    }
    let meter = Meter {
        app: app.clone(),
        facts,
        t0,
        status: rparts.status.as_u16(),
        parser: api.parser(strip),
        mode: if is_sse {
            Mode::Sse(SseSplitter::new())
        } else {
            Mode::Json(Vec::new())
        },
        strip,
        composition: Some(composition),
        reservation: verdict.reservation,
        bytes_out: 0,
        ttft_ms: None,
        json_overflow: false,
        error: None,
        capture: app.config.capture_text.then(Vec::new),
    };
    let body = MeteredBody::new(rbody, meter).boxed_unsync();
    app.metrics.observe_added((pre + t_headers.elapsed()).as_nanos() as u64);
    Response::from_parts(rparts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hop_by_hop_and_connection_named_headers() {
        let mut h = HeaderMap::new();
        h.insert("connection", "keep-alive, x-drop".parse().unwrap());
        h.insert("x-drop", "1".parse().unwrap());
        h.insert("x-api-key", "sk-secret".parse().unwrap());
        h.insert("anthropic-beta", "a,b".parse().unwrap());
        h.insert("host", "127.0.0.1:4747".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        let out = forwardable(&h);
        assert_eq!(out.len(), 2);
        assert_eq!(out["x-api-key"], "sk-secret");
        assert_eq!(out["anthropic-beta"], "a,b");
    }

    #[test]
    fn session_headers_in_order() {
        let mut h = HeaderMap::new();
        h.insert("x-claude-code-session-id", "cc-1".parse().unwrap());
        assert_eq!(session_from_headers(&h).as_deref(), Some("cc-1"));
        h.insert("x-promptmeter-session", "mine".parse().unwrap());
        assert_eq!(session_from_headers(&h).as_deref(), Some("mine"));
    }
}
