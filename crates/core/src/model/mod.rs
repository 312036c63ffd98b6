//! The Gaussian-Bernoulli RBM: its parameters, the shape of their gradient and the math at one point (energy, free energy); the submodules add the batched kernels, Gibbs sampling, the enumeration of the hidden states and unit conversion.
//!
//! Data flow inside: `batch` (conditionals, free energies and the gradient of F over a
//! minibatch) -> `gibbs` (Gibbs steps and sampling, on top of the batch kernels);
//! `langevin` (Langevin and Gibbs-Langevin moves with their Metropolis-Hastings ratios, per chain);
//! `enumerate` (the 2^n hidden states: exact log Z, the exact expected gradient, the exact
//! moments), `units` (standardized -> data units) and `parts` (a checked model from plain
//! arrays) work on the parameters alone.
//! Nothing here is parallel, so the runner's rayon pool is the only parallelism.

use faer::Mat;

mod batch;
mod enumerate;
mod gibbs;
mod langevin;
mod parts;
mod units;

pub use batch::Workspace;
pub use enumerate::{MAX_ENUMERATION_HIDDEN, Mixture};
pub use langevin::{
    GibbsLangevinChains, LangevinChains, LangevinComposite, langevin_log_q, step_sizes,
};
pub use parts::PartsError;

/// A GRBM with 2 visible units. `log_sigma` is the trained parameter; sigma = exp(log_sigma).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "StoredParams", try_from = "StoredParams")]
pub struct Grbm {
    pub b: [f64; 2],
    pub log_sigma: [f64; 2],
    /// `2 x n`: row i holds the weights of visible unit i.
    pub w: Mat<f64>,
    pub c: Vec<f64>,
}

/// The gradient of F (or of any loss) with respect to every parameter group, same shapes as [`Grbm`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "StoredParams", try_from = "StoredParams")]
pub struct Gradient {
    pub b: [f64; 2],
    pub log_sigma: [f64; 2],
    pub w: Mat<f64>,
    pub c: Vec<f64>,
}

/// The parameters (or a gradient) as stored in records and rung states: W by rows, sigma as its
/// log. JSON numbers round-trip f64 exactly, so a stored model is the trained one, bit for bit.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredParams {
    b: [f64; 2],
    log_sigma: [f64; 2],
    w: [Vec<f64>; 2],
    c: Vec<f64>,
}

/// The conversions between [`StoredParams`] and the two types of the same shape.
macro_rules! stored_as_params {
    ($ty:ident) => {
        impl From<$ty> for StoredParams {
            fn from(p: $ty) -> Self {
                StoredParams {
                    b: p.b,
                    log_sigma: p.log_sigma,
                    w: [0, 1].map(|i| (0..p.c.len()).map(|j| p.w[(i, j)]).collect()),
                    c: p.c,
                }
            }
        }

        impl TryFrom<StoredParams> for $ty {
            type Error = String;

            fn try_from(p: StoredParams) -> Result<Self, String> {
                if p.w.iter().any(|row| row.len() != p.c.len()) {
                    return Err("every row of w must hold one weight per hidden unit".into());
                }
                Ok($ty {
                    b: p.b,
                    log_sigma: p.log_sigma,
                    w: Mat::from_fn(2, p.c.len(), |i, j| p.w[i][j]),
                    c: p.c,
                })
            }
        }
    };
}

stored_as_params!(Grbm);
stored_as_params!(Gradient);

impl Gradient {
    pub fn zeros(n_hidden: usize) -> Self {
        Gradient {
            b: [0.0; 2],
            log_sigma: [0.0; 2],
            w: Mat::zeros(2, n_hidden),
            c: vec![0.0; n_hidden],
        }
    }

    /// `self += factor * other`, group by group.
    pub fn add_scaled(&mut self, other: &Gradient, factor: f64) {
        for i in 0..2 {
            self.b[i] += factor * other.b[i];
            self.log_sigma[i] += factor * other.log_sigma[i];
        }
        for j in 0..self.c.len() {
            self.c[j] += factor * other.c[j];
            for i in 0..2 {
                self.w[(i, j)] += factor * other.w[(i, j)];
            }
        }
    }

    /// `self *= factor`.
    pub fn scale(&mut self, factor: f64) {
        for i in 0..2 {
            self.b[i] *= factor;
            self.log_sigma[i] *= factor;
        }
        for j in 0..self.c.len() {
            self.c[j] *= factor;
            for i in 0..2 {
                self.w[(i, j)] *= factor;
            }
        }
    }

    /// Euclidean norm over all parameter groups.
    pub fn norm(&self) -> f64 {
        let mut sum = 0.0;
        for i in 0..2 {
            sum += self.b[i] * self.b[i] + self.log_sigma[i] * self.log_sigma[i];
        }
        for j in 0..self.c.len() {
            sum += self.c[j] * self.c[j] + self.w[(0, j)].powi(2) + self.w[(1, j)].powi(2);
        }
        sum.sqrt()
    }
}

/// `ln(1 + e^a)` without overflow for large `a` or loss of precision for very negative `a`.
#[inline]
pub fn softplus(a: f64) -> f64 {
    a.max(0.0) + libm::log1p(libm::exp(-a.abs()))
}

impl Grbm {
    /// A model with the given parameters; `sigma` is given directly (not as its log).
    pub fn new(b: [f64; 2], sigma: [f64; 2], w: Mat<f64>, c: Vec<f64>) -> Self {
        assert_eq!(w.nrows(), 2, "W must have one row per visible unit");
        assert_eq!(w.ncols(), c.len(), "W and c must agree on the hidden size");
        Grbm {
            b,
            log_sigma: [libm::log(sigma[0]), libm::log(sigma[1])],
            w,
            c,
        }
    }

    pub fn n_hidden(&self) -> usize {
        self.c.len()
    }

    pub fn sigma(&self) -> [f64; 2] {
        [libm::exp(self.log_sigma[0]), libm::exp(self.log_sigma[1])]
    }

    fn inv_var(&self) -> [f64; 2] {
        let s = self.sigma();
        [1.0 / (s[0] * s[0]), 1.0 / (s[1] * s[1])]
    }

    /// True when every parameter is a finite number.
    pub fn is_finite(&self) -> bool {
        self.b
            .iter()
            .chain(&self.log_sigma)
            .chain(&self.c)
            .all(|v| v.is_finite())
            && (0..self.n_hidden())
                .all(|j| self.w[(0, j)].is_finite() && self.w[(1, j)].is_finite())
    }

    /// Energy e(x, z) of one joint state.
    pub fn energy(&self, x: [f64; 2], z: &[f64]) -> f64 {
        let iv = self.inv_var();
        let mut e = 0.0;
        for i in 0..2 {
            e += (x[i] - self.b[i]).powi(2) * iv[i] / 2.0;
            for (j, zj) in z.iter().enumerate() {
                e -= x[i] * self.w[(i, j)] * zj * iv[i];
            }
        }
        e - self.c.iter().zip(z).map(|(c, z)| c * z).sum::<f64>()
    }

    /// Hidden pre-activation weights `W_ij / sigma_i^2`, so that `pre_j = c_j + sum_i x_i a[i][j]`.
    pub fn scaled_weights(&self) -> [Vec<f64>; 2] {
        let iv = self.inv_var();
        let n = self.n_hidden();
        [
            (0..n).map(|j| self.w[(0, j)] * iv[0]).collect(),
            (0..n).map(|j| self.w[(1, j)] * iv[1]).collect(),
        ]
    }

    /// Free energy F(x) of one point.
    pub fn free_energy(&self, x: [f64; 2]) -> f64 {
        let iv = self.inv_var();
        let quadratic =
            (x[0] - self.b[0]).powi(2) * iv[0] / 2.0 + (x[1] - self.b[1]).powi(2) * iv[1] / 2.0;
        let mut hidden_term = 0.0;
        for j in 0..self.n_hidden() {
            hidden_term +=
                softplus(self.c[j] + x[0] * self.w[(0, j)] * iv[0] + x[1] * self.w[(1, j)] * iv[1]);
        }
        quadratic - hidden_term
    }
}
