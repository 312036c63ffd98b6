//! `sampler = "exact"`: no chains; the model's expectation of dF/dtheta summed over all 2^n hidden states, the true log-likelihood gradient (n <= 20).

use super::{Broken, NegativePhase, Step};
use crate::model::{Gradient, MAX_ENUMERATION_HIDDEN, Mixture};
use crate::train::params::TrainConfig;

/// The hidden states' arrays, allocated at the first step and reused.
pub struct Exact {
    mixture: Mixture,
}

impl NegativePhase for Exact {
    /// Nothing carries from one step to the next.
    type Saved = ();

    const CHAINS: bool = false;

    fn start(_cfg: &TrainConfig, _points: &[[f64; 2]], _saved: Option<()>) -> Self {
        Exact {
            mixture: Mixture::new(),
        }
    }

    fn negative(&mut self, step: Step<'_>, grad: &mut Gradient) {
        step.model
            .expected_free_energy_grad_in(grad, &mut self.mixture);
    }

    fn saved(&self) {}

    /// Each update enumerates the 2^hidden states, besides the positive phase's two passes.
    fn cost(t: &TrainConfig, n_train: u128, updates: u128) -> u128 {
        let hidden = t.hidden as u128;
        let states = 1u128 << t.hidden.min(100);
        let enumeration = (updates * (hidden + 2)).saturating_mul(states);
        ((hidden + 2) * 2 * t.epochs as u128 * n_train).saturating_add(enumeration)
    }

    /// Six arrays over the hidden states: log weights, the means' two coordinates, p(z) and
    /// the two weighted means.
    fn bytes(t: &TrainConfig) -> f64 {
        6.0 * 8.0 * (1u64 << t.hidden.min(MAX_ENUMERATION_HIDDEN)) as f64
    }

    fn check(t: &TrainConfig) -> Result<(), Broken> {
        if t.hidden > MAX_ENUMERATION_HIDDEN {
            return Err(Broken {
                key: "hidden",
                rule: format!(
                    "sampler = \"exact\" enumerates the 2^hidden hidden states at every update: \
                     hidden must be at most {MAX_ENUMERATION_HIDDEN}"
                ),
            });
        }
        Ok(())
    }
}
