//! Checkpoint diagnostics: how far the sampler's negative phase and its chains are from the model's exact ones, measured from their own random stream on a copy of the sampler, so that training is not moved.
//!
//! At a checkpoint the trainer's sampler is copied (through its saved state) and makes one
//! negative phase on a minibatch drawn from [`Purpose::Diagnostics`]'s stream of that epoch.
//! That gradient is compared with the exact expectation (enumeration up to 20 hidden units,
//! the grid above), and the copy's chains, in data units, with exact samples of the model.

use super::Trainer;
use crate::estimate::{
    auto_grid_points, entropy_grid, exact_samples_any, expected_free_energy_grad_grid,
};
use crate::model::{Gradient, Grbm};
use crate::rng::{GibbsRng, Purpose, indexed_stream};

/// The most chains the energy distance compares (the first ones): its cost grows with the
/// square of the points, and beyond a thousand its noise is already well below the distances
/// that matter.
const MAX_ENERGY_POINTS: usize = 1000;

/// What one checkpoint's diagnostics measured. The chain columns are `None` for samplers
/// without chains (`exact`, `grid`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostics {
    /// Cosine between the sampler's negative-phase gradient and the exact expectation, over
    /// every parameter (training units).
    pub grad_cosine: f64,
    /// `|g_sampler - g_exact| / |g_exact|`.
    pub grad_rel_error: f64,
    /// `-E_p[ln p]`, the model's entropy in data units (the grid).
    pub model_entropy: f64,
    /// The mean log model density of the sampler's chains after their negative phase (data
    /// units): `-model_entropy` on average for chains that have mixed.
    pub chain_ll: Option<f64>,
    /// The energy distance between the chains (the first [`MAX_ENERGY_POINTS`]) and as many
    /// exact samples of the model.
    pub chain_energy: Option<f64>,
    /// The energy distance between two independent sets of that many exact samples: the
    /// value `chain_energy` would have, up to its noise, if the chains were exact.
    pub null_energy: Option<f64>,
}

/// The diagnostics of `trainer` at the end of `epoch`. `points` are the training points in
/// training units; `data_model` is the trainer's model in data units (`shift`, `scale` map
/// training units to data units) with `log_z` its grid log Z at `grid_points` per axis.
pub fn diagnose(
    trainer: &Trainer<'_>,
    points: &[[f64; 2]],
    units: super::Units,
    data_model: &Grbm,
    log_z: f64,
    grid_points: usize,
    epoch: usize,
) -> Diagnostics {
    let cfg = trainer.cfg;
    let mut seeder = indexed_stream(cfg.seed, Purpose::Diagnostics, epoch as u64);
    let batch = super::random_batch(&mut seeder, points, cfg.batch_size);
    let mut rng = GibbsRng::new(seeder);
    let (sampled, chains) = trainer.probe_negative(&batch, points, &mut rng);
    let exact = exact_negative(&trainer.model);
    let (cosine, rel_error) = compare(&sampled, &exact);

    let model_entropy = entropy_grid(data_model, Some(grid_points), log_z);
    let (chain_ll, chain_energy, null_energy) = match chains {
        Some(x) => {
            let x: Vec<[f64; 2]> = (0..x.nrows())
                .map(|r| units.to_data([x[(r, 0)], x[(r, 1)]]))
                .collect();
            let chain_ll = x
                .iter()
                .map(|p| -data_model.free_energy(*p) - log_z)
                .sum::<f64>()
                / x.len() as f64;
            // One draw of twice the points, halved: one enumeration (or grid) of the model.
            let count = x.len().min(MAX_ENERGY_POINTS);
            let exact = super::rows(
                exact_samples_any(data_model, 2 * count, Some(grid_points), &mut rng).as_ref(),
            );
            let (exact_a, exact_b) = exact.split_at(count);
            (
                Some(chain_ll),
                Some(energy_distance(&x[..count], exact_a)),
                Some(energy_distance(exact_b, exact_a)),
            )
        }
        None => (None, None, None),
    };
    Diagnostics {
        grad_cosine: cosine,
        grad_rel_error: rel_error,
        model_entropy,
        chain_ll,
        chain_energy,
        null_energy,
    }
}

/// The exact expectation of dF/dtheta: enumerated up to 20 hidden units, on the automatic grid
/// above.
fn exact_negative(model: &Grbm) -> Gradient {
    let mut grad = Gradient::zeros(model.n_hidden());
    if model.n_hidden() <= crate::model::MAX_ENUMERATION_HIDDEN {
        model.expected_free_energy_grad(&mut grad);
    } else {
        expected_free_energy_grad_grid(model, Some(auto_grid_points(model)), &mut grad);
    }
    grad
}

/// Every parameter of a gradient, in one order.
fn flat(g: &Gradient) -> Vec<f64> {
    let n = g.c.len();
    let mut v: Vec<f64> =
        g.b.iter()
            .chain(&g.log_sigma)
            .chain(&g.c)
            .copied()
            .collect();
    v.extend((0..n).flat_map(|j| [g.w[(0, j)], g.w[(1, j)]]));
    v
}

/// The cosine between `a` and `b`, and `|a - b| / |b|`.
fn compare(a: &Gradient, b: &Gradient) -> (f64, f64) {
    let (a, b) = (flat(a), flat(b));
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let difference: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
    (dot / (norm(&a) * norm(&b)), norm(&difference) / norm(&b))
}

/// The energy distance `2 E|X - Y| - E|X - X'| - E|Y - Y'|` between two samples, with the
/// within-sample means over distinct pairs (so that it is unbiased, and 0 on average for two
/// samples of one distribution; it is 0 in the population only when the distributions are
/// equal).
pub fn energy_distance(x: &[[f64; 2]], y: &[[f64; 2]]) -> f64 {
    let distance =
        |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let between = |u: &[[f64; 2]], v: &[[f64; 2]]| {
        u.iter()
            .map(|a| v.iter().map(|b| distance(*a, *b)).sum::<f64>())
            .sum::<f64>()
            / (u.len() * v.len()) as f64
    };
    let within = |u: &[[f64; 2]]| {
        let n = u.len();
        if n < 2 {
            return 0.0;
        }
        let sum: f64 = (0..n)
            .map(|i| (i + 1..n).map(|j| distance(u[i], u[j])).sum::<f64>())
            .sum();
        2.0 * sum / (n * (n - 1)) as f64
    };
    2.0 * between(x, y) - within(x) - within(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::ais;
    use crate::rng::stream;
    use faer::Mat;

    /// Two sets of exact samples of one model are at the null level (within 3 standard
    /// deviations of 0 over 20 pairs of sets), and a set shifted by one sigma is far above it.
    #[test]
    fn energy_distance_is_zero_on_average_for_one_distribution_and_large_for_two() {
        let w = Mat::from_fn(2, 3, |i, j| [[1.5, -1.0, 0.2], [0.3, 1.2, -0.8]][i][j]);
        let model = Grbm::new([0.0, 0.0], [0.5, 0.5], w, vec![-0.5, 0.0, 0.5]);
        let mut rng = GibbsRng::new(stream(3, Purpose::Diagnostics));
        let mut draw =
            || crate::train::rows(ais::exact_samples(&model, 400, &mut rng).unwrap().as_ref());
        let nulls: Vec<f64> = (0..20).map(|_| energy_distance(&draw(), &draw())).collect();
        let mean = nulls.iter().sum::<f64>() / 20.0;
        let sd = (nulls.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 19.0).sqrt();
        assert!(
            mean.abs() < 3.0 * sd / 20f64.sqrt(),
            "null mean {mean} (sd {sd})"
        );
        let shifted: Vec<[f64; 2]> = draw().iter().map(|p| [p[0] + 0.5, p[1]]).collect();
        let apart = energy_distance(&shifted, &draw());
        assert!(apart > mean + 10.0 * sd, "{apart} vs null {mean} +- {sd}");
    }
}

#[cfg(test)]
mod probes {
    use super::*;
    use crate::train::params::{Sampler, TrainConfig};
    use crate::train::{Units, initial_model};
    use rand::RngExt;
    use rand_distr::StandardNormal;

    /// Data that the initial model does not fit: two blobs, so that a chain started at a
    /// point (CD) stays near the data rather than the model.
    fn blobs(count: usize) -> Vec<[f64; 2]> {
        let mut rng = crate::rng::stream(11, Purpose::Data);
        (0..count)
            .map(|i| {
                let center = if i % 2 == 0 { -1.5 } else { 1.5 };
                let (a, b): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
                [center + 0.3 * a, 0.5 * b]
            })
            .collect()
    }

    fn probe(sampler: Sampler, k: usize, points: &[[f64; 2]]) -> Diagnostics {
        let cfg = TrainConfig {
            sampler,
            k,
            hidden: 4,
            batch_size: points.len(),
            ..TrainConfig::default()
        };
        let model = initial_model(&cfg, points);
        let trainer = Trainer::new(&cfg, model.clone(), points);
        let units = Units {
            shift: [0.0; 2],
            scale: [1.0; 2],
        };
        let grid = crate::estimate::log_z_grid(&model, None);
        diagnose(&trainer, points, units, &model, grid.log_z, grid.points, 0)
    }

    /// The exact sampler's negative phase is the exact gradient (cosine 1 to 1e-12); CD-1 from
    /// the data is off, and the cosine climbs towards 1 as k grows (4000 chains, so that the
    /// Monte Carlo noise is below the bias).
    #[test]
    fn grad_cosine_is_one_for_exact_and_grows_with_k_for_cd() {
        let points = blobs(4000);
        let exact = probe(Sampler::Exact, 1, &points);
        assert!((exact.grad_cosine - 1.0).abs() < 1e-12, "{exact:?}");
        assert!(exact.grad_rel_error < 1e-12, "{exact:?}");
        assert_eq!(exact.chain_ll, None);
        let cosines: Vec<f64> = [1, 10, 100]
            .iter()
            .map(|&k| probe(Sampler::Cd, k, &points).grad_cosine)
            .collect();
        // Measured: 0.946, 0.9984, 0.999994: each tenfold k cuts 1 - cosine by 30 or more.
        assert!(cosines[0] < 0.97, "CD-1 {cosines:?}");
        assert!(1.0 - cosines[1] < (1.0 - cosines[0]) / 5.0, "{cosines:?}");
        assert!(1.0 - cosines[2] < (1.0 - cosines[1]) / 5.0, "{cosines:?}");
    }
}
