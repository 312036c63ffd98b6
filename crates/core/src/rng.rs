//! Seeded random streams: every run owns one PCG stream per purpose, derived from its seed alone.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// What a stream is used for. Each purpose gets an independent stream, so changing how many
/// draws one stage makes (say, more Gibbs steps) leaves every other stage's numbers unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Drawing a data set (keyed by `[data] seed`).
    Data = 1,
    /// Initial parameters.
    Init = 2,
    /// Minibatch order.
    Order = 3,
    /// Gibbs chains during training.
    Gibbs = 4,
    /// Samples drawn from the trained model.
    Samples = 5,
    /// The configurations of a random search (keyed by `[search] seed`).
    Search = 6,
    /// Annealed importance sampling estimates of log Z (forward and reverse).
    Ais = 7,
    /// Exact samples of the trained model (from its mixture or its log Z grid).
    ExactSamples = 8,
    /// The diagnostics of a checkpoint (the sampler's negative phase measured against the exact
    /// one, chain samples), one stream per epoch ([`indexed_stream`]).
    Diagnostics = 9,
}

/// The stream for `purpose` of the run (or data set) with this seed.
pub fn stream(seed: u64, purpose: Purpose) -> Pcg64 {
    // Seeding through splitmix64 (inside `seed_from_u64`) decorrelates nearby seeds and purposes,
    // which PCG's own stream selector does not promise.
    let key = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (purpose as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    Pcg64::seed_from_u64(key)
}

/// The stream that draws configuration `index` of a random search with this seed. Each
/// configuration has its own stream, so configuration `index` is the same however many are
/// drawn after it.
pub fn search_stream(seed: u64, index: u64) -> Pcg64 {
    indexed_stream(seed, Purpose::Search, index)
}

/// Stream `index` of the streams for `purpose` of this seed, each independent of the others and
/// of how many are drawn: what a stage that happens many times (a configuration of a search, a
/// checkpoint's diagnostics) draws from.
pub fn indexed_stream(seed: u64, purpose: Purpose, index: u64) -> Pcg64 {
    // splitmix64's finalizer over the (seed, purpose) key and the index, so neighbouring
    // indices get unrelated seeds.
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let key = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (purpose as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    Pcg64::seed_from_u64(mix(mix(key) ^ index))
}

/// A uniform draw in [0, 1) from the top 53 bits of one output, written out here so that the
/// draws do not depend on how a version of `rand` makes floats.
pub fn unit(rng: &mut Pcg64) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform draw from 0..n (n >= 1) by one multiply-shift of one output: exact integer
/// arithmetic, with a bias below n / 2^64.
pub fn below(rng: &mut Pcg64, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// A uniform draw in (0, 1): the top 52 bits of one output as the mantissa of a number in
/// [1, 2), less 1 - 2^-53 (as rand's `Open01`).
fn open_unit(rng: &mut Pcg64) -> f64 {
    f64::from_bits((1023 << 52) | (rng.next_u64() >> 12)) - (1.0 - f64::EPSILON / 2.0)
}

/// A standard normal draw: rand_distr 0.6's `StandardNormal` written out (the ZIGNOR ziggurat
/// of Doornik 2005, with its tables, [`ziggurat`]), so that the density of a wedge and the
/// logarithms of the tail are the `libm` crate's rather than the C library's. It takes the
/// same outputs of the stream as rand_distr and returns the same draws, but for the rare one
/// that depends on an `exp` or `ln` whose last bit the two libraries round apart.
pub fn standard_normal(rng: &mut Pcg64) -> f64 {
    use ziggurat::{ZIG_NORM_F as F, ZIG_NORM_R as R, ZIG_NORM_X as X};
    loop {
        let bits = rng.next_u64();
        // The low 8 bits pick the layer; the top 52, as a number in [2, 4) less 3, are a
        // uniform u in [-1, 1).
        let i = (bits & 0xff) as usize;
        let u = f64::from_bits((1024 << 52) | (bits >> 12)) - 3.0;
        let x = u * X[i];
        if x.abs() < X[i + 1] {
            return x;
        }
        if i == 0 {
            // The tail beyond R, by Marsaglia's exponential method.
            let (mut tail, mut y) = (1.0f64, 0.0f64);
            while -2.0 * y < tail * tail {
                tail = libm::log(open_unit(rng)) / R;
                y = libm::log(open_unit(rng));
            }
            return if u < 0.0 { tail - R } else { R - tail };
        }
        if F[i + 1] + (F[i] - F[i + 1]) * unit(rng) < libm::exp(-x * x / 2.0) {
            return x;
        }
    }
}

mod ziggurat;

/// Independent PCG32 streams stepped side by side, so that vector instructions draw one
/// uniform per stream at a time: the Bernoulli draws of the hidden units come from here. 32
/// lanes are four AVX-512 registers: enough independent multiplications in flight to hide the
/// latency of each 64-bit multiply.
pub const LANES: usize = 32;
/// PCG32's LCG multiplier (the same as `rand_pcg::Pcg32`).
const PCG32_MULTIPLIER: u64 = 6_364_136_223_846_793_005;

/// `LANES` PCG32 generators (each exactly `rand_pcg::Pcg32`) whose outputs are interleaved.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UniformLanes {
    state: [u64; LANES],
    increment: [u64; LANES],
}

impl UniformLanes {
    /// Lanes seeded with a state and a stream each, drawn from `rng`.
    pub fn from_rng(rng: &mut Pcg64) -> Self {
        let mut lanes = UniformLanes {
            state: [0; LANES],
            increment: [0; LANES],
        };
        for l in 0..LANES {
            let (state, stream) = (rng.next_u64(), rng.next_u64());
            // As `Pcg32::new(state, stream)`: an odd increment, then one step away from the seed.
            lanes.increment[l] = (stream << 1) | 1;
            lanes.state[l] = state
                .wrapping_add(lanes.increment[l])
                .wrapping_mul(PCG32_MULTIPLIER)
                .wrapping_add(lanes.increment[l]);
        }
        lanes
    }

    /// Fills `out` with uniform draws in [0, 1), each carrying one 32-bit PCG32 output: draw `i`
    /// comes from lane `i % LANES`. Lane outputs past the end of `out` are dropped.
    pub fn fill(&mut self, out: &mut [f64]) {
        fill_uniforms(&mut self.state, &self.increment, out);
    }
}

/// One step of every lane: each lane's next output as a uniform in [0, 1).
#[inline(always)]
fn step_lanes(state: &mut [u64; LANES], increment: &[u64; LANES]) -> [f64; LANES] {
    let mut draws = [0.0; LANES];
    for l in 0..LANES {
        let old = state[l];
        state[l] = old
            .wrapping_mul(PCG32_MULTIPLIER)
            .wrapping_add(increment[l]);
        // PCG32's output function XSH RR.
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let bits = xorshifted.rotate_right((old >> 59) as u32);
        // 1 + bits 2^-32 is exact in a double's mantissa; minus 1 gives bits / 2^32.
        draws[l] = f64::from_bits(0x3FF0_0000_0000_0000 | (u64::from(bits) << 20)) - 1.0;
    }
    draws
}

crate::vecmath::vectorized! {
    fn fill_uniforms(state: &mut [u64; LANES], increment: &[u64; LANES], out: &mut [f64]) {
        let mut chunks = out.chunks_exact_mut(LANES);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&step_lanes(state, increment));
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let n = rest.len();
            rest.copy_from_slice(&step_lanes(state, increment)[..n]);
        }
    }
}

/// The random streams of a Gibbs sampler: uniform lanes for the hidden units, and standard
/// normal draws for the visible ones (Box-Muller on the same lanes), seeded from one PCG64
/// stream of the run.
/// Saved and restored with its lanes alone: the scratch is filled anew by every call.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GibbsRng {
    pub uniform: UniformLanes,
    /// Uniforms and draws of the last [`GibbsRng::normals`] call.
    #[serde(skip)]
    scratch: Vec<f64>,
}

impl GibbsRng {
    pub fn new(mut seeder: Pcg64) -> Self {
        GibbsRng {
            uniform: UniformLanes::from_rng(&mut seeder),
            scratch: Vec::new(),
        }
    }

    /// `count` independent standard normal draws.
    pub fn normals(&mut self, count: usize) -> &[f64] {
        let pairs = count.div_ceil(2);
        self.scratch.resize(5 * pairs, 0.0);
        let (uniforms, draws) = self.scratch.split_at_mut(3 * pairs);
        self.uniform.fill(uniforms);
        crate::vecmath::box_muller(uniforms, draws);
        &draws[..count]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn each_lane_is_exactly_pcg32() {
        let mut seeder = stream(9, Purpose::Gibbs);
        let mut lanes = UniformLanes::from_rng(&mut seeder);
        let mut seeder = stream(9, Purpose::Gibbs);
        let mut reference: Vec<rand_pcg::Pcg32> = (0..LANES)
            .map(|_| rand_pcg::Pcg32::new(seeder.next_u64(), seeder.next_u64()))
            .collect();
        // An odd length drops lane outputs; the next fill must start at the next step of every lane.
        for len in [LANES * 5 + 3, LANES * 2] {
            let mut out = vec![0.0; len];
            lanes.fill(&mut out);
            let steps = len.div_ceil(LANES);
            let expected: Vec<u32> = (0..steps)
                .flat_map(|_| {
                    reference
                        .iter_mut()
                        .map(|r| r.next_u32())
                        .collect::<Vec<_>>()
                })
                .collect();
            for (i, u) in out.iter().enumerate() {
                assert_eq!(*u, expected[i] as f64 / 4_294_967_296.0, "draw {i}");
            }
        }
    }

    /// `standard_normal` is rand_distr's `StandardNormal` with the `libm` crate's exp and ln:
    /// over a million draws each equals rand_distr's draw from a copy of the stream, except
    /// tail draws (beyond 3.65) whose logarithm the C library rounds to the other neighbour
    /// (within a few ulp of it; two of the million with glibc 2.36), and the two take the same
    /// outputs of the stream.
    #[test]
    fn standard_normal_is_rand_distrs_ziggurat_on_libm() {
        let (mut ours, mut theirs) = (stream(5, Purpose::Data), stream(5, Purpose::Data));
        for i in 0..1_000_000 {
            let a = standard_normal(&mut ours);
            let b: f64 = theirs.sample(rand_distr::StandardNormal);
            if a != b {
                assert!(
                    a.abs() > 3.6 && (a - b).abs() <= 4.0 * f64::EPSILON * b.abs(),
                    "draw {i}: {a} against {b}"
                );
            }
        }
        assert_eq!(ours.next_u64(), theirs.next_u64(), "the streams went apart");
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, purpose| stream(seed, purpose).random::<u64>();
        assert_eq!(draw(3, Purpose::Gibbs), draw(3, Purpose::Gibbs));
        assert_ne!(draw(3, Purpose::Gibbs), draw(3, Purpose::Init));
        assert_ne!(draw(3, Purpose::Gibbs), draw(4, Purpose::Gibbs));
        assert_ne!(draw(0, Purpose::Data), draw(0, Purpose::Init));
    }

    #[test]
    fn search_streams_depend_on_seed_and_index() {
        let draw = |seed, index| search_stream(seed, index).next_u64();
        assert_eq!(draw(0, 7), draw(0, 7));
        assert_ne!(draw(0, 7), draw(0, 8));
        assert_ne!(draw(0, 7), draw(1, 7));
        let mut rng = search_stream(0, 0);
        for _ in 0..1000 {
            assert!((0.0..1.0).contains(&unit(&mut rng)));
            assert!(below(&mut rng, 3) < 3);
        }
    }
}
