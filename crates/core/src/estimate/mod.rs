//! Measuring a model: log Z by integrating exp(-F) on a 2-D grid, mean log-likelihoods and reconstruction error.

pub mod ais;
pub mod score;

use crate::identity::Field;
use crate::model::{Gradient, Grbm, Workspace, softplus};
use crate::vecmath::{self, log_sum_exp};
use faer::Mat;
use rayon::prelude::*;

/// The `[eval]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Epochs between learning-curve points; 0 = only the final evaluation.
    pub every: usize,
    /// Points per axis of the integration grid; `None` = chosen from each model's parameters.
    pub grid_points: Option<usize>,
    /// Exact samples, and as many samples of the sampler's own chains, kept of every trained
    /// model (0 = none).
    pub samples: usize,
    /// Gibbs steps the sampler's chains make after their negative phase, before the first chain
    /// sample (0: the chains as the last update used them).
    pub chain_steps: usize,
    /// Gibbs steps between two samples of a chain.
    pub thin: usize,
    /// Minutes between two saves of a long run's state (0 = never), so that a kill loses at
    /// most this much of it. Not part of a run's identity: it changes no number.
    pub checkpoint_minutes: f64,
    /// Chains of each AIS estimate of a trained model's log Z.
    pub ais_chains: usize,
    /// The steps of each AIS budget, in the file's order (each >= 1); empty = no AIS.
    pub ais_steps: Vec<usize>,
    /// Whether each checkpoint measures how far the sampler is from the model
    /// ([`crate::train::diagnostics`]). Not part of a run's identity: it changes no number
    /// of training or measurement, it adds columns.
    pub diagnostics: bool,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            every: 5,
            grid_points: None,
            samples: 1000,
            chain_steps: 0,
            thin: 10,
            checkpoint_minutes: 10.0,
            ais_chains: 100,
            ais_steps: Vec::new(),
            diagnostics: true,
        }
    }
}

impl EvalConfig {
    /// Every `[eval]` value that changes a number, for the run id. The AIS keys only when AIS
    /// is on, so that the runs of an experiment without it keep the ids they had before AIS was
    /// a key.
    pub fn identity(&self) -> Vec<(&'static str, Field)> {
        let int = |v: usize| Field::Int(v as i64);
        let mut fields = vec![
            ("every", int(self.every)),
            (
                "grid_points",
                self.grid_points.map_or(Field::text("auto"), int),
            ),
            ("samples", int(self.samples)),
            ("chain_steps", int(self.chain_steps)),
            ("thin", int(self.thin)),
        ];
        if self.ais_on() {
            fields.push(("ais_chains", int(self.ais_chains)));
            let steps = self.ais_steps.iter().map(|&s| int(s)).collect();
            fields.push(("ais_steps", Field::List(steps)));
        }
        fields
    }

    /// Whether trained models are measured by AIS too (`ais_steps` is not 0).
    pub fn ais_on(&self) -> bool {
        !self.ais_steps.is_empty()
    }
}

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

/// The points of a `points x points` grid over [`integration_box`]: `lo + index * step` per axis.
#[derive(Debug, Clone, Copy)]
struct Grid {
    points: usize,
    lo: [f64; 2],
    step: [f64; 2],
}

impl Grid {
    fn new(model: &Grbm, points: usize) -> Self {
        let bounds = integration_box(model);
        let step = |i: usize| (bounds[i].1 - bounds[i].0) / (points - 1) as f64;
        Grid {
            points,
            lo: [bounds[0].0, bounds[1].0],
            step: [step(0), step(1)],
        }
    }

    fn coordinate(&self, axis: usize, index: usize) -> f64 {
        self.lo[axis] + index as f64 * self.step[axis]
    }

    /// `(x - b)^2 / (2 sigma^2)` along `axis` at every grid index.
    fn quadratic(&self, model: &Grbm, axis: usize) -> Vec<f64> {
        let sigma = model.sigma()[axis];
        (0..self.points)
            .map(|q| (self.coordinate(axis, q) - model.b[axis]).powi(2) / (2.0 * sigma * sigma))
            .collect()
    }
}

/// Rows of the grid handed to one rayon task: the rows are independent, so a sweep with fewer
/// runs left than cores spreads the last integrals over the idle cores.
const ROWS_PER_TASK: usize = 8;

/// log Z = log of the integral of exp(-F) over R^2, as an equal-weight sum over a
/// `points x points` grid covering [`integration_box`], summed in log space.
///
/// With `u_j = alpha_j(x1) + beta_j(x2)` the hidden pre-activations, `exp(-F)` is
/// `exp(-q1 - q2) prod_j (1 + e^alpha_j e^beta_j)`: the exponentials are taken once per axis value,
/// leaving one multiply-add per hidden unit and grid point and one exponential per point (the
/// direct sum takes a softplus per hidden unit and point instead). Models whose pre-activations
/// reach beyond what that product can hold in f64 take the direct sum.
pub fn log_z_grid(model: &Grbm, points: Option<usize>) -> GridLogZ {
    let points = points.unwrap_or_else(|| auto_grid_points(model)).max(2);
    let grid = Grid::new(model, points);
    let log_z = log_z_product(model, &grid).unwrap_or_else(|| log_z_direct(model, &grid));
    GridLogZ { log_z, points }
}

/// Sums the rows' log sums and adds the log of the cell area.
fn finish(grid: &Grid, row_log_sums: &[f64]) -> f64 {
    log_sum_exp(row_log_sums) + libm::log(grid.step[0] * grid.step[1])
}

/// The same sum as [`log_z_grid`], one softplus per hidden unit and grid point: the reference the
/// product form is tested against, and its fallback.
fn log_z_direct(model: &Grbm, grid: &Grid) -> f64 {
    finish(grid, &direct_row_log_sums(model, grid))
}

/// The log of each grid row's sum of exp(-F), rows in parallel, one softplus per hidden unit and
/// point.
fn direct_row_log_sums(model: &Grbm, grid: &Grid) -> Vec<f64> {
    let (q1, q2) = (grid.quadratic(model, 0), grid.quadratic(model, 1));
    (0..grid.points)
        .into_par_iter()
        .with_min_len(ROWS_PER_TASK)
        .map_init(
            || (vec![0.0; model.n_hidden()], vec![0.0; grid.points]),
            |(row_base, row), p| {
                row_neg_free_energies(model, grid, (&q1, &q2), p, row_base, row);
                log_sum_exp(row)
            },
        )
        .collect()
}

/// -F at every point of grid row `p` (x1 fixed) into `row`; `q` holds the quadratic terms of
/// both axes ([`Grid::quadratic`]), `row_base` is scratch of one value per hidden unit.
fn row_neg_free_energies(
    model: &Grbm,
    grid: &Grid,
    q: (&[f64], &[f64]),
    p: usize,
    row_base: &mut [f64],
    row: &mut [f64],
) {
    let [a1, a2] = model.scaled_weights();
    let x1 = grid.coordinate(0, p);
    for (j, base) in row_base.iter_mut().enumerate() {
        *base = model.c[j] + x1 * a1[j];
    }
    for (qi, value) in row.iter_mut().enumerate() {
        let x2 = grid.coordinate(1, qi);
        let mut neg_f = -q.0[p] - q.1[qi];
        for (j, base) in row_base.iter().enumerate() {
            neg_f += softplus(base + x2 * a2[j]);
        }
        *value = neg_f;
    }
}

/// `count` independent draws of x (one per row) from the grid of [`log_z_grid`] (`points` per
/// axis, `None` = [`auto_grid_points`]): a grid point with probability proportional to exp(-F)
/// there, then a uniform point of the cell around it (one step wide per axis, centred on it).
/// Their density is exp(-F) at the cell's grid point over the grid's sum: the model's p(x) up to
/// the variation of exp(-F) within a cell, the approximation behind the grid's log Z. What
/// starts reverse AIS where the hidden states are too many to enumerate. A row is picked by
/// inverting the running sum of the rows' sums, then a point of that row by inverting its own,
/// each with a [`ais::fine_uniforms`] draw: one grid integral and one row per distinct row
/// drawn. Rows are summed in parallel and combined in order, so the draws do not depend on the
/// thread count.
pub fn grid_samples(
    model: &Grbm,
    points: Option<usize>,
    count: usize,
    rng: &mut crate::rng::GibbsRng,
) -> Mat<f64> {
    let points = points.unwrap_or_else(|| auto_grid_points(model)).max(2);
    let grid = Grid::new(model, points);
    let row_log_sums = direct_row_log_sums(model, &grid);
    let row_weights = exp_weights(&row_log_sums);
    let (row_u, point_u, jitter) = (
        ais::fine_uniforms(rng, count),
        ais::fine_uniforms(rng, count),
        ais::fine_uniforms(rng, 2 * count),
    );
    let rows: Vec<usize> = row_u.iter().map(|&u| row_weights.pick(u)).collect();
    let (q1, q2) = (grid.quadratic(model, 0), grid.quadratic(model, 1));
    let (mut row_base, mut row) = (vec![0.0; model.n_hidden()], vec![0.0; points]);
    let mut x = Mat::<f64>::zeros(count, 2);
    // Draws sorted by row, so that each row drawn is computed once.
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&r| rows[r]);
    let mut current: Option<(usize, ais::Inversion)> = None;
    for r in order {
        if current.as_ref().map(|c| c.0) != Some(rows[r]) {
            row_neg_free_energies(model, &grid, (&q1, &q2), rows[r], &mut row_base, &mut row);
            current = Some((rows[r], exp_weights(&row)));
        }
        let column = current.as_ref().expect("set above").1.pick(point_u[r]);
        for (axis, index) in [(0, rows[r]), (1, column)] {
            let offset = jitter[2 * r + axis] - 0.5;
            x[(r, axis)] = grid.coordinate(axis, index) + offset * grid.step[axis];
        }
    }
    x
}

/// `count` independent draws of x from `model` (one per row), as exact as the model allows: up
/// to [`MAX_ENUMERATION_HIDDEN`](crate::model::MAX_ENUMERATION_HIDDEN) hidden units exact samples
/// of the 2^n mixture ([`ais::exact_samples`]), above draws of the log Z grid of `points` per
/// axis ([`grid_samples`], exact up to the grid's discretization: docs/math.md). The one place
/// that picks between the two: the samples of a finished run, reverse AIS's start and the
/// checkpoint diagnostics' exact draws all come from here.
pub fn exact_samples_any(
    model: &Grbm,
    count: usize,
    points: Option<usize>,
    rng: &mut crate::rng::GibbsRng,
) -> Mat<f64> {
    // No draw asked for costs nothing: no enumeration, no grid.
    if count == 0 {
        return Mat::zeros(0, 2);
    }
    ais::exact_samples(model, count, rng).unwrap_or_else(|| grid_samples(model, points, count, rng))
}

/// The model's differential entropy `-E_p[ln p] = E_p[F] + ln Z` on the grid of
/// [`log_z_grid`] (`points` per axis, `None` = [`auto_grid_points`]), with `log_z` that grid's
/// log Z: the mean log density exact samples would have, which chains that have mixed match.
pub fn entropy_grid(model: &Grbm, points: Option<usize>, log_z: f64) -> f64 {
    let points = points.unwrap_or_else(|| auto_grid_points(model)).max(2);
    let grid = Grid::new(model, points);
    let (q1, q2) = (grid.quadratic(model, 0), grid.quadratic(model, 1));
    // Per row: the log of its sum of exp(-F) and the exp(-F)-weighted mean of F over it.
    let rows: Vec<(f64, f64)> = (0..grid.points)
        .into_par_iter()
        .with_min_len(ROWS_PER_TASK)
        .map_init(
            || (vec![0.0; model.n_hidden()], vec![0.0; grid.points]),
            |(row_base, row), p| {
                row_neg_free_energies(model, &grid, (&q1, &q2), p, row_base, row);
                let log_sum = log_sum_exp(row);
                let mean_f = row
                    .iter()
                    .map(|neg_f| -neg_f * libm::exp(neg_f - log_sum))
                    .sum::<f64>();
                (log_sum, mean_f)
            },
        )
        .collect();
    let log_sums: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let total = log_sum_exp(&log_sums);
    let mean_f: f64 = rows
        .iter()
        .map(|(log_sum, mean_f)| mean_f * libm::exp(log_sum - total))
        .sum();
    mean_f + log_z
}

/// The distribution of weights `exp(v - max v)` over `values`.
fn exp_weights(values: &[f64]) -> ais::Inversion {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    ais::Inversion::new(values.iter().map(|v| libm::exp(v - max)))
}

/// The largest log of a partial product allowed before it is renormalized: far enough below
/// f64's largest exponent (709.8) that one more factor cannot overflow.
const LOG_PRODUCT_LIMIT: f64 = 600.0;

/// log Z by the product form, or `None` when some factor could overflow.
fn log_z_product(model: &Grbm, grid: &Grid) -> Option<f64> {
    let [a1, a2] = model.scaled_weights();
    let n = model.n_hidden();
    let x2_last = grid.coordinate(1, grid.points - 1);
    // beta_j(q) = x2_q a2_j is shifted by the middle of its range into alpha_j, so that
    // e^(+-beta) stays within e^(+-half its range).
    let shift: Vec<f64> = (0..n)
        .map(|j| (grid.lo[1] + x2_last) * a2[j] / 2.0)
        .collect();
    let half_range: Vec<f64> = (0..n)
        .map(|j| (x2_last - grid.lo[1]) * a2[j].abs() / 2.0)
        .collect();
    if !half_range.iter().all(|h| *h <= LOG_PRODUCT_LIMIT) {
        return None;
    }
    let column = |sign: f64| {
        let mut values = vec![0.0; n * grid.points];
        for (j, column) in values.chunks_exact_mut(grid.points).enumerate() {
            for (q, v) in column.iter_mut().enumerate() {
                *v = libm::exp(sign * (grid.coordinate(1, q) * a2[j] - shift[j]));
            }
        }
        values
    };
    let (exp_beta, exp_neg_beta) = (column(1.0), column(-1.0));
    let (q1, q2) = (grid.quadratic(model, 0), grid.quadratic(model, 1));
    let row_log_sums: Vec<f64> = (0..grid.points)
        .into_par_iter()
        .with_min_len(ROWS_PER_TASK)
        .map_init(
            || {
                let per_point = vec![0.0; grid.points];
                let per_unit = vec![0.0; n];
                let units = (per_unit.clone(), per_unit, vec![false; n]);
                (units, per_point.clone(), per_point.clone(), per_point)
            },
            |((exp_alpha, log_bound, flipped), product, exponent, scratch), p| {
                let x1 = grid.coordinate(0, p);
                // Units with alpha >= 0 use 1 + e^u = e^u (1 + e^-u); the e^u, summed over those
                // units, is affine in x2: offset + slope x2. Either way a factor is at most
                // 2 e^half_range, so no single factor overflows.
                let (mut offset, mut slope) = (0.0, 0.0);
                for j in 0..n {
                    let base = model.c[j] + x1 * a1[j];
                    let alpha = base + shift[j];
                    flipped[j] = alpha >= 0.0;
                    if flipped[j] {
                        offset += base;
                        slope += a2[j];
                    }
                    exp_alpha[j] = libm::exp(-alpha.abs());
                    log_bound[j] = (half_range[j] - alpha.abs()).max(0.0) + std::f64::consts::LN_2;
                }
                row_products(
                    exp_alpha,
                    log_bound,
                    flipped,
                    &exp_beta,
                    &exp_neg_beta,
                    product,
                    exponent,
                );
                // exp(-F) = product 2^exponent e^(linear - q1 - q2): the rest of the exponent
                // goes into `exponent`, and the sum needs no logarithm per point.
                for (q, e) in exponent.iter_mut().enumerate() {
                    let linear = offset + slope * grid.coordinate(1, q);
                    *e = *e * std::f64::consts::LN_2 + linear - q1[p] - q2[q];
                }
                vecmath::log_sum_product_exp(product, exponent, scratch)
            },
        )
        .collect();
    Some(finish(grid, &row_log_sums))
}

/// `product[q] 2^exponent[q] = prod_j (1 + exp_alpha[j] e^(+-beta_j(q)))` for one grid row,
/// the minus sign where `flipped[j]`; the products are renormalized to [1, 2) whenever the next
/// factor could overflow them.
fn row_products(
    exp_alpha: &[f64],
    log_bound: &[f64],
    flipped: &[bool],
    exp_beta: &[f64],
    exp_neg_beta: &[f64],
    product: &mut [f64],
    exponent: &mut [f64],
) {
    const EXPONENT_BITS: u64 = 0x7FF0_0000_0000_0000;
    const ONE_BITS: u64 = 0x3FF0_0000_0000_0000;
    let points = product.len();
    product.fill(1.0);
    exponent.fill(0.0);
    let mut log_product = 0.0;
    for j in 0..exp_alpha.len() {
        if log_product + log_bound[j] > LOG_PRODUCT_LIMIT {
            // Every product is at least 1, so its exponent field is its power of two.
            for (v, e) in product.iter_mut().zip(exponent.iter_mut()) {
                let bits = v.to_bits();
                *e += ((bits & EXPONENT_BITS) >> 52) as f64 - 1023.0;
                *v = f64::from_bits((bits & !EXPONENT_BITS) | ONE_BITS);
            }
            log_product = std::f64::consts::LN_2;
        }
        let beta = if flipped[j] { exp_neg_beta } else { exp_beta };
        vecmath::multiply_factors(exp_alpha[j], &beta[j * points..(j + 1) * points], product);
        log_product += log_bound[j];
    }
}

/// Points per axis of the grid behind `sampler = "grid"`: [`auto_grid_points`], capped here so
/// that an update costs at most 256^2 points times the hidden units. Past the cap the spacing
/// exceeds sigma/2; the trapezoid error of a Gaussian's mass, exp(-2 pi^2 sigma^2 / h^2), is
/// still about 3e-9 at h = sigma, that is up to a box of 256 sigmas per axis. That is log Z's
/// error; the second moments behind the ln sigma gradient carry a factor 1 + 4 pi^2 sigma^2 / h^2
/// (about 40 there) and agree to about 1e-7 (docs/math.md, tested in tests/it/math.rs).
pub const MAX_TRAINING_POINTS: usize = 256;

/// Units whose factors `1 + e^-|u|` (each at most 2) are multiplied before one logarithm.
const UNITS_PER_LOG: usize = 512;

/// One grid row's weighted sums, with weights `exp(-F - max)` for the row's own max of -F.
struct RowSums {
    /// The row's max of -F, which its weights are relative to.
    max: f64,
    /// `[sum w, sum w (x2 - b2), sum w (x2 - b2)^2]`.
    base: [f64; 3],
    /// Per hidden unit: `sum w h_j` and `sum w x2 h_j`.
    h: Vec<f64>,
    x2_h: Vec<f64>,
}

/// The model expectation of the gradient of F, E_p(x)[dF/dtheta] = -d log Z / dtheta, as the
/// integral of p(x) dF/dtheta(x) over R^2 by the same equal-weight grid as [`log_z_grid`]
/// (`points` per axis over [`integration_box`], `None` = [`auto_grid_points`]): the negative phase
/// of `sampler = "grid"`. At each point the gradient takes h = p(z|x) as in
/// [`Grbm::mean_free_energy_grad`], weighted by exp(-F) normalized over the grid (the cell area
/// cancels). Rows are summed in parallel, each with its own max-shift, then combined in row order,
/// so the result does not depend on the thread count. One exponential per hidden unit and point.
/// Returns the points per axis.
pub fn expected_free_energy_grad_grid(
    model: &Grbm,
    points: Option<usize>,
    grad: &mut Gradient,
) -> usize {
    let points = points.unwrap_or_else(|| auto_grid_points(model)).max(2);
    let grid = Grid::new(model, points);
    let n = model.n_hidden();
    let ys: Vec<f64> = (0..points).map(|q| grid.coordinate(1, q)).collect();
    let rows: Vec<RowSums> = (0..points)
        .into_par_iter()
        .with_min_len(ROWS_PER_TASK)
        .map_init(
            || (vec![0.0; n * points], vec![0.0; points], vec![0.0; points]),
            |(h, neg_f, product), p| grid_row_sums(model, &grid, &ys, p, h, neg_f, product),
        )
        .collect();
    let max = rows.iter().map(|r| r.max).fold(f64::NEG_INFINITY, f64::max);
    // Totals over the grid: [sum w, sum w (x_i - b_i) per axis, sum w (x_i - b_i)^2 per axis],
    // then sum w h_j and sum w x_i h_j per unit and axis.
    let (mut total, mut h_sum, mut x_h) = ([0.0; 5], vec![0.0; n], [vec![0.0; n], vec![0.0; n]]);
    for (p, row) in rows.iter().enumerate() {
        let scale = libm::exp(row.max - max);
        let d1 = grid.coordinate(0, p) - model.b[0];
        let s = row.base.map(|v| v * scale);
        total[0] += s[0];
        total[1] += d1 * s[0];
        total[2] += s[1];
        total[3] += d1 * d1 * s[0];
        total[4] += s[2];
        for j in 0..n {
            h_sum[j] += row.h[j] * scale;
            x_h[0][j] += grid.coordinate(0, p) * row.h[j] * scale;
            x_h[1][j] += row.x2_h[j] * scale;
        }
    }
    let iv = model.sigma().map(|s| 1.0 / (s * s));
    let inv_total = 1.0 / total[0];
    let mut x_wh = [0.0; 2];
    for j in 0..n {
        grad.c[j] = -h_sum[j] * inv_total;
        for i in 0..2 {
            grad.w[(i, j)] = -x_h[i][j] * iv[i] * inv_total;
            x_wh[i] += model.w[(i, j)] * x_h[i][j] * iv[i];
        }
    }
    // The same formulas as the minibatch gradient: dF/db_i = -(x_i - b_i)/v_i and
    // dF/dln(sigma_i) = (-(x_i - b_i)^2 + 2 x_i (W h)_i)/v_i.
    for i in 0..2 {
        grad.b[i] = -total[1 + i] * iv[i] * inv_total;
        grad.log_sigma[i] = (2.0 * x_wh[i] - total[3 + i] * iv[i]) * inv_total;
    }
    points
}

/// [`RowSums`] of grid row `p` (x1 fixed); `ys` holds the x2 coordinates of the grid, `h`
/// (`n x points`), `neg_f` and `product` are scratch.
fn grid_row_sums(
    model: &Grbm,
    grid: &Grid,
    ys: &[f64],
    p: usize,
    h: &mut [f64],
    neg_f: &mut [f64],
    product: &mut [f64],
) -> RowSums {
    let (n, points) = (model.n_hidden(), grid.points);
    let [a1, a2] = model.scaled_weights();
    let sigma = model.sigma();
    let x1 = grid.coordinate(0, p);
    let q1 = (x1 - model.b[0]).powi(2) / (2.0 * sigma[0] * sigma[0]);
    for (v, y) in neg_f.iter_mut().zip(ys) {
        let d2 = y - model.b[1];
        *v = -q1 - d2 * d2 / (2.0 * sigma[1] * sigma[1]);
    }
    // softplus(u) = max(u, 0) + ln(1 + e^-|u|) and sigmoid(u) from the same e^-|u|.
    for first in (0..n).step_by(UNITS_PER_LOG) {
        product.fill(1.0);
        for j in first..(first + UNITS_PER_LOG).min(n) {
            let base = model.c[j] + x1 * a1[j];
            let column = &mut h[j * points..(j + 1) * points];
            vecmath::softplus_sigmoid_column(ys, a2[j], base, column, neg_f, product);
        }
        for (f, prod) in neg_f.iter_mut().zip(product.iter()) {
            *f += libm::log(*prod);
        }
    }
    let max = neg_f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut base = [0.0; 3];
    for (f, y) in neg_f.iter_mut().zip(ys) {
        // neg_f now holds the weight of the point.
        *f = libm::exp(*f - max);
        let d2 = y - model.b[1];
        base[0] += *f;
        base[1] += *f * d2;
        base[2] += *f * d2 * d2;
    }
    let (mut h_sum, mut x2_h) = (vec![0.0; n], vec![0.0; n]);
    for j in 0..n {
        for ((hq, w), y) in h[j * points..(j + 1) * points]
            .iter()
            .zip(neg_f.iter())
            .zip(ys)
        {
            h_sum[j] += w * hq;
            x2_h[j] += w * hq * y;
        }
    }
    RowSums {
        max,
        base,
        h: h_sum,
        x2_h,
    }
}

/// Mean log-likelihood of `points` given log Z, in the units of the model.
pub fn mean_log_likelihood(model: &Grbm, log_z: f64, points: &[[f64; 2]]) -> f64 {
    -model.sum_free_energy(points) / points.len() as f64 - log_z
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
    /// What runs are ranked by, so that `test_ll` stays an unbiased measure of the chosen run.
    pub valid_ll: f64,
    pub test_ll: f64,
    pub log_z: f64,
    pub log_z_exact: Option<f64>,
    pub grid_points: usize,
    pub recon_error: f64,
}

impl Evaluation {
    pub fn is_finite(&self) -> bool {
        self.train_ll.is_finite()
            && self.valid_ll.is_finite()
            && self.test_ll.is_finite()
            && self.log_z.is_finite()
            && self.recon_error.is_finite()
    }
}

/// Measures `model` (already in data units) on the train, validation and test points, each
/// log-likelihood from the same log Z.
pub fn evaluate(
    model: &Grbm,
    train: &[[f64; 2]],
    valid: &[[f64; 2]],
    test: &[[f64; 2]],
    grid_points: Option<usize>,
) -> Evaluation {
    evaluate_with(model, log_z_grid(model, grid_points), train, valid, test)
}

/// [`evaluate`] with log Z already integrated: the rest of a measurement, whose cost grows with
/// the points and the hidden units rather than the grid (the plan times the two apart).
pub fn evaluate_with(
    model: &Grbm,
    grid: GridLogZ,
    train: &[[f64; 2]],
    valid: &[[f64; 2]],
    test: &[[f64; 2]],
) -> Evaluation {
    Evaluation {
        train_ll: mean_log_likelihood(model, grid.log_z, train),
        valid_ll: mean_log_likelihood(model, grid.log_z, valid),
        test_ll: mean_log_likelihood(model, grid.log_z, test),
        log_z: grid.log_z,
        log_z_exact: model.log_z_exact(),
        grid_points: grid.points,
        recon_error: reconstruction_error(model, test),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};
    use rand::RngExt;
    use rand_distr::StandardNormal;

    fn model(seed: u64, n: usize, w_scale: f64, c_shift: f64, sigma: [f64; 2]) -> Grbm {
        let mut rng = stream(seed, Purpose::Init);
        let mut normal = || -> f64 { rng.sample(StandardNormal) };
        let w = Mat::from_fn(2, n, |_, _| w_scale * normal());
        let c = (0..n).map(|_| c_shift + normal()).collect();
        Grbm::new([normal(), normal()], sigma, w, c)
    }

    fn assert_product_form_matches_direct(model: &Grbm, points: usize) {
        let grid = Grid::new(model, points);
        let product = log_z_product(model, &grid).expect("the product form applies");
        let direct = log_z_direct(model, &grid);
        assert!(
            (product - direct).abs() < 1e-10 * direct.abs().max(1.0),
            "product {product} vs direct {direct}"
        );
    }

    #[test]
    fn product_form_equals_the_softplus_sum() {
        for (seed, n) in [(1, 1), (2, 4), (3, 16), (4, 64), (5, 256)] {
            let m = model(seed, n, 1.5, 0.0, [0.7, 1.3]);
            assert_product_form_matches_direct(&m, 64);
            assert_product_form_matches_direct(&m, auto_grid_points(&m).min(400));
        }
    }

    #[test]
    fn product_form_renormalizes_large_products_without_overflow() {
        // Wide pre-activation ranges on 256 units: the bound on each row's running product passes
        // e^600 several times, so a missing or wrong renormalization overflows to inf or drops
        // powers of two (checked by disabling it: the sums then differ or are infinite).
        let m = model(6, 256, 0.6, 0.0, [0.6, 0.6]);
        assert_product_form_matches_direct(&m, 96);
    }

    /// valid_ll is the mean of -F(x) - log Z over the validation points, with the log Z of the
    /// same evaluation, point by point through the single-point free energy.
    #[test]
    fn valid_ll_is_the_mean_log_density_of_the_validation_points() {
        let m = model(8, 5, 1.2, 0.3, [0.8, 1.1]);
        let mut rng = stream(9, Purpose::Data);
        let mut points = |n: usize| -> Vec<[f64; 2]> {
            (0..n)
                .map(|_| [rng.sample(StandardNormal), rng.sample(StandardNormal)])
                .collect()
        };
        let (train, valid, test) = (points(40), points(23), points(31));
        let e = evaluate(&m, &train, &valid, &test, Some(200));
        let direct = valid
            .iter()
            .map(|x| -m.free_energy(*x) - e.log_z)
            .sum::<f64>()
            / valid.len() as f64;
        assert!(
            (e.valid_ll - direct).abs() < 1e-12 * direct.abs().max(1.0),
            "valid_ll {} vs direct {direct}",
            e.valid_ll
        );
        assert_eq!(e.log_z, log_z_grid(&m, Some(200)).log_z);
        assert_eq!(e.test_ll, mean_log_likelihood(&m, e.log_z, &test));
        assert_ne!(e.valid_ll, e.test_ll);
    }

    /// Grid draws have the model's exact mean, and its exact variance plus the step^2 / 12 per
    /// axis that the uniform jitter within a cell adds (within 4 standard errors of 40 000
    /// draws, on the automatic grid and on a coarse one of 40 points). Checked on test-only
    /// copies: without the jitter, or with twice its width, the variance on the automatic grid
    /// is off by more than 4 standard errors.
    /// The grid entropy is a Gaussian's closed form ln(2 pi e sigma_1 sigma_2) for W = 0, and
    /// for a 6-unit mixture the mean of -ln p over 20000 exact samples within 4 standard errors.
    #[test]
    fn entropy_grid_is_the_gaussian_closed_form_and_the_exact_samples_mean() {
        let gaussian = Grbm::new(
            [0.5, -1.0],
            [0.7, 0.3],
            Mat::zeros(2, 3),
            vec![0.1, -0.2, 0.3],
        );
        let log_z = log_z_grid(&gaussian, None).log_z;
        let closed = (2.0 * std::f64::consts::PI * std::f64::consts::E * 0.7 * 0.3).ln();
        let h = entropy_grid(&gaussian, None, log_z);
        assert!((h - closed).abs() < 1e-10, "{h} vs {closed}");

        let m = model(4, 6, 1.5, 0.0, [0.4, 0.6]);
        let log_z = log_z_grid(&m, None).log_z;
        let h = entropy_grid(&m, None, log_z);
        let mut rng = crate::rng::GibbsRng::new(stream(8, Purpose::Ais));
        let x = ais::exact_samples(&m, 20_000, &mut rng).unwrap();
        let neg_log_p: Vec<f64> = (0..x.nrows())
            .map(|r| m.free_energy([x[(r, 0)], x[(r, 1)]]) + log_z)
            .collect();
        let (mean, se) = mean_and_error(&neg_log_p);
        assert!((h - mean).abs() < 4.0 * se, "{h} vs {mean} +- {se}");
    }

    #[test]
    fn grid_samples_have_the_exact_moments_up_to_the_jitter() {
        let m = model(41, 7, 1.5, 0.0, [0.5, 0.9]);
        let count = 40_000;
        let (mean, cov) = m.exact_moments();
        for points in [None, Some(40)] {
            let mut rng = crate::rng::GibbsRng::new(stream(3, Purpose::Ais));
            let x = grid_samples(&m, points, count, &mut rng);
            let step = Grid::new(&m, points.unwrap_or_else(|| auto_grid_points(&m))).step;
            for i in 0..2 {
                let values: Vec<f64> = (0..count).map(|r| x[(r, i)]).collect();
                let (sample_mean, error) = mean_and_error(&values);
                assert!(
                    (sample_mean - mean[i]).abs() < 4.0 * error,
                    "{points:?} axis {i}: mean {sample_mean} vs {}",
                    mean[i]
                );
                let squares: Vec<f64> = values.iter().map(|v| (v - mean[i]).powi(2)).collect();
                let (variance, error) = mean_and_error(&squares);
                let expected = cov[i][i] + step[i] * step[i] / 12.0;
                assert!(
                    (variance - expected).abs() < 4.0 * error,
                    "{points:?} axis {i}: variance {variance} vs {expected} (jitter {})",
                    step[i] * step[i] / 12.0
                );
            }
        }
    }

    /// The model the exact-sample tests draw from: 12 hidden units (enumerable) and separated
    /// modes: no hidden state has more than 17% of the mass, and the variance of x1 is 5.3
    /// against sigma1^2 = 0.2.
    fn modes_model() -> Grbm {
        model(57, 12, 0.5, -0.5, [0.45, 0.6])
    }

    /// Column `axis` of draws `x`.
    fn axis_values(x: &Mat<f64>, axis: usize) -> Vec<f64> {
        (0..x.nrows()).map(|r| x[(r, axis)]).collect()
    }

    /// The sample covariance's terms (x1 - mean1)(x2 - mean2), one per draw.
    fn cross_products(x: &Mat<f64>, mean: [f64; 2]) -> Vec<f64> {
        (0..x.nrows())
            .map(|r| (x[(r, 0)] - mean[0]) * (x[(r, 1)] - mean[1]))
            .collect()
    }

    /// [`exact_samples_any`] below 20 hidden units draws the 2^n mixture
    /// ([`ais::exact_samples`], which also starts reverse AIS): the mean, both variances and
    /// the covariance of 40 000 draws equal [`Grbm::exact_moments`] within 4 standard errors.
    /// A wrong bit order between a state's index and its z, or an off-by-one in the inversion
    /// of the cumulative masses, moves them.
    #[test]
    fn exact_samples_have_the_mixture_mean_and_covariance() {
        let m = modes_model();
        let count = 40_000;
        let mut rng = crate::rng::GibbsRng::new(stream(7, Purpose::ExactSamples));
        let x = exact_samples_any(&m, count, None, &mut rng);
        let (mean, cov) = m.exact_moments();
        for i in 0..2 {
            let values = axis_values(&x, i);
            let (sample_mean, error) = mean_and_error(&values);
            assert!(
                (sample_mean - mean[i]).abs() < 4.0 * error,
                "axis {i}: mean {sample_mean} vs {}",
                mean[i]
            );
            let squares: Vec<f64> = values.iter().map(|v| (v - mean[i]).powi(2)).collect();
            let (variance, error) = mean_and_error(&squares);
            assert!(
                (variance - cov[i][i]).abs() < 4.0 * error,
                "axis {i}: variance {variance} vs {}",
                cov[i][i]
            );
        }
        let (covariance, error) = mean_and_error(&cross_products(&x, mean));
        assert!(
            (covariance - cov[0][1]).abs() < 4.0 * error,
            "covariance {covariance} vs {}",
            cov[0][1]
        );
    }

    /// Bins of `per_bin` x `per_bin` cells of `grid`, each with its share of the grid's sum of
    /// exp(-F): the probability p(x) gives it, to the grid's quadrature (midpoint rule per cell).
    fn bin_masses(model: &Grbm, grid: &Grid, per_bin: usize) -> (usize, Vec<f64>) {
        let bins = grid.points.div_ceil(per_bin);
        let (q1, q2) = (grid.quadratic(model, 0), grid.quadratic(model, 1));
        let (mut row_base, mut row) = (vec![0.0; model.n_hidden()], vec![0.0; grid.points]);
        let mut log_masses = vec![f64::NEG_INFINITY; bins * bins];
        for p in 0..grid.points {
            row_neg_free_energies(model, grid, (&q1, &q2), p, &mut row_base, &mut row);
            for (q, v) in row.iter().enumerate() {
                let bin = &mut log_masses[(p / per_bin) * bins + q / per_bin];
                *bin = log_sum_exp(&[*bin, *v]);
            }
        }
        let total = log_sum_exp(&log_masses);
        (bins, log_masses.iter().map(|l| (l - total).exp()).collect())
    }

    /// The bin of `grid` (bins of `per_bin` cells per axis, `bins` per axis) that holds each draw.
    fn bin_counts(x: &Mat<f64>, grid: &Grid, per_bin: usize, bins: usize) -> Vec<f64> {
        let mut counts = vec![0.0; bins * bins];
        for r in 0..x.nrows() {
            let index = |axis: usize| {
                let cell = ((x[(r, axis)] - grid.lo[axis]) / grid.step[axis]).round();
                (cell.clamp(0.0, (grid.points - 1) as f64) as usize) / per_bin
            };
            counts[index(0) * bins + index(1)] += 1.0;
        }
        counts
    }

    /// A chi-square statistic over bins of paired counts (a, b), each bin's `term(a, b)`, the
    /// bins that are `small` pooled into one, and its 0.999 quantile under the hypothesis (bins
    /// - 1 degrees of freedom).
    fn chi_square(
        pairs: impl Iterator<Item = (f64, f64)>,
        small: impl Fn(f64, f64) -> bool,
        term: impl Fn(f64, f64) -> f64,
    ) -> (f64, f64) {
        use statrs::distribution::{ChiSquared, ContinuousCDF};
        let (mut pooled, mut statistic, mut cells) = ((0.0, 0.0), 0.0, 0);
        for (a, b) in pairs {
            if small(a, b) {
                pooled = (pooled.0 + a, pooled.1 + b);
            } else {
                statistic += term(a, b);
                cells += 1;
            }
        }
        if pooled.0 + pooled.1 > 0.0 {
            statistic += term(pooled.0, pooled.1);
            cells += 1;
        }
        let limit = ChiSquared::new((cells - 1) as f64)
            .expect("more than one bin")
            .inverse_cdf(0.999);
        (statistic, limit)
    }

    /// The exact samples' counts in bins of 8 x 8 cells of a fine grid (a quarter of the
    /// automatic spacing) pass a chi-square test against the grid's masses of those bins; the
    /// draws of the same model with b moved by half a sigma on one axis fail it, so the test
    /// tells a wrong distribution at this size.
    #[test]
    fn exact_samples_pass_a_chi_square_test_against_the_grid_cell_masses() {
        let m = modes_model();
        let count = 20_000;
        let grid = Grid::new(&m, 4 * auto_grid_points(&m));
        let per_bin = 8;
        let (bins, masses) = bin_masses(&m, &grid, per_bin);
        let expected: Vec<f64> = masses.iter().map(|p| p * count as f64).collect();
        let mut shifted = m.clone();
        shifted.b[0] += 0.5 * m.sigma()[0];
        for (what, drawn, agrees) in [("the model", &m, true), ("b moved", &shifted, false)] {
            let mut rng = crate::rng::GibbsRng::new(stream(8, Purpose::ExactSamples));
            let x = exact_samples_any(drawn, count, None, &mut rng);
            let observed = bin_counts(&x, &grid, per_bin, bins);
            // Pearson's (o - e)^2 / e, bins expecting fewer than 5 draws pooled.
            let (statistic, limit) = chi_square(
                observed.into_iter().zip(expected.iter().copied()),
                |_, e| e < 5.0,
                |o, e| (o - e).powi(2) / e,
            );
            println!("{what}: chi-square {statistic:.1}, 0.999 quantile {limit:.1}");
            assert_eq!(
                statistic < limit,
                agrees,
                "{what}: chi-square {statistic} against its 0.999 quantile {limit}"
            );
        }
    }

    /// Above 20 hidden units the samples are the grid's draws: at 12 units, where both exist,
    /// 40 000 grid draws (automatic grid) and 40 000 enumerated draws have the same means and
    /// covariance and the variances differ by the jitter's step^2 / 12 (each within 4 standard
    /// errors of the difference), and their counts in bins of 4 x 4 cells pass a two-sample
    /// chi-square test.
    #[test]
    fn grid_draws_agree_with_enumerated_draws_within_the_jitter() {
        let m = modes_model();
        let count = 40_000;
        let mut rng = crate::rng::GibbsRng::new(stream(9, Purpose::ExactSamples));
        let enumerated = exact_samples_any(&m, count, None, &mut rng);
        let gridded = grid_samples(&m, None, count, &mut rng);
        let grid = Grid::new(&m, auto_grid_points(&m));
        let (mean, _) = m.exact_moments();
        let within = |what: &str, a: &[f64], b: &[f64], expected_gap: f64| {
            let ((a, a_error), (b, b_error)) = (mean_and_error(a), mean_and_error(b));
            let joint = a_error.hypot(b_error);
            println!(
                "{what}: enumerated {a:.4}, grid {b:.4}, expected gap {expected_gap:.5}, joint se {joint:.4}"
            );
            assert!(
                (b - a - expected_gap).abs() < 4.0 * joint,
                "{what}: enumerated {a}, grid {b}, expected gap {expected_gap}, joint se {joint}"
            );
        };
        for i in 0..2 {
            let (a, b) = (axis_values(&enumerated, i), axis_values(&gridded, i));
            within(&format!("mean {i}"), &a, &b, 0.0);
            let squares = |v: &[f64]| v.iter().map(|v| (v - mean[i]).powi(2)).collect::<Vec<_>>();
            let jitter = grid.step[i].powi(2) / 12.0;
            within(&format!("variance {i}"), &squares(&a), &squares(&b), jitter);
        }
        within(
            "covariance",
            &cross_products(&enumerated, mean),
            &cross_products(&gridded, mean),
            0.0,
        );
        let per_bin = 4;
        let bins = grid.points.div_ceil(per_bin);
        let a = bin_counts(&enumerated, &grid, per_bin, bins);
        let b = bin_counts(&gridded, &grid, per_bin, bins);
        // Equal sample sizes: (a - b)^2 / (a + b) per bin, bins of fewer than 10 draws together
        // pooled.
        let (statistic, limit) = chi_square(
            a.into_iter().zip(b),
            |a, b| a + b < 10.0,
            |a, b| (a - b).powi(2) / (a + b),
        );
        println!("two-sample chi-square {statistic:.1}, 0.999 quantile {limit:.1}");
        assert!(
            statistic < limit,
            "two-sample chi-square {statistic}, 0.999 quantile {limit}"
        );
    }

    /// Mean and standard error of the mean (the AIS tests use it too).
    pub(crate) fn mean_and_error(values: &[f64]) -> (f64, f64) {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, (variance / n).sqrt())
    }

    #[test]
    fn models_beyond_the_product_range_take_the_direct_sum() {
        // sigma = 0.01 with W ~ 30 puts pre-activations near 10^6 at the box edges.
        let m = model(7, 8, 30.0, 0.0, [0.01, 0.01]);
        let grid = Grid::new(&m, 256);
        assert!(log_z_product(&m, &grid).is_none());
        let log_z = log_z_grid(&m, Some(256)).log_z;
        assert!(log_z.is_finite());
        assert_eq!(log_z, log_z_direct(&m, &grid));
    }
}
