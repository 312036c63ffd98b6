//! Batched kernels over a minibatch, one point per row: the conditionals p(z|x) and E[x|z], the summed free energy, the mean gradient of F, and the [`Workspace`] they reuse.
//!
//! Batches are faer matrices with one point per row: visible batches are
//! `B x 2`, hidden batches `B x n`, column-major. With only two visible units
//! every product has an inner or outer dimension of 2, so the products are
//! loops over contiguous columns, run by the vectorized kernels of
//! [`crate::vecmath`]: one Gibbs step at n = 64 and a batch of 100 takes 9.6 us
//! (`cargo bench -p grbm-sweep-criterion -- gibbs_step`), where faer's general matmul
//! took 1.11 ms.

use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Mat, MatMut, MatRef};

use super::{Gradient, Grbm};
use crate::vecmath;

pub(super) fn col<'a>(m: MatRef<'a, f64>, j: usize) -> &'a [f64] {
    m.col(j)
        .try_as_col_major()
        .expect("batch matrices are column-major")
        .as_slice()
}

pub(super) fn col_mut<'a>(m: MatMut<'a, f64>, j: usize) -> &'a mut [f64] {
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
pub(super) fn padded_rows(rows: usize) -> usize {
    rows.div_ceil(vecmath::W) * vecmath::W
}

/// The two columns of a `B x 2` matrix as slices.
pub(super) fn columns_mut(m: MatMut<'_, f64>) -> (&mut [f64], &mut [f64]) {
    let (first, second) = m.split_at_col_mut(1);
    (col_mut(first, 0), col_mut(second, 0))
}

impl Grbm {
    /// The sum of F(x) over `points`: the same value as summing [`Grbm::free_energy`], computed
    /// a block of points at a time by [`Grbm::free_energies`].
    pub fn sum_free_energy(&self, points: &[[f64; 2]]) -> f64 {
        const CHUNK: usize = 1024;
        let mut x = [vec![0.0; CHUNK], vec![0.0; CHUNK]];
        let mut f = vec![0.0; CHUNK];
        let mut total = 0.0;
        for chunk in points.chunks(CHUNK) {
            let rows = chunk.len();
            for (r, p) in chunk.iter().enumerate() {
                x[0][r] = p[0];
                x[1][r] = p[1];
            }
            self.free_energies(&x[0][..rows], &x[1][..rows], &mut f[..rows]);
            // One running total in point order, as a plain sum of F(x) would add them.
            for v in &f[..rows] {
                total += v;
            }
        }
        total
    }

    /// F(x) of every point `(x1[r], x2[r])` into `out[r]`, with vectorized exponentials and one
    /// logarithm per point (and 512 hidden units).
    pub fn free_energies(&self, x1: &[f64], x2: &[f64], out: &mut [f64]) {
        // Products of at most 2^512 stay far from f64's limit of 2^1024.
        const UNITS_PER_LOG: usize = 512;
        let iv = self.inv_var();
        let scaled = [
            x1.iter().map(|x| x * iv[0]).collect::<Vec<f64>>(),
            x2.iter().map(|x| x * iv[1]).collect::<Vec<f64>>(),
        ];
        let mut product = vec![1.0; out.len()];
        // `out` first collects the softplus terms, sum_j softplus(u_j(x)).
        out.fill(0.0);
        for first in (0..self.n_hidden()).step_by(UNITS_PER_LOG) {
            product.fill(1.0);
            for j in first..(first + UNITS_PER_LOG).min(self.n_hidden()) {
                let (c, w1, w2) = (self.c[j], self.w[(0, j)], self.w[(1, j)]);
                vecmath::add_softplus_column(&scaled[0], &scaled[1], c, w1, w2, out, &mut product);
            }
            for (o, q) in out.iter_mut().zip(&product) {
                *o += libm::log(*q);
            }
        }
        for ((o, x1), x2) in out.iter_mut().zip(x1).zip(x2) {
            let quadratic =
                (x1 - self.b[0]).powi(2) * iv[0] / 2.0 + (x2 - self.b[1]).powi(2) * iv[1] / 2.0;
            *o = quadratic - *o;
        }
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
    pub(super) fn scale_visible(&self, x: MatRef<'_, f64>, mut scaled_x: MatMut<'_, f64>) {
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
}
