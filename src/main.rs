use std::process::ExitCode;

use clap::Parser;

#[cfg(all(not(target_env = "msvc"), not(target_os = "windows")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = dllint::cli::Cli::parse();
    dllint::cli::run(cli).into()
}
