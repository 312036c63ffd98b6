//! Annealed importance sampling (AIS) estimates of log Z for any hidden size: forward AIS from the model with W = 0 (unbiased for Z, so log Z low on average) and reverse AIS from exact samples of the model (unbiased for 1/Z, so log Z high on average).
//!
//! Both walk the path of GRBMs with weights `beta W`, beta from 0 to 1 (forward) or 1 to 0
//! (reverse), carrying the visible states of their chains with one Gibbs sweep per intermediate
//! beta. docs/math.md ("Annealed importance sampling") derives the weights.

use faer::Mat;

use crate::model::{Grbm, Workspace, softplus};
use crate::rng::{GibbsRng, Purpose, stream};
use crate::vecmath::log_sum_exp;
use std::time::Instant;

/// An AIS estimate of log Z, with the spread of the importance weights it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct AisEstimate {
    pub log_z: f64,
    /// ln Z_0 of the base, the model with W = 0 (closed form, [`log_z_base`]).
    pub log_z_base: f64,
    /// One log importance weight per chain: each `exp` is an unbiased estimate of Z / Z_0
    /// (forward) or of Z_0 / Z (reverse).
    pub log_weights: Vec<f64>,
    /// `(sum w)^2 / sum w^2` over the chains' weights: about how many chains of exact samples
    /// the estimate is worth. Near 1 means one chain dominates and `std_error` is not to be
    /// trusted either.
    pub effective_sample_size: f64,
    /// The standard error of the mean weight relative to that mean,
    /// `sd(w) / (mean(w) sqrt(chains))`: by the delta method, the standard error of `log_z`.
    /// It comes from the same weights, so a heavy tail that no chain reached is missing from it
    /// too; infinite with one chain.
    pub std_error: f64,
    pub chains: usize,
    /// Intermediate distributions: the weight of each chain is a product of `steps` ratios and
    /// each chain makes `steps - 1` Gibbs sweeps.
    pub steps: usize,
}

/// What a table keeps of one [`AisEstimate`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AisSummary {
    pub log_z: f64,
    pub std_error: f64,
    pub effective_sample_size: f64,
}

impl From<&AisEstimate> for AisSummary {
    fn from(e: &AisEstimate) -> Self {
        AisSummary {
            log_z: e.log_z,
            std_error: e.std_error,
            effective_sample_size: e.effective_sample_size,
        }
    }
}

/// Forward and reverse AIS of a trained model at one budget ([`measure`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AisMeasurement {
    pub chains: usize,
    pub steps: usize,
    pub forward: AisSummary,
    pub reverse: AisSummary,
    /// Seconds the two estimates took, together.
    pub seconds: f64,
}

/// Forward and reverse AIS of `model` with `chains` chains at each number of steps of `steps`,
/// in that order, all from the one stream `stream(seed, Purpose::Ais)`: the numbers depend on
/// the model, the budgets and the seed alone. Reverse AIS starts from
/// [`exact_samples_any`](super::exact_samples_any): exact samples up to
/// [`MAX_ENUMERATION_HIDDEN`](crate::model::MAX_ENUMERATION_HIDDEN) hidden units, and above draws of the grid of `grid_points` points
/// per axis that log Z was integrated on.
pub fn measure(
    model: &Grbm,
    grid_points: usize,
    chains: usize,
    steps: &[usize],
    seed: u64,
) -> Vec<AisMeasurement> {
    let mut rng = GibbsRng::new(stream(seed, Purpose::Ais));
    steps
        .iter()
        .map(|&steps| {
            let start = Instant::now();
            let forward = ais_log_z(model, chains, steps, &mut rng);
            let x = super::exact_samples_any(model, chains.max(1), Some(grid_points), &mut rng);
            let reverse = reverse_ais_from(model, x, steps, &mut rng);
            AisMeasurement {
                chains: forward.chains,
                steps: forward.steps,
                forward: (&forward).into(),
                reverse: (&reverse).into(),
                seconds: start.elapsed().as_secs_f64(),
            }
        })
        .collect()
}

/// The base of the path: the same GRBM with W = 0, whose x and z are independent
/// (x ~ N(b, sigma^2), z_j ~ Bernoulli(sigmoid(c_j))), so it is sampled exactly.
pub fn base_model(model: &Grbm) -> Grbm {
    Grbm {
        w: Mat::zeros(2, model.n_hidden()),
        ..model.clone()
    }
}

/// ln Z_0 of [`base_model`]: the integral of `exp(-F_0)` factorizes into the Gaussian's
/// `2 pi sigma_1 sigma_2` and one `1 + e^c_j` per hidden unit (its sum over z_j).
pub fn log_z_base(model: &Grbm) -> f64 {
    let hidden: f64 = model.c.iter().map(|&c| softplus(c)).sum();
    hidden + libm::log(2.0 * std::f64::consts::PI) + model.log_sigma[0] + model.log_sigma[1]
}

/// The `steps + 1` inverse temperatures from 0 to 1 (`steps >= 1`), evenly spaced. A step's
/// log weight is about `(beta_k - beta_{k-1}) sum_j a_j(x) sigmoid(c_j + beta a_j(x))`, with
/// `a_j(x) = sum_i x_i W_ij / sigma_i^2`, and its spread does not vanish at either end: the base
/// already spreads x over the range of the `a_j`. Measured on models of 4, 8 and 16 units
/// (docs/math.md), the sigmoid schedule of Grosse, Maddison and Salakhutdinov (2013), which
/// crowds the steps at both ends, spread log Z as much (within noise) or more (up to 1.7 times
/// at 100 chains x 100 steps), so the plain schedule stays.
pub fn schedule(steps: usize) -> Vec<f64> {
    let steps = steps.max(1);
    (0..=steps).map(|k| k as f64 / steps as f64).collect()
}

/// Forward AIS: `chains` independent chains, each started from an exact draw of the base and
/// carried along `steps` intermediate distributions p_k ∝ exp(-F_k), where F_k is the free
/// energy of the GRBM with weights `beta_k W` ([`schedule`]). Chain states are visible points
/// x only (the hidden units are summed out in F), and between two betas each chain makes one
/// Gibbs sweep (z ~ p_k(z | x), then x ~ p_k(x | z)) of the model at beta_k, which leaves
/// p_k(x) invariant. A chain's log weight is
///
/// `ln w = sum_{k=1..K} [F_{k-1}(x_k) - F_k(x_k)]`
///
/// with x_1 drawn from the base and x_{k+1} the sweep at beta_k from x_k; `E[w] = Z / Z_0`, so
/// `Z_0 mean(w)` is unbiased for Z and, by Jensen, `log_z = ln Z_0 + ln mean(w)` is low on
/// average. `chains` and `steps` below 1 count as 1. Cost: `chains x steps` sweeps and twice
/// as many free energies, each O(n).
pub fn ais_log_z(model: &Grbm, chains: usize, steps: usize, rng: &mut GibbsRng) -> AisEstimate {
    let (chains, steps) = (chains.max(1), steps.max(1));
    let mut x = Mat::<f64>::zeros(chains, 2);
    // With W = 0, x | z is N(b, sigma^2) whatever z is: an exact draw of the base's marginal.
    let z = Mat::<f64>::zeros(chains, model.n_hidden());
    base_model(model).sample_visible(z.as_ref(), x.as_mut(), rng);
    let log_weights = anneal(model, &schedule(steps), &mut x, rng);
    let log_z_base = log_z_base(model);
    let log_mean_weight = log_mean_exp(&log_weights);
    summarize(log_z_base + log_mean_weight, log_z_base, log_weights, steps)
}

/// Reverse AIS (Burda, Grosse and Salakhutdinov 2015): `chains` chains started from exact
/// samples of the model ([`exact_samples`]) and carried down the same path, beta from 1 to 0,
/// with the same sweeps. A chain's log weight is
///
/// `ln w = sum_{k=1..K} [F_k(x_k) - F_{k-1}(x_k)]`
///
/// with x_K the exact sample and x_{k-1} the sweep at beta_{k-1} from x_k. Derivation: the
/// sweep's kernel on x alone, `T_k(x, x') = sum_z p_k(z | x) p_k(x' | z)`, is reversible with
/// respect to p_k(x), since `p_k(x) T_k(x, x') = sum_z p_k(x, z) p_k(x', z) / p_k(z)` is
/// symmetric. So the forward chain's density `f_0(x_1)/Z_0 prod_k T_k(x_k, x_{k+1})` divided by
/// the reverse chain's `f_K(x_K)/Z_K prod_k T_k(x_{k+1}, x_k)` is
/// `(Z_K / Z_0) prod_k f_{k-1}(x_k) / f_k(x_k)` with `f_k = exp(-F_k)`, and since the forward
/// density integrates to 1, `E[w] = Z_0 / Z`: `mean(w) / Z_0` is unbiased for 1/Z, and
/// `log_z = ln Z_0 - ln mean(w)` is high on average (a log-likelihood computed from it is low on
/// average: conservative). `None` above
/// [`MAX_ENUMERATION_HIDDEN`](crate::model::MAX_ENUMERATION_HIDDEN), where no exact sample is
/// drawn. Cost as [`ais_log_z`], plus the enumeration of the 2^n hidden states.
pub fn reverse_ais_log_z(
    model: &Grbm,
    chains: usize,
    steps: usize,
    rng: &mut GibbsRng,
) -> Option<AisEstimate> {
    let x = exact_samples(model, chains.max(1), rng)?;
    Some(reverse_ais_from(model, x, steps, rng))
}

/// Reverse AIS as [`reverse_ais_log_z`], from the states `x` (one chain per row), which should
/// be draws of the model: the estimate is unbiased for 1/Z as far as they are.
pub fn reverse_ais_from(
    model: &Grbm,
    mut x: Mat<f64>,
    steps: usize,
    rng: &mut GibbsRng,
) -> AisEstimate {
    let steps = steps.max(1);
    let mut betas = schedule(steps);
    betas.reverse();
    let log_weights = anneal(model, &betas, &mut x, rng);
    let log_z_base = log_z_base(model);
    let log_mean_weight = log_mean_exp(&log_weights);
    summarize(log_z_base - log_mean_weight, log_z_base, log_weights, steps)
}

/// `count` uniforms in [0, 1) of 53 bits each, each made of two 32-bit draws of the lanes (its
/// 32 bits, then the high 21 of the next): an inversion by them picks an outcome of probability
/// p with chance p up to 2^-53.
pub fn fine_uniforms(rng: &mut GibbsRng, count: usize) -> Vec<f64> {
    let mut uniforms = vec![0.0; 2 * count];
    rng.uniform.fill(&mut uniforms);
    uniforms
        .chunks_exact(2)
        .map(|pair| {
            // Each uniform is an exact multiple of 2^-32.
            let high = (pair[0] * 4_294_967_296.0) as u64;
            let low = (pair[1] * 4_294_967_296.0) as u64;
            ((high << 21) | (low >> 11)) as f64 * (1.0 / (1u64 << 53) as f64)
        })
        .collect()
}

/// A discrete distribution by the running sum of its weights (not normalized), drawn from by
/// inversion.
pub struct Inversion {
    cumulative: Vec<f64>,
    /// The last outcome of weight above 0.
    last_possible: usize,
}

impl Inversion {
    /// `weights` must not all be 0.
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let mut last_possible = 0;
        let cumulative = (weights.into_iter().enumerate())
            .map(|(i, w)| {
                if w > 0.0 {
                    last_possible = i;
                }
                total += w;
                total
            })
            .collect();
        Inversion {
            cumulative,
            last_possible,
        }
    }

    /// The outcome a uniform `u` in [0, 1) picks: the first whose running sum passes `u` times
    /// the total. An outcome of weight 0 can be picked only by a target at or past the total,
    /// which rounding can produce; such targets go to the last outcome that can occur instead.
    pub fn pick(&self, u: f64) -> usize {
        let total = self.cumulative[self.cumulative.len() - 1];
        (self.cumulative)
            .partition_point(|&c| c <= u * total)
            .min(self.last_possible)
    }
}

/// `count` independent exact draws of x from the model, one per row: the hidden state z from
/// the mixture weights p(z) ([`Grbm::hidden_state_probabilities`]) by inverting their running
/// sum with a [`fine_uniforms`] draw, then x ~ N(b + W z, sigma^2); p(z) itself is exact to
/// rounding.
/// `None` above [`MAX_ENUMERATION_HIDDEN`](crate::model::MAX_ENUMERATION_HIDDEN); memory and
/// time grow as 2^n.
pub fn exact_samples(model: &Grbm, count: usize, rng: &mut GibbsRng) -> Option<Mat<f64>> {
    let states = Inversion::new(model.hidden_state_probabilities()?);
    let n = model.n_hidden();
    let mut z = Mat::<f64>::zeros(count, n);
    for (r, u) in fine_uniforms(rng, count).into_iter().enumerate() {
        let state = states.pick(u);
        for j in 0..n {
            if (state >> j) & 1 == 1 {
                z[(r, j)] = 1.0;
            }
        }
    }
    let mut x = Mat::<f64>::zeros(count, 2);
    model.sample_visible(z.as_ref(), x.as_mut(), rng);
    Some(x)
}

/// Carries every chain (row of `x`) along `betas`: for each consecutive pair (from, to) the
/// chain's log weight gains `F_from(x) - F_to(x)` (the log of `f_to(x) / f_from(x)`), then,
/// unless `to` is the last beta, the chain makes one Gibbs sweep of the model at `to`. Returns
/// the log weights; `x` ends at the states the last ratio was taken at.
fn anneal(model: &Grbm, betas: &[f64], x: &mut Mat<f64>, rng: &mut GibbsRng) -> Vec<f64> {
    let chains = x.nrows();
    // The model of the current beta, rescaled in place: W is the only parameter on the path.
    let mut path = model.clone();
    let mut ws = Workspace::new(chains, model.n_hidden());
    let mut log_weights = vec![0.0; chains];
    let (mut f_from, mut f_to) = (vec![0.0; chains], vec![0.0; chains]);
    for (k, pair) in betas.windows(2).enumerate() {
        let (from, to) = (pair[0], pair[1]);
        {
            let (x1, x2) = columns(x);
            scale_weights(&mut path, model, from);
            path.free_energies(x1, x2, &mut f_from);
            scale_weights(&mut path, model, to);
            path.free_energies(x1, x2, &mut f_to);
        }
        for ((w, from), to) in log_weights.iter_mut().zip(&f_from).zip(&f_to) {
            *w += from - to;
        }
        if k + 2 < betas.len() {
            path.gibbs_steps(x.as_mut(), 1, &mut ws, rng);
        }
    }
    log_weights
}

/// Sets `path`'s weights to `beta` times `model`'s.
fn scale_weights(path: &mut Grbm, model: &Grbm, beta: f64) {
    for j in 0..model.n_hidden() {
        for i in 0..2 {
            path.w[(i, j)] = beta * model.w[(i, j)];
        }
    }
}

/// The two columns of a `B x 2` matrix as slices (an owned faer matrix is column-major).
fn columns(x: &Mat<f64>) -> (&[f64], &[f64]) {
    let column = |i: usize| {
        x.col(i)
            .try_as_col_major()
            .expect("the columns of an owned matrix are contiguous")
            .as_slice()
    };
    (column(0), column(1))
}

/// `ln mean(exp(values))`, without overflow.
fn log_mean_exp(values: &[f64]) -> f64 {
    log_sum_exp(values) - libm::log(values.len() as f64)
}

/// The estimate with the effective sample size and standard error of its weights.
fn summarize(log_z: f64, log_z_base: f64, log_weights: Vec<f64>, steps: usize) -> AisEstimate {
    let chains = log_weights.len();
    // Weights relative to the largest, so that none overflows; both statistics are ratios.
    let top = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_weights.iter().map(|l| libm::exp(l - top)).collect();
    let sum: f64 = w.iter().sum();
    let sum_squares: f64 = w.iter().map(|v| v * v).sum();
    let mean = sum / chains as f64;
    let std_error = if chains > 1 {
        let variance = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (chains - 1) as f64;
        variance.sqrt() / (mean * (chains as f64).sqrt())
    } else {
        f64::INFINITY
    };
    AisEstimate {
        log_z,
        log_z_base,
        log_weights,
        effective_sample_size: sum * sum / sum_squares,
        std_error,
        chains,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::log_z_grid;
    use crate::estimate::tests::mean_and_error;
    use crate::rng::{Purpose, stream};
    use rand::RngExt;
    use rand_distr::StandardNormal;

    /// A model with W ~ N(0, w_scale^2), c ~ N(0, 1) and b ~ N(0, 1).
    fn model(seed: u64, n: usize, w_scale: f64, sigma: [f64; 2]) -> Grbm {
        let mut rng = stream(seed, Purpose::Init);
        let mut normal = || -> f64 { rng.sample(StandardNormal) };
        let w = Mat::from_fn(2, n, |_, _| w_scale * normal());
        let c = (0..n).map(|_| normal()).collect();
        Grbm::new([normal(), normal()], sigma, w, c)
    }

    fn rng(seed: u64) -> GibbsRng {
        GibbsRng::new(stream(seed, Purpose::Ais))
    }

    /// The model of the unbiasedness tests: 6 hidden units, weights of scale 1.5 against sigma
    /// 0.8, so p(x) has several bumps and the base is far from it.
    fn unbiasedness_model() -> Grbm {
        model(21, 6, 1.5, [0.8, 0.8])
    }

    /// Independent estimates of `RUNS` runs, each on its own stream.
    const RUNS: u64 = 1000;
    /// The budget of those runs (chains, steps): small, so that single estimates are off by
    /// tenths of a nat and a wrong weight shows in their mean.
    const SMALL: (usize, usize) = (20, 50);

    fn log_z_runs(estimate: impl Fn(&mut GibbsRng) -> f64) -> Vec<f64> {
        (0..RUNS)
            .map(|seed| estimate(&mut rng(1000 + seed)))
            .collect()
    }

    /// Forward AIS is unbiased for Z: the mean over 1000 runs of Z_ais / Z is 1 within 4 standard
    /// errors, while single runs spread by more than 0.2 nats. The test has power: with test-only
    /// copies of two bugs, a weight ratio taken after the sweep instead of before (F_k(x_{k+1})
    /// in place of F_k(x_k)) put the mean at 1.71 (+36 standard errors), and a sweep at the
    /// previous beta at 0.59 (-64). The mean of ln Z_ais is not above ln Z beyond its error
    /// (Jensen).
    #[test]
    fn forward_ais_is_unbiased_for_z() {
        let m = unbiasedness_model();
        let exact = m.log_z_exact().expect("6 hidden units enumerate");
        let (chains, steps) = SMALL;
        let log_z = log_z_runs(|rng| ais_log_z(&m, chains, steps, rng).log_z);
        let ratios: Vec<f64> = log_z.iter().map(|l| (l - exact).exp()).collect();
        let (ratio, ratio_error) = mean_and_error(&ratios);
        let (mean_log, mean_log_error) = mean_and_error(&log_z);
        let spread = mean_log_error * (RUNS as f64).sqrt();
        println!(
            "forward: mean Z_ais/Z {ratio:.4} +- {ratio_error:.4}, mean ln Z_ais - ln Z {:+.4} +- {mean_log_error:.4}, sd {spread:.3}",
            mean_log - exact
        );
        assert!(spread > 0.2, "single estimates spread by only {spread}");
        assert!(
            (ratio - 1.0).abs() < 4.0 * ratio_error,
            "mean Z_ais / Z = {ratio} +- {ratio_error}"
        );
        assert!(mean_log - exact < 3.0 * mean_log_error);
    }

    /// Reverse AIS is unbiased for 1/Z (the mean of Z / Z_rais over 1000 runs is 1 within 4
    /// standard errors) and conservative: the mean of ln Z_rais is not below ln Z beyond 3 of
    /// its standard errors. The same two bugs as above put the mean of Z / Z_rais at 1.69 (+15
    /// standard errors) and 0.66 (-11).
    #[test]
    fn reverse_ais_is_unbiased_for_one_over_z_and_high_on_average() {
        let m = unbiasedness_model();
        let exact = m.log_z_exact().expect("6 hidden units enumerate");
        let (chains, steps) = SMALL;
        let log_z = log_z_runs(|rng| {
            reverse_ais_log_z(&m, chains, steps, rng)
                .expect("6 hidden units enumerate")
                .log_z
        });
        let ratios: Vec<f64> = log_z.iter().map(|l| (exact - l).exp()).collect();
        let (ratio, ratio_error) = mean_and_error(&ratios);
        let (mean_log, mean_log_error) = mean_and_error(&log_z);
        let spread = mean_log_error * (RUNS as f64).sqrt();
        println!(
            "reverse: mean Z/Z_rais {ratio:.4} +- {ratio_error:.4}, mean ln Z_rais - ln Z {:+.4} +- {mean_log_error:.4}, sd {spread:.3}",
            mean_log - exact
        );
        assert!(spread > 0.2, "single estimates spread by only {spread}");
        assert!(
            (ratio - 1.0).abs() < 4.0 * ratio_error,
            "mean Z / Z_rais = {ratio} +- {ratio_error}"
        );
        assert!(mean_log - exact > -3.0 * mean_log_error);
    }

    /// With a large budget both estimates land within 0.01 nats of the exact log Z on a model
    /// whose marginal has several modes (checked: at least 3 hidden states of weight over 2%,
    /// two of them with means more than 4 sigma apart; this one has 10, up to 5.2 sigma apart),
    /// and their own standard errors say so.
    #[test]
    fn large_budgets_reach_the_exact_log_z_on_a_model_with_several_modes() {
        let sigma = 0.5;
        let m = model(75, 8, 1.2, [sigma, sigma]);
        let exact = m.log_z_exact().expect("8 hidden units enumerate");
        let p = m
            .hidden_state_probabilities()
            .expect("8 hidden units enumerate");
        let mean = |s: usize| {
            let mut mean = m.b;
            for j in (0..8).filter(|j| (s >> j) & 1 == 1) {
                mean[0] += m.w[(0, j)];
                mean[1] += m.w[(1, j)];
            }
            mean
        };
        let heavy: Vec<usize> = (0..p.len()).filter(|&s| p[s] > 0.02).collect();
        let separated = heavy.iter().any(|&s| {
            heavy.iter().any(|&t| {
                let (a, b) = (mean(s), mean(t));
                ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt() > 4.0 * sigma
            })
        });
        assert!(
            heavy.len() >= 3 && separated,
            "the model should have several modes"
        );
        let forward = ais_log_z(&m, 2000, 10_000, &mut rng(1));
        let reverse = reverse_ais_log_z(&m, 2000, 10_000, &mut rng(2)).expect("n = 8 enumerates");
        println!(
            "large budget: forward {:+.5} (se {:.5}, ess {:.0}), reverse {:+.5} (se {:.5}, ess {:.0})",
            forward.log_z - exact,
            forward.std_error,
            forward.effective_sample_size,
            reverse.log_z - exact,
            reverse.std_error,
            reverse.effective_sample_size
        );
        for e in [&forward, &reverse] {
            assert!((e.log_z - exact).abs() < 0.01, "error {}", e.log_z - exact);
            assert!(e.std_error < 0.005, "standard error {}", e.std_error);
        }
    }

    /// The base's closed form, sum_j softplus(c_j) + ln(2 pi sigma_1 sigma_2), is the log Z of
    /// the model with W = 0 by enumeration and by the grid: dropping the hidden sum (or a factor
    /// of the Gaussian's normalizer) would shift every AIS estimate by that much.
    #[test]
    fn base_log_z_is_the_log_z_of_the_model_without_weights() {
        for (seed, n, sigma) in [(1, 1, [1.0, 1.0]), (2, 5, [0.3, 2.0]), (3, 12, [1.7, 0.6])] {
            let base = base_model(&model(seed, n, 2.0, sigma));
            let closed = log_z_base(&base);
            let exact = base.log_z_exact().expect("n <= 20 enumerates");
            let grid = log_z_grid(&base, None).log_z;
            assert!((closed - exact).abs() < 1e-12, "{closed} vs {exact}");
            assert!((closed - grid).abs() < 1e-9, "{closed} vs grid {grid}");
        }
    }

    /// Reverse AIS started from draws of the log Z grid agrees with reverse AIS started from
    /// exact samples (by enumeration) within their standard errors on a model with several
    /// modes, and both with the exact log Z: the grid's draws are as good a start.
    #[test]
    fn reverse_ais_from_grid_draws_agrees_with_reverse_ais_from_exact_samples() {
        let m = model(75, 8, 1.2, [0.5, 0.5]);
        let exact = m.log_z_exact().expect("8 hidden units enumerate");
        let (chains, steps) = (500, 1000);
        let enumerated = reverse_ais_log_z(&m, chains, steps, &mut rng(11)).expect("n = 8");
        let mut draws = rng(12);
        let x = crate::estimate::grid_samples(&m, None, chains, &mut draws);
        let gridded = reverse_ais_from(&m, x, steps, &mut draws);
        let (a, b) = (enumerated.log_z, gridded.log_z);
        let joint = enumerated.std_error.hypot(gridded.std_error);
        println!(
            "enumerated {:+.4} (se {:.4}), grid {:+.4} (se {:.4})",
            a - exact,
            enumerated.std_error,
            b - exact,
            gridded.std_error
        );
        assert!((a - b).abs() < 3.0 * joint, "{a} vs {b}, joint se {joint}");
        assert!(
            (b - exact).abs() < 3.0 * gridded.std_error,
            "grid start {b} vs {exact}"
        );
    }

    /// Above 20 hidden units [`measure`] starts reverse AIS from grid draws: on a 24-unit model
    /// both estimates lie within 3 of their standard errors of the grid's log Z, whose own error
    /// is far smaller.
    #[test]
    fn measure_reaches_the_grid_log_z_above_the_enumerable_sizes() {
        let m = model(33, 24, 0.6, [0.7, 0.9]);
        let grid = log_z_grid(&m, None);
        let measured = measure(&m, grid.points, 200, &[10, 1000], 5);
        assert_eq!(
            measured
                .iter()
                .map(|a| (a.chains, a.steps))
                .collect::<Vec<_>>(),
            [(200, 10), (200, 1000)]
        );
        let last = measured[1];
        println!(
            "n = 24: forward {:+.4} (se {:.4}), reverse {:+.4} (se {:.4})",
            last.forward.log_z - grid.log_z,
            last.forward.std_error,
            last.reverse.log_z - grid.log_z,
            last.reverse.std_error
        );
        for e in [last.forward, last.reverse] {
            assert!(
                (e.log_z - grid.log_z).abs() < 3.0 * e.std_error,
                "{} vs grid {}, se {}",
                e.log_z,
                grid.log_z,
                e.std_error
            );
        }
        let numbers = |all: Vec<AisMeasurement>| -> Vec<AisMeasurement> {
            all.into_iter()
                .map(|a| AisMeasurement { seconds: 0.0, ..a })
                .collect()
        };
        assert_eq!(
            numbers(measure(&m, grid.points, 200, &[10, 1000], 5)),
            numbers(measured)
        );
    }

    /// Reverse AIS needs exact samples, which come from enumerating the hidden states: above
    /// 20 units there are none, and the estimate says so instead of starting from something else.
    #[test]
    fn reverse_ais_declines_models_too_large_to_enumerate() {
        let m = model(5, crate::model::MAX_ENUMERATION_HIDDEN + 1, 1.0, [1.0, 1.0]);
        assert!(reverse_ais_log_z(&m, 10, 10, &mut rng(4)).is_none());
        assert!(ais_log_z(&m, 10, 10, &mut rng(4)).log_z.is_finite());
    }

    /// Same stream, same numbers: both estimates are bit-identical across two calls.
    #[test]
    fn same_stream_gives_the_same_estimates() {
        let m = model(6, 9, 1.0, [0.8, 1.2]);
        assert_eq!(
            ais_log_z(&m, 50, 30, &mut rng(5)),
            ais_log_z(&m, 50, 30, &mut rng(5))
        );
        assert_eq!(
            reverse_ais_log_z(&m, 50, 30, &mut rng(6)),
            reverse_ais_log_z(&m, 50, 30, &mut rng(6))
        );
        assert_ne!(
            ais_log_z(&m, 50, 30, &mut rng(5)).log_z,
            ais_log_z(&m, 50, 30, &mut rng(7)).log_z
        );
    }

    #[test]
    fn schedule_runs_from_zero_to_one_increasing() {
        for steps in [1, 2, 7, 100] {
            let betas = schedule(steps);
            assert_eq!(betas.len(), steps + 1);
            assert_eq!((betas[0], betas[steps]), (0.0, 1.0));
            assert!(betas.windows(2).all(|p| p[0] < p[1]));
        }
    }
}
