//! `promptmeter demo`: the proxy with a simulated provider replaying an agent session (see
//! server/src/demo). No API key; a temporary config and ledger, removed on exit.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Playback speed: 2 replays twice as fast, 0.5 at half speed.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Port for the proxy on 127.0.0.1 (default 4747, where the editors look; another free
    /// port when 4747 is taken).
    #[arg(long)]
    pub port: Option<u16>,
    /// Replay the session once, print what happened and exit (default: replay until Ctrl-C).
    #[arg(long)]
    pub once: bool,
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let utc_offset = promptmeter_ledger::window::local_offset();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROMPTMETER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    if !(args.speed.is_finite() && args.speed > 0.0) {
        anyhow::bail!("--speed must be a positive number");
    }
    let dir = crate::demo::temp_dir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(demo(args, &dir, utc_offset));
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn demo(args: Args, dir: &std::path::Path, utc_offset: time::UtcOffset) -> anyhow::Result<ExitCode> {
    let mut stop = super::stop_signals();
    let listener = match args.port {
        Some(p) => tokio::net::TcpListener::bind(("127.0.0.1", p))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{p}: {e}"))?,
        None => match tokio::net::TcpListener::bind(("127.0.0.1", 4747)).await {
            Ok(l) => l,
            Err(_) => tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?,
        },
    };
    let demo = crate::demo::start(args.speed, listener, dir, utc_offset).await?;
    let url = format!("http://{}", demo.addr);
    say("promptmeter demo: a simulated agent session through the real proxy (no API key)");
    say("");
    say(&format!("  dashboard:  {url}/_promptmeter/"));
    say(&format!("  live feed:  {url}/_promptmeter/feed"));
    say("");
    say("  Editors (their status bars show the demo's spend and budget alerts):");
    say(&format!(
        "    VS Code:      setting \"promptmeter.proxy.url\": \"{url}\", or run \"promptmeter: Open dashboard\""
    ));
    say(&format!(
        "    Neovim:       require(\"promptmeter\").setup({{ proxy_url = \"{url}\" }})"
    ));
    say(&format!(
        "    other LSP:    [lsp] feed_url = \"{url}/_promptmeter/feed\" in .promptmeter.toml"
    ));
    if demo.addr.port() == 4747 {
        say("    (4747 is the default: editors already set up for promptmeter need no change)");
    }
    say("");
    say(&format!(
        "  Budget: ${} a day (alerts at 50/85/100%); routing caps Claude at Sonnet above 85% and at \
         Haiku above 95%, and sends heartbeats to Haiku. Temporary ledger: {}",
        "0.80",
        dir.display()
    ));
    say(&format!(
        "  Speed {}x. {}",
        args.speed,
        if args.once { "One replay." } else { "Ctrl-C to stop." }
    ));
    say("");

    let narrate = |line: &str| say(&format!("  {line}"));
    let run = async {
        // Give a dashboard opened right away the whole session (at most a few seconds).
        demo.wait_for_viewer(Duration::from_secs(if args.once { 3 } else { 5 }))
            .await;
        let mut round = 1;
        loop {
            let out = demo.replay(round, &narrate).await?;
            say(&format!(
                "demo round {round}: {} requests ({} failed), {} budget alerts, {} rerouted, ${} spent today",
                out.requests, out.failed, out.alerts, out.reroutes, out.today_usd
            ));
            if args.once {
                return anyhow::Ok(if out.failed == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                });
            }
            round += 1;
            tokio::time::sleep(Duration::from_secs_f64(4.0 / args.speed)).await;
        }
    };
    let code = tokio::select! {
        r = run => r?,
        _ = stop.recv() => {
            say("demo stopped");
            ExitCode::SUCCESS
        }
    };
    demo.handle.shutdown().await;
    Ok(code)
}
