//! The proxy's own endpoints under `/_promptmeter/` (docs/protocol.md): feed (SSE), summary,
//! recent requests, Prometheus metrics, health. Host must be a loopback name and an Origin,
//! when present, a loopback origin (a web page elsewhere cannot read the user's spend).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};

use crate::feed::{VERSION, sse_event};
use crate::{App, Body, BoxError, full};

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("").to_string()
    } else {
        host.rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or(host.clone())
    };
    name == "localhost" || name == "::1" || name.starts_with("127.") && name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Host and Origin checks (DNS rebinding and cross-site reads).
pub fn allowed(headers: &HeaderMap) -> bool {
    let host_ok = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_loopback_host);
    let origin_ok = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(o) => o
            .strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
            .is_some_and(|rest| is_loopback_host(rest.trim_end_matches('/'))),
    };
    host_ok && origin_ok
}

fn json(status: StatusCode, v: &impl serde::Serialize) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from(serde_json::to_vec(v).unwrap_or_default())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn query_param<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then_some(v)
    })
}

pub async fn handle(app: Arc<App>, req: Request<hyper::body::Incoming>) -> Response<Body> {
    if !allowed(req.headers()) {
        return text(
            StatusCode::FORBIDDEN,
            "text/plain",
            "forbidden: loopback Host/Origin only\n".into(),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n".into());
    }
    let path = req.uri().path().trim_end_matches('/');
    if let Some(page) = crate::dashboard::serve(path, req.headers()) {
        return page;
    }
    if matches!(
        path,
        "/_promptmeter/summary" | "/_promptmeter/requests" | "/_promptmeter/feed"
    ) {
        // Include every response already released (its commit may still be on its way).
        app.writer.flush().await;
    }
    match path {
        "/_promptmeter/health" => json(StatusCode::OK, &serde_json::json!({"ok": true, "version": VERSION})),
        "/_promptmeter/summary" => json(StatusCode::OK, &app.feed.summary(app.policy_budgets())),
        "/_promptmeter/requests" => {
            let limit = query_param(req.uri().query(), "limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(50)
                .min(10_000);
            let recent: Vec<_> = app.feed.recent(limit);
            let list: Vec<&promptmeter_ledger::RequestRecord> = recent.iter().map(|r| r.as_ref()).collect();
            json(StatusCode::OK, &list)
        }
        "/_promptmeter/metrics" => text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            app.metrics.render(),
        ),
        "/_promptmeter/feed" => feed(app),
        "/_promptmeter" => text(
            StatusCode::OK,
            "text/html; charset=utf-8",
            "<!doctype html><title>promptmeter</title><h1>promptmeter proxy</h1><ul>\
             <li><a href=\"/_promptmeter/summary\">summary</a></li>\
             <li><a href=\"/_promptmeter/requests\">requests</a></li>\
             <li><a href=\"/_promptmeter/metrics\">metrics</a></li>\
             <li><a href=\"/_promptmeter/feed\">feed</a></li></ul>\n"
                .into(),
        ),
        _ => text(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

struct Subscriber {
    app: Arc<App>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.app.metrics.feed_subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `hello` with the summary, then every event as it happens; a comment every 15 s keeps
/// the connection alive (and detects dead subscribers).
fn feed(app: Arc<App>) -> Response<Body> {
    let rx = app.feed.subscribe();
    app.metrics.feed_subscribers.fetch_add(1, Ordering::Relaxed);
    let hello = sse_event("hello", &app.feed.summary(app.policy_budgets()));
    let guard = Subscriber { app };
    let events = futures_util::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        loop {
            match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
                Ok(Ok(ev)) => return Some((Bytes::copy_from_slice(ev.as_bytes()), (rx, guard))),
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return None,
                Err(_) => return Some((Bytes::from_static(b": keep-alive\n\n"), (rx, guard))),
            }
        }
    });
    let stream = futures_util::stream::once(async move { Bytes::copy_from_slice(hello.as_bytes()) })
        .chain(events)
        .map(|b| Ok::<_, BoxError>(Frame::data(b)));
    let mut r = Response::new(BodyExt::boxed_unsync(StreamBody::new(stream)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            m.insert(header::ORIGIN, o.parse().unwrap());
        }
        m
    }

    #[test]
    fn host_and_origin_checks() {
        assert!(allowed(&h("127.0.0.1:4747", None)));
        assert!(allowed(&h("localhost:4747", Some("http://localhost:4747"))));
        assert!(allowed(&h("[::1]:4747", Some("http://127.0.0.1:3000"))));
        assert!(!allowed(&h("evil.example:4747", None)));
        assert!(!allowed(&h("127.0.0.1.evil.example", None)));
        assert!(!allowed(&h("127.0.0.1:4747", Some("https://evil.example"))));
        assert!(!allowed(&HeaderMap::new()));
    }
}
