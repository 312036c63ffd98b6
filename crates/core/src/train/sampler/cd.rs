//! `sampler = "cd"`: chains started at the minibatch, the lab's CD-k.

use super::{BatchChains, Broken, NegativePhase, Step, check_burn_in};
use crate::model::Gradient;
use crate::train::params::TrainConfig;
use faer::MatRef;

pub struct Cd {
    chains: BatchChains,
}

impl NegativePhase for Cd {
    /// The chains restart at every minibatch: the saved rows only keep a paused run's
    /// `chains()` as it was.
    type Saved = Vec<[f64; 2]>;

    fn start(cfg: &TrainConfig, _points: &[[f64; 2]], saved: Option<Self::Saved>) -> Self {
        Cd {
            chains: BatchChains::new(cfg, saved),
        }
    }

    fn negative(&mut self, step: Step<'_>, grad: &mut Gradient) {
        let rows = step.batch.nrows();
        self.chains
            .states
            .as_mut()
            .subrows_mut(0, rows)
            .copy_from(step.batch);
        // The chains start at the batch, whose p(z|x) the positive phase just computed: the
        // first of the k >= 1 steps starts from it.
        step.model.gibbs_step_from_probs(
            self.chains.states.as_mut().subrows_mut(0, rows),
            step.ws,
            step.rng,
        );
        self.chains.run(step, rows, 1, grad);
    }

    fn saved(&self) -> Self::Saved {
        self.chains.rows()
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
