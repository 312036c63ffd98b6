//! What a sweep will cost before it runs: each run's time on this machine, from a short measurement of the kernels it will run, and its peak memory, from the sizes of its arrays.
//!
//! The shards balance on an integer cost that is the same on every machine
//! ([`shard::training_cost`]); the plan turns that into seconds. For each kind of run (data set,
//! sampler, hidden units, batch and chain sizes) it times a few optimizer steps, one log Z
//! integral, one pass over the points, a few Gibbs steps of the sample chains and, with AIS on,
//! a few AIS steps, single-threaded as a run of a busy sweep is, and scales each by how many of
//! them the run makes. A part too slow to time whole is timed on fewer hidden units; kinds beyond the measurement's budget take
//! the rates of the measured kind of the same sampler nearest in work per step.

use crate::cluster::shard;
use crate::data::Dataset;
use crate::estimate::ais::ais_log_z;
use crate::estimate::{EvalConfig, auto_grid_points, evaluate_with, log_z_grid};
use crate::experiment::Experiment;
use crate::experiment::grid::RunSpec;
use crate::experiment::grid::runs;
use crate::model::{Grbm, MAX_ENUMERATION_HIDDEN, Workspace};
use crate::rng::{GibbsRng, Purpose, stream};
use crate::sweep::{RunError, halving_of, load_datasets};
use crate::train::params::{Sampler, TrainConfig};
use crate::train::{Trainer, Units, initial_model};
use faer::Mat;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What one run is expected to cost on this machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunCost {
    /// Every epoch of training.
    pub train_seconds: f64,
    /// The learning-curve points, the final measurement, the samples and AIS.
    pub eval_seconds: f64,
    /// One epoch of training.
    pub epoch_seconds: f64,
    /// The run's own arrays at their largest (parameters, optimizer, chains, the log Z grid).
    pub peak_bytes: f64,
}

impl RunCost {
    pub fn seconds(&self) -> f64 {
        self.train_seconds + self.eval_seconds
    }
}

/// What sets a run's speed: runs of one kind differ only in numbers that cost nothing
/// (learning rate, seed, optimizer), so one measurement serves them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Kind {
    dataset: usize,
    sampler: Sampler,
    hidden: usize,
    batch_size: usize,
    /// Gibbs steps per update, temperatures and chains per temperature, which some samplers
    /// ignore (their runs are then more kinds than they need be, each timed alike).
    k: usize,
    replicas: usize,
    chains: usize,
    langevin_steps: usize,
}

impl Kind {
    fn of(t: &TrainConfig, dataset: usize) -> Kind {
        Kind {
            dataset,
            sampler: t.sampler,
            hidden: t.hidden,
            batch_size: t.batch_size,
            k: t.k,
            replicas: t.replicas,
            chains: t.chains,
            langevin_steps: t.langevin_steps,
        }
    }
}

/// The work of each part of a run, in the units the measured seconds are divided by.
#[derive(Debug, Clone, Copy)]
struct Work {
    /// One optimizer step ([`shard::training_cost`] of one epoch of one batch).
    step: f64,
    /// One measurement's pass over the points, without the log Z grid.
    points: f64,
    /// One log Z integral: grid points times hidden units.
    grid: f64,
    /// One Gibbs step of one sample chain.
    chain_step: f64,
    /// One step of one AIS chain: a Gibbs sweep and two free energies.
    ais_step: f64,
}

impl Work {
    fn of(t: &TrainConfig, data: &Dataset, grid_points: usize) -> Work {
        let units = (t.hidden + 2) as f64;
        let one_step = TrainConfig {
            epochs: 1,
            ..t.clone()
        };
        let n_points = data.train.len() + data.valid.len() + 2 * data.test.len();
        let exact = if t.hidden <= MAX_ENUMERATION_HIDDEN {
            (1u64 << t.hidden) as f64 * units
        } else {
            0.0
        };
        Work {
            step: shard::training_cost(&one_step, t.batch_size) as f64,
            points: n_points as f64 * units + exact,
            grid: (grid_points * grid_points) as f64 * units,
            chain_step: units,
            ais_step: units,
        }
    }
}

/// Measured seconds per unit of [`Work`], for each part.
#[derive(Debug, Clone, Copy)]
struct Rates {
    step: f64,
    points: f64,
    grid: f64,
    chain_step: f64,
    /// 0 when the sweep has no AIS, which is then not timed.
    ais_step: f64,
    /// The work of the kind it was measured on, to find the nearest measured kind.
    step_work: f64,
}

/// The most kinds timed for one plan, and the time they may take together: a grid with more
/// kinds than that (hidden sizes drawn at random) scales the measured ones.
const MAX_KINDS_MEASURED: usize = 24;
const MEASUREMENT_BUDGET: Duration = Duration::from_millis(1500);
/// Each part is timed for about this long, on fewer hidden units if one repetition would take
/// longer than [`LONGEST_TIMED`] by the rates measured so far.
const TIMED_FOR: Duration = Duration::from_millis(15);
const LONGEST_TIMED: f64 = 0.25;
/// Seconds per unit assumed before anything has been measured, only to decide what to time.
const FIRST_GUESS: f64 = 2e-9;

/// The speeds of this machine on the kinds of run a sweep makes.
pub struct Calibration {
    rates: HashMap<Kind, Rates>,
    shapes: Vec<DataShape>,
    /// The largest cache, and the seconds per value of the log Z kernel reading its columns
    /// from memory beyond it: a grid whose columns do not fit runs at most at that pace.
    cache_bytes: f64,
    stream_seconds: f64,
    /// How long the measurement took.
    pub seconds: f64,
    /// Kinds of run in the sweep, and how many of them were timed.
    pub kinds: usize,
    pub measured: usize,
}

impl Calibration {
    /// Times the kinds of `runs` on one thread, most common first, within the budget.
    pub fn measure(
        exp: &Experiment,
        datasets: &[Dataset],
        runs: impl IntoIterator<Item = RunSpec>,
    ) -> Calibration {
        let start = Instant::now();
        // One run of each kind, kept as it streams by (a plan of a million runs holds none).
        let mut kinds: HashMap<Kind, (usize, RunSpec)> = HashMap::new();
        for run in runs {
            kinds
                .entry(Kind::of(&run.train, run.dataset))
                .or_insert((0, run))
                .0 += 1;
        }
        let mut order: Vec<(Kind, (usize, RunSpec))> = kinds.into_iter().collect();
        // The smallest and the largest kind first, then the most common: the ends of the range
        // bound every other kind's scaling.
        order.sort_by(|a, b| {
            let work = |k: &(Kind, (usize, RunSpec))| {
                shard::training_cost(&k.1.1.train, datasets[k.0.dataset].train.len())
            };
            work(a).cmp(&work(b)).then(a.1.1.index.cmp(&b.1.1.index))
        });
        let n = order.len();
        if n > 2 {
            let last = order.remove(n - 1);
            order.insert(1, last);
            order[2..].sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.index.cmp(&b.1.1.index)));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("a one-thread pool");
        let shapes: Vec<DataShape> = datasets.iter().map(DataShape::of).collect();
        let mut rates: HashMap<Kind, Rates> = HashMap::new();
        for (kind, (_, run)) in order.iter().take(MAX_KINDS_MEASURED) {
            if start.elapsed() > MEASUREMENT_BUDGET {
                break;
            }
            let data = &datasets[kind.dataset];
            let guess = nearest(&rates, kind, data, &run.train);
            let shape = &shapes[kind.dataset];
            let r = pool.install(|| time_kind(&run.train, &exp.eval, data, shape, guess));
            rates.insert(*kind, r);
        }
        let cache_bytes = largest_cache_bytes();
        let stream_seconds = pool.install(|| time_stream(cache_bytes));
        Calibration {
            measured: rates.len(),
            rates,
            shapes,
            cache_bytes,
            stream_seconds,
            seconds: start.elapsed().as_secs_f64(),
            kinds: n,
        }
    }

    /// The cost of `run` under `eval` on `data`, or `None` when nothing could be timed.
    pub fn run_cost(&self, run: &RunSpec, eval: &EvalConfig, data: &Dataset) -> Option<RunCost> {
        let t = &run.train;
        let kind = Kind::of(t, run.dataset);
        let rates = match self.rates.get(&kind) {
            Some(r) => *r,
            None => nearest(&self.rates, &kind, data, t)?,
        };
        let grids = expected_grid_points(t, eval, &self.shapes[run.dataset]);
        let work = Work::of(t, data, grids.trained);
        let steps_per_epoch = data.train.len().div_ceil(t.batch_size) as f64;
        let epoch_seconds = steps_per_epoch * work.step * rates.step;
        let measurement = |grid_points: usize| {
            let w = Work::of(t, data, grid_points);
            // Each grid row reads a column of exponentials per hidden unit: past the last
            // cache, that read sets the pace.
            let columns = (8 * t.hidden * grid_points) as f64;
            let grid_rate = if columns > self.cache_bytes {
                rates.grid.max(self.stream_seconds)
            } else {
                rates.grid
            };
            w.points * rates.points + w.grid * grid_rate
        };
        // With `every` > 0: epoch 0 (the initial model, on its own grid), every multiple of
        // `every` before the last epoch, and the last; else the last alone.
        let measuring = match t.epochs.saturating_sub(1).checked_div(eval.every) {
            Some(between) => {
                measurement(grids.initial) + (1 + between) as f64 * measurement(grids.trained)
            }
            None => measurement(grids.trained),
        };
        // The sampler's chains (a minibatch of them): their negative phase, `chain_steps` and
        // `thin` steps between the records.
        let sampling = match sample_chains(t, eval) {
            0 => 0.0,
            chains => {
                let records = eval.samples.div_ceil(chains) - 1;
                let steps = t.k + eval.chain_steps + eval.thin.max(1) * records;
                (chains * steps) as f64 * work.chain_step * rates.chain_step
            }
        };
        // Exact draws of the model (the exact samples, reverse AIS's start): the enumeration of
        // the hidden states (as log_z_exact's, timed with the points), or above the enumerable
        // sizes one grid sum (as a measurement's).
        let exact_draws = if t.hidden > MAX_ENUMERATION_HIDDEN {
            measurement(grids.trained)
        } else {
            (1u64 << t.hidden) as f64 * (t.hidden + 2) as f64 * rates.points
        };
        let sampling = sampling + if eval.samples > 0 { exact_draws } else { 0.0 };
        // Forward and reverse AIS at each budget: chains x steps AIS steps each, and reverse AIS's
        // start.
        let ais: f64 = (eval.ais_steps.iter())
            .map(|&steps| {
                let ais_steps = (2 * eval.ais_chains.max(1) * steps) as f64;
                ais_steps * work.ais_step * rates.ais_step + exact_draws
            })
            .sum();
        Some(RunCost {
            train_seconds: epoch_seconds * t.epochs as f64,
            eval_seconds: measuring + sampling + ais,
            epoch_seconds,
            peak_bytes: peak_bytes(t, eval, grids.largest(eval)),
        })
    }
}

/// The rates of the measured kind nearest to `kind`: of the same sampler if any, then of the
/// nearest step work on a log scale; `None` before anything was measured.
/// The chains a run's samples are drawn with: a minibatch of the sampler's own, none for
/// samplers without chains or without samples.
fn sample_chains(t: &TrainConfig, eval: &EvalConfig) -> usize {
    if eval.samples > 0 && t.sampler.has_chains() {
        t.batch_size.max(1)
    } else {
        0
    }
}

fn nearest(
    rates: &HashMap<Kind, Rates>,
    kind: &Kind,
    data: &Dataset,
    t: &TrainConfig,
) -> Option<Rates> {
    let step_work = Work::of(t, data, 16).step.max(1.0);
    rates
        .iter()
        .min_by(|(ka, a), (kb, b)| {
            let key = |k: &Kind, r: &Rates| {
                (
                    k.sampler != kind.sampler,
                    libm::log(r.step_work.max(1.0) / step_work).abs(),
                )
            };
            key(ka, a)
                .partial_cmp(&key(kb, b))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(_, r)| *r)
}

/// Seconds per call of `f`, repeated for about [`TIMED_FOR`] after one untimed warm-up call.
fn time_per_call(mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0u32;
    while calls == 0 || (start.elapsed() < TIMED_FOR && calls < 1000) {
        f();
        calls += 1;
    }
    start.elapsed().as_secs_f64() / f64::from(calls)
}

/// `t` with its hidden units halved until `work` of it, at `rate` seconds per unit, would take
/// at most [`LONGEST_TIMED`]: every part's work grows at least linearly in the hidden units,
/// so the rate per unit measured on the cut recipe holds for the whole one.
fn cut_to_time(t: &TrainConfig, work: impl Fn(&TrainConfig) -> f64, rate: f64) -> TrainConfig {
    let mut cut = t.clone();
    while cut.hidden > 1 && work(&cut) * rate > LONGEST_TIMED {
        cut.hidden /= 2;
    }
    cut
}

/// Times one kind of run on the recipe `t`: optimizer steps of its trainer from its initial
/// model, and a measurement and sampling of that model, each on fewer hidden units where the
/// whole would take too long by the rates of `guess` (the nearest kind measured so far).
fn time_kind(
    t: &TrainConfig,
    eval: &EvalConfig,
    data: &Dataset,
    shape: &DataShape,
    guess: Option<Rates>,
) -> Rates {
    let grid_points = expected_grid_points(t, eval, shape).trained;
    let work = |c: &TrainConfig| Work::of(c, data, grid_points);
    let prior = guess.unwrap_or(Rates {
        step: FIRST_GUESS,
        points: FIRST_GUESS,
        grid: FIRST_GUESS,
        chain_step: FIRST_GUESS,
        ais_step: FIRST_GUESS,
        step_work: work(t).step,
    });
    let units = Units::for_training(t, data);
    let points = units.to_training_all(&data.train);
    // The initial model in data units, as a measurement sees it (a model trained for a few
    // steps might have diverged, and non-finite values take other paths through the kernels).
    let model_of =
        |c: &TrainConfig| initial_model(c, &points).to_data_units(units.shift, units.scale);

    let cut = cut_to_time(t, |c| work(c).step, prior.step);
    let mut trainer = Trainer::new(&cut, initial_model(&cut, &points), &points);
    let mut batches = points.chunks(t.batch_size).cycle();
    let step = time_per_call(|| trainer.step(batches.next().expect("a data set has points")))
        / work(&cut).step;

    let cut = cut_to_time(t, |c| work(c).grid, prior.grid);
    let model = model_of(&cut);
    let grid = time_per_call(|| {
        std::hint::black_box(log_z_grid(&model, Some(grid_points)));
    }) / work(&cut).grid;

    let cut = cut_to_time(t, |c| work(c).points, prior.points);
    let model = model_of(&cut);
    let log_z = log_z_grid(&model, Some(16));
    let pass = time_per_call(|| {
        std::hint::black_box(evaluate_with(
            &model,
            log_z,
            &data.train,
            &data.valid,
            &data.test,
        ));
    }) / work(&cut).points;

    let chains = t.batch_size.clamp(1, 1000);
    let chain_work = |c: &TrainConfig| (3 * chains) as f64 * work(c).chain_step;
    let cut = cut_to_time(t, chain_work, prior.chain_step);
    let model = model_of(&cut);
    let chain_step = time_per_call(|| {
        let mut rng = GibbsRng::new(stream(t.seed, Purpose::Samples));
        let mut ws = Workspace::new(chains, model.n_hidden());
        let mut x = Mat::<f64>::zeros(chains, 2);
        model.gibbs_steps(x.as_mut(), 3, &mut ws, &mut rng);
        std::hint::black_box(x);
    }) / chain_work(&cut);

    let ais_step = time_ais(t, eval, work, prior.ais_step, model_of);

    Rates {
        step,
        points: pass,
        grid,
        chain_step,
        ais_step,
        step_work: work(t).step,
    }
}

/// Seconds per unit of [`Work::ais_step`] of `t`, timed on a few steps of forward AIS with
/// `[eval] ais_chains` chains on the model `model_of` makes (`prior` the rate guessed before);
/// 0 for a sweep without AIS, which times nothing.
fn time_ais(
    t: &TrainConfig,
    eval: &EvalConfig,
    work: impl Fn(&TrainConfig) -> Work,
    prior: f64,
    model_of: impl Fn(&TrainConfig) -> Grbm,
) -> f64 {
    if !eval.ais_on() {
        return 0.0;
    }
    let chains = eval.ais_chains.clamp(1, 1000);
    const STEPS: usize = 3;
    let ais_work = |c: &TrainConfig| (chains * STEPS) as f64 * work(c).ais_step;
    let cut = cut_to_time(t, ais_work, prior);
    let model = model_of(&cut);
    time_per_call(|| {
        let mut rng = GibbsRng::new(stream(t.seed, Purpose::Ais));
        std::hint::black_box(ais_log_z(&model, chains, STEPS, &mut rng));
    }) / ais_work(&cut)
}

/// The largest CPU cache the system lists (the last level), or 32 MiB if it lists none.
fn largest_cache_bytes() -> f64 {
    let sizes = (0..8).filter_map(|index| {
        let path = format!("/sys/devices/system/cpu/cpu0/cache/index{index}/size");
        let text = std::fs::read_to_string(path).ok()?;
        let text = text.trim();
        let (digits, scale) = match text.strip_suffix('K') {
            Some(d) => (d, 1024.0),
            None => match text.strip_suffix('M') {
                Some(d) => (d, 1024.0 * 1024.0),
                None => (text, 1.0),
            },
        };
        digits.parse::<f64>().ok().map(|v| v * scale)
    });
    sizes
        .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
        .unwrap_or(32.0 * 1024.0 * 1024.0)
}

/// Seconds per value of the log Z kernel ([`vecmath::multiply_factors`]) over columns four
/// times the size of the largest cache, row by row as [`log_z_grid`] reads them.
fn time_stream(cache_bytes: f64) -> f64 {
    const ROW: usize = 1024;
    let columns = ((4.0 * cache_bytes / 8.0) as usize).div_ceil(ROW);
    let values = vec![0.5; columns * ROW];
    let mut product = vec![1.0; ROW];
    let seconds = time_per_call(|| {
        for column in values.chunks_exact(ROW) {
            crate::vecmath::multiply_factors(1e-3, column, &mut product);
        }
        std::hint::black_box(&mut product);
    });
    seconds / values.len() as f64
}

/// What the log Z grid of a trained model depends on in its data: the box of the training
/// points and their spread per axis (in data units; the grid's size does not depend on units).
#[derive(Debug, Clone, Copy)]
pub struct DataShape {
    lo: [f64; 2],
    hi: [f64; 2],
    spread: [f64; 2],
}

impl DataShape {
    pub fn of(data: &Dataset) -> DataShape {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in &data.train {
            for i in 0..2 {
                lo[i] = lo[i].min(p[i]);
                hi[i] = hi[i].max(p[i]);
            }
        }
        let (_, spread) = data.train_moments();
        DataShape {
            lo,
            hi,
            spread: spread.map(|s| if s > 0.0 { s } else { 1.0 }),
        }
    }
}

/// The learned sigma as a fraction of the initial one, for the grid estimate: the value that
/// puts the estimate at the median grid of the trained models of `experiments/fit.toml`.
const TRAINED_SIGMA: f64 = 0.5;

/// Points per axis of a run's log Z grids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridPoints {
    /// Of the initial model, measured at epoch 0 when `[eval] every` > 0.
    pub initial: usize,
    /// Of the models in training and the trained one.
    pub trained: usize,
}

impl GridPoints {
    /// The largest grid the run integrates on.
    fn largest(&self, eval: &EvalConfig) -> usize {
        if eval.every > 0 {
            self.initial.max(self.trained)
        } else {
            self.trained
        }
    }
}

/// The grids of a run: `[eval] grid_points` if set, else [`auto_grid_points`] of a one-unit model
/// whose means span a box. For the initial model the box is the expected reach of its random
/// weights around the data's mean (`w_init` times the spread times n times E|N(0, 1)| per axis),
/// with sigma `sigma_init` times the spread. For a trained model it is the data's box, with that sigma times
/// [`TRAINED_SIGMA`] if sigma is learned: learned sigmas end near the spread of the data's
/// clusters, and fitted weights reach about as far as the data. A model whose weights grow
/// past the data (many hidden units that training does not shrink) has a larger grid.
pub fn expected_grid_points(t: &TrainConfig, eval: &EvalConfig, shape: &DataShape) -> GridPoints {
    if let Some(points) = eval.grid_points {
        return GridPoints {
            initial: points,
            trained: points,
        };
    }
    let sigma = shape.spread.map(|s| s * t.sigma_init);
    // One unit whose means span `width` per axis: the grid depends on the width and sigma only.
    let spanning = |width: [f64; 2], sigma: [f64; 2]| {
        let w = faer::Mat::from_fn(2, 1, |i, _| width[i]);
        auto_grid_points(&Grbm::new([0.0; 2], sigma, w, vec![0.0]))
    };
    let mean_abs_normal = (2.0 / std::f64::consts::PI).sqrt();
    let reach = shape
        .spread
        .map(|s| t.w_init * s * t.hidden as f64 * mean_abs_normal);
    let data_width = [shape.hi[0] - shape.lo[0], shape.hi[1] - shape.lo[1]];
    let shrink = if t.learn_sigma { TRAINED_SIGMA } else { 1.0 };
    GridPoints {
        initial: spanning(reach, sigma),
        trained: spanning(data_width, sigma.map(|s| s * shrink)),
    }
}

/// The bytes of one run's arrays at their largest: the parameters and their copies (optimizer
/// moments, gradients, the last finite model, the data-unit model), the minibatch scratch, the
/// sampler's arrays, and then the larger of one measurement (the log Z grid's two columns of
/// exponentials per hidden unit, or the reconstruction's scratch) and the sample chains or the
/// exact draws, and the samples of both kinds.
pub fn peak_bytes(t: &TrainConfig, eval: &EvalConfig, grid_points: usize) -> f64 {
    const F64: f64 = 8.0;
    let n = t.hidden as f64;
    let padded = |rows: usize| rows.div_ceil(crate::vecmath::W) as f64 * crate::vecmath::W as f64;
    let parameters = 12.0 * F64 * (3.0 * n + 4.0);
    // A workspace holds p(z|x) and its uniforms: two rows-by-hidden arrays.
    let workspace = |rows: usize| 2.0 * F64 * padded(rows) * n;
    let sampler = t.sampler.bytes(t);
    let g = grid_points as f64;
    // log Z first, then the reconstruction, which writes p(z|x) of up to 1024 points at a time
    // (its uniforms are allocated zeroed and never touched, so they take no memory).
    let log_z = 2.0 * F64 * n * g + 6.0 * F64 * (n + g);
    let measurement = log_z.max(F64 * padded(1024) * n);
    let sampling = if eval.samples > 0 {
        let rows = sample_chains(t, eval);
        let chains = workspace(rows) + sampler + 2.0 * F64 * rows as f64 * n;
        // The exact draws' hidden states, and up to 20 hidden units the mixture weights and
        // their running sum (above, a grid row at a time).
        let states = if t.hidden > MAX_ENUMERATION_HIDDEN {
            0.0
        } else {
            2.0 * F64 * (1u64 << t.hidden) as f64
        };
        chains.max(F64 * eval.samples as f64 * n + states)
    } else {
        0.0
    };
    parameters
        + workspace(t.batch_size)
        + sampler
        + measurement.max(sampling)
        + 4.0 * F64 * eval.samples as f64
}

/// Bytes of the program itself (code, thread stacks, allocator, writing the tables): the peak
/// of a sweep of one run of 2 hidden units on 100 points, 26.7 MB on the 2-core machine of
/// docs/command-line.md.
const PROGRAM_BYTES: f64 = 27e6;
/// Bytes a sweep holds per run until its tables are written: the record, specification and
/// configuration (issue 21 measured 0.9 KB), besides the samples.
const RECORD_BYTES: f64 = 1000.0;
/// Seconds a sweep spends per run besides training and measuring it: writing its record
/// durably and its share of the tables (issue 21 measured 130 us per run of a million tiny runs).
const PER_RUN_SECONDS: f64 = 1.3e-4;
/// A run estimated over this long is worth a warning before it starts.
pub const LONG_RUN_SECONDS: f64 = 3600.0;

/// The estimated cost of a whole sweep on this machine.
pub struct SweepCost {
    pub calibration: Calibration,
    datasets: Vec<Dataset>,
    eval: EvalConfig,
    pub runs: usize,
    /// Seconds over all runs, as if each trained to its last epoch.
    pub train_seconds: f64,
    pub eval_seconds: f64,
    /// The share of that training a halving search does (1 for other searches).
    pub halving_share: f64,
    /// The longest run: its id and cost.
    pub longest: Option<(String, RunCost)>,
    /// Runs over [`LONG_RUN_SECONDS`].
    pub long_runs: usize,
    pub threads: usize,
    /// The whole process at its peak: the program, the data, the records and the `threads`
    /// largest runs at once.
    pub peak_bytes: f64,
    /// This machine's memory, where the system says.
    pub machine_bytes: Option<f64>,
}

impl SweepCost {
    /// Loads the data, times the kinds of run and adds up every run's cost, on `threads` workers.
    pub fn of(exp: &Experiment, threads: usize) -> Result<SweepCost, RunError> {
        let datasets = load_datasets(exp)?;
        let calibration = Calibration::measure(exp, &datasets, runs(exp));
        let mut cost = SweepCost {
            calibration,
            eval: exp.eval.clone(),
            runs: 0,
            train_seconds: 0.0,
            eval_seconds: 0.0,
            halving_share: 1.0,
            longest: None,
            long_runs: 0,
            threads: threads.max(1),
            peak_bytes: 0.0,
            machine_bytes: machine_bytes(),
            datasets,
        };
        let mut largest: Vec<f64> = Vec::new();
        let mut full_epochs = vec![0usize; cost.datasets.len()];
        let mut configs = vec![std::collections::HashSet::new(); cost.datasets.len()];
        for run in runs(exp) {
            let Some(c) = cost.run_cost(&run) else {
                continue;
            };
            cost.runs += 1;
            cost.train_seconds += c.train_seconds;
            cost.eval_seconds += c.eval_seconds;
            if c.seconds() > LONG_RUN_SECONDS {
                cost.long_runs += 1;
            }
            if cost
                .longest
                .as_ref()
                .is_none_or(|(_, l)| c.seconds() > l.seconds())
            {
                cost.longest = Some((run.run_id.clone(), c));
            }
            // The `threads` largest peaks, smallest first.
            let at = largest.partition_point(|b| *b < c.peak_bytes);
            largest.insert(at, c.peak_bytes);
            if largest.len() > cost.threads {
                largest.remove(0);
            }
            full_epochs[run.dataset] += run.train.epochs;
            if halving_of(exp).is_some() {
                configs[run.dataset].insert(run.config_id.clone());
            }
        }
        if let Some(halving) = halving_of(exp) {
            let seeds = crate::experiment::grid::seeds(exp).len().max(1);
            let planned: usize = configs
                .iter()
                .map(|c| halving.planned_epochs(c.len(), seeds, exp.train.epochs))
                .sum();
            let full: usize = full_epochs.iter().sum();
            cost.halving_share = planned as f64 / full.max(1) as f64;
        }
        let data_bytes: usize = cost
            .datasets
            .iter()
            .map(|d| 2 * 16 * (d.train.len() + d.valid.len() + d.test.len()))
            .sum();
        cost.peak_bytes = PROGRAM_BYTES
            + data_bytes as f64
            + cost.runs as f64 * (RECORD_BYTES + 32.0 * exp.eval.samples as f64)
            + largest.iter().sum::<f64>();
        Ok(cost)
    }

    /// The estimated cost of one run of the sweep.
    pub fn run_cost(&self, run: &RunSpec) -> Option<RunCost> {
        self.calibration
            .run_cost(run, &self.eval, &self.datasets[run.dataset])
    }

    /// Seconds of computing over all runs (with the halving search's share of the training).
    pub fn total_seconds(&self) -> f64 {
        self.train_seconds * self.halving_share
            + self.eval_seconds
            + self.runs as f64 * PER_RUN_SECONDS
    }

    /// Seconds from start to end on `threads` workers: the runs spread over them, and never
    /// less than the longest run.
    pub fn wall_seconds(&self) -> f64 {
        let longest = self.longest.as_ref().map_or(0.0, |(_, c)| c.seconds());
        (self.total_seconds() / self.threads as f64).max(longest)
    }
}

/// The machine's physical memory in bytes, if the system says.
fn machine_bytes() -> Option<f64> {
    // SAFETY: sysconf only reads system configuration values.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && page_size > 0).then_some(pages as f64 * page_size as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::grid::expand;
    use crate::experiment::parse;
    use std::path::Path;

    fn experiment(grid: &str) -> (Experiment, Vec<Dataset>) {
        let text = format!(
            "name = \"c\"\n[data]\nsource = \"gmm_iso\"\nn_train = 500\nn_test = 200\n[eval]\nsamples = 100\n[grid]\n{grid}"
        );
        let exp = parse(Path::new("c.toml"), &text).unwrap();
        let datasets = load_datasets(&exp).unwrap();
        (exp, datasets)
    }

    /// The initial grid estimate (from the expected reach of the random weights) against the grid
    /// [`auto_grid_points`] gives the initial models themselves, over hidden sizes and seeds.
    #[test]
    fn initial_grid_estimate_is_near_the_initial_models_grids() {
        let (exp, datasets) =
            experiment("hidden = [2, 16, 256]\nseed = [0, 1, 2, 3, 4, 5, 6, 7]\n");
        let data = &datasets[0];
        let shape = DataShape::of(data);
        for hidden in [2, 16, 256] {
            let runs: Vec<RunSpec> = expand(&exp)
                .into_iter()
                .filter(|r| r.train.hidden == hidden)
                .collect();
            let mut ratios = Vec::new();
            for run in &runs {
                let t = &run.train;
                let units = Units::for_training(t, data);
                let points = units.to_training_all(&data.train);
                let model = initial_model(t, &points).to_data_units(units.shift, units.scale);
                let actual = auto_grid_points(&model) as f64;
                ratios.push(expected_grid_points(t, &exp.eval, &shape).initial as f64 / actual);
            }
            let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
            assert!((0.8..1.25).contains(&mean), "hidden {hidden}: {ratios:?}");
            assert!(
                ratios.iter().all(|r| (0.5..2.0).contains(r)),
                "hidden {hidden}: {ratios:?}"
            );
        }
    }

    fn rates(step: f64) -> Rates {
        Rates {
            step,
            points: 1e-9,
            grid: 2e-9,
            chain_step: 3e-9,
            ais_step: 4e-9,
            step_work: 0.0,
        }
    }

    /// A run's estimate is its counts times the rates of its kind: twice the epochs, twice the
    /// training; a kind that was not timed takes the rates of the timed kind of its sampler
    /// nearest in size, not those of another sampler.
    #[test]
    fn run_costs_scale_the_rates_of_the_nearest_measured_kind() {
        let (exp, datasets) =
            experiment("hidden = [4, 8, 64]\nepochs = [10, 20]\nsampler = [\"cd\", \"exact\"]\n");
        let data = &datasets[0];
        let runs = expand(&exp);
        let find = |hidden: usize, epochs: usize, sampler: Sampler| {
            runs.iter()
                .find(|r| {
                    let t = &r.train;
                    t.hidden == hidden && t.epochs == epochs && t.sampler == sampler
                })
                .unwrap()
        };
        let kind = |hidden, sampler| Kind::of(&find(hidden, 10, sampler).train, 0);
        let step_work = |hidden, sampler| Work::of(&find(hidden, 10, sampler).train, data, 16).step;
        let mut measured = HashMap::new();
        for (hidden, sampler, step) in [(4, Sampler::Cd, 1e-9), (64, Sampler::Cd, 5e-9)] {
            let r = Rates {
                step_work: step_work(hidden, sampler),
                ..rates(step)
            };
            measured.insert(kind(hidden, sampler), r);
        }
        let exact = Rates {
            step_work: step_work(8, Sampler::Exact),
            ..rates(1e-6)
        };
        measured.insert(kind(8, Sampler::Exact), exact);
        let calibration = Calibration {
            rates: measured,
            shapes: vec![DataShape::of(data)],
            cache_bytes: 1e9,
            stream_seconds: 0.0,
            seconds: 0.0,
            kinds: 6,
            measured: 3,
        };
        let cost = |hidden, epochs, sampler| {
            calibration
                .run_cost(find(hidden, epochs, sampler), &exp.eval, data)
                .unwrap()
        };
        let (short, long) = (cost(64, 10, Sampler::Cd), cost(64, 20, Sampler::Cd));
        assert!((long.train_seconds / short.train_seconds - 2.0).abs() < 1e-12);
        assert_eq!(short.epoch_seconds, long.epoch_seconds);
        // 8 hidden units of cd: the nearer timed cd kind is 4 units (log distance), not the
        // exact kind of 8.
        let steps = data
            .train
            .len()
            .div_ceil(find(8, 10, Sampler::Cd).train.batch_size) as f64;
        let expected = steps * step_work(8, Sampler::Cd) * 1e-9;
        let c = cost(8, 10, Sampler::Cd);
        assert!((c.epoch_seconds / expected - 1.0).abs() < 1e-12, "{c:?}");
    }

    /// AIS adds 2 x chains x steps AIS steps per budget to a run's evaluation, at the rate of
    /// its kind's AIS steps, and reverse AIS's start: the enumeration of the hidden states, or
    /// above 20 hidden units a grid sum.
    #[test]
    fn ais_adds_its_steps_and_reverse_ais_start() {
        let (exp, datasets) = experiment("hidden = [8, 64]\n");
        let data = &datasets[0];
        let runs = expand(&exp);
        let calibration = Calibration {
            rates: (runs.iter())
                .map(|r| (Kind::of(&r.train, 0), rates(1e-9)))
                .collect(),
            shapes: vec![DataShape::of(data)],
            cache_bytes: 1e9,
            stream_seconds: 0.0,
            seconds: 0.0,
            kinds: 2,
            measured: 2,
        };
        let with_ais = EvalConfig {
            ais_chains: 50,
            ais_steps: vec![10, 100],
            ..exp.eval.clone()
        };
        for run in &runs {
            let t = &run.train;
            let cost = |eval: &EvalConfig| calibration.run_cost(run, eval, data).unwrap();
            let added = cost(&with_ais).eval_seconds - cost(&exp.eval).eval_seconds;
            let grids = expected_grid_points(t, &exp.eval, &DataShape::of(data));
            let steps =
                (2 * 50 * (10 + 100)) as f64 * Work::of(t, data, grids.trained).ais_step * 4e-9;
            if t.hidden <= MAX_ENUMERATION_HIDDEN {
                let enumeration = 2.0 * 256.0 * 10.0 * 1e-9;
                let expected = steps + enumeration;
                assert!(
                    (added / expected - 1.0).abs() < 1e-9,
                    "{added} vs {expected}"
                );
            } else {
                assert!(added > steps * (1.0 + 1e-9), "{added} vs {steps}");
            }
        }
    }

    /// The plan's measurement gives every kind of a small grid positive, finite rates, and
    /// every run a cost, within its time budget's order.
    #[test]
    fn the_measurement_times_every_kind_of_a_small_grid() {
        let (exp, datasets) =
            experiment("hidden = [2, 32]\nsampler = [\"cd\", \"exact\", \"grid\", \"tempered\"]\n");
        let calibration = Calibration::measure(&exp, &datasets, expand(&exp));
        assert_eq!((calibration.kinds, calibration.measured), (8, 8));
        for r in calibration.rates.values() {
            for rate in [r.step, r.points, r.grid, r.chain_step] {
                assert!(rate.is_finite() && rate > 0.0, "{r:?}");
            }
        }
        for run in expand(&exp) {
            let c = calibration.run_cost(&run, &exp.eval, &datasets[0]).unwrap();
            assert!(c.seconds() > 0.0 && c.peak_bytes > 0.0, "{c:?}");
        }
    }
}
