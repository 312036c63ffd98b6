//! `sampler = "noise"`: chains started at fresh N(0, I) draws in standardized units at every step (Liao et al. 2022).

use super::{BatchChains, Broken, NegativePhase, Step, check_burn_in};
use crate::data::moments;
use crate::model::Gradient;
use crate::rng::GibbsRng;
use crate::train::params::TrainConfig;
use faer::MatRef;

pub struct Noise {
    chains: BatchChains,
    start: NoiseStart,
}

/// Where chains from noise start: `center + spread * N(0, I)`, with the training points' mean
/// and spread, which is N(0, I) in standardized units.
#[derive(Debug, Clone, Copy)]
pub struct NoiseStart {
    center: [f64; 2],
    spread: [f64; 2],
}

impl NoiseStart {
    /// Of the training points (in training units).
    pub fn of(points: &[[f64; 2]]) -> Self {
        let (center, spread) = moments(points);
        NoiseStart { center, spread }
    }

    /// `rows` start points: all the first axis's normals are drawn, then all the second's.
    pub fn draw(&self, rows: usize, rng: &mut GibbsRng) -> Vec<[f64; 2]> {
        let noise = rng.normals(2 * rows);
        (0..rows)
            .map(|r| [0, 1].map(|i| self.center[i] + self.spread[i] * noise[i * rows + r]))
            .collect()
    }
}

impl NegativePhase for Noise {
    /// The chains restart at every step: the saved rows only keep a paused run's `chains()`.
    type Saved = Vec<[f64; 2]>;

    fn start(cfg: &TrainConfig, points: &[[f64; 2]], saved: Option<Self::Saved>) -> Self {
        Noise {
            chains: BatchChains::new(cfg, saved),
            start: NoiseStart::of(points),
        }
    }

    fn negative(&mut self, step: Step<'_>, grad: &mut Gradient) {
        let rows = step.batch.nrows();
        for (r, x) in self.start.draw(rows, step.rng).into_iter().enumerate() {
            self.chains.states[(r, 0)] = x[0];
            self.chains.states[(r, 1)] = x[1];
        }
        self.chains.run(step, rows, 0, grad);
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
