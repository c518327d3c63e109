//! `fake-upstream [--port N]`: a fake LLM provider on 127.0.0.1 (see tests/fakes/README.md).
//! Prints `listening on http://127.0.0.1:PORT` once ready.

use std::sync::Arc;

use promptmeter_e2e::fake_upstream::{Fake, serve};

fn main() {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "-h" | "--help" => {
                println!("usage: fake-upstream [--port N]   (0 or omitted: any free port)");
                return;
            }
            other => {
                eprintln!("fake-upstream: unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("fake-upstream: cannot listen on 127.0.0.1:{port}: {e}");
                std::process::exit(1);
            }
        };
        println!("listening on http://{}", listener.local_addr().expect("local addr"));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        serve(listener, Arc::new(Fake::default())).await;
    });
}
