//! Command-line entry: subcommand dispatch.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Run the language server on stdio.
    Lsp,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lsp => ExitCode::SUCCESS,
    }
}
