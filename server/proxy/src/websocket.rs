//! WebSocket relay, for the OpenAI Responses API over WebSocket (Codex tries it first). The
//! proxy connects to the upstream with the client's headers, then answers the client's
//! upgrade and relays messages both ways unchanged. A `response.create` message from the
//! client opens a metered request; the upstream's `response.completed` (or `.incomplete`,
//! `.failed`, `error`) closes it: it is priced and committed before that message is relayed.
//! Each `response.create` goes through the budget/routing policy like an HTTP request: a
//! reroute rewrites its model (a socket stays on its upstream, so only the model changes) and
//! a refusal is answered on the socket as a Responses `error` event, never sent upstream.

use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use promptmeter_core::tokenize::Encoding;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, WebSocketStream};

use crate::composition::measure;
use crate::metered::commit_and_publish;
use crate::policy::{Decision, PolicyRequest};
use crate::providers::openai_responses::Parser;
use crate::providers::{ResponseParser, WireApi};
use crate::record::{RequestFacts, ResponseFacts, build};
use crate::routes::{OPENAI_RESPONSES, Route};
use crate::{App, Body, forward, full};

pub fn is_upgrade<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn error(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(full(body.into()));
    *r.status_mut() = status;
    r
}

pub async fn relay(app: Arc<App>, req: Request<Incoming>, route: Route) -> Response<Body> {
    let Some(key) = req.headers().get("sec-websocket-key").cloned() else {
        return error(StatusCode::BAD_REQUEST, b"missing Sec-WebSocket-Key\n".to_vec());
    };
    let ws_base = route
        .base
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    let url = format!("{ws_base}{}", route.path_and_query);
    let mut up_req = match url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_GATEWAY,
                format!("promptmeter: bad upstream URL: {e}\n").into(),
            );
        }
    };
    for (name, value) in forward::forwardable(req.headers()).iter() {
        let n = name.as_str();
        if n.starts_with("sec-websocket-") && n != "sec-websocket-protocol" {
            continue;
        }
        up_req.headers_mut().insert(name.clone(), value.clone());
    }
    let connector = Connector::Rustls(crate::upstream::tls_config());
    let (upstream, up_resp) =
        match tokio_tungstenite::connect_async_tls_with_config(up_req, None, true, Some(connector)).await {
            Ok(x) => x,
            Err(tungstenite::Error::Http(resp)) => {
                let status = resp.status();
                return error(status, resp.into_body().unwrap_or_default());
            }
            Err(e) => {
                return error(
                    StatusCode::BAD_GATEWAY,
                    format!("promptmeter: upstream WebSocket: {e}\n").into(),
                );
            }
        };
    let metered = route.api.is_some_and(|a| a.api_name() == OPENAI_RESPONSES.api_name())
        || route.path().trim_end_matches('/').ends_with("/responses");
    let session = forward::session_from_headers(req.headers());
    let headers = req.headers().clone();
    let on_upgrade = hyper::upgrade::on(req);
    let app2 = app.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        let client = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        let ctx = Ctx {
            route,
            metered,
            session,
            headers,
        };
        pump(app2, client, upstream, ctx).await;
    });
    let mut resp = Response::new(full(bytes::Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert("sec-websocket-accept", v);
    }
    if let Some(p) = up_resp.headers().get("sec-websocket-protocol") {
        h.insert("sec-websocket-protocol", p.clone());
    }
    resp
}

/// One response being produced on the socket.
struct Open {
    facts: RequestFacts,
    t0: Instant,
    parser: Parser,
    composition: tokio::task::JoinHandle<Option<crate::composition::Measured>>,
    ttft_ms: Option<f64>,
    bytes_out: u64,
    reservation: Option<u64>,
}

/// What one socket knows of its upgrade request.
struct Ctx {
    route: Route,
    metered: bool,
    session: Option<String>,
    headers: hyper::HeaderMap,
}

/// What to do with a message from the client.
enum Admit {
    /// Not a `response.create`: relay unchanged.
    Pass,
    /// A metered request; `Some(text)` when the policy rewrote its model.
    Open(Box<Open>, Option<String>),
    /// Refused by the policy: this `error` event goes back to the client instead.
    Refuse(String),
}

async fn finish(app: &Arc<App>, open: Open, complete: bool) {
    let measured = open.composition.await.ok().flatten();
    let observed = open.parser.observed().clone();
    let resp = ResponseFacts {
        status: if observed.error.is_some() { 500 } else { 200 },
        complete: complete || observed.finished,
        latency_ms: open.t0.elapsed().as_secs_f64() * 1e3,
        ttft_ms: open.ttft_ms,
        bytes_out: open.bytes_out,
        error: None,
        captured_response: None,
    };
    let record = build(&app.catalog, &open.facts, &observed, measured.as_ref(), &resp);
    app.calibration.observe(&app.catalog, &record, measured.as_ref());
    commit_and_publish(app, record, open.reservation).await;
}

fn admit(app: &App, ctx: &Ctx, text: &str) -> Admit {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Admit::Pass;
    };
    if v.get("type").and_then(|t| t.as_str()) != Some("response.create") {
        return Admit::Pass;
    }
    // The request fields sit at the top level (or under `response` in some clients).
    let nested = v.get("response").is_some_and(|r| r.is_object());
    let body = if nested { v["response"].clone() } else { v.clone() };
    let model = body.get("model").and_then(|m| m.as_str()).map(str::to_string);
    let raw = if nested {
        serde_json::to_vec(&body).unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    let route = &ctx.route;
    let verdict = app.policy.before(&PolicyRequest {
        provider: &route.provider,
        path: route.path(),
        model: model.as_deref(),
        stream: true,
        session: ctx.session.as_deref(),
        project: route.project.as_deref(),
        headers: &ctx.headers,
        body: &raw,
        catalog: &app.catalog,
    });
    let mut model_forwarded = model.clone();
    let mut reroute = None;
    let mut rewritten = None;
    match verdict.decision {
        Decision::Forward => {}
        Decision::Refuse { status, message } => return Admit::Refuse(refusal_event(status, &message)),
        Decision::Reroute { model: to, rule, .. } => {
            let target = if nested { &mut v["response"] } else { &mut v };
            target["model"] = serde_json::Value::String(to.clone());
            rewritten = serde_json::to_string(&v).ok();
            reroute = Some((model.clone().unwrap_or_default(), rule));
            model_forwarded = Some(to);
        }
    }
    let ts_ms = crate::feed::now_ms();
    let encoding = model_forwarded
        .as_deref()
        .and_then(|m| app.catalog.resolve(m))
        .map(|m| m.tokenizer.base())
        .unwrap_or(Encoding::O200kBase);
    let bytes_in = rewritten.as_deref().unwrap_or(text).len() as u64;
    let captured_request = app
        .config
        .capture_text
        .then(|| rewritten.clone().unwrap_or_else(|| text.to_string()));
    let counts = app.counts.clone();
    let composition =
        tokio::task::spawn_blocking(move || Some(measure(&OPENAI_RESPONSES.parts(&body), encoding, &counts)));
    let open = Open {
        facts: RequestFacts {
            id: crate::ids::new_id(ts_ms),
            ts_ms,
            provider: route.provider.clone(),
            upstream: route.base.clone(),
            path: route.path().to_string(),
            model_requested: model,
            model_forwarded,
            session: ctx.session.clone(),
            project: route.project.clone(),
            stream: true,
            bytes_in,
            service_tier: None,
            reroute,
            captured_request,
            flat_rate: app.is_flat_rate(&route.provider),
        },
        t0: Instant::now(),
        parser: Parser::default(),
        composition,
        ttft_ms: None,
        bytes_out: 0,
        reservation: verdict.reservation,
    };
    Admit::Open(Box::new(open), rewritten)
}

/// A policy refusal as a Responses WebSocket `error` event, with the same `error` object as
/// the HTTP refusal's body.
fn refusal_event(status: u16, message: &str) -> String {
    let body: serde_json::Value = serde_json::from_slice(&OPENAI_RESPONSES.error_body(status, message))
        .unwrap_or_else(|_| serde_json::json!({"error": {"message": message}}));
    serde_json::json!({"type": "error", "status": status, "error": body["error"]}).to_string()
}

async fn pump<C, U>(app: Arc<App>, client: WebSocketStream<C>, upstream: WebSocketStream<U>, ctx: Ctx)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    U: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut c_tx, mut c_rx) = client.split();
    let (mut u_tx, mut u_rx) = upstream.split();
    let mut open: Option<Open> = None;
    loop {
        tokio::select! {
            msg = c_rx.next() => {
                let Some(Ok(mut msg)) = msg else { break };
                if ctx.metered && let Message::Text(t) = &msg {
                    match admit(&app, &ctx, t.as_str()) {
                        Admit::Pass => {}
                        Admit::Open(o, rewritten) => {
                            if let Some(text) = rewritten {
                                msg = Message::Text(text.into());
                            }
                            if let Some(prev) = open.replace(*o) {
                                finish(&app, prev, false).await;
                            }
                        }
                        Admit::Refuse(event) => {
                            if c_tx.send(Message::Text(event.into())).await.is_err() {
                                break;
                            }
                            continue;
                        }
                    }
                }
                let closing = matches!(msg, Message::Close(_));
                if u_tx.send(msg).await.is_err() || closing {
                    break;
                }
            }
            msg = u_rx.next() => {
                let Some(Ok(msg)) = msg else { break };
                if let (Message::Text(t), Some(o)) = (&msg, open.as_mut()) {
                    if o.ttft_ms.is_none() {
                        o.ttft_ms = Some(o.t0.elapsed().as_secs_f64() * 1e3);
                    }
                    o.bytes_out += t.len() as u64;
                    let terminal = serde_json::from_str::<serde_json::Value>(t.as_str())
                        .map(|v| o.parser.on_value(&v))
                        .unwrap_or(false);
                    if terminal
                        && let Some(o) = open.take() {
                            finish(&app, o, true).await;
                        }
                }
                let closing = matches!(msg, Message::Close(_));
                if c_tx.send(msg).await.is_err() || closing {
                    break;
                }
            }
        }
    }
    if let Some(o) = open.take() {
        finish(&app, o, false).await;
    }
    let _ = c_tx.close().await;
    let _ = u_tx.close().await;
}
