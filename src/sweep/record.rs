//! One finished run: what it was asked to do and what it produced, in memory and as its durable JSON record.

use super::journal::EntryAt;
use super::store::StoreError;
use crate::estimate::ais::AisMeasurement;
use crate::experiment::grid::RunSpec;
use crate::model::Grbm;
use crate::train::diagnostics::Diagnostics;
use crate::train::{CurvePoint, Outcome, TrainedRun};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How a run ended, as written in the `status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Diverged,
    Failed,
    /// Stopped at a rung of a halving search, not among the best of its data set there.
    Pruned,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Diverged => "diverged",
            Status::Failed => "failed",
            Status::Pruned => "pruned",
        }
    }
}

/// What a run produced that is too large to keep for every run of a sweep at once: read from its
/// record when a table or a picture needs it ([`RunRecord::details`]).
#[derive(Debug, Clone)]
pub struct RunDetails {
    pub model: Grbm,
    pub curve: Vec<CurvePoint>,
    /// See [`TrainedRun::exact_samples`] (none in a record of a version before them).
    pub exact_samples: Vec<[f64; 2]>,
    /// See [`TrainedRun::chain_samples`].
    pub chain_samples: Vec<[f64; 2]>,
    /// AIS at every budget of `[eval] ais_steps` (empty with AIS off).
    pub ais: Vec<AisMeasurement>,
}

/// What a run produced but its model, curve and samples ([`RunDetails`]): what a record keeps in
/// memory for every run of a sweep, about 120 bytes.
#[derive(Debug, Clone, Copy)]
pub struct RunResult {
    /// `None` for a diverged run.
    pub evaluation: Option<crate::estimate::Evaluation>,
    pub outcome: Outcome,
    /// Epochs completed with finite parameters.
    pub epochs_done: usize,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    /// See [`TrainedRun::accept_rate`].
    pub accept_rate: Option<f64>,
    /// AIS at the last budget of `[eval] ais_steps`, the one `runs.parquet` shows (`None` with
    /// AIS off, and for a run not finished).
    pub ais: Option<AisMeasurement>,
    /// Seconds of AIS at all budgets.
    pub ais_seconds: Option<f64>,
    /// The diagnostics of the final checkpoint (`None` with them off or for a diverged run).
    pub diagnostics: Option<Diagnostics>,
}

impl RunResult {
    fn of(run: &TrainedRun) -> Self {
        RunResult {
            evaluation: run.evaluation,
            outcome: run.outcome,
            epochs_done: run.epochs_done,
            train_seconds: run.train_seconds,
            eval_seconds: run.eval_seconds,
            accept_rate: run.accept_rate,
            ais: run.ais.last().copied(),
            ais_seconds: ais_seconds(&run.ais),
            diagnostics: final_diagnostics(run),
        }
    }
}

/// The diagnostics of a finished run's final checkpoint, the last point of its curve.
fn final_diagnostics(run: &TrainedRun) -> Option<Diagnostics> {
    let last = run.curve.last()?;
    (run.outcome == Outcome::Ok && last.epoch == run.epochs_done)
        .then_some(last.diagnostics)
        .flatten()
}

/// The time of AIS at all budgets, `None` without AIS.
fn ais_seconds(ais: &[AisMeasurement]) -> Option<f64> {
    (!ais.is_empty()).then(|| ais.iter().map(|a| a.seconds).sum())
}

/// One finished run: what it was asked to do and what it produced (`result` is `None` when it
/// failed).
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Shared with the folder's list of runs ([`super::folder::Folder::runs`]): a sweep of a
    /// million runs holds each run's specification once.
    pub spec: Arc<RunSpec>,
    pub status: Status,
    pub error: Option<String>,
    pub result: Option<RunResult>,
    /// The model, curve and samples of a run trained in this process, until they are saved.
    /// `None` for a record read from the results folder: they stay in its entry (`stored_at`)
    /// until [`RunRecord::details`] reads them, so that a million records fit in memory.
    pub in_memory: Option<Box<RunDetails>>,
    pub stored_at: Option<EntryAt>,
}

impl RunRecord {
    pub fn from_trained(spec: impl Into<Arc<RunSpec>>, run: TrainedRun) -> Self {
        let spec = spec.into();
        let (status, error) = match run.outcome {
            Outcome::Ok => (Status::Ok, None),
            Outcome::Diverged { epoch } => (
                Status::Diverged,
                Some(format!(
                    "parameters or log-likelihood became non-finite in epoch {epoch}"
                )),
            ),
        };
        RunRecord::trained(spec, status, error, run)
    }

    /// The record of `run`, which ended as `status` (`error` saying why when not `Ok`).
    pub fn trained(
        spec: impl Into<Arc<RunSpec>>,
        status: Status,
        error: Option<String>,
        run: TrainedRun,
    ) -> Self {
        RunRecord {
            spec: spec.into(),
            status,
            error,
            result: Some(RunResult::of(&run)),
            in_memory: Some(Box::new(RunDetails {
                model: run.model,
                curve: run.curve,
                exact_samples: run.exact_samples,
                chain_samples: run.chain_samples,
                ais: run.ais,
            })),
            stored_at: None,
        }
    }

    pub fn failed(spec: impl Into<Arc<RunSpec>>, error: String) -> Self {
        RunRecord {
            spec: spec.into(),
            status: Status::Failed,
            error: Some(error),
            result: None,
            in_memory: None,
            stored_at: None,
        }
    }

    /// The run's model, learning curve and samples: from the results folder for a record read
    /// from it, else from memory; `None` for a run that failed.
    pub fn details(&self) -> Result<Option<RunDetails>, StoreError> {
        super::journal::Details::default().of(self)
    }

    pub fn test_ll(&self) -> Option<f64> {
        self.result?.evaluation.map(|e| e.test_ll)
    }

    /// What runs are ranked by ([`ranking`]).
    pub fn valid_ll(&self) -> Option<f64> {
        self.result?.evaluation.map(|e| e.valid_ll)
    }
}

impl RunRecord {
    /// Whether the run can be selected as a best run: trained to its end and measured. A pruned
    /// run's measurement is from an earlier epoch, so it is not among the candidates.
    pub fn selectable(&self) -> bool {
        self.status == Status::Ok && self.valid_ll().is_some()
    }
}

/// The order every list of best runs follows: highest `valid_ll` first (runs without one last),
/// ties by run id. Selecting on the validation points leaves `test_ll` an unbiased measure of the
/// selected run; selecting on `test_ll` itself would flatter it.
pub fn ranking(a: &RunRecord, b: &RunRecord) -> std::cmp::Ordering {
    let key = |r: &RunRecord| r.valid_ll().unwrap_or(f64::NEG_INFINITY);
    key(b)
        .total_cmp(&key(a))
        .then_with(|| a.spec.run_id.cmp(&b.spec.run_id))
}

/// The selectable runs of data set `dataset` among `records`, best first by [`ranking`]: the
/// one list every report of best runs (summary, pictures, HTML page) takes its runs from.
pub fn best_runs<'a>(
    records: impl IntoIterator<Item = &'a RunRecord>,
    dataset: usize,
) -> Vec<&'a RunRecord> {
    let mut runs: Vec<&RunRecord> = records
        .into_iter()
        .filter(|r| r.spec.dataset == dataset && r.selectable())
        .collect();
    runs.sort_by(|a, b| ranking(a, b));
    runs
}

#[derive(Serialize, Deserialize)]
struct StoredRun {
    model: Grbm,
    evaluation: Option<crate::estimate::Evaluation>,
    curve: Vec<CurvePoint>,
    /// The Gibbs chain samples: the only samples of the versions before exact ones.
    chain_samples: Vec<[f64; 2]>,
    outcome: Outcome,
    epochs_done: usize,
    train_seconds: f64,
    eval_seconds: f64,
    /// Absent from the records of versions before the Metropolis-Hastings samplers.
    #[serde(default)]
    accept_rate: Option<f64>,
    /// Absent from the records of versions before AIS: they read as none.
    #[serde(default)]
    ais: Vec<AisMeasurement>,
    /// Absent from the records of versions before the diagnostics.
    #[serde(default)]
    diagnostics: Option<Diagnostics>,
    /// Absent from the records of versions before exact samples: they read as none. After
    /// every field of earlier versions: a record is a MessagePack array, read by position.
    #[serde(default)]
    exact_samples: Vec<[f64; 2]>,
}

/// One run's record on disk ([`super::journal`]). MessagePack keeps every f64's bits (NaN and
/// infinities included), so tables built from records equal tables built from the runs in
/// memory, bit for bit.
#[derive(Serialize, Deserialize)]
pub struct StoredRecord {
    pub run_id: String,
    pub status: Status,
    error: Option<String>,
    run: Option<StoredRun>,
}

impl StoredRecord {
    /// The record of `record`, whose model, curve and samples are `details` (`None` for a
    /// failed run).
    pub fn from_record(record: &RunRecord, details: Option<RunDetails>) -> Self {
        let run = record
            .result
            .zip(details)
            .map(|(result, details)| StoredRun {
                model: details.model,
                evaluation: result.evaluation,
                curve: details.curve,
                chain_samples: details.chain_samples,
                outcome: result.outcome,
                epochs_done: result.epochs_done,
                train_seconds: result.train_seconds,
                eval_seconds: result.eval_seconds,
                accept_rate: result.accept_rate,
                ais: details.ais,
                diagnostics: result.diagnostics,
                exact_samples: details.exact_samples,
            });
        StoredRecord {
            run_id: record.spec.run_id.clone(),
            status: record.status,
            error: record.error.clone(),
            run,
        }
    }

    /// Empties the model, curve and samples, which [`RunRecord::details`] reads again when
    /// needed: an empty model (no hidden unit) holds no memory of its own. The AIS estimates stay
    /// (about 70 bytes a budget): [`StoredRecord::into_record`] takes the run's result from them.
    pub fn drop_details(&mut self) {
        if let Some(run) = &mut self.run {
            run.model = Grbm::new(run.model.b, [1.0; 2], faer::Mat::zeros(2, 0), Vec::new());
            run.curve = Vec::new();
            run.chain_samples = Vec::new();
            run.exact_samples = Vec::new();
        }
    }

    /// The model, curve and samples (`None` for a failed run).
    pub fn into_details(self) -> Option<RunDetails> {
        self.run.map(|run| RunDetails {
            model: run.model,
            curve: run.curve,
            exact_samples: run.exact_samples,
            chain_samples: run.chain_samples,
            ais: run.ais,
        })
    }

    /// The record of `spec`, which must be the run this record was computed for, stored `at`;
    /// its model, curve and samples stay there.
    pub fn into_record(self, spec: impl Into<Arc<RunSpec>>, at: EntryAt) -> RunRecord {
        let result = self.run.map(|stored| RunResult {
            evaluation: stored.evaluation,
            outcome: stored.outcome,
            epochs_done: stored.epochs_done,
            train_seconds: stored.train_seconds,
            eval_seconds: stored.eval_seconds,
            accept_rate: stored.accept_rate,
            ais: stored.ais.last().copied(),
            ais_seconds: ais_seconds(&stored.ais),
            diagnostics: stored.diagnostics,
        });
        RunRecord {
            spec: spec.into(),
            status: self.status,
            error: self.error,
            result,
            in_memory: None,
            stored_at: Some(at),
        }
    }
}

/// The specification of a run `run_id` (its configuration id too) of the default recipe on the
/// first data set: what the tests of records, logs and table sets name their runs by.
#[cfg(test)]
pub(crate) fn spec_named(run_id: &str) -> RunSpec {
    RunSpec {
        index: 0,
        run_id: run_id.into(),
        config_id: run_id.into(),
        dataset: 0,
        train: crate::train::params::TrainConfig::default(),
    }
}

/// A finished run of `spec` that measured `lls` = (valid_ll, test_ll), or a failed one for
/// `None`: what the tests of the tables, rankings and statistics built from records start from.
#[cfg(test)]
pub(crate) fn measured(spec: RunSpec, lls: Option<(f64, f64)>) -> RunRecord {
    let Some((valid_ll, test_ll)) = lls else {
        return RunRecord::failed(spec, "no run".into());
    };
    let evaluation = crate::estimate::Evaluation {
        train_ll: 0.0,
        valid_ll,
        test_ll,
        log_z: 0.0,
        log_z_exact: None,
        grid_points: 16,
        recon_error: 0.0,
    };
    let run = TrainedRun {
        model: Grbm::new([0.0; 2], [1.0; 2], faer::Mat::zeros(2, 1), vec![0.0]),
        evaluation: Some(evaluation),
        curve: Vec::new(),
        exact_samples: Vec::new(),
        chain_samples: Vec::new(),
        ais: Vec::new(),
        outcome: Outcome::Ok,
        epochs_done: 1,
        train_seconds: 0.0,
        eval_seconds: 0.0,
        accept_rate: None,
    };
    RunRecord::from_trained(spec, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(run_id: &str, lls: Option<(f64, f64)>) -> RunRecord {
        measured(spec_named(run_id), lls)
    }

    /// A record of a version before AIS and exact samples (its run without the `ais` and
    /// `exact_samples` fields) reads as a run without AIS, its samples as chain samples and no
    /// exact ones; a record with AIS keeps every budget, and its result the last one's numbers
    /// and all budgets' seconds, and both kinds of samples.
    #[test]
    fn records_without_ais_or_exact_samples_read_as_none_and_new_records_keep_them() {
        #[derive(Serialize)]
        struct OldRun {
            model: Grbm,
            evaluation: Option<crate::estimate::Evaluation>,
            curve: Vec<CurvePoint>,
            samples: Vec<[f64; 2]>,
            outcome: Outcome,
            epochs_done: usize,
            train_seconds: f64,
            eval_seconds: f64,
        }
        #[derive(Serialize)]
        struct OldRecord {
            run_id: String,
            status: Status,
            error: Option<String>,
            run: Option<OldRun>,
        }
        let at = EntryAt {
            log: Arc::from(std::path::Path::new("records/x.log")),
            offset: 0,
        };
        let mut record = record("a", Some((-1.0, -2.0)));
        let details = record.in_memory.take().map(|d| *d).unwrap();
        let old = OldRecord {
            run_id: "a".into(),
            status: Status::Ok,
            error: None,
            run: Some(OldRun {
                model: details.model.clone(),
                evaluation: record.result.unwrap().evaluation,
                curve: Vec::new(),
                samples: vec![[0.5, -1.5]],
                outcome: Outcome::Ok,
                epochs_done: 1,
                train_seconds: 0.5,
                eval_seconds: 0.25,
            }),
        };
        let bytes = rmp_serde::to_vec(&old).unwrap();
        let read: StoredRecord = rmp_serde::from_slice(&bytes).unwrap();
        let back = read
            .into_record(spec_named("a"), at.clone())
            .result
            .unwrap();
        assert_eq!((back.ais, back.ais_seconds), (None, None));
        assert_eq!(back.eval_seconds, 0.25);
        // Its samples, the chains' of that version, read as the chain samples; it has no exact ones.
        let old_details = rmp_serde::from_slice::<StoredRecord>(&bytes)
            .unwrap()
            .into_details()
            .unwrap();
        assert_eq!(old_details.chain_samples, [[0.5, -1.5]]);
        assert!(old_details.exact_samples.is_empty());

        let budget = |steps: usize, log_z: f64, seconds: f64| AisMeasurement {
            chains: 10,
            steps,
            forward: crate::estimate::ais::AisSummary {
                log_z,
                std_error: 0.1,
                effective_sample_size: 9.0,
            },
            reverse: crate::estimate::ais::AisSummary {
                log_z: log_z + 0.5,
                std_error: 0.2,
                effective_sample_size: 8.0,
            },
            seconds,
        };
        let ais = vec![budget(10, 1.0, 0.5), budget(100, 2.0, 0.25)];
        let with_ais = RunDetails {
            ais: ais.clone(),
            exact_samples: vec![[1.0, 2.0], [3.0, 4.0]],
            chain_samples: vec![[5.0, 6.0]],
            ..details
        };
        let bytes = rmp_serde::to_vec(&StoredRecord::from_record(&record, Some(with_ais))).unwrap();
        let read: StoredRecord = rmp_serde::from_slice(&bytes).unwrap();
        let mut dropped: StoredRecord = rmp_serde::from_slice(&bytes).unwrap();
        dropped.drop_details();
        let result = dropped.into_record(spec_named("a"), at).result.unwrap();
        assert_eq!((result.ais, result.ais_seconds), (Some(ais[1]), Some(0.75)));
        let read = read.into_details().unwrap();
        assert_eq!(read.ais, ais);
        assert_eq!(read.exact_samples, [[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(read.chain_samples, [[5.0, 6.0]]);
    }

    /// Highest valid_ll first whatever the test_ll, equal valid_ll by run id, unevaluated runs last.
    #[test]
    fn ranking_is_by_valid_ll_then_run_id() {
        let mut records = [
            record("d", None),
            record("b", Some((-1.0, -0.5))),
            record("a", Some((-1.0, -2.0))),
            record("c", Some((-0.9, -3.0))),
        ];
        records.sort_by(ranking);
        let ids: Vec<&str> = records.iter().map(|r| r.spec.run_id.as_str()).collect();
        assert_eq!(ids, ["c", "a", "b", "d"]);
    }
}
