//! The `vesselscan` binary: parse arguments, run, print one line per error, set the exit code.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = vesselscan::cli::Cli::parse();
    match vesselscan::cli::run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        // Some files of a batch failed; each was reported as it happened.
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            let e = anyhow::Error::from(e);
            eprintln!("vesselscan: {e}");
            ExitCode::FAILURE
        }
    }
}
