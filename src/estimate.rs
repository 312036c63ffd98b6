//! Measuring a model: log Z by integrating exp(-F) on a 2-D grid, mean log-likelihoods and reconstruction error.

use crate::model::{Grbm, Workspace, softplus};
use faer::Mat;

/// How far past the box of mixture means the grid reaches, in units of sigma per axis.
/// A component loses at most about exp(-P^2/2) of its mass outside: nothing measurable at 10.
const PADDING_SIGMAS: f64 = 10.0;
/// Grid spacing as a fraction of sigma per axis. The equal-weight sum of a Gaussian converges
/// like exp(-2 pi^2 sigma^2 / h^2): at h = sigma/2 that is about 1e-34, far below f64 rounding.
const SPACING_SIGMAS: f64 = 0.5;
/// The automatic grid never exceeds this many points per axis (a model whose means spread over
/// thousands of sigmas would otherwise ask for an unbounded grid).
pub const MAX_AUTO_POINTS: usize = 4096;

/// A grid estimate of log Z.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridLogZ {
    pub log_z: f64,
    /// Points per axis (the grid is `points x points`).
    pub points: usize,
}

/// The integration box per axis: the box holding every mixture mean, padded by P sigma.
pub fn integration_box(model: &Grbm) -> [(f64, f64); 2] {
    let sigma = model.sigma();
    let mut bounds = [(0.0, 0.0); 2];
    for i in 0..2 {
        let (mut lo, mut hi) = (model.b[i], model.b[i]);
        for j in 0..model.n_hidden() {
            let w = model.w[(i, j)];
            lo += w.min(0.0);
            hi += w.max(0.0);
        }
        bounds[i] = (
            lo - PADDING_SIGMAS * sigma[i],
            hi + PADDING_SIGMAS * sigma[i],
        );
    }
    bounds
}

/// Points per axis needed for spacing at most `SPACING_SIGMAS * sigma_i` on both axes, capped.
pub fn auto_grid_points(model: &Grbm) -> usize {
    let sigma = model.sigma();
    let bounds = integration_box(model);
    let needed = (0..2)
        .map(|i| ((bounds[i].1 - bounds[i].0) / (SPACING_SIGMAS * sigma[i])).ceil())
        .fold(0.0, f64::max);
    if needed.is_finite() {
        (needed as usize + 1).clamp(16, MAX_AUTO_POINTS)
    } else {
        MAX_AUTO_POINTS
    }
}

/// log Z = log of the integral of exp(-F) over R^2, as an equal-weight sum over a
/// `points x points` grid covering [`integration_box`], summed in log space.
pub fn log_z_grid(model: &Grbm, points: Option<usize>) -> GridLogZ {
    let points = points.unwrap_or_else(|| auto_grid_points(model)).max(2);
    let bounds = integration_box(model);
    let step = [
        (bounds[0].1 - bounds[0].0) / (points - 1) as f64,
        (bounds[1].1 - bounds[1].0) / (points - 1) as f64,
    ];
    let sigma = model.sigma();
    let [a1, a2] = model.scaled_weights();
    let n = model.n_hidden();
    let mut row_base = vec![0.0; n];
    let mut row = vec![0.0; points];
    let mut row_log_sums = Vec::with_capacity(points);
    for p in 0..points {
        let x1 = bounds[0].0 + p as f64 * step[0];
        for j in 0..n {
            row_base[j] = model.c[j] + x1 * a1[j];
        }
        let q1 = (x1 - model.b[0]).powi(2) / (2.0 * sigma[0] * sigma[0]);
        for (q, value) in row.iter_mut().enumerate() {
            let x2 = bounds[1].0 + q as f64 * step[1];
            let mut neg_f = -q1 - (x2 - model.b[1]).powi(2) / (2.0 * sigma[1] * sigma[1]);
            for j in 0..n {
                neg_f += softplus(row_base[j] + x2 * a2[j]);
            }
            *value = neg_f;
        }
        row_log_sums.push(crate::model::log_sum_exp(&row));
    }
    GridLogZ {
        log_z: crate::model::log_sum_exp(&row_log_sums) + (step[0] * step[1]).ln(),
        points,
    }
}

/// Mean log-likelihood of `points` given log Z, in the units of the model.
pub fn mean_log_likelihood(model: &Grbm, log_z: f64, points: &[[f64; 2]]) -> f64 {
    let total: f64 = points.iter().map(|x| -model.free_energy(*x)).sum();
    total / points.len() as f64 - log_z
}

/// Mean squared distance between each point and its mean-field reconstruction `b + W p(z|x)`.
pub fn reconstruction_error(model: &Grbm, points: &[[f64; 2]]) -> f64 {
    const CHUNK: usize = 1024;
    let n = model.n_hidden();
    let mut ws = Workspace::new(CHUNK, n);
    let mut x = Mat::<f64>::zeros(CHUNK, 2);
    let mut recon = Mat::<f64>::zeros(CHUNK, 2);
    let mut total = 0.0;
    for chunk in points.chunks(CHUNK) {
        let rows = chunk.len();
        for (r, p) in chunk.iter().enumerate() {
            x[(r, 0)] = p[0];
            x[(r, 1)] = p[1];
        }
        let probs = ws.hidden_probs.as_mut().subrows_mut(0, rows);
        model.hidden_probs(
            x.as_ref().subrows(0, rows),
            ws.visible_tmp.as_mut().subrows_mut(0, rows),
            probs,
        );
        model.visible_means(
            ws.hidden_probs.as_ref().subrows(0, rows),
            recon.as_mut().subrows_mut(0, rows),
        );
        for r in 0..rows {
            total += (x[(r, 0)] - recon[(r, 0)]).powi(2) + (x[(r, 1)] - recon[(r, 1)]).powi(2);
        }
    }
    total / points.len() as f64
}

/// Everything measured about one model at one point of training, in data units.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    pub train_ll: f64,
    pub test_ll: f64,
    pub log_z: f64,
    pub log_z_exact: Option<f64>,
    pub grid_points: usize,
    pub recon_error: f64,
}

impl Evaluation {
    pub fn is_finite(&self) -> bool {
        self.train_ll.is_finite()
            && self.test_ll.is_finite()
            && self.log_z.is_finite()
            && self.recon_error.is_finite()
    }
}

/// Measures `model` (already in data units) on the train and test points.
pub fn evaluate(
    model: &Grbm,
    train: &[[f64; 2]],
    test: &[[f64; 2]],
    grid_points: Option<usize>,
) -> Evaluation {
    let grid = log_z_grid(model, grid_points);
    Evaluation {
        train_ll: mean_log_likelihood(model, grid.log_z, train),
        test_ll: mean_log_likelihood(model, grid.log_z, test),
        log_z: grid.log_z,
        log_z_exact: model.log_z_exact(),
        grid_points: grid.points,
        recon_error: reconstruction_error(model, test),
    }
}
