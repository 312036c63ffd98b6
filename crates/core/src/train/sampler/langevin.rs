//! `sampler = "langevin"`: `k` Langevin steps down the free energy F(x) from N(0, I) in standardized units at every update, Metropolis-Hastings corrected after the first `unadjusted_steps` (MALA; Liao et al. 2022).

use super::metropolis::{Metropolis, Moves, peak_step_size};
use crate::model::{Grbm, LangevinChains, langevin_log_q, step_sizes};
use crate::rng::GibbsRng;
use crate::train::params::TrainConfig;

pub type Langevin = Metropolis<Steps>;

/// One update's chains with the step sizes of their `k` steps.
pub struct Steps {
    chains: LangevinChains,
    etas: Vec<f64>,
}

impl Moves for Steps {
    fn start(cfg: &TrainConfig, model: &Grbm, starts: Vec<[f64; 2]>, _rng: &mut GibbsRng) -> Self {
        Steps {
            chains: LangevinChains::at(model, starts),
            etas: step_sizes(peak_step_size(cfg, model), cfg.k, cfg.langevin_anneal),
        }
    }

    fn advance(&mut self, model: &Grbm, t: usize, adjust: bool, rng: &mut GibbsRng) -> usize {
        model.langevin_step(&mut self.chains, self.etas[t], adjust, rng, langevin_log_q)
    }

    fn points(&self) -> &[[f64; 2]] {
        &self.chains.x
    }

    /// Each step evaluates F and its gradient at the proposal: two exponentials and a logarithm
    /// per hidden unit, about twice a Gibbs step.
    fn cost(t: &TrainConfig, n_train: u128) -> u128 {
        (t.hidden as u128 + 2) * (2 * t.k as u128 + 3) * t.epochs as u128 * n_train
    }
}
