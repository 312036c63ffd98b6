//! The Gaussian-Bernoulli RBM: parameters, free energy, conditionals, gradients of F, batched Gibbs sampling, the exact partition function and unit conversion.
//!
//! Batches are faer matrices with one point per row: visible batches are
//! `B x 2`, hidden batches `B x n`, column-major. With only two visible units
//! every product has an inner or outer dimension of 2, so the products are
//! loops over contiguous columns, run by the vectorized kernels of
//! [`crate::vecmath`]: one Gibbs step at n = 64 and a batch of 100 takes 9.6 us
//! (`cargo bench -p grbm-sweep-criterion -- gibbs_step`), where faer's general matmul
//! took 1.11 ms. Nothing here is parallel, so the runner's rayon pool is the
//! only parallelism.

use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Mat, MatMut, MatRef};

fn col<'a>(m: MatRef<'a, f64>, j: usize) -> &'a [f64] {
    m.col(j)
        .try_as_col_major()
        .expect("batch matrices are column-major")
        .as_slice()
}

fn col_mut<'a>(m: MatMut<'a, f64>, j: usize) -> &'a mut [f64] {
    m.col_mut(j)
        .try_as_col_major_mut()
        .expect("batch matrices are column-major")
        .as_slice_mut()
}

/// `out[:, i] = base[i] + sum_j z[:, j] w[(i, j)]` for both visible axes: `b + W z` per row of `z`.
fn weighted_hidden_sum(w: &Mat<f64>, base: [f64; 2], z: MatRef<'_, f64>, out: MatMut<'_, f64>) {
    let (out1, out2) = columns_mut(out);
    out1.fill(base[0]);
    out2.fill(base[1]);
    for j in 0..z.ncols() {
        vecmath::add_weighted_column(col(z, j), w[(0, j)], w[(1, j)], out1, out2);
    }
}
use crate::rng::GibbsRng;
use crate::vecmath::{self, log_sum_exp};

/// Largest hidden size for which `log Z` is computed by enumerating all `2^n` hidden states.
pub const MAX_ENUMERATION_HIDDEN: usize = 20;

/// A GRBM with 2 visible units. `log_sigma` is the trained parameter; sigma = exp(log_sigma).
#[derive(Debug, Clone, PartialEq)]
pub struct Grbm {
    pub b: [f64; 2],
    pub log_sigma: [f64; 2],
    /// `2 x n`: row i holds the weights of visible unit i.
    pub w: Mat<f64>,
    pub c: Vec<f64>,
}

/// The gradient of F (or of any loss) with respect to every parameter group, same shapes as [`Grbm`].
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    pub b: [f64; 2],
    pub log_sigma: [f64; 2],
    pub w: Mat<f64>,
    pub c: Vec<f64>,
}

impl Gradient {
    pub fn zeros(n_hidden: usize) -> Self {
        Gradient {
            b: [0.0; 2],
            log_sigma: [0.0; 2],
            w: Mat::zeros(2, n_hidden),
            c: vec![0.0; n_hidden],
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
    a.max(0.0) + (-a.abs()).exp().ln_1p()
}

/// Scratch matrices for one batch size, reused across steps so the inner loop does not allocate.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// `B x n`: p(z|x) of the last batch passed to [`Grbm::hidden_probs`] or
    /// [`Grbm::mean_free_energy_grad`].
    pub hidden_probs: Mat<f64>,
    /// `B x 2`: scaled visible values x / sigma^2.
    pub visible_tmp: Mat<f64>,
    /// `B x 2`: the means `b + W z` of a Gibbs step, before the noise.
    pub visible_means: Mat<f64>,
    /// `B x n` uniform draws for the hidden units, column-major like `hidden_probs`.
    pub uniforms: Vec<f64>,
}

impl Workspace {
    /// Scratch for batches of up to `batch_size` rows, rounded up to whole vector blocks: the
    /// training kernels run on every row of the last block (the rows past the batch hold
    /// leftovers and are never read back), since a partial block costs about a third of a
    /// 100-row column.
    pub fn new(batch_size: usize, n_hidden: usize) -> Self {
        let rows = padded_rows(batch_size);
        Workspace {
            hidden_probs: Mat::zeros(rows, n_hidden),
            visible_tmp: Mat::zeros(rows, 2),
            visible_means: Mat::zeros(rows, 2),
            uniforms: vec![0.0; rows * n_hidden],
        }
    }
}

/// `rows` rounded up to a whole number of vector blocks.
fn padded_rows(rows: usize) -> usize {
    rows.div_ceil(vecmath::W) * vecmath::W
}

/// The two columns of a `B x 2` matrix as slices.
fn columns_mut(m: MatMut<'_, f64>) -> (&mut [f64], &mut [f64]) {
    let (first, second) = m.split_at_col_mut(1);
    (col_mut(first, 0), col_mut(second, 0))
}

impl Grbm {
    /// A model with the given parameters; `sigma` is given directly (not as its log).
    pub fn new(b: [f64; 2], sigma: [f64; 2], w: Mat<f64>, c: Vec<f64>) -> Self {
        assert_eq!(w.nrows(), 2, "W must have one row per visible unit");
        assert_eq!(w.ncols(), c.len(), "W and c must agree on the hidden size");
        Grbm {
            b,
            log_sigma: [sigma[0].ln(), sigma[1].ln()],
            w,
            c,
        }
    }

    pub fn n_hidden(&self) -> usize {
        self.c.len()
    }

    pub fn sigma(&self) -> [f64; 2] {
        [self.log_sigma[0].exp(), self.log_sigma[1].exp()]
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

    /// The sum of F(x) over `points`: the same value as summing [`Grbm::free_energy`], computed
    /// a block of points at a time with vectorized exponentials and one logarithm per point.
    pub fn sum_free_energy(&self, points: &[[f64; 2]]) -> f64 {
        const CHUNK: usize = 1024;
        // Products of at most 2^512 stay far from f64's limit of 2^1024.
        const UNITS_PER_LOG: usize = 512;
        let iv = self.inv_var();
        let mut scaled = [vec![0.0; CHUNK], vec![0.0; CHUNK]];
        let (mut positive, mut product) = (vec![0.0; CHUNK], vec![0.0; CHUNK]);
        let mut total = 0.0;
        for chunk in points.chunks(CHUNK) {
            let rows = chunk.len();
            for (r, x) in chunk.iter().enumerate() {
                scaled[0][r] = x[0] * iv[0];
                scaled[1][r] = x[1] * iv[1];
            }
            positive[..rows].fill(0.0);
            for first in (0..self.n_hidden()).step_by(UNITS_PER_LOG) {
                product[..rows].fill(1.0);
                for j in first..(first + UNITS_PER_LOG).min(self.n_hidden()) {
                    vecmath::add_softplus_column(
                        &scaled[0][..rows],
                        &scaled[1][..rows],
                        self.c[j],
                        self.w[(0, j)],
                        self.w[(1, j)],
                        &mut positive[..rows],
                        &mut product[..rows],
                    );
                }
                for r in 0..rows {
                    positive[r] += product[r].ln();
                }
            }
            for (r, x) in chunk.iter().enumerate() {
                let quadratic = (x[0] - self.b[0]).powi(2) * iv[0] / 2.0
                    + (x[1] - self.b[1]).powi(2) * iv[1] / 2.0;
                total += quadratic - positive[r];
            }
        }
        total
    }

    /// p(z_j = 1 | x) for every row of `x` (`B x 2`) into `out` (`B x n`).
    pub fn hidden_probs(
        &self,
        x: MatRef<'_, f64>,
        mut scaled_x: MatMut<'_, f64>,
        mut out: MatMut<'_, f64>,
    ) {
        self.scale_visible(x, scaled_x.rb_mut());
        let (x1, x2) = (col(scaled_x.rb(), 0), col(scaled_x.rb(), 1));
        for j in 0..out.ncols() {
            let (c, w1, w2) = (self.c[j], self.w[(0, j)], self.w[(1, j)]);
            vecmath::sigmoid_column(x1, x2, c, w1, w2, col_mut(out.rb_mut(), j));
        }
    }

    /// `x_i / sigma_i^2` for every row of `x`: the hidden units' pre-activation is
    /// `c_j + sum_i (x_i / sigma_i^2) W_ij`.
    fn scale_visible(&self, x: MatRef<'_, f64>, mut scaled_x: MatMut<'_, f64>) {
        let iv = self.inv_var();
        for i in 0..2 {
            for (dst, src) in col_mut(scaled_x.rb_mut(), i).iter_mut().zip(col(x, i)) {
                *dst = src * iv[i];
            }
        }
    }

    /// Means of p(x | z), `b + W z`, for every row of `z` (`B x n`) into `out` (`B x 2`).
    pub fn visible_means(&self, z: MatRef<'_, f64>, out: MatMut<'_, f64>) {
        weighted_hidden_sum(&self.w, self.b, z, out);
    }

    /// x ~ p(x | z) for every row of `z` into `out`.
    pub fn sample_visible(&self, z: MatRef<'_, f64>, mut out: MatMut<'_, f64>, rng: &mut GibbsRng) {
        self.visible_means(z, out.rb_mut());
        self.add_visible_noise(out, rng);
    }

    /// Adds sigma_i N(0, 1) to every entry: turns the means of p(x | z) into a draw.
    fn add_visible_noise(&self, out: MatMut<'_, f64>, rng: &mut GibbsRng) {
        let sigma = self.sigma();
        let rows = out.nrows();
        let noise = rng.normals(2 * rows);
        let (out1, out2) = columns_mut(out);
        // Plain products: outside the vector kernels `mul_add` would be a library call.
        for (o, z) in out1.iter_mut().zip(&noise[..rows]) {
            *o += sigma[0] * z;
        }
        for (o, z) in out2.iter_mut().zip(&noise[rows..]) {
            *o += sigma[1] * z;
        }
    }

    /// `k` full Gibbs steps (z ~ p(z|x), then x ~ p(x|z)) applied in place to every row of `x`.
    /// The hidden draws go straight into the means `b + W z` and are not kept.
    pub fn gibbs_steps(
        &self,
        mut x: MatMut<'_, f64>,
        k: usize,
        ws: &mut Workspace,
        rng: &mut GibbsRng,
    ) {
        let (rows, padded) = (x.nrows(), padded_rows(x.nrows()));
        for _ in 0..k {
            self.scale_visible(x.rb(), ws.visible_tmp.as_mut().subrows_mut(0, rows));
            let scaled_x = ws.visible_tmp.as_ref().subrows(0, padded);
            let (x1, x2) = (col(scaled_x, 0), col(scaled_x, 1));
            let (uniforms, means) = (&mut ws.uniforms, &mut ws.visible_means);
            self.draw_visible(x.rb_mut(), uniforms, means, rng, |j, u, mean1, mean2| {
                let (c, w1, w2) = (self.c[j], self.w[(0, j)], self.w[(1, j)]);
                vecmath::bernoulli_column(x1, x2, c, w1, w2, u, mean1, mean2);
            });
        }
    }

    /// One Gibbs step for chains whose p(z|x) is already in the first `x.nrows()` rows of
    /// `ws.hidden_probs` (chains started at the batch of the positive phase): z ~ p(z|x), then
    /// `x` is overwritten with x ~ p(x|z).
    pub fn gibbs_step_from_probs(
        &self,
        x: MatMut<'_, f64>,
        ws: &mut Workspace,
        rng: &mut GibbsRng,
    ) {
        let probs = ws.hidden_probs.as_ref().subrows(0, padded_rows(x.nrows()));
        let (uniforms, means) = (&mut ws.uniforms, &mut ws.visible_means);
        self.draw_visible(x, uniforms, means, rng, |j, u, mean1, mean2| {
            let (w1, w2) = (self.w[(0, j)], self.w[(1, j)]);
            vecmath::bernoulli_from_probs(col(probs, j), u, w1, w2, mean1, mean2);
        });
    }

    /// The second half of a Gibbs step: `x` becomes `b + W z + sigma N(0, 1)` per row, where
    /// `draw_unit(j, u, mean1, mean2)` draws hidden unit j for every (padded) row from the
    /// uniforms `u` and adds `W_j z_j` to the means.
    fn draw_visible(
        &self,
        mut x: MatMut<'_, f64>,
        uniforms: &mut [f64],
        means: &mut Mat<f64>,
        rng: &mut GibbsRng,
        draw_unit: impl Fn(usize, &[f64], &mut [f64], &mut [f64]),
    ) {
        let (rows, padded) = (x.nrows(), padded_rows(x.nrows()));
        let uniforms = &mut uniforms[..padded * self.n_hidden()];
        rng.uniform.fill(uniforms);
        let (mean1, mean2) = columns_mut(means.as_mut().subrows_mut(0, padded));
        mean1.fill(self.b[0]);
        mean2.fill(self.b[1]);
        for (j, u) in uniforms.chunks_exact(padded).enumerate() {
            draw_unit(j, u, mean1, mean2);
        }
        x.copy_from(means.as_ref().subrows(0, rows));
        self.add_visible_noise(x, rng);
    }

    /// Draws `n_samples` points by Gibbs sampling from z ~ Bernoulli(0.5), discarding `burn_in`
    /// steps and keeping every `thin`-th state afterwards, with `chains` parallel chains.
    pub fn sample(
        &self,
        chains: usize,
        burn_in: usize,
        thin: usize,
        n_samples: usize,
        rng: &mut GibbsRng,
    ) -> Vec<[f64; 2]> {
        if n_samples == 0 {
            return Vec::new();
        }
        let n = self.n_hidden();
        let mut ws = Workspace::new(chains, n);
        let mut coins = vec![0.0; chains * n];
        rng.uniform.fill(&mut coins);
        // Column-major like every hidden batch: unit j of chain r is coin j * chains + r.
        let z = Mat::<f64>::from_fn(chains, n, |r, j| {
            if coins[j * chains + r] < 0.5 {
                1.0
            } else {
                0.0
            }
        });
        let mut x = Mat::<f64>::zeros(chains, 2);
        self.sample_visible(z.as_ref(), x.as_mut(), rng);
        self.gibbs_steps(x.as_mut(), burn_in, &mut ws, rng);
        let mut samples = Vec::with_capacity(n_samples);
        while samples.len() < n_samples {
            self.gibbs_steps(x.as_mut(), thin.max(1), &mut ws, rng);
            for r in 0..chains {
                if samples.len() < n_samples {
                    samples.push([x[(r, 0)], x[(r, 1)]]);
                }
            }
        }
        samples
    }

    /// Mean over the rows of `x` of the gradient of F. `ws.hidden_probs` ends holding p(z|x).
    pub fn mean_free_energy_grad(
        &self,
        x: MatRef<'_, f64>,
        ws: &mut Workspace,
        grad: &mut Gradient,
    ) {
        let (rows, padded) = (x.nrows(), padded_rows(x.nrows()));
        let inv_rows = 1.0 / rows as f64;
        let iv = self.inv_var();
        self.scale_visible(x, ws.visible_tmp.as_mut().subrows_mut(0, rows));
        let scaled_x = ws.visible_tmp.as_ref().subrows(0, padded);
        let (x1, x2) = (col(scaled_x, 0), col(scaled_x, 1));
        let mut probs = ws.hidden_probs.as_mut().subrows_mut(0, padded);
        // dF/dW_ij = -(x_i / sigma_i^2) h_j, averaged: -(X/sigma^2)^T H / B. The same sums give
        // the sigma gradient's sum over points of x_i (W h)_i = sum_j W_ij sum_r x_ri h_rj,
        // so no per-point W h is needed.
        let mut x_wh = [0.0; 2];
        for j in 0..grad.c.len() {
            let (c, w1, w2) = (self.c[j], self.w[(0, j)], self.w[(1, j)]);
            let h = col_mut(probs.rb_mut(), j);
            let [x1h, x2h, h_sum] = vecmath::hidden_column_stats(x1, x2, c, w1, w2, h, rows);
            grad.w[(0, j)] = -x1h * inv_rows;
            grad.w[(1, j)] = -x2h * inv_rows;
            grad.c[j] = -h_sum * inv_rows;
            x_wh[0] += w1 * x1h;
            x_wh[1] += w2 * x2h;
        }
        // dF/db_i = -(x_i - b_i)/v_i and dF/dln(sigma_i) = (-(x_i - b_i)^2 + 2 x_i (W h)_i)/v_i;
        // x_wh already carries the 1/v_i.
        for i in 0..2 {
            let [shift, square] = vecmath::centered_sums(col(x, i), self.b[i]);
            grad.b[i] = -shift * iv[i] * inv_rows;
            grad.log_sigma[i] = (2.0 * x_wh[i] - square * iv[i]) * inv_rows;
        }
    }

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

    /// The same density expressed in data units, for a model trained on `(x - shift) / scale`.
    ///
    /// The GRBM family is closed under per-axis affine maps, so this is exact:
    /// `p_data(x) = p_model((x - shift) / scale) / (scale_1 scale_2)`.
    pub fn to_data_units(&self, shift: [f64; 2], scale: [f64; 2]) -> Grbm {
        let sigma = self.sigma();
        let n = self.n_hidden();
        let w = Mat::from_fn(2, n, |i, j| scale[i] * self.w[(i, j)]);
        let c = (0..n)
            .map(|j| {
                self.c[j]
                    - (0..2)
                        .map(|i| shift[i] * self.w[(i, j)] / (scale[i] * sigma[i] * sigma[i]))
                        .sum::<f64>()
            })
            .collect();
        Grbm::new(
            [
                shift[0] + scale[0] * self.b[0],
                shift[1] + scale[1] * self.b[1],
            ],
            [scale[0] * sigma[0], scale[1] * sigma[1]],
            w,
            c,
        )
    }
}
