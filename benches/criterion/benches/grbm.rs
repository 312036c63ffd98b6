//! Criterion benchmarks of the inner work: one Gibbs step, one CD-k update, the grid log Z and the enumeration, and the exact negative phase (enumeration and grid).
//! Ids name the hidden size `n` and the batch `b`; data and models are built outside the timed closures.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use faer::Mat;
use grbm_sweep::estimate::{expected_free_energy_grad_grid, log_z_grid};
use grbm_sweep::model::{Gradient, Grbm, Mixture, Workspace};
use grbm_sweep::rng::{GibbsRng, Purpose, stream};
use grbm_sweep::train::params::TrainConfig;
use grbm_sweep::train::{Trainer, initial_model};
use rand::RngExt;
use rand_distr::StandardNormal;
use std::hint::black_box;

const BATCH: usize = 100;
const SIZES: [usize; 4] = [4, 16, 64, 256];

fn points(count: usize) -> Vec<[f64; 2]> {
    let mut rng = stream(1, Purpose::Data);
    (0..count)
        .map(|_| [rng.sample(StandardNormal), rng.sample(StandardNormal)])
        .collect()
}

fn model(n: usize) -> Grbm {
    let cfg = TrainConfig {
        hidden: n,
        w_init: 1.0 / (n as f64).sqrt(),
        ..TrainConfig::default()
    };
    initial_model(&cfg, &points(1000))
}

fn gibbs_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("gibbs_step");
    for n in SIZES {
        let m = model(n);
        let data = points(BATCH);
        let mut x = Mat::from_fn(BATCH, 2, |r, i| data[r][i]);
        let mut ws = Workspace::new(BATCH, n);
        let mut rng = GibbsRng::new(stream(2, Purpose::Gibbs));
        group.bench_function(
            BenchmarkId::from_parameter(format!("n{n}_b{BATCH}")),
            |bench| bench.iter(|| m.gibbs_steps(black_box(x.as_mut()), 1, &mut ws, &mut rng)),
        );
    }
    group.finish();
}

fn cd_update(c: &mut Criterion) {
    let mut group = c.benchmark_group("cd_update");
    for n in SIZES {
        for k in [1, 10] {
            let cfg = TrainConfig {
                hidden: n,
                k,
                batch_size: BATCH,
                ..TrainConfig::default()
            };
            let data = points(BATCH);
            let mut trainer = Trainer::new(&cfg, model(n), &data);
            group.bench_function(
                BenchmarkId::from_parameter(format!("n{n}_k{k}_b{BATCH}")),
                |bench| bench.iter(|| trainer.step(black_box(&data))),
            );
        }
    }
    group.finish();
}

fn log_z(c: &mut Criterion) {
    let mut group = c.benchmark_group("log_z");
    group.sample_size(10);
    for n in SIZES {
        let m = model(n);
        group.bench_function(BenchmarkId::new("grid_auto", format!("n{n}")), |bench| {
            bench.iter(|| log_z_grid(black_box(&m), None))
        });
        group.bench_function(BenchmarkId::new("grid_512", format!("n{n}")), |bench| {
            bench.iter(|| log_z_grid(black_box(&m), Some(512)))
        });
        if m.log_z_exact().is_some() {
            group.bench_function(BenchmarkId::new("enumeration", format!("n{n}")), |bench| {
                bench.iter(|| black_box(&m).log_z_exact())
            });
        }
    }
    group.finish();
}

/// The negative phase of `sampler = "exact"` (the enumeration) and `"grid"`, at the hidden
/// sizes a fit uses.
fn exact_gradient(c: &mut Criterion) {
    let mut group = c.benchmark_group("exact_gradient");
    for n in [8, 14] {
        let m = model(n);
        let mut grad = Gradient::zeros(n);
        let mut mixture = Mixture::new();
        group.bench_function(BenchmarkId::new("enumeration", format!("n{n}")), |bench| {
            bench.iter(|| black_box(&m).expected_free_energy_grad_in(&mut grad, &mut mixture))
        });
        group.bench_function(BenchmarkId::new("grid_256", format!("n{n}")), |bench| {
            bench.iter(|| expected_free_energy_grad_grid(black_box(&m), Some(256), &mut grad))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Criterion's plots need system fonts, which a bare machine lacks; the figures are printed.
    config = Criterion::default().without_plots();
    targets = gibbs_step, cd_update, log_z, exact_gradient
}
criterion_main!(benches);
