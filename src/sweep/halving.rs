//! Successive halving (`[search] strategy = "halving"`): the rungs of a search, the run states saved at each, and the walk that decides, from the saved files alone, which runs each rung trains, which go on and which stop.
//!
//! Every decision is a function of the files in the results folder (the rung states and the
//! records), never of timing or of which process computed what: the same experiment gives the
//! same rungs on any number of threads or shards, and after a kill and a restart.

use super::journal::scan;
use super::record::{RunRecord, Status};
use super::store::{RUNGS_DIR, ResultsDir, StoreError};
use crate::data::Dataset;
use crate::estimate::EvalConfig;
use crate::estimate::Evaluation;
use crate::experiment::grid::RunSpec;
use crate::train::{
    Outcome, RunState, Segment, TrainedRun, evaluate_paused, paused_accept_rate, paused_model,
};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The halving settings of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Halving {
    /// Epochs of the first rung.
    pub min_epochs: usize,
    /// Each rung keeps the best `1 / eta` of the runs that entered it.
    pub eta: usize,
}

impl Halving {
    /// The epochs at which the rungs end: `min_epochs * eta^k` while below `epochs`, then
    /// `epochs` itself.
    pub fn rung_epochs(&self, epochs: usize) -> Vec<usize> {
        let mut rungs = Vec::new();
        let mut epoch = self.min_epochs;
        while epoch < epochs {
            rungs.push(epoch);
            epoch = epoch.saturating_mul(self.eta);
        }
        rungs.push(epochs);
        rungs
    }

    /// The epochs still to train in a search over `runs` (every data set) that stands at
    /// `standing`, when no run ends early.
    pub fn planned_epochs_of(&self, runs: &[RunSpec], standing: &Standing<'_>) -> usize {
        let (Some(next), Some(first)) = (&standing.next, runs.first()) else {
            return 0;
        };
        let rungs = self.rung_epochs(first.train.epochs);
        let datasets = runs.iter().map(|r| r.dataset).max().map_or(0, |d| d + 1);
        let later: usize = (0..datasets)
            .map(|d| {
                let entering = next.entering.iter().filter(|r| r.dataset == d);
                let configs: HashSet<&str> =
                    entering.clone().map(|r| r.config_id.as_str()).collect();
                let seeds = entering.count() / configs.len().max(1);
                seeds * self.epochs_after(&rungs, next.rung, configs.len())
            })
            .sum();
        next.todo.len() * (next.epoch - next.from.unwrap_or(0)) + later
    }

    /// The training epochs of one seed of each configuration in the rungs after rung `rung` of
    /// `rungs`, for one data set of which `entered` configurations entered that rung, when no
    /// run ends early.
    fn epochs_after(&self, rungs: &[usize], rung: usize, entered: usize) -> usize {
        let mut entering = entered;
        let mut total = 0;
        for pair in rungs[rung..].windows(2) {
            entering = self.promoted_count(entering);
            total += entering * (pair[1] - pair[0]);
        }
        total
    }

    /// How many of the `entered` configurations of one data set go on to the next rung.
    pub fn promoted_count(&self, entered: usize) -> usize {
        (entered / self.eta).max(1)
    }

    /// The training epochs of a search over `configurations` configurations of one data set,
    /// each on `seeds` seeds, when no run ends early: what a progress bar and the plan count on.
    pub fn planned_epochs(&self, configurations: usize, seeds: usize, epochs: usize) -> usize {
        let rungs = self.rung_epochs(epochs);
        seeds * (configurations * rungs[0] + self.epochs_after(&rungs, 0, configurations))
    }
}

/// A run paused at the end of a rung, as saved in `rungs/epoch-<E>/<run_id>.json`.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct RungState {
    /// The run measured at the rung (`None` if its log-likelihood was not finite).
    pub evaluation: Option<Evaluation>,
    pub state: RunState,
}

impl RungState {
    /// A paused run with its measurement at the epoch it stopped (kept only if finite).
    pub fn measured(spec: &RunSpec, data: &Dataset, eval: &EvalConfig, state: RunState) -> Self {
        let e = evaluate_paused(&spec.train, data, eval, &state);
        RungState {
            evaluation: e.is_finite().then_some(e),
            state,
        }
    }
}

/// Writes a run paused at the rung ending at `epoch`, durably, like a record. A state that
/// would not read back (a non-finite number has no JSON form) is refused.
pub fn save_rung(
    dir: &ResultsDir,
    epoch: usize,
    run_id: &str,
    rung: &RungState,
) -> Result<(), StoreError> {
    super::store::save_json(&rung_path(dir.path(), epoch, run_id), rung)
}

fn rung_path(dir: &Path, epoch: usize, run_id: &str) -> PathBuf {
    dir.join(RUNGS_DIR)
        .join(format!("epoch-{epoch}"))
        .join(format!("{run_id}.json"))
}

/// The state of run `run_id` saved at the rung ending at `epoch`, if a complete one is there.
pub fn read_rung(dir: &Path, epoch: usize, run_id: &str) -> Option<RungState> {
    let text = std::fs::read_to_string(rung_path(dir, epoch, run_id)).ok()?;
    serde_json::from_str(&text).ok()
}

/// What became of one run at one rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Among the best `1 / eta` of its data set: trains on in the next rung.
    Promoted,
    /// Stopped here.
    Pruned,
    /// Trained to its last epoch (the last rung).
    Finished,
    /// Ended before the rung's epoch: diverged or failed.
    Ended,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::Promoted => "promoted",
            Decision::Pruned => "pruned",
            Decision::Finished => "finished",
            Decision::Ended => "ended",
        }
    }
}

/// One run at one rung: a row of `rungs.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct RungRow {
    pub run_id: String,
    pub dataset: usize,
    pub rung: usize,
    pub epoch: usize,
    pub valid_ll: Option<f64>,
    pub test_ll: Option<f64>,
    pub decision: Decision,
}

/// The lowest rung of a search with runs still to train.
pub struct NextRung<'r> {
    pub rung: usize,
    /// The rung's epoch, and the epoch of the rung before (whose states the runs continue from).
    pub epoch: usize,
    pub from: Option<usize>,
    /// Every run that entered the rung (shards split these, so that a shard's share does not
    /// depend on what the others have done), and those without a result yet.
    pub entering: Vec<&'r RunSpec>,
    pub todo: Vec<&'r RunSpec>,
}

/// Where a search stands, read from its results folder.
pub struct Standing<'r> {
    /// `None`: the search is done.
    pub next: Option<NextRung<'r>>,
    /// Every run whose fate is decided, in grid order: ended runs' records, and pruned runs'
    /// records built from their last rung state.
    pub records: Vec<RunRecord>,
    /// Every decided run at every rung it entered, rung by rung.
    pub rows: Vec<RungRow>,
}

/// A run's result at one rung.
// One is made per run and rung and moved once: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum AtRung {
    Paused(RungState),
    Ended(RunRecord),
}

/// The score a rung ranks runs by: higher is better; a run without a finite one is never promoted.
pub fn rung_score(evaluation: Option<&Evaluation>) -> Option<f64> {
    evaluation.map(|e| e.valid_ll).filter(|v| v.is_finite())
}

/// Walks the rungs of a search over `runs` from the results folder `dir` and the records of
/// runs that failed in this process (`failed`, kept in memory like a grid sweep's failures).
pub fn standing<'r>(
    dir: &Path,
    runs: &'r [RunSpec],
    datasets: &[Dataset],
    halving: Halving,
    failed: &[RunRecord],
) -> Standing<'r> {
    let Some(first) = runs.first() else {
        return Standing {
            next: None,
            records: Vec::new(),
            rows: Vec::new(),
        };
    };
    let rungs = halving.rung_epochs(first.train.epochs);
    let mut on_disk = scan(dir).runs;
    let mut ended: HashMap<&str, RunRecord> = HashMap::new();
    // A failed run's stored record does not count: it is trained again, as in a grid sweep.
    for run in runs {
        if let Some(stored) = on_disk.remove(&run.run_id)
            && stored.record.status != Status::Failed
        {
            ended.insert(
                &run.run_id,
                stored.record.into_record(run.clone(), stored.at),
            );
        }
    }
    for record in failed {
        ended.insert(&record.spec.run_id, record.clone());
    }
    let mut decided: HashMap<&str, RunRecord> = HashMap::new();
    let mut rows = Vec::new();
    let mut entering: Vec<&RunSpec> = runs.iter().collect();
    let mut next = None;
    for (rung, &epoch) in rungs.iter().enumerate() {
        let last = rung + 1 == rungs.len();
        let mut results = Vec::with_capacity(entering.len());
        let mut todo = Vec::new();
        for &spec in &entering {
            match result_at(dir, spec, epoch, last, &ended) {
                Some(result) => results.push((spec, result)),
                None => todo.push(spec),
            }
        }
        if !todo.is_empty() {
            next = Some(NextRung {
                rung,
                epoch,
                from: rung.checked_sub(1).map(|k| rungs[k]),
                entering,
                todo,
            });
            break;
        }
        let at = RungAt { rung, epoch, last };
        let promoted = decide(at, results, datasets, halving, &mut decided, &mut rows);
        entering = runs
            .iter()
            .filter(|r| promoted.contains(r.run_id.as_str()))
            .collect();
    }
    let records = runs
        .iter()
        .filter_map(|r| decided.remove(r.run_id.as_str()))
        .collect();
    Standing {
        next,
        records,
        rows,
    }
}

/// Which rung a decision is made at.
#[derive(Clone, Copy)]
struct RungAt {
    rung: usize,
    epoch: usize,
    last: bool,
}

/// Decides a complete rung from its runs' results: adds a row per run to `rows` and the
/// records of the runs that stop here (ended or pruned) to `decided`; returns the promoted ids.
fn decide<'r>(
    at: RungAt,
    results: Vec<(&'r RunSpec, AtRung)>,
    datasets: &[Dataset],
    halving: Halving,
    decided: &mut HashMap<&'r str, RunRecord>,
    rows: &mut Vec<RungRow>,
) -> HashSet<&'r str> {
    let promoted = promote(&results, halving);
    for (spec, result) in results {
        let (evaluation, decision, record) = match result {
            AtRung::Ended(record) => {
                let decision = if at.last && record.status == Status::Ok {
                    Decision::Finished
                } else {
                    Decision::Ended
                };
                let e = record.result.as_ref().and_then(|r| r.evaluation);
                (e, decision, Some(record))
            }
            AtRung::Paused(saved) if promoted.contains(spec.run_id.as_str()) => {
                (saved.evaluation, Decision::Promoted, None)
            }
            AtRung::Paused(saved) => {
                let e = saved.evaluation;
                let record = pruned_record(spec, &datasets[spec.dataset], saved);
                (e, Decision::Pruned, Some(record))
            }
        };
        rows.push(RungRow {
            run_id: spec.run_id.clone(),
            dataset: spec.dataset,
            rung: at.rung,
            epoch: at.epoch,
            valid_ll: evaluation.map(|e| e.valid_ll),
            test_ll: evaluation.map(|e| e.test_ll),
            decision,
        });
        if let Some(record) = record {
            decided.insert(&spec.run_id, record);
        }
    }
    promoted
}

/// The result of `spec` at the rung ending at `epoch`, if it has one: a record counts at the
/// last rung, or at an earlier one if the run diverged (or failed) before the rung's epoch. A
/// finished run's record from a grid sweep of the same folder is reused at the last rung only:
/// the earlier rungs still need the run's state at their epochs.
fn result_at(
    dir: &Path,
    spec: &RunSpec,
    epoch: usize,
    last: bool,
    ended: &HashMap<&str, RunRecord>,
) -> Option<AtRung> {
    if let Some(record) = ended.get(spec.run_id.as_str()) {
        let ended_before = match (record.status, record.result.as_ref().map(|r| r.outcome)) {
            (Status::Failed, _) => true,
            (_, Some(Outcome::Diverged { epoch: at })) => at <= epoch,
            _ => false,
        };
        if last || ended_before {
            return Some(AtRung::Ended(record.clone()));
        }
    }
    if last {
        return None;
    }
    read_rung(dir, epoch, &spec.run_id).map(AtRung::Paused)
}

/// The run ids that go on from one rung. Seeds are replicates, so a rung ranks configurations,
/// not runs: per data set, the best `promoted_count` of the configurations that entered it go
/// on with all their seeds, by the mean [`rung_score`] over those seeds, ties broken by
/// configuration id. A configuration any of whose runs has no finite score, or ended, never
/// goes on: its mean would be over the lucky seeds only.
fn promote<'a>(results: &[(&'a RunSpec, AtRung)], halving: Halving) -> HashSet<&'a str> {
    type Scored<'a> = Vec<(&'a RunSpec, Option<f64>)>;
    let mut configs: HashMap<(usize, &str), Scored<'a>> = HashMap::new();
    for (spec, result) in results {
        let score = match result {
            AtRung::Paused(saved) => rung_score(saved.evaluation.as_ref()),
            AtRung::Ended(_) => None,
        };
        configs
            .entry((spec.dataset, spec.config_id.as_str()))
            .or_default()
            .push((spec, score));
    }
    let mut by_dataset: HashMap<usize, Vec<(&str, Option<f64>)>> = HashMap::new();
    for (&(dataset, config_id), runs) in &configs {
        let scores: Option<Vec<f64>> = runs.iter().map(|(_, score)| *score).collect();
        let mean = scores.map(|s| s.iter().sum::<f64>() / s.len() as f64);
        by_dataset
            .entry(dataset)
            .or_default()
            .push((config_id, mean));
    }
    let mut promoted = HashSet::new();
    for (dataset, mut group) in by_dataset {
        let keep = halving.promoted_count(group.len());
        group.retain(|(_, score)| score.is_some());
        group.sort_by(|(a, sa), (b, sb)| {
            sb.partial_cmp(sa)
                .expect("finite scores compare")
                .then_with(|| a.cmp(b))
        });
        for (config_id, _) in group.iter().take(keep) {
            let runs = &configs[&(dataset, *config_id)];
            promoted.extend(runs.iter().map(|(spec, _)| spec.run_id.as_str()));
        }
    }
    promoted
}

/// A pruned run computed again from its start up to `epoch`, the epoch it was stopped at, as
/// `verify` checks it: the record a search would have made of it.
pub fn recompute_pruned(
    spec: &RunSpec,
    data: &Dataset,
    eval: &EvalConfig,
    epoch: usize,
) -> RunRecord {
    match super::train_segment(spec, data, eval, None, epoch, &|| {}) {
        Ok(Segment::Paused(state)) => {
            pruned_record(spec, data, RungState::measured(spec, data, eval, state))
        }
        Ok(Segment::Ended(run)) => RunRecord::from_trained(spec.clone(), run),
        Err(panic) => RunRecord::failed(spec.clone(), panic),
    }
}

/// The record of a run stopped at a rung: its model, curve and measurement there, no samples.
fn pruned_record(spec: &RunSpec, data: &Dataset, saved: RungState) -> RunRecord {
    let state = saved.state;
    let run = TrainedRun {
        model: paused_model(&spec.train, data, &state),
        evaluation: saved.evaluation,
        exact_samples: Vec::new(),
        chain_samples: Vec::new(),
        ais: Vec::new(),
        outcome: Outcome::Ok,
        epochs_done: state.epoch,
        train_seconds: state.train_seconds,
        eval_seconds: state.eval_seconds,
        accept_rate: paused_accept_rate(&spec.train, data, &state),
        curve: state.curve,
    };
    RunRecord::trained(spec.clone(), Status::Pruned, None, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_grow_by_eta_and_end_at_the_runs_epochs() {
        let h = Halving {
            min_epochs: 2,
            eta: 3,
        };
        assert_eq!(h.rung_epochs(40), [2, 6, 18, 40]);
        assert_eq!(h.rung_epochs(18), [2, 6, 18]);
        assert_eq!(h.rung_epochs(2), [2]);
        assert_eq!(h.promoted_count(64), 21);
        assert_eq!(h.promoted_count(2), 1);
        // 64 runs: 64 x 2 + 21 x 4 + 7 x 12 + 2 x 22 epochs.
        assert_eq!(h.planned_epochs(64, 1, 40), 128 + 84 + 84 + 44);
        assert_eq!(h.planned_epochs(64, 3, 40), 3 * (128 + 84 + 84 + 44));
    }
}
