//! The enumeration of all 2^n hidden states (the mixture's components, built unit by unit in vectorized passes): exact log Z, the exact expected gradient of F and the exact moments of p(x), up to [`MAX_ENUMERATION_HIDDEN`].

use super::{Gradient, Grbm};
use crate::vecmath::{dot, exp_shifted, max, scale, sum, vectorized};

/// Largest hidden size for which `log Z` is computed by enumerating all `2^n` hidden states.
pub const MAX_ENUMERATION_HIDDEN: usize = 20;

/// The model's marginal p(x) as its 2^n Gaussian components, one per hidden state in binary
/// counting order (bit j of the index is z_j), with the buffers of the sums over them. Kept
/// between training steps so that the arrays are allocated once per run, not once per step.
#[derive(Debug, Default)]
pub struct Mixture {
    /// `ln w(z)`, so that p(z) = w(z) / Z.
    log_weight: Vec<f64>,
    /// `(W z)_i` for i = 0, 1: component z has mean `b + W z`.
    wz: [Vec<f64>; 2],
    /// log Z, once [`Mixture::weigh`] has run.
    log_z: f64,
    /// p(z), then partial sums of it.
    p: Vec<f64>,
    /// p(z) (W z)_i, then partial sums of it.
    p_wz: [Vec<f64>; 2],
}

impl Mixture {
    /// Empty buffers, sized by the first model they enumerate.
    pub fn new() -> Self {
        Self::default()
    }

    /// log Z and p(z) from the log weights: one exponential per state, whose sum gives log Z and
    /// normalizes them.
    fn weigh(&mut self) {
        self.p.resize(self.log_weight.len(), 0.0);
        let top = max(&self.log_weight);
        exp_shifted(&self.log_weight, top, &mut self.p);
        // Non-finite log weights (a diverged model) leave log Z non-finite.
        let total = sum(&self.p);
        self.log_z = top + libm::log(total);
        scale(&mut self.p, 1.0 / total);
    }

    /// p(z) (W z)_i, after [`Mixture::weigh`]: what the gradient and the moments sum.
    fn weigh_means(&mut self) {
        for i in 0..2 {
            self.p_wz[i].resize(self.p.len(), 0.0);
            multiply(&self.p, &self.wz[i], &mut self.p_wz[i]);
        }
    }
}

vectorized! {
    /// `ln w(z) = c.z + sum_i ((W z)_i^2 + 2 b_i (W z)_i) / (2 sigma_i^2) + ln(2 pi sigma_1 sigma_2)`,
    /// written over `cz` (which holds c.z).
    fn log_weights(cz: &mut [f64], wz0: &[f64], wz1: &[f64], b: [f64; 2], half_iv: [f64; 2], normalizer: f64) {
        for ((w, x), y) in cz.iter_mut().zip(wz0).zip(wz1) {
            *w = *w + (x * x + 2.0 * x * b[0]) * half_iv[0] + (y * y + 2.0 * y * b[1]) * half_iv[1] + normalizer;
        }
    }
}

vectorized! {
    /// `values` holds a sum over the states below `len / 2`; the upper half gets the same sums
    /// with one more unit on, which adds `term`.
    fn add_unit(values: &mut [f64], term: f64) {
        let (off, on) = values.split_at_mut(values.len() / 2);
        for (on, off) in on.iter_mut().zip(off.iter()) {
            *on = off + term;
        }
    }
}

vectorized! {
    /// Adds the upper half of `values` onto the lower half: sums over the states with the top
    /// unit on and off, as a sum over the other units' states.
    fn fold(values: &mut [f64]) {
        let (low, high) = values.split_at_mut(values.len() / 2);
        for (low, high) in low.iter_mut().zip(high.iter()) {
            *low += high;
        }
    }
}

vectorized! {
    /// `out[s] = a[s] b[s]`.
    fn multiply(a: &[f64], b: &[f64], out: &mut [f64]) {
        for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
            *o = a * b;
        }
    }
}

impl Grbm {
    /// Every hidden state's component into `m`, built unit by unit: the states with units below j+1 are
    /// those with units below j, then the same with unit j on. So each state's `c.z` and `W z`
    /// add its units in ascending order, the same sums whatever n (no running drift), and every
    /// pass is a contiguous loop the compiler vectorizes.
    fn mixture(&self, m: &mut Mixture) {
        let n = self.n_hidden();
        assert!(
            n <= MAX_ENUMERATION_HIDDEN,
            "enumeration of 2^{n} hidden states is not supported"
        );
        let size = 1usize << n;
        let [wz0, wz1] = &mut m.wz;
        for v in [&mut m.log_weight, wz0, wz1] {
            v.resize(size, 0.0);
            v[0] = 0.0;
        }
        for j in 0..n {
            let span = 2 << j;
            add_unit(&mut m.log_weight[..span], self.c[j]);
            add_unit(&mut m.wz[0][..span], self.w[(0, j)]);
            add_unit(&mut m.wz[1][..span], self.w[(1, j)]);
        }
        let sigma = self.sigma();
        let half_iv = [0.5 / (sigma[0] * sigma[0]), 0.5 / (sigma[1] * sigma[1])];
        let normalizer: f64 = (0..2)
            .map(|i| libm::log(sigma[i] * (2.0 * std::f64::consts::PI).sqrt()))
            .sum();
        let [wz0, wz1] = &m.wz;
        log_weights(&mut m.log_weight, wz0, wz1, self.b, half_iv, normalizer);
    }

    /// The exact model expectation of the gradient of F, E_p(x)[dF/dtheta] (= -d log Z / dtheta),
    /// into `grad`, by enumerating the 2^n hidden states: under p(x, z) the visible units are
    /// Gaussian given z, so every moment the gradient needs is a sum over the mixture's components.
    /// This is the negative phase of `sampler = "exact"`; panics above [`MAX_ENUMERATION_HIDDEN`].
    pub fn expected_free_energy_grad(&self, grad: &mut Gradient) {
        self.expected_free_energy_grad_in(grad, &mut Mixture::new());
    }

    /// [`Grbm::expected_free_energy_grad`] with the state arrays in `m`, reused between calls.
    pub fn expected_free_energy_grad_in(&self, grad: &mut Gradient, m: &mut Mixture) {
        let n = self.n_hidden();
        self.mixture(m);
        m.weigh();
        m.weigh_means();
        let Mixture { wz, p, p_wz, .. } = m;
        // E[(W z)_i] and E[(W z)_i^2].
        let wz_mean = [sum(&p_wz[0]), sum(&p_wz[1])];
        let wz_square = [dot(&p_wz[0], &wz[0]), dot(&p_wz[1], &wz[1])];
        // E[z_j] and E[z_j (W z)_i]: the states with the top unit on are the upper half; folded
        // onto the lower half they leave the same sums over the remaining units.
        let mut z_mean = vec![0.0; n];
        let mut z_wz = [vec![0.0; n], vec![0.0; n]];
        for j in (0..n).rev() {
            let (half, span) = (1 << j, 2 << j);
            z_mean[j] = sum(&p[half..span]);
            z_wz[0][j] = sum(&p_wz[0][half..span]);
            z_wz[1][j] = sum(&p_wz[1][half..span]);
            fold(&mut p[..span]);
            fold(&mut p_wz[0][..span]);
            fold(&mut p_wz[1][..span]);
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
        let mut m = Mixture::new();
        self.mixture(&mut m);
        m.weigh();
        Some(m.log_z)
    }

    /// p(z) of every hidden state, in binary counting order (bit j of the index is z_j): the
    /// mixture weights that exact samples of the model draw their hidden state from. `None`
    /// above [`MAX_ENUMERATION_HIDDEN`].
    pub fn hidden_state_probabilities(&self) -> Option<Vec<f64>> {
        if self.n_hidden() > MAX_ENUMERATION_HIDDEN {
            return None;
        }
        let mut m = Mixture::new();
        self.mixture(&mut m);
        m.weigh();
        Some(m.p)
    }

    /// Exact mean and covariance of the model's marginal p(x), from the mixture of 2^n Gaussians.
    pub fn exact_moments(&self) -> ([f64; 2], [[f64; 2]; 2]) {
        let mut m = Mixture::new();
        self.mixture(&mut m);
        m.weigh();
        m.weigh_means();
        let Mixture { wz, p_wz, .. } = &m;
        // Moments of W z; the mean shifts by b, the covariance gains sigma^2 on its diagonal.
        let wz_mean = [sum(&p_wz[0]), sum(&p_wz[1])];
        let sigma = self.sigma();
        let mut cov = [[0.0; 2]; 2];
        for a in 0..2 {
            for b in 0..2 {
                cov[a][b] = dot(&p_wz[a], &wz[b]) - wz_mean[a] * wz_mean[b];
            }
            cov[a][a] += sigma[a] * sigma[a];
        }
        ([self.b[0] + wz_mean[0], self.b[1] + wz_mean[1]], cov)
    }
}
