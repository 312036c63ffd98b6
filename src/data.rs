//! The points a sweep trains and tests on: built-in generators with their exact densities, drawn from `[data] seed`.

use crate::config::DataConfig;
use crate::rng::{Purpose, stream};
use rand::RngExt;
use rand_distr::StandardNormal;
use rand_pcg::Pcg64;

/// A mixture of axis-aligned Gaussians in 2-D, with its exact log density.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    pub weights: Vec<f64>,
    pub means: Vec<[f64; 2]>,
    /// Per-axis standard deviations of each component.
    pub stds: Vec<[f64; 2]>,
}

impl GaussianMixture {
    /// The three-Gaussian sets `gmm_iso` and `gmm_aniso`: weights 0.33/0.33/0.34 and means (-5,-5), (5,-5), (0,5).
    fn three_blobs(stds: [[f64; 2]; 3]) -> Self {
        GaussianMixture {
            weights: vec![0.33, 0.33, 0.34],
            means: vec![[-5.0, -5.0], [5.0, -5.0], [0.0, 5.0]],
            stds: stds.to_vec(),
        }
    }

    pub fn log_density(&self, x: [f64; 2]) -> f64 {
        let terms: Vec<f64> = (0..self.weights.len())
            .map(|k| {
                let mut log_p = self.weights[k].ln();
                for i in 0..2 {
                    let z = (x[i] - self.means[k][i]) / self.stds[k][i];
                    log_p -= 0.5 * z * z
                        + self.stds[k][i].ln()
                        + 0.5 * (2.0 * std::f64::consts::PI).ln();
                }
                log_p
            })
            .collect();
        crate::model::log_sum_exp(&terms)
    }

    pub fn sample(&self, rng: &mut Pcg64) -> [f64; 2] {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut k = self.weights.len() - 1;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                k = i;
                break;
            }
        }
        let n1: f64 = rng.sample(StandardNormal);
        let n2: f64 = rng.sample(StandardNormal);
        [
            self.means[k][0] + self.stds[k][0] * n1,
            self.means[k][1] + self.stds[k][1] * n2,
        ]
    }
}

/// A built-in generator.
#[derive(Debug, Clone, PartialEq)]
pub enum Generator {
    Mixture(GaussianMixture),
}

impl Generator {
    pub fn by_name(name: &str) -> Option<Generator> {
        match name {
            "gmm_iso" => Some(Generator::Mixture(GaussianMixture::three_blobs(
                [[1.0, 1.0]; 3],
            ))),
            "gmm_aniso" => Some(Generator::Mixture(GaussianMixture::three_blobs([
                [1.25, 0.5],
                [1.25, 0.5],
                [0.5, 1.25],
            ]))),
            _ => None,
        }
    }

    pub fn sample(&self, rng: &mut Pcg64) -> [f64; 2] {
        match self {
            Generator::Mixture(m) => m.sample(rng),
        }
    }

    /// The exact log density, where the generator has one in closed form.
    pub fn log_density(&self, x: [f64; 2]) -> Option<f64> {
        match self {
            Generator::Mixture(m) => Some(m.log_density(x)),
        }
    }
}

/// The points of one data set, split into train and test.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub train: Vec<[f64; 2]>,
    pub test: Vec<[f64; 2]>,
    /// Mean log density of the test points under the distribution that drew them, where known.
    pub true_ll: Option<f64>,
}

impl Dataset {
    /// Draws `n_train + n_test` points from the generator named in `config`, from `[data] seed` alone.
    pub fn generate(config: &DataConfig) -> Dataset {
        let generator =
            Generator::by_name(&config.source).expect("source is checked when the file is read");
        let mut rng = stream(config.seed, Purpose::Data);
        let train: Vec<[f64; 2]> = (0..config.n_train)
            .map(|_| generator.sample(&mut rng))
            .collect();
        let test: Vec<[f64; 2]> = (0..config.n_test)
            .map(|_| generator.sample(&mut rng))
            .collect();
        let true_ll = test
            .iter()
            .map(|x| generator.log_density(*x))
            .sum::<Option<f64>>()
            .map(|total| total / test.len() as f64);
        Dataset {
            name: config.source.clone(),
            train,
            test,
            true_ll,
        }
    }

    /// Per-axis mean and standard deviation of the training points (population variance).
    pub fn train_moments(&self) -> ([f64; 2], [f64; 2]) {
        moments(&self.train)
    }
}

pub fn moments(points: &[[f64; 2]]) -> ([f64; 2], [f64; 2]) {
    let n = points.len() as f64;
    let mut mean = [0.0; 2];
    let mut std = [0.0; 2];
    for i in 0..2 {
        mean[i] = points.iter().map(|p| p[i]).sum::<f64>() / n;
        std[i] = (points.iter().map(|p| (p[i] - mean[i]).powi(2)).sum::<f64>() / n).sqrt();
    }
    (mean, std)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(source: &str, seed: u64) -> DataConfig {
        DataConfig {
            source: source.into(),
            n_train: 3000,
            n_test: 500,
            seed,
        }
    }

    #[test]
    fn generation_is_deterministic_given_the_seed() {
        let a = Dataset::generate(&config("gmm_iso", 7));
        let b = Dataset::generate(&config("gmm_iso", 7));
        let c = Dataset::generate(&config("gmm_iso", 8));
        assert_eq!(a.train, b.train);
        assert_eq!(a.test, b.test);
        assert_ne!(a.train, c.train);
    }

    /// The closed-form density must integrate to 1; checked by a fine Riemann sum over a wide box.
    #[test]
    fn mixture_densities_integrate_to_one() {
        for name in ["gmm_iso", "gmm_aniso"] {
            let g = Generator::by_name(name).unwrap();
            let (lo, hi, n) = (-15.0, 15.0, 1200);
            let h = (hi - lo) / n as f64;
            let mut total = 0.0;
            for a in 0..n {
                for b in 0..n {
                    let x = [lo + (a as f64 + 0.5) * h, lo + (b as f64 + 0.5) * h];
                    total += g.log_density(x).unwrap().exp() * h * h;
                }
            }
            assert!((total - 1.0).abs() < 1e-9, "{name}: integral {total}");
        }
    }

    /// Sample moments match the mixture's exact mean and variance (tolerance: 5 standard errors).
    #[test]
    fn samples_match_mixture_moments() {
        let data = Dataset::generate(&DataConfig {
            source: "gmm_aniso".into(),
            n_train: 40000,
            n_test: 1,
            seed: 1,
        });
        let Generator::Mixture(m) = Generator::by_name("gmm_aniso").unwrap();
        let (mean, std) = data.train_moments();
        for i in 0..2 {
            let exact_mean: f64 = (0..3).map(|k| m.weights[k] * m.means[k][i]).sum();
            let second: f64 = (0..3)
                .map(|k| m.weights[k] * (m.means[k][i].powi(2) + m.stds[k][i].powi(2)))
                .sum();
            let exact_var = second - exact_mean * exact_mean;
            let se = (exact_var / 40000.0).sqrt();
            assert!(
                (mean[i] - exact_mean).abs() < 5.0 * se,
                "axis {i}: mean {} vs {exact_mean}",
                mean[i]
            );
            assert!(
                (std[i].powi(2) - exact_var).abs() / exact_var < 0.03,
                "axis {i}: var {} vs {exact_var}",
                std[i].powi(2)
            );
        }
    }

    #[test]
    fn true_ll_is_near_the_entropy_of_gmm_iso() {
        // Three well-separated unit Gaussians: -H = -ln(2 pi e) + sum w ln w = -3.9366 nats.
        let data = Dataset::generate(&DataConfig {
            source: "gmm_iso".into(),
            n_train: 10,
            n_test: 20000,
            seed: 0,
        });
        let entropy = (2.0 * std::f64::consts::PI * std::f64::consts::E).ln()
            - [0.33f64, 0.33, 0.34]
                .iter()
                .map(|w| w * w.ln())
                .sum::<f64>();
        assert!(
            (data.true_ll.unwrap() + entropy).abs() < 0.03,
            "{:?}",
            data.true_ll
        );
    }
}
