//! `sampler = "gibbs_langevin"`: `k` Gibbs-Langevin steps from N(0, I) in standardized units at every update, each `langevin_steps` Langevin steps on x at fixed z and then z ~ p(z|x), corrected as one joint move after the first `unadjusted_steps` (Liao et al. 2022).

use super::metropolis::{MetropolisChains, MetropolisState, Moves, peak_step_size};
use super::{Broken, NegativePhase, Step, check_burn_in};
use crate::model::{GibbsLangevinChains, Gradient, Grbm, LangevinComposite, step_sizes};
use crate::rng::GibbsRng;
use crate::train::params::TrainConfig;
use faer::MatRef;

pub struct GibbsLangevin {
    chains: MetropolisChains,
}

/// One update's chains with the inner Langevin steps' sizes and the density they propose with.
struct Steps {
    chains: GibbsLangevinChains,
    etas: Vec<f64>,
    density: LangevinComposite,
}

impl Moves for Steps {
    fn advance(&mut self, model: &Grbm, _t: usize, adjust: bool, rng: &mut GibbsRng) -> usize {
        model.gibbs_langevin_step(&mut self.chains, &self.etas, &self.density, adjust, rng)
    }

    fn points(&self) -> &[[f64; 2]] {
        &self.chains.x
    }
}

impl NegativePhase for GibbsLangevin {
    /// The chains restart at every update: the saved rows keep a paused run's `chains()`, and
    /// the count of proposals its `accept_rate`.
    type Saved = MetropolisState;

    fn start(cfg: &TrainConfig, points: &[[f64; 2]], saved: Option<Self::Saved>) -> Self {
        GibbsLangevin {
            chains: MetropolisChains::new(cfg, points, saved),
        }
    }

    fn negative(&mut self, mut step: Step<'_>, grad: &mut Gradient) {
        let (cfg, model) = (step.cfg, step.model);
        let starts = self.chains.starts(&mut step);
        let etas = step_sizes(
            peak_step_size(cfg, model),
            cfg.langevin_steps,
            cfg.langevin_anneal,
        );
        let mut steps = Steps {
            chains: model.gibbs_langevin_chains(starts, step.rng),
            density: LangevinComposite::of(&etas, model.sigma()),
            etas,
        };
        self.chains.run(step, &mut steps, grad);
    }

    fn saved(&self) -> Self::Saved {
        self.chains.saved()
    }

    fn chains(&self) -> Option<MatRef<'_, f64>> {
        Some(self.chains.chains())
    }

    /// Each step draws the hidden units and evaluates F at the proposal (about two Gibbs
    /// steps), besides its `langevin_steps` inner steps of a few operations each.
    fn cost(t: &TrainConfig, n_train: u128, _updates: u128) -> u128 {
        let per_step = 2 * (t.hidden as u128 + 2) + 4 * t.langevin_steps as u128;
        (per_step * t.k as u128 + 3 * (t.hidden as u128 + 2)) * t.epochs as u128 * n_train
    }

    /// F and the mean b + W z per chain.
    fn bytes(t: &TrainConfig) -> f64 {
        3.0 * 8.0 * t.batch_size as f64
    }

    fn check(t: &TrainConfig) -> Result<(), Broken> {
        check_burn_in(t)
    }

    fn accept_rate(&self) -> Option<f64> {
        self.chains.accept_rate()
    }
}
