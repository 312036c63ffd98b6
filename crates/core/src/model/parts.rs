//! A model from plain arrays, checked: the convention of parameter files and of the Python module (b, sigma as standard deviations, W as 2 x n, c), with errors that say what was found.

use super::Grbm;
use faer::Mat;

/// Why arrays do not make a model. The messages are those the CLI prints and Python raises.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PartsError {
    #[error("`{name}` has {found} values; a GRBM with 2 visible units has 2")]
    NotTwo { name: &'static str, found: usize },
    #[error(
        "`W` is {rows} x {cols} and `c` has {cols_expected} values: W is n x 2 where 2 x n was \
         expected (row i = visible unit i; transposed? pass W.T)"
    )]
    Transposed {
        rows: usize,
        cols: usize,
        cols_expected: usize,
    },
    #[error(
        "`W` is {rows} x {cols} but must be 2 x n with n = {hidden}, the length of `c` (row i = \
         visible unit i)"
    )]
    Shape {
        rows: usize,
        cols: usize,
        hidden: usize,
    },
    #[error(
        "`sigma` must hold standard deviations > 0; found {found} (from a log-variance v: sigma \
         = exp(v / 2); from a variance s2: sigma = sqrt(s2))"
    )]
    Sigma { found: f64 },
    #[error("`{name}` holds {found}: every parameter must be a finite number")]
    NotFinite { name: &'static str, found: f64 },
    #[error("a GRBM needs at least one hidden unit (`c` is empty)")]
    NoHidden,
}

impl Grbm {
    /// The model with visible biases `b` (2), standard deviations `sigma` (2), weights `w`
    /// (`rows` x `cols` in row-major order, which must be 2 x n) and hidden biases `c` (n). A
    /// transposed W (n x 2 with n != 2) and a sigma that is not positive are refused with what
    /// was found; a 2 x 2 W cannot be told from its transpose, and a variance given as sigma
    /// cannot be told from a standard deviation: the docs state the convention.
    pub fn from_parts(
        b: &[f64],
        sigma: &[f64],
        w: &[f64],
        (rows, cols): (usize, usize),
        c: &[f64],
    ) -> Result<Grbm, PartsError> {
        for (name, values) in [("b", b), ("sigma", sigma)] {
            if values.len() != 2 {
                return Err(PartsError::NotTwo {
                    name,
                    found: values.len(),
                });
            }
        }
        let n = c.len();
        if n == 0 {
            return Err(PartsError::NoHidden);
        }
        if (rows, cols) != (2, n) || w.len() != rows * cols {
            return Err(if rows == n && cols == 2 {
                PartsError::Transposed {
                    rows,
                    cols,
                    cols_expected: n,
                }
            } else {
                PartsError::Shape {
                    rows,
                    cols,
                    hidden: n,
                }
            });
        }
        for (name, values) in [("b", b), ("sigma", sigma), ("W", w), ("c", c)] {
            if let Some(&found) = values.iter().find(|v| !v.is_finite()) {
                return Err(PartsError::NotFinite { name, found });
            }
        }
        if let Some(&found) = sigma.iter().find(|s| **s <= 0.0) {
            return Err(PartsError::Sigma { found });
        }
        let w = Mat::from_fn(2, n, |i, j| w[i * n + j]);
        Ok(Grbm::new([b[0], b[1]], [sigma[0], sigma[1]], w, c.to_vec()))
    }

    /// [`Grbm::from_parts`] with log standard deviations, as a sweep stores them (`models.parquet`'s
    /// `log_sigma1`, `log_sigma2`): the trained model bit for bit, where sigma = exp(log_sigma)
    /// read back through its log could differ in the last bit.
    pub fn from_log_sigma_parts(
        b: &[f64],
        log_sigma: &[f64],
        w: &[f64],
        shape: (usize, usize),
        c: &[f64],
    ) -> Result<Grbm, PartsError> {
        if let Some(&found) = log_sigma.iter().find(|v| !v.is_finite()) {
            return Err(PartsError::NotFinite {
                name: "log_sigma",
                found,
            });
        }
        let sigma: Vec<f64> = log_sigma.iter().map(|v| libm::exp(*v)).collect();
        let mut model = Grbm::from_parts(b, &sigma, w, shape, c)?;
        model.log_sigma = [log_sigma[0], log_sigma[1]];
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: [f64; 6] = [1.0, -0.5, 0.25, 0.3, 0.7, -1.2];

    /// W is read row by row: row i is visible unit i; the checks name what they found.
    #[test]
    fn parts_make_the_model_and_wrong_shapes_are_refused_with_what_was_found() {
        let m = Grbm::from_parts(&[0.1, -0.2], &[0.5, 2.0], &W, (2, 3), &[0.0, 1.0, -1.0]).unwrap();
        assert_eq!((m.w[(0, 2)], m.w[(1, 0)]), (0.25, 0.3));
        assert_eq!(m.sigma(), [0.5, 2.0]);

        let c = [0.0, 1.0, -1.0];
        let e = Grbm::from_parts(&[0.1, -0.2], &[0.5, 2.0], &W, (3, 2), &c).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`W` is 3 x 2 and `c` has 3 values: W is n x 2 where 2 x n was expected (row i = \
             visible unit i; transposed? pass W.T)"
        );
        let e = Grbm::from_parts(&[0.1, -0.2], &[0.5, 2.0], &W, (2, 3), &c[..2]).unwrap_err();
        assert!(matches!(e, PartsError::Shape { hidden: 2, .. }), "{e}");
        let e = Grbm::from_parts(&[0.1, -0.2], &[-0.5, 2.0], &W, (2, 3), &c).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("`sigma` must hold standard deviations > 0; found -0.5")
        );
        let e = Grbm::from_parts(&[0.1], &[0.5, 2.0], &W, (2, 3), &c).unwrap_err();
        assert_eq!(
            e,
            PartsError::NotTwo {
                name: "b",
                found: 1
            }
        );
        let e = Grbm::from_parts(&[0.1, f64::NAN], &[0.5, 2.0], &W, (2, 3), &c).unwrap_err();
        assert!(matches!(e, PartsError::NotFinite { name: "b", .. }), "{e}");
    }

    /// The log form keeps log sigma as given: the model a sweep stored, bit for bit.
    #[test]
    fn log_sigma_parts_keep_log_sigma_exactly() {
        let log_sigma = [0.1f64, -0.7];
        let m = Grbm::from_log_sigma_parts(&[0.0, 0.0], &log_sigma, &W, (2, 3), &[0.0; 3]).unwrap();
        assert_eq!(m.log_sigma, log_sigma);
    }
}
