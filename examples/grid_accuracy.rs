//! How accurate the grid's log Z and negative phase (`sampler = "grid"`) are at a given grid
//! spacing, measured against enumeration of the 2^n hidden states.
//!
//! The models are those of two tests in `tests/it/math.rs`, rebuilt from the same streams:
//! the 64 random models (n = 1 to 8) of `grid_expected_gradient_matches_enumeration_on_random_models`
//! and the 16 wide models (boxes of 150 to 250 sigmas) of
//! `grid_expected_gradient_at_the_training_cap_is_still_accurate`.
//!
//! ```text
//! cargo run --release --example grid_accuracy
//! ```
//!
//! First table: for each spacing h (in units of each axis's sigma), every random model gets the
//! fewest grid points per axis for which the spacing is at most h on both axes (so the axis that
//! needs the most points is at h, the other finer), and the line gives the largest error over
//! the 64 models: of log Z (absolute, nats), and of each parameter group of the expected
//! gradient E_p[dF/dtheta] (b, ln sigma, W, c), the largest absolute difference from the
//! enumerated one divided by the group's largest enumerated entry (at least 1e-3), as the tests
//! measure it. Beside them, the trapezoid rule's leading error for one Gaussian component:
//! 2 exp(-2 pi^2 / r^2) on its mass (r = h / sigma; the two nearest aliases) and that times
//! 4 pi^2 / r^2 on its variance E[(x - m)^2].
//!
//! Second table: the 16 wide models at the training cap of 256 points per axis, each with its
//! spacing on the wider axis, the same errors and the absolute ones.

// It draws the test's random models as the test does (rand_distr, the C library's maths): its
// figures are error sizes, not table values, so they need not reproduce bit for bit.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use faer::Mat;
use grbm_sweep::estimate::{
    MAX_TRAINING_POINTS, auto_grid_points, expected_free_energy_grad_grid, integration_box,
    log_z_grid,
};
use grbm_sweep::model::{Gradient, Grbm};
use grbm_sweep::rng::{Purpose, stream};
use rand::RngExt;
use rand_distr::StandardNormal;
use rand_pcg::Pcg64;
use std::f64::consts::PI;

/// The random model of `tests/it/math.rs` (the same draws in the same order).
fn random_model(rng: &mut Pcg64, n: usize) -> Grbm {
    let mut normal = || -> f64 { rng.sample(StandardNormal) };
    let b = [2.0 * normal(), 2.0 * normal()];
    let w_scale = 0.1 + 2.9 * normal().abs().min(1.0);
    let w = Mat::from_fn(2, n, |_, _| w_scale * normal());
    let c = (0..n).map(|_| 1.5 * normal()).collect();
    let mut uniform = |lo: f64, hi: f64| lo + (hi - lo) * rng.random::<f64>();
    let sigma = [uniform(-1.6, 1.0).exp(), uniform(-1.6, 1.0).exp()];
    Grbm::new(b, sigma, w, c)
}

/// The 64 models of the test at the automatic grid.
fn random_models() -> Vec<Grbm> {
    let mut rng = stream(2025, Purpose::Init);
    (0..64).map(|m| random_model(&mut rng, 1 + m % 8)).collect()
}

/// The 16 models of the test at the training cap: W scaled until the box spans 150 to 250
/// sigmas on its wider axis.
fn wide_models() -> Vec<Grbm> {
    let mut rng = stream(2026, Purpose::Init);
    (0..16)
        .map(|m| {
            let n = 4 + m % 5;
            let mut model = random_model(&mut rng, n);
            let sigma = model.sigma();
            let span: f64 = (0..2)
                .map(|i| (0..n).map(|j| model.w[(i, j)].abs()).sum::<f64>() / sigma[i])
                .fold(0.0, f64::max);
            let factor = (150.0 + 100.0 * m as f64 / 15.0 - 20.0) / span;
            for j in 0..n {
                model.w[(0, j)] *= factor;
                model.w[(1, j)] *= factor;
            }
            model
        })
        .collect()
}

/// The box's width on each axis in units of that axis's sigma.
fn widths_in_sigmas(model: &Grbm) -> [f64; 2] {
    let (bounds, sigma) = (integration_box(model), model.sigma());
    [0, 1].map(|i| (bounds[i].1 - bounds[i].0) / sigma[i])
}

/// The fewest points per axis for a spacing of at most `ratio` sigma on both axes.
fn points_for(model: &Grbm, ratio: f64) -> usize {
    let widest = widths_in_sigmas(model).into_iter().fold(0.0, f64::max);
    (widest / ratio).ceil() as usize + 1
}

/// Largest absolute differences per group (b, ln sigma, W, c), and each over the group's largest
/// enumerated entry (at least 1e-3), as `tests/it/math.rs` measures them.
fn group_errors(grid: &Gradient, exact: &Gradient) -> ([f64; 4], [f64; 4]) {
    let n = exact.c.len();
    let groups: [Vec<(f64, f64)>; 4] = [
        (0..2).map(|i| (grid.b[i], exact.b[i])).collect(),
        (0..2)
            .map(|i| (grid.log_sigma[i], exact.log_sigma[i]))
            .collect(),
        (0..n)
            .flat_map(|j| [0, 1].map(|i| (grid.w[(i, j)], exact.w[(i, j)])))
            .collect(),
        (0..n).map(|j| (grid.c[j], exact.c[j])).collect(),
    ];
    let absolute = groups
        .each_ref()
        .map(|g| g.iter().map(|p| (p.0 - p.1).abs()).fold(0.0, f64::max));
    let scale = groups
        .each_ref()
        .map(|g| g.iter().map(|p| p.1.abs()).fold(1e-3, f64::max));
    (absolute, [0, 1, 2, 3].map(|k| absolute[k] / scale[k]))
}

/// log Z's absolute error and the gradient's group errors (absolute, relative) at `points`.
fn errors(model: &Grbm, points: usize) -> (f64, [f64; 4], [f64; 4]) {
    let n = model.n_hidden();
    let (mut grid, mut exact) = (Gradient::zeros(n), Gradient::zeros(n));
    model.expected_free_energy_grad(&mut exact);
    expected_free_energy_grad_grid(model, Some(points), &mut grid);
    let log_z = log_z_grid(model, Some(points)).log_z;
    let log_z_error = (log_z - model.log_z_exact().expect("n <= 20")).abs();
    let (absolute, relative) = group_errors(&grid, &exact);
    (log_z_error, absolute, relative)
}

fn by_spacing(models: &[Grbm]) {
    println!(
        "random models (64, n = 1 to 8): largest error over the models at spacing h = r sigma; \
         log Z absolute, then the gradient's groups relative and absolute"
    );
    println!(
        "{:>5} {:>9} | {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9}",
        "r", "log Z", "b", "ln sigma", "W", "c", "b", "ln sigma", "W", "c", "mass", "variance"
    );
    for ratio in [0.5, 0.75, 0.9, 0.98, 1.1, 1.25] {
        let (mut log_z, mut relative, mut absolute) = (0.0f64, [0.0f64; 4], [0.0f64; 4]);
        for model in models {
            let (e, a, r) = errors(model, points_for(model, ratio));
            log_z = log_z.max(e);
            for k in 0..4 {
                relative[k] = relative[k].max(r[k]);
                absolute[k] = absolute[k].max(a[k]);
            }
        }
        let mass = 2.0 * (-2.0 * PI * PI / (ratio * ratio)).exp();
        let variance = mass * 4.0 * PI * PI / (ratio * ratio);
        print!("{ratio:>5} {log_z:>9.1e} |");
        for e in relative {
            print!(" {e:>9.1e}");
        }
        print!(" |");
        for e in absolute {
            print!(" {e:>9.1e}");
        }
        println!(" | {mass:>9.1e} {variance:>9.1e}");
    }
}

fn at_the_cap(models: &[Grbm]) {
    println!(
        "\nwide models (16) at the training cap of {MAX_TRAINING_POINTS} points: relative \
         errors, then absolute ones"
    );
    println!(
        "{:>4} {:>5} {:>5} {:>9} | {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} {:>9}",
        "n", "auto", "h/s", "log Z", "b", "ln sigma", "W", "c", "b", "ln sigma", "W", "c"
    );
    for model in models {
        let widest = widths_in_sigmas(model).into_iter().fold(0.0, f64::max);
        let ratio = widest / (MAX_TRAINING_POINTS - 1) as f64;
        let (log_z, absolute, relative) = errors(model, MAX_TRAINING_POINTS);
        print!(
            "{:>4} {:>5} {ratio:>5.3} {log_z:>9.1e} |",
            model.n_hidden(),
            auto_grid_points(model)
        );
        for e in relative {
            print!(" {e:>9.1e}");
        }
        print!(" |");
        for e in absolute {
            print!(" {e:>9.1e}");
        }
        println!();
    }
}

fn main() {
    by_spacing(&random_models());
    at_the_cap(&wide_models());
}
