//! Running a sweep: checks before anything is written, rayon across runs, failure capture, and the results folder the runs are kept in (records, lock, manifest, tables).

pub mod configs;
pub mod cost;
pub mod folder;
pub mod halving;
pub mod journal;
pub mod provenance;
pub mod record;
pub mod store;
pub mod tables;
pub mod tableset;
pub mod verify;

use crate::cluster::shard::{self, Shard};
use crate::data::{DataError, Dataset};
use crate::estimate::EvalConfig;
use crate::experiment::grid::{RunSpec, expand, run_count};
use crate::experiment::search::Strategy;
use crate::experiment::{ConfigError, Experiment};
use crate::identity::{Field, hex_id};
use crate::io::WriteError;
use crate::train::{AfterEpoch, EpochEnd, RunState, Segment, Steer, train_until};
use halving::Halving;
use rayon::prelude::*;
use record::{RunRecord, Status};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;
use store::{ResultsDir, StoreError};
use tables::{OutputError, write_all};

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
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(
        "{path}: the grid expands to {count} runs, more than --max-runs {max}; shrink the [grid] lists (or [search] samples) or raise --max-runs"
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
    /// Saving a run's result failed for a reason that is not the run's (a full disk, an I/O
    /// error): the sweep stopped at once; what was saved before is kept.
    #[error(
        "the sweep stopped because its results could not be saved: {}; the runs saved before are kept: \
         make room (or fix the folder) and run the same command again to compute the rest",
        error_chain(source)
    )]
    Storage { source: StoreError },
}

impl RunError {
    /// The exit status for this error: 3 when the results folder failed during the sweep,
    /// 2 for every error found before anything was trained.
    pub fn exit_status(&self) -> u8 {
        match self {
            RunError::Storage { .. } => 3,
            _ => 2,
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
    /// Of the `missing` runs, those an interrupt paused: their state is saved, and the next
    /// sweep continues them from it.
    pub paused: usize,
    /// The signal that stopped the sweep early, if one did.
    pub interrupted: Option<i32>,
    /// Set when the lock of a process that ended without releasing it was taken over: that
    /// process, as its lock file named it ("process PID on HOST").
    pub took_over_lock: Option<String>,
    /// The shard this process computed (its records only; no tables), if any.
    pub shard: Option<Shard>,
    /// Records found damaged in the folder; their runs were computed again.
    pub damaged: Vec<journal::Damage>,
}

/// The manifest's field of the columns the data files were read from: each file data set's name
/// and its two point columns.
pub(crate) const POINT_COLUMNS: &str = "point_columns";

/// The `[data]` section as the manifest keeps it, plus a fingerprint of the points each data set
/// holds: a data file edited in place (or a generator that changed) makes the earlier results
/// of the folder unusable instead of silently reused. With data files, also the two columns
/// each was read from ([`POINT_COLUMNS`]).
pub(crate) fn data_fields(exp: &Experiment, datasets: &[Dataset]) -> Vec<(&'static str, Field)> {
    let mut fields = exp.data.fields();
    let prints = datasets
        .iter()
        .map(|d| {
            let bytes: Vec<u8> = [&d.train, &d.test, &d.valid]
                .into_iter()
                .flatten()
                .flat_map(|p| p.iter().flat_map(|v| v.to_le_bytes()))
                .collect();
            Field::text(format!("{}:{}", d.name, hex_id(&bytes)))
        })
        .collect();
    fields.push(("points", Field::List(prints)));
    // Only with a data file: a generator's folder keeps the manifest it had before files'
    // columns were recorded, so it stays usable.
    let columns: Vec<Field> = datasets
        .iter()
        .filter_map(|d| {
            let [x, y] = d.columns.as_ref()?;
            Some(Field::List(vec![
                Field::text(&d.name),
                Field::text(x),
                Field::text(y),
            ]))
        })
        .collect();
    if !columns.is_empty() {
        fields.push((POINT_COLUMNS, Field::List(columns)));
    }
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
    for run in runs {
        if let Err(broken) = run.train.sampler.check(&run.train) {
            let value = run
                .train
                .get(broken.key)
                .map_or(String::new(), |v| v.to_string());
            return Err(RunError::Input {
                path: exp.path.clone(),
                key: train_key(exp, broken.key),
                value,
                rule: broken.rule,
            });
        }
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

/// What a sweep tells about its progress as it goes (the report module shows it).
pub trait Observer: Sync {
    /// `runs` runs of `epochs` training epochs in all are about to start.
    fn start(&self, _runs: usize, _epochs: usize) {}
    fn epoch_done(&self) {}
    /// A run ended; `skipped` of its epochs never ran (it diverged or failed).
    fn run_done(&self, _record: &RunRecord, _skipped: usize) {}
    fn finish(&self) {}
    /// The sweep was asked to stop (SIGINT or SIGTERM): says at once what happens next, even
    /// when the progress is not shown.
    fn stopping(&self, in_progress: usize) {
        eprintln!("{}", stopping_message(in_progress));
    }
}

/// What the first SIGINT or SIGTERM is answered with.
pub fn stopping_message(in_progress: usize) -> String {
    let runs = match in_progress {
        0 => String::new(),
        1 => ", the 1 run in progress saves its state at the end of its epoch".to_string(),
        n => format!(", the {n} runs in progress save their state at the end of their epoch"),
    };
    format!("stopping: no new run starts{runs}; press Ctrl-C again to stop now")
}

/// An observer that shows nothing.
pub struct Silent;

impl Observer for Silent {}

/// Runs every run of the experiment that has no result yet and writes the tables into its
/// results folder. Every input is checked before the folder is touched; each finished run is
/// on disk before it counts as done, and the tables are built from what is on disk.
pub fn run_sweep(
    exp: &Experiment,
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<SweepReport, RunError> {
    let start = Instant::now();
    check_size(exp, opts.max_runs)?;
    let datasets = load_datasets(exp)?;
    let runs = runs_of_this_process(exp, &datasets, opts)?;
    let pool = thread_pool(opts.threads)?;
    let dir = ResultsDir::open(
        &exp.output,
        &data_fields(exp, &datasets),
        opts.fresh,
        opts.shard,
    )?;
    // Written before any run, so that `report`, `plot` and `verify` read the folder while the
    // sweep runs.
    store::write_experiment_info(exp, opts.shard)?;
    let batch = Batch {
        exp,
        datasets: &datasets,
        dir: &dir,
        opts,
        observer,
        failed_once: AtomicBool::new(false),
        storage_error: std::sync::Mutex::new(None),
        in_progress: AtomicUsize::new(0),
        paused: AtomicUsize::new(0),
        paused_before: dir.paused_runs(),
    };
    let n_runs = runs.len();
    let (records, rungs, reused, damaged) = match halving_of(exp) {
        None => {
            let (todo, reused, damaged) = runs_to_compute(&dir, &runs, &datasets);
            observer.start(todo.len(), todo.iter().map(|r| r.train.epochs).sum());
            let failed = batch.train_answering(&pool, todo);
            observer.finish();
            batch.stored()?;
            let records = collect_records(&dir, runs, failed);
            (records, Vec::new(), reused, damaged)
        }
        Some(halving) => {
            let damaged = dir.records().damaged;
            let before = halving::standing(dir.path(), &runs, &datasets, halving, &[]);
            let decided = before.records.len();
            observer.start(
                runs.len() - decided,
                halving.planned_epochs_of(&runs, &before),
            );
            let failed = pool.install(|| batch.halve(&runs, halving));
            observer.finish();
            batch.stored()?;
            let after = halving::standing(dir.path(), &runs, &datasets, halving, &failed);
            (after.records, after.rows, decided, damaged)
        }
    };
    // Shards share the folder: each leaves only its records (and the one copy of the experiment);
    // `grbm-sweep merge` builds the tables once every shard is done.
    if opts.shard.is_none() {
        write_all(&exp.output, exp, &datasets, &records, &rungs)?;
    }
    let signal = opts.interrupt.load(Ordering::SeqCst);
    Ok(SweepReport {
        output: exp.output.clone(),
        missing: n_runs - records.len(),
        paused: batch.paused.load(Ordering::SeqCst),
        records,
        seconds: start.elapsed().as_secs_f64(),
        datasets,
        reused,
        interrupted: (signal != 0).then_some(signal as i32),
        took_over_lock: dir.took_over.clone(),
        shard: opts.shard,
        damaged,
    })
}

/// The halving settings of a halving search.
pub fn halving_of(exp: &Experiment) -> Option<Halving> {
    (exp.search.strategy == Strategy::Halving).then(|| Halving {
        min_epochs: exp
            .search
            .min_epochs
            .expect("a halving search has min_epochs"),
        eta: exp.search.eta,
    })
}

/// Every data set of the experiment, drawn or read.
pub fn load_datasets(exp: &Experiment) -> Result<Vec<Dataset>, RunError> {
    (0..exp.data.sources.len())
        .map(|i| Dataset::load(&exp.data, i).map_err(RunError::from))
        .collect()
}

/// The runs of the grid, checked, less those of other shards.
fn runs_of_this_process(
    exp: &Experiment,
    datasets: &[Dataset],
    opts: &RunOptions,
) -> Result<Vec<RunSpec>, RunError> {
    let runs = expand(exp);
    check_runs(exp, datasets, &runs)?;
    let Some(shard) = opts.shard else {
        return Ok(runs);
    };
    if opts.fresh {
        return Err(RunError::FreshShard { shard });
    }
    if halving_of(exp).is_some() {
        // A halving shard takes its share rung by rung, of the runs that enter the rung.
        return Ok(runs);
    }
    let shard_of = assign_shards(&runs, datasets, shard.count);
    Ok(runs
        .into_iter()
        .zip(shard_of)
        .filter(|(_, s)| *s == shard.index)
        .map(|(r, _)| r)
        .collect())
}

fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, RunError> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunError::Threads {
            threads,
            message: e.to_string(),
        })
}

/// The runs without a usable result in the folder, costliest first, how many have one, and the
/// damaged records (whose runs are among those to compute).
fn runs_to_compute<'r>(
    dir: &ResultsDir,
    runs: &'r [RunSpec],
    datasets: &[Dataset],
) -> (Vec<&'r RunSpec>, usize, Vec<journal::Damage>) {
    // Only this process's runs are looked for: a shard holds the statuses of its share.
    let (statuses, damaged) = journal::statuses_of(dir.path(), runs);
    let reusable = |s: &Option<Status>| s.is_some_and(|s| s != Status::Failed);
    let reused = statuses.iter().filter(|s| reusable(s)).count();
    let mut todo: Vec<&RunSpec> = runs
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| !reusable(s))
        .map(|(r, _)| r)
        .collect();
    todo.sort_by_key(|r| std::cmp::Reverse(shard::cost(r, datasets[r.dataset].train.len())));
    (todo, reused, damaged)
}

/// What the worker threads of one sweep share while they train its runs.
struct Batch<'a> {
    exp: &'a Experiment,
    datasets: &'a [Dataset],
    dir: &'a ResultsDir,
    opts: &'a RunOptions,
    observer: &'a dyn Observer,
    failed_once: AtomicBool,
    /// The first failure to save a result (not the run's fault): no run starts after it.
    storage_error: std::sync::Mutex<Option<StoreError>>,
    /// Runs started and not ended: in training now, or paused by an interrupt (a paused run
    /// stays counted, so that the answer to the interrupt never misses one that paused
    /// before it was counted).
    in_progress: AtomicUsize,
    /// Runs paused by an interrupt, their state saved.
    paused: AtomicUsize,
    /// The runs whose paused state an earlier sweep saved ([`ResultsDir::paused_runs`]).
    paused_before: HashSet<String>,
}

impl Batch<'_> {
    /// Trains `todo` across the pool's threads, one run per task; returns the failed runs'
    /// records, which are kept in memory for the tables (they are recomputed next time).
    fn train_all(&self, todo: Vec<&RunSpec>) -> Vec<RunRecord> {
        todo.into_par_iter()
            .with_max_len(1)
            .filter_map(|spec| {
                if self.should_stop() {
                    return None;
                }
                let record = self.train_one(spec)?;
                (record.status == Status::Failed).then_some(record)
            })
            .collect()
    }

    /// Trains `todo` as [`Self::train_all`] does, and answers the first interrupt at once (a
    /// signal handler cannot print): a thread watches for it while the runs train.
    fn train_answering(&self, pool: &rayon::ThreadPool, todo: Vec<&RunSpec>) -> Vec<RunRecord> {
        let trained = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                loop {
                    // Read before the interrupt: a signal that stopped the last run is answered.
                    let done = trained.load(Ordering::SeqCst);
                    if self.opts.interrupt.load(Ordering::SeqCst) != 0 {
                        self.observer
                            .stopping(self.in_progress.load(Ordering::SeqCst));
                        return;
                    }
                    if done {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            });
            let failed = pool.install(|| self.train_all(todo));
            trained.store(true, Ordering::SeqCst);
            failed
        })
    }

    fn should_stop(&self) -> bool {
        self.opts.interrupt.load(Ordering::SeqCst) != 0
            || (self.opts.fail_fast && self.failed_once.load(Ordering::SeqCst))
            || self.storage_failed()
    }

    fn storage_failed(&self) -> bool {
        self.storage_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Notes the first storage failure, which stops the sweep.
    fn storage_failure(&self, e: StoreError) {
        let mut first = self.storage_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e);
    }

    /// Every result saved durably, or the storage failure that stopped the sweep.
    fn stored(&self) -> Result<(), RunError> {
        let first = self
            .storage_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match first {
            Some(source) => Err(RunError::Storage { source }),
            None => self
                .dir
                .sync()
                .map_err(|source| RunError::Storage { source }),
        }
    }

    /// Trains a halving search rung by rung until it is done (or, for a shard, this shard's
    /// share of the lowest rung not done yet); returns the failed runs' records.
    fn halve(&self, runs: &[RunSpec], halving: Halving) -> Vec<RunRecord> {
        let mut failed: Vec<RunRecord> = Vec::new();
        // Runs pruned before this process started are not reported as done by it.
        let mut reported: Option<HashSet<String>> = None;
        loop {
            let standing =
                halving::standing(self.dir.path(), runs, self.datasets, halving, &failed);
            self.report_pruned(&standing.records, &mut reported);
            let Some(next) = standing.next else {
                break;
            };
            let todo: Vec<&RunSpec> = match self.opts.shard {
                None => next.todo,
                Some(shard) => {
                    let entering: Vec<RunSpec> =
                        next.entering.iter().map(|r| (*r).clone()).collect();
                    let shard_of = assign_shards(&entering, self.datasets, shard.count);
                    let mine: HashSet<&str> = (next.entering.iter().zip(shard_of))
                        .filter(|(_, s)| *s == shard.index)
                        .map(|(r, _)| r.run_id.as_str())
                        .collect();
                    next.todo
                        .into_iter()
                        .filter(|r| mine.contains(r.run_id.as_str()))
                        .collect()
                }
            };
            let (epoch, from) = (next.epoch, next.from);
            let newly: Vec<RunRecord> = todo
                .into_par_iter()
                .with_max_len(1)
                .filter_map(|spec| {
                    if self.should_stop() {
                        return None;
                    }
                    self.train_rung(spec, from, epoch)
                })
                .collect();
            failed.extend(newly);
            if self.opts.shard.is_some() || self.should_stop() {
                break;
            }
        }
        failed
    }

    /// Tells the observer of the runs that `records` shows pruned and that were not reported yet
    /// (`reported` is `None` before the first call, which only takes note of them).
    fn report_pruned(&self, records: &[RunRecord], reported: &mut Option<HashSet<String>>) {
        let pruned = records.iter().filter(|r| r.status == Status::Pruned);
        match reported {
            None => *reported = Some(pruned.map(|r| r.spec.run_id.clone()).collect()),
            Some(seen) => {
                for record in pruned {
                    if seen.insert(record.spec.run_id.clone()) {
                        self.observer.run_done(record, 0);
                    }
                }
            }
        }
    }

    /// One run of a halving rung: continued from its state at epoch `from` (or started) and
    /// trained to `epoch`, then saved as paused at this rung or, if it ended, kept like any
    /// run's record. Returns the record of a failed run.
    fn train_rung(&self, spec: &RunSpec, from: Option<usize>, epoch: usize) -> Option<RunRecord> {
        let data = &self.datasets[spec.dataset];
        let eval = &self.exp.eval;
        let state = match from {
            None => None,
            Some(e) => match halving::read_rung(self.dir.path(), e, &spec.run_id) {
                Some(saved) => Some(saved.state),
                None => {
                    let error =
                        format!("its state at epoch {e} is missing from the results folder");
                    return Some(self.keep(RunRecord::failed(spec.clone(), error), 0));
                }
            },
        };
        let epoch_done = || self.observer.epoch_done();
        let record = match train_segment(spec, data, eval, state, epoch, &epoch_done) {
            Ok(Segment::Paused(state)) => {
                let rung = halving::RungState::measured(spec, data, eval, state);
                match halving::save_rung(self.dir, epoch, &spec.run_id, &rung) {
                    Ok(()) => return None,
                    // A state with a non-finite number is the run's doing; a full disk is not.
                    Err(e @ StoreError::Unsavable { .. }) => {
                        RunRecord::failed(spec.clone(), error_chain(&e))
                    }
                    Err(e) => {
                        self.storage_failure(e);
                        return None;
                    }
                }
            }
            Ok(Segment::Ended(run)) => RunRecord::from_trained(spec.clone(), run),
            Err(panic) => RunRecord::failed(spec.clone(), panic),
        };
        let record = self.keep(record, 0);
        (record.status == Status::Failed).then_some(record)
    }

    /// One run, trained (from its paused state, if one is saved), saved and reported; a panic
    /// makes a failed record. `None` when an interrupt paused it (its state saved) or its save
    /// failed.
    fn train_one(&self, spec: &RunSpec) -> Option<RunRecord> {
        self.in_progress.fetch_add(1, Ordering::SeqCst);
        let id = &spec.run_id;
        let resumed = self.paused_before.contains(id);
        let from = resumed.then(|| self.dir.paused(id)).flatten();
        let steer = Steered {
            batch: self,
            run_id: id,
            epochs_done: AtomicUsize::new(0),
            saved: std::cell::Cell::new(Instant::now()),
            checkpointed: std::cell::Cell::new(false),
        };
        let data = &self.datasets[spec.dataset];
        let trained = train_segment(spec, data, &self.exp.eval, from, spec.train.epochs, &steer);
        let record = match trained {
            Ok(Segment::Ended(run)) => RunRecord::from_trained(spec.clone(), run),
            Ok(Segment::Paused(state)) => {
                if self.save_paused(&spec.run_id, &state) {
                    self.paused.fetch_add(1, Ordering::SeqCst);
                }
                return None;
            }
            Err(panic) => RunRecord::failed(spec.clone(), panic),
        };
        self.in_progress.fetch_sub(1, Ordering::SeqCst);
        // A run that diverged or failed skips its remaining epochs.
        let skipped = spec.train.epochs - steer.epochs_done.load(Ordering::Relaxed);
        let record = self.keep(record, skipped);
        if (resumed || steer.checkpointed.get()) && !self.storage_failed() {
            self.dir.forget_paused(id);
        }
        Some(record)
    }

    /// Saves a run's paused state; whether it is saved. A state that cannot be written as JSON
    /// (a non-finite number) is left unsaved: the run starts over next time. Any other failure
    /// is the storage's, which stops the sweep.
    fn save_paused(&self, run_id: &str, state: &RunState) -> bool {
        match self.dir.save_paused(run_id, state) {
            Ok(()) => true,
            Err(StoreError::Unsavable { .. }) => false,
            Err(e) => {
                self.storage_failure(e);
                false
            }
        }
    }

    /// A run's record saved, noted if it failed, and reported with the `skipped` epochs it did
    /// not train. A save that fails stops the sweep ([`RunError::Storage`]): the run did nothing
    /// wrong, so it is not marked failed, only left unsaved for the next sweep.
    fn keep(&self, record: RunRecord, skipped: usize) -> RunRecord {
        if let Err(e) = self.dir.save(&record) {
            self.storage_failure(e);
            return record;
        }
        if record.status == Status::Failed {
            self.failed_once.store(true, Ordering::SeqCst);
        }
        self.observer.run_done(&record, skipped);
        record
    }
}

/// The record of every run of `runs` that has one, in grid order: from the folder, or failed in
/// this process (a failed record on disk is of an earlier try, and its run was tried again).
fn collect_records(dir: &ResultsDir, runs: Vec<RunSpec>, failed: Vec<RunRecord>) -> Vec<RunRecord> {
    // Each record shares its run's specification, as a folder read does, rather than holding a
    // copy of it beside the list of runs (200 bytes per run).
    let runs: Vec<Arc<RunSpec>> = runs.into_iter().map(Arc::new).collect();
    let (mut on_disk, _) = journal::records_of(dir.path(), &runs);
    if failed.is_empty() {
        // In place: no second list of every record beside the first.
        on_disk.retain(|r| r.status != Status::Failed);
        return on_disk;
    }
    let mut failed: HashMap<String, RunRecord> = failed
        .into_iter()
        .map(|f| (f.spec.run_id.clone(), f))
        .collect();
    let mut on_disk = on_disk
        .into_iter()
        .filter(|r| r.status != Status::Failed)
        .peekable();
    let mut records = Vec::with_capacity(runs.len());
    for spec in &runs {
        match on_disk.next_if(|r| r.spec.run_id == spec.run_id) {
            Some(record) => records.push(record),
            None => records.extend(failed.remove(&spec.run_id)),
        }
    }
    records
}

/// The shard of every run, from the runs' costs on their data sets.
pub(crate) fn assign_shards<S: std::borrow::Borrow<RunSpec>>(
    runs: &[S],
    datasets: &[Dataset],
    count: usize,
) -> Vec<usize> {
    let costs: Vec<u128> = runs
        .iter()
        .map(|r| {
            let r = r.borrow();
            shard::cost(r, datasets[r.dataset].train.len())
        })
        .collect();
    shard::assign(runs, &costs, count)
}

/// An error with its causes, `outer: inner: ...`, for the `error` column and `verify`'s lines.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// How a sweep steers one of its runs: progress, a pause when the sweep is interrupted or its
/// storage failed, and the run's state saved every `[eval] checkpoint_minutes`, so that a kill
/// loses at most that much of it.
struct Steered<'b> {
    batch: &'b Batch<'b>,
    run_id: &'b str,
    /// Epochs trained by this process (the progress counts a resumed run's earlier epochs as
    /// skipped).
    epochs_done: AtomicUsize,
    /// When the run's state was last saved (or the run started), and whether it was.
    saved: std::cell::Cell<Instant>,
    checkpointed: std::cell::Cell<bool>,
}

impl Steer for Steered<'_> {
    fn epoch_done(&self) {
        self.epochs_done.fetch_add(1, Ordering::Relaxed);
        self.batch.observer.epoch_done();
    }

    fn after_epoch(&self, end: &EpochEnd<'_, '_>) -> AfterEpoch {
        let batch = self.batch;
        if batch.opts.interrupt.load(Ordering::SeqCst) != 0 || batch.storage_failed() {
            return AfterEpoch::Pause;
        }
        let minutes = batch.exp.eval.checkpoint_minutes;
        if minutes > 0.0 && self.saved.get().elapsed().as_secs_f64() >= 60.0 * minutes {
            batch.save_paused(self.run_id, &end.state());
            self.saved.set(Instant::now());
            self.checkpointed.set(true);
        }
        AfterEpoch::Continue
    }
}

/// One run trained on its data set as a sweep trains it; a panic makes a failed record.
pub(crate) fn train_record(
    spec: &RunSpec,
    data: &Dataset,
    eval: &EvalConfig,
    epoch_done: &dyn Fn(),
) -> RunRecord {
    match train_segment(spec, data, eval, None, spec.train.epochs, &epoch_done) {
        Ok(Segment::Ended(run)) => RunRecord::from_trained(spec.clone(), run),
        Ok(Segment::Paused(_)) => unreachable!("a run trained to its last epoch ends"),
        Err(panic) => RunRecord::failed(spec.clone(), panic),
    }
}

/// A run trained from `from` (or its start) up to epoch `until`; a panic, or a saved state of
/// another sampler, is returned as its message.
pub(crate) fn train_segment(
    spec: &RunSpec,
    data: &Dataset,
    eval: &EvalConfig,
    from: Option<RunState>,
    until: usize,
    steer: &dyn Steer,
) -> Result<Segment, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if crate::io::panics_in(&spec.run_id) {
            panic!("a fault injected by GRBM_SWEEP_FAULT");
        }
        train_until(&spec.train, data, eval, from, until, steer)
    }))
    .map_err(|panic| panic_message(panic.as_ref()))?
    .map_err(|wrong| format!("cannot resume the run: {wrong}"))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("run panicked: {text}")
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
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
            fresh: false,
            fail_fast: false,
            max_runs: DEFAULT_MAX_RUNS,
            interrupt: Arc::new(AtomicUsize::new(0)),
            shard: None,
        }
    }
}
