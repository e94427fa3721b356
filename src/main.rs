use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = dllint::cli::Cli::parse();
    dllint::cli::run(cli).into()
}
