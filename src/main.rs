//! The metrocal command line: parses arguments, calls the services, prints (src/cli/).

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc: the bulk import allocates and frees millions of small strings beside
/// large statement buffers, a pattern on which glibc malloc spends most of its time
/// consolidating free lists (measured with perf; docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    metrocal::tune_allocator();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn,rocket=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    match rocket::execute(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("metrocal: {e}");
            ExitCode::FAILURE
        }
    }
}
