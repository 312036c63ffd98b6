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

    /// Whether the sampler keeps chains ([`NegativePhase::chains`] is `Some`).
    const CHAINS: bool = true;

    /// The chains after the last step, for samplers that keep chains.
    fn chains(&self) -> Option<MatRef<'_, f64>> {
        None
    }

    /// The run's cost in the shards' machine-independent units
    /// (the CLI's `cluster::shard::cost`), with its `updates` optimizer steps in all.
    fn cost(t: &TrainConfig, n_train: u128, updates: u128) -> u128;

    /// Bytes of the sampler's own arrays, beyond the trainer's (for `plan`'s memory estimate).
    fn bytes(t: &TrainConfig) -> f64;

    /// A rule of the run's keys that this sampler needs (checked before a sweep starts).
    fn check(_t: &TrainConfig) -> Result<(), Broken> {
        Ok(())
    }

    /// The fraction of Metropolis-Hastings proposals accepted so far, for samplers that make
    /// them (`None` before the first).
    fn accept_rate(&self) -> Option<f64> {
        None
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

mod metropolis;

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

            /// A copy of this sampler, through its saved state: what a diagnostic probes
            /// without moving the run's own.
            pub fn copy(&self, cfg: &TrainConfig, points: &[[f64; 2]]) -> Active {
                match self {
                    $(Active::$variant(s) => {
                        Active::$variant(<$module::$ty>::start(cfg, points, Some(s.saved())))
                    })+
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

            pub fn accept_rate(&self) -> Option<f64> {
                match self { $(Active::$variant(s) => s.accept_rate(),)+ }
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

            /// See [`NegativePhase::CHAINS`].
            pub fn has_chains(self) -> bool {
                match self { $(Sampler::$variant => <$module::$ty>::CHAINS,)+ }
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
    /// Langevin steps on the free energy with a Metropolis-Hastings correction (MALA), from
    /// N(0, I) in standardized units (Liao et al. 2022).
    Langevin = "langevin" => langevin::Langevin,
    /// Langevin steps on x at fixed z, then z ~ p(z|x), corrected as one joint move, from
    /// N(0, I) in standardized units (Liao et al. 2022).
    GibbsLangevin = "gibbs_langevin" => gibbs_langevin::GibbsLangevin,
}

/// Chains of one minibatch's size, which CD, PCD and noise start differently and then run
/// alike: Gibbs steps up to the `k`-th, and the mean gradient of F over the states `burn_in`
/// asks for.
#[derive(Debug, Clone)]
pub struct BatchChains {
    /// `batch_size x 2`; rows past a short last batch are left from earlier steps.
    pub states: faer::Mat<f64>,
    averaging: Averaging,
}

impl BatchChains {
    pub fn new(cfg: &TrainConfig, saved: Option<Vec<[f64; 2]>>) -> Self {
        let mut states = faer::Mat::zeros(cfg.batch_size, 2);
        if let Some(rows) = saved {
            super::set_rows(&mut states, &rows);
        }
        BatchChains {
            states,
            averaging: Averaging::new(cfg),
        }
    }

    pub fn rows(&self) -> Vec<[f64; 2]> {
        super::rows(self.states.as_ref())
    }

    /// The Gibbs steps after the first `done` of the `k` of the first `rows` chains, and the mean
    /// gradient of F over the states [`Averaging`] keeps.
    pub fn run(&mut self, step: Step<'_>, rows: usize, done: usize, grad: &mut Gradient) {
        let mut chains = self.states.as_mut().subrows_mut(0, rows);
        let (model, k, first) = (step.model, step.cfg.k, self.averaging.first);
        // Straight to the first averaged state: with `burn_in = 0` the last, as plain CD-k.
        model.gibbs_steps(chains.as_mut(), first - done.min(first), step.ws, step.rng);
        self.averaging
            .add(model, chains.as_ref(), first.max(done), step.ws, grad);
        for after in first.max(done) + 1..=k {
            model.gibbs_steps(chains.as_mut(), 1, step.ws, step.rng);
            self.averaging
                .add(model, chains.as_ref(), after, step.ws, grad);
        }
        self.averaging.finish(grad);
    }

    /// The cost of `k` Gibbs steps per update plus the two free-energy passes, per point.
    pub fn cost(t: &TrainConfig, n_train: u128) -> u128 {
        (t.hidden as u128 + 2) * (t.k as u128 + 2) * t.epochs as u128 * n_train
    }
}

/// The chain states a negative phase averages dF/dtheta over: those after steps `first..=k`
/// (`burn_in` = b >= 1 gives `first` = b; 0 gives `first` = k, the last state alone).
#[derive(Debug, Clone)]
pub struct Averaging {
    /// The step after which the first averaged state is reached, in 1..=k.
    pub first: usize,
    k: usize,
    /// States added so far this step.
    added: usize,
    /// One state's gradient, before it is added to the sum.
    scratch: Gradient,
}

impl Averaging {
    pub fn new(cfg: &TrainConfig) -> Self {
        let k = cfg.k;
        Averaging {
            first: if cfg.burn_in == 0 {
                k
            } else {
                cfg.burn_in.min(k)
            },
            k,
            added: 0,
            scratch: Gradient::zeros(if cfg.burn_in == 0 { 0 } else { cfg.hidden }),
        }
    }

    /// Whether the state after step `after` is averaged.
    pub fn keeps(&self, after: usize) -> bool {
        (self.first..=self.k).contains(&after)
    }

    /// Adds the mean gradient of F over `chains`, the states after step `after`, if that state is
    /// averaged. The first state is written straight into `grad`, so that averaging one state
    /// (`burn_in = 0`) is that state's gradient, bit for bit.
    pub fn add(
        &mut self,
        model: &Grbm,
        chains: MatRef<'_, f64>,
        after: usize,
        ws: &mut Workspace,
        grad: &mut Gradient,
    ) {
        if !self.keeps(after) {
            return;
        }
        if self.added == 0 {
            model.mean_free_energy_grad(chains, ws, grad);
        } else {
            model.mean_free_energy_grad(chains, ws, &mut self.scratch);
            grad.add_scaled(&self.scratch, 1.0);
        }
        self.added += 1;
    }

    /// Turns the sum in `grad` into the mean, and starts the next step's sum.
    pub fn finish(&mut self, grad: &mut Gradient) {
        if self.added > 1 {
            grad.scale(1.0 / self.added as f64);
        }
        self.added = 0;
    }
}

/// The rule of `burn_in` for the samplers that average over their chains' steps.
pub fn check_burn_in(t: &TrainConfig) -> Result<(), Broken> {
    if t.burn_in > t.k {
        return Err(Broken {
            key: "burn_in",
            rule: format!(
                "burn_in averages the chain states from step burn_in to step k: it must be at \
                 most k = {}",
                t.k
            ),
        });
    }
    Ok(())
}

/// Metropolis-Hastings proposals made and accepted over a run, saved with its state.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct AcceptCount {
    pub proposed: u64,
    pub accepted: u64,
}

impl AcceptCount {
    pub fn add(&mut self, proposed: usize, accepted: usize) {
        self.proposed += proposed as u64;
        self.accepted += accepted as u64;
    }

    pub fn rate(&self) -> Option<f64> {
        (self.proposed > 0).then(|| self.accepted as f64 / self.proposed as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};
    use faer::Mat;

    /// `burn_in = b` averages dF/dtheta over the chains' states after steps b..=k: the same
    /// chains stepped by hand give the mean of their k - b + 1 gradients. `burn_in = k` is
    /// `burn_in = 0` (the last state), bit for bit, and averaging does change the gradient.
    #[test]
    fn burn_in_averages_the_gradient_over_the_last_steps() {
        let points: Vec<[f64; 2]> = (0..50)
            .map(|i| [(i as f64 * 0.37).sin() * 2.0, (i as f64 * 0.91).cos()])
            .collect();
        let batch = Mat::from_fn(50, 2, |r, i| points[r][i]);
        let cfg = |burn_in| TrainConfig {
            sampler: Sampler::Noise,
            hidden: 3,
            k: 4,
            batch_size: 50,
            burn_in,
            ..TrainConfig::default()
        };
        let model = crate::train::initial_model(&cfg(0), &points);
        let rng = || GibbsRng::new(stream(1, Purpose::Gibbs));
        let negative = |burn_in| {
            let cfg = cfg(burn_in);
            let mut sampler = Active::fresh(&cfg, &points);
            let (mut ws, mut rng) = (Workspace::new(50, 3), rng());
            let mut grad = Gradient::zeros(3);
            let step = Step {
                cfg: &cfg,
                model: &model,
                batch: batch.as_ref(),
                ws: &mut ws,
                rng: &mut rng,
            };
            sampler.negative(step, &mut grad);
            grad
        };
        assert_eq!(negative(4), negative(0));

        let (mut ws, mut rng) = (Workspace::new(50, 3), rng());
        let starts = noise::NoiseStart::of(&points).draw(50, &mut rng);
        let mut x = Mat::from_fn(50, 2, |r, i| starts[r][i]);
        let (mut mean, mut one) = (Gradient::zeros(3), Gradient::zeros(3));
        for after in 1..=4 {
            model.gibbs_steps(x.as_mut(), 1, &mut ws, &mut rng);
            if after >= 2 {
                model.mean_free_energy_grad(x.as_ref(), &mut ws, &mut one);
                mean.add_scaled(&one, 1.0 / 3.0);
            }
        }
        let averaged = negative(2);
        let mut difference = averaged.clone();
        difference.add_scaled(&mean, -1.0);
        assert!(
            difference.norm() < 1e-12 * mean.norm(),
            "{averaged:?} vs {mean:?}"
        );
        let mut change = averaged;
        change.add_scaled(&negative(0), -1.0);
        assert!(
            change.norm() > 1e-3 * mean.norm(),
            "averaging changed nothing"
        );
    }
}
