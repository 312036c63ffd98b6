//! One finished run: what it was asked to do and what it produced, in memory and as its durable JSON record.

use crate::experiment::grid::RunSpec;
use crate::model::Grbm;
use crate::train::{CurvePoint, Outcome, TrainedRun};
use serde::{Deserialize, Serialize};

/// How a run ended, as written in the `status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Diverged,
    Failed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Diverged => "diverged",
            Status::Failed => "failed",
        }
    }
}

/// One finished run: what it was asked to do and what it produced (`run` is `None` when it failed).
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub spec: RunSpec,
    pub status: Status,
    pub error: Option<String>,
    pub run: Option<TrainedRun>,
}

impl RunRecord {
    pub fn from_trained(spec: RunSpec, run: TrainedRun) -> Self {
        let (status, error) = match run.outcome {
            Outcome::Ok => (Status::Ok, None),
            Outcome::Diverged { epoch } => (
                Status::Diverged,
                Some(format!(
                    "parameters or log-likelihood became non-finite in epoch {epoch}"
                )),
            ),
        };
        RunRecord {
            spec,
            status,
            error,
            run: Some(run),
        }
    }

    pub fn failed(spec: RunSpec, error: String) -> Self {
        RunRecord {
            spec,
            status: Status::Failed,
            error: Some(error),
            run: None,
        }
    }

    pub fn test_ll(&self) -> Option<f64> {
        self.run.as_ref()?.evaluation.map(|e| e.test_ll)
    }
}

#[derive(Serialize, Deserialize)]
struct StoredRun {
    model: Grbm,
    evaluation: Option<crate::estimate::Evaluation>,
    curve: Vec<CurvePoint>,
    samples: Vec<[f64; 2]>,
    outcome: Outcome,
    epochs_done: usize,
    train_seconds: f64,
    eval_seconds: f64,
}

/// One run's record on disk. JSON numbers round-trip f64 exactly (`float_roundtrip`), so tables
/// built from records equal tables built from the runs in memory, bit for bit.
#[derive(Serialize, Deserialize)]
pub struct StoredRecord {
    pub run_id: String,
    pub status: Status,
    error: Option<String>,
    run: Option<StoredRun>,
}

impl StoredRecord {
    pub fn from_record(record: &RunRecord) -> Self {
        let run = record.run.as_ref().map(|run| StoredRun {
            model: run.model.clone(),
            evaluation: run.evaluation,
            curve: run.curve.clone(),
            samples: run.samples.clone(),
            outcome: run.outcome,
            epochs_done: run.epochs_done,
            train_seconds: run.train_seconds,
            eval_seconds: run.eval_seconds,
        });
        StoredRecord {
            run_id: record.spec.run_id.clone(),
            status: record.status,
            error: record.error.clone(),
            run,
        }
    }

    /// The record of `spec`, which must be the run this record was computed for.
    pub fn into_record(self, spec: RunSpec) -> RunRecord {
        let run = self.run.map(|stored| TrainedRun {
            model: stored.model,
            evaluation: stored.evaluation,
            curve: stored.curve,
            samples: stored.samples,
            outcome: stored.outcome,
            epochs_done: stored.epochs_done,
            train_seconds: stored.train_seconds,
            eval_seconds: stored.eval_seconds,
        });
        RunRecord {
            spec,
            status: self.status,
            error: self.error,
            run,
        }
    }
}
