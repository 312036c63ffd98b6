//! The training loop of one run: initialization, minibatch updates (SGD or Adam) along the
//! log-likelihood gradient, whose negative phase comes from the `sampler` (Gibbs chains: CD-k,
//! PCD, chains from noise, parallel tempering; Metropolis-Hastings chains: Langevin and
//! Gibbs-Langevin; or the exact expectation, enumerated or on the grid), learning curves,
//! checkpoint diagnostics and divergence, and a run paused and continued from its saved state.

pub mod diagnostics;
pub mod params;
pub mod sampler;

use crate::data::{Dataset, moments};
use crate::estimate::ais::{self, AisMeasurement};
use crate::estimate::{EvalConfig, Evaluation, evaluate, exact_samples_any};
use crate::model::{Gradient, Grbm, Workspace};
use crate::rng::{GibbsRng, Purpose, below, standard_normal, stream};
use faer::Mat;
use params::{LrSchedule, Optimizer, TrainConfig};
use rand::seq::SliceRandom;
use sampler::{Active, SavedSampler, WrongState};
use std::time::Instant;

/// One learning-curve point, measured in data units.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    pub epoch: usize,
    pub train_ll: f64,
    pub valid_ll: f64,
    pub test_ll: f64,
    pub recon_error: f64,
    pub sigma: [f64; 2],
    /// How far the sampler is from the model here (`[eval] diagnostics`); absent from the
    /// records and states of versions before the diagnostics.
    #[serde(default)]
    pub diagnostics: Option<diagnostics::Diagnostics>,
}

/// How a run's training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Ok,
    /// Parameters or log-likelihood became non-finite in this epoch.
    Diverged {
        epoch: usize,
    },
}

/// Everything one run produced.
#[derive(Debug, Clone)]
pub struct TrainedRun {
    /// The final model in data units (for a diverged run: the last finite parameters).
    pub model: Grbm,
    /// The final evaluation; `None` for a diverged run.
    pub evaluation: Option<Evaluation>,
    pub curve: Vec<CurvePoint>,
    /// Exact samples of the final model in data units (`[eval] samples`, from its 2^n mixture, or
    /// its log Z grid above 20 hidden units: [`crate::estimate::exact_samples_any`]; none for a
    /// diverged run).
    pub exact_samples: Vec<[f64; 2]>,
    /// The sampler's own chains on the final model ([`Trainer::chain_samples`]: `[eval] samples`,
    /// `chain_steps`, `thin`), in data units: the model's samples only where the chains have
    /// mixed (none for a diverged run, or a sampler without chains).
    pub chain_samples: Vec<[f64; 2]>,
    /// AIS estimates of the final model's log Z, one per `[eval] ais_steps` value (none for a
    /// diverged run, or with AIS off); their time is not in `eval_seconds`.
    pub ais: Vec<AisMeasurement>,
    pub outcome: Outcome,
    /// Epochs completed with finite parameters.
    pub epochs_done: usize,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    /// The fraction of the sampler's Metropolis-Hastings proposals accepted over the run
    /// (`None` for samplers that make none).
    pub accept_rate: Option<f64>,
}

/// The affine map between data units and the units the model is trained in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Units {
    pub shift: [f64; 2],
    pub scale: [f64; 2],
}

impl Units {
    pub fn for_training(cfg: &TrainConfig, data: &Dataset) -> Units {
        if cfg.standardize {
            let (shift, scale) = data.train_moments();
            Units {
                shift,
                scale: scale.map(|s| if s > 0.0 { s } else { 1.0 }),
            }
        } else {
            Units {
                shift: [0.0; 2],
                scale: [1.0; 2],
            }
        }
    }

    pub fn to_training(&self, x: [f64; 2]) -> [f64; 2] {
        [
            (x[0] - self.shift[0]) / self.scale[0],
            (x[1] - self.shift[1]) / self.scale[1],
        ]
    }

    /// `points` in training units.
    pub fn to_training_all(&self, points: &[[f64; 2]]) -> Vec<[f64; 2]> {
        points.iter().map(|x| self.to_training(*x)).collect()
    }

    /// A point in training units, back in data units.
    pub fn to_data(&self, x: [f64; 2]) -> [f64; 2] {
        [0, 1].map(|i| x[i] * self.scale[i] + self.shift[i])
    }
}

/// The initial model in training units. `sigma_init` and `w_init` are in standardized units:
/// without standardization they are multiplied by the data's spread per axis.
pub fn initial_model(cfg: &TrainConfig, points: &[[f64; 2]]) -> Grbm {
    let (mean, std) = moments(points);
    let spread = std.map(|s| if s > 0.0 { s } else { 1.0 });
    let mut rng = stream(cfg.seed, Purpose::Init);
    let w = Mat::from_fn(2, cfg.hidden, |i, _| {
        cfg.w_init * spread[i] * standard_normal(&mut rng)
    });
    Grbm::new(
        mean,
        [cfg.sigma_init * spread[0], cfg.sigma_init * spread[1]],
        w,
        vec![0.0; cfg.hidden],
    )
}

/// Learning-rate multiplier at `progress` in [0, 1] of the run's steps.
pub fn schedule_factor(schedule: LrSchedule, progress: f64) -> f64 {
    match schedule {
        LrSchedule::Constant => 1.0,
        LrSchedule::Cosine => 0.5 * (1.0 + libm::cos(std::f64::consts::PI * progress)),
        LrSchedule::Linear => 1.0 - progress,
    }
}

/// The optimizer: the gradient from the positive phase and the sampler's negative phase,
/// momentum or Adam, weight decay, clipping, the schedule and the sigma floor.
pub struct Trainer<'a> {
    pub cfg: &'a TrainConfig,
    pub model: Grbm,
    /// First-moment state: the momentum velocity (SGD) or Adam's running mean.
    velocity: Gradient,
    /// Adam's running mean of squared gradients (unused by SGD).
    second_moment: Gradient,
    /// Optimizer updates made so far (Adam's bias correction).
    updates: usize,
    positive: Gradient,
    negative: Gradient,
    ws: Workspace,
    batch: Mat<f64>,
    sampler: Active,
    gibbs_rng: GibbsRng,
    step: usize,
    total_steps: usize,
}

/// Everything of a [`Trainer`] that carries from one step to the next: the parameters, the
/// optimizer's moments and step count, the chains and the Gibbs streams. The rest of the
/// trainer is scratch or follows from the recipe and the data.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrainerState {
    model: Grbm,
    velocity: Gradient,
    second_moment: Gradient,
    updates: usize,
    /// The sampler's state (`None` before the first step).
    sampler: Option<SavedSampler>,
    gibbs_rng: GibbsRng,
    /// Optimizer steps made, the position in the learning-rate schedule.
    step: usize,
}

impl TrainerState {
    /// The state before the first step, from the initial `model`.
    pub fn fresh(cfg: &TrainConfig, model: Grbm) -> Self {
        let n = cfg.hidden;
        TrainerState {
            model,
            velocity: Gradient::zeros(n),
            second_moment: Gradient::zeros(n),
            updates: 0,
            sampler: None,
            gibbs_rng: GibbsRng::new(stream(cfg.seed, Purpose::Gibbs)),
            step: 0,
        }
    }
}

/// The rows of an `r x 2` matrix.
/// `rows` points drawn with replacement from `points` (at most as many as there are points).
fn random_batch(rng: &mut rand_pcg::Pcg64, points: &[[f64; 2]], rows: usize) -> Vec<[f64; 2]> {
    (0..rows.min(points.len()))
        .map(|_| points[below(rng, points.len() as u64) as usize])
        .collect()
}

fn rows(m: faer::MatRef<'_, f64>) -> Vec<[f64; 2]> {
    (0..m.nrows()).map(|r| [m[(r, 0)], m[(r, 1)]]).collect()
}

/// Sets the rows of an `r x 2` matrix (`rows` must hold `r` rows).
fn set_rows(m: &mut Mat<f64>, rows: &[[f64; 2]]) {
    assert_eq!(m.nrows(), rows.len(), "a saved state of another shape");
    for (r, row) in rows.iter().enumerate() {
        m[(r, 0)] = row[0];
        m[(r, 1)] = row[1];
    }
}

impl<'a> Trainer<'a> {
    /// `points` are the training points in training units.
    pub fn new(cfg: &'a TrainConfig, model: Grbm, points: &[[f64; 2]]) -> Self {
        let sampler = Active::fresh(cfg, points);
        Trainer::with(cfg, TrainerState::fresh(cfg, model), sampler, points)
    }

    /// The trainer that continues from `state` exactly as the trainer that saved it would have,
    /// or why it cannot: a state of another sampler.
    pub fn resume(
        cfg: &'a TrainConfig,
        mut state: TrainerState,
        points: &[[f64; 2]],
    ) -> Result<Self, WrongState> {
        let sampler = match state.sampler.take() {
            Some(saved) => Active::resume(cfg, points, saved)?,
            None => Active::fresh(cfg, points),
        };
        Ok(Trainer::with(cfg, state, sampler, points))
    }

    fn with(
        cfg: &'a TrainConfig,
        state: TrainerState,
        sampler: Active,
        points: &[[f64; 2]],
    ) -> Self {
        let n = cfg.hidden;
        let batches_per_epoch = points.len().div_ceil(cfg.batch_size);
        Trainer {
            cfg,
            model: state.model,
            velocity: state.velocity,
            second_moment: state.second_moment,
            updates: state.updates,
            positive: Gradient::zeros(n),
            negative: Gradient::zeros(n),
            ws: Workspace::new(cfg.batch_size, n),
            batch: Mat::zeros(cfg.batch_size, 2),
            sampler,
            gibbs_rng: state.gibbs_rng,
            step: state.step,
            total_steps: batches_per_epoch * cfg.epochs,
        }
    }

    /// What a trainer made by [`Trainer::resume`] needs to continue from here.
    pub fn state(&self) -> TrainerState {
        TrainerState {
            sampler: Some(self.sampler.saved()),
            model: self.model.clone(),
            velocity: self.velocity.clone(),
            second_moment: self.second_moment.clone(),
            updates: self.updates,
            gibbs_rng: self.gibbs_rng.clone(),
            step: self.step,
        }
    }

    /// The negative-phase chains after the last step (rows beyond the last batch are stale),
    /// for samplers that keep chains.
    pub fn chains(&self) -> Option<faer::MatRef<'_, f64>> {
        self.sampler.chains()
    }

    /// The negative phase a copy of this trainer's sampler gives on `batch` (training units)
    /// drawing from `rng`, and the copy's chains after it, leaving the trainer as it was.
    /// `points` are the training points in training units.
    pub fn probe_negative(
        &self,
        batch: &[[f64; 2]],
        points: &[[f64; 2]],
        rng: &mut GibbsRng,
    ) -> (Gradient, Option<Mat<f64>>) {
        let n = self.cfg.hidden;
        let mut sampler = self.sampler.copy(self.cfg, points);
        let mut ws = Workspace::new(batch.len(), n);
        let x = Mat::from_fn(batch.len(), 2, |r, i| batch[r][i]);
        // The positive phase leaves p(z|x) of the batch in `ws`, where CD starts from it.
        let mut positive = Gradient::zeros(n);
        self.model
            .mean_free_energy_grad(x.as_ref(), &mut ws, &mut positive);
        let mut negative = Gradient::zeros(n);
        let step = sampler::Step {
            cfg: self.cfg,
            model: &self.model,
            batch: x.as_ref(),
            ws: &mut ws,
            rng,
        };
        sampler.negative(step, &mut negative);
        let chains = sampler
            .chains()
            .map(|c| c.subrows(0, batch.len().min(c.nrows())).to_owned());
        (negative, chains)
    }

    /// `count` states of the sampler's own chains on the current model (training units), from a
    /// copy of the sampler, leaving the trainer as it was: the chains after one negative phase
    /// on a minibatch drawn from `seeder` (as training made them, from the sampler's usual start),
    /// continued `chain_steps` Gibbs steps, then recorded every `thin` Gibbs steps until `count`
    /// are kept. `None` for samplers without chains (`exact`, `grid`).
    pub fn chain_samples(
        &self,
        points: &[[f64; 2]],
        seeder: &mut rand_pcg::Pcg64,
        (chain_steps, thin, count): (usize, usize, usize),
    ) -> Option<Vec<[f64; 2]>> {
        let batch = random_batch(seeder, points, self.cfg.batch_size);
        let mut rng = GibbsRng::new(seeder.clone());
        let (_, chains) = self.probe_negative(&batch, points, &mut rng);
        let mut x = chains?;
        let mut ws = Workspace::new(x.nrows(), self.cfg.hidden);
        self.model
            .gibbs_steps(x.as_mut(), chain_steps, &mut ws, &mut rng);
        let mut kept = Vec::with_capacity(count);
        loop {
            let take = x.nrows().min(count - kept.len());
            kept.extend(rows(x.as_ref().subrows(0, take)));
            if kept.len() == count {
                return Some(kept);
            }
            self.model
                .gibbs_steps(x.as_mut(), thin.max(1), &mut ws, &mut rng);
        }
    }

    /// The fraction of the sampler's Metropolis-Hastings proposals accepted so far.
    pub fn accept_rate(&self) -> Option<f64> {
        self.sampler.accept_rate()
    }

    /// One optimizer step on the minibatch `batch` (rows in training units).
    pub fn step(&mut self, batch: &[[f64; 2]]) {
        let rows = batch.len();
        for (r, p) in batch.iter().enumerate() {
            self.batch[(r, 0)] = p[0];
            self.batch[(r, 1)] = p[1];
        }
        let x = self.batch.as_ref().subrows(0, rows);
        self.model
            .mean_free_energy_grad(x, &mut self.ws, &mut self.positive);

        let step = sampler::Step {
            cfg: self.cfg,
            model: &self.model,
            batch: x,
            ws: &mut self.ws,
            rng: &mut self.gibbs_rng,
        };
        self.sampler.negative(step, &mut self.negative);

        let progress = self.step as f64 / self.total_steps.max(1) as f64;
        let lr = self.cfg.lr * schedule_factor(self.cfg.lr_schedule, progress);
        self.step += 1;
        self.apply(lr);
    }

    /// Moves the parameters against `positive - negative` (stored into `positive`).
    fn apply(&mut self, lr: f64) {
        let cfg = self.cfg;
        let g = &mut self.positive;
        let neg = &self.negative;
        for i in 0..2 {
            g.b[i] -= neg.b[i];
            g.log_sigma[i] = if cfg.learn_sigma {
                g.log_sigma[i] - neg.log_sigma[i]
            } else {
                0.0
            };
        }
        for j in 0..cfg.hidden {
            g.c[j] -= neg.c[j];
            for i in 0..2 {
                g.w[(i, j)] += -neg.w[(i, j)] + cfg.weight_decay * self.model.w[(i, j)];
            }
        }
        let norm = g.norm();
        let clip = if cfg.clip_norm > 0.0 && norm > cfg.clip_norm {
            cfg.clip_norm / norm
        } else {
            1.0
        };
        self.updates += 1;
        let step = Step {
            optimizer: cfg.optimizer,
            momentum: cfg.momentum,
            lr: lr * clip,
            adam_correction: [
                1.0 - cfg.momentum.powi(self.updates as i32),
                1.0 - ADAM_BETA2.powi(self.updates as i32),
            ],
        };
        let (v, sq, m) = (&mut self.velocity, &mut self.second_moment, &mut self.model);
        for i in 0..2 {
            step.apply(&mut m.b[i], &mut v.b[i], &mut sq.b[i], g.b[i], 1.0);
            step.apply(
                &mut m.log_sigma[i],
                &mut v.log_sigma[i],
                &mut sq.log_sigma[i],
                g.log_sigma[i],
                cfg.sigma_lr,
            );
            m.log_sigma[i] = m.log_sigma[i].max(libm::log(cfg.sigma_min));
        }
        for j in 0..cfg.hidden {
            step.apply(&mut m.c[j], &mut v.c[j], &mut sq.c[j], g.c[j], 1.0);
            for i in 0..2 {
                step.apply(
                    &mut m.w[(i, j)],
                    &mut v.w[(i, j)],
                    &mut sq.w[(i, j)],
                    g.w[(i, j)],
                    1.0,
                );
            }
        }
    }
}

/// Adam's decay of the squared-gradient average (its first-moment decay is `momentum`).
const ADAM_BETA2: f64 = 0.999;
const ADAM_EPSILON: f64 = 1e-8;

/// One optimizer update of a single parameter, shared by every parameter group.
struct Step {
    optimizer: Optimizer,
    momentum: f64,
    /// Learning rate after the schedule and clipping.
    lr: f64,
    /// Adam's bias corrections `1 - beta^t` for the first and second moments.
    adam_correction: [f64; 2],
}

impl Step {
    /// Moves `param` against gradient `g`; `velocity` and `second` are its optimizer state.
    fn apply(&self, param: &mut f64, velocity: &mut f64, second: &mut f64, g: f64, lr_scale: f64) {
        match self.optimizer {
            Optimizer::Sgd => {
                *velocity = self.momentum * *velocity - self.lr * lr_scale * g;
                *param += *velocity;
            }
            Optimizer::Adam => {
                *velocity = self.momentum * *velocity + (1.0 - self.momentum) * g;
                *second = ADAM_BETA2 * *second + (1.0 - ADAM_BETA2) * g * g;
                let m_hat = *velocity / self.adam_correction[0];
                let v_hat = *second / self.adam_correction[1];
                *param -= self.lr * lr_scale * m_hat / (v_hat.sqrt() + ADAM_EPSILON);
            }
        }
    }
}

/// Trains one run from its recipe on `data` and measures it as `eval` asks, calling
/// `epoch_done` after every epoch of training (for progress reports).
pub fn train_run(
    cfg: &TrainConfig,
    data: &Dataset,
    eval: &EvalConfig,
    epoch_done: &dyn Fn(),
) -> TrainedRun {
    match train_from(Run::fresh(cfg, data, eval), cfg.epochs, &epoch_done) {
        Segment::Ended(run) => run,
        Segment::Paused(_) => unreachable!("a run that is never paused ends"),
    }
}

/// What the caller of [`train_until`] decides at the end of an epoch that is not the run's last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterEpoch {
    Continue,
    /// Stop here: the run ends as [`Segment::Paused`].
    Pause,
}

/// A run at the end of an epoch, as [`train_until`] shows it to its caller.
pub struct EpochEnd<'r, 'a> {
    run: &'r Run<'a>,
}

impl EpochEnd<'_, '_> {
    /// Epochs trained.
    pub fn epoch(&self) -> usize {
        self.run.epoch
    }

    /// The run's state now (a copy): continuing from it gives the numbers of the run trained
    /// straight through, so it can be saved as a checkpoint.
    pub fn state(&self) -> RunState {
        self.run.state()
    }
}

/// How the caller of [`train_until`] follows and steers a run. A closure `Fn()` is a `Steer`
/// that counts epochs and never pauses.
pub trait Steer {
    /// After every epoch trained (for progress reports).
    fn epoch_done(&self);

    /// After every epoch that is not the run's last, once the run is known to be finite.
    fn after_epoch(&self, _end: &EpochEnd<'_, '_>) -> AfterEpoch {
        AfterEpoch::Continue
    }
}

impl<F: Fn()> Steer for F {
    fn epoch_done(&self) {
        self()
    }
}

/// Where a run stands after [`train_until`].
// One is made per run and rung and moved once: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Segment {
    /// The run reached its last epoch (and was measured and sampled) or diverged.
    Ended(TrainedRun),
    /// The run stopped at the epoch it was asked to, and can be continued from this state.
    Paused(RunState),
}

/// A run between two epochs: everything [`train_until`] needs to continue it as if it had
/// never stopped (the trainer, the minibatch order and its stream, the curve so far).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunState {
    /// Epochs trained.
    pub epoch: usize,
    trainer: TrainerState,
    order_rng: rand_pcg::Pcg64,
    order: Vec<usize>,
    pub curve: Vec<CurvePoint>,
    last_finite: Grbm,
    pub train_seconds: f64,
    pub eval_seconds: f64,
}

/// Trains a run, from its start (`from` = `None`) or from a saved state, up to epoch `until`
/// (at most its `epochs`), or until `steer` pauses it. A run that stops before its last epoch is
/// paused, exactly as it stood: continuing it later gives the numbers of the same run trained
/// straight through.
pub fn train_until(
    cfg: &TrainConfig,
    data: &Dataset,
    eval: &EvalConfig,
    from: Option<RunState>,
    until: usize,
    steer: &dyn Steer,
) -> Result<Segment, WrongState> {
    let run = match from {
        Some(state) => Run::resume(cfg, data, eval, state)?,
        None => Run::fresh(cfg, data, eval),
    };
    Ok(train_from(run, until, steer))
}

/// [`train_until`] from a run started or resumed.
fn train_from(mut run: Run<'_>, until: usize, steer: &dyn Steer) -> Segment {
    let (cfg, eval) = (run.cfg, run.eval);
    let until = until.min(cfg.epochs);
    // Every epoch but the last ends in a checkpoint; the last one in the final evaluation.
    while run.epoch < until {
        run.train_epoch();
        run.epoch += 1;
        steer.epoch_done();
        let epoch = run.epoch;
        if epoch == cfg.epochs {
            return Segment::Ended(run.finish(epoch));
        }
        if !run.trainer.model.is_finite() {
            return Segment::Ended(run.diverged(epoch));
        }
        if eval.every > 0 && epoch.is_multiple_of(eval.every) && !run.measure(epoch).1.is_finite() {
            return Segment::Ended(run.diverged(epoch));
        }
        run.last_finite.clone_from(&run.trainer.model);
        if steer.after_epoch(&EpochEnd { run: &run }) == AfterEpoch::Pause {
            break;
        }
    }
    Segment::Paused(run.state())
}

/// The model of a paused run in data units, as its record reports it.
pub fn paused_model(cfg: &TrainConfig, data: &Dataset, state: &RunState) -> Grbm {
    let units = Units::for_training(cfg, data);
    (state.trainer.model).to_data_units(units.shift, units.scale)
}

/// The fraction of a paused run's Metropolis-Hastings proposals accepted so far (`None` for
/// samplers that make none, or a state of another sampler).
pub fn paused_accept_rate(cfg: &TrainConfig, data: &Dataset, state: &RunState) -> Option<f64> {
    let points = Units::for_training(cfg, data).to_training_all(&data.train);
    let trainer = Trainer::resume(cfg, state.trainer.clone(), &points).ok()?;
    trainer.accept_rate()
}

/// A paused run measured as a checkpoint measures it (the same numbers at the same epoch).
pub fn evaluate_paused(
    cfg: &TrainConfig,
    data: &Dataset,
    eval: &EvalConfig,
    state: &RunState,
) -> Evaluation {
    evaluate_on(&paused_model(cfg, data, state), data, eval)
}

/// A model in data units measured on every split of `data`.
fn evaluate_on(model: &Grbm, data: &Dataset, eval: &EvalConfig) -> Evaluation {
    evaluate(
        model,
        &data.train,
        &data.valid,
        &data.test,
        eval.grid_points,
    )
}

/// One run in training: its trainer, the minibatch order, the learning curve so far and the
/// time spent in training and in evaluation.
struct Run<'a> {
    cfg: &'a TrainConfig,
    data: &'a Dataset,
    eval: &'a EvalConfig,
    units: Units,
    /// The training points in training units.
    points: Vec<[f64; 2]>,
    trainer: Trainer<'a>,
    /// Epochs trained.
    epoch: usize,
    order_rng: rand_pcg::Pcg64,
    order: Vec<usize>,
    batch: Vec<[f64; 2]>,
    curve: Vec<CurvePoint>,
    /// The parameters at the last checkpoint, which a diverged run reports.
    last_finite: Grbm,
    train_seconds: f64,
    eval_seconds: f64,
}

impl<'a> Run<'a> {
    /// The run at its start, measured at epoch 0 if the curve asks for it.
    fn fresh(cfg: &'a TrainConfig, data: &'a Dataset, eval: &'a EvalConfig) -> Self {
        let units = Units::for_training(cfg, data);
        let points = units.to_training_all(&data.train);
        let model = initial_model(cfg, &points);
        let state = RunState {
            epoch: 0,
            trainer: TrainerState::fresh(cfg, model.clone()),
            order_rng: stream(cfg.seed, Purpose::Order),
            order: (0..points.len()).collect(),
            curve: Vec::new(),
            last_finite: model,
            train_seconds: 0.0,
            eval_seconds: 0.0,
        };
        let trainer = Trainer::new(cfg, state.trainer.model.clone(), &points);
        let mut run = Run::with(cfg, data, eval, units, points, trainer, state);
        if eval.every > 0 {
            run.measure(0);
        }
        run
    }

    /// The run continued from a saved state, or why it cannot be.
    fn resume(
        cfg: &'a TrainConfig,
        data: &'a Dataset,
        eval: &'a EvalConfig,
        state: RunState,
    ) -> Result<Self, WrongState> {
        let units = Units::for_training(cfg, data);
        let points = units.to_training_all(&data.train);
        assert_eq!(
            state.order.len(),
            points.len(),
            "a saved state of another data set"
        );
        // A copy, so that `with` takes the rest of the state whole: resuming is rare.
        let trainer = Trainer::resume(cfg, state.trainer.clone(), &points)?;
        Ok(Run::with(cfg, data, eval, units, points, trainer, state))
    }

    fn with(
        cfg: &'a TrainConfig,
        data: &'a Dataset,
        eval: &'a EvalConfig,
        units: Units,
        points: Vec<[f64; 2]>,
        trainer: Trainer<'a>,
        state: RunState,
    ) -> Self {
        Run {
            cfg,
            data,
            eval,
            units,
            trainer,
            points,
            epoch: state.epoch,
            order_rng: state.order_rng,
            order: state.order,
            batch: Vec::with_capacity(cfg.batch_size),
            curve: state.curve,
            last_finite: state.last_finite,
            train_seconds: state.train_seconds,
            eval_seconds: state.eval_seconds,
        }
    }

    /// What [`Run::resume`] needs to continue this run as if it had not stopped.
    fn state(&self) -> RunState {
        RunState {
            epoch: self.epoch,
            trainer: self.trainer.state(),
            order_rng: self.order_rng.clone(),
            order: self.order.clone(),
            curve: self.curve.clone(),
            last_finite: self.last_finite.clone(),
            train_seconds: self.train_seconds,
            eval_seconds: self.eval_seconds,
        }
    }

    /// One pass over the training points in a fresh order, one update per minibatch.
    fn train_epoch(&mut self) {
        let start = Instant::now();
        self.order.shuffle(&mut self.order_rng);
        for chunk in self.order.chunks(self.cfg.batch_size) {
            self.batch.clear();
            self.batch.extend(chunk.iter().map(|&i| self.points[i]));
            self.trainer.step(&self.batch);
        }
        self.train_seconds += start.elapsed().as_secs_f64();
    }

    /// Evaluates the current model in data units and adds a curve point if it is finite.
    fn measure(&mut self, epoch: usize) -> (Grbm, Evaluation) {
        let start = Instant::now();
        let model = (self.trainer.model).to_data_units(self.units.shift, self.units.scale);
        let e = evaluate_on(&model, self.data, self.eval);
        if e.is_finite() {
            let diagnostics = self.eval.diagnostics.then(|| {
                diagnostics::diagnose(
                    &self.trainer,
                    &self.points,
                    self.units,
                    &model,
                    e.log_z,
                    e.grid_points,
                    epoch,
                )
            });
            self.curve.push(CurvePoint {
                epoch,
                train_ll: e.train_ll,
                valid_ll: e.valid_ll,
                test_ll: e.test_ll,
                recon_error: e.recon_error,
                sigma: model.sigma(),
                diagnostics,
            });
        }
        self.eval_seconds += start.elapsed().as_secs_f64();
        (model, e)
    }

    /// The run after its last epoch: the final evaluation, the model's exact samples and its
    /// chain samples, or a diverged run if the parameters or the log-likelihood are not finite.
    fn finish(mut self, epoch: usize) -> TrainedRun {
        if !self.trainer.model.is_finite() {
            return self.diverged(epoch);
        }
        let (model, e) = self.measure(epoch);
        if !e.is_finite() {
            return self.diverged(epoch);
        }
        let start = Instant::now();
        let eval = self.eval;
        let mut seeder = stream(self.cfg.seed, Purpose::Samples);
        let steps = (eval.chain_steps, eval.thin, eval.samples);
        let chain_samples = (eval.samples > 0)
            .then(|| self.trainer.chain_samples(&self.points, &mut seeder, steps))
            .flatten()
            .map(|x| x.iter().map(|p| self.units.to_data(*p)).collect())
            .unwrap_or_default();
        // On the grid of the final evaluation's log Z above 20 hidden units.
        let mut rng = GibbsRng::new(stream(self.cfg.seed, Purpose::ExactSamples));
        let exact = exact_samples_any(&model, eval.samples, Some(e.grid_points), &mut rng);
        let exact_samples = exact.row_iter().map(|x| [x[0], x[1]]).collect();
        self.eval_seconds += start.elapsed().as_secs_f64();
        // The same data-units model and grid as the final evaluation's log Z.
        let ais = ais::measure(
            &model,
            e.grid_points,
            eval.ais_chains,
            &eval.ais_steps,
            self.cfg.seed,
        );
        TrainedRun {
            model,
            evaluation: Some(e),
            curve: self.curve,
            exact_samples,
            chain_samples,
            ais,
            outcome: Outcome::Ok,
            epochs_done: epoch,
            train_seconds: self.train_seconds,
            eval_seconds: self.eval_seconds,
            accept_rate: self.trainer.accept_rate(),
        }
    }

    /// The run as it stood at its last checkpoint, ended by epoch `epoch` going non-finite.
    fn diverged(self, epoch: usize) -> TrainedRun {
        TrainedRun {
            model: (self.last_finite).to_data_units(self.units.shift, self.units.scale),
            evaluation: None,
            curve: self.curve,
            exact_samples: Vec::new(),
            chain_samples: Vec::new(),
            ais: Vec::new(),
            outcome: Outcome::Diverged { epoch },
            epochs_done: epoch - 1,
            train_seconds: self.train_seconds,
            eval_seconds: self.eval_seconds,
            accept_rate: self.trainer.accept_rate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataConfig, DataSource, SourceKind};
    use crate::train::params::Sampler;

    fn gmm_iso(n_train: usize) -> Dataset {
        let cfg = DataConfig {
            sources: vec![DataSource {
                label: "gmm_iso".into(),
                kind: SourceKind::Generator,
            }],
            n_train,
            n_test: 1000,
            seed: 0,
            ..DataConfig::default()
        };
        Dataset::load(&cfg, 0).unwrap()
    }

    fn short(cfg: TrainConfig) -> TrainConfig {
        TrainConfig {
            hidden: 4,
            epochs: 2,
            k: 2,
            ..cfg
        }
    }

    const FINAL_ONLY: EvalConfig = EvalConfig {
        every: 0,
        grid_points: None,
        samples: 0,
        chain_steps: 0,
        thin: 1,
        checkpoint_minutes: 0.0,
        ais_chains: 100,
        ais_steps: Vec::new(),
        diagnostics: true,
    };

    /// One-Gaussian fit of gmm_iso: about -5.85 nats. The default recipe must get well above it quickly.
    #[test]
    fn default_recipe_fits_gmm_iso_well_above_one_gaussian() {
        assert_fits_gmm_iso(TrainConfig {
            hidden: 8,
            epochs: 15,
            ..TrainConfig::default()
        });
    }

    /// A short run of `cfg` on 3000 points of gmm_iso ends well above the one-Gaussian fit.
    fn assert_fits_gmm_iso(cfg: TrainConfig) {
        let data = gmm_iso(3000);
        let run = train_run(&cfg, &data, &FINAL_ONLY, &|| {});
        let test_ll = run.evaluation.unwrap().test_ll;
        assert!(
            test_ll > -4.5,
            "test_ll {test_ll} (true {:?}, one Gaussian about -5.85)",
            data.true_ll
        );
    }

    #[test]
    fn exact_sampler_fits_gmm_iso_from_the_enumerated_expectation() {
        assert_fits_gmm_iso(TrainConfig {
            hidden: 6,
            epochs: 15,
            sampler: Sampler::Exact,
            optimizer: Optimizer::Adam,
            lr: 0.1,
            ..TrainConfig::default()
        });
    }

    /// The grid negative phase is the same expectation (to ~1e-12), so it fits like the exact one.
    #[test]
    fn grid_sampler_fits_gmm_iso_from_the_grid_expectation() {
        assert_fits_gmm_iso(TrainConfig {
            hidden: 6,
            epochs: 15,
            sampler: Sampler::Grid,
            optimizer: Optimizer::Adam,
            lr: 0.1,
            ..TrainConfig::default()
        });
    }

    /// Without gradient clipping this run (32 hidden units, seed 1) sent sigma up by 10^101 in its
    /// first epoch and never recovered (about -170 nats at the end); with the default clip_norm
    /// sigma overshoots less, comes back below the data's spread, and the run ends better than the
    /// best single Gaussian (about -5.85 nats on gmm_iso).
    #[test]
    fn default_recipe_recovers_from_the_sigma_overshoot_with_many_hidden_units() {
        let data = gmm_iso(2000);
        let (_, std) = data.train_moments();
        let cfg = TrainConfig {
            hidden: 32,
            seed: 1,
            epochs: 30,
            ..TrainConfig::default()
        };
        let run = train_run(&cfg, &data, &FINAL_ONLY, &|| {});
        let sigma = run.model.sigma();
        assert!(
            sigma[0] < std[0] && sigma[1] < std[1],
            "sigma {sigma:?} ran past the data's spread {std:?}"
        );
        let test_ll = run.evaluation.unwrap().test_ll;
        assert!(
            test_ll > -5.85,
            "test_ll {test_ll} is no better than one Gaussian"
        );
    }

    #[test]
    fn same_seed_same_run_and_momentum_changes_the_trajectory() {
        let data = gmm_iso(500);
        let base = short(TrainConfig::default());
        let a = train_run(&base, &data, &FINAL_ONLY, &|| {});
        let b = train_run(&base, &data, &FINAL_ONLY, &|| {});
        assert_eq!(a.model, b.model);
        let no_momentum = train_run(
            &TrainConfig {
                momentum: 0.0,
                ..base.clone()
            },
            &data,
            &FINAL_ONLY,
            &|| {},
        );
        assert_ne!(a.model, no_momentum.model);
    }

    #[test]
    fn sigma_min_holds_and_learn_sigma_false_keeps_sigma() {
        let data = gmm_iso(1000);
        let (_, std) = data.train_moments();
        // Standardized data have unit spread: sigma started at 3 shrinks and must stop at the floor of 1.5.
        let cfg = TrainConfig {
            hidden: 8,
            epochs: 4,
            sigma_init: 3.0,
            sigma_min: 1.5,
            ..TrainConfig::default()
        };
        let floored = train_run(
            &cfg,
            &data,
            &EvalConfig {
                every: 1,
                ..FINAL_ONLY
            },
            &|| {},
        );
        let ratios: Vec<f64> = floored
            .curve
            .iter()
            .flat_map(|p| [p.sigma[0] / std[0], p.sigma[1] / std[1]])
            .collect();
        assert!(
            ratios.iter().all(|r| *r >= 1.5 * (1.0 - 1e-12)),
            "sigma below the floor: {ratios:?}"
        );
        assert!(
            ratios[2..].iter().any(|r| (r - 1.5).abs() < 1e-9),
            "the floor never bound: {ratios:?}"
        );
        let fixed = train_run(
            &short(TrainConfig {
                learn_sigma: false,
                ..TrainConfig::default()
            }),
            &data,
            &FINAL_ONLY,
            &|| {},
        );
        for i in 0..2 {
            assert!(
                (fixed.model.sigma()[i] - 0.5 * std[i]).abs() < 1e-12,
                "sigma moved although learn_sigma = false"
            );
        }
    }

    /// A model whose Gibbs chains move fast (moderate weights, sigma 1), and training points far
    /// from its mass, so that chains one step from them are not yet its draws.
    fn far_points_and_model() -> (Vec<[f64; 2]>, Grbm) {
        let points: Vec<[f64; 2]> = (0..100).map(|i| [6.0 + i as f64 / 100.0, 5.0]).collect();
        let w = Mat::from_fn(2, 3, |i, j| [[1.2, -0.8, 0.5], [0.4, 1.0, -1.1]][i][j]);
        let model = Grbm::new([0.3, -0.2], [1.0, 1.0], w, vec![-0.5, 0.2, 0.1]);
        (points, model)
    }

    /// The largest distance between the mean of `samples` and `mean`, per axis, in standard
    /// errors of as many independent draws of variance `var`.
    fn mean_error_in_se(samples: &[[f64; 2]], mean: [f64; 2], var: [f64; 2]) -> f64 {
        let n = samples.len() as f64;
        (0..2)
            .map(|a| {
                let m = samples.iter().map(|x| x[a]).sum::<f64>() / n;
                (m - mean[a]).abs() / (var[a] / n).sqrt()
            })
            .fold(0.0, f64::max)
    }

    /// The mean and variance per axis of x' after one Gibbs step from each of `points`
    /// (z ~ p(z|x), x' ~ N(b + W z, sigma^2)), from p(z|x) in closed form.
    fn one_step_moments(model: &Grbm, points: &[[f64; 2]]) -> ([f64; 2], [f64; 2]) {
        let (iv, n) = (model.sigma().map(|s| 1.0 / (s * s)), points.len() as f64);
        let mut mean = model.b;
        let mut var = model.sigma().map(|s| s * s);
        for j in 0..model.n_hidden() {
            let p = |x: &[f64; 2]| {
                let a =
                    model.c[j] + x[0] * iv[0] * model.w[(0, j)] + x[1] * iv[1] * model.w[(1, j)];
                1.0 / (1.0 + (-a).exp())
            };
            let p_mean = points.iter().map(p).sum::<f64>() / n;
            for i in 0..2 {
                mean[i] += model.w[(i, j)] * p_mean;
                var[i] += model.w[(i, j)].powi(2) * p_mean * (1.0 - p_mean);
            }
        }
        (mean, var)
    }

    /// The chain samples are the sampler's own chains: CD-1's, with no further steps, have the
    /// mean of one Gibbs step from the training points (within 4.5 standard errors), far from the
    /// model's; continued 200 Gibbs steps they have the exact mixture mean (within 4.5). Drawing
    /// them moves nothing of the trainer, the same seeder gives the same samples, and samplers
    /// without chains have none.
    #[test]
    fn chain_samples_are_the_samplers_chains_continued_and_leave_the_trainer_as_it_was() {
        let (points, model) = far_points_and_model();
        let cfg = TrainConfig {
            hidden: 3,
            batch_size: 100,
            k: 1,
            sampler: Sampler::Cd,
            ..TrainConfig::default()
        };
        let trainer = Trainer::new(&cfg, model.clone(), &points);
        let before = format!("{:?}", trainer.state());
        let draw = |steps| {
            let mut seeder = stream(1, Purpose::Samples);
            (trainer.chain_samples(&points, &mut seeder, (steps, 20, 2000))).unwrap()
        };
        let (at_once, continued) = (draw(0), draw(200));
        assert_eq!(continued.len(), 2000);
        assert_eq!(draw(200), continued);
        assert_eq!(format!("{:?}", trainer.state()), before);

        let (one_step, one_step_var) = one_step_moments(&model, &points);
        let off = mean_error_in_se(&at_once[..100], one_step, one_step_var);
        assert!(off < 4.5, "CD-1's chains are {off} SE off one step");
        let (mean, cov) = model.exact_moments();
        let var = [cov[0][0], cov[1][1]];
        let off = mean_error_in_se(&at_once[..100], mean, var);
        assert!(off > 5.0, "CD-1's chains are only {off} SE off the model");
        let off = mean_error_in_se(&continued, mean, var);
        assert!(off < 4.5, "200 steps on, {off} SE off the model");

        let exact_cfg = TrainConfig {
            sampler: Sampler::Exact,
            ..cfg.clone()
        };
        let trainer = Trainer::new(&exact_cfg, model, &points);
        let mut seeder = stream(1, Purpose::Samples);
        assert_eq!(
            trainer.chain_samples(&points, &mut seeder, (0, 1, 10)),
            None
        );
    }

    /// A paused run's state resumes only under its own sampler: a state saved by PCD, offered to
    /// a tempered run (a damaged or foreign file), is refused with both names rather than
    /// read as the other sampler's.
    #[test]
    fn a_saved_state_of_another_sampler_is_refused() {
        let points: Vec<[f64; 2]> = (0..8).map(|i| [i as f64 / 4.0, 1.0 - i as f64]).collect();
        let pcd = TrainConfig {
            hidden: 2,
            batch_size: 4,
            sampler: Sampler::Pcd,
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::new(&pcd, initial_model(&pcd, &points), &points);
        trainer.step(&points[..4]);
        let tempered = TrainConfig {
            sampler: Sampler::Tempered,
            ..pcd.clone()
        };
        let wrong = Trainer::resume(&tempered, trainer.state(), &points).err();
        assert_eq!(
            wrong,
            Some(WrongState {
                saved: "pcd",
                run: "tempered"
            })
        );
        assert!(Trainer::resume(&pcd, trainer.state(), &points).is_ok());
    }

    /// With persistent chains, the chains after a step never depend on that step's minibatch;
    /// with CD they start at it.
    #[test]
    fn pcd_carries_chains_across_minibatches_and_cd_restarts_them() {
        let batch_a: Vec<[f64; 2]> = (0..10).map(|i| [i as f64 / 10.0, -0.5]).collect();
        let batch_b: Vec<[f64; 2]> = (0..10).map(|i| [0.3, i as f64 / 5.0]).collect();
        let batch_c: Vec<[f64; 2]> = (0..10).map(|i| [-(i as f64), 1.0]).collect();
        let chains_after = |sampler: Sampler, second: &[[f64; 2]]| {
            let cfg = TrainConfig {
                hidden: 3,
                batch_size: 10,
                k: 1,
                sampler,
                lr: 1e-9,
                ..TrainConfig::default()
            };
            let mut trainer = Trainer::new(&cfg, initial_model(&cfg, &batch_a), &batch_a);
            trainer.step(&batch_a);
            trainer.step(second);
            trainer.chains().map(|c| c.to_owned())
        };
        assert_eq!(
            chains_after(Sampler::Pcd, &batch_b),
            chains_after(Sampler::Pcd, &batch_c)
        );
        assert_ne!(
            chains_after(Sampler::Cd, &batch_b),
            chains_after(Sampler::Cd, &batch_c)
        );
        assert_eq!(
            chains_after(Sampler::Noise, &batch_b),
            chains_after(Sampler::Noise, &batch_c)
        );
    }

    #[test]
    fn clip_norm_bounds_each_step() {
        let points: Vec<[f64; 2]> = (0..20)
            .map(|i| [(i as f64).sin() * 2.0, (i as f64).cos()])
            .collect();
        let cfg = TrainConfig {
            hidden: 4,
            batch_size: 20,
            momentum: 0.0,
            clip_norm: 1e-3,
            lr: 0.5,
            lr_schedule: LrSchedule::Constant,
            ..TrainConfig::default()
        };
        let start = initial_model(&cfg, &points);
        let mut trainer = Trainer::new(&cfg, start.clone(), &points);
        trainer.step(&points);
        let m = &trainer.model;
        let mut moved = 0.0;
        for i in 0..2 {
            moved += (m.b[i] - start.b[i]).powi(2) + (m.log_sigma[i] - start.log_sigma[i]).powi(2);
            for j in 0..4 {
                moved += (m.w[(i, j)] - start.w[(i, j)]).powi(2);
            }
        }
        moved += (0..4).map(|j| (m.c[j] - start.c[j]).powi(2)).sum::<f64>();
        assert!(
            moved.sqrt() <= 0.5 * 1e-3 * (1.0 + 1e-9),
            "step of norm {} exceeds lr * clip_norm",
            moved.sqrt()
        );
        assert!(
            moved.sqrt() > 0.5 * 1e-3 * 0.999,
            "the clipped step should have exactly norm lr * clip_norm"
        );
    }

    /// Adam's first update, after bias correction, moves every parameter with a nonzero gradient by lr.
    #[test]
    fn adam_first_step_moves_each_parameter_by_lr() {
        let points: Vec<[f64; 2]> = (0..20)
            .map(|i| [(i as f64).sin() * 2.0, (i as f64).cos()])
            .collect();
        let cfg = TrainConfig {
            hidden: 3,
            batch_size: 20,
            optimizer: Optimizer::Adam,
            lr: 0.01,
            lr_schedule: LrSchedule::Constant,
            ..TrainConfig::default()
        };
        let start = initial_model(&cfg, &points);
        let mut trainer = Trainer::new(&cfg, start.clone(), &points);
        trainer.step(&points);
        let m = &trainer.model;
        let mut moves = vec![(m.b[0] - start.b[0]).abs(), (m.b[1] - start.b[1]).abs()];
        moves.extend((0..2).map(|i| (m.log_sigma[i] - start.log_sigma[i]).abs()));
        for j in 0..3 {
            moves.push((m.c[j] - start.c[j]).abs());
            moves.extend((0..2).map(|i| (m.w[(i, j)] - start.w[(i, j)]).abs()));
        }
        for (k, moved) in moves.iter().enumerate() {
            assert!(
                (moved - 0.01).abs() < 1e-6,
                "parameter {k} moved {moved}, not lr = 0.01"
            );
        }
    }

    /// The diagnostics draw from their own stream and probe a copy of the sampler: every
    /// sampler's run with them on equals the run with them off, number for number, and they are
    /// there at every checkpoint.
    #[test]
    fn diagnostics_change_no_number_of_the_run() {
        let data = gmm_iso(230);
        for &sampler in Sampler::ALL {
            let cfg = TrainConfig {
                hidden: 3,
                epochs: 4,
                k: 2,
                batch_size: 50,
                sampler,
                ..TrainConfig::default()
            };
            let on = EvalConfig {
                every: 2,
                samples: 20,
                ..FINAL_ONLY
            };
            let off = EvalConfig {
                diagnostics: false,
                ..on.clone()
            };
            let (with, without) = (
                train_run(&cfg, &data, &on, &|| {}),
                train_run(&cfg, &data, &off, &|| {}),
            );
            assert_eq!(with.model, without.model, "{sampler:?}");
            assert_eq!(with.chain_samples, without.chain_samples, "{sampler:?}");
            assert_eq!(with.exact_samples, without.exact_samples, "{sampler:?}");
            assert_eq!(with.evaluation, without.evaluation, "{sampler:?}");
            assert_eq!(with.accept_rate, without.accept_rate, "{sampler:?}");
            let stripped: Vec<CurvePoint> = with
                .curve
                .iter()
                .map(|p| CurvePoint {
                    diagnostics: None,
                    ..p.clone()
                })
                .collect();
            assert_eq!(stripped, without.curve, "{sampler:?}");
            assert!(
                with.curve.iter().all(|p| p.diagnostics.is_some()),
                "{sampler:?}"
            );
        }
    }

    /// A run paused at an epoch, its state saved as JSON and read back, then continued, ends
    /// with the numbers of the run trained straight through, for every sampler: the saved state
    /// must hold the parameters, both optimizer moments, the schedule position, every random
    /// stream and the chains (a persistent chain row past a short last batch included).
    #[test]
    fn a_paused_run_continued_from_its_saved_state_equals_the_run_trained_straight() {
        let data = gmm_iso(230);
        let eval = EvalConfig {
            every: 2,
            ..FINAL_ONLY
        };
        for &sampler in Sampler::ALL {
            for optimizer in [Optimizer::Sgd, Optimizer::Adam] {
                let cfg = TrainConfig {
                    hidden: 3,
                    epochs: 5,
                    k: 2,
                    batch_size: 50,
                    sampler,
                    optimizer,
                    // Averaging over the chains' steps (with Adam) keeps no state of its own.
                    burn_in: if optimizer == Optimizer::Adam { 1 } else { 0 },
                    momentum: 0.5,
                    lr: 0.01,
                    lr_schedule: LrSchedule::Cosine,
                    ..TrainConfig::default()
                };
                let straight = train_run(&cfg, &data, &eval, &|| {});
                let mut state = None;
                for until in [1, 3] {
                    let Ok(Segment::Paused(paused)) =
                        train_until(&cfg, &data, &eval, state, until, &|| {})
                    else {
                        panic!("{sampler:?} ended before epoch {until}");
                    };
                    assert_eq!(paused.epoch, until);
                    let json = serde_json::to_string(&paused).unwrap();
                    state = Some(serde_json::from_str(&json).unwrap());
                }
                let Ok(Segment::Ended(resumed)) = train_until(&cfg, &data, &eval, state, 5, &|| {})
                else {
                    panic!("{sampler:?} did not end at its last epoch");
                };
                let what = format!("{sampler:?} with {optimizer:?}");
                assert_eq!(resumed.model, straight.model, "{what}");
                assert_eq!(resumed.curve, straight.curve, "{what}");
                assert_eq!(resumed.chain_samples, straight.chain_samples, "{what}");
                assert_eq!(resumed.exact_samples, straight.exact_samples, "{what}");
                assert_eq!(resumed.evaluation, straight.evaluation, "{what}");
                assert_eq!(resumed.accept_rate, straight.accept_rate, "{what}");
                assert_eq!(resumed.epochs_done, 5, "{what}");
            }
        }
    }

    #[test]
    fn weight_decay_shrinks_w() {
        let data = gmm_iso(500);
        let norm = |cfg: TrainConfig| {
            let w = train_run(&short(cfg), &data, &FINAL_ONLY, &|| {}).model.w;
            (0..w.ncols())
                .map(|j| w[(0, j)].powi(2) + w[(1, j)].powi(2))
                .sum::<f64>()
        };
        assert!(
            norm(TrainConfig {
                weight_decay: 5.0,
                ..TrainConfig::default()
            }) < 0.5 * norm(TrainConfig::default())
        );
    }

    #[test]
    fn schedules_decay_as_documented() {
        assert_eq!(schedule_factor(LrSchedule::Constant, 0.7), 1.0);
        assert!((schedule_factor(LrSchedule::Cosine, 0.0) - 1.0).abs() < 1e-15);
        assert!((schedule_factor(LrSchedule::Cosine, 0.5) - 0.5).abs() < 1e-15);
        assert!(schedule_factor(LrSchedule::Cosine, 1.0).abs() < 1e-15);
        assert!((schedule_factor(LrSchedule::Linear, 0.25) - 0.75).abs() < 1e-15);
    }

    /// A model trained on standardized data and converted back reports the standardized model's
    /// log-likelihood minus ln(s1 s2), the Jacobian of the standardization.
    #[test]
    fn standardized_training_reports_data_unit_log_likelihood() {
        let data = gmm_iso(1000);
        let run = train_run(&short(TrainConfig::default()), &data, &FINAL_ONLY, &|| {});
        let units = Units::for_training(&TrainConfig::default(), &data);
        let back = units.scale.map(|s| 1.0 / s);
        let shift = [
            -units.shift[0] / units.scale[0],
            -units.shift[1] / units.scale[1],
        ];
        let standardized_model = run.model.to_data_units(shift, back);
        let test_std = units.to_training_all(&data.test);
        let ll_std = crate::estimate::mean_log_likelihood(
            &standardized_model,
            standardized_model.log_z_exact().unwrap(),
            &test_std,
        );
        let jacobian = units.scale[0].ln() + units.scale[1].ln();
        let reported = run.evaluation.unwrap().test_ll;
        assert!(
            (reported - (ll_std - jacobian)).abs() < 1e-8,
            "{reported} vs {}",
            ll_std - jacobian
        );
    }

    #[test]
    fn huge_learning_rate_diverges_without_panicking() {
        let data = gmm_iso(500);
        let cfg = TrainConfig {
            lr: 1e12,
            momentum: 0.0,
            lr_schedule: LrSchedule::Constant,
            ..short(TrainConfig::default())
        };
        let run = train_run(
            &cfg,
            &data,
            &EvalConfig {
                every: 1,
                ..FINAL_ONLY
            },
            &|| {},
        );
        assert!(
            matches!(run.outcome, Outcome::Diverged { .. }),
            "{:?}",
            run.outcome
        );
        assert!(run.evaluation.is_none());
        assert!(
            run.model.is_finite(),
            "a diverged run keeps its last finite parameters"
        );
        assert!(run.curve.iter().all(|p| p.test_ll.is_finite()));
    }
}
