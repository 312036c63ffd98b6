//! `sampler = "gibbs_langevin"`: `k` Gibbs-Langevin steps from N(0, I) in standardized units at every update, each `langevin_steps` Langevin steps on x at fixed z and then z ~ p(z|x), corrected as one joint move after the first `unadjusted_steps` (Liao et al. 2022).

use super::metropolis::{Metropolis, Moves, peak_step_size};
use crate::model::{GibbsLangevinChains, Grbm, LangevinComposite, step_sizes};
use crate::rng::GibbsRng;
use crate::train::params::TrainConfig;

pub type GibbsLangevin = Metropolis<Steps>;

/// One update's chains with the inner Langevin steps' sizes and the density they propose with.
pub struct Steps {
    chains: GibbsLangevinChains,
    etas: Vec<f64>,
    density: LangevinComposite,
}

impl Moves for Steps {
    fn start(cfg: &TrainConfig, model: &Grbm, starts: Vec<[f64; 2]>, rng: &mut GibbsRng) -> Self {
        let etas = step_sizes(
            peak_step_size(cfg, model),
            cfg.langevin_steps,
            cfg.langevin_anneal,
        );
        Steps {
            chains: model.gibbs_langevin_chains(starts, rng),
            density: LangevinComposite::of(&etas, model.sigma()),
            etas,
        }
    }

    fn advance(&mut self, model: &Grbm, _t: usize, adjust: bool, rng: &mut GibbsRng) -> usize {
        model.gibbs_langevin_step(&mut self.chains, &self.etas, &self.density, adjust, rng)
    }

    fn points(&self) -> &[[f64; 2]] {
        &self.chains.x
    }

    /// Each step draws the hidden units and evaluates F at the proposal (about two Gibbs
    /// steps), besides its `langevin_steps` inner steps of a few operations each.
    fn cost(t: &TrainConfig, n_train: u128) -> u128 {
        let per_step = 2 * (t.hidden as u128 + 2) + 4 * t.langevin_steps as u128;
        (per_step * t.k as u128 + 3 * (t.hidden as u128 + 2)) * t.epochs as u128 * n_train
    }
}
