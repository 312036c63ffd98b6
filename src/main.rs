//! The `grbm-sweep` command line: parses arguments, runs one function per command on the library, reports errors and picks the exit code.

use anyhow::Context;
use clap::{Parser, Subcommand};
use grbm_sweep::cluster::shard::Shard;
use grbm_sweep::cluster::slurm;
use grbm_sweep::experiment;
use grbm_sweep::report::{html, plot, progress::Reporter, summary};
use grbm_sweep::score;
use grbm_sweep::sweep::cost::SweepCost;
use grbm_sweep::sweep::{self, folder, record::Status, verify};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::io::Write;
use std::path::{Path, PathBuf};
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
    /// Rows in the summary table of best configurations (or runs).
    #[arg(long, default_value_t = summary::DEFAULT_TOP)]
    top: usize,
    /// Rank single runs by valid_ll instead of configurations by their mean over seeds.
    #[arg(long)]
    by_run: bool,
    /// Discard earlier results in the results folder instead of reusing them.
    #[arg(long)]
    fresh: bool,
    /// Start no new run after the first failed run (finished runs are kept).
    #[arg(long)]
    fail_fast: bool,
    /// Refuse a grid of more runs than this.
    #[arg(long, default_value_t = sweep::DEFAULT_MAX_RUNS)]
    max_runs: usize,
    /// Compute only shard I of N (0-based), e.g. 2/8. Without it, SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT (or JOB_COMPLETION_INDEX with --shard-count) select the shard.
    #[arg(long)]
    shard: Option<Shard>,
    /// The number of shards when JOB_COMPLETION_INDEX (Kubernetes indexed Jobs) gives the index.
    #[arg(long)]
    shard_count: Option<usize>,
    /// Set a key as if the file said so (repeatable): SECTION.KEY=VALUE, VALUE in TOML, e.g.
    /// --set train.epochs=5 --set 'grid.lr=[0.01, 0.1]' (a bare word is a string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
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
        #[arg(long, default_value_t = sweep::DEFAULT_MAX_RUNS)]
        max_runs: usize,
        /// List every run (default: the first 20, then how many more there are).
        #[arg(long)]
        all: bool,
        /// Set a key as if the file said so (repeatable): SECTION.KEY=VALUE, VALUE in TOML, e.g.
        /// --set train.epochs=5 --set 'grid.lr=[0.01, 0.1]' (a bare word is a string).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Build the tables of a sharded sweep from every shard's results in its results folder.
    Merge {
        /// The results folder the shards wrote into.
        dir: PathBuf,
        /// Write the tables even if some runs have no result yet (and exit 0).
        #[arg(long)]
        partial: bool,
        /// Rank single runs by valid_ll instead of configurations by their mean over seeds.
        #[arg(long)]
        by_run: bool,
    },
    /// Compare the values of one grid axis: for each, the paired difference in test_ll against
    /// the best value by mean valid_ll, paired over seeds and every other axis, with its 95%
    /// interval.
    Compare {
        /// The results folder of a sweep.
        dir: PathBuf,
        /// The axis whose values are compared (a [grid] key other than seed).
        #[arg(long, value_name = "AXIS")]
        by: String,
    },
    /// Draw the sweep: model densities with data and samples, learning curves, grid heat maps.
    Plot {
        /// The results folder of a sweep.
        dir: PathBuf,
        /// Draw the densities of the best N configurations (or runs) of each data set.
        #[arg(long, default_value_t = summary::DEFAULT_TOP)]
        top: usize,
        /// Rank single runs by valid_ll instead of configurations by their mean over seeds.
        #[arg(long)]
        by_run: bool,
        /// Draw the density of this run (repeatable; a unique prefix of its id will do) instead
        /// of the best ones.
        #[arg(long = "run", value_name = "ID")]
        runs: Vec<String>,
        /// Write an SVG beside every PNG.
        #[arg(long)]
        svg: bool,
        /// Draw each model's chain samples (its training sampler's chains, in cyan) beside its
        /// exact samples (in red).
        #[arg(long)]
        chains: bool,
        /// Write the pictures into this folder instead of DIR/plots (e.g. for a read-only DIR).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Write DIR/report.html: one self-contained page of the sweep (what was run, the whole
    /// recipe, the best configurations, every configuration over its seeds, the comparisons
    /// along each axis, the pictures, what is missing).
    Report {
        /// The results folder of a sweep.
        dir: PathBuf,
        /// Rows of best configurations (or runs) of each data set, by valid_ll.
        #[arg(long, default_value_t = summary::DEFAULT_TOP)]
        top: usize,
        /// Rank single runs by valid_ll instead of configurations by their mean over seeds.
        #[arg(long)]
        by_run: bool,
        /// Write the page to this file instead of DIR/report.html (e.g. for a read-only DIR).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Recompute runs of a results folder from the experiment stored in it and compare every
    /// non-timing table value with the stored one, bit for bit (writes nothing; exit 1 if any differ).
    Verify {
        /// The results folder of a sweep.
        dir: PathBuf,
        /// Recompute this run (repeatable; a unique prefix of its id will do) instead of a
        /// random sample.
        #[arg(long = "run", value_name = "ID")]
        runs: Vec<String>,
        /// Recompute this many runs drawn at random (without --run).
        #[arg(long, value_name = "K", default_value_t = 3)]
        sample: usize,
        /// Seed of the random draw (default: from the clock; printed, so the draw can be repeated).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Score one model on points: per-point log densities, the mean log-likelihood and log Z
    /// (on the grid, checked by enumeration up to 20 hidden units and by a finer grid).
    Eval {
        #[command(flatten)]
        model: ModelArgs,
        /// The points: a .csv or .parquet file (its two numeric columns, or --columns), or a
        /// built-in generator's name (the first --n points of a sweep with [data] seed =
        /// --data-seed). Default for a results folder's run: its test points.
        #[arg(long, value_name = "FILE|GENERATOR")]
        points: Option<String>,
        /// The two point columns of a --points file, e.g. --columns x,y.
        #[arg(long, value_name = "X,Y", value_delimiter = ',')]
        columns: Option<Vec<String>>,
        /// Points drawn from a --points generator.
        #[arg(long, default_value_t = 2000)]
        n: usize,
        /// The [data] seed of a --points generator.
        #[arg(long, default_value_t = 0)]
        data_seed: u64,
        /// Write every point's log density here (.csv or .parquet: x1, x2, log_density).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Write exact samples of one model (from the mixture of its 2^n hidden states; above 20
    /// hidden units from its log Z grid).
    Sample {
        #[command(flatten)]
        model: ModelArgs,
        /// Samples to draw.
        #[arg(long)]
        n: usize,
        /// Seed of the draw (default: the run's seed, which gives its exact samples of
        /// samples.parquet again; 0 for a parameter file).
        #[arg(long)]
        seed: Option<u64>,
        /// Where to write them (.csv or .parquet: x1, x2).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write Slurm batch scripts for the sweep: an array job of shards and a merge job after it.
    Slurm {
        /// The experiment file (TOML).
        file: PathBuf,
        #[command(flatten)]
        options: SlurmArgs,
    },
}

/// The model of `eval` and `sample`.
#[derive(clap::Args, Debug)]
struct ModelArgs {
    /// A results folder (with --run) or a parameter file (JSON: b, sigma, W, c).
    model: PathBuf,
    /// The run of the results folder (a unique prefix of its id will do).
    #[arg(long = "run", value_name = "ID")]
    run: Option<String>,
    /// Points per axis of the log Z grid (default: the run's, or the automatic grid).
    #[arg(long, value_name = "N")]
    grid_points: Option<usize>,
}

/// The options of `grbm-sweep slurm`.
#[derive(clap::Args, Debug)]
struct SlurmArgs {
    /// Set a key as if the file said so (repeatable): SECTION.KEY=VALUE, VALUE in TOML, e.g.
    /// --set train.epochs=5 --set 'grid.lr=[0.01, 0.1]' (a bare word is a string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,

    /// Array tasks, one shard each.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    tasks: u32,
    /// CPUs per task; each task runs that many threads.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    cpus_per_task: u32,
    /// Time limit of each task, as Slurm writes it (e.g. 02:00:00).
    #[arg(long)]
    time: Option<String>,
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// Run at most this many array tasks at once.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrent: Option<u32>,
    /// Slurm account to charge.
    #[arg(long)]
    account: Option<String>,
}

/// The shard to compute: `--shard`, else Slurm's array variables, else a Kubernetes completion index.
fn select_shard(args: &RunArgs) -> anyhow::Result<Option<Shard>> {
    if let Some(shard) = args.shard {
        return Ok(Some(shard));
    }
    let var = |name: &str| -> anyhow::Result<Option<usize>> {
        match std::env::var(name) {
            Ok(v) => v
                .trim()
                .parse()
                .map(Some)
                .with_context(|| format!("{name}={v} is not a whole number")),
            Err(_) => Ok(None),
        }
    };
    if let (Some(id), Some(count)) = (var("SLURM_ARRAY_TASK_ID")?, var("SLURM_ARRAY_TASK_COUNT")?) {
        let first = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let shard = Shard::new(id.saturating_sub(first), count).map_err(anyhow::Error::msg);
        return shard
            .map(Some)
            .context("from SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT");
    }
    if let Some(index) = var("JOB_COMPLETION_INDEX")? {
        let count = args
            .shard_count
            .context("JOB_COMPLETION_INDEX is set: give the number of shards with --shard-count")?;
        return Shard::new(index, count)
            .map(Some)
            .map_err(anyhow::Error::msg);
    }
    Ok(None)
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so `grbm-sweep plan FILE | head` would panic on its next print once
    // head has quit; the default action ends the process quietly, as other Unix tools do.
    // SAFETY: at the start of main no other thread exists, and SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Plan {
            file,
            max_runs,
            all,
            sets,
        }) => plan(&file, &sets, max_runs, all),
        Some(Command::Merge {
            dir,
            partial,
            by_run,
        }) => merge(&dir, partial, ranked(by_run)),
        Some(Command::Compare { dir, by }) => compare(&dir, &by),
        Some(Command::Plot {
            dir,
            top,
            by_run,
            runs,
            svg,
            chains,
            out,
        }) => draw(
            &dir,
            plot::PlotOptions {
                top,
                ranked: ranked(by_run),
                runs,
                svg,
                chains,
                out,
            },
        ),
        Some(Command::Report {
            dir,
            top,
            by_run,
            out,
        }) => write_report(&dir, top, ranked(by_run), out.as_deref()),
        Some(Command::Verify {
            dir,
            runs,
            sample,
            seed,
        }) => verify(&dir, runs, sample, seed),
        Some(Command::Eval {
            model,
            points,
            columns,
            n,
            data_seed,
            out,
        }) => eval(&model, points, columns, (n, data_seed), out),
        Some(Command::Sample {
            model,
            n,
            seed,
            out,
        }) => sample(&model, (n, seed), &out),
        Some(Command::Slurm { file, options }) => write_slurm(&file, options),
        Some(Command::Run(args)) => run(args),
        None => run(cli.run),
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        // A results folder that failed during the sweep (a full disk) is not an input error.
        let status = err
            .chain()
            .find_map(|e| e.downcast_ref::<sweep::RunError>())
            .map_or(2, sweep::RunError::exit_status);
        ExitCode::from(status)
    })
}

/// Says on stderr which records of `dir` are damaged, and what becomes of their runs.
fn warn_damaged(dir: &Path, damaged: &[sweep::journal::Damage], fate: &str) {
    if damaged.is_empty() {
        return;
    }
    let records = dir.join("records");
    eprintln!(
        "warning: {} damaged record{} in {} ({fate}):",
        damaged.len(),
        if damaged.len() == 1 { "" } else { "s" },
        records.display()
    );
    for damage in damaged {
        eprintln!("  {damage}");
    }
}

/// What `--by-run` asks the summary, the pictures and the report to rank.
fn ranked(by_run: bool) -> summary::Ranked {
    if by_run {
        summary::Ranked::Runs
    } else {
        summary::Ranked::Configs
    }
}

/// A results folder read back for command `what`, with what its reader should know of it (a
/// sweep in progress, tables that disagree with the records) said on stderr, but for the notes
/// that `said_elsewhere` holds.
fn read_folder(
    dir: &Path,
    what: &str,
    said_elsewhere: impl Fn(&folder::Folder) -> Vec<String>,
) -> anyhow::Result<(folder::Folder, Vec<String>)> {
    let folder =
        folder::load_folder(dir).with_context(|| format!("cannot {what} {}", dir.display()))?;
    let elsewhere = said_elsewhere(&folder);
    for note in folder.notes.iter().filter(|n| !elsewhere.contains(n)) {
        eprintln!("note: {note}");
    }
    // verify reports damaged records as results of its own.
    if what != "verify" {
        warn_damaged(
            dir,
            &folder.damaged,
            "their runs have no result until the sweep runs again",
        );
    }
    Ok((folder, elsewhere))
}

fn eval(
    args: &ModelArgs,
    points: Option<String>,
    columns: Option<Vec<String>>,
    generated: (usize, u64),
    out: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    if let Some(out) = &out {
        score::output_format(out)?;
    }
    let loaded = score::load_model(&args.model, args.run.as_deref())?;
    let columns = match columns.as_deref() {
        None => None,
        Some([x, y]) => Some([x.clone(), y.clone()]),
        Some(other) => anyhow::bail!("--columns takes two column names, X,Y; found {other:?}"),
    };
    let points = score::points(points.as_deref(), columns.as_ref(), generated, &loaded)?;
    print!(
        "{}",
        score::eval(&loaded, points, args.grid_points, out.as_ref())?
    );
    Ok(ExitCode::SUCCESS)
}

fn sample(args: &ModelArgs, draw: (usize, Option<u64>), out: &Path) -> anyhow::Result<ExitCode> {
    score::output_format(out)?;
    let loaded = score::load_model(&args.model, args.run.as_deref())?;
    print!("{}", score::sample(&loaded, draw, args.grid_points, out)?);
    Ok(ExitCode::SUCCESS)
}

fn compare(dir: &Path, axis: &str) -> anyhow::Result<ExitCode> {
    let (folder, _) = read_folder(dir, "compare", |_| Vec::new())?;
    print!("{}", summary::comparison(&folder, axis)?);
    Ok(ExitCode::SUCCESS)
}

fn plan(file: &Path, sets: &[String], max_runs: usize, all: bool) -> anyhow::Result<ExitCode> {
    let exp = experiment::load_with(file, sets)?;
    sweep::check_size(&exp, max_runs)?;
    // Each line goes out as it is made (buffered), not as one string of every run.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cost = SweepCost::of(&exp, threads).map_err(|e| e.to_string());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    summary::write_plan(&exp, all, cost.as_ref().map_err(String::as_str), &mut out)
        .and_then(|()| out.flush())
        .context("cannot write the plan to stdout")?;
    Ok(ExitCode::SUCCESS)
}

fn draw(dir: &Path, options: plot::PlotOptions) -> anyhow::Result<ExitCode> {
    let (folder, _) = read_folder(dir, "plot", |_| Vec::new())?;
    let written = plot::plot(&folder, dir, &options)?;
    let out = options.out.unwrap_or_else(|| dir.join("plots"));
    println!("wrote {} pictures under {}", written.len(), out.display());
    for path in written {
        println!("  {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn write_report(
    dir: &Path,
    top: usize,
    ranked: summary::Ranked,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let (folder, _) = read_folder(dir, "report", |_| Vec::new())?;
    let path = html::write_report(&folder, dir, top, ranked, out)
        .with_context(|| format!("cannot report {}", dir.display()))?;
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn verify(
    dir: &Path,
    runs: Vec<String>,
    sample: usize,
    seed: Option<u64>,
) -> anyhow::Result<ExitCode> {
    // Problems of the tables are results of verify, on stdout, not notes.
    let (folder, tables) = read_folder(dir, "verify", verify::check_tables)?;
    // A damaged record is a difference in itself, whichever runs are asked for.
    let damaged: Vec<(&str, String)> = folder
        .damaged
        .iter()
        .filter_map(|d| Some((d.run_id.as_deref()?, d.to_string())))
        .collect();
    let runs = runs_to_verify(&folder, dir, runs, &damaged, sample, seed)?;
    let verdicts = verify::verify(&folder, dir, &runs).map_err(anyhow::Error::msg)?;
    for (run_id, damage) in &damaged {
        println!("{run_id} damaged: {damage}");
    }
    let has_tables = matches!(folder.tables, Ok(Some(_)));
    for v in &verdicts {
        let only_record = if has_tables && !v.in_tables {
            " (with its record only: the tables do not hold it yet)"
        } else {
            ""
        };
        match &v.difference {
            None => println!("{} same{only_record}", v.run_id),
            Some(difference) => println!("{} differs: {difference}", v.run_id),
        }
    }
    for problem in &tables {
        println!("{problem}");
    }
    let differ = verdicts.iter().filter(|v| v.difference.is_some()).count() + damaged.len();
    if differ > 0 {
        eprintln!(
            "{differ} of {} runs differ or have a damaged record (the next sweep computes a damaged one again)",
            verdicts.len() + damaged.len()
        );
    }
    if !tables.is_empty() {
        let plural = if tables.len() == 1 { "" } else { "s" };
        eprintln!(
            "{} problem{plural} with the committed tables of {}",
            tables.len(),
            dir.display()
        );
    }
    Ok(if differ == 0 && tables.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The runs `verify` recomputes: those named (a unique prefix each; a damaged one is reported
/// as damaged instead), or `sample` drawn with `seed`. Says which on stdout.
fn runs_to_verify(
    folder: &folder::Folder,
    dir: &Path,
    named: Vec<String>,
    damaged: &[(&str, String)],
    sample: usize,
    seed: Option<u64>,
) -> anyhow::Result<Vec<String>> {
    if named.is_empty() {
        let seed = seed.unwrap_or_else(clock_seed);
        let drawn = verify::sample_runs(folder, sample, seed);
        println!(
            "recomputing {} of {} runs drawn with --seed {seed}",
            drawn.len(),
            folder.records.len()
        );
        return Ok(drawn);
    }
    // A prefix of an id is resolved here, before any line is printed, as `plot` does.
    let runs = named
        .iter()
        .filter(|prefix| {
            !damaged
                .iter()
                .any(|(id, _)| id.starts_with(prefix.as_str()))
        })
        .map(|id| Ok(folder.resolve_run(dir, id, false)?.spec.run_id.clone()))
        .collect::<anyhow::Result<Vec<String>>>()?;
    let plural = if runs.len() == 1 { "" } else { "s" };
    println!("recomputing {} named run{plural}", runs.len());
    Ok(runs)
}

/// A seed for a draw the user did not seed: the clock's nanoseconds.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn write_slurm(file: &Path, options: SlurmArgs) -> anyhow::Result<ExitCode> {
    let exp = experiment::load_with(file, &options.sets)?;
    let opts = slurm::SlurmOptions {
        tasks: options.tasks as usize,
        cpus_per_task: options.cpus_per_task as usize,
        time: options.time,
        partition: options.partition,
        max_concurrent: options.max_concurrent.map(|m| m as usize),
        account: options.account,
        rungs: sweep::halving_of(&exp).map_or(1, |h| h.rung_epochs(exp.train.epochs).len()),
        sets: options.sets,
    };
    let workdir = std::env::current_dir().context("cannot read the current folder")?;
    let binary = std::env::current_exe().context("cannot find the grbm-sweep binary")?;
    let scripts = slurm::write_scripts(
        &exp.name,
        &workdir.join(file),
        &workdir.join(&exp.output),
        &workdir,
        &binary,
        &opts,
    )
    .with_context(|| {
        format!(
            "cannot write the Slurm scripts under {}",
            exp.output.display()
        )
    })?;
    println!(
        "wrote {}, {} and {}",
        scripts.array.display(),
        scripts.merge.display(),
        scripts.submit.display()
    );
    println!("submit with:\n  {}", scripts.command);
    Ok(ExitCode::SUCCESS)
}

/// SIGINT and SIGTERM stop new runs from starting (the returned counter holds the signal); a
/// second one ends the process at once.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicUsize>> {
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
    Ok(interrupt)
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let shard = select_shard(&args)?;
    let file = args.file.context("no experiment file given")?;
    let exp = experiment::load_with(&file, &args.sets)?;
    let opts = sweep::RunOptions {
        threads: args.threads.map(usize::from),
        fresh: args.fresh,
        fail_fast: args.fail_fast,
        max_runs: args.max_runs,
        interrupt: stop_on_signals()?,
        shard,
    };
    let reporter = Reporter::new(&exp);
    let observer: &dyn sweep::Observer = if args.quiet {
        &sweep::Silent
    } else {
        &reporter
    };
    let report = sweep::run_sweep(&exp, &opts, observer)
        .with_context(|| format!("sweep {} did not complete", file.display()))?;
    warn_damaged(
        &report.output,
        &report.damaged,
        "their runs were computed again",
    );
    if let Some(holder) = &report.took_over_lock {
        eprintln!("note: took over the lock of {holder}, which ended without releasing it");
    }
    print!(
        "{}",
        summary::summary(&exp, &report, args.top, ranked(args.by_run))
    );
    if let Some(shard) = report.shard {
        println!(
            "shard {shard} leaves its runs in {}; when every shard is done: grbm-sweep merge {}",
            report.output.join("records").display(),
            report.output.display()
        );
    }
    Ok(exit_code(&file, &args.sets, &report))
}

/// 128 + the signal after an interrupt, 1 when runs failed, 0 otherwise; says why on stderr.
fn exit_code(file: &Path, sets: &[String], report: &sweep::SweepReport) -> ExitCode {
    let sets: String = sets.iter().map(|s| format!(" --set '{s}'")).collect();
    let resume = format!(
        "run `grbm-sweep {}{sets}` again to compute the {} missing run{}",
        file.display(),
        report.missing,
        if report.missing == 1 { "" } else { "s" }
    );
    if let Some(signal) = report.interrupted {
        let name = if signal == SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        let paused = match report.paused {
            0 => String::new(),
            1 => ", and the state of the 1 run it stopped (the next sweep continues it)".into(),
            n => format!(
                ", and the state of the {n} runs it stopped (the next sweep continues them)"
            ),
        };
        eprintln!("interrupted by {name}: every finished run is saved{paused}; {resume}");
        return ExitCode::from((128 + signal) as u8);
    }
    let failed: Vec<&str> = report
        .records
        .iter()
        .filter(|r| r.status == Status::Failed)
        .map(|r| r.spec.run_id.as_str())
        .collect();
    if failed.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "{} run{} failed: {}",
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        failed.join(", ")
    );
    if report.missing > 0 {
        eprintln!("--fail-fast stopped the sweep; {resume}");
    }
    ExitCode::from(1)
}

fn merge(dir: &Path, partial: bool, ranked: summary::Ranked) -> anyhow::Result<ExitCode> {
    let merged = folder::merge(dir).with_context(|| format!("cannot merge {}", dir.display()))?;
    warn_damaged(
        dir,
        &merged.report.damaged,
        "their runs have no result until the sweep runs again",
    );
    print!(
        "{}",
        summary::summary(
            &merged.experiment,
            &merged.report,
            summary::DEFAULT_TOP,
            ranked
        )
    );
    if merged.missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let of_rung = merged
        .rung
        .map(|r| format!(" of rung {r}"))
        .unwrap_or_default();
    for (shard, ids) in &merged.missing {
        eprintln!(
            "shard {shard}/{}: {} run{}{of_rung} missing: {}",
            merged.shards,
            ids.len(),
            if ids.len() == 1 { "" } else { "s" },
            ids.join(", ")
        );
    }
    if partial {
        eprintln!(
            "--partial: wrote the tables of the {} runs that have results",
            merged.report.records.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: {} runs have no result; rerun their shards, or merge with --partial",
            merged.report.missing
        );
        Ok(ExitCode::from(1))
    }
}
