//! Gibbs sampling: draws of x ~ p(x|z), in-place Gibbs steps over a batch of chains, and [`Grbm::sample`] from fresh chains.

use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Mat, MatMut, MatRef};

use super::Grbm;
use super::batch::{Workspace, col, columns_mut, padded_rows};
use crate::rng::GibbsRng;
use crate::vecmath;

impl Grbm {
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
}
