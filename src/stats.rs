//! Statistics over replicates: the mean of a sample, its standard error and its Student-t confidence interval, the numbers a configuration's seeds and a paired comparison are summarized by.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The confidence level of every interval the program reports.
pub const LEVEL: f64 = 0.95;

/// A sample's mean with its uncertainty. With one value there is no spread to measure, so the
/// standard deviation, the standard error and the interval are `None`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub n: usize,
    pub mean: f64,
    /// The sample standard deviation (divisor n - 1).
    pub sd: Option<f64>,
    /// sd / sqrt(n).
    pub se: Option<f64>,
    /// mean -/+ t(0.975, n - 1) * se: the 95% Student-t interval of the mean.
    pub ci: Option<(f64, f64)>,
}

impl Estimate {
    /// The estimate of the mean of `values`, which are taken as independent draws from one
    /// normal distribution; `None` for no values.
    pub fn of(values: &[f64]) -> Option<Estimate> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Estimate {
                n,
                mean,
                sd: None,
                se: None,
                ci: None,
            });
        }
        let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        let sd = (ss / (n - 1) as f64).sqrt();
        let se = sd / (n as f64).sqrt();
        let half = t_quantile(0.5 + LEVEL / 2.0, n - 1) * se;
        Some(Estimate {
            n,
            mean,
            sd: Some(sd),
            se: Some(se),
            ci: Some((mean - half, mean + half)),
        })
    }
}

/// The `p` quantile of Student's t distribution with `dof` degrees of freedom (`dof` >= 1).
pub fn t_quantile(p: f64, dof: usize) -> f64 {
    StudentsT::new(0.0, 1.0, dof as f64)
        .expect("a t distribution with dof >= 1 and unit scale exists")
        .inverse_cdf(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quantiles from published t tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
    #[test]
    fn t_quantiles_match_the_tables() {
        for (dof, q) in [
            (1, 12.706),
            (2, 4.303),
            (3, 3.182),
            (4, 2.776),
            (9, 2.262),
            (30, 2.042),
        ] {
            let t = t_quantile(0.975, dof);
            assert!((t - q).abs() < 5e-4, "dof {dof}: {t} against {q}");
        }
    }

    /// The mean, sample sd, se and interval of 1, 2, 3, 4 written out by hand.
    #[test]
    fn an_estimate_is_the_mean_with_its_student_t_interval() {
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        let sd = (5.0f64 / 3.0).sqrt();
        assert_eq!((e.n, e.mean), (4, 2.5));
        assert!((e.sd.unwrap() - sd).abs() < 1e-15);
        assert!((e.se.unwrap() - sd / 2.0).abs() < 1e-15);
        let (low, high) = e.ci.unwrap();
        let half = 3.182446305284263 * sd / 2.0;
        assert!((low - (2.5 - half)).abs() < 1e-9 && (high - (2.5 + half)).abs() < 1e-9);
        let one = Estimate::of(&[-3.5]).unwrap();
        assert_eq!((one.mean, one.sd, one.se, one.ci), (-3.5, None, None, None));
        assert_eq!(Estimate::of(&[]), None);
    }
}
