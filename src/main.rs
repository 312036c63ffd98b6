//! The `grbm-sweep` command line: parses arguments, calls the library, reports errors.

use anyhow::Context;
use clap::{Parser, Subcommand};
use grbm_sweep::{config, runner};
use std::path::PathBuf;
use std::process::ExitCode;

/// Train every Gaussian-Bernoulli RBM of a TOML experiment grid and write exact log-likelihoods to Parquet.
#[derive(Parser, Debug)]
#[command(
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The experiment file (TOML).
    #[arg(required = true)]
    file: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Show no progress (errors and the final summary are still printed).
    #[arg(long, short)]
    quiet: bool,
    /// Rows in the summary table of best runs.
    #[arg(long, default_value_t = 5)]
    top: usize,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the sweep of an experiment file (the same as giving the file alone).
    Run(RunArgs),
    /// Print the expanded runs of an experiment file without training anything.
    Plan {
        /// The experiment file (TOML).
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let args = match cli.command {
        Some(Command::Plan { file }) => {
            let exp = config::load(&file)?;
            print!("{}", runner::plan(&exp));
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Run(args)) => args,
        None => cli.run,
    };
    let file = args.file.context("no experiment file given")?;
    let exp = config::load(&file)?;
    let opts = runner::RunOptions {
        threads: args.threads.map(usize::from),
        progress: if args.quiet {
            runner::Progress::Quiet
        } else {
            runner::Progress::Auto
        },
    };
    let report = runner::run_sweep(&exp, &opts)
        .with_context(|| format!("sweep {} did not complete", file.display()))?;
    print!("{}", runner::summary(&exp, &report, args.top));
    Ok(ExitCode::SUCCESS)
}
