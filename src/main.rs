//! The `vesselscan` binary: parse arguments, run, print one line per error, set the exit code:
//! 0 every input processed, 1 some inputs failed (batch: each reported, the others done), 2 the
//! run could not start (usage, bad options, no adapter for `--backend gpu`, an output folder
//! that cannot be made).
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = vesselscan::cli::Cli::parse();
    match vesselscan::cli::run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        // Some files of a batch failed; each was reported as it happened.
        Ok(false) => ExitCode::FAILURE,
        Err(f) => {
            let code = f.code();
            let e = anyhow::Error::from(match f {
                vesselscan::cli::Failure::Input(e) | vesselscan::cli::Failure::Start(e) => e,
            });
            eprintln!("vesselscan: {e}");
            ExitCode::from(code)
        }
    }
}
