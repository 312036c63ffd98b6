//! Elementwise kernels (exp, sigmoid, Bernoulli draws, column sums) written so the compiler vectorizes them, run with the widest vector instructions the CPU has.
//!
//! Every kernel uses only IEEE additions, multiplications, divisions, comparisons, bit
//! operations and fused multiply-adds written as `mul_add` (which is exactly rounded wherever it
//! runs: an instruction on AVX2 and AVX-512 CPUs, a library call elsewhere), and sums in a fixed
//! order. So the baseline, AVX2 and AVX-512 versions of a kernel give bit-identical results,
//! and a sweep reproduces on any x86-64 machine.
//!
//! Kernels work on blocks of [`W`] values, the last block of a slice padded: a batch of 100
//! rows is 13 vector blocks rather than 12 blocks and 4 slow scalar iterations.

/// Defines a function whose body is compiled three times on x86-64 (baseline, AVX2 + FMA,
/// AVX-512) and picks the widest version this CPU supports at each call. The check is a cached load.
macro_rules! vectorized {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn kernel($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,fma")]
                fn avx512($($arg: $ty),*) $(-> $ret)? { kernel($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? { kernel($($arg),*) }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has just been checked for the enabled features.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            kernel($($arg),*)
        }
    };
}
pub(crate) use vectorized;

/// Values per block: one AVX-512 register of f64, two AVX2 registers.
pub const W: usize = 8;
pub type Block = [f64; W];

/// Adds the partial sums of a block in a fixed order, so the result does not depend on the CPU.
#[inline(always)]
fn combine(acc: Block) -> f64 {
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// e^x with relative error below 2.5 x 2^-52 (about 2 ulp) for |x| <= 700; arguments beyond are clamped to +-700 (e^-700 ~ 1e-304), which
/// no caller can tell apart from the true value: sigmoids saturate far earlier.
///
/// Branch-free so that loops over it vectorize: x = k ln2 + r with |r| <= ln2/2 (Cody-Waite), e^r
/// by its Taylor series to degree 13 (truncation below 2e-17 relative), times 2^k built from bits.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // 1.5 * 2^52: adding it rounds to an integer, which then sits in the low mantissa bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    // ln 2 split so that k * LN2_HI is exact for |k| < 2^20 (fdlibm's constants).
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    let x = x.clamp(-700.0, 700.0);
    let shifted = x.mul_add(std::f64::consts::LOG2_E, SHIFTER);
    let k = shifted - SHIFTER;
    let r = (-k).mul_add(LN2_LO, (-k).mul_add(LN2_HI, x));
    // Estrin's scheme: the terms of Horner's rule with a dependency chain a third as long, so
    // that several blocks of a loop are in flight at once.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let pair = |a: f64, b: f64| b.mul_add(r, a);
    let low = pair(1.0 / 24.0, 1.0 / 120.0)
        .mul_add(r4, pair(1.0 / 2.0, 1.0 / 6.0).mul_add(r2, pair(1.0, 1.0)))
        + pair(1.0 / 720.0, 1.0 / 5_040.0) * (r2 * r4);
    let high = pair(1.0 / 479_001_600.0, 1.0 / 6_227_020_800.0).mul_add(
        r4,
        pair(1.0 / 3_628_800.0, 1.0 / 39_916_800.0)
            .mul_add(r2, pair(1.0 / 40_320.0, 1.0 / 362_880.0)),
    );
    let p = high.mul_add(r8, low);
    let k_int = shifted.to_bits().wrapping_sub(SHIFTER.to_bits());
    p * f64::from_bits(k_int.wrapping_add(1023) << 52)
}

/// The logistic function 1 / (1 + e^-a).
#[inline(always)]
pub fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + exp(-a))
}

/// The pre-activation `c + x1 w1 + x2 w2` of one hidden unit, the same expression everywhere.
#[inline(always)]
pub fn preactivation(c: f64, x1: f64, x2: f64, w1: f64, w2: f64) -> f64 {
    x2.mul_add(w2, x1.mul_add(w1, c))
}

/// Splits `len` values into whole blocks and the rest: the exp kernels run on the whole blocks
/// in place, then once more on a padded copy of the rest, since a scalar remainder of a 100-row
/// batch would take as long as the 12 whole blocks before it.
#[inline(always)]
fn split(len: usize) -> (usize, usize) {
    let whole = len / W * W;
    (whole, len - whole)
}

/// The values of `s` from `start` (at most `W`) in a block padded with zeros.
#[inline(always)]
fn padded(s: &[f64], start: usize) -> Block {
    let mut block = [0.0; W];
    let n = (s.len() - start).min(W);
    block[..n].copy_from_slice(&s[start..start + n]);
    block
}

#[inline(always)]
fn sigmoid_loop(x1: &[f64], x2: &[f64], c: f64, w1: f64, w2: f64, out: &mut [f64]) {
    for ((o, a), b) in out.iter_mut().zip(x1).zip(x2) {
        *o = sigmoid(preactivation(c, *a, *b, w1, w2));
    }
}

vectorized! {
    /// `out[r] = sigmoid(c + x1[r] w1 + x2[r] w2)`: one column of p(z|x) for a batch whose
    /// visible values are already divided by sigma^2.
    pub fn sigmoid_column(x1: &[f64], x2: &[f64], c: f64, w1: f64, w2: f64, out: &mut [f64]) {
        let (whole, rest) = split(out.len());
        sigmoid_loop(&x1[..whole], &x2[..whole], c, w1, w2, &mut out[..whole]);
        if rest > 0 {
            let mut last = [0.0; W];
            sigmoid_loop(&padded(x1, whole), &padded(x2, whole), c, w1, w2, &mut last);
            out[whole..].copy_from_slice(&last[..rest]);
        }
    }
}

#[inline(always)]
fn bernoulli_loop(x1: &[f64], x2: &[f64], c: f64, w1: f64, w2: f64, u: &[f64], z: &mut [f64]) {
    for (((z, a), b), u) in z.iter_mut().zip(x1).zip(x2).zip(u) {
        let e = exp(-preactivation(c, *a, *b, w1, w2));
        *z = if u * e < 1.0 - u { 1.0 } else { 0.0 };
    }
}

vectorized! {
    /// `z[r] = 1` with probability `sigmoid(c + x1[r] w1 + x2[r] w2)`, else 0, given uniform draws
    /// `u` in [0, 1). `u < 1 / (1 + e)` is tested as `u e < 1 - u`, which needs no division.
    pub fn bernoulli_column(
        x1: &[f64],
        x2: &[f64],
        c: f64,
        w1: f64,
        w2: f64,
        u: &[f64],
        z: &mut [f64],
    ) {
        let (whole, rest) = split(z.len());
        bernoulli_loop(&x1[..whole], &x2[..whole], c, w1, w2, &u[..whole], &mut z[..whole]);
        if rest > 0 {
            let mut last = [0.0; W];
            let (a, b, v) = (padded(x1, whole), padded(x2, whole), padded(u, whole));
            bernoulli_loop(&a, &b, c, w1, w2, &v, &mut last);
            z[whole..].copy_from_slice(&last[..rest]);
        }
    }
}

vectorized! {
    /// `z[r] = 1` where `u[r] < p[r]`, else 0.
    pub fn bernoulli_from_probs(p: &[f64], u: &[f64], z: &mut [f64]) {
        for ((z, p), u) in z.iter_mut().zip(p).zip(u) {
            *z = if u < p { 1.0 } else { 0.0 };
        }
    }
}

vectorized! {
    /// `[sum(x1 h), sum(x2 h), sum(h)]` in one pass: a column's contribution to the gradients
    /// of W and c. Each is summed in `W` interleaved partial sums.
    pub fn column_moments(x1: &[f64], x2: &[f64], h: &[f64]) -> [f64; 3] {
        let mut acc = [[0.0; W]; 3];
        let (whole, _) = split(h.len());
        let blocks = x1[..whole].chunks_exact(W).zip(x2[..whole].chunks_exact(W));
        for ((a, b), h) in blocks.zip(h[..whole].chunks_exact(W)) {
            for l in 0..W {
                acc[0][l] = a[l].mul_add(h[l], acc[0][l]);
                acc[1][l] = b[l].mul_add(h[l], acc[1][l]);
                acc[2][l] += h[l];
            }
        }
        for (l, r) in (whole..h.len()).enumerate() {
            acc[0][l] = x1[r].mul_add(h[r], acc[0][l]);
            acc[1][l] = x2[r].mul_add(h[r], acc[1][l]);
            acc[2][l] += h[r];
        }
        acc.map(combine)
    }
}

vectorized! {
    /// `out1 += w1 z` and `out2 += w2 z`: one hidden unit's share of `W z` for both visible axes.
    pub fn add_weighted_column(z: &[f64], w1: f64, w2: f64, out1: &mut [f64], out2: &mut [f64]) {
        for ((z, o1), o2) in z.iter().zip(out1.iter_mut()).zip(out2.iter_mut()) {
            *o1 = z.mul_add(w1, *o1);
            *o2 = z.mul_add(w2, *o2);
        }
    }
}

vectorized! {
    /// For one hidden unit, `positive[r] += max(u, 0)` and `product[r] *= 1 + e^-|u|` with
    /// `u = c + x1[r] w1 + x2[r] w2`: softplus(u) split so that only one logarithm per point
    /// is needed, `ln(product)`, however many units are added (each factor is at most 2).
    pub fn add_softplus_column(
        x1: &[f64],
        x2: &[f64],
        c: f64,
        w1: f64,
        w2: f64,
        positive: &mut [f64],
        product: &mut [f64],
    ) {
        let rows = x1.iter().zip(x2).zip(positive.iter_mut()).zip(product.iter_mut());
        for (((a, b), pos), prod) in rows {
            let u = preactivation(c, *a, *b, w1, w2);
            *pos += u.max(0.0);
            *prod *= 1.0 + exp(-u.abs());
        }
    }
}

vectorized! {
    /// `ln(sum(exp(v)))` without overflow; `-inf` for an empty slice, the max if it is not finite.
    pub fn log_sum_exp(values: &[f64]) -> f64 {
        let (whole, _) = split(values.len());
        let mut top = [f64::NEG_INFINITY; W];
        for block in values[..whole].chunks_exact(W) {
            for l in 0..W {
                top[l] = top[l].max(block[l]);
            }
        }
        let max = values[whole..].iter().chain(&top).copied().fold(f64::NEG_INFINITY, f64::max);
        if !max.is_finite() {
            return max;
        }
        let mut acc = [0.0; W];
        for block in values[..whole].chunks_exact(W) {
            for l in 0..W {
                // -inf values add nothing; `exp` alone would clamp them to e^-700.
                let (v, e) = (block[l], exp(block[l] - max));
                acc[l] += if v == f64::NEG_INFINITY { 0.0 } else { e };
            }
        }
        for (l, v) in values[whole..].iter().enumerate() {
            acc[l] += if *v == f64::NEG_INFINITY { 0.0 } else { exp(v - max) };
        }
        max + combine(acc).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error in units of 2^-52.
    fn ulps(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs() / f64::EPSILON
    }

    #[test]
    fn exp_is_within_two_and_a_half_epsilon_of_libm_and_clamps_far_arguments() {
        let mut worst: f64 = 0.0;
        for i in 0..=1_400_000 {
            let x = -700.0 + i as f64 * 1e-3 + 1e-7 * (i % 7) as f64;
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2.5, "worst relative error {worst} x 2^-52");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1e6), exp(-700.0));
        assert_eq!(exp(1e6), exp(700.0));
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn sigmoid_matches_the_definition_and_saturates() {
        for i in -4000..=4000 {
            let a = i as f64 * 0.01;
            let reference = 1.0 / (1.0 + (-a).exp());
            assert!(ulps(sigmoid(a), reference) <= 3.0, "a = {a}");
        }
        assert_eq!(sigmoid(800.0), 1.0);
        assert!(sigmoid(-800.0) < 1e-300);
    }

    #[test]
    fn vector_kernels_equal_their_scalar_definitions_bit_for_bit() {
        // Odd lengths exercise the remainders after the 8-wide chunks.
        let n = 203;
        let x1: Vec<f64> = (0..n).map(|r| (r as f64 * 0.37).sin() * 3.0).collect();
        let x2: Vec<f64> = (0..n).map(|r| (r as f64 * 0.11).cos() * 2.0).collect();
        let u: Vec<f64> = (0..n)
            .map(|r| ((r * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let (c, w1, w2) = (0.3, -1.7, 2.2);
        let mut probs = vec![0.0; n];
        sigmoid_column(&x1, &x2, c, w1, w2, &mut probs);
        let mut z = vec![0.0; n];
        bernoulli_column(&x1, &x2, c, w1, w2, &u, &mut z);
        let mut z_from_probs = vec![0.0; n];
        bernoulli_from_probs(&probs, &u, &mut z_from_probs);
        for r in 0..n {
            let pre = preactivation(c, x1[r], x2[r], w1, w2);
            assert_eq!(probs[r], sigmoid(pre));
            assert_eq!(z[r], if u[r] < sigmoid(pre) { 1.0 } else { 0.0 }, "row {r}");
            assert_eq!(z_from_probs[r], z[r]);
        }
        let moments = column_moments(&x1, &x2, &probs);
        let naive = [
            x1.iter().zip(&probs).map(|(a, h)| a * h).sum::<f64>(),
            x2.iter().zip(&probs).map(|(b, h)| b * h).sum::<f64>(),
            probs.iter().sum::<f64>(),
        ];
        for m in 0..3 {
            assert!((moments[m] - naive[m]).abs() < 1e-12, "moment {m}");
        }
        let (mut out1, mut out2) = (x1.clone(), x2.clone());
        add_weighted_column(&z, w1, w2, &mut out1, &mut out2);
        for r in 0..n {
            assert_eq!(out1[r], z[r].mul_add(w1, x1[r]));
            assert_eq!(out2[r], z[r].mul_add(w2, x2[r]));
        }
        let lse = log_sum_exp(&x1);
        let naive_lse = x1.iter().map(|v| v.exp()).sum::<f64>().ln();
        assert!((lse - naive_lse).abs() < 1e-14);
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
        assert_eq!(log_sum_exp(&[1e308, 1e308]), 1e308 + 2f64.ln());
    }
}
