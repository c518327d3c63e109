//! The accept loop: HTTP/1.1 connections (with upgrades, for the Responses WebSocket), one
//! task each, dispatched by `handle`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::routes::{self, route};
use crate::{App, Body, forward, namespace, websocket};

pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let t0 = Instant::now();
    if routes::is_namespace(req.uri().path()) {
        return namespace::handle(app, req).await;
    }
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let r = route(&app.config, req.method(), &pq, req.headers());
    if websocket::is_upgrade(&req) {
        return websocket::relay(app, req, r).await;
    }
    match r.api {
        Some(api) => forward::metered(app, req, r, api, t0).await,
        None => forward::pass_through(app, req, r).await,
    }
}

pub async fn run(listener: TcpListener, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("accept: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let app = app.clone();
                        async move { Ok::<_, Infallible>(handle(app, req).await) }
                    });
                    let conn = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades();
                    if let Err(e) = conn.await {
                        tracing::debug!("connection: {e}");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
}
