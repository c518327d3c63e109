//! `promptmeter lsp`: the language server on stdio (issue 3). Logs go to stderr.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Accepted for editor clients that pass it; stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
    /// Print the globs of the files the server measures here (the defaults, or `[lsp]
    /// documents` and `extra_documents` from the config files), one per line, and exit.
    #[arg(long)]
    pub documents: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.documents {
        let (config, _) = crate::config::load(&std::env::current_dir()?)?;
        for glob in config.lsp.document_globs() {
            println!("{glob}");
        }
        return Ok(ExitCode::SUCCESS);
    }
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
