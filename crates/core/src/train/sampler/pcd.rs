//! `sampler = "pcd"`: persistent chains carried across minibatches, started at the first one.

use super::{BatchChains, Broken, NegativePhase, Step, check_burn_in};
use crate::model::Gradient;
use crate::train::params::TrainConfig;
use faer::MatRef;

pub struct Pcd {
    chains: BatchChains,
    /// Whether the chains have been started (at a full minibatch).
    started: bool,
}

/// The chains, and whether they have started.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PcdState {
    chains: Vec<[f64; 2]>,
    started: bool,
}

impl NegativePhase for Pcd {
    type Saved = PcdState;

    fn start(cfg: &TrainConfig, _points: &[[f64; 2]], saved: Option<PcdState>) -> Self {
        let started = saved.as_ref().is_some_and(|s| s.started);
        Pcd {
            chains: BatchChains::new(cfg, saved.map(|s| s.chains)),
            started,
        }
    }

    fn negative(&mut self, step: Step<'_>, grad: &mut Gradient) {
        let rows = step.batch.nrows();
        if !self.started {
            self.chains
                .states
                .as_mut()
                .subrows_mut(0, rows)
                .copy_from(step.batch);
            self.started = rows == step.cfg.batch_size;
        }
        self.chains.run(step, rows, 0, grad);
    }

    fn saved(&self) -> PcdState {
        PcdState {
            chains: self.chains.rows(),
            started: self.started,
        }
    }

    fn chains(&self) -> Option<MatRef<'_, f64>> {
        Some(self.chains.states.as_ref())
    }

    fn cost(t: &TrainConfig, n_train: u128, _updates: u128) -> u128 {
        BatchChains::cost(t, n_train)
    }

    fn bytes(_t: &TrainConfig) -> f64 {
        0.0
    }

    fn check(t: &TrainConfig) -> Result<(), Broken> {
        check_burn_in(t)
    }
}
