//! `sampler = "tempered"`: parallel tempering, persistent chains at a ladder of inverse temperatures, each a GRBM, with Metropolis swaps of neighbouring replicas; the negative phase from the chains at temperature 1.

use super::{NegativePhase, Step};
use crate::data::moments;
use crate::model::{Gradient, Grbm, Workspace};
use crate::train::params::TrainConfig;
use crate::rng::GibbsRng;
use faer::Mat;

/// The GRBM of `beta * E`: the same means `b + W z`, sigma widened by `1 / sqrt(beta)` and the
/// hidden biases scaled by `beta` (its mixture log weights are `beta` times the model's).
pub fn tempered(model: &Grbm, beta: f64) -> Grbm {
    let sigma = model.sigma().map(|s| s / beta.sqrt());
    let c = model.c.iter().map(|c| beta * c).collect();
    Grbm::new(model.b, sigma, model.w.clone(), c)
}

/// The ladder: `replicas` inverse temperatures from 1 down to `beta_min`, evenly spaced in
/// log beta (a single replica is the model itself).
pub fn ladder(replicas: usize, beta_min: f64) -> Vec<f64> {
    if replicas == 1 {
        return vec![1.0];
    }
    (0..replicas)
        .map(|r| libm::pow(beta_min, r as f64 / (replicas - 1) as f64))
        .collect()
}

/// The replica chains: `chains` persistent chains per inverse temperature of the ladder.
pub struct Tempering {
    betas: Vec<f64>,
    /// Replica r holds rows `r * chains .. (r + 1) * chains`; replica 0 is the model (beta = 1).
    states: Mat<f64>,
    chains: usize,
    started: bool,
    ws: Workspace,
    /// Gibbs steps made, whose parity picks the pairs of replicas offered a swap after each.
    sweeps: usize,
    /// Free energies of one replica's chains (scratch of the swaps).
    f: Vec<f64>,
    /// Swaps offered and accepted so far, over all pairs.
    pub offered: u64,
    pub accepted: u64,
}

/// What of the replica chains carries from one update to the next (the rest is scratch).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReplicaState {
    states: Vec<[f64; 2]>,
    started: bool,
    sweeps: usize,
    offered: u64,
    accepted: u64,
}

impl Tempering {
    pub fn state(&self) -> ReplicaState {
        ReplicaState {
            states: crate::train::rows(self.states.as_ref()),
            started: self.started,
            sweeps: self.sweeps,
            offered: self.offered,
            accepted: self.accepted,
        }
    }

    /// Continues from `state`, which must come from replica chains of the same shape.
    pub fn restore(&mut self, state: ReplicaState) {
        crate::train::set_rows(&mut self.states, &state.states);
        self.started = state.started;
        self.sweeps = state.sweeps;
        self.offered = state.offered;
        self.accepted = state.accepted;
    }

    pub fn new(replicas: usize, beta_min: f64, chains: usize, n_hidden: usize) -> Self {
        Tempering {
            betas: ladder(replicas, beta_min),
            states: Mat::zeros(replicas * chains, 2),
            chains,
            started: false,
            ws: Workspace::new(chains, n_hidden),
            sweeps: 0,
            f: Vec::new(),
            offered: 0,
            accepted: 0,
        }
    }

    /// The chains of the model itself (beta = 1).
    pub fn cold(&self) -> faer::MatRef<'_, f64> {
        self.states.as_ref().subrows(0, self.chains)
    }

    /// The mean gradient of F over the chains of the model itself into `grad`.
    pub fn negative_phase(&mut self, model: &Grbm, grad: &mut Gradient) {
        let cold = self.states.as_ref().subrows(0, self.chains);
        model.mean_free_energy_grad(cold, &mut self.ws, grad);
    }

    /// One update: `k` times, every replica's chains make a Gibbs step under its tempered model,
    /// then neighbouring replicas (pairs (0, 1), (2, 3), ... after even steps, (1, 2), (3, 4),
    /// ... after odd ones) offer each chain a swap. The first update starts every chain at
    /// `center + spread * N(0, I)`.
    pub fn advance(
        &mut self,
        model: &Grbm,
        k: usize,
        start: ([f64; 2], [f64; 2]),
        rng: &mut GibbsRng,
    ) {
        let (total, chains) = (self.states.nrows(), self.chains);
        if !self.started {
            let noise = rng.normals(2 * total);
            for i in 0..2 {
                for r in 0..total {
                    self.states[(r, i)] = start.0[i] + start.1[i] * noise[i * total + r];
                }
            }
            self.started = true;
        }
        let models: Vec<Grbm> = self.betas.iter().map(|&b| tempered(model, b)).collect();
        let mut uniforms = vec![0.0; chains];
        for _ in 0..k {
            for (r, m) in models.iter().enumerate() {
                let rows = self.states.as_mut().subrows_mut(r * chains, chains);
                m.gibbs_steps(rows, 1, &mut self.ws, rng);
            }
            let first = self.sweeps % 2;
            self.sweeps += 1;
            for r in (first..models.len().saturating_sub(1)).step_by(2) {
                rng.uniform.fill(&mut uniforms);
                self.swap_pair(&models[r], &models[r + 1], r, &uniforms);
            }
        }
    }

    /// Offers every chain of replicas `r` and `r + 1` the exchange of their states, accepted
    /// with probability `min(1, p_r(y) p_s(x) / (p_r(x) p_s(y)))` (x in replica r, y in s = r + 1),
    /// which keeps the product of the tempered marginals invariant.
    fn swap_pair(&mut self, cold: &Grbm, hot: &Grbm, r: usize, uniforms: &[f64]) {
        let chains = self.chains;
        let (x, y) = (r * chains, (r + 1) * chains);
        // log_ratio = F_r(x) - F_s(x) - (F_r(y) - F_s(y)), a column at a time.
        let mut log_ratio = vec![0.0; chains];
        for (rows, sign) in [(x, 1.0), (y, -1.0)] {
            for (model, sign) in [(cold, sign), (hot, -sign)] {
                free_energies(
                    model,
                    self.states.as_ref().subrows(rows, chains),
                    &mut self.f,
                );
                for (l, f) in log_ratio.iter_mut().zip(&self.f) {
                    *l += sign * f;
                }
            }
        }
        for (c, (u, l)) in uniforms.iter().zip(&log_ratio).enumerate() {
            self.offered += 1;
            if libm::log(*u) < *l {
                self.accepted += 1;
                for i in 0..2 {
                    let held = self.states[(x + c, i)];
                    self.states[(x + c, i)] = self.states[(y + c, i)];
                    self.states[(y + c, i)] = held;
                }
            }
        }
    }
}

/// F(x) of every row of `x` into `out` ([`Grbm::free_energies`] on its two columns).
fn free_energies(model: &Grbm, x: faer::MatRef<'_, f64>, out: &mut Vec<f64>) {
    let column = |i: usize| -> Vec<f64> { (0..x.nrows()).map(|r| x[(r, i)]).collect() };
    out.resize(x.nrows(), 0.0);
    model.free_energies(&column(0), &column(1), out);
}

/// The negative phase of `sampler = "tempered"`: the replica chains, started from the
/// training points' mean and spread.
pub struct Tempered {
    replicas: Tempering,
    center: [f64; 2],
    spread: [f64; 2],
}

impl NegativePhase for Tempered {
    type Saved = ReplicaState;

    fn start(cfg: &TrainConfig, points: &[[f64; 2]], saved: Option<ReplicaState>) -> Self {
        let chains = cfg.chains_per_replica();
        let mut replicas = Tempering::new(cfg.replicas, cfg.beta_min, chains, cfg.hidden);
        if let Some(saved) = saved {
            replicas.restore(saved);
        }
        let (center, spread) = moments(points);
        Tempered {
            replicas,
            center,
            spread,
        }
    }

    fn negative(&mut self, step: Step<'_>, grad: &mut Gradient) {
        let start = (self.center, self.spread);
        self.replicas.advance(step.model, step.cfg.k, start, step.rng);
        self.replicas.negative_phase(step.model, grad);
    }

    fn saved(&self) -> ReplicaState {
        self.replicas.state()
    }

    fn chains(&self) -> Option<faer::MatRef<'_, f64>> {
        Some(self.replicas.cold())
    }

    /// `chains` chains at each of `replicas` temperatures, each for `k` Gibbs steps plus the
    /// swaps' free energies, per update.
    fn cost(t: &TrainConfig, n_train: u128, updates: u128) -> u128 {
        let hidden = t.hidden as u128;
        let chains = t.chains_per_replica() as u128;
        let states = (t.replicas as u128).saturating_mul(chains);
        let sampling = (updates * (hidden + 2) * (t.k as u128 + 2)).saturating_mul(states);
        ((hidden + 2) * t.epochs as u128 * n_train).saturating_add(sampling)
    }

    /// The replicas' states and one replica's workspace.
    fn bytes(t: &TrainConfig) -> f64 {
        let chains = t.chains_per_replica() as f64;
        16.0 * chains * (t.hidden as f64 + t.replicas as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    /// Two components 4 apart at sigma 0.3, weights 0.1 (at 0) and 0.9 (at (4, 0)): a Gibbs
    /// chain never crosses between them, so persistent chains keep the split they started with.
    fn two_separated_modes() -> Grbm {
        let w = faer::Mat::from_fn(2, 1, |i, _| if i == 0 { 4.0 } else { 0.0 });
        let sigma = 0.3_f64;
        let c = 9.0_f64.ln() - 16.0 / (2.0 * sigma * sigma);
        Grbm::new([0.0, 0.0], [sigma, sigma], w, vec![c])
    }

    /// The mean and covariance over the chains of the model itself after `updates` updates.
    fn cold_moments(model: &Grbm, replicas: usize, updates: usize) -> ([f64; 2], [f64; 3]) {
        let chains = 2000;
        let mut t = Tempering::new(replicas, 0.005, chains, model.n_hidden());
        let mut rng = GibbsRng::new(stream(7, Purpose::Gibbs));
        for _ in 0..updates {
            t.advance(model, 1, ([2.0, 0.0], [2.0, 1.0]), &mut rng);
        }
        let x = t.cold();
        let n = chains as f64;
        let mean = [0, 1].map(|i| (0..chains).map(|r| x[(r, i)]).sum::<f64>() / n);
        let cov = [(0, 0), (0, 1), (1, 1)].map(|(i, j)| {
            (0..chains)
                .map(|r| (x[(r, i)] - mean[i]) * (x[(r, j)] - mean[j]))
                .sum::<f64>()
                / n
        });
        (mean, cov)
    }

    /// With 12 temperatures the chains at temperature 1 reach the model's exact mixture moments
    /// (mean (3.6, 0), variance 1.44 + 0.09 along x_1); without tempering they stay near the
    /// even split of their start (mean about 2) however long they run.
    #[test]
    fn swaps_let_the_cold_chains_reach_the_exact_moments_that_plain_chains_miss() {
        let model = two_separated_modes();
        let (mean, cov) = model.exact_moments();
        assert!((mean[0] - 3.6).abs() < 1e-9, "{mean:?}");
        let (pt_mean, pt_cov) = cold_moments(&model, 12, 400);
        assert!(
            (pt_mean[0] - mean[0]).abs() < 0.1,
            "{pt_mean:?} vs {mean:?}"
        );
        assert!(pt_mean[1].abs() < 0.05, "{pt_mean:?}");
        assert!(
            (pt_cov[0] - cov[0][0]).abs() < 0.15,
            "{pt_cov:?} vs {cov:?}"
        );
        assert!(
            (pt_cov[2] - cov[1][1]).abs() < 0.02,
            "{pt_cov:?} vs {cov:?}"
        );
        let (plain_mean, _) = cold_moments(&model, 1, 400);
        assert!(
            (plain_mean[0] - mean[0]).abs() > 1.0,
            "plain chains mixed after all: {plain_mean:?}"
        );
    }

    /// The tempered model is the GRBM of beta E: same means, sigma / sqrt(beta), beta c, so its
    /// mixture log weights are beta times the model's.
    #[test]
    fn tempered_model_has_beta_times_the_energy() {
        let model = two_separated_modes();
        let hot = tempered(&model, 0.25);
        for (x, z) in [([0.3, -1.0], 0.0), ([2.0, 0.5], 1.0), ([-4.0, 3.0], 1.0)] {
            let (e, e_hot) = (model.energy(x, &[z]), hot.energy(x, &[z]));
            assert!(
                (e_hot - 0.25 * e).abs() < 1e-9 * e.abs().max(1.0),
                "{e_hot} vs {e}"
            );
        }
        assert_eq!(ladder(1, 0.1), vec![1.0]);
        let betas = ladder(3, 0.01);
        assert!((betas[1] - 0.1).abs() < 1e-12 && (betas[2] - 0.01).abs() < 1e-12);
    }

    /// The swaps' batched free energies are the model's, point by point.
    #[test]
    fn batched_free_energies_match_the_model() {
        let model = tempered(&two_separated_modes(), 0.3);
        let x = faer::Mat::from_fn(37, 2, |r, i| (r as f64 * 0.37 + i as f64).sin() * 5.0);
        let mut f = Vec::new();
        free_energies(&model, x.as_ref(), &mut f);
        for (r, f) in f.iter().enumerate() {
            let expected = model.free_energy([x[(r, 0)], x[(r, 1)]]);
            assert!(
                (f - expected).abs() < 1e-9 * expected.abs().max(1.0),
                "{f} vs {expected}"
            );
        }
    }
}
