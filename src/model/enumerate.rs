//! The enumeration of all 2^n hidden states (Gray-code walk over the mixture's components): exact log Z, the exact expected gradient of F and the exact moments of p(x), up to [`MAX_ENUMERATION_HIDDEN`].

use super::{Gradient, Grbm};
use crate::vecmath::log_sum_exp;

/// Largest hidden size for which `log Z` is computed by enumerating all `2^n` hidden states.
pub const MAX_ENUMERATION_HIDDEN: usize = 20;

impl Grbm {
    /// Every hidden state with its component's log weight (up to the shared normalizer) and
    /// mean `b + W z`, in binary counting order (bit j of the index is z_j).
    ///
    /// The states are visited in Gray-code order, where each differs from the one before in a
    /// single unit, so `c.z` and `W z` change by one unit's terms: O(1) per state instead of
    /// O(n). The running sums are recomputed from scratch every 1024 states, which bounds their
    /// rounding drift.
    fn components(&self) -> Vec<(f64, [f64; 2])> {
        const RESYNC: usize = 1024;
        let n = self.n_hidden();
        assert!(
            n <= MAX_ENUMERATION_HIDDEN,
            "enumeration of 2^{n} hidden states is not supported"
        );
        let sigma = self.sigma();
        let half_iv = [0.5 / (sigma[0] * sigma[0]), 0.5 / (sigma[1] * sigma[1])];
        let normalizer: f64 = (0..2)
            .map(|i| (sigma[i] * (2.0 * std::f64::consts::PI).sqrt()).ln())
            .sum();
        let mut out = vec![(0.0, [0.0; 2]); 1 << n];
        let (mut cz, mut wz) = (0.0, [0.0; 2]);
        for t in 0..1usize << n {
            let state = t ^ (t >> 1);
            if t % RESYNC == 0 {
                let on = (0..n).filter(|j| state >> j & 1 == 1);
                cz = on.clone().map(|j| self.c[j]).sum();
                wz = [0, 1].map(|i| on.clone().map(|j| self.w[(i, j)]).sum());
            } else {
                let j = t.trailing_zeros() as usize;
                let sign = if state >> j & 1 == 1 { 1.0 } else { -1.0 };
                cz += sign * self.c[j];
                wz[0] += sign * self.w[(0, j)];
                wz[1] += sign * self.w[(1, j)];
            }
            let log_weight = cz
                + (wz[0] * wz[0] + 2.0 * wz[0] * self.b[0]) * half_iv[0]
                + (wz[1] * wz[1] + 2.0 * wz[1] * self.b[1]) * half_iv[1]
                + normalizer;
            out[state] = (log_weight, [self.b[0] + wz[0], self.b[1] + wz[1]]);
        }
        out
    }

    /// [`Grbm::components`] and their log normalizer, log Z.
    fn mixture(&self) -> (Vec<(f64, [f64; 2])>, f64) {
        let components = self.components();
        let log_z = log_sum_exp(&components.iter().map(|(w, _)| *w).collect::<Vec<_>>());
        (components, log_z)
    }

    /// The exact model expectation of the gradient of F, E_p(x)[dF/dtheta] (= -d log Z / dtheta),
    /// into `grad`, by enumerating the 2^n hidden states: under p(x, z) the visible units are
    /// Gaussian given z, so every moment the gradient needs is a sum over the mixture's components.
    /// This is the negative phase of `sampler = "exact"`; panics above [`MAX_ENUMERATION_HIDDEN`].
    pub fn expected_free_energy_grad(&self, grad: &mut Gradient) {
        let n = self.n_hidden();
        let (components, log_z) = self.mixture();
        // E[z_j], E[(W z)_i], E[(W z)_i^2] and E[z_j (W z)_i] under p(z).
        let mut z_mean = vec![0.0; n];
        let mut wz_mean = [0.0; 2];
        let mut wz_square = [0.0; 2];
        let mut z_wz = [vec![0.0; n], vec![0.0; n]];
        for (state, (log_weight, mean)) in components.iter().enumerate() {
            let p = (log_weight - log_z).exp();
            let wz = [mean[0] - self.b[0], mean[1] - self.b[1]];
            for i in 0..2 {
                wz_mean[i] += p * wz[i];
                wz_square[i] += p * wz[i] * wz[i];
            }
            for j in (0..n).filter(|j| state >> j & 1 == 1) {
                z_mean[j] += p;
                z_wz[0][j] += p * wz[0];
                z_wz[1][j] += p * wz[1];
            }
        }
        // dE/db_i = -(x_i - b_i)/v_i, dE/dln(sigma_i) = (-(x_i - b_i)^2 + 2 x_i (Wz)_i)/v_i,
        // dE/dW_ij = -x_i z_j / v_i and dE/dc_j = -z_j, with x | z ~ N(b + W z, v).
        let iv = self.inv_var();
        let v = [1.0 / iv[0], 1.0 / iv[1]];
        for i in 0..2 {
            grad.b[i] = -wz_mean[i] * iv[i];
            grad.log_sigma[i] = (wz_square[i] + 2.0 * self.b[i] * wz_mean[i] - v[i]) * iv[i];
            for j in 0..n {
                grad.w[(i, j)] = -(self.b[i] * z_mean[j] + z_wz[i][j]) * iv[i];
            }
        }
        for j in 0..n {
            grad.c[j] = -z_mean[j];
        }
    }

    /// Exact log Z by enumerating all 2^n hidden states; `None` above [`MAX_ENUMERATION_HIDDEN`].
    pub fn log_z_exact(&self) -> Option<f64> {
        if self.n_hidden() > MAX_ENUMERATION_HIDDEN {
            return None;
        }
        Some(self.mixture().1)
    }

    /// Exact mean and covariance of the model's marginal p(x), from the mixture of 2^n Gaussians.
    pub fn exact_moments(&self) -> ([f64; 2], [[f64; 2]; 2]) {
        let (components, log_z) = self.mixture();
        let sigma = self.sigma();
        let mut mean = [0.0; 2];
        let mut second = [[0.0; 2]; 2];
        for (log_weight, mu) in &components {
            let p = (log_weight - log_z).exp();
            for a in 0..2 {
                mean[a] += p * mu[a];
                for b in 0..2 {
                    second[a][b] += p * mu[a] * mu[b];
                }
            }
        }
        let mut cov = [[0.0; 2]; 2];
        for a in 0..2 {
            for b in 0..2 {
                cov[a][b] = second[a][b] - mean[a] * mean[b];
            }
            cov[a][a] += sigma[a] * sigma[a];
        }
        (mean, cov)
    }
}
