//! Running a sweep: checks before anything is written, rayon across runs, progress, failure capture, the tables and the summary.

use crate::config::{ConfigError, Experiment, Sampler};
use crate::data::{DataError, Dataset};
use crate::grid::run_count;
use crate::grid::{RunSpec, expand};
use crate::identity::{Field, hex_id};
use crate::model::MAX_ENUMERATION_HIDDEN;
use crate::output::{OutputError, RunRecord, Status, write_all};
use crate::shard::{self, Shard};
use crate::store::{ResultsDir, StoreError, publish, write_atomically};
use crate::train::train_run;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// An error that stops a sweep before or after its runs (a failing run is a row, not an error).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{path}: `{key}` = {value}: {rule}")]
    Input {
        path: PathBuf,
        key: String,
        value: String,
        rule: String,
    },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{path}: the grid expands to {count} runs, more than --max-runs {max}; shrink the [grid] lists or raise --max-runs"
    )]
    TooManyRuns {
        path: PathBuf,
        count: usize,
        max: usize,
    },
    #[error(
        "--fresh cannot be combined with --shard {shard}: one shard would delete the others' results; clear the folder once before starting the shards"
    )]
    FreshShard { shard: Shard },
    #[error("{path} holds no sweep results: {reason}")]
    NoSweep { path: PathBuf, reason: String },
    #[error("cannot start {threads} worker threads: {message}")]
    Threads { threads: usize, message: String },
}

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A bar on a terminal, one plain line per finished run otherwise.
    Auto,
    Quiet,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
    pub progress: Progress,
    /// Discard earlier results in the folder instead of reusing them.
    pub fresh: bool,
    /// Start no new run after the first failure.
    pub fail_fast: bool,
    /// Refuse grids of more runs than this.
    pub max_runs: usize,
    /// Set (to the signal number) by the caller when the sweep must stop starting runs.
    pub interrupt: Arc<AtomicUsize>,
    /// Compute only this shard of the grid.
    pub shard: Option<Shard>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: None,
            progress: Progress::Auto,
            fresh: false,
            fail_fast: false,
            max_runs: DEFAULT_MAX_RUNS,
            interrupt: Arc::new(AtomicUsize::new(0)),
            shard: None,
        }
    }
}

/// The default of `--max-runs`.
pub const DEFAULT_MAX_RUNS: usize = 100_000;

/// What a finished sweep hands back to the caller.
#[derive(Debug)]
pub struct SweepReport {
    pub output: PathBuf,
    /// In grid order.
    pub records: Vec<RunRecord>,
    pub seconds: f64,
    /// The data sets, in `[data] source` order.
    pub datasets: Vec<Dataset>,
    /// Runs whose earlier results were reused instead of computed.
    pub reused: usize,
    /// Runs of the grid that have no result (not started after an interrupt or a failure with `fail_fast`).
    pub missing: usize,
    /// The signal that stopped the sweep early, if one did.
    pub interrupted: Option<i32>,
    /// Set when the lock of a process that ended without releasing it was taken over: that
    /// process, as its lock file named it ("process PID on HOST").
    pub took_over_lock: Option<String>,
    /// The shard this process computed (its records only; no tables), if any.
    pub shard: Option<Shard>,
}

/// The `[data]` section as the manifest keeps it, plus a fingerprint of the points each data set
/// holds: a data file edited in place (or a generator that changed) makes the earlier results
/// of the folder unusable instead of silently reused.
fn data_fields(exp: &Experiment, datasets: &[Dataset]) -> Vec<(&'static str, Field)> {
    let mut fields = exp.data.fields();
    let prints = datasets
        .iter()
        .map(|d| {
            let bytes: Vec<u8> = [&d.train, &d.test]
                .into_iter()
                .flatten()
                .flat_map(|p| p.iter().flat_map(|v| v.to_le_bytes()))
                .collect();
            Field::text(format!("{}:{}", d.name, hex_id(&bytes)))
        })
        .collect();
    fields.push(("points", Field::List(prints)));
    fields
}

/// The `[grid]` key if `key` is swept there, else the `[train]` key: where a value came from.
fn train_key(exp: &Experiment, key: &str) -> String {
    if exp.grid.iter().any(|a| a.key == key) {
        format!("grid.{key}")
    } else {
        format!("train.{key}")
    }
}

/// Checks of one run's combination of keys and of the data (every run's batch fits in the
/// training set). Runs before anything is written.
fn check_runs(exp: &Experiment, datasets: &[Dataset], runs: &[RunSpec]) -> Result<(), RunError> {
    if let Some(run) = runs
        .iter()
        .find(|r| r.train.sampler == Sampler::Exact && r.train.hidden > MAX_ENUMERATION_HIDDEN)
    {
        return Err(RunError::Input {
            path: exp.path.clone(),
            key: train_key(exp, "hidden"),
            value: run.train.hidden.to_string(),
            rule: format!(
                "sampler = \"exact\" enumerates the 2^hidden hidden states at every update: \
                 hidden must be at most {MAX_ENUMERATION_HIDDEN}"
            ),
        });
    }
    if let Some(run) = runs
        .iter()
        .find(|r| r.train.batch_size > datasets[r.dataset].train.len())
    {
        let data = &datasets[run.dataset];
        return Err(RunError::Input {
            path: exp.path.clone(),
            key: train_key(exp, "batch_size"),
            value: run.train.batch_size.to_string(),
            rule: format!(
                "batch_size must not exceed the {} training points of {}",
                data.train.len(),
                data.name
            ),
        });
    }
    Ok(())
}

/// The text `grbm-sweep plan` prints: the run count and one line per run.
pub fn plan(exp: &Experiment) -> String {
    let runs = expand(exp);
    let axes: Vec<&str> = exp.grid.iter().map(|a| a.key).collect();
    let mut out = format!(
        "{}: {} run{} on {}, results in {}\n",
        exp.name,
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        exp.data
            .sources
            .iter()
            .map(|s| s.label.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        exp.output.display()
    );
    if axes.is_empty() {
        out.push_str("grid: none (one run with the [train] values)\n");
    } else {
        out.push_str(&format!("grid: {}\n", axes.join(" x ")));
    }
    for run in &runs {
        out.push_str(&format!(
            "{:>5}  {}  {}\n",
            run.index,
            run.run_id,
            describe(exp, run, &axes)
        ));
    }
    out
}

/// `key=value` for the data set (when there are several) and the swept keys (all keys when nothing is swept).
pub fn describe(exp: &Experiment, run: &RunSpec, axes: &[&str]) -> String {
    let dataset = (exp.data.sources.len() > 1)
        .then(|| format!("dataset={}", exp.data.sources[run.dataset].label));
    let params = run
        .train
        .params()
        .into_iter()
        .filter(|(k, _)| axes.is_empty() || axes.contains(k))
        .map(|(k, v)| format!("{k}={v}"));
    dataset
        .into_iter()
        .chain(params)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Refuses grids larger than `max_runs`, before anything is expanded or written.
pub fn check_size(exp: &Experiment, max_runs: usize) -> Result<usize, RunError> {
    let count = run_count(exp);
    if count > max_runs {
        return Err(RunError::TooManyRuns {
            path: exp.path.clone(),
            count,
            max: max_runs,
        });
    }
    Ok(count)
}

/// Runs every run of the experiment that has no result yet and writes the tables into its
/// results folder. Every input is checked before the folder is touched; each finished run is
/// on disk before it counts as done, and the tables are built from what is on disk.
pub fn run_sweep(exp: &Experiment, opts: &RunOptions) -> Result<SweepReport, RunError> {
    let start = Instant::now();
    check_size(exp, opts.max_runs)?;
    let datasets = (0..exp.data.sources.len())
        .map(|i| Dataset::load(&exp.data, i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut runs = expand(exp);
    check_runs(exp, &datasets, &runs)?;
    if let Some(shard) = opts.shard {
        if opts.fresh {
            return Err(RunError::FreshShard { shard });
        }
        let shard_of = assign_shards(&runs, &datasets, shard.count);
        runs = runs
            .into_iter()
            .zip(shard_of)
            .filter(|(_, s)| *s == shard.index)
            .map(|(r, _)| r)
            .collect();
    }
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunError::Threads {
            threads,
            message: e.to_string(),
        })?;

    let fields = data_fields(exp, &datasets);
    let dir = ResultsDir::open(&exp.output, &fields, opts.fresh, opts.shard)?;
    let done = dir.records();
    let is_reusable = |r: &RunSpec| {
        done.get(&r.run_id)
            .is_some_and(|d| d.status != Status::Failed)
    };
    let reused = runs.iter().filter(|r| is_reusable(r)).count();
    let mut todo: Vec<&RunSpec> = runs.iter().filter(|r| !is_reusable(r)).collect();
    let cost = |r: &RunSpec| shard::cost(r, datasets[r.dataset].train.len());
    todo.sort_by_key(|r| std::cmp::Reverse(cost(r)));
    drop(done);

    let axes: Vec<&str> = exp.grid.iter().map(|a| a.key).collect();
    let epochs: usize = todo.iter().map(|r| r.train.epochs).sum();
    let reporter = Reporter::new(opts.progress, todo.len(), epochs);
    let failed_once = AtomicBool::new(false);
    let should_stop = || {
        opts.interrupt.load(Ordering::SeqCst) != 0
            || (opts.fail_fast && failed_once.load(Ordering::SeqCst))
    };
    // Failed runs are kept in memory for the tables (they are recomputed next time, not reused).
    let failed: Vec<RunRecord> = pool.install(|| {
        todo.into_par_iter()
            .with_max_len(1)
            .filter_map(|spec| {
                if should_stop() {
                    return None;
                }
                let epochs_done = AtomicUsize::new(0);
                let epoch_done = || {
                    epochs_done.fetch_add(1, Ordering::Relaxed);
                    reporter.epoch_done();
                };
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    train_run(&spec.train, &datasets[spec.dataset], &exp.eval, &epoch_done)
                }));
                let mut record = match outcome {
                    Ok(run) => RunRecord::from_trained(spec.clone(), run),
                    Err(panic) => RunRecord::failed(spec.clone(), panic_message(panic.as_ref())),
                };
                if let Err(e) = dir.save(&record) {
                    record = RunRecord::failed(spec.clone(), error_chain(&e));
                }
                if record.status == Status::Failed {
                    failed_once.store(true, Ordering::SeqCst);
                }
                // A run that diverged or failed skips its remaining epochs.
                let skipped = spec.train.epochs - epochs_done.load(Ordering::Relaxed);
                reporter.finished(exp, &record, &axes, skipped);
                (record.status == Status::Failed).then_some(record)
            })
            .collect()
    });
    reporter.done();

    let mut on_disk = dir.records();
    let mut records: Vec<RunRecord> = runs
        .iter()
        .filter_map(|spec| match on_disk.remove(&spec.run_id) {
            Some(stored) if stored.status != Status::Failed => {
                Some(stored.into_record(spec.clone()))
            }
            _ => failed
                .iter()
                .find(|f| f.spec.run_id == spec.run_id)
                .cloned(),
        })
        .collect();
    records.sort_by_key(|r| r.spec.index);
    // Shards share the folder: each leaves only its records (and the one copy of the experiment);
    // `grbm-sweep merge` builds the tables once every shard is done.
    write_experiment_info(exp, opts.shard)?;
    if opts.shard.is_none() {
        write_all(&exp.output, exp, &datasets, &records)?;
    }
    let signal = opts.interrupt.load(Ordering::SeqCst);
    Ok(SweepReport {
        output: exp.output.clone(),
        missing: runs.len() - records.len(),
        records,
        seconds: start.elapsed().as_secs_f64(),
        datasets,
        reused,
        interrupted: (signal != 0).then_some(signal as i32),
        took_over_lock: dir.took_over.clone(),
        shard: opts.shard,
    })
}

/// The shard of every run, from the runs' costs on their data sets.
fn assign_shards(runs: &[RunSpec], datasets: &[Dataset], count: usize) -> Vec<usize> {
    let costs: Vec<u128> = runs
        .iter()
        .map(|r| shard::cost(r, datasets[r.dataset].train.len()))
        .collect();
    shard::assign(runs, &costs, count)
}

/// What `merge` and `plot` need to rebuild the experiment from its results folder alone.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExperimentInfo {
    /// The experiment file, relative to the results folder (relative data paths are taken from
    /// its folder), so that the folder names no path of the machine that wrote it and reads the
    /// same from any working folder.
    experiment: PathBuf,
    /// Shards the sweep was split into (1 for an unsharded sweep).
    shards: usize,
}

const EXPERIMENT_INFO: &str = "experiment.json";

fn write_experiment_info(exp: &Experiment, shard: Option<Shard>) -> Result<(), RunError> {
    let canonical = |p: &Path| std::fs::canonicalize(p).map_err(|e| (p.to_path_buf(), e));
    let experiment = canonical(&exp.output)
        .and_then(|out| Ok(relative_to(&out, &canonical(&exp.path)?)))
        .map_err(|(path, source)| StoreError::Io { path, source })?;
    let info = ExperimentInfo {
        experiment,
        shards: shard.map_or(1, |s| s.count),
    };
    let text = serde_json::to_string_pretty(&info).expect("the info serializes");
    let info_path = exp.output.join(EXPERIMENT_INFO);
    if shard.is_some() {
        publish(&info_path, text.as_bytes())?;
        publish(&exp.output.join("sweep.toml"), exp.text.as_bytes())?;
    } else {
        write_atomically(&info_path, text.as_bytes())?;
    }
    Ok(())
}

/// The path that leads from folder `base` to `target`, both absolute and free of links.
fn relative_to(base: &Path, target: &Path) -> PathBuf {
    let base: Vec<_> = base.components().collect();
    let target: Vec<_> = target.components().collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let up = std::iter::repeat_n(std::path::Component::ParentDir, base.len() - common);
    up.chain(target[common..].iter().copied()).collect()
}

/// What `merge` found.
#[derive(Debug)]
pub struct MergeReport {
    pub report: SweepReport,
    /// Run ids without a result, by the shard that should have computed them.
    pub missing: Vec<(usize, Vec<String>)>,
    pub shards: usize,
    /// The experiment as read back from the folder.
    pub experiment: Experiment,
}

/// A results folder read back: the experiment that wrote it, its data and every run's record.
#[derive(Debug)]
pub struct Folder {
    pub experiment: Experiment,
    pub datasets: Vec<Dataset>,
    /// Every run of the grid, in grid order.
    pub runs: Vec<RunSpec>,
    /// The runs that have a record, in grid order.
    pub records: Vec<RunRecord>,
    /// Shards the sweep was split into (1 for an unsharded sweep).
    pub shards: usize,
}

/// Reads a results folder without locking it (a sweep may still be adding records).
pub fn load_folder(dir: &Path) -> Result<Folder, RunError> {
    let nothing = |reason: String| RunError::NoSweep {
        path: dir.to_path_buf(),
        reason,
    };
    let info_text = std::fs::read_to_string(dir.join(EXPERIMENT_INFO)).map_err(|e| {
        nothing(format!(
            "cannot read {EXPERIMENT_INFO} ({e}); run the sweep or its shards first"
        ))
    })?;
    let info: ExperimentInfo = serde_json::from_str(&info_text)
        .map_err(|e| nothing(format!("{EXPERIMENT_INFO} is damaged ({e})")))?;
    let text = std::fs::read_to_string(dir.join("sweep.toml"))
        .map_err(|e| nothing(format!("cannot read sweep.toml ({e})")))?;
    // An absolute `experiment` (folders of earlier versions) stays as it is.
    let mut experiment = crate::config::parse(&dir.join(&info.experiment), &text)?;
    experiment.output = dir.to_path_buf();
    let datasets = (0..experiment.data.sources.len())
        .map(|i| Dataset::load(&experiment.data, i))
        .collect::<Result<Vec<_>, _>>()?;
    let runs = expand(&experiment);
    let mut on_disk = crate::store::read_records(dir);
    let records = runs
        .iter()
        .filter_map(|run| Some(on_disk.remove(&run.run_id)?.into_record(run.clone())))
        .collect();
    Ok(Folder {
        experiment,
        datasets,
        runs,
        records,
        shards: info.shards,
    })
}

/// Builds the final tables of a (sharded) sweep from every record in its results folder.
pub fn merge(dir: &Path) -> Result<MergeReport, RunError> {
    let start = Instant::now();
    let folder = load_folder(dir)?;
    // Holding the folder's main lock keeps a second merge or an unsharded sweep out while writing.
    let fields = data_fields(&folder.experiment, &folder.datasets);
    let store = ResultsDir::open(dir, &fields, false, None)?;
    let shard_of = assign_shards(&folder.runs, &folder.datasets, folder.shards);
    let mut missing: Vec<(usize, Vec<String>)> =
        (0..folder.shards).map(|s| (s, Vec::new())).collect();
    for (run, shard) in folder.runs.iter().zip(&shard_of) {
        if !folder.records.iter().any(|r| r.spec.run_id == run.run_id) {
            missing[*shard].1.push(run.run_id.clone());
        }
    }
    missing.retain(|(_, ids)| !ids.is_empty());
    write_all(dir, &folder.experiment, &folder.datasets, &folder.records)?;
    let report = SweepReport {
        output: dir.to_path_buf(),
        missing: folder.runs.len() - folder.records.len(),
        reused: folder.records.len(),
        records: folder.records,
        seconds: start.elapsed().as_secs_f64(),
        datasets: folder.datasets,
        interrupted: None,
        took_over_lock: store.took_over.clone(),
        shard: None,
    };
    Ok(MergeReport {
        report,
        missing,
        shards: folder.shards,
        experiment: folder.experiment,
    })
}

/// An error with its causes, `outer: inner: ...`, for the `error` column.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("run panicked: {text}")
}

/// Progress on stderr: a bar on a terminal, plain lines otherwise, nothing when quiet.
struct Reporter {
    bar: Option<ProgressBar>,
    plain: bool,
    total: usize,
    /// Runs finished and the best test_ll so far.
    state: Mutex<(usize, Option<f64>)>,
}

impl Reporter {
    /// On a terminal, a bar of the sweep's training epochs (so that a few long runs still show
    /// progress and an estimate of the time left), with the runs finished and the best test_ll;
    /// otherwise one line per finished run.
    fn new(progress: Progress, total: usize, epochs: usize) -> Self {
        let terminal = progress == Progress::Auto && std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(epochs as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30.cyan/blue} {percent:>3}% of the epochs  [{elapsed_precise} < {eta_precise}]  {msg}")
                    .expect("the template is valid")
                    .progress_chars("=> "),
            );
            bar.set_message(format!("0/{total} runs, best test_ll: -"));
            bar.enable_steady_tick(std::time::Duration::from_secs(1));
            bar
        });
        Reporter {
            bar,
            plain: progress == Progress::Auto && !terminal,
            total,
            state: Mutex::new((0, None)),
        }
    }

    fn epoch_done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Reports a finished run; `skipped` is the number of its epochs that never ran.
    fn finished(&self, exp: &Experiment, record: &RunRecord, axes: &[&str], skipped: usize) {
        let mut state = self
            .state
            .lock()
            .expect("no thread panics while holding the progress lock");
        state.0 += 1;
        if let Some(ll) = record.test_ll() {
            state.1 = Some(state.1.map_or(ll, |best: f64| best.max(ll)));
        }
        let best = state.1.map_or("-".to_string(), |b| format!("{b:.4}"));
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{}/{} runs, best test_ll: {best}",
                state.0, self.total
            ));
            bar.inc(skipped as u64);
        } else if self.plain {
            let result = match (record.status, record.test_ll()) {
                (Status::Ok, Some(ll)) => format!("test_ll={ll:.4}"),
                _ => format!(
                    "{}: {}",
                    record.status.name(),
                    record.error.as_deref().unwrap_or("")
                ),
            };
            eprintln!(
                "[{}/{}] {} {} {}  (best {best})",
                state.0,
                self.total,
                record.spec.run_id,
                describe(exp, &record.spec, axes),
                result
            );
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// The text printed after a sweep: counts, where the tables are, and the best runs of each data set.
pub fn summary(exp: &Experiment, report: &SweepReport, top: usize) -> String {
    let count = |s: Status| report.records.iter().filter(|r| r.status == s).count();
    let mut out = format!(
        "{}{}: {} of {} runs in {:.1}s ({} reused from earlier results): {} ok, {} diverged, {} failed\nresults: {}\n",
        exp.name,
        report
            .shard
            .map_or(String::new(), |s| format!(" shard {s}")),
        report.records.len(),
        report.records.len() + report.missing,
        report.seconds,
        report.reused,
        count(Status::Ok),
        count(Status::Diverged),
        count(Status::Failed),
        report.output.display()
    );
    let axes: Vec<&str> = exp.grid.iter().map(|a| a.key).collect();
    for (index, data) in report.datasets.iter().enumerate() {
        let mut ranked: Vec<(&RunRecord, f64)> = report
            .records
            .iter()
            .filter(|r| r.spec.dataset == index)
            .filter_map(|r| r.test_ll().map(|ll| (r, ll)))
            .collect();
        if ranked.is_empty() {
            continue;
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.push_str(&format!(
            "\nbest {} of {} on {}",
            top.min(ranked.len()),
            ranked.len(),
            data.name
        ));
        match data.true_ll {
            Some(t) => out.push_str(&format!(
                " (true_ll = {t:.4}; gap = true_ll - test_ll, nats per point):\n"
            )),
            None => out.push_str(" (nats per point):\n"),
        }
        out.push_str(&format!(
            "  {:<16}  {:>9}  {:>9}  {:>7}  {}\n",
            "run_id", "test_ll", "train_ll", "gap", "parameters"
        ));
        for (r, test_ll) in ranked.iter().take(top) {
            let train_ll = r
                .run
                .as_ref()
                .and_then(|run| run.evaluation)
                .map_or(f64::NAN, |e| e.train_ll);
            let gap = data
                .true_ll
                .map_or("-".to_string(), |t| format!("{:.4}", t - test_ll));
            out.push_str(&format!(
                "  {:<16}  {:>9.4}  {:>9.4}  {:>7}  {}\n",
                r.spec.run_id,
                test_ll,
                train_ll,
                gap,
                describe(exp, &r.spec, &axes)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        let rel = |a: &str, b: &str| relative_to(Path::new(a), Path::new(b));
        assert_eq!(
            rel("/w/results/s", "/w/exp/s.toml"),
            PathBuf::from("../../exp/s.toml")
        );
        assert_eq!(
            rel("/w/exp/out", "/w/exp/s.toml"),
            PathBuf::from("../s.toml")
        );
        assert_eq!(rel("/w", "/w/s.toml"), PathBuf::from("s.toml"));
        assert_eq!(rel("/a/b", "/c/s.toml"), PathBuf::from("../../c/s.toml"));
    }
}
