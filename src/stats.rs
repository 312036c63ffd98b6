//! Statistics over replicates: the mean of a sample, its standard error and its Student-t confidence interval, the numbers a configuration's seeds and a paired comparison are summarized by.

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

/// The `p` quantile of Student's t distribution with `dof` degrees of freedom (`dof` >= 1,
/// 0 < p < 1), to a few units in the last place, with the `libm` crate's functions only (so the
/// intervals are the same whatever C library runs the program): the angle theta = atan(t /
/// sqrt(dof)) at which P(|T| < t) = |2p - 1|, found by bisection to the last bit on the
/// closed form of [`central_mass`], and t = sqrt(dof) tan theta.
pub fn t_quantile(p: f64, dof: usize) -> f64 {
    assert!(
        p > 0.0 && p < 1.0 && dof >= 1,
        "t quantile of p = {p}, dof = {dof}"
    );
    let target = (2.0 * p - 1.0).abs();
    let (mut low, mut high) = (0.0, std::f64::consts::FRAC_PI_2);
    loop {
        let middle = 0.5 * (low + high);
        if middle <= low || middle >= high {
            break;
        }
        if central_mass(middle, dof) < target {
            low = middle;
        } else {
            high = middle;
        }
    }
    let t = (dof as f64).sqrt() * libm::tan(0.5 * (low + high));
    if p < 0.5 { -t } else { t }
}

/// P(|T| < sqrt(dof) tan theta) for T ~ t(dof): the finite sums of Abramowitz and Stegun
/// 26.7.3 (odd dof: (2 / pi) (theta + sin theta (cos theta + 2/3 cos^3 theta + ... +
/// (2 4 ... (dof - 3)) / (1 3 ... (dof - 2)) cos^(dof - 2) theta))) and 26.7.4 (even dof:
/// sin theta (1 + 1/2 cos^2 theta + ... + (1 3 ... (dof - 3)) / (2 4 ... (dof - 2))
/// cos^(dof - 2) theta)), increasing in theta on [0, pi / 2].
fn central_mass(theta: f64, dof: usize) -> f64 {
    let (sin, cos) = libm::sincos(theta);
    let cos2 = cos * cos;
    if dof.is_multiple_of(2) {
        // Terms k = 0, 1, ...: the k-th is the (k - 1)-th times (2k - 1) / (2k) cos^2 theta.
        let (mut term, mut sum) = (1.0, 1.0);
        for k in 1..dof / 2 {
            term *= (2 * k - 1) as f64 / (2 * k) as f64 * cos2;
            sum += term;
        }
        sin * sum
    } else {
        // Terms cos theta, 2/3 cos^3 theta, ...: each the last times 2k / (2k + 1) cos^2 theta.
        let (mut term, mut sum) = (cos, 0.0);
        for k in 1..dof.div_ceil(2) {
            sum += term;
            term *= (2 * k) as f64 / (2 * k + 1) as f64 * cos2;
        }
        std::f64::consts::FRAC_2_PI * (theta + sin * sum)
    }
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

    /// The bisection on the closed form against the closed-form quantiles of 1 and 2 degrees of
    /// freedom (tan(pi (p - 1/2)) and (2p - 1) / sqrt(2p (1 - p))) and against statrs's inverse
    /// of the regularized incomplete beta function (a different method, on the C library's
    /// maths) up to 200 degrees of freedom away from the median, and symmetric about it. A
    /// quantile moves by about 1 / (1 - p) times a relative change of p (the Cauchy tail's
    /// t ~ 1 / (pi (1 - p))), so a p known to the last bit fixes t to no better than
    /// 2^-52 / (1 - p): the closed forms must agree within 1e-14 / (1 - p).
    #[test]
    fn t_quantiles_match_closed_forms_and_statrs() {
        use statrs::distribution::{ContinuousCDF, StudentsT};
        let relative = |a: f64, b: f64| ((a - b) / b).abs();
        for p in [0.5 + 1e-9, 0.6, 0.9, 0.975, 0.995, 0.999_999] {
            let tolerance = 1e-14 / (1.0 - p);
            // tan(pi (p - 1/2)), written where it is well conditioned.
            let cauchy = if p < 0.75 {
                (std::f64::consts::PI * (p - 0.5)).tan()
            } else {
                1.0 / (std::f64::consts::PI * (1.0 - p)).tan()
            };
            let t = t_quantile(p, 1);
            assert!(
                relative(t, cauchy) < tolerance,
                "dof 1, p {p}: {t} against {cauchy}"
            );
            let two = (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
            let t = t_quantile(p, 2);
            assert!(
                relative(t, two) < tolerance,
                "dof 2, p {p}: {t} against {two}"
            );
            // statrs's starting point is clamped to 1e-4, which leaves it short near the median.
            if p < 0.55 {
                continue;
            }
            for dof in (1..=40).chain([57, 100, 199, 200]) {
                let t = t_quantile(p, dof);
                let reference = StudentsT::new(0.0, 1.0, dof as f64).unwrap().inverse_cdf(p);
                let close = relative(t, reference) < 1e-9;
                assert!(close, "dof {dof}, p {p}: {t} against {reference}");
                let mirrored = -t_quantile(1.0 - p, dof);
                assert!(
                    relative(mirrored, t) < tolerance,
                    "dof {dof}, p {p}: {mirrored}"
                );
            }
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
