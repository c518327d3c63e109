//! `promptmeter proxy`: run the local proxy (see server/proxy). Agents point their base URL
//! at it: `ANTHROPIC_BASE_URL=http://127.0.0.1:4747`, `OPENAI_BASE_URL=http://127.0.0.1:4747/v1`.

use promptmeter_core::budget::window::Calendar;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use promptmeter_core::Catalog;
use promptmeter_core::config::Config;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (default: `[proxy] listen`, else 127.0.0.1:4747).
    #[arg(long)]
    pub listen: Option<String>,
    /// Ledger file (default: `[proxy] ledger`, else <data dir>/promptmeter/ledger.sqlite).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Anthropic upstream base URL.
    #[arg(long, value_name = "URL")]
    pub anthropic_upstream: Option<String>,
    /// OpenAI upstream base URL.
    #[arg(long, value_name = "URL")]
    pub openai_upstream: Option<String>,
    /// Gemini upstream base URL.
    #[arg(long, value_name = "URL")]
    pub gemini_upstream: Option<String>,
}

/// The configuration layers (user file, then the project's `.promptmeter.toml` from `cwd`
/// upwards) and the catalog (bundled, or `[models] catalog_file` instead of it; then
/// `[models.overrides]`), as every subcommand reads them.
pub fn load_config(cwd: &Path) -> anyhow::Result<(Config, Catalog)> {
    // One loader for every subcommand: user file, project file, catalog file, overrides.
    crate::config::load(cwd)
}

pub fn ledger_path(config: &Config, flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .unwrap_or_else(|| promptmeter_ledger::path_in(config, dirs::data_dir()))
}

/// Where days, weeks and months begin for every total (`[budgets] utc_offset`, `week_starts`).
pub fn calendar(config: &promptmeter_core::config::Config, local: time::UtcOffset) -> anyhow::Result<Calendar> {
    Ok(Calendar::from_config(&config.budgets, local)?)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Read the local offset while the process has a single thread.
    let utc_offset = promptmeter_ledger::window::local_offset();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROMPTMETER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let cwd = std::env::current_dir()?;
    let (mut config, catalog) = load_config(&cwd)?;
    if let Some(l) = args.listen {
        config.proxy.listen = l;
    }
    for (flag, slot) in [
        (args.anthropic_upstream, &mut config.proxy.upstreams.anthropic),
        (args.openai_upstream, &mut config.proxy.upstreams.openai),
        (args.gemini_upstream, &mut config.proxy.upstreams.gemini),
    ] {
        if let Some(u) = flag {
            *slot = u;
        }
    }
    let ledger = ledger_path(&config, args.ledger.as_deref());
    let listen = config.proxy.listen.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let mut stop = super::stop_signals();
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        // What a proxy that died on this ledger released but had not committed, before the
        // budgets read their spend.
        if let Err(e) = promptmeter_ledger::spool::recover(&ledger) {
            tracing::warn!("ledger: {e:#}");
        }
        // Budgets and routing (issue 5): server/proxy/src/policy/budgets.rs.
        let policy = promptmeter_proxy::policy::budgets::policy_for(&config, &ledger, utc_offset)?;
        let calendar = calendar(&config, utc_offset)?;
        let opts = promptmeter_proxy::Options {
            config: config.proxy,
            ledger_path: ledger.clone(),
            calendar,
            policy: Some(policy.clone()),
        };
        let handle = promptmeter_proxy::serve(opts, catalog, listener).await?;
        policy.attach(&handle.app);
        eprintln!(
            "promptmeter proxy listening on http://{addr} (ledger {})",
            ledger.display()
        );
        eprintln!("  Claude Code:   ANTHROPIC_BASE_URL=http://{addr}");
        eprintln!("  Codex/OpenAI:  OPENAI_BASE_URL=http://{addr}/v1");
        eprintln!("  live feed:     http://{addr}/_promptmeter/feed");
        tokio::select! {
            _ = handle.wait() => {}
            _ = stop.recv() => {}
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
