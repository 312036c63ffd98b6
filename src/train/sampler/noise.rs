//! `sampler = "noise"`: chains started at fresh N(0, I) draws in standardized units at every step (Liao et al. 2022).

use super::{BatchChains, NegativePhase, Step};
use crate::data::moments;
use crate::model::Gradient;
use crate::train::params::TrainConfig;
use faer::MatRef;

pub struct Noise {
    chains: BatchChains,
    /// The training points' mean and spread: the chains start at `center + spread * N(0, I)`.
    center: [f64; 2],
    spread: [f64; 2],
}

impl NegativePhase for Noise {
    /// The chains restart at every step: the saved rows only keep a paused run's `chains()`.
    type Saved = Vec<[f64; 2]>;

    fn start(cfg: &TrainConfig, points: &[[f64; 2]], saved: Option<Self::Saved>) -> Self {
        let (center, spread) = moments(points);
        Noise {
            chains: BatchChains::new(cfg, saved),
            center,
            spread,
        }
    }

    fn negative(&mut self, step: Step<'_>, grad: &mut Gradient) {
        let rows = step.batch.nrows();
        let noise = step.rng.normals(2 * rows);
        for i in 0..2 {
            for r in 0..rows {
                let z = noise[i * rows + r];
                self.chains.states[(r, i)] = self.center[i] + self.spread[i] * z;
            }
        }
        let k = step.cfg.k;
        self.chains.run(step, rows, k, grad);
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
}
