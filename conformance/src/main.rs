//! `tcpfsm`: the command-line tools of tcpfsm. The subcommands live in
//! [`cli`]; this file only runs them.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
