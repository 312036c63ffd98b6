//! The GRBM math against independent references: the NumPy fixture, enumeration of the
//! partition function, central finite differences, and exact mixture moments.

use faer::Mat;
use grbm_sweep::estimate::{
    MAX_TRAINING_POINTS, auto_grid_points, expected_free_energy_grad_grid, log_z_grid,
    mean_log_likelihood,
};
use grbm_sweep::model::{Gradient, Grbm, Workspace};
use grbm_sweep::rng::{GibbsRng, Purpose, stream};
use rand::RngExt;
use rand_distr::StandardNormal;
use rand_pcg::Pcg64;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    hidden: usize,
    b: [f64; 2],
    sigma: [f64; 2],
    w: [Vec<f64>; 2],
    c: Vec<f64>,
    x: Vec<[f64; 2]>,
    free_energy: Vec<f64>,
    p_hidden_given_x: Vec<Vec<f64>>,
    grad_free_energy: Vec<FixtureGrad>,
    log_z: f64,
    log_likelihood: Vec<f64>,
    mean_x: [f64; 2],
    cov_x: [[f64; 2]; 2],
}

#[derive(Deserialize)]
struct FixtureGrad {
    b: [f64; 2],
    log_sigma: [f64; 2],
    w: [Vec<f64>; 2],
    c: Vec<f64>,
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/grbm_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

impl Case {
    fn model(&self) -> Grbm {
        let w = Mat::from_fn(2, self.hidden, |i, j| self.w[i][j]);
        Grbm::new(self.b, self.sigma, w, self.c.clone())
    }
}

/// |a - b| within `tol` relative to max(1, |b|).
fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn one_point(x: [f64; 2]) -> Mat<f64> {
    Mat::from_fn(1, 2, |_, i| x[i])
}

#[test]
fn fixture_free_energy_conditionals_and_gradients() {
    for (n, case) in fixture().cases.iter().enumerate() {
        let model = case.model();
        let mut ws = Workspace::new(1, case.hidden);
        let mut grad = Gradient::zeros(case.hidden);
        for (p, x) in case.x.iter().enumerate() {
            let f = model.free_energy(*x);
            assert!(
                close(f, case.free_energy[p], 1e-12),
                "case {n} point {p}: F {f} vs {}",
                case.free_energy[p]
            );
            model.mean_free_energy_grad(one_point(*x).as_ref(), &mut ws, &mut grad);
            for j in 0..case.hidden {
                let h = ws.hidden_probs[(0, j)];
                assert!(
                    (h - case.p_hidden_given_x[p][j]).abs() < 1e-12,
                    "case {n}: p(z_{j}|x) {h}"
                );
            }
            let want = &case.grad_free_energy[p];
            for i in 0..2 {
                assert!(close(grad.b[i], want.b[i], 1e-10), "case {n}: dF/db{i}");
                assert!(
                    close(grad.log_sigma[i], want.log_sigma[i], 1e-10),
                    "case {n}: dF/ds{i}"
                );
                for j in 0..case.hidden {
                    assert!(
                        close(grad.w[(i, j)], want.w[i][j], 1e-10),
                        "case {n}: dF/dW{i}{j}"
                    );
                }
            }
            for j in 0..case.hidden {
                assert!(close(grad.c[j], want.c[j], 1e-10), "case {n}: dF/dc{j}");
            }
        }
    }
}

#[test]
fn fixture_log_z_log_likelihood_and_moments() {
    for (n, case) in fixture().cases.iter().enumerate() {
        let model = case.model();
        let exact = model.log_z_exact().unwrap();
        assert!(
            close(exact, case.log_z, 1e-12),
            "case {n}: enumeration {exact} vs {}",
            case.log_z
        );
        let grid = log_z_grid(&model, None);
        assert!(
            (grid.log_z - case.log_z).abs() < 1e-8,
            "case {n}: grid {} vs {}",
            grid.log_z,
            case.log_z
        );
        for (p, x) in case.x.iter().enumerate() {
            let ll = mean_log_likelihood(&model, exact, &[*x]);
            assert!(
                close(ll, case.log_likelihood[p], 1e-11),
                "case {n} point {p}: ll {ll}"
            );
        }
        let (mean, cov) = model.exact_moments();
        for a in 0..2 {
            assert!(close(mean[a], case.mean_x[a], 1e-10), "case {n}: mean");
            for b in 0..2 {
                assert!(
                    close(cov[a][b], case.cov_x[a][b], 1e-9),
                    "case {n}: cov {a}{b}"
                );
            }
        }
    }
}

/// A random model: sigma per axis from 0.2 to 2.7, W entries of a random scale up to 3.
fn random_model(rng: &mut Pcg64, n: usize) -> Grbm {
    let mut normal = || -> f64 { rng.sample(StandardNormal) };
    let b = [2.0 * normal(), 2.0 * normal()];
    let w_scale = 0.1 + 2.9 * normal().abs().min(1.0);
    let w = Mat::from_fn(2, n, |_, _| w_scale * normal());
    let c = (0..n).map(|_| 1.5 * normal()).collect();
    let mut uniform = |lo: f64, hi: f64| lo + (hi - lo) * rng.random::<f64>();
    let sigma = [uniform(-1.6, 1.0).exp(), uniform(-1.6, 1.0).exp()];
    Grbm::new(b, sigma, w, c)
}

#[test]
fn grid_log_z_matches_enumeration_on_random_models() {
    let mut rng = stream(2024, Purpose::Init);
    let mut worst: f64 = 0.0;
    for m in 0..128 {
        let n = 1 + m % 16;
        let model = random_model(&mut rng, n);
        let exact = model.log_z_exact().unwrap();
        let grid = log_z_grid(&model, None);
        let err = (grid.log_z - exact).abs();
        worst = worst.max(err);
        assert!(
            err < 1e-8,
            "model {m} (n = {n}, sigma = {:?}): grid {} vs exact {exact} with {} points",
            model.sigma(),
            grid.log_z,
            grid.points
        );
    }
    eprintln!("worst |grid - exact| over 128 models: {worst:e}");
}

#[test]
fn gradients_of_free_energy_match_central_differences() {
    let mut rng = stream(7, Purpose::Init);
    for n in [1, 3, 8] {
        let model = random_model(&mut rng, n);
        let x = [
            rng.sample::<f64, _>(StandardNormal) * 2.0,
            rng.sample::<f64, _>(StandardNormal) * 2.0,
        ];
        let mut ws = Workspace::new(1, n);
        let mut grad = Gradient::zeros(n);
        model.mean_free_energy_grad(one_point(x).as_ref(), &mut ws, &mut grad);
        check_against_central_differences(&model, &grad, |m| m.free_energy(x));
    }
}

/// Every entry of `grad` equals the central difference of `f` in that parameter (step 1e-6,
/// relative tolerance 1e-6).
fn check_against_central_differences(model: &Grbm, grad: &Gradient, f: impl Fn(&Grbm) -> f64) {
    let eps = 1e-6;
    let n = model.n_hidden();
    let numeric = |perturb: &dyn Fn(&mut Grbm, f64)| {
        let (mut plus, mut minus) = (model.clone(), model.clone());
        perturb(&mut plus, eps);
        perturb(&mut minus, -eps);
        (f(&plus) - f(&minus)) / (2.0 * eps)
    };
    let check = |what: String, analytic: f64, numeric: f64| {
        assert!(
            (analytic - numeric).abs() <= 1e-6 * numeric.abs().max(1.0),
            "n = {n}, {what}: {analytic} vs {numeric}"
        );
    };
    for i in 0..2 {
        check(format!("b{i}"), grad.b[i], numeric(&|m, d| m.b[i] += d));
        check(
            format!("ln sigma{i}"),
            grad.log_sigma[i],
            numeric(&|m, d| m.log_sigma[i] += d),
        );
        for j in 0..n {
            check(
                format!("W{i}{j}"),
                grad.w[(i, j)],
                numeric(&|m, d| m.w[(i, j)] += d),
            );
        }
    }
    for j in 0..n {
        check(format!("c{j}"), grad.c[j], numeric(&|m, d| m.c[j] += d));
    }
}

#[test]
fn batched_gradient_is_the_mean_of_pointwise_gradients() {
    let mut rng = stream(11, Purpose::Init);
    let n = 5;
    let model = random_model(&mut rng, n);
    let points: Vec<[f64; 2]> = (0..7)
        .map(|_| [rng.sample(StandardNormal), rng.sample(StandardNormal)])
        .collect();
    let batch = Mat::from_fn(points.len(), 2, |r, i| points[r][i]);
    let mut ws = Workspace::new(points.len(), n);
    let mut batched = Gradient::zeros(n);
    model.mean_free_energy_grad(batch.as_ref(), &mut ws, &mut batched);
    let mut mean = Gradient::zeros(n);
    let mut one = Gradient::zeros(n);
    let mut ws1 = Workspace::new(1, n);
    for p in &points {
        model.mean_free_energy_grad(one_point(*p).as_ref(), &mut ws1, &mut one);
        for i in 0..2 {
            mean.b[i] += one.b[i] / 7.0;
            mean.log_sigma[i] += one.log_sigma[i] / 7.0;
            for j in 0..n {
                mean.w[(i, j)] += one.w[(i, j)] / 7.0;
            }
        }
        for j in 0..n {
            mean.c[j] += one.c[j] / 7.0;
        }
    }
    let mut diff = batched.clone();
    for i in 0..2 {
        diff.b[i] -= mean.b[i];
        diff.log_sigma[i] -= mean.log_sigma[i];
        for j in 0..n {
            diff.w[(i, j)] -= mean.w[(i, j)];
        }
    }
    for j in 0..n {
        diff.c[j] -= mean.c[j];
    }
    assert!(
        diff.norm() < 1e-12 * batched.norm().max(1.0),
        "difference {}",
        diff.norm()
    );
}

/// Independent chains from x = 0, 200 Gibbs steps each, last state kept: nearly
/// i.i.d. draws from p(x). Tolerance: 5 standard errors, each estimated from the draws themselves.
#[test]
fn gibbs_sampler_matches_exact_mixture_moments() {
    let w = Mat::from_fn(2, 3, |i, j| [[1.2, -0.8, 0.5], [0.4, 1.0, -1.1]][i][j]);
    let model = Grbm::new([0.3, -0.2], [0.9, 0.7], w, vec![-0.5, 0.2, 0.1]);
    let (mean, cov) = model.exact_moments();
    let chains = 20000;
    let mut rng = GibbsRng::new(stream(5, Purpose::Samples));
    let mut x = Mat::<f64>::zeros(chains, 2);
    let mut ws = Workspace::new(chains, 3);
    model.gibbs_steps(x.as_mut(), 200, &mut ws, &mut rng);
    let samples: Vec<[f64; 2]> = (0..chains).map(|r| [x[(r, 0)], x[(r, 1)]]).collect();
    let n = samples.len() as f64;
    let m = [0, 1].map(|a| samples.iter().map(|s| s[a]).sum::<f64>() / n);
    for a in 0..2 {
        let se = (cov[a][a] / n).sqrt();
        assert!(
            (m[a] - mean[a]).abs() < 5.0 * se,
            "mean[{a}]: {} vs exact {} (se {se})",
            m[a],
            mean[a]
        );
        for b in 0..2 {
            let products: Vec<f64> = samples
                .iter()
                .map(|s| (s[a] - m[a]) * (s[b] - m[b]))
                .collect();
            let c = products.iter().sum::<f64>() / n;
            let spread = (products.iter().map(|p| (p - c).powi(2)).sum::<f64>() / n).sqrt();
            let se = spread / n.sqrt();
            assert!(
                (c - cov[a][b]).abs() < 5.0 * se,
                "cov[{a}][{b}]: {c} vs exact {} (se {se})",
                cov[a][b]
            );
        }
    }
}

/// log p_data(x) = log p_std((x - m) / s) - ln s1 - ln s2, with both sides' log Z by enumeration.
#[test]
fn unit_conversion_preserves_log_likelihood_up_to_the_jacobian() {
    let mut rng = stream(3, Purpose::Init);
    for n in [1, 4, 9] {
        let model = random_model(&mut rng, n);
        let shift = [3.0 * rng.sample::<f64, _>(StandardNormal), -2.0];
        let scale = [0.3 + rng.random::<f64>() * 4.0, 2.5];
        let converted = model.to_data_units(shift, scale);
        let (lz, lz_data) = (
            model.log_z_exact().unwrap(),
            converted.log_z_exact().unwrap(),
        );
        let jacobian = scale[0].ln() + scale[1].ln();
        for _ in 0..5 {
            let x_data = [
                rng.sample::<f64, _>(StandardNormal) * 5.0,
                rng.sample::<f64, _>(StandardNormal) * 5.0,
            ];
            let x_std = [
                (x_data[0] - shift[0]) / scale[0],
                (x_data[1] - shift[1]) / scale[1],
            ];
            let ll_data = mean_log_likelihood(&converted, lz_data, &[x_data]);
            let ll_std = mean_log_likelihood(&model, lz, &[x_std]);
            assert!(
                (ll_data - (ll_std - jacobian)).abs() < 1e-9,
                "n = {n}: {ll_data} vs {}",
                ll_std - jacobian
            );
        }
    }
}

/// The vectorized sum of free energies (one logarithm per point, products of 1 + e^-|u|) equals
/// the scalar softplus sum, including past 512 hidden units where the products are folded.
/// The exact negative phase, E_p(x)[dF/dtheta], equals -d log Z / dtheta: checked against central
/// differences of log Z by enumeration, for every parameter.
#[test]
fn exact_expected_gradient_is_minus_the_gradient_of_log_z() {
    let mut rng = stream(23, Purpose::Init);
    for n in [1, 4, 9] {
        let model = random_model(&mut rng, n);
        let mut grad = Gradient::zeros(n);
        model.expected_free_energy_grad(&mut grad);
        check_against_central_differences(&model, &grad, |m| -m.log_z_exact().unwrap());
    }
}

#[test]
fn batched_free_energy_equals_the_scalar_sum() {
    let mut rng = stream(17, Purpose::Init);
    // Pre-activations near 0 make every factor about 2: 1100 of them overflow f64 unless folded.
    let flat = Grbm::new(
        [0.0; 2],
        [1.0; 2],
        Mat::from_fn(2, 1100, |_, _| 1e-3),
        vec![0.0; 1100],
    );
    for (n, model) in [1, 7, 64, 700, 1100].map(|n| {
        let model = if n == 1100 {
            flat.clone()
        } else {
            random_model(&mut rng, n)
        };
        (n, model)
    }) {
        let points: Vec<[f64; 2]> = (0..1500)
            .map(|_| {
                let x: [f64; 2] = [rng.sample(StandardNormal), rng.sample(StandardNormal)];
                [3.0 * x[0], 3.0 * x[1]]
            })
            .collect();
        let scalar: f64 = points.iter().map(|x| model.free_energy(*x)).sum();
        let batched = model.sum_free_energy(&points);
        assert!(
            (batched - scalar).abs() <= 1e-12 * scalar.abs().max(1.0),
            "n = {n}: batched {batched} vs scalar {scalar}"
        );
    }
}

/// log Z by the unit-by-unit enumeration (vectorized passes over arrays of states) equals log Z
/// with every state's c.z and W z summed from scratch, at 14 hidden units (16384 states).
#[test]
fn unit_by_unit_enumeration_equals_direct_sums() {
    let mut rng = stream(31, Purpose::Init);
    for n in [3, 14] {
        let model = random_model(&mut rng, n);
        let sigma = model.sigma();
        let log_weights: Vec<f64> = (0..1usize << n)
            .map(|state| {
                let on: Vec<usize> = (0..n).filter(|j| state >> j & 1 == 1).collect();
                let mut log_weight: f64 = on.iter().map(|&j| model.c[j]).sum();
                for i in 0..2 {
                    let wz: f64 = on.iter().map(|&j| model.w[(i, j)]).sum();
                    log_weight += (wz * wz + 2.0 * wz * model.b[i]) / (2.0 * sigma[i] * sigma[i])
                        + (sigma[i] * (2.0 * std::f64::consts::PI).sqrt()).ln();
                }
                log_weight
            })
            .collect();
        let max = log_weights
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let direct = max
            + log_weights
                .iter()
                .map(|w| (w - max).exp())
                .sum::<f64>()
                .ln();
        let walked = model.log_z_exact().unwrap();
        assert!(
            (walked - direct).abs() <= 1e-12 * direct.abs().max(1.0),
            "n = {n}: {walked} vs {direct}"
        );
    }
}

/// The largest difference between two gradients in each parameter group (b, ln sigma, W, c),
/// relative to the group's largest entry in `exact` (at least 1e-3, so that a group whose entries
/// all vanish is compared absolutely).
fn group_errors(grid: &Gradient, exact: &Gradient) -> [f64; 4] {
    let n = exact.c.len();
    let rel = |pairs: Vec<(f64, f64)>| {
        let scale = pairs.iter().map(|p| p.1.abs()).fold(1e-3, f64::max);
        pairs.iter().map(|p| (p.0 - p.1).abs()).fold(0.0, f64::max) / scale
    };
    let w = (0..n).flat_map(|j| [0, 1].map(|i| (grid.w[(i, j)], exact.w[(i, j)])));
    [
        rel((0..2).map(|i| (grid.b[i], exact.b[i])).collect()),
        rel((0..2)
            .map(|i| (grid.log_sigma[i], exact.log_sigma[i]))
            .collect()),
        rel(w.collect()),
        rel((0..n).map(|j| (grid.c[j], exact.c[j])).collect()),
    ]
}

/// The grid negative phase (`sampler = "grid"`) is the enumerated expectation: p(x) times each
/// entry of dF/dtheta is a sum of Gaussians times polynomials of degree <= 2, on which the
/// equal-weight sum at spacing sigma/2 converges like exp(-2 pi^2 * 4) ~ 1e-34, and the box loses
/// exp(-50) of the mass; what remains is rounding in sums over up to 10^6 points, about 1e-12. 1e-9
/// relative per parameter group leaves room for that and nothing else.
#[test]
fn grid_expected_gradient_matches_enumeration_on_random_models() {
    let mut rng = stream(2025, Purpose::Init);
    let mut worst: f64 = 0.0;
    for m in 0..64 {
        let n = 1 + m % 8;
        let model = random_model(&mut rng, n);
        let (mut grid, mut exact) = (Gradient::zeros(n), Gradient::zeros(n));
        model.expected_free_energy_grad(&mut exact);
        let points = expected_free_energy_grad_grid(&model, None, &mut grid);
        let errors = group_errors(&grid, &exact);
        worst = errors.iter().copied().fold(worst, f64::max);
        assert!(
            errors.iter().all(|e| *e < 1e-9),
            "model {m} (n = {n}, sigma = {:?}, {points} points): errors (b, ln sigma, W, c) {errors:?}",
            model.sigma(),
        );
    }
    eprintln!("worst relative group error over 64 models: {worst:e}");
}

/// The training cap of 256 points per axis: models whose box spans 150 to 250 sigmas on its wider
/// axis, where the automatic rule asks for 301 to 501 points, get a spacing of up to 0.98 sigma at
/// the cap, and the gradient still agrees with enumeration to 1e-7 relative per group (the
/// trapezoid error bound exp(-2 pi^2 sigma^2 / h^2) of a Gaussian's mass is 1.2e-9 at
/// h = 0.98 sigma, and about 40 times that for the second moments behind the ln sigma gradient).
#[test]
fn grid_expected_gradient_at_the_training_cap_is_still_accurate() {
    let mut rng = stream(2026, Purpose::Init);
    let mut worst: f64 = 0.0;
    for m in 0..16 {
        let n = 4 + m % 5;
        let mut model = random_model(&mut rng, n);
        // Scale W until the box spans 150 to 250 sigmas on its wider axis.
        let sigma = model.sigma();
        let span: f64 = (0..2)
            .map(|i| (0..n).map(|j| model.w[(i, j)].abs()).sum::<f64>() / sigma[i])
            .fold(0.0, f64::max);
        let factor = (150.0 + 100.0 * m as f64 / 15.0 - 20.0) / span;
        for j in 0..n {
            model.w[(0, j)] *= factor;
            model.w[(1, j)] *= factor;
        }
        let auto = auto_grid_points(&model);
        assert!(auto > MAX_TRAINING_POINTS, "auto {auto}");
        let (mut grid, mut exact) = (Gradient::zeros(n), Gradient::zeros(n));
        model.expected_free_energy_grad(&mut exact);
        expected_free_energy_grad_grid(&model, Some(MAX_TRAINING_POINTS), &mut grid);
        let errors = group_errors(&grid, &exact);
        worst = errors.iter().copied().fold(worst, f64::max);
        assert!(
            errors.iter().all(|e| *e < 1e-7),
            "model {m} (n = {n}, auto {auto} points): errors (b, ln sigma, W, c) {errors:?}"
        );
    }
    eprintln!("worst relative group error at the cap over 16 models: {worst:e}");
}
