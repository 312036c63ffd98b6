//! The shared-covariance mixture reference: a free mixture to set a GRBM's fit of a toy data set
//! against (a reference, not a bound: docs/math.md, "The shared-covariance mixture reference").
//!
//! A GRBM with n hidden units is a mixture of 2^n Gaussians that share one diagonal covariance,
//! their means tied on a lattice (b + W z). This example fits the untied version, a free mixture
//! of K Gaussians with free means and weights and ONE diagonal covariance (sigma_x^2, sigma_y^2)
//! shared by all components, by EM on exactly the points a sweep with the same `[data]` trains
//! and tests on, and prints its mean log-likelihoods beside the data's `true_ll`.
//!
//! EM: responsibilities in log space (log-sum-exp); closed-form M-step (the shared variance is
//! the responsibility-weighted mean squared deviation over all components, floored at 1e-6 of
//! the data's variance per axis); means seeded k-means++ style from the training points with a
//! seeded PCG; R restarts, the one with the best training log-likelihood kept; stop when the
//! relative improvement falls below 1e-8 or after 2000 iterations.
//!
//! ```text
//! cargo run --release --example shared_cov_em -- [generator ...] [--components K ...]
//!     [--restarts R] [--n-train N] [--n-test M] [--seed S]
//! ```
//!
//! Generators (default: all 9 built-in ones) come before `--components`, or after `--`, since
//! `--components` takes every number that follows it. One line per (generator, K): the mean
//! log density of the training and of the test points (nats), the data's `true_ll`, the gap
//! `true_ll - test_ll`, the seconds of the fit (all restarts) and the EM iterations of the
//! restart kept (2000 = stopped by the cap).

use anyhow::{Result, bail};
use clap::Parser;
use grbm_sweep::data::{DataConfig, DataSource, Dataset, GENERATORS, SourceKind};
use grbm_sweep::vecmath::exp;
use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64;
use rayon::prelude::*;
use std::time::Instant;

const MAX_ITERATIONS: usize = 2000;
const TOLERANCE: f64 = 1e-8;
/// The shared variance's floor, as a share of the training data's variance on that axis.
const VARIANCE_FLOOR: f64 = 1e-6;

#[derive(Parser, Debug)]
#[command(about = "Free mixture of K Gaussians with one shared diagonal covariance, fitted by EM")]
struct Args {
    /// Numbers of components, one line of output each.
    #[arg(long, num_args = 1.., default_values_t = [16, 64, 256])]
    components: Vec<usize>,
    /// EM restarts per fit (different k-means++ seedings); the best training log-likelihood wins.
    #[arg(long, default_value_t = 5)]
    restarts: usize,
    #[arg(long, default_value_t = 5000)]
    n_train: usize,
    #[arg(long, default_value_t = 1000)]
    n_test: usize,
    /// `[data] seed`, and the seed of the restarts' seedings.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Built-in generators (default: all of them).
    generators: Vec<String>,
}

/// K weights and means, and one diagonal covariance shared by all components.
#[derive(Debug, Clone)]
struct Mixture {
    log_weights: Vec<f64>,
    /// The means' x and y coordinates, one array each (so the loops over components vectorize).
    mean_x: Vec<f64>,
    mean_y: Vec<f64>,
    variance: [f64; 2],
}

/// What the E-step sums over points: the log-likelihood and, per component, the responsibility
/// mass and the responsibility-weighted first and second moments of x - mu_k (centred on the
/// current means, so the variance's difference Q - S^2 / N loses no precision).
#[derive(Debug, Clone)]
struct Stats {
    log_likelihood: f64,
    mass: Vec<f64>,
    first: [Vec<f64>; 2],
    second: [Vec<f64>; 2],
}

impl Stats {
    fn zero(k: usize) -> Self {
        Stats {
            log_likelihood: 0.0,
            mass: vec![0.0; k],
            first: [vec![0.0; k], vec![0.0; k]],
            second: [vec![0.0; k], vec![0.0; k]],
        }
    }

    fn add(&mut self, other: &Stats) {
        self.log_likelihood += other.log_likelihood;
        let mine = std::iter::once(&mut self.mass)
            .chain(&mut self.first)
            .chain(&mut self.second);
        let theirs = std::iter::once(&other.mass)
            .chain(&other.first)
            .chain(&other.second);
        for (a, b) in mine.zip(theirs) {
            a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        }
    }
}

/// Lanes of the max and sum reductions, so that they vectorize.
const LANES: usize = 8;

/// Max (`max` true) or sum of `v`, in `LANES` partial results combined in a fixed order.
#[inline(always)]
fn reduce(v: &[f64], max: bool) -> f64 {
    let op = |a: f64, b: f64| if max { a.max(b) } else { a + b };
    let identity = if max { f64::NEG_INFINITY } else { 0.0 };
    let mut acc = [identity; LANES];
    let blocks = v.chunks_exact(LANES);
    for (i, x) in blocks.remainder().iter().enumerate() {
        acc[i] = op(acc[i], *x);
    }
    for block in blocks {
        for l in 0..LANES {
            acc[l] = op(acc[l], block[l]);
        }
    }
    acc.into_iter().fold(identity, op)
}

/// The E-step's sums over `points`: responsibilities in log space (log-sum-exp), never stored.
#[inline(always)]
fn block_kernel(model: &Mixture, points: &[[f64; 2]]) -> Stats {
    let k = model.log_weights.len();
    let inverse = [1.0 / model.variance[0], 1.0 / model.variance[1]];
    let norm = -libm::log(2.0 * std::f64::consts::PI)
        - 0.5 * libm::log(model.variance[0] * model.variance[1]);
    let (mx, my, lw) = (&model.mean_x, &model.mean_y, &model.log_weights);
    let mut stats = Stats::zero(k);
    let mut t = vec![0.0; k];
    for x in points {
        for j in 0..k {
            let (dx, dy) = (x[0] - mx[j], x[1] - my[j]);
            t[j] = lw[j] - 0.5 * (dx * dx * inverse[0] + dy * dy * inverse[1]);
        }
        let top = reduce(&t, true);
        t.iter_mut().for_each(|t| *t = exp(*t - top));
        let total = reduce(&t, false);
        stats.log_likelihood += norm + top + libm::log(total);
        let scale = 1.0 / total;
        for j in 0..k {
            let (dx, dy, r) = (x[0] - mx[j], x[1] - my[j], t[j] * scale);
            stats.mass[j] += r;
            stats.first[0][j] += r * dx;
            stats.first[1][j] += r * dy;
            stats.second[0][j] += r * dx * dx;
            stats.second[1][j] += r * dy * dy;
        }
    }
    stats
}

/// `block_kernel` compiled for AVX-512 or AVX2 + FMA where the CPU has them: `vecmath::exp` is
/// built on `mul_add`, a library call without FMA. All versions give the same bits (`mul_add`
/// is exactly rounded, and the sums run in a fixed order).
fn block_stats(model: &Mixture, points: &[[f64; 2]]) -> Stats {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512dq,fma")]
        fn avx512(model: &Mixture, points: &[[f64; 2]]) -> Stats {
            block_kernel(model, points)
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(model: &Mixture, points: &[[f64; 2]]) -> Stats {
            block_kernel(model, points)
        }
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq") {
            // SAFETY: the CPU has just been checked for the features (AVX-512 implies FMA).
            return unsafe { avx512(model, points) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { avx2(model, points) };
        }
    }
    block_kernel(model, points)
}

/// Points per parallel block of the E-step.
const BLOCK: usize = 128;

/// E-step over all `points`: blocks in parallel, their sums added in block order, so the result
/// does not depend on the number of threads.
fn e_step(model: &Mixture, points: &[[f64; 2]]) -> Stats {
    let blocks: Vec<Stats> = points
        .par_chunks(BLOCK)
        .map(|b| block_stats(model, b))
        .collect();
    let mut stats = Stats::zero(model.log_weights.len());
    blocks.iter().for_each(|b| stats.add(b));
    stats
}

/// M-step: weights, means and the shared variance in closed form. The variance is the
/// responsibility-weighted mean squared deviation from the new means over all components, floored.
/// A component with no responsibility keeps its mean (its weight is 0).
fn m_step(model: &mut Mixture, stats: &Stats, n: usize, floor: [f64; 2]) {
    let mut squares = [0.0; 2];
    for j in 0..model.log_weights.len() {
        let mass = stats.mass[j];
        model.log_weights[j] = libm::log(mass / n as f64);
        if mass > 0.0 {
            let shift = [stats.first[0][j] / mass, stats.first[1][j] / mass];
            model.mean_x[j] += shift[0];
            model.mean_y[j] += shift[1];
            for i in 0..2 {
                squares[i] += stats.second[i][j] - mass * shift[i] * shift[i];
            }
        }
    }
    for i in 0..2 {
        model.variance[i] = (squares[i] / n as f64).max(floor[i]);
    }
}

/// Squared distance from `x` to the nearest of `centers`.
fn nearest_square(x: [f64; 2], centers: &[[f64; 2]]) -> f64 {
    centers
        .iter()
        .map(|c| (x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2))
        .fold(f64::INFINITY, f64::min)
}

/// k-means++ seeding: the first mean a uniform training point, each next one a training point
/// drawn with probability proportional to its squared distance to the nearest mean so far.
/// Equal weights; the shared variance is each axis's mean squared deviation from the nearest mean.
fn kmeans_pp(points: &[[f64; 2]], k: usize, floor: [f64; 2], rng: &mut Pcg64) -> Mixture {
    let mut means = vec![points[rng.random_range(0..points.len())]];
    let mut distance: Vec<f64> = points.iter().map(|x| nearest_square(*x, &means)).collect();
    while means.len() < k {
        let total: f64 = distance.iter().sum();
        let mut u = rng.random::<f64>() * total;
        let mut pick = points.len() - 1;
        for (i, d) in distance.iter().enumerate() {
            if u < *d {
                pick = i;
                break;
            }
            u -= d;
        }
        let c = points[pick];
        means.push(c);
        for (d, x) in distance.iter_mut().zip(points) {
            *d = d.min((x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2));
        }
    }
    let mut variance = [0.0; 2];
    for x in points {
        let m = means
            .iter()
            .min_by(|a, b| {
                let da = (x[0] - a[0]).powi(2) + (x[1] - a[1]).powi(2);
                let db = (x[0] - b[0]).powi(2) + (x[1] - b[1]).powi(2);
                da.total_cmp(&db)
            })
            .expect("k >= 1");
        variance[0] += (x[0] - m[0]).powi(2) / points.len() as f64;
        variance[1] += (x[1] - m[1]).powi(2) / points.len() as f64;
    }
    Mixture {
        log_weights: vec![-libm::log(k as f64); k],
        mean_x: means.iter().map(|m| m[0]).collect(),
        mean_y: means.iter().map(|m| m[1]).collect(),
        variance: [variance[0].max(floor[0]), variance[1].max(floor[1])],
    }
}

/// One EM run from `model` until the relative improvement of the mean training log-likelihood
/// falls below `TOLERANCE` or after `MAX_ITERATIONS` M-steps. Returns that log-likelihood (of the
/// returned parameters) and the number of M-steps.
fn em(model: &mut Mixture, points: &[[f64; 2]], floor: [f64; 2]) -> (f64, usize) {
    let mut previous = f64::NEG_INFINITY;
    for iteration in 0..=MAX_ITERATIONS {
        let stats = e_step(model, points);
        let ll = stats.log_likelihood / points.len() as f64;
        if iteration == MAX_ITERATIONS || ll - previous < TOLERANCE * ll.abs() {
            return (ll, iteration);
        }
        previous = ll;
        m_step(model, &stats, points.len(), floor);
    }
    unreachable!("the loop returns at its last iteration")
}

/// The best of `restarts` EM runs (by training log-likelihood), each seeded from its own PCG.
fn fit(points: &[[f64; 2]], k: usize, restarts: usize, seed: u64) -> (Mixture, f64, usize) {
    let variance = moments(points);
    let floor = [VARIANCE_FLOOR * variance[0], VARIANCE_FLOOR * variance[1]];
    let mut seeder = Pcg64::seed_from_u64(seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut best: Option<(Mixture, f64, usize)> = None;
    for _ in 0..restarts {
        let mut rng = Pcg64::seed_from_u64(seeder.next_u64());
        let mut model = kmeans_pp(points, k, floor, &mut rng);
        let (ll, iterations) = em(&mut model, points, floor);
        if best.as_ref().is_none_or(|b| ll > b.1) {
            best = Some((model, ll, iterations));
        }
    }
    best.expect("restarts >= 1")
}

/// Per-axis population variance.
fn moments(points: &[[f64; 2]]) -> [f64; 2] {
    let (_, std) = grbm_sweep::data::moments(points);
    [std[0] * std[0], std[1] * std[1]]
}

/// The data set a sweep with `[data] source = [name]` and these keys trains and tests on.
fn load(name: &str, args: &Args) -> Result<Dataset> {
    let config = DataConfig {
        sources: vec![DataSource {
            label: name.to_string(),
            kind: SourceKind::Generator,
        }],
        n_train: args.n_train,
        n_test: args.n_test,
        seed: args.seed,
        ..DataConfig::default()
    };
    Ok(Dataset::load(&config, 0)?)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let generators: Vec<String> = if args.generators.is_empty() {
        GENERATORS.iter().map(|g| g.to_string()).collect()
    } else {
        args.generators.clone()
    };
    if let Some(bad) = generators
        .iter()
        .find(|g| !GENERATORS.contains(&g.as_str()))
    {
        bail!(
            "unknown generator `{bad}`; the built-in ones: {}",
            GENERATORS.join(", ")
        );
    }
    if args.restarts == 0 || args.n_test == 0 {
        bail!("--restarts and --n-test must be at least 1");
    }
    if let Some(k) = args
        .components
        .iter()
        .find(|&&k| k == 0 || k > args.n_train)
    {
        bail!(
            "--components {k}: needs 1 <= K <= n_train ({})",
            args.n_train
        );
    }
    println!(
        "{:<16} {:>4} {:>9} {:>9} {:>9} {:>8} {:>8} {:>6}",
        "generator", "K", "train_ll", "test_ll", "true_ll", "gap", "seconds", "iters"
    );
    for name in &generators {
        let data = load(name, &args)?;
        let true_ll = data
            .true_ll
            .expect("every built-in generator has a true_ll");
        for &k in &args.components {
            let start = Instant::now();
            let (model, train_ll, iterations) = fit(&data.train, k, args.restarts, args.seed);
            let test_ll = e_step(&model, &data.test).log_likelihood / data.test.len() as f64;
            println!(
                "{name:<16} {k:>4} {train_ll:>9.4} {test_ll:>9.4} {true_ll:>9.4} {:>8.4} {:>8.2} {iterations:>6}",
                true_ll - test_ll,
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
