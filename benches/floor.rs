//! The floor of a sweep: the sigmoid evaluations, uniform and normal draws and softplus evaluations
//! that `experiments/bench.toml` cannot avoid, done in tight independent loops with the same RNG
//! and math functions as the program, timed beside the sweep itself in one process.
//!
//! Run: `cargo bench --bench floor` (or `-- --threads N`, default 1). Prints both times and their ratio.

use grbm_sweep::config;
use grbm_sweep::model::{sigmoid, softplus};
use grbm_sweep::rng::{Purpose, stream};
use grbm_sweep::runner::{Progress, RunOptions, SweepReport, run_sweep};
use rand::RngExt;
use rand_distr::StandardNormal;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

/// Elementary operations a sweep needs, summed over its runs.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    sigmoids: u64,
    uniforms: u64,
    normals: u64,
    softplus: u64,
}

/// What the finished sweep actually did: a diverged run stops after the epoch it diverged in and
/// is not evaluated, so the floor counts only the work its runs really had to do.
fn counts(exp: &config::Experiment, report: &SweepReport) -> Counts {
    let mut total = Counts::default();
    let (n_train, n_test) = (exp.data.n_train as u64, exp.data.n_test as u64);
    for record in &report.records {
        let (t, run) = (
            &record.spec.train,
            record.run.as_ref().expect("no run of bench.toml fails"),
        );
        let (n, k, b) = (t.hidden as u64, t.k as u64, t.batch_size as u64);
        let epochs = if run.evaluation.is_some() {
            run.epochs_done
        } else {
            run.epochs_done + 1
        };
        let steps = epochs as u64 * n_train.div_ceil(b);
        // Per step: p(z|x) of the batch, k Gibbs steps (p(z|x), z draws, x draws), p(z|x) of the chains.
        total.sigmoids += steps * b * n * (k + 2);
        total.uniforms += steps * b * n * k;
        total.normals += steps * b * 2 * k;
        if run.evaluation.is_some() {
            // The grid, the log-likelihood of every point, the reconstruction of the test points.
            let grid = exp.eval.grid_points.expect("bench.toml fixes grid_points") as u64;
            total.softplus += (grid * grid + n_train + n_test) * n;
            total.sigmoids += n_test * n;
        }
    }
    total
}

/// Fills `buffer` with `f` of varying inputs, `count` values in all, as the program fills its
/// batch matrices (results stored, not chained through one accumulator).
fn fill(buffer: &mut [f64], count: u64, mut f: impl FnMut(usize) -> f64) -> f64 {
    let mut checksum = 0.0;
    let mut left = count as usize;
    while left > 0 {
        let chunk = left.min(buffer.len());
        for (i, v) in buffer[..chunk].iter_mut().enumerate() {
            *v = f(i);
        }
        checksum += buffer[chunk - 1];
        left -= chunk;
    }
    checksum
}

/// Each operation in its own tight loop with the program's RNG and math functions.
fn floor(c: Counts) -> f64 {
    let start = Instant::now();
    let mut rng = stream(0, Purpose::Gibbs);
    let mut buffer = vec![0.0; 4096];
    let mut acc = fill(&mut buffer, c.sigmoids, |i| {
        sigmoid((i & 1023) as f64 * 0.01 - 5.0)
    });
    acc += fill(&mut buffer, c.uniforms, |_| rng.random::<f64>());
    acc += fill(&mut buffer, c.normals, |_| {
        rng.sample::<f64, _>(StandardNormal)
    });
    acc += fill(&mut buffer, c.softplus, |i| {
        softplus((i & 1023) as f64 * 0.02 - 10.0)
    });
    black_box(acc);
    start.elapsed().as_secs_f64()
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
    let mut exp = config::load(&path).expect("experiments/bench.toml is valid");
    let out = tempfile::tempdir().expect("a temporary folder");
    exp.output = out.path().join("bench");
    let opts = RunOptions {
        threads: Some(threads),
        progress: Progress::Quiet,
        ..RunOptions::default()
    };
    let report = run_sweep(&exp, &opts).expect("the sweep runs");
    let c = counts(&exp, &report);
    println!(
        "bench.toml needs {:.3e} sigmoids, {:.3e} uniform and {:.3e} normal draws, {:.3e} softplus",
        c.sigmoids as f64, c.uniforms as f64, c.normals as f64, c.softplus as f64
    );
    let sweep = report.seconds;
    let floor = floor(c) / threads as f64;
    println!(
        "floor:  {floor:.2}s ({} thread{}, the single-thread loops divided by the threads)",
        threads,
        if threads == 1 { "" } else { "s" }
    );
    println!(
        "sweep:  {sweep:.2}s ({threads} thread{})",
        if threads == 1 { "" } else { "s" }
    );
    println!("ratio sweep / floor: {:.2}", sweep / floor);
}
