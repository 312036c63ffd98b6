//! The exact log densities of two moons, rings, pinwheel, two spirals and swiss roll: by
//! quadrature over their latent variable, in closed polar form (rings), or by inverting their map
//! (pinwheel); and the complementary error function they need.
//!
//! Each density is derived from `Generator::sample` in `data/mod.rs`; its accuracy is stated on
//! its function and checked by the tests below and by the integration test of `data/mod.rs`.

// The coefficients and reference values are kept with the digits they were published with.
#![allow(clippy::excessive_precision)]

use crate::vecmath::log_sum_exp;
use std::f64::consts::{LN_2, PI, SQRT_2};
use std::sync::OnceLock;

/// `ln N(v; mean, sd^2)`.
fn log_normal(v: f64, mean: f64, sd: f64) -> f64 {
    let z = (v - mean) / sd;
    -0.5 * z * z - libm::log(sd) - 0.5 * libm::log(2.0 * PI)
}

// ---------------------------------------------------------------------------------------------
// The complementary error function: a port of FreeBSD's s_erf.c (fdlibm), whose notice follows.
//
// Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
// Developed at SunPro, a Sun Microsystems, Inc. business. Permission to use, copy, modify, and
// distribute this software is freely granted, provided that this notice is preserved.
// ---------------------------------------------------------------------------------------------

const ERX: f64 = 8.45062911510467529297e-01;
const PP: [f64; 5] = [
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
];
const QQ: [f64; 6] = [
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
];
const PA: [f64; 7] = [
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
];
const QA: [f64; 7] = [
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
];
const RA: [f64; 8] = [
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e+01,
    -6.23753324503260060396e+01,
    -1.62396669462573470355e+02,
    -1.84605092906711035994e+02,
    -8.12874355063065934246e+01,
    -9.81432934416914548592e+00,
];
const SA: [f64; 9] = [
    1.0,
    1.96512716674392571292e+01,
    1.37657754143519042600e+02,
    4.34565877475229228821e+02,
    6.45387271733267880336e+02,
    4.29008140027567833386e+02,
    1.08635005541779435134e+02,
    6.57024977031928170135e+00,
    -6.04244152148580987438e-02,
];
const RB: [f64; 7] = [
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e+01,
    -1.60636384855821916062e+02,
    -6.37566443368389627722e+02,
    -1.02509513161107724954e+03,
    -4.83519191608651397019e+02,
];
const SB: [f64; 8] = [
    1.0,
    3.03380607434824582924e+01,
    3.25792512996573918826e+02,
    1.53672958608443695994e+03,
    3.19985821950859553908e+03,
    2.55305040643316442583e+03,
    4.74528541206955367215e+02,
    -2.24409524465858183362e+01,
];

/// `c[0] + c[1] z + c[2] z^2 + ...` by Horner's rule.
fn poly(c: &[f64], z: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * z + k)
}

/// For `x >= 1.25`, fdlibm's `erfc(x) = (1/x) exp(-z^2 - 0.5625) exp((z - x)(z + x) + R/S)`
/// (z is x with its low 32 bits cleared, so the first exponent is exact): the two exponents. Its
/// rational fits hold to 2^-61 on [1.25, 28]; beyond 28, where erfc is below 1e-342, the fit is
/// used as it tends to its asymptote `ln(1/sqrt(pi))`.
fn erfc_tail_exponents(x: f64) -> (f64, f64) {
    let s = 1.0 / (x * x);
    let r_over_s = if x < 1.0 / 0.35 {
        poly(&RA, s) / poly(&SA, s)
    } else {
        poly(&RB, s) / poly(&SB, s)
    };
    let z = f64::from_bits(x.to_bits() & 0xffff_ffff_0000_0000);
    (-z * z - 0.5625, (z - x) * (z + x) + r_over_s)
}

/// `ln erfc(x)` for `x >= 1.25`, without underflow.
fn log_erfc_tail(x: f64) -> f64 {
    let (exact, rest) = erfc_tail_exponents(x);
    exact + rest - libm::log(x)
}

/// erf(x) for |x| < 0.84375, as `x + x R(x^2)`.
fn erf_small(x: f64) -> f64 {
    let z = x * x;
    x + x * (poly(&PP, z) / poly(&QQ, z))
}

/// The complementary error function, within about one unit in the last place (fdlibm's bound).
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    if a < 0.84375 {
        if a < 0.25 || x < 0.0 {
            return 1.0 - erf_small(x);
        }
        let z = x * x;
        return 0.5 - (x - 0.5 + x * (poly(&PP, z) / poly(&QQ, z)));
    }
    let tail = if a < 1.25 {
        1.0 - ERX - poly(&PA, a - 1.0) / poly(&QA, a - 1.0)
    } else {
        let (exact, rest) = erfc_tail_exponents(a);
        libm::exp(exact) * libm::exp(rest) / a
    };
    if x < 0.0 { 2.0 - tail } else { tail }
}

/// `ln erfc(x)`, finite for every finite x (for x >= 1.25 without forming erfc itself).
pub fn log_erfc(x: f64) -> f64 {
    if x >= 1.25 {
        log_erfc_tail(x)
    } else {
        libm::log(erfc(x))
    }
}

/// `ln(Phi(alpha) - Phi(beta))` for `alpha > beta`, Phi the standard normal CDF, computed from
/// the tail on the side where both arguments lie so that neither difference cancels.
fn log_normal_cdf_difference(alpha: f64, beta: f64) -> f64 {
    // Phi(z) = erfc(-z / sqrt 2) / 2 and 1 - Phi(z) = erfc(z / sqrt 2) / 2.
    let (near, far) = if beta >= 0.0 {
        (beta / SQRT_2, alpha / SQRT_2)
    } else if alpha <= 0.0 {
        (-alpha / SQRT_2, -beta / SQRT_2)
    } else {
        return libm::log(1.0 - 0.5 * erfc(alpha / SQRT_2) - 0.5 * erfc(-beta / SQRT_2));
    };
    let (log_near, log_far) = (log_erfc(near), log_erfc(far));
    -LN_2 + log_near + libm::log1p(-libm::exp(log_far - log_near))
}

// ---------------------------------------------------------------------------------------------
// Quadrature over a curve parameter.
// ---------------------------------------------------------------------------------------------

/// The m-point Gauss-Legendre rule on [-1, 1] (nodes by Newton's method on the recurrence).
fn gauss_legendre(m: usize) -> Vec<(f64, f64)> {
    (0..m)
        .map(|i| {
            let mut z = libm::cos(PI * (i as f64 + 0.75) / (m as f64 + 0.5));
            let mut derivative = 0.0;
            for _ in 0..100 {
                let (mut p1, mut p2) = (1.0, 0.0);
                for j in 1..=m {
                    let p3 = p2;
                    p2 = p1;
                    p1 = ((2 * j - 1) as f64 * z * p2 - (j - 1) as f64 * p3) / j as f64;
                }
                derivative = m as f64 * (z * p1 - p2) / (z * z - 1.0);
                let step = p1 / derivative;
                z -= step;
                if step.abs() < 1e-16 {
                    break;
                }
            }
            (z, 2.0 / ((1.0 - z * z) * derivative * derivative))
        })
        .collect()
}

/// Points per panel of the composite rules.
const GAUSS_POINTS: usize = 8;

/// The composite `GAUSS_POINTS`-point Gauss-Legendre rule on [a, b] with `panels` equal panels:
/// (node, weight) pairs.
fn composite_rule(a: f64, b: f64, panels: usize) -> Vec<(f64, f64)> {
    let base = gauss_legendre(GAUSS_POINTS);
    let h = (b - a) / panels as f64;
    (0..panels)
        .flat_map(|p| {
            let mid = a + (p as f64 + 0.5) * h;
            base.iter()
                .map(move |(z, w)| (mid + 0.5 * h * z, 0.5 * h * w))
        })
        .collect()
}

/// A density as a finite mixture: per quadrature node, the log of its weight (rule weight times
/// the latent variable's density) and where its kernel sits.
struct Nodes {
    log_weight: Vec<f64>,
    at: Vec<[f64; 2]>,
}

impl Nodes {
    fn new(terms: impl Iterator<Item = (f64, [f64; 2])>) -> Nodes {
        let (log_weight, at) = terms.map(|(w, at)| (libm::log(w), at)).unzip();
        Nodes { log_weight, at }
    }
}

/// `ln sum_k w_k N(x; at_k, sd^2 I)`.
fn log_gaussian_mixture(nodes: &Nodes, sd: f64, x: [f64; 2]) -> f64 {
    let keys: Vec<f64> = (nodes.log_weight.iter().zip(&nodes.at))
        .map(|(lw, c)| {
            let d2 = (x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2);
            lw - d2 / (2.0 * sd * sd)
        })
        .collect();
    log_sum_exp(&keys) - libm::log(2.0 * PI * sd * sd)
}

/// The rules' panels are `refine` times these; the densities use `refine = 1`, the tests compare
/// with finer rules. Each panel is at most about one noise standard deviation of the curve long.
const MOON_PANELS: usize = 48;
const SWISS_PANELS: usize = 160;
const SPIRAL_PANELS: usize = 320;

fn moon_nodes(refine: usize) -> Nodes {
    let rule = composite_rule(0.0, PI, MOON_PANELS * refine);
    Nodes::new(rule.into_iter().flat_map(|(t, w)| {
        let (s, c) = libm::sincos(t);
        // t uniform on [0, pi] (density 1/pi), either half circle with probability 1/2.
        let w = 0.5 * w / PI;
        [(w, [c - 0.5, s - 0.25]), (w, [0.5 - c, 0.25 - s])]
    }))
}

fn swiss_nodes(refine: usize) -> Nodes {
    let rule = composite_rule(1.5 * PI, 4.5 * PI, SWISS_PANELS * refine);
    Nodes::new(rule.into_iter().map(|(t, w)| {
        let (s, c) = libm::sincos(t);
        (w / (3.0 * PI), [t * c / 5.0, t * s / 5.0])
    }))
}

/// Per node, the lower corner of the square of side 1/6 over which the uniform noise spreads it.
fn spiral_nodes(refine: usize) -> Nodes {
    let top = 3.0 * PI;
    let rule = composite_rule(0.0, top, SPIRAL_PANELS * refine);
    Nodes::new(rule.into_iter().flat_map(|(n, w)| {
        let (s, c) = libm::sincos(n);
        let (mx, my) = (-n * c / 3.0, n * s / 3.0);
        // n = 3 pi sqrt(u) has density 2n / (3 pi)^2; either sign with probability 1/2.
        let w = 0.5 * w * 2.0 * n / (top * top);
        let side = SPIRAL_SIDE;
        [(w, [mx, my]), (w, [-mx - side, -my - side])]
    }))
}

/// The side of the square of the spirals' uniform noise: 0.5 u / 3.
const SPIRAL_SIDE: f64 = 0.5 / 3.0;
const SPIRAL_SD: f64 = 0.1;

/// Spiral nodes whose upper bound (see `log_spiral`) is this far below the largest are left out.
const SPIRAL_CUTOFF: f64 = 60.0;

fn log_spiral(nodes: &Nodes, x: [f64; 2]) -> f64 {
    let (side, sd) = (SPIRAL_SIDE, SPIRAL_SD);
    // Upper bound of each node's log term: Phi(alpha) - Phi(beta) <= exp(-e^2 / 2 sd^2), e the
    // distance from x to the node's square along the axis.
    let keys: Vec<f64> = (nodes.log_weight.iter().zip(&nodes.at))
        .map(|(lw, lo)| {
            let e2: f64 = (0..2)
                .map(|i| (lo[i] - x[i]).max(x[i] - lo[i] - side).max(0.0).powi(2))
                .sum();
            lw - e2 / (2.0 * sd * sd)
        })
        .collect();
    let max = keys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let terms: Vec<f64> = (0..keys.len())
        .filter(|&k| keys[k] >= max - SPIRAL_CUTOFF)
        .map(|k| {
            let lo = nodes.at[k];
            nodes.log_weight[k]
                + (0..2)
                    .map(|i| {
                        let alpha = (x[i] - lo[i]) / sd;
                        log_normal_cdf_difference(alpha, alpha - side / sd) - libm::log(side)
                    })
                    .sum::<f64>()
        })
        .collect();
    log_sum_exp(&terms)
}

static MOONS: OnceLock<Nodes> = OnceLock::new();
static SWISS: OnceLock<Nodes> = OnceLock::new();
static SPIRALS: OnceLock<Nodes> = OnceLock::new();

/// Two moons: t uniform on [0, pi], either half circle, N(0, 0.1^2) per axis; the mixture over t
/// of isotropic Gaussians by a composite 8-point Gauss-Legendre rule of 48 panels (each 0.65
/// noise standard deviations of arc). Relative error below 1e-12 where ln p > -20 (where the
/// samples lie) and 1e-10 where ln p > -50 (tested against a rule 3 times finer);
/// larger further out, where the kernels are narrower than the panels.
pub fn two_moons(x: [f64; 2]) -> f64 {
    log_gaussian_mixture(MOONS.get_or_init(|| moon_nodes(1)), 0.1, x)
}

/// Swiss roll: t uniform on [1.5 pi, 4.5 pi], (t cos t, t sin t) / 5 + N(0, 0.2^2) per axis; the
/// mixture over t by a composite 8-point Gauss-Legendre rule of 160 panels. Relative error below
/// 1e-12 (tested against a rule 3 times finer).
pub fn swiss_roll(x: [f64; 2]) -> f64 {
    log_gaussian_mixture(SWISS.get_or_init(|| swiss_nodes(1)), 0.2, x)
}

/// Two spirals: given n (density 2n / (3 pi)^2 on [0, 3 pi]), each axis is a point of the curve
/// plus uniform noise of width 1/6 plus N(0, 0.1^2), whose density is a difference of normal CDFs
/// over 1/6; the mixture over n and the sign by a composite 8-point Gauss-Legendre rule of 320
/// panels, leaving out nodes whose bound is e^-60 below the largest. Relative error below 1e-12 where
/// ln p > -20 and 1e-10 where ln p > -50 (tested against a rule 3 times finer without the cut);
/// larger further out. The error function is fdlibm's (`erfc`, within an ulp or two).
pub fn two_spirals(x: [f64; 2]) -> f64 {
    log_spiral(SPIRALS.get_or_init(|| spiral_nodes(1)), x)
}

/// Rings: radius R = 0.5 k + N(0, 0.08^2) (k uniform in 1..=4), angle uniform on [0, 2 pi). The
/// radius may be negative (the point then lies at angle + pi), so the density at x is
/// `(p_R(|x|) + p_R(-|x|)) / (2 pi |x|)`: exact in closed form (to rounding); +inf at the origin.
pub fn rings(x: [f64; 2]) -> f64 {
    let rho = libm::hypot(x[0], x[1]);
    let terms: Vec<f64> = (1..=4)
        .flat_map(|k| {
            let centre = 0.5 * k as f64;
            [rho, -rho].map(|r| log_normal(r, centre, 0.08) - libm::log(4.0))
        })
        .collect();
    log_sum_exp(&terms) - libm::log(2.0 * PI * rho)
}

/// The largest change of h (see `pinwheel_roots`) between two scanned radial values.
const PINWHEEL_SCAN: f64 = 0.02;

/// The radial values r of the pinwheel's arm starting at angle `base` that map to the point of
/// polar coordinates (2 rho, phi): the roots in [-rho, rho] of
/// `h(r) = rho cos(phi - base - 0.25 e^r) - r`, bracketed by a scan whose steps change h by at most
/// `PINWHEEL_SCAN` (h' = 0.25 e^r s - 1) and narrowed by bisection to adjacent floats.
fn pinwheel_roots(rho: f64, phi: f64, base: f64) -> Vec<f64> {
    let h = |r: f64| rho * libm::cos(phi - base - 0.25 * libm::exp(r)) - r;
    let mut roots = Vec::new();
    let (mut r0, mut h0) = (-rho, h(-rho));
    while r0 < rho {
        let step = (PINWHEEL_SCAN / (0.25 * libm::exp(r0) * rho + 1.0)).min(rho / 16.0);
        let r1 = (r0 + step).min(rho);
        let h1 = h(r1);
        if (h0 > 0.0) != (h1 > 0.0) {
            let (mut lo, mut hi) = (r0, r1);
            while hi - lo > 4.0 * f64::EPSILON * hi.abs().max(1e-300) {
                let mid = 0.5 * (lo + hi);
                if (h(mid) > 0.0) == (h0 > 0.0) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            roots.push(0.5 * (lo + hi));
        }
        (r0, h0) = (r1, h1);
    }
    roots
}

/// Pinwheel: arm k uniform in 0..5, radial r ~ N(1, 0.3^2), tangential s ~ N(0, 0.1^2),
/// a = 2 pi k / 5 + 0.25 e^r, x = 2 R(a) (r, s). Inverted exactly: |x| / 2 = |(r, s)| and the angle
/// of x is a + atan2(s, r), so r solves a 1-D equation per arm (`pinwheel_roots`, every root), then
/// s = (|x| / 2) sin(angle(x) - a) and the Jacobian of (r, s) -> x is 4 |1 - 0.25 e^r s|. Exact up
/// to rounding (roots to a few ulps; each root is checked to map back within 1e-12), except that two roots closer than one scan step near a fold of the map
/// (where 0.25 e^r s = 1, so s >= 4 e^-r: at least 5 standard deviations out) may be missed.
pub fn pinwheel(x: [f64; 2]) -> f64 {
    let rho = 0.5 * libm::hypot(x[0], x[1]);
    let phi = libm::atan2(x[1], x[0]);
    let log_prior = libm::log(0.2) - libm::log(4.0);
    if rho == 0.0 {
        // Every arm puts (r, s) = (0, 0) at the origin, with Jacobian 4.
        return log_prior + libm::log(5.0) + log_normal(0.0, 1.0, 0.3) + log_normal(0.0, 0.0, 0.1);
    }
    let terms: Vec<f64> = (0..5)
        .flat_map(|k| {
            let base = k as f64 * 2.0 * PI / 5.0;
            pinwheel_roots(rho, phi, base).into_iter().map(move |r| {
                let growth = 0.25 * libm::exp(r);
                let s = rho * libm::sin(phi - base - growth);
                log_prior + log_normal(r, 1.0, 0.3) + log_normal(s, 0.0, 0.1)
                    - libm::log((1.0 - growth * s).abs())
            })
        })
        .collect();
    log_sum_exp(&terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from mpmath at 40 digits.
    #[test]
    fn erfc_matches_reference_values_to_one_part_in_1e15() {
        let cases = [
            (1e-10, 0.99999999988716208329),
            (0.1, 0.8875370839817151016),
            (0.5, 0.47950012218695346232),
            (0.84, 0.23485728854500548266),
            (1.0, 0.15729920705028513066),
            (1.2, 0.089686021770364631634),
            (2.0, 0.0046777349810472658379),
            (2.8, 0.00007501319466545910313),
            (3.5, 7.4309837234141274552e-7),
            (5.0, 1.5374597944280348502e-12),
            (10.0, 2.088487583762544757e-45),
            (-3.0, 1.9999779095030014146),
            (-0.5, 1.52049987781304653768),
        ];
        for (x, expected) in cases {
            let rel = (erfc(x) - expected).abs() / expected;
            assert!(
                rel < 1e-15,
                "erfc({x}) = {} vs {expected}: {rel:e}",
                erfc(x)
            );
        }
        for (x, expected) in [
            (10.0, 2.088487583762544757e-45f64.ln()),
            (27.0, -732.86888650789741098),
            (30.0, -903.97411711064387808),
            (100.0, -10005.177585122664333),
        ] {
            let rel = (log_erfc(x) - expected).abs() / expected.abs();
            assert!(rel < 1e-15, "ln erfc({x}) = {} vs {expected}", log_erfc(x));
        }
    }

    #[test]
    fn normal_cdf_differences_hold_in_both_tails() {
        let phi = |z: f64| 0.5 * erfc(-z / SQRT_2);
        for (a, b) in [(0.5, -1.0), (2.0, 0.3), (-0.3, -2.0), (1.0, -1.0)] {
            let direct = (phi(a) - phi(b)).ln();
            assert!((log_normal_cdf_difference(a, b) - direct).abs() < 1e-14);
        }
        // Far tails: ln(Q(40) - Q(41.67)) ~ ln Q(40) = ln(erfc(40 / sqrt 2) / 2).
        let far = log_normal_cdf_difference(41.67, 40.0);
        let q40 = log_erfc(40.0 / SQRT_2) - LN_2;
        assert!((far - q40).abs() < 1e-12, "{far} vs {q40}");
        let mirrored = log_normal_cdf_difference(-40.0, -41.67);
        assert!((far - mirrored).abs() < 1e-12);
    }

    #[test]
    fn gauss_legendre_integrates_polynomials_of_degree_15_exactly() {
        let rule = gauss_legendre(GAUSS_POINTS);
        for degree in 0..16 {
            let sum: f64 = rule.iter().map(|(z, w)| w * z.powi(degree)).sum();
            let exact = if degree % 2 == 1 {
                0.0
            } else {
                2.0 / (degree + 1) as f64
            };
            assert!((sum - exact).abs() < 1e-14, "degree {degree}: {sum}");
        }
    }

    /// Points near and far from each curve: the generator's own samples and a coarse grid.
    fn probe_points(name: &str) -> Vec<[f64; 2]> {
        let g = super::super::Generator::by_name(name).unwrap();
        let mut rng = crate::rng::stream(11, crate::rng::Purpose::Data);
        let mut points: Vec<[f64; 2]> = (0..300).map(|_| g.sample(&mut rng)).collect();
        for a in -6..=6 {
            for b in -6..=6 {
                points.push([a as f64 * 0.7 + 0.01, b as f64 * 0.7 - 0.02]);
            }
        }
        points
    }

    /// The stated quadrature errors: each rule against one with three times the panels, where
    /// ln p > -20 (1e-12; every sample drawn lies there) and where
    /// ln p > -50 (1e-10). Further out the kernels are narrower than the panels and it grows.
    #[test]
    fn quadrature_densities_agree_with_three_times_finer_rules() {
        let (moons, swiss, spirals) = (moon_nodes(3), swiss_nodes(3), spiral_nodes(3));
        type Density<'a> = &'a dyn Fn([f64; 2]) -> f64;
        let cases: [(&str, Density, Density); 3] = [
            ("two_moons", &two_moons, &|x| {
                log_gaussian_mixture(&moons, 0.1, x)
            }),
            ("swiss_roll", &swiss_roll, &|x| {
                log_gaussian_mixture(&swiss, 0.2, x)
            }),
            ("two_spirals", &two_spirals, &|x| {
                log_spiral_uncut(&spirals, x)
            }),
        ];
        for (name, density, finer) in cases {
            for x in probe_points(name) {
                let (a, b) = (density(x), finer(x));
                // ln p to within `tolerance` is p to within that relative error.
                let tolerance = if b > -20.0 { 1e-12 } else { 1e-10 };
                if b > -50.0 {
                    assert!((a - b).abs() < tolerance, "{name} at {x:?}: {a} vs {b}");
                }
            }
        }
    }

    /// `log_spiral` with every node kept.
    fn log_spiral_uncut(nodes: &Nodes, x: [f64; 2]) -> f64 {
        let terms: Vec<f64> = (0..nodes.at.len())
            .map(|k| {
                let lo = nodes.at[k];
                nodes.log_weight[k]
                    + (0..2)
                        .map(|i| {
                            let alpha = (x[i] - lo[i]) / SPIRAL_SD;
                            log_normal_cdf_difference(alpha, alpha - SPIRAL_SIDE / SPIRAL_SD)
                                - SPIRAL_SIDE.ln()
                        })
                        .sum::<f64>()
            })
            .collect();
        log_sum_exp(&terms)
    }

    /// Every pinwheel root maps back to the point, and the density is a sum over them.
    #[test]
    fn pinwheel_roots_map_back_to_the_point() {
        for x in probe_points("pinwheel") {
            let (rho, phi) = (0.5 * x[0].hypot(x[1]), x[1].atan2(x[0]));
            for k in 0..5 {
                let base = k as f64 * 2.0 * PI / 5.0;
                let roots = pinwheel_roots(rho, phi, base);
                assert!(!roots.is_empty(), "{x:?} arm {k}");
                for r in roots {
                    let a = base + 0.25 * r.exp();
                    let s = rho * (phi - a).sin();
                    let back = [
                        2.0 * (a.cos() * r - a.sin() * s),
                        2.0 * (a.sin() * r + a.cos() * s),
                    ];
                    let miss = (back[0] - x[0]).hypot(back[1] - x[1]);
                    assert!(miss < 1e-12, "{x:?} arm {k}: r = {r} maps to {back:?}");
                }
            }
        }
    }

    /// Rings at a point of radius 1 on the ring: the closed form by hand.
    #[test]
    fn rings_density_at_a_ring() {
        let p_r: f64 = (1..=4)
            .map(|k| 0.25 * (-0.5 * ((1.0 - 0.5 * k as f64) / 0.08f64).powi(2)).exp())
            .sum::<f64>()
            / (0.08 * (2.0 * PI).sqrt());
        let expected = (p_r / (2.0 * PI)).ln();
        let x = [0.6, 0.8];
        assert!((rings(x) - expected).abs() < 1e-12);
    }
}
