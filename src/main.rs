//! The metrocal command line: parses arguments, calls the services, prints. The program
//! lives in the library (`metrocal::cli::main`, src/cli/), so that the release build
//! compiles what the commands run once, for the library, and not again for the binary.

use std::process::ExitCode;

/// mimalloc: the bulk import allocates and frees millions of small strings beside
/// large statement buffers, a pattern on which glibc malloc spends most of its time
/// consolidating free lists (measured with perf; docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    metrocal::cli::main()
}
