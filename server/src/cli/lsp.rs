//! `promptmeter lsp`: the language server on stdio (issue 3). Logs go to stderr.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Accepted for editor clients that pass it; stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROMPTMETER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    promptmeter_lsp::run_stdio()?;
    Ok(ExitCode::SUCCESS)
}
