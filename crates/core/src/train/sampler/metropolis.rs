//! The Metropolis-Hastings samplers (`langevin`, `gibbs_langevin`) as one negative phase over their moves: chains started from noise at every update, `k` corrected steps, the count of accepted proposals and the averaging of the negative phase over the steps.

use super::noise::NoiseStart;
use super::{AcceptCount, Averaging, Broken, NegativePhase, Step, check_burn_in};
use crate::model::{Gradient, Grbm};
use crate::rng::GibbsRng;
use crate::train::params::TrainConfig;
use faer::{Mat, MatRef};
use std::marker::PhantomData;

/// One update's chains of a Metropolis-Hastings sampler, and what differs between the
/// samplers: how the chains start and move, and what that costs.
pub trait Moves {
    /// The chains of one update at `starts` (training units), under `model`.
    fn start(cfg: &TrainConfig, model: &Grbm, starts: Vec<[f64; 2]>, rng: &mut GibbsRng) -> Self;

    /// Step `t` (0-based) of every chain, Metropolis-Hastings corrected when `adjust`; returns
    /// how many chains moved.
    fn advance(&mut self, model: &Grbm, t: usize, adjust: bool, rng: &mut GibbsRng) -> usize;

    fn points(&self) -> &[[f64; 2]];

    /// See [`NegativePhase::cost`].
    fn cost(t: &TrainConfig, n_train: u128) -> u128;
}

/// The peak Langevin step size at this update: `langevin_step_size` times the model's mean
/// variance, so that a step moves about the same number of sigmas whatever sigma has become.
pub fn peak_step_size(cfg: &TrainConfig, model: &Grbm) -> f64 {
    let sigma = model.sigma();
    cfg.langevin_step_size * (sigma[0] * sigma[0] + sigma[1] * sigma[1]) / 2.0
}

/// The Metropolis-Hastings sampler whose chains move by `M`.
pub struct Metropolis<M> {
    start: NoiseStart,
    /// `batch_size x 2`: the chains after the last step (rows past a short batch are stale).
    states: Mat<f64>,
    averaging: Averaging,
    accepts: AcceptCount,
    moves: PhantomData<M>,
}

/// The chains as a paused run keeps them (they restart at every update: the rows keep its
/// `chains()`), with the proposals counted so far (its `accept_rate`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MetropolisState {
    chains: Vec<[f64; 2]>,
    accepts: AcceptCount,
}

impl<M: Moves> NegativePhase for Metropolis<M> {
    type Saved = MetropolisState;

    fn start(cfg: &TrainConfig, points: &[[f64; 2]], saved: Option<MetropolisState>) -> Self {
        let mut states = Mat::zeros(cfg.batch_size, 2);
        let mut accepts = AcceptCount::default();
        if let Some(saved) = saved {
            crate::train::set_rows(&mut states, &saved.chains);
            accepts = saved.accepts;
        }
        Metropolis {
            start: NoiseStart::of(points),
            states,
            averaging: Averaging::new(cfg),
            accepts,
            moves: PhantomData,
        }
    }

    /// The `k` steps of a minibatch's worth of chains from noise (the first `unadjusted_steps`
    /// uncorrected), and the mean gradient of F over the states [`Averaging`] keeps.
    fn negative(&mut self, step: Step<'_>, grad: &mut Gradient) {
        let (cfg, model) = (step.cfg, step.model);
        let starts = self.start.draw(step.batch.nrows(), step.rng);
        let mut chains = M::start(cfg, model, starts, step.rng);
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

    fn saved(&self) -> MetropolisState {
        MetropolisState {
            chains: crate::train::rows(self.states.as_ref()),
            accepts: self.accepts,
        }
    }

    fn chains(&self) -> Option<MatRef<'_, f64>> {
        Some(self.states.as_ref())
    }

    fn cost(t: &TrainConfig, n_train: u128, _updates: u128) -> u128 {
        M::cost(t, n_train)
    }

    /// F (and the gradient or the mean b + W z) per chain.
    fn bytes(t: &TrainConfig) -> f64 {
        3.0 * 8.0 * t.batch_size as f64
    }

    fn check(t: &TrainConfig) -> Result<(), Broken> {
        check_burn_in(t)
    }

    fn accept_rate(&self) -> Option<f64> {
        self.accepts.rate()
    }
}
