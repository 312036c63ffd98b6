//! The negative phase of training: one module per sampler, each owning its state, its saved form, its cost, its memory and its checks; this file registers them.
//!
//! Adding a sampler is one file with a type that implements [`NegativePhase`] and one line in
//! the `samplers!` list below, which generates the `sampler` key's choices, the saved-state
//! enum, the dispatch and the cost, memory and check tables from it.

use super::params::{Param, ParamValue, Raw, Rule, TrainConfig};
use crate::model::{Gradient, Grbm, Workspace};
use crate::rng::GibbsRng;
use faer::MatRef;

/// What a negative phase sees of one optimizer step.
pub struct Step<'s> {
    pub cfg: &'s TrainConfig,
    pub model: &'s Grbm,
    /// This step's minibatch, rows in training units; the positive phase left its p(z|x) in
    /// `ws.hidden_probs`.
    pub batch: MatRef<'s, f64>,
    pub ws: &'s mut Workspace,
    pub rng: &'s mut GibbsRng,
}

/// One way of estimating (or computing) the model's expectation of dF/dtheta.
pub trait NegativePhase: Sized {
    /// What carries from one step to the next (chains, counters), saved with a paused run.
    type Saved: Clone + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned;

    /// The sampler before its first step (`saved` = `None`) or as a paused run left it.
    /// `points` are the training points in training units.
    fn start(cfg: &TrainConfig, points: &[[f64; 2]], saved: Option<Self::Saved>) -> Self;

    /// The negative phase of one step into `grad`.
    fn negative(&mut self, step: Step<'_>, grad: &mut Gradient);

    fn saved(&self) -> Self::Saved;

    /// The chains after the last step, for samplers that keep chains.
    fn chains(&self) -> Option<MatRef<'_, f64>> {
        None
    }

    /// The run's cost in the shards' machine-independent units
    /// ([`crate::cluster::shard::cost`]), with its `updates` optimizer steps in all.
    fn cost(t: &TrainConfig, n_train: u128, updates: u128) -> u128;

    /// Bytes of the sampler's own arrays, beyond the trainer's (for `plan`'s memory estimate).
    fn bytes(t: &TrainConfig) -> f64;

    /// A rule of the run's keys that this sampler needs (checked before a sweep starts).
    fn check(_t: &TrainConfig) -> Result<(), Broken> {
        Ok(())
    }
}

/// A rule a run's keys break for its sampler: the key and the rule, for the error message.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    pub key: &'static str,
    pub rule: String,
}

/// A saved state that belongs to another sampler than the run's: a damaged or foreign file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("a saved state of sampler \"{saved}\" for a run of sampler \"{run}\"")]
pub struct WrongState {
    pub saved: &'static str,
    pub run: &'static str,
}

macro_rules! samplers {
    ($($(#[$doc:meta])* $variant:ident = $text:literal => $module:ident :: $ty:ident,)+) => {
        $(pub mod $module;)+

        super::params::choices! {
            /// Where the negative phase comes from.
            Sampler { $($(#[$doc])* $variant = $text,)+ }
        }

        /// The saved state of whichever sampler a run has.
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub enum SavedSampler { $($variant(<$module::$ty as NegativePhase>::Saved),)+ }

        impl SavedSampler {
            fn sampler(&self) -> Sampler {
                match self { $(SavedSampler::$variant(_) => Sampler::$variant,)+ }
            }
        }

        /// The sampler of a run in training. One per run, so the size of its largest variant
        /// (the replica chains) costs nothing worth a box.
        #[allow(clippy::large_enum_variant)]
        pub enum Active { $($variant($module::$ty),)+ }

        impl Active {
            /// The run's sampler before its first step.
            pub fn fresh(cfg: &TrainConfig, points: &[[f64; 2]]) -> Active {
                match cfg.sampler {
                    $(Sampler::$variant => Active::$variant(<$module::$ty>::start(cfg, points, None)),)+
                }
            }

            /// The run's sampler as `saved` left it, which must be of the run's sampler.
            pub fn resume(
                cfg: &TrainConfig,
                points: &[[f64; 2]],
                saved: SavedSampler,
            ) -> Result<Active, WrongState> {
                match (cfg.sampler, saved) {
                    $(
                        (Sampler::$variant, SavedSampler::$variant(s)) => {
                            Ok(Active::$variant(<$module::$ty>::start(cfg, points, Some(s))))
                        }
                    )+
                    (run, saved) => Err(WrongState {
                        saved: saved.sampler().name(),
                        run: run.name(),
                    }),
                }
            }

            pub fn negative(&mut self, step: Step<'_>, grad: &mut Gradient) {
                match self { $(Active::$variant(s) => s.negative(step, grad),)+ }
            }

            pub fn saved(&self) -> SavedSampler {
                match self { $(Active::$variant(s) => SavedSampler::$variant(s.saved()),)+ }
            }

            pub fn chains(&self) -> Option<MatRef<'_, f64>> {
                match self { $(Active::$variant(s) => s.chains(),)+ }
            }
        }

        impl Sampler {
            /// See [`NegativePhase::cost`].
            pub fn cost(self, t: &TrainConfig, n_train: u128, updates: u128) -> u128 {
                match self { $(Sampler::$variant => <$module::$ty>::cost(t, n_train, updates),)+ }
            }

            /// See [`NegativePhase::bytes`].
            pub fn bytes(self, t: &TrainConfig) -> f64 {
                match self { $(Sampler::$variant => <$module::$ty>::bytes(t),)+ }
            }

            /// See [`NegativePhase::check`].
            pub fn check(self, t: &TrainConfig) -> Result<(), Broken> {
                match self { $(Sampler::$variant => <$module::$ty>::check(t),)+ }
            }
        }
    };
}

samplers! {
    /// At the minibatch: the lab's CD-k.
    Cd = "cd" => cd::Cd,
    /// Persistent chains carried across minibatches (PCD).
    Pcd = "pcd" => pcd::Pcd,
    /// From N(0, I) in standardized units (Liao et al. 2022).
    Noise = "noise" => noise::Noise,
    /// No chains: the exact model expectation, by enumerating the 2^n hidden states (n <= 20).
    Exact = "exact" => exact::Exact,
    /// No chains: the same expectation as an integral of p(x) dF/dtheta over a 2-D grid in x
    /// (the grid of log Z, at most 256 points per axis), for any n.
    Grid = "grid" => grid::Grid,
    /// Parallel tempering: `chains` persistent chains at each of `replicas` inverse
    /// temperatures from 1 down to `beta_min`, with swaps between neighbours.
    Tempered = "tempered" => tempered::Tempered,
}

/// Chains of one minibatch's size, which CD, PCD and noise start differently and then run
/// alike: `k` Gibbs steps, and the mean gradient of F over them.
#[derive(Debug, Clone)]
pub struct BatchChains {
    /// `batch_size x 2`; rows past a short last batch are left from earlier steps.
    pub states: faer::Mat<f64>,
}

impl BatchChains {
    pub fn new(cfg: &TrainConfig, saved: Option<Vec<[f64; 2]>>) -> Self {
        let mut states = faer::Mat::zeros(cfg.batch_size, 2);
        if let Some(rows) = saved {
            super::set_rows(&mut states, &rows);
        }
        BatchChains { states }
    }

    pub fn rows(&self) -> Vec<[f64; 2]> {
        super::rows(self.states.as_ref())
    }

    /// `k` Gibbs steps of the first `rows` chains, then the mean gradient of F over them.
    pub fn run(&mut self, step: Step<'_>, rows: usize, k: usize, grad: &mut Gradient) {
        let mut chains = self.states.as_mut().subrows_mut(0, rows);
        step.model
            .gibbs_steps(chains.as_mut(), k, step.ws, step.rng);
        step.model
            .mean_free_energy_grad(chains.as_ref(), step.ws, grad);
    }

    /// The cost of `k` Gibbs steps per update plus the two free-energy passes, per point.
    pub fn cost(t: &TrainConfig, n_train: u128) -> u128 {
        (t.hidden as u128 + 2) * (t.k as u128 + 2) * t.epochs as u128 * n_train
    }
}
