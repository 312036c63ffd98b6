//! The `grbm-sweep` command line: parses arguments, calls the library, reports errors and picks the exit code.

use anyhow::Context;
use clap::{Parser, Subcommand};
use grbm_sweep::output::Status;
use grbm_sweep::{config, runner};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};

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
    /// Discard earlier results in the results folder instead of reusing them.
    #[arg(long)]
    fresh: bool,
    /// Start no new run after the first failed run (finished runs are kept).
    #[arg(long)]
    fail_fast: bool,
    /// Refuse a grid of more runs than this.
    #[arg(long, default_value_t = runner::DEFAULT_MAX_RUNS)]
    max_runs: usize,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the sweep of an experiment file (the same as giving the file alone).
    Run(RunArgs),
    /// Print the expanded runs of an experiment file without training anything.
    Plan {
        /// The experiment file (TOML).
        file: PathBuf,
        /// Refuse (and do not list) a grid of more runs than this.
        #[arg(long, default_value_t = runner::DEFAULT_MAX_RUNS)]
        max_runs: usize,
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
        Some(Command::Plan { file, max_runs }) => {
            let exp = config::load(&file)?;
            runner::check_size(&exp, max_runs)?;
            print!("{}", runner::plan(&exp));
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Run(args)) => args,
        None => cli.run,
    };
    let file = args.file.context("no experiment file given")?;
    let exp = config::load(&file)?;
    // SIGINT and SIGTERM stop new runs from starting; a second one ends the process at once.
    let interrupt = Arc::new(AtomicUsize::new(0));
    let signalled = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // Handlers run in this order: exit only if an earlier signal already set `signalled`.
        signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            Arc::clone(&signalled),
        )
        .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&signalled)))
        .and_then(|_| {
            signal_hook::flag::register_usize(signal, Arc::clone(&interrupt), signal as usize)
        })
        .context("cannot install signal handlers")?;
    }
    let opts = runner::RunOptions {
        threads: args.threads.map(usize::from),
        progress: if args.quiet {
            runner::Progress::Quiet
        } else {
            runner::Progress::Auto
        },
        fresh: args.fresh,
        fail_fast: args.fail_fast,
        max_runs: args.max_runs,
        interrupt,
    };
    let report = runner::run_sweep(&exp, &opts)
        .with_context(|| format!("sweep {} did not complete", file.display()))?;
    if let Some(pid) = report.took_over_lock {
        eprintln!("note: took over the lock of process {pid}, which no longer exists");
    }
    print!("{}", runner::summary(&exp, &report, args.top));
    let resume = format!(
        "run `grbm-sweep {}` again to compute the {} missing runs",
        file.display(),
        report.missing
    );
    if let Some(signal) = report.interrupted {
        let name = if signal == SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        eprintln!("interrupted by {name}: every finished run is saved; {resume}");
        return Ok(ExitCode::from((128 + signal) as u8));
    }
    let failed: Vec<&str> = report
        .records
        .iter()
        .filter(|r| r.status == Status::Failed)
        .map(|r| r.spec.run_id.as_str())
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "{} run{} failed: {}",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            failed.join(", ")
        );
        if report.missing > 0 {
            eprintln!("--fail-fast stopped the sweep; {resume}");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
