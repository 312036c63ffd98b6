//! `sampler = "langevin"`: `k` Langevin steps down the free energy F(x) from N(0, I) in standardized units at every update, Metropolis-Hastings corrected after the first `unadjusted_steps` (MALA; Liao et al. 2022).

use super::metropolis::{MetropolisChains, MetropolisState, Moves, peak_step_size};
use super::{Broken, NegativePhase, Step, check_burn_in};
use crate::model::{Gradient, Grbm, LangevinChains, langevin_log_q, step_sizes};
use crate::rng::GibbsRng;
use crate::train::params::TrainConfig;
use faer::MatRef;

pub struct Langevin {
    chains: MetropolisChains,
}

/// One update's chains with the step sizes of their `k` steps.
struct Steps {
    chains: LangevinChains,
    etas: Vec<f64>,
}

impl Moves for Steps {
    fn advance(&mut self, model: &Grbm, t: usize, adjust: bool, rng: &mut GibbsRng) -> usize {
        model.langevin_step(&mut self.chains, self.etas[t], adjust, rng, langevin_log_q)
    }

    fn points(&self) -> &[[f64; 2]] {
        &self.chains.x
    }
}

impl NegativePhase for Langevin {
    /// The chains restart at every update: the saved rows keep a paused run's `chains()`, and
    /// the count of proposals its `accept_rate`.
    type Saved = MetropolisState;

    fn start(cfg: &TrainConfig, points: &[[f64; 2]], saved: Option<Self::Saved>) -> Self {
        Langevin {
            chains: MetropolisChains::new(cfg, points, saved),
        }
    }

    fn negative(&mut self, mut step: Step<'_>, grad: &mut Gradient) {
        let (cfg, model) = (step.cfg, step.model);
        let mut steps = Steps {
            chains: LangevinChains::at(model, self.chains.starts(&mut step)),
            etas: step_sizes(peak_step_size(cfg, model), cfg.k, cfg.langevin_anneal),
        };
        self.chains.run(step, &mut steps, grad);
    }

    fn saved(&self) -> Self::Saved {
        self.chains.saved()
    }

    fn chains(&self) -> Option<MatRef<'_, f64>> {
        Some(self.chains.chains())
    }

    /// Each step evaluates F and its gradient at the proposal: two exponentials and a logarithm
    /// per hidden unit, about twice a Gibbs step.
    fn cost(t: &TrainConfig, n_train: u128, _updates: u128) -> u128 {
        (t.hidden as u128 + 2) * (2 * t.k as u128 + 3) * t.epochs as u128 * n_train
    }

    /// F and its gradient per chain.
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
