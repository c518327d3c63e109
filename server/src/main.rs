//! The `promptmeter` binary: parse the command line and hand off. Nothing else lives here.

use std::process::ExitCode;

fn main() -> ExitCode {
    promptmeter::cli::main()
}
