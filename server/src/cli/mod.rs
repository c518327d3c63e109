//! Command-line entry: subcommand dispatch. Each subcommand lives in its own file with its
//! own `Args` and `run`; this file only wires them up.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod count;
pub mod demo;
pub mod lsp;
pub mod models;
pub mod proxy;
pub mod report;
pub mod statusline;

#[derive(Parser, Debug)]
#[command(
    name = "promptmeter",
    version,
    about = "See what your coding agents spend, where you work."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Count tokens and cost per send of prompt files, per file and per section.
    Count(count::Args),
    /// List the model catalog with prices and context windows.
    Models(models::Args),
    /// Run the language server on stdio.
    Lsp(lsp::Args),
    /// Run the local proxy that agents point their base URL at.
    Proxy(proxy::Args),
    /// Spend report from the ledger.
    Report(report::Args),
    /// One fast status line for shells, tmux and Claude Code's statusLine.
    Statusline(statusline::Args),
    /// Start the proxy with a simulated upstream replaying an agent session (no API key).
    Demo(demo::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Count(a) => count::run(a),
        Command::Models(a) => models::run(a),
        Command::Lsp(a) => lsp::run(a),
        Command::Proxy(a) => proxy::run(a),
        Command::Report(a) => report::run(a),
        Command::Statusline(a) => statusline::run(a),
        Command::Demo(a) => demo::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("promptmeter: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Ctrl-C, and SIGTERM on Unix (what `kill`, systemd and process supervisors send), caught
/// from the moment this is created, so long-running commands clean up however they are stopped.
pub struct StopSignals {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

/// Start catching the stop signals (call it inside the runtime, before announcing readiness).
pub fn stop_signals() -> StopSignals {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        StopSignals {
            signals: signal(SignalKind::interrupt())
                .and_then(|i| signal(SignalKind::terminate()).map(|t| (i, t)))
                .ok(),
        }
    }
    #[cfg(not(unix))]
    StopSignals {}
}

impl StopSignals {
    /// Resolves when the process is asked to stop.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = self.signals.as_mut() {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
