//! Langevin moves on the GRBM (Liao et al. 2022): steps down the free energy F(x) with an optional Metropolis-Hastings correction (MALA), and Gibbs-Langevin steps (Langevin steps on x at fixed z, then z ~ p(z|x), corrected as one joint move), with the proposal densities their acceptance ratios need.
//!
//! docs/math.md ("Langevin samplers") derives both ratios. Each step costs a pass over the
//! hidden units per chain, as a Gibbs step does, run column by column in the vector kernels of
//! [`crate::vecmath`]; only the proposals and the accept tests are per chain.

use super::Grbm;
use crate::rng::GibbsRng;
use crate::vecmath;

impl Grbm {
    /// F and its gradient `(x - b - W p(z|x)) / sigma^2` at every point, column by column in
    /// the vector kernels (one logarithm per point and 512 hidden units, as
    /// [`Grbm::free_energies`]).
    pub fn free_energies_and_grads(
        &self,
        points: &[[f64; 2]],
        f: &mut Vec<f64>,
        grad: &mut Vec<[f64; 2]>,
    ) {
        const UNITS_PER_LOG: usize = 512;
        let rows = points.len();
        let iv = self.inv_var();
        let scaled = [0, 1].map(|i| points.iter().map(|p| p[i] * iv[i]).collect::<Vec<f64>>());
        let mut positive = vec![0.0; rows];
        let mut product = vec![1.0; rows];
        let mut w_p = [vec![0.0; rows], vec![0.0; rows]];
        let mut hidden_term = vec![0.0; rows];
        for first in (0..self.n_hidden()).step_by(UNITS_PER_LOG) {
            product.fill(1.0);
            for j in first..(first + UNITS_PER_LOG).min(self.n_hidden()) {
                let (c, w1, w2) = (self.c[j], self.w[(0, j)], self.w[(1, j)]);
                let [w_p1, w_p2] = &mut w_p;
                vecmath::softplus_weighted_sigmoid_column(
                    &scaled[0],
                    &scaled[1],
                    c,
                    w1,
                    w2,
                    &mut positive,
                    &mut product,
                    w_p1,
                    w_p2,
                );
            }
            for (h, q) in hidden_term.iter_mut().zip(&product) {
                *h += libm::log(*q);
            }
        }
        f.clear();
        grad.clear();
        for (r, x) in points.iter().enumerate() {
            let d = [x[0] - self.b[0], x[1] - self.b[1]];
            let quadratic = d[0] * d[0] * iv[0] / 2.0 + d[1] * d[1] * iv[1] / 2.0;
            f.push(quadratic - (positive[r] + hidden_term[r]));
            grad.push([(d[0] - w_p[0][r]) * iv[0], (d[1] - w_p[1][r]) * iv[1]]);
        }
    }

    /// b + W z for z ~ p(z | x) at every point, from the uniforms `u` (`rows x n`, column-major:
    /// unit j's are `u[j rows .. (j + 1) rows]`).
    fn hidden_draw_means(&self, points: &[[f64; 2]], u: &[f64]) -> Vec<[f64; 2]> {
        let rows = points.len();
        let iv = self.inv_var();
        let scaled = [0, 1].map(|i| points.iter().map(|p| p[i] * iv[i]).collect::<Vec<f64>>());
        let mut means = [vec![self.b[0]; rows], vec![self.b[1]; rows]];
        for (j, u) in u
            .chunks_exact(rows.max(1))
            .enumerate()
            .take(self.n_hidden())
        {
            let (c, w1, w2) = (self.c[j], self.w[(0, j)], self.w[(1, j)]);
            let [mean1, mean2] = &mut means;
            vecmath::bernoulli_column(&scaled[0], &scaled[1], c, w1, w2, u, mean1, mean2);
        }
        (0..rows).map(|r| [means[0][r], means[1][r]]).collect()
    }
}

/// The step sizes of `steps` Langevin steps of peak size `eta`: constant, or annealed by a cosine
/// from `eta` at the first step towards 0 (`eta (1 + cos(pi t / steps)) / 2` at step t), as the
/// reference code of Liao et al. does.
pub fn step_sizes(eta: f64, steps: usize, anneal: bool) -> Vec<f64> {
    (0..steps)
        .map(|t| {
            if anneal {
                // cos(pi t / steps) is the cosine of t / (2 steps) turns, in [0, 1/2).
                let (_, cos) = vecmath::sincos_turns(t as f64 / (2 * steps) as f64);
                eta * (1.0 + cos) / 2.0
            } else {
                eta
            }
        })
        .collect()
}

/// `ln q(to | from)` of a Langevin proposal of step size `eta` from a point where the gradient of
/// F is `grad_from`, up to a constant that is the same in both directions (and so cancels from
/// the ratio). A parameter of [`Grbm::langevin_step`] so that a test can hand it a wrong one.
pub type LangevinDensity = fn(to: [f64; 2], from: [f64; 2], grad_from: [f64; 2], eta: f64) -> f64;

/// The density of x' = x - eta grad F(x) + sqrt(2 eta) N(0, I):
/// `-|x' - x + eta grad F(x)|^2 / (4 eta)`.
pub fn langevin_log_q(to: [f64; 2], from: [f64; 2], grad_from: [f64; 2], eta: f64) -> f64 {
    let d = [
        to[0] - from[0] + eta * grad_from[0],
        to[1] - from[1] + eta * grad_from[1],
    ];
    -(d[0] * d[0] + d[1] * d[1]) / (4.0 * eta)
}

/// Whether a proposal with log acceptance ratio `log_ratio` is accepted on the uniform draw `u`:
/// with probability min(1, e^log_ratio). A ratio that is not a number (a diverged model) rejects.
fn accepts(log_ratio: f64, u: f64) -> bool {
    log_ratio >= 0.0 || u < vecmath::exp(log_ratio)
}

/// Chains of the Langevin sampler: each chain's point with F and its gradient there, which the
/// next proposal and its ratio reuse.
#[derive(Debug, Clone, Default)]
pub struct LangevinChains {
    pub x: Vec<[f64; 2]>,
    f: Vec<f64>,
    grad: Vec<[f64; 2]>,
}

impl LangevinChains {
    /// Chains at `x`, with F and its gradient under `model`.
    pub fn at(model: &Grbm, x: Vec<[f64; 2]>) -> Self {
        let (mut f, mut grad) = (Vec::new(), Vec::new());
        model.free_energies_and_grads(&x, &mut f, &mut grad);
        LangevinChains { x, f, grad }
    }
}

impl Grbm {
    /// One Langevin step of every chain with step size `eta`:
    /// x' = x - eta grad F(x) + sqrt(2 eta) N(0, I), accepted with probability
    /// min(1, exp(F(x) - F(x') + ln q(x | x') - ln q(x' | x))) when `adjust`, always otherwise.
    /// Returns how many chains moved.
    pub fn langevin_step(
        &self,
        chains: &mut LangevinChains,
        eta: f64,
        adjust: bool,
        rng: &mut GibbsRng,
        log_q: LangevinDensity,
    ) -> usize {
        let rows = chains.x.len();
        let noise = rng.normals(2 * rows).to_vec();
        let mut u = vec![0.0; if adjust { rows } else { 0 }];
        rng.uniform.fill(&mut u);
        let spread = (2.0 * eta).sqrt();
        let to: Vec<[f64; 2]> = (0..rows)
            .map(|r| {
                let (x, g) = (chains.x[r], chains.grad[r]);
                [0, 1].map(|i| x[i] - eta * g[i] + spread * noise[i * rows + r])
            })
            .collect();
        let (mut f_to, mut g_to) = (Vec::new(), Vec::new());
        self.free_energies_and_grads(&to, &mut f_to, &mut g_to);
        let mut moved = 0;
        for r in 0..rows {
            let (x, g) = (chains.x[r], chains.grad[r]);
            let accepted = !adjust || {
                let log_ratio =
                    chains.f[r] - f_to[r] + log_q(x, to[r], g_to[r], eta) - log_q(to[r], x, g, eta);
                accepts(log_ratio, u[r])
            };
            if accepted {
                chains.x[r] = to[r];
                chains.f[r] = f_to[r];
                chains.grad[r] = g_to[r];
                moved += 1;
            }
        }
        moved
    }
}

/// Where Langevin steps at a fixed hidden state take a point, per axis: E(x, z) is a Gaussian in
/// x with mean m = b + W z, so each step x <- x - eta (x - m) / sigma^2 + sqrt(2 eta) N(0, 1)
/// is affine, and a run of them maps x to m + A (x - m) + N(0, S^2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LangevinComposite {
    /// A per axis: the product of the steps' factors 1 - eta / sigma^2.
    pub contraction: [f64; 2],
    /// S^2 per axis: the variance the steps add, sum_s 2 eta_s prod_{l > s} (1 - eta_l / sigma^2)^2.
    pub variance: [f64; 2],
}

impl LangevinComposite {
    /// Of the steps `etas` on a model of standard deviations `sigma`.
    pub fn of(etas: &[f64], sigma: [f64; 2]) -> Self {
        let mut contraction = [1.0; 2];
        let mut variance = [0.0; 2];
        for i in 0..2 {
            let inv_var = 1.0 / (sigma[i] * sigma[i]);
            for eta in etas {
                let factor = 1.0 - eta * inv_var;
                contraction[i] *= factor;
                variance[i] = variance[i] * factor * factor + 2.0 * eta;
            }
        }
        LangevinComposite {
            contraction,
            variance,
        }
    }

    /// `ln q(to | from, z)`, with `mean` = b + W z, up to a constant the same in both directions.
    pub fn log_q(&self, to: [f64; 2], from: [f64; 2], mean: [f64; 2]) -> f64 {
        (0..2)
            .map(|i| {
                let d = to[i] - mean[i] - self.contraction[i] * (from[i] - mean[i]);
                -d * d / (2.0 * self.variance[i])
            })
            .sum()
    }
}

/// Chains of the Gibbs-Langevin sampler: each chain's joint state (x, z), kept as x, F(x) and the
/// mean b + W z of p(x | z), which is all of z that the moves and their ratio read.
#[derive(Debug, Clone, Default)]
pub struct GibbsLangevinChains {
    pub x: Vec<[f64; 2]>,
    f: Vec<f64>,
    mean: Vec<[f64; 2]>,
}

impl Grbm {
    /// Chains at `x`, each with z ~ p(z | x).
    pub fn gibbs_langevin_chains(
        &self,
        x: Vec<[f64; 2]>,
        rng: &mut GibbsRng,
    ) -> GibbsLangevinChains {
        let mut u = vec![0.0; x.len() * self.n_hidden()];
        rng.uniform.fill(&mut u);
        let mean = self.hidden_draw_means(&x, &u);
        let (mut f, mut grad) = (Vec::new(), Vec::new());
        self.free_energies_and_grads(&x, &mut f, &mut grad);
        GibbsLangevinChains { x, f, mean }
    }

    /// One Gibbs-Langevin step of every chain: the Langevin steps `etas` on x at the chain's z
    /// (under E(x, z)), then z' ~ p(z | x'); when `adjust`, the joint move is accepted with
    /// probability min(1, exp(F(x) - F(x') + ln q(x | x', z') - ln q(x' | x, z))), the proposal
    /// density taken from `density`. Returns how many chains moved.
    pub fn gibbs_langevin_step(
        &self,
        chains: &mut GibbsLangevinChains,
        etas: &[f64],
        density: &LangevinComposite,
        adjust: bool,
        rng: &mut GibbsRng,
    ) -> usize {
        let (rows, n) = (chains.x.len(), self.n_hidden());
        let iv = self.inv_var();
        let mut to = chains.x.clone();
        for &eta in etas {
            let noise = rng.normals(2 * rows);
            let spread = (2.0 * eta).sqrt();
            for (r, x) in to.iter_mut().enumerate() {
                let m = chains.mean[r];
                for i in 0..2 {
                    x[i] += -eta * (x[i] - m[i]) * iv[i] + spread * noise[i * rows + r];
                }
            }
        }
        let mut u = vec![0.0; rows * n];
        rng.uniform.fill(&mut u);
        let mean_to = self.hidden_draw_means(&to, &u);
        let (mut f_to, mut grad_scratch) = (Vec::new(), Vec::new());
        self.free_energies_and_grads(&to, &mut f_to, &mut grad_scratch);
        let mut u_accept = vec![0.0; if adjust { rows } else { 0 }];
        rng.uniform.fill(&mut u_accept);
        let mut moved = 0;
        for r in 0..rows {
            let accepted = !adjust || {
                let log_ratio = chains.f[r] - f_to[r]
                    + density.log_q(chains.x[r], to[r], mean_to[r])
                    - density.log_q(to[r], chains.x[r], chains.mean[r]);
                accepts(log_ratio, u_accept[r])
            };
            if accepted {
                chains.x[r] = to[r];
                chains.f[r] = f_to[r];
                chains.mean[r] = mean_to[r];
                moved += 1;
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};
    use faer::Mat;

    /// Four hidden units whose mixture has modes a few sigmas apart, unevenly weighted: a model
    /// where a sampler with the wrong stationary distribution shows it in the moments.
    fn small_model() -> Grbm {
        let w = Mat::from_fn(2, 4, |i, j| {
            [[1.2, -0.8, 0.5, 0.3], [0.4, 0.9, -1.1, 0.2]][i][j]
        });
        Grbm::new([0.3, -0.2], [0.6, 0.5], w, vec![-0.4, 0.2, 0.1, -0.6])
    }

    fn rng(seed: u64) -> GibbsRng {
        GibbsRng::new(stream(seed, Purpose::Gibbs))
    }

    /// Start points spread around the data, as the samplers' noise starts are.
    fn starts(rows: usize, rng: &mut GibbsRng) -> Vec<[f64; 2]> {
        let z = rng.normals(2 * rows).to_vec();
        (0..rows).map(|r| [2.0 * z[r], 2.0 * z[rows + r]]).collect()
    }

    /// Mean, covariance and the standard error of each of their five entries, over points that
    /// are independent draws (one per chain).
    fn moments_with_errors(x: &[[f64; 2]]) -> ([f64; 2], [f64; 3], [f64; 5]) {
        let n = x.len() as f64;
        let mean = [0, 1].map(|i| x.iter().map(|p| p[i]).sum::<f64>() / n);
        let products = [(0, 0), (0, 1), (1, 1)];
        let cov = products.map(|(i, j)| {
            x.iter()
                .map(|p| (p[i] - mean[i]) * (p[j] - mean[j]))
                .sum::<f64>()
                / n
        });
        let se_mean = [0, 1].map(|i| (cov[if i == 0 { 0 } else { 2 }] / n).sqrt());
        let se_cov = [0, 1, 2].map(|k| {
            let (i, j) = products[k];
            let v = x
                .iter()
                .map(|p| ((p[i] - mean[i]) * (p[j] - mean[j]) - cov[k]).powi(2))
                .sum::<f64>()
                / n;
            (v / n).sqrt()
        });
        (
            mean,
            cov,
            [se_mean[0], se_mean[1], se_cov[0], se_cov[1], se_cov[2]],
        )
    }

    /// The largest distance of the chains' moments from the exact mixture moments, in standard
    /// errors.
    fn worst_z_score(model: &Grbm, x: &[[f64; 2]]) -> f64 {
        let (mean, cov) = model.exact_moments();
        let (m, c, se) = moments_with_errors(x);
        let exact = [mean[0], mean[1], cov[0][0], cov[0][1], cov[1][1]];
        let seen = [m[0], m[1], c[0], c[1], c[2]];
        (0..5)
            .map(|k| (seen[k] - exact[k]).abs() / se[k])
            .fold(0.0, f64::max)
    }

    const CHAINS: usize = 4000;
    const STEPS: usize = 300;

    fn mala_chains(
        model: &Grbm,
        eta: f64,
        adjust: bool,
        log_q: LangevinDensity,
    ) -> (Vec<[f64; 2]>, f64) {
        let mut rng = rng(3);
        let x = starts(CHAINS, &mut rng);
        let mut chains = LangevinChains::at(model, x);
        let mut moved = 0;
        for _ in 0..STEPS {
            moved += model.langevin_step(&mut chains, eta, adjust, &mut rng, log_q);
        }
        (chains.x, moved as f64 / (STEPS * CHAINS) as f64)
    }

    /// The gradient is F's: central differences of [`Grbm::free_energy`] agree to 1e-7 (far
    /// out too, where the hidden units saturate), and F itself is the model's.
    #[test]
    fn free_energy_gradient_matches_finite_differences() {
        let model = small_model();
        let points = [
            [0.1, 0.2],
            [-1.5, 0.7],
            [2.0, -2.5],
            [0.0, 3.0],
            [30.0, -40.0],
        ];
        let (mut fs, mut grads) = (Vec::new(), Vec::new());
        model.free_energies_and_grads(&points, &mut fs, &mut grads);
        for ((x, f), g) in points.into_iter().zip(fs).zip(grads) {
            assert!(
                (f - model.free_energy(x)).abs() < 1e-12 * f.abs().max(1.0),
                "{f} at {x:?}"
            );
            for i in 0..2 {
                let h = 1e-5;
                let (mut up, mut down) = (x, x);
                up[i] += h;
                down[i] -= h;
                let numeric = (model.free_energy(up) - model.free_energy(down)) / (2.0 * h);
                assert!(
                    (g[i] - numeric).abs() < 1e-7 * g[i].abs().max(1.0),
                    "{g:?} vs {numeric} at {x:?}"
                );
            }
        }
    }

    /// The MALA ratio as coded equals pi(x') q(x | x') / (pi(x) q(x' | x)) written out with the
    /// full Gaussian densities N(x'; x - eta grad F(x), 2 eta I) and p(x) = e^-F(x) / Z.
    #[test]
    fn langevin_ratio_is_the_metropolis_hastings_ratio() {
        let model = small_model();
        let f_and_grad = |x: [f64; 2]| {
            let (mut f, mut g) = (Vec::new(), Vec::new());
            model.free_energies_and_grads(&[x], &mut f, &mut g);
            (f[0], g[0])
        };
        let normal = |y: [f64; 2], mean: [f64; 2], var: f64| {
            let d2 = (y[0] - mean[0]).powi(2) + (y[1] - mean[1]).powi(2);
            (-d2 / (2.0 * var)).exp() / (2.0 * std::f64::consts::PI * var)
        };
        for (x, to, eta) in [
            ([0.1, 0.2], [0.5, -0.3], 0.05),
            ([-1.0, 1.0], [-0.2, 0.4], 0.3),
        ] {
            let (f, g) = f_and_grad(x);
            let (f_to, g_to) = f_and_grad(to);
            let coded = f - f_to + langevin_log_q(x, to, g_to, eta) - langevin_log_q(to, x, g, eta);
            let forward = normal(to, [x[0] - eta * g[0], x[1] - eta * g[1]], 2.0 * eta);
            let backward = normal(x, [to[0] - eta * g_to[0], to[1] - eta * g_to[1]], 2.0 * eta);
            let direct = ((-model.free_energy(to)).exp() * backward
                / ((-model.free_energy(x)).exp() * forward))
                .ln();
            assert!((coded - direct).abs() < 1e-9, "{coded} vs {direct}");
        }
    }

    /// Long MALA chains reach the exact mixture moments within 4.5 standard errors (at step
    /// sizes where most proposals are accepted and where few are); unadjusted Langevin at the
    /// larger step and MALA with a symmetric proposal density (the Langevin asymmetry left out of
    /// the ratio) do not.
    #[test]
    fn langevin_chains_reach_the_exact_moments_and_a_wrong_ratio_does_not() {
        let model = small_model();
        for eta in [0.05, 0.25] {
            let (x, rate) = mala_chains(&model, eta, true, langevin_log_q);
            let z = worst_z_score(&model, &x);
            assert!(
                z < 4.5,
                "eta {eta}: {z} standard errors off (accepted {rate})"
            );
        }
        let (x, _) = mala_chains(&model, 0.25, false, langevin_log_q);
        let z = worst_z_score(&model, &x);
        assert!(z > 10.0, "unadjusted Langevin only {z} standard errors off");
        let symmetric: LangevinDensity = |_, _, _, _| 0.0;
        let (x, _) = mala_chains(&model, 0.25, true, symmetric);
        let z = worst_z_score(&model, &x);
        assert!(
            z > 10.0,
            "a symmetric proposal density only {z} standard errors off"
        );
    }

    /// The composite of Langevin steps at fixed z is the Gaussian that a numerical integral over
    /// the intermediate point gives: q_2(y | x) = int N(u; m + a_0 (x - m), 2 eta_0)
    /// N(y; m + a_1 (u - m), 2 eta_1) du, per axis.
    #[test]
    fn composite_of_two_steps_is_the_integral_over_the_middle_point() {
        let (sigma, etas, m, x) = (0.7, [0.2, 0.05], 0.4, 1.3);
        let composite = LangevinComposite::of(&etas, [sigma, sigma]);
        let normal = |y: f64, mean: f64, var: f64| {
            (-(y - mean).powi(2) / (2.0 * var)).exp() / (2.0 * std::f64::consts::PI * var).sqrt()
        };
        let factor = |eta: f64| 1.0 - eta / (sigma * sigma);
        for y in [-0.5, 0.4, 1.0, 2.2] {
            let (lo, hi, steps) = (-8.0, 10.0, 20_000);
            let h = (hi - lo) / steps as f64;
            let integral: f64 = (0..=steps)
                .map(|s| {
                    let u = lo + s as f64 * h;
                    let weight = if s == 0 || s == steps { 0.5 } else { 1.0 };
                    weight
                        * normal(u, m + factor(etas[0]) * (x - m), 2.0 * etas[0])
                        * normal(y, m + factor(etas[1]) * (u - m), 2.0 * etas[1])
                })
                .sum::<f64>()
                * h;
            let closed = normal(
                y,
                m + composite.contraction[0] * (x - m),
                composite.variance[0],
            );
            assert!(
                (integral - closed).abs() < 1e-9,
                "{integral} vs {closed} at {y}"
            );
        }
    }

    /// The Gibbs-Langevin ratio F(x) - F(x') + ln q(x | x', z') - ln q(x' | x, z) is the full
    /// Metropolis-Hastings ratio of the joint move, pi(x', z') q(x | x', z') p(z | x) /
    /// (pi(x, z) q(x' | x, z) p(z' | x')), with pi = e^-E(x, z) / Z and p(z | x) the product
    /// of the hidden units' Bernoulli probabilities.
    #[test]
    fn gibbs_langevin_ratio_is_the_joint_metropolis_hastings_ratio() {
        let model = small_model();
        let a = model.scaled_weights();
        let composite = LangevinComposite::of(&step_sizes(0.1, 5, true), model.sigma());
        let log_p_hidden = |z: &[f64], x: [f64; 2]| -> f64 {
            (0..4)
                .map(|j| {
                    let u = model.c[j] + x[0] * a[0][j] + x[1] * a[1][j];
                    let p = 1.0 / (1.0 + (-u).exp());
                    if z[j] == 1.0 { p.ln() } else { (1.0 - p).ln() }
                })
                .sum()
        };
        let mean = |z: &[f64]| {
            [0, 1].map(|i| model.b[i] + (0..4).map(|j| model.w[(i, j)] * z[j]).sum::<f64>())
        };
        let log_q_full = |to: [f64; 2], from: [f64; 2], m: [f64; 2]| -> f64 {
            (0..2)
                .map(|i| {
                    let v = composite.variance[i];
                    let d = to[i] - m[i] - composite.contraction[i] * (from[i] - m[i]);
                    -d * d / (2.0 * v) - 0.5 * (2.0 * std::f64::consts::PI * v).ln()
                })
                .sum()
        };
        let (x, z) = ([0.3, -0.4], [1.0, 0.0, 1.0, 0.0]);
        let (x_to, z_to) = ([-0.2, 0.5], [0.0, 1.0, 1.0, 1.0]);
        let direct = -model.energy(x_to, &z_to)
            + log_q_full(x, x_to, mean(&z_to))
            + log_p_hidden(&z, x)
            - (-model.energy(x, &z) + log_q_full(x_to, x, mean(&z)) + log_p_hidden(&z_to, x_to));
        let coded = model.free_energy(x) - model.free_energy(x_to)
            + composite.log_q(x, x_to, mean(&z_to))
            - composite.log_q(x_to, x, mean(&z));
        assert!((coded - direct).abs() < 1e-9, "{coded} vs {direct}");
    }

    fn gibbs_langevin_run(
        model: &Grbm,
        eta: f64,
        density: Option<LangevinComposite>,
    ) -> (Vec<[f64; 2]>, f64) {
        let mut rng = rng(5);
        let x = starts(CHAINS, &mut rng);
        let mut chains = model.gibbs_langevin_chains(x, &mut rng);
        let etas = step_sizes(eta, 5, true);
        let true_density = LangevinComposite::of(&etas, model.sigma());
        let mut moved = 0;
        for _ in 0..STEPS {
            moved += model.gibbs_langevin_step(
                &mut chains,
                &etas,
                &density.unwrap_or(true_density),
                true,
                &mut rng,
            );
        }
        (chains.x, moved as f64 / (STEPS * CHAINS) as f64)
    }

    /// Long Gibbs-Langevin chains reach the exact mixture moments within 4.5 standard errors;
    /// with the proposal density of one step in place of the five composed (a wrong q in the
    /// ratio), they do not.
    #[test]
    fn gibbs_langevin_chains_reach_the_exact_moments_and_a_wrong_density_does_not() {
        let model = small_model();
        let (x, rate) = gibbs_langevin_run(&model, 0.2, None);
        let z = worst_z_score(&model, &x);
        assert!(z < 4.5, "{z} standard errors off (accepted {rate})");
        let etas = step_sizes(0.2, 5, true);
        let one_step = LangevinComposite::of(&etas[..1], model.sigma());
        let (x, _) = gibbs_langevin_run(&model, 0.2, Some(one_step));
        let z = worst_z_score(&model, &x);
        assert!(
            z > 10.0,
            "a wrong proposal density only {z} standard errors off"
        );
    }

    #[test]
    fn step_sizes_anneal_by_a_cosine_from_the_peak() {
        let etas = step_sizes(2.0, 4, true);
        let expected = [2.0, 1.0 + 0.5f64.sqrt(), 1.0, 1.0 - 0.5f64.sqrt()];
        for (e, x) in etas.iter().zip(expected) {
            assert!((e - x).abs() < 1e-15, "{etas:?}");
        }
        assert_eq!(step_sizes(2.0, 3, false), vec![2.0; 3]);
    }
}
