//! Elementwise kernels (exp, sigmoid, Bernoulli draws, column sums) written so the compiler vectorizes them, run with the widest vector instructions the CPU has.
//!
//! Every kernel uses only IEEE additions, multiplications, divisions, comparisons, bit
//! operations and fused multiply-adds written as `mul_add` (which is exactly rounded wherever it
//! runs: an instruction on AVX2 and AVX-512 CPUs, elsewhere the software `fma` that Rust links
//! into the binary, not the C library's), and sums in a fixed order; the one logarithm a kernel
//! may end with is the `libm` crate's. So the baseline, AVX2 and AVX-512 versions of a kernel
//! give bit-identical results, and with the `libm` crate for the maths outside the kernels a
//! sweep's tables are the same on any x86-64 CPU and with any C library
//! (docs/reproducibility.md).
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
                match $crate::vecmath::InstructionSet::detect() {
                    // SAFETY: `detect` has checked the CPU for the enabled features.
                    $crate::vecmath::InstructionSet::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    $crate::vecmath::InstructionSet::Avx2Fma => return unsafe { avx2($($arg),*) },
                    $crate::vecmath::InstructionSet::Baseline => {}
                }
            }
            kernel($($arg),*)
        }
    };
}
pub(crate) use vectorized;

/// The instruction sets the kernels are compiled for, widest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstructionSet {
    /// AVX-512 F and DQ with FMA.
    Avx512,
    /// AVX2 with FMA.
    Avx2Fma,
    /// Whatever the target guarantees (SSE2 on x86-64).
    Baseline,
}

impl InstructionSet {
    /// The widest set this CPU runs, which every kernel uses. The check is a cached load.
    #[inline(always)]
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return InstructionSet::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return InstructionSet::Avx2Fma;
            }
        }
        InstructionSet::Baseline
    }

    pub fn name(self) -> &'static str {
        match self {
            InstructionSet::Avx512 => "avx512",
            InstructionSet::Avx2Fma => "avx2+fma",
            InstructionSet::Baseline => "baseline",
        }
    }
}

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

/// ln(x) for x > 0 (normal, finite), within about 2 ulp. Branch-free: x = m 2^e with m in
/// [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s) with s = (m - 1)/(m + 1), |s| <= 0.1716, by its
/// series to s^21 (truncation below 1e-17).
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    const MANTISSA: u64 = 0x000F_FFFF_FFFF_FFFF;
    // Mantissas at or above sqrt(2) are halved (and the exponent raised) to land in range.
    const SQRT2_MANTISSA: u64 = 0x0006_A09E_667F_3BCD;
    let bits = x.to_bits();
    let high = u64::from(bits & MANTISSA >= SQRT2_MANTISSA);
    let exponent = ((bits >> 52) as i64 - 1023 + high as i64) as f64;
    let m = f64::from_bits((bits & MANTISSA) | ((1023 - high) << 52));
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let s4 = s2 * s2;
    let s8 = s4 * s4;
    let pair = |a: f64, b: f64| b.mul_add(s2, a);
    let low = pair(1.0 / 5.0, 1.0 / 7.0).mul_add(s4, pair(1.0, 1.0 / 3.0));
    let mid = pair(1.0 / 13.0, 1.0 / 15.0).mul_add(s4, pair(1.0 / 9.0, 1.0 / 11.0));
    let high_terms = (1.0 / 21.0f64).mul_add(s4, pair(1.0 / 17.0, 1.0 / 19.0));
    let series = high_terms.mul_add(s8 * s8, mid.mul_add(s8, low));
    exponent.mul_add(std::f64::consts::LN_2, 2.0 * s * series)
}

/// (sin, cos) of 2 pi t for t in [0, 1), within about 2 ulp: t is split exactly into quarter
/// turns q and a remainder f in [-1/8, 1/8], whose sine and cosine come from their Taylor series
/// (to degree 17 and 18) and are then rotated by q quarter turns.
#[inline(always)]
pub fn sincos_turns(t: f64) -> (f64, f64) {
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let shifted = t.mul_add(4.0, SHIFTER);
    let quarter = (shifted.to_bits().wrapping_sub(SHIFTER.to_bits())) & 3;
    let f = (shifted - SHIFTER).mul_add(-0.25, t);
    let a = f * std::f64::consts::TAU;
    let a2 = a * a;
    let a4 = a2 * a2;
    let a8 = a4 * a4;
    let pair = |x: f64, y: f64| y.mul_add(a2, x);
    // sin a = a (1 - a^2/3! + a^4/5! - ...), cos a = 1 - a^2/2! + a^4/4! - ...
    let sin_low = pair(1.0 / 120.0, -1.0 / 5_040.0).mul_add(a4, pair(1.0, -1.0 / 6.0));
    let sin_high = pair(1.0 / 6_227_020_800.0, -1.0 / 1_307_674_368_000.0)
        .mul_add(a4, pair(1.0 / 362_880.0, -1.0 / 39_916_800.0));
    let sin_top = 1.0 / 355_687_428_096_000.0;
    let sin = a * f64::mul_add(sin_top, a8, sin_high).mul_add(a8, sin_low);
    let cos_low = pair(1.0 / 24.0, -1.0 / 720.0).mul_add(a4, pair(1.0, -0.5));
    let cos_high = pair(1.0 / 479_001_600.0, -1.0 / 87_178_291_200.0)
        .mul_add(a4, pair(1.0 / 40_320.0, -1.0 / 3_628_800.0));
    let cos_top = pair(1.0 / 20_922_789_888_000.0, -1.0 / 6_402_373_705_728_000.0);
    let cos = cos_top.mul_add(a8, cos_high).mul_add(a8, cos_low);
    // Rotating by q quarter turns: (sin, cos) -> (cos, -sin) per quarter.
    let (sin, cos) = if quarter & 1 == 1 {
        (cos, -sin)
    } else {
        (sin, cos)
    };
    if quarter & 2 == 2 {
        (-sin, -cos)
    } else {
        (sin, cos)
    }
}

vectorized! {
    /// Standard normal draws by the Box-Muller transform, from uniforms in [0, 1): `out` of
    /// length 2m takes the cosine draws in its first half and the sine draws in its second,
    /// each pair from `u[i]`, `u[m + i]` (the radius: 1 - u[i] - u[m + i] 2^-32, a 64-bit
    /// uniform in (0, 1], so draws reach beyond 8.5 sigma) and `u[2m + i]` (the angle).
    pub fn box_muller(u: &[f64], out: &mut [f64]) {
        let m = out.len() / 2;
        let (radius_high, rest) = u.split_at(m);
        let (radius_low, angle) = rest.split_at(m);
        let (cos_out, sin_out) = out.split_at_mut(m);
        let rows = radius_high.iter().zip(radius_low).zip(angle).zip(cos_out.iter_mut().zip(sin_out));
        for (((high, low), turn), (c, s)) in rows {
            let uniform = 1.0 - low.mul_add(1.0 / 4_294_967_296.0, *high);
            let radius = (-2.0 * ln(uniform)).sqrt();
            let (sin, cos) = sincos_turns(*turn);
            *c = radius * cos;
            *s = radius * sin;
        }
    }
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

/// `mean += w z` per row and visible axis for draws `z` in {0, 1}.
#[inline(always)]
fn add_draw(z: f64, w1: f64, w2: f64, mean1: &mut f64, mean2: &mut f64) {
    *mean1 = z.mul_add(w1, *mean1);
    *mean2 = z.mul_add(w2, *mean2);
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn bernoulli_loop(
    x1: &[f64],
    x2: &[f64],
    c: f64,
    w1: f64,
    w2: f64,
    u: &[f64],
    mean1: &mut [f64],
    mean2: &mut [f64],
) {
    let rows = x1
        .iter()
        .zip(x2)
        .zip(u)
        .zip(mean1.iter_mut().zip(mean2.iter_mut()));
    for (((a, b), u), (m1, m2)) in rows {
        let e = exp(-preactivation(c, *a, *b, w1, w2));
        let z = if u * e < 1.0 - u { 1.0 } else { 0.0 };
        add_draw(z, w1, w2, m1, m2);
    }
}

vectorized! {
    /// Draws z = 1 with probability `sigmoid(c + x1[r] w1 + x2[r] w2)` (else 0) from uniforms
    /// `u` in [0, 1), and adds `w1 z`, `w2 z` to the visible means: one hidden unit's share of a
    /// Gibbs step. `u < 1 / (1 + e)` is tested as `u e < 1 - u`, which needs no division. The
    /// draws themselves are not kept: a Gibbs step needs only `b + W z`.
    #[allow(clippy::too_many_arguments)]
    pub fn bernoulli_column(
        x1: &[f64],
        x2: &[f64],
        c: f64,
        w1: f64,
        w2: f64,
        u: &[f64],
        mean1: &mut [f64],
        mean2: &mut [f64],
    ) {
        let (whole, rest) = split(mean1.len());
        let (m1, m2) = (&mut mean1[..whole], &mut mean2[..whole]);
        bernoulli_loop(&x1[..whole], &x2[..whole], c, w1, w2, &u[..whole], m1, m2);
        if rest > 0 {
            let (a, b, v) = (padded(x1, whole), padded(x2, whole), padded(u, whole));
            let (mut m1, mut m2) = (padded(mean1, whole), padded(mean2, whole));
            bernoulli_loop(&a, &b, c, w1, w2, &v, &mut m1, &mut m2);
            mean1[whole..].copy_from_slice(&m1[..rest]);
            mean2[whole..].copy_from_slice(&m2[..rest]);
        }
    }
}

vectorized! {
    /// As [`bernoulli_column`] with the probabilities `p` already known: z = 1 where `u < p`.
    pub fn bernoulli_from_probs(p: &[f64], u: &[f64], w1: f64, w2: f64, mean1: &mut [f64], mean2: &mut [f64]) {
        let rows = p.iter().zip(u).zip(mean1.iter_mut().zip(mean2.iter_mut()));
        for ((p, u), (m1, m2)) in rows {
            add_draw(if u < p { 1.0 } else { 0.0 }, w1, w2, m1, m2);
        }
    }
}

#[inline(always)]
fn hidden_loop(x1: &[f64], x2: &[f64], c: f64, w1: f64, w2: f64, h: &mut [f64]) {
    for ((a, b), h) in x1.iter().zip(x2).zip(h.iter_mut()) {
        *h = sigmoid(preactivation(c, *a, *b, w1, w2));
    }
}

/// `[sum(x1 h), sum(x2 h), sum(h)]`, each in `W` interleaved partial sums added in a fixed order.
#[inline(always)]
fn moments(x1: &[f64], x2: &[f64], h: &[f64]) -> [f64; 3] {
    let (mut s1, mut s2, mut s) = ([0.0; W], [0.0; W], [0.0; W]);
    let (whole, _) = split(h.len());
    let blocks = x1[..whole].chunks_exact(W).zip(x2[..whole].chunks_exact(W));
    for ((a, b), h) in blocks.zip(h[..whole].chunks_exact(W)) {
        for l in 0..W {
            s1[l] = a[l].mul_add(h[l], s1[l]);
            s2[l] = b[l].mul_add(h[l], s2[l]);
            s[l] += h[l];
        }
    }
    for (l, r) in (whole..h.len()).enumerate() {
        s1[l] = x1[r].mul_add(h[r], s1[l]);
        s2[l] = x2[r].mul_add(h[r], s2[l]);
        s[l] += h[r];
    }
    [combine(s1), combine(s2), combine(s)]
}

vectorized! {
    /// One hidden unit's part of the free-energy gradient of a batch: its column `h` of
    /// p(z|x), and `[sum(x1 h), sum(x2 h), sum(h)]` over the first `rows` rows (the rest are
    /// padding: computed, not counted). `x1`, `x2` are the visible values over sigma^2.
    pub fn hidden_column_stats(
        x1: &[f64],
        x2: &[f64],
        c: f64,
        w1: f64,
        w2: f64,
        h: &mut [f64],
        rows: usize,
    ) -> [f64; 3] {
        let (whole, rest) = split(h.len());
        hidden_loop(&x1[..whole], &x2[..whole], c, w1, w2, &mut h[..whole]);
        if rest > 0 {
            let (a, b, mut last) = (padded(x1, whole), padded(x2, whole), [0.0; W]);
            hidden_loop(&a, &b, c, w1, w2, &mut last);
            h[whole..].copy_from_slice(&last[..rest]);
        }
        moments(&x1[..rows], &x2[..rows], &h[..rows])
    }
}

vectorized! {
    /// `[sum(x - b), sum((x - b)^2)]` in `W` partial sums: one visible axis's part of the
    /// gradient of F for b and ln sigma.
    pub fn centered_sums(x: &[f64], b: f64) -> [f64; 2] {
        let (mut shift, mut square) = ([0.0; W], [0.0; W]);
        let (whole, _) = split(x.len());
        for x in x[..whole].chunks_exact(W) {
            for l in 0..W {
                let d = x[l] - b;
                shift[l] += d;
                square[l] = d.mul_add(d, square[l]);
            }
        }
        for (l, x) in x[whole..].iter().enumerate() {
            let d = x - b;
            shift[l] += d;
            square[l] = d.mul_add(d, square[l]);
        }
        [combine(shift), combine(square)]
    }
}

vectorized! {
    /// `out1 += w1 z` and `out2 += w2 z`: one hidden unit's share of `W z` for both visible axes.
    pub fn add_weighted_column(z: &[f64], w1: f64, w2: f64, out1: &mut [f64], out2: &mut [f64]) {
        for ((z, o1), o2) in z.iter().zip(out1.iter_mut()).zip(out2.iter_mut()) {
            add_draw(*z, w1, w2, o1, o2);
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
    /// One hidden unit along a grid row of the grid expectation: at each point u = y a + base;
    /// adds max(u, 0) to `neg_f` and multiplies `product` by 1 + e^-|u| (together softplus(u),
    /// whose logarithm is taken once for many units), and writes sigmoid(u) into `h`.
    pub fn softplus_sigmoid_column(
        y: &[f64],
        a: f64,
        base: f64,
        h: &mut [f64],
        neg_f: &mut [f64],
        product: &mut [f64],
    ) {
        for (((y, hq), f), prod) in y.iter().zip(h.iter_mut()).zip(neg_f.iter_mut()).zip(product.iter_mut()) {
            let u = y.mul_add(a, base);
            let e = exp(-u.abs());
            *f += u.max(0.0);
            *prod *= 1.0 + e;
            *hq = if u >= 0.0 { 1.0 } else { e } / (1.0 + e);
        }
    }
}

vectorized! {
    /// For one hidden unit at every point, with `u = c + x1[r] w1 + x2[r] w2` (visible values
    /// already divided by sigma^2): adds max(u, 0) to `positive` and multiplies `product` by
    /// 1 + e^-|u| (together softplus(u), as [`add_softplus_column`]), and adds `w1 sigmoid(u)`,
    /// `w2 sigmoid(u)` to `w_p1`, `w_p2` (the unit's share of W p(z|x), for the gradient of F).
    #[allow(clippy::too_many_arguments)]
    pub fn softplus_weighted_sigmoid_column(
        x1: &[f64],
        x2: &[f64],
        c: f64,
        w1: f64,
        w2: f64,
        positive: &mut [f64],
        product: &mut [f64],
        w_p1: &mut [f64],
        w_p2: &mut [f64],
    ) {
        let rows = x1.iter().zip(x2).zip(positive.iter_mut().zip(product.iter_mut()));
        for (((a, b), (pos, prod)), (m1, m2)) in rows.zip(w_p1.iter_mut().zip(w_p2.iter_mut())) {
            let u = preactivation(c, *a, *b, w1, w2);
            let e = exp(-u.abs());
            *pos += u.max(0.0);
            *prod *= 1.0 + e;
            let p = if u >= 0.0 { 1.0 } else { e } / (1.0 + e);
            *m1 = p.mul_add(w1, *m1);
            *m2 = p.mul_add(w2, *m2);
        }
    }
}

vectorized! {
    /// `product[q] *= 1 + a beta[q]`: one hidden unit's factor of exp(-F) along a grid row.
    pub fn multiply_factors(a: f64, beta: &[f64], product: &mut [f64]) {
        for (p, b) in product.iter_mut().zip(beta) {
            *p *= a.mul_add(*b, 1.0);
        }
    }
}

/// An upper bound on `ln(p)` within ln 2 of it, for `p >= 1`, from the exponent bits alone.
#[inline(always)]
fn log_upper_bound(p: f64) -> f64 {
    ((p.to_bits() >> 52) as f64 - 1022.0) * std::f64::consts::LN_2
}

vectorized! {
    /// `ln(sum(product[q] e^t[q]))` for products of at least 1 (any finite `t`), with one
    /// exponential per term and a single logarithm: the terms are scaled by the largest upper
    /// bound on `ln(product) + t`, taken from the products' exponent bits. `scratch` is as long
    /// as the others.
    pub fn log_sum_product_exp(product: &[f64], t: &[f64], scratch: &mut [f64]) -> f64 {
        for ((s, p), t) in scratch.iter_mut().zip(product).zip(t) {
            *s = t + log_upper_bound(*p);
        }
        let max = lane_max(scratch);
        if !max.is_finite() {
            return max;
        }
        for ((s, p), t) in scratch.iter_mut().zip(product).zip(t) {
            *s = p * exp(t - max);
        }
        max + libm::log(lane_sum(scratch))
    }
}

/// The largest value, in `W` lanes so the loop vectorizes.
#[inline(always)]
fn lane_max(values: &[f64]) -> f64 {
    let mut top = [f64::NEG_INFINITY; W];
    let blocks = values.chunks_exact(W);
    let rest = blocks.remainder();
    for block in blocks {
        for l in 0..W {
            top[l] = top[l].max(block[l]);
        }
    }
    rest.iter()
        .chain(&top)
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
}

/// The sum in `W` interleaved partial sums, added in a fixed order.
#[inline(always)]
fn lane_sum(values: &[f64]) -> f64 {
    let mut acc = [0.0; W];
    let blocks = values.chunks_exact(W);
    let rest = blocks.remainder();
    for block in blocks {
        for l in 0..W {
            acc[l] += block[l];
        }
    }
    for (l, v) in rest.iter().enumerate() {
        acc[l] += v;
    }
    combine(acc)
}

vectorized! {
    /// The sum of `values`, in [`W`] partial sums added in a fixed order.
    pub fn sum(values: &[f64]) -> f64 {
        lane_sum(values)
    }
}

vectorized! {
    /// The largest of `values` (`-inf` for none).
    pub fn max(values: &[f64]) -> f64 {
        lane_max(values)
    }
}

vectorized! {
    /// `values[s] *= factor`.
    pub fn scale(values: &mut [f64], factor: f64) {
        for v in values.iter_mut() {
            *v *= factor;
        }
    }
}

vectorized! {
    /// `out[s] = e^(values[s] - shift)`: normalized weights from log weights.
    pub fn exp_shifted(values: &[f64], shift: f64, out: &mut [f64]) {
        for (o, v) in out.iter_mut().zip(values) {
            *o = exp(v - shift);
        }
    }
}

vectorized! {
    /// `sum(a[s] b[s])`, in [`W`] partial sums added in a fixed order.
    pub fn dot(a: &[f64], b: &[f64]) -> f64 {
        let mut acc = [0.0; W];
        let (ab, bb) = (a.chunks_exact(W), b.chunks_exact(W));
        let (ar, br) = (ab.remainder(), bb.remainder());
        for (x, y) in ab.zip(bb) {
            for l in 0..W {
                acc[l] = x[l].mul_add(y[l], acc[l]);
            }
        }
        for (l, (x, y)) in ar.iter().zip(br).enumerate() {
            acc[l] = x.mul_add(*y, acc[l]);
        }
        combine(acc)
    }
}

vectorized! {
    /// `ln(sum(exp(v)))` without overflow; `-inf` for an empty slice, the max if it is not finite.
    pub fn log_sum_exp(values: &[f64]) -> f64 {
        let max = lane_max(values);
        if !max.is_finite() {
            return max;
        }
        let (whole, _) = split(values.len());
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
        max + libm::log(combine(acc))
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
    fn ln_and_sincos_are_within_a_few_ulp_of_libm() {
        let mut worst_ln: f64 = 0.0;
        for i in 1..=200_000 {
            let x = i as f64 / 200_000.0 * (1.0 + 1e-7 * (i % 11) as f64);
            let reference = x.ln();
            let err = (ln(x) - reference).abs() / (reference.abs().max(1e-300) * f64::EPSILON);
            worst_ln = worst_ln.max(if reference == 0.0 { 0.0 } else { err });
        }
        assert!(
            worst_ln <= 3.0,
            "ln: worst relative error {worst_ln} x 2^-52"
        );
        assert_eq!(ln(1.0), 0.0);
        assert!((ln(1e-300) - 1e-300f64.ln()).abs() < 1e-12);
        // The polynomials, in the first eighth of a turn where no rotation happens: against libm
        // at the same rounded angle.
        for i in 0..=100_000 {
            let t = i as f64 / 800_000.0;
            let (sin, cos) = sincos_turns(t);
            let angle = t * std::f64::consts::TAU;
            assert!(
                (sin - angle.sin()).abs() <= 2.0 * f64::EPSILON * angle.sin(),
                "sin t = {t}"
            );
            assert!(
                (cos - angle.cos()).abs() <= 2.0 * f64::EPSILON,
                "cos t = {t}"
            );
        }
        // The quarter turns, over the whole circle: the absolute error allows for the rounding
        // of 2 pi t in the reference (half an ulp of 2 pi, 4.4e-16).
        let mut worst_trig: f64 = 0.0;
        for i in 0..400_000 {
            let t = i as f64 / 400_000.0;
            let (sin, cos) = sincos_turns(t);
            let angle = t * std::f64::consts::TAU;
            worst_trig = worst_trig
                .max((sin - angle.sin()).abs())
                .max((cos - angle.cos()).abs());
        }
        assert!(worst_trig < 2e-15, "sincos: worst error {worst_trig}");
    }

    #[test]
    fn box_muller_draws_are_standard_normal() {
        let mut lanes = crate::rng::UniformLanes::from_rng(&mut crate::rng::stream(
            4,
            crate::rng::Purpose::Gibbs,
        ));
        let m = 500_000;
        let mut u = vec![0.0; 3 * m];
        lanes.fill(&mut u);
        let mut z = vec![0.0; 2 * m];
        box_muller(&u, &mut z);
        let n = z.len() as f64;
        let mean = z.iter().sum::<f64>() / n;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let kurtosis = z.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n / (var * var);
        // Standard errors: 1/sqrt(n) for the mean, sqrt(2/n) for the variance, sqrt(24/n) for
        // the kurtosis; 5 of each.
        assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "variance {var}");
        assert!(
            (kurtosis - 3.0).abs() < 5.0 * (24.0 / n).sqrt(),
            "kurtosis {kurtosis}"
        );
        // The largest gap between the empirical CDF and Phi (Kolmogorov-Smirnov): 1.63/sqrt(n)
        // is its 1% critical value.
        let mut sorted = z.clone();
        sorted.sort_by(f64::total_cmp);
        let phi = |x: f64| 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
        let ks = sorted
            .iter()
            .enumerate()
            .map(|(i, x)| {
                (phi(*x) - i as f64 / n)
                    .abs()
                    .max((phi(*x) - (i + 1) as f64 / n).abs())
            })
            .fold(0.0, f64::max);
        assert!(ks < 1.63 / n.sqrt(), "Kolmogorov-Smirnov distance {ks}");
        // The cosine and sine draws of a pair are uncorrelated.
        let cross = (0..m).map(|i| z[i] * z[m + i]).sum::<f64>() / m as f64;
        assert!(cross.abs() < 5.0 / (m as f64).sqrt(), "correlation {cross}");
    }

    /// erf by Abramowitz and Stegun 7.1.26 refined: accurate to 1.2e-7, enough for a KS test at
    /// n = 10^6 (critical value 1.6e-3).
    fn erf(x: f64) -> f64 {
        let t = 1.0 / (1.0 + 0.5 * x.abs());
        let poly = -x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77))))))));
        let value = 1.0 - t * poly.exp();
        if x >= 0.0 { value } else { -value }
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

    /// The kernels of the enumeration and of the grid expectation: elementwise ones bit for bit,
    /// sums to rounding, at lengths with and without a padded last block.
    #[test]
    fn array_kernels_equal_their_scalar_definitions() {
        for n in [1, 8, 203] {
            let a: Vec<f64> = (0..n).map(|r| (r as f64 * 0.37).sin() * 3.0).collect();
            let b: Vec<f64> = (0..n).map(|r| (r as f64 * 0.11).cos() * 2.0).collect();
            let mut out = vec![0.0; n];
            exp_shifted(&a, 1.25, &mut out);
            for r in 0..n {
                assert_eq!(out[r], exp(a[r] - 1.25), "row {r}");
            }
            scale(&mut out, 0.5);
            for r in 0..n {
                assert_eq!(out[r], exp(a[r] - 1.25) * 0.5, "row {r}");
            }
            let (mut h, mut neg_f, mut product) = (vec![0.0; n], b.clone(), vec![1.5; n]);
            softplus_sigmoid_column(&a, -1.3, 0.4, &mut h, &mut neg_f, &mut product);
            for r in 0..n {
                let u = a[r].mul_add(-1.3, 0.4);
                let e = exp(-u.abs());
                assert_eq!(neg_f[r], b[r] + u.max(0.0), "row {r}");
                assert_eq!(product[r], 1.5 * (1.0 + e), "row {r}");
                // sigmoid(u) from the same e^-|u|.
                assert_eq!(h[r], if u >= 0.0 { 1.0 } else { e } / (1.0 + e), "row {r}");
                assert!((h[r] - sigmoid(u)).abs() < 1e-15, "row {r}");
            }
            assert_eq!(max(&a), a.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            let naive_sum: f64 = a.iter().sum();
            assert!((sum(&a) - naive_sum).abs() < 1e-12, "sum at n = {n}");
            let naive_dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive_dot).abs() < 1e-12, "dot at n = {n}");
        }
        assert_eq!(max(&[]), f64::NEG_INFINITY);
    }

    #[test]
    fn vector_kernels_equal_their_scalar_definitions_bit_for_bit() {
        // Odd lengths exercise the padded last block.
        for n in [203, 8, 5] {
            let x1: Vec<f64> = (0..n).map(|r| (r as f64 * 0.37).sin() * 3.0).collect();
            let x2: Vec<f64> = (0..n).map(|r| (r as f64 * 0.11).cos() * 2.0).collect();
            let u: Vec<f64> = (0..n)
                .map(|r| ((r * 7919) % 1000) as f64 / 1000.0)
                .collect();
            let (c, w1, w2) = (0.3, -1.7, 2.2);
            let pre: Vec<f64> = (0..n)
                .map(|r| preactivation(c, x1[r], x2[r], w1, w2))
                .collect();
            let draw = |r: usize| -> f64 { if u[r] < sigmoid(pre[r]) { 1.0 } else { 0.0 } };

            let mut probs = vec![0.0; n];
            sigmoid_column(&x1, &x2, c, w1, w2, &mut probs);
            let (mut m1, mut m2) = (x2.clone(), x1.clone());
            bernoulli_column(&x1, &x2, c, w1, w2, &u, &mut m1, &mut m2);
            let (mut p1, mut p2) = (x2.clone(), x1.clone());
            bernoulli_from_probs(&probs, &u, w1, w2, &mut p1, &mut p2);
            let mut h = vec![0.0; n];
            let moments = hidden_column_stats(&x1, &x2, c, w1, w2, &mut h, n);
            for r in 0..n {
                assert_eq!(probs[r], sigmoid(pre[r]));
                assert_eq!(h[r], probs[r]);
                assert_eq!(m1[r], draw(r).mul_add(w1, x2[r]), "row {r}");
                assert_eq!(m2[r], draw(r).mul_add(w2, x1[r]), "row {r}");
                assert_eq!((p1[r], p2[r]), (m1[r], m2[r]));
            }
            let naive = [
                x1.iter().zip(&h).map(|(a, h)| a * h).sum::<f64>(),
                x2.iter().zip(&h).map(|(b, h)| b * h).sum::<f64>(),
                h.iter().sum::<f64>(),
            ];
            for m in 0..3 {
                assert!((moments[m] - naive[m]).abs() < 1e-12, "moment {m}");
            }
            let [shift, square] = centered_sums(&x1, 0.4);
            assert!((shift - x1.iter().map(|x| x - 0.4).sum::<f64>()).abs() < 1e-12);
            assert!((square - x1.iter().map(|x| (x - 0.4).powi(2)).sum::<f64>()).abs() < 1e-11);
            let lse = log_sum_exp(&x1);
            let naive_lse = x1.iter().map(|v| v.exp()).sum::<f64>().ln();
            assert!((lse - naive_lse).abs() < 1e-14);
        }
        let products: [f64; 11] = [
            1.0,
            3.5,
            1e200,
            2.0,
            7.0,
            1.5,
            9.0,
            1.0,
            4.0,
            6.0,
            1e-3 + 1.0,
        ];
        let t = [
            -3.0, 2.0, -460.0, 0.5, -800.0, 1.0, -2.0, 0.0, 1.0, 3.0, -1.0,
        ];
        let direct: Vec<f64> = products.iter().zip(&t).map(|(p, t)| p.ln() + t).collect();
        let mut scratch = [0.0; 11];
        let scaled = log_sum_product_exp(&products, &t, &mut scratch);
        let reference = log_sum_exp(&direct);
        assert!(
            (scaled - reference).abs() < 1e-14,
            "{scaled} vs {reference}"
        );
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
        assert_eq!(log_sum_exp(&[1e308, 1e308]), 1e308 + 2f64.ln());
    }
}
