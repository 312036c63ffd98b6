//! What the Metropolis-Hastings samplers (`langevin`, `gibbs_langevin`) share: chains started from noise at every update, `k` corrected steps, the count of accepted proposals and the averaging of the negative phase over the steps.

use super::noise::NoiseStart;
use super::{AcceptCount, Averaging, Step};
use crate::model::{Gradient, Grbm};
use crate::rng::GibbsRng;
use crate::train::params::TrainConfig;
use faer::{Mat, MatRef};

/// Chains that [`MetropolisChains::run`] moves step by step.
pub trait Moves {
    /// Step `t` (0-based) of every chain, Metropolis-Hastings corrected when `adjust`; returns
    /// how many chains moved.
    fn advance(&mut self, model: &Grbm, t: usize, adjust: bool, rng: &mut GibbsRng) -> usize;

    fn points(&self) -> &[[f64; 2]];
}

/// The peak Langevin step size at this update: `langevin_step_size` times the model's mean
/// variance, so that a step moves about the same number of sigmas whatever sigma has become.
pub fn peak_step_size(cfg: &TrainConfig, model: &Grbm) -> f64 {
    let sigma = model.sigma();
    cfg.langevin_step_size * (sigma[0] * sigma[0] + sigma[1] * sigma[1]) / 2.0
}

/// The state a Metropolis-Hastings sampler keeps between updates.
pub struct MetropolisChains {
    start: NoiseStart,
    /// `batch_size x 2`: the chains after the last step (rows past a short batch are stale).
    states: Mat<f64>,
    averaging: Averaging,
    accepts: AcceptCount,
}

/// The chains as a paused run keeps them, with the proposals counted so far.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MetropolisState {
    chains: Vec<[f64; 2]>,
    accepts: AcceptCount,
}

impl MetropolisChains {
    pub fn new(cfg: &TrainConfig, points: &[[f64; 2]], saved: Option<MetropolisState>) -> Self {
        let mut states = Mat::zeros(cfg.batch_size, 2);
        let mut accepts = AcceptCount::default();
        if let Some(saved) = saved {
            crate::train::set_rows(&mut states, &saved.chains);
            accepts = saved.accepts;
        }
        MetropolisChains {
            start: NoiseStart::of(points),
            states,
            averaging: Averaging::new(cfg),
            accepts,
        }
    }

    /// A minibatch's worth of start points from noise.
    pub fn starts(&self, step: &mut Step<'_>) -> Vec<[f64; 2]> {
        self.start.draw(step.batch.nrows(), step.rng)
    }

    /// The `k` steps of `chains` (the first `unadjusted_steps` uncorrected) and the mean gradient
    /// of F over the states [`Averaging`] keeps.
    pub fn run(&mut self, step: Step<'_>, chains: &mut impl Moves, grad: &mut Gradient) {
        let (cfg, model) = (step.cfg, step.model);
        let rows = chains.points().len();
        for t in 0..cfg.k {
            let adjust = t >= cfg.unadjusted_steps;
            let moved = chains.advance(model, t, adjust, step.rng);
            if adjust {
                self.accepts.add(rows, moved);
            }
            if self.averaging.keeps(t + 1) {
                for (r, x) in chains.points().iter().enumerate() {
                    self.states[(r, 0)] = x[0];
                    self.states[(r, 1)] = x[1];
                }
                let states = self.states.as_ref().subrows(0, rows);
                self.averaging.add(model, states, t + 1, step.ws, grad);
            }
        }
        self.averaging.finish(grad);
    }

    pub fn saved(&self) -> MetropolisState {
        MetropolisState {
            chains: crate::train::rows(self.states.as_ref()),
            accepts: self.accepts,
        }
    }

    pub fn chains(&self) -> MatRef<'_, f64> {
        self.states.as_ref()
    }

    pub fn accept_rate(&self) -> Option<f64> {
        self.accepts.rate()
    }
}
