//! The `folio` binary: renders markdown to PDF from the command line (and, later, serves the
//! web app and API).

mod args;
mod commands;
mod failure;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Render(args) => commands::render::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.print();
            ExitCode::from(failure.exit_code)
        }
    }
}
