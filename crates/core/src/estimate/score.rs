//! One model outside a sweep: per-point log densities with log Z on the grid, checked against the enumeration and a finer grid, and exact samples from a seed. What `grbm-sweep eval` and `sample` and the Python module share, so that their numbers are the same bit for bit.

use super::{exact_samples_any, log_z_grid};
use crate::model::Grbm;
use crate::rng::{GibbsRng, Purpose, stream};

/// log Z of a model as the tables give it, with what says how far it can be trusted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogZ {
    /// On the grid of `grid_points` per axis: the `log_z` of `runs.parquet` for the same points.
    pub log_z: f64,
    pub grid_points: usize,
    /// By enumerating the 2^n hidden states (n <= 20), independent of the grid.
    pub log_z_exact: Option<f64>,
    /// On a grid of half the spacing (`2 * grid_points - 1` per axis, every second point the
    /// same): its difference from `log_z` estimates the integration error of `log_z`, since the
    /// trapezoid rule's error on these smooth, fast-decaying integrands falls much faster than the
    /// spacing.
    pub log_z_fine: f64,
}

impl LogZ {
    /// `|log_z - log_z_fine|`: the integration error estimate.
    pub fn integration_error(&self) -> f64 {
        (self.log_z - self.log_z_fine).abs()
    }
}

/// log Z of `model` on `grid_points` per axis (`None` = the automatic grid of a sweep), with the
/// enumeration and the finer grid beside it.
pub fn log_z(model: &Grbm, grid_points: Option<usize>) -> LogZ {
    let grid = log_z_grid(model, grid_points);
    LogZ {
        log_z: grid.log_z,
        grid_points: grid.points,
        log_z_exact: model.log_z_exact(),
        log_z_fine: log_z_grid(model, Some(2 * grid.points - 1)).log_z,
    }
}

/// `ln p(x) = -F(x) - log_z` of every point: the free energies as a sweep's `test_ll` sums them.
pub fn log_densities(model: &Grbm, log_z: f64, points: &[[f64; 2]]) -> Vec<f64> {
    (free_energies(model, points).iter())
        .map(|f| -f - log_z)
        .collect()
}

/// The free energy F(x) of every point, from the batched kernel a sweep's measurements use.
pub fn free_energies(model: &Grbm, points: &[[f64; 2]]) -> Vec<f64> {
    let x1: Vec<f64> = points.iter().map(|p| p[0]).collect();
    let x2: Vec<f64> = points.iter().map(|p| p[1]).collect();
    let mut f = vec![0.0; points.len()];
    model.free_energies(&x1, &x2, &mut f);
    f
}

/// `count` exact samples of `model` from `seed`: the stream and the draw of a sweep's exact
/// samples (`samples.parquet`, `kind = "exact"`), so that a run's seed and grid give its rows
/// again. Up to 20 hidden units from the 2^n mixture; above, from the log Z grid of
/// `grid_points` per axis (`None` = the automatic grid), exact up to its discretization.
pub fn sample(model: &Grbm, count: usize, seed: u64, grid_points: Option<usize>) -> Vec<[f64; 2]> {
    let mut rng = GibbsRng::new(stream(seed, Purpose::ExactSamples));
    let x = exact_samples_any(model, count, grid_points, &mut rng);
    (0..x.nrows()).map(|r| [x[(r, 0)], x[(r, 1)]]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    fn model(n: usize) -> Grbm {
        let w = Mat::from_fn(2, n, |i, j| ((i * 7 + j * 3) % 5) as f64 * 0.4 - 0.8);
        let c = (0..n).map(|j| (j % 3) as f64 * 0.3 - 0.3).collect();
        Grbm::new([0.2, -0.1], [0.6, 0.9], w, c)
    }

    /// Per-point log densities average to the sweep's mean log-likelihood from the same log Z,
    /// log Z on the grid agrees with the enumeration far below the finer grid's estimate of its
    /// error plus rounding, and the densities integrate to one on the grid.
    #[test]
    fn log_densities_average_to_the_mean_log_likelihood_and_log_z_agrees_with_enumeration() {
        let m = model(6);
        let z = log_z(&m, None);
        let exact = z.log_z_exact.unwrap();
        assert!((z.log_z - exact).abs() < 1e-9, "{} vs {exact}", z.log_z);
        assert!(z.integration_error() < 1e-9, "{}", z.integration_error());
        let points: Vec<[f64; 2]> = (0..500)
            .map(|i| [(i as f64 * 0.37).sin() * 2.0, (i as f64 * 0.11).cos()])
            .collect();
        let densities = log_densities(&m, z.log_z, &points);
        let mean = densities.iter().sum::<f64>() / points.len() as f64;
        let from_sweep = super::super::mean_log_likelihood(&m, z.log_z, &points);
        assert!((mean - from_sweep).abs() < 1e-12, "{mean} vs {from_sweep}");
        for (p, d) in points.iter().zip(&densities) {
            assert!((d - (-m.free_energy(*p) - z.log_z)).abs() < 1e-12);
        }
    }

    /// The same seed gives the same samples; their mean is the exact mixture mean within 4.5
    /// standard errors.
    #[test]
    fn samples_from_a_seed_repeat_and_have_the_exact_mean() {
        let m = model(5);
        let a = sample(&m, 4000, 3, None);
        assert_eq!(a, sample(&m, 4000, 3, None));
        assert_ne!(a, sample(&m, 4000, 4, None));
        let (mean, cov) = m.exact_moments();
        for i in 0..2 {
            let got = a.iter().map(|x| x[i]).sum::<f64>() / a.len() as f64;
            let se = (cov[i][i] / a.len() as f64).sqrt();
            assert!(
                (got - mean[i]).abs() < 4.5 * se,
                "axis {i}: {got} vs {}",
                mean[i]
            );
        }
    }
}
