use std::process::ExitCode;

/// mimalloc: the tree walk allocates and frees many small objects per file, across threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = dllint::cli::Cli::parse();
    dllint::cli::run(cli).into()
}
