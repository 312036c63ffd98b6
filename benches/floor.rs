//! The floor of a sweep: the elementary operations that `experiments/bench.toml` cannot avoid,
//! done in tight independent loops with the program's own kernels and random streams, timed
//! beside the sweep itself in one process. The ratio of the two is the overhead of everything
//! else: batching, parameter updates, scheduling, evaluation bookkeeping, writing the tables.
//!
//! The operations, counted from what each run actually did (a diverged run stops after the
//! epoch it diverged in and is not evaluated):
//! - hidden probabilities p(z|x) (exp and a division): the positive and negative phase of
//!   every update, and the reconstruction of the test points;
//! - hidden draws from a pre-activation (exp and a comparison, no division): every Gibbs step
//!   but the first of a `cd` chain, which compares with the positive phase's probabilities;
//! - uniform draws (one per hidden unit per Gibbs step) and normal draws (two per point per step);
//! - grid factors (one multiply-add per hidden unit and grid point), one exp per grid point, and
//!   one softplus factor per hidden unit and train or test point (the log-likelihoods).
//!
//! Run: `cargo bench --bench floor` (or `-- --threads N`, default 1). Prints both times and their ratio.

use grbm_sweep::experiment::{self, Experiment};
use grbm_sweep::rng::{GibbsRng, Purpose, stream};
use grbm_sweep::sweep::{RunOptions, Silent, SweepReport, run_sweep};
use grbm_sweep::train::params::Sampler;
use grbm_sweep::vecmath;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

/// Elementary operations a sweep needs, summed over its runs.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    probabilities: u64,
    draws: u64,
    uniforms: u64,
    normals: u64,
    grid_factors: u64,
    grid_exps: u64,
    softplus: u64,
}

fn counts(exp: &Experiment, report: &SweepReport) -> Counts {
    let mut total = Counts::default();
    let (n_train, n_test) = (exp.data.n_train as u64, exp.data.n_test as u64);
    let e = &exp.eval;
    for record in &report.records {
        let (t, run) = (
            &record.spec.train,
            record.result.as_ref().expect("no run of bench.toml fails"),
        );
        let (n, k, b) = (t.hidden as u64, t.k as u64, t.batch_size as u64);
        let epochs = if run.evaluation.is_some() {
            run.epochs_done
        } else {
            run.epochs_done + 1
        };
        // The chain samples start with one more negative phase, on a minibatch.
        let probe = u64::from(run.evaluation.is_some() && e.samples > 0 && t.sampler.has_chains());
        let points = (epochs as u64 * n_train.div_ceil(b) + probe) * b;
        total.probabilities += points * n * 2;
        let first_from_probs = u64::from(t.sampler == Sampler::Cd);
        total.draws += points * n * (k - first_from_probs);
        total.uniforms += points * n * k;
        total.normals += points * 2 * (k + u64::from(t.sampler == Sampler::Noise));
        if run.evaluation.is_some() {
            let grid = e.grid_points.expect("bench.toml fixes grid_points") as u64;
            total.grid_factors += grid * grid * n;
            total.grid_exps += grid * grid;
            total.softplus += (n_train + n_test) * n;
            total.probabilities += n_test * n;
            if probe == 1 {
                let rounds = e.samples.div_ceil(t.batch_size) as u64;
                let chain_points = (e.chain_steps as u64 + (rounds - 1) * e.thin.max(1) as u64) * b;
                total.draws += chain_points * n;
                total.uniforms += chain_points * n;
                total.normals += chain_points * 2;
            }
        }
    }
    total
}

const BUFFER: usize = 4096;

/// Calls `f(len)` on buffer-sized pieces until `count` values are done.
fn in_pieces(count: u64, mut f: impl FnMut(usize)) {
    let mut left = count as usize;
    while left > 0 {
        let len = left.min(BUFFER);
        f(len);
        left -= len;
    }
}

/// Each operation in its own tight loop with the program's kernels and streams; returns the
/// seconds of each, in the order of [`Counts`].
fn floor(c: Counts) -> Vec<(&'static str, u64, f64)> {
    let x1: Vec<f64> = (0..BUFFER)
        .map(|i| libm::sin(i as f64 * 0.37) * 2.0)
        .collect();
    let x2: Vec<f64> = (0..BUFFER)
        .map(|i| libm::cos(i as f64 * 0.11) * 2.0)
        .collect();
    let (mut out, mut out2) = (vec![0.0; BUFFER], vec![0.0; BUFFER]);
    let mut rng = GibbsRng::new(stream(0, Purpose::Gibbs));
    let mut uniforms = vec![0.0; BUFFER];
    rng.uniform.fill(&mut uniforms);
    let mut acc = 0.0;
    let mut times = Vec::new();
    let mut time = |name: &'static str, count: u64, mut f: Box<dyn FnMut(usize) + '_>| {
        let start = Instant::now();
        in_pieces(count, &mut f);
        times.push((name, count, start.elapsed().as_secs_f64()));
    };
    time(
        "hidden probabilities",
        c.probabilities,
        Box::new(|len| {
            vecmath::sigmoid_column(&x1[..len], &x2[..len], 0.1, 0.7, -0.4, &mut out[..len]);
        }),
    );
    time(
        "hidden draws",
        c.draws,
        Box::new(|len| {
            let (m1, m2) = (&mut out[..len], &mut out2[..len]);
            vecmath::bernoulli_column(
                &x1[..len],
                &x2[..len],
                0.1,
                0.7,
                -0.4,
                &uniforms[..len],
                m1,
                m2,
            );
        }),
    );
    time(
        "uniform draws",
        c.uniforms,
        Box::new(|len| rng.uniform.fill(&mut uniforms[..len])),
    );
    time(
        "normal draws",
        c.normals,
        Box::new(|len| {
            black_box(rng.normals(len));
        }),
    );
    time(
        "grid factors",
        c.grid_factors,
        Box::new(|len| {
            out[..len].fill(1.0);
            vecmath::multiply_factors(0.3, &x1[..len], &mut out[..len]);
        }),
    );
    time(
        "grid exps",
        c.grid_exps,
        Box::new(|len| {
            acc += vecmath::log_sum_product_exp(&uniforms[..len], &x1[..len], &mut out[..len]);
        }),
    );
    time(
        "softplus factors",
        c.softplus,
        Box::new(|len| {
            let (positive, product) = (&mut out[..len], &mut out2[..len]);
            vecmath::add_softplus_column(&x1[..len], &x2[..len], 0.1, 0.7, -0.4, positive, product);
        }),
    );
    black_box((acc, &out, &out2, &uniforms));
    times
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .and_then(|t| t.parse().ok())
        .unwrap_or(1usize);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/bench.toml");
    let mut exp = experiment::load(&path).expect("experiments/bench.toml is valid");
    let out = std::env::temp_dir().join(format!("grbm-sweep-floor-{}", std::process::id()));
    exp.output = out.join("bench");
    let opts = RunOptions {
        threads: Some(threads),
        ..RunOptions::default()
    };
    let report = run_sweep(&exp, &opts, &Silent).expect("the sweep runs");
    let c = counts(&exp, &report);
    let times = floor(c);
    println!(
        "{:<22} {:>14} {:>9} {:>8}",
        "operation", "count", "seconds", "ns each"
    );
    for (name, count, seconds) in &times {
        let each = seconds * 1e9 / (*count).max(1) as f64;
        println!("{name:<22} {count:>14} {seconds:>9.3} {each:>8.3}");
    }
    let sweep = report.seconds;
    let floor = times.iter().map(|t| t.2).sum::<f64>() / threads as f64;
    let plural = if threads == 1 { "" } else { "s" };
    println!(
        "floor:  {floor:.2}s ({threads} thread{plural}, the single-thread loops divided by the threads)"
    );
    println!("sweep:  {sweep:.2}s ({threads} thread{plural})");
    println!("ratio sweep / floor: {:.2}", sweep / floor);
    let _ = std::fs::remove_dir_all(&out);
}
