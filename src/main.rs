use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

use kpush::cli::Cli;
use kpush::exit::ExitStatus;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // clap would exit 2, which kpush keeps for "changes present": a bad flag is
            // invalid input (3), with nothing done; `--help` and `--version` succeed.
            return if error.use_stderr() {
                ExitStatus::Invalid.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitStatus::Failure.into();
        }
    };
    match runtime.block_on(kpush::commands::run(cli)) {
        Ok(status) => status.into(),
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_status().into()
        }
    }
}

/// Logs go to stderr; `-v` raises kpush's own level. The client libraries' logs repeat what
/// kpush reports itself, so they only show from `-vv` on.
fn init_logging(verbose: u8) {
    let (own, libraries) = match verbose {
        0 => (LevelFilter::WARN, LevelFilter::OFF),
        1 => (LevelFilter::INFO, LevelFilter::OFF),
        2 => (LevelFilter::DEBUG, LevelFilter::WARN),
        _ => (LevelFilter::TRACE, LevelFilter::DEBUG),
    };
    let filter = Targets::new()
        .with_default(libraries)
        .with_target("kpush", own);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false),
        )
        .with(filter)
        .init();
}
