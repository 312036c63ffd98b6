//! A results folder read back without the process that wrote it: what `merge` and `plot` need to rebuild the experiment (`experiment.json`), the folder as a whole, and the merge of a sharded sweep's records into its tables.

use super::halving::{RungRow, standing};
use super::journal::{Damage, records_of, scan};
use super::record::RunRecord;
use super::store::{EXPERIMENT_INFO, ExperimentInfo, ResultsDir, lock_holders};
use super::tables::write_all;
use super::tableset::{TableSetError, Tables, notes, open_tables};
use super::{RunError, SweepReport, assign_shards, data_fields, halving_of, load_datasets};
use crate::data::Dataset;
use crate::experiment::Experiment;
use crate::experiment::grid::{RunSpec, expand};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// What `merge` found.
#[derive(Debug)]
pub struct MergeReport {
    pub report: SweepReport,
    /// Run ids without a result, by the shard that should have computed them.
    pub missing: Vec<(usize, Vec<String>)>,
    /// For a halving search that is not done, the rung those runs belong to.
    pub rung: Option<usize>,
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
    pub runs: Vec<Arc<RunSpec>>,
    /// The runs that have a record, in grid order (for a halving search: the runs whose fate
    /// is decided, pruned ones included).
    pub records: Vec<RunRecord>,
    /// A halving search's rows of `rungs.parquet` (empty for other searches).
    pub rungs: Vec<RungRow>,
    /// A halving search's lowest rung still to train: its index, the runs that entered it, and
    /// the ids of those without a result.
    pub next_rung: Option<(usize, Vec<RunSpec>, Vec<String>)>,
    /// Shards the sweep was split into (1 for an unsharded sweep).
    pub shards: usize,
    /// Records found damaged: their runs count as without a result until computed again.
    pub damaged: Vec<Damage>,
    /// The committed tables, opened before the records were read (`None`: none yet).
    pub tables: Result<Option<Tables>, TableSetError>,
    /// What a reader should say of the folder besides what it shows: a sweep in progress,
    /// tables that disagree with the records or cannot be read (empty for a finished folder).
    pub notes: Vec<String>,
}

/// Why a run id given on the command line (`verify --run`, `plot --run`) names no single run.
#[derive(Debug, thiserror::Error)]
pub enum RunIdError {
    #[error("{dir} has no {what} {prefix}")]
    NoMatch {
        dir: PathBuf,
        /// "record of a run" or "finished run with id": the runs that were searched.
        what: &'static str,
        prefix: String,
    },
    #[error("{dir}: the run id prefix {prefix} is ambiguous: it begins {} run ids: {}; give more of the id", ids.len(), ids.join(", "))]
    Ambiguous {
        dir: PathBuf,
        prefix: String,
        ids: Vec<String>,
    },
}

impl Folder {
    /// The run with a record (`finished`: and an evaluation, the runs `plot` can draw) whose id
    /// is `prefix` or begins with it, so that a user can type the first few hex digits of an id;
    /// a prefix shared by several runs is refused with their ids rather than guessed, and an
    /// empty one matches nothing. `dir` names the folder in errors.
    pub fn resolve_run(
        &self,
        dir: &Path,
        prefix: &str,
        finished: bool,
    ) -> Result<&RunRecord, RunIdError> {
        let candidates = self
            .records
            .iter()
            .filter(|r| !finished || r.test_ll().is_some());
        // A whole id is that run even if (impossibly for ids of one length) it began another.
        let matches: Vec<&RunRecord> = match candidates.clone().find(|r| r.spec.run_id == prefix) {
            Some(exact) => vec![exact],
            None if prefix.is_empty() => Vec::new(),
            None => candidates
                .filter(|r| r.spec.run_id.starts_with(prefix))
                .collect(),
        };
        match matches[..] {
            [one] => Ok(one),
            [] => Err(RunIdError::NoMatch {
                dir: dir.to_path_buf(),
                what: if finished {
                    "finished run with id"
                } else {
                    "record of a run"
                },
                prefix: prefix.to_string(),
            }),
            _ => {
                // Sorted, so the ids that begin alike stand together to be told apart.
                let mut ids: Vec<String> = matches.iter().map(|r| r.spec.run_id.clone()).collect();
                ids.sort();
                Err(RunIdError::Ambiguous {
                    dir: dir.to_path_buf(),
                    prefix: prefix.to_string(),
                    ids,
                })
            }
        }
    }
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
    let mut experiment = crate::experiment::parse(&dir.join(&info.experiment), &text)?;
    experiment.output = dir.to_path_buf();
    let datasets = load_datasets(&experiment)?;
    let runs = expand(&experiment);
    // The tables before the records: a set committed meanwhile holds no run the records lack.
    let tables = open_tables(dir);
    // Shared by the list of runs and their records: each run's specification is held once.
    // Not collected in place: that would keep the specifications' whole allocation for the
    // pointers (200 MB at a million runs).
    let shared = |runs: Vec<RunSpec>| -> Vec<Arc<RunSpec>> {
        let mut shared = Vec::with_capacity(runs.len());
        shared.extend(runs.into_iter().map(Arc::new));
        shared
    };
    let (runs, records, rungs, next_rung, damaged) = match halving_of(&experiment) {
        None => {
            let runs = shared(runs);
            let (records, damaged) = records_of(dir, &runs);
            (runs, records, Vec::new(), None, damaged)
        }
        Some(halving) => {
            let damaged = scan(dir).damaged;
            let standing = standing(dir, &runs, &datasets, halving, &[]);
            let next = standing.next.map(|n| {
                let entering = n.entering.iter().map(|r| (*r).clone()).collect();
                (
                    n.rung,
                    entering,
                    n.todo.iter().map(|r| r.run_id.clone()).collect(),
                )
            });
            let (records, rows) = (standing.records, standing.rows);
            (shared(runs), records, rows, next, damaged)
        }
    };
    let notes = notes(dir, &tables, &records, runs.len(), &lock_holders(dir));
    Ok(Folder {
        experiment,
        datasets,
        runs,
        records,
        rungs,
        next_rung,
        shards: info.shards,
        damaged,
        tables,
        notes,
    })
}

/// Builds the final tables of a (sharded) sweep from every record in its results folder.
pub fn merge(dir: &Path) -> Result<MergeReport, RunError> {
    let start = Instant::now();
    let folder = load_folder(dir)?;
    // Holding the folder's main lock keeps a second merge or an unsharded sweep out while writing.
    let fields = data_fields(&folder.experiment, &folder.datasets);
    let store = ResultsDir::open(dir, &fields, false, None)?;
    // A halving search's shards split each rung's runs; only the lowest rung not done can lack
    // results (the later ones have not started).
    let (pool, rung): (Vec<&RunSpec>, _) = match &folder.next_rung {
        Some((rung, entering, _)) => (entering.iter().collect(), Some(*rung)),
        None => (folder.runs.iter().map(|r| &**r).collect(), None),
    };
    // The ids a run is looked up in, as a hash set: one lookup per run, not a scan of a list.
    enum Known<'a> {
        Todo(HashSet<&'a str>),
        Recorded(HashSet<&'a str>),
    }
    let known = match &folder.next_rung {
        Some((_, _, todo)) => Known::Todo(todo.iter().map(String::as_str).collect()),
        None => Known::Recorded(
            folder
                .records
                .iter()
                .map(|r| r.spec.run_id.as_str())
                .collect(),
        ),
    };
    let has_result = |run: &RunSpec| match &known {
        Known::Todo(todo) => !todo.contains(run.run_id.as_str()),
        Known::Recorded(recorded) => recorded.contains(run.run_id.as_str()),
    };
    let shard_of = assign_shards(&pool, &folder.datasets, folder.shards);
    let mut missing: Vec<(usize, Vec<String>)> =
        (0..folder.shards).map(|s| (s, Vec::new())).collect();
    for (run, shard) in pool.into_iter().zip(&shard_of) {
        if !has_result(run) {
            missing[*shard].1.push(run.run_id.clone());
        }
    }
    missing.retain(|(_, ids)| !ids.is_empty());
    write_all(
        dir,
        &folder.experiment,
        &folder.datasets,
        &folder.records,
        &folder.rungs,
    )?;
    let report = SweepReport {
        output: dir.to_path_buf(),
        missing: folder.runs.len() - folder.records.len(),
        paused: 0,
        reused: folder.records.len(),
        records: folder.records,
        seconds: start.elapsed().as_secs_f64(),
        datasets: folder.datasets,
        interrupted: None,
        took_over_lock: store.took_over.clone(),
        shard: None,
        damaged: folder.damaged,
    };
    Ok(MergeReport {
        report,
        missing,
        rung,
        shards: folder.shards,
        experiment: folder.experiment,
    })
}
