//! The `promptmeter` command line: one module per subcommand.

pub mod cli;
pub mod config;
pub mod demo;
