//! The experiment file: reading the TOML, checking every key and value, and the validated configuration types.
//!
//! Each section is read as a map of spanned keys to spanned values, so every
//! error can name the file, the line, the key and the value. Every `[train]`
//! key is set through [`TrainConfig::set`], which is also what checks each
//! value of a `[grid]` axis: one rule per key, in one place.

use crate::identity::Field;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::{Spanned, Value};

/// An error in the experiment file. Every variant names the file; all but `Read` name the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read experiment file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Toml {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: unknown key `{key}`; allowed keys: {allowed}")]
    UnknownKey {
        path: PathBuf,
        line: usize,
        key: String,
        allowed: String,
    },
    #[error("{path}:{line}: `{key}` = {value}: {rule}")]
    BadValue {
        path: PathBuf,
        line: usize,
        key: String,
        value: String,
        rule: String,
    },
    #[error("{path}: missing key `{key}`: {rule}")]
    Missing {
        path: PathBuf,
        key: String,
        rule: String,
    },
}

/// How the learning rate changes over the run's optimizer steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LrSchedule {
    Constant,
    Cosine,
    Linear,
}

/// How the gradient moves the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimizer {
    /// Plain SGD with classical momentum `momentum`.
    Sgd,
    /// Adam with first-moment decay `momentum` and second-moment decay 0.999.
    Adam,
}

impl Optimizer {
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Adam => "adam",
        }
    }
}

/// Where the negative-phase Gibbs chains start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampler {
    /// At the minibatch: the lab's CD-k.
    Cd,
    /// Persistent chains carried across minibatches (PCD).
    Pcd,
    /// From N(0, I) in standardized units (Liao et al. 2022).
    Noise,
    /// No chains: the exact model expectation, by enumerating the 2^n hidden states (n <= 20).
    Exact,
}

impl LrSchedule {
    pub fn name(self) -> &'static str {
        match self {
            LrSchedule::Constant => "constant",
            LrSchedule::Cosine => "cosine",
            LrSchedule::Linear => "linear",
        }
    }
}

impl Sampler {
    pub fn name(self) -> &'static str {
        match self {
            Sampler::Cd => "cd",
            Sampler::Pcd => "pcd",
            Sampler::Noise => "noise",
            Sampler::Exact => "exact",
        }
    }
}

/// One resolved value of a run parameter, typed as it appears in `runs.parquet`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(&'static str),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            // The shortest text that reads back to the same f64 (`{:?}` keeps the `.0` of 1.0).
            ParamValue::Float(v) => write!(f, "{v:?}"),
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Text(v) => write!(f, "{v}"),
        }
    }
}

impl From<ParamValue> for Field {
    fn from(value: ParamValue) -> Self {
        match value {
            ParamValue::Int(v) => Field::Int(v),
            ParamValue::Float(v) => Field::Float(v),
            ParamValue::Bool(v) => Field::Bool(v),
            ParamValue::Text(v) => Field::text(v),
        }
    }
}

/// The training recipe of one run. Built from [`TrainConfig::default`] and [`TrainConfig::set`], which checks every value.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub hidden: usize,
    pub lr: f64,
    pub k: usize,
    pub seed: u64,
    pub epochs: usize,
    pub batch_size: usize,
    pub standardize: bool,
    pub sigma_init: f64,
    pub learn_sigma: bool,
    pub sigma_lr: f64,
    pub sigma_min: f64,
    pub w_init: f64,
    pub optimizer: Optimizer,
    pub momentum: f64,
    pub weight_decay: f64,
    pub lr_schedule: LrSchedule,
    pub clip_norm: f64,
    pub sampler: Sampler,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            hidden: 16,
            lr: 0.01,
            k: 10,
            seed: 0,
            epochs: 50,
            batch_size: 100,
            standardize: true,
            sigma_init: 0.5,
            learn_sigma: true,
            sigma_lr: 1.0,
            sigma_min: 0.01,
            w_init: 1.0,
            optimizer: Optimizer::Sgd,
            momentum: 0.9,
            weight_decay: 0.0,
            lr_schedule: LrSchedule::Cosine,
            clip_norm: 20.0,
            sampler: Sampler::Noise,
        }
    }
}

/// Every `[train]` key, in the order used for grid expansion, tables and run ids.
pub const TRAIN_KEYS: [&str; 18] = [
    "hidden",
    "lr",
    "k",
    "seed",
    "epochs",
    "batch_size",
    "standardize",
    "sigma_init",
    "learn_sigma",
    "sigma_lr",
    "sigma_min",
    "w_init",
    "optimizer",
    "momentum",
    "weight_decay",
    "lr_schedule",
    "clip_norm",
    "sampler",
];

fn int_at_least(value: &Value, min: i64, what: &str) -> Result<i64, String> {
    match value {
        Value::Integer(v) if *v >= min => Ok(*v),
        _ => Err(format!("{what} must be an integer >= {min}")),
    }
}

/// Accepts integers too (`lr = 1` means 1.0); rejects NaN and infinities.
fn finite_float(
    value: &Value,
    what: &str,
    allowed: impl Fn(f64) -> bool,
    rule: &str,
) -> Result<f64, String> {
    let v = match value {
        Value::Float(v) => *v,
        Value::Integer(v) => *v as f64,
        _ => return Err(format!("{what} must be a number {rule}")),
    };
    if v.is_finite() && allowed(v) {
        Ok(v)
    } else {
        Err(format!("{what} must be a finite number {rule}"))
    }
}

fn boolean(value: &Value, what: &str) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("{what} must be true or false"))
}

fn choice<T: Copy>(value: &Value, what: &str, options: &[(&str, T)]) -> Result<T, String> {
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    let err = || {
        format!(
            "{what} must be one of {}",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let text = value.as_str().ok_or_else(err)?;
    options
        .iter()
        .find(|(n, _)| *n == text)
        .map(|(_, v)| *v)
        .ok_or_else(err)
}

/// Why a key could not be set.
#[derive(Debug, Clone, PartialEq)]
pub enum SetError {
    UnknownKey,
    /// The rule the value broke, e.g. "hidden must be an integer >= 1".
    Invalid(String),
}

impl TrainConfig {
    /// Sets one key from its TOML value, checking the value against the key's rule.
    pub fn set(&mut self, key: &str, value: &Value) -> Result<(), SetError> {
        let to_usize = |v: i64| v as usize;
        let result: Result<(), String> = (|| {
            match key {
                "hidden" => self.hidden = to_usize(int_at_least(value, 1, key)?),
                "lr" => self.lr = finite_float(value, key, |v| v > 0.0, "> 0")?,
                "k" => self.k = to_usize(int_at_least(value, 1, key)?),
                "seed" => self.seed = int_at_least(value, 0, key)? as u64,
                "epochs" => self.epochs = to_usize(int_at_least(value, 1, key)?),
                "batch_size" => self.batch_size = to_usize(int_at_least(value, 1, key)?),
                "standardize" => self.standardize = boolean(value, key)?,
                "sigma_init" => self.sigma_init = finite_float(value, key, |v| v > 0.0, "> 0")?,
                "learn_sigma" => self.learn_sigma = boolean(value, key)?,
                "sigma_lr" => self.sigma_lr = finite_float(value, key, |v| v >= 0.0, ">= 0")?,
                "sigma_min" => self.sigma_min = finite_float(value, key, |v| v > 0.0, "> 0")?,
                "w_init" => self.w_init = finite_float(value, key, |v| v >= 0.0, ">= 0")?,
                "optimizer" => {
                    self.optimizer = choice(
                        value,
                        key,
                        &[("sgd", Optimizer::Sgd), ("adam", Optimizer::Adam)],
                    )?
                }
                "momentum" => {
                    self.momentum =
                        finite_float(value, key, |v| (0.0..1.0).contains(&v), "in [0, 1)")?
                }
                "weight_decay" => {
                    self.weight_decay = finite_float(value, key, |v| v >= 0.0, ">= 0")?
                }
                "lr_schedule" => {
                    self.lr_schedule = choice(
                        value,
                        key,
                        &[
                            ("constant", LrSchedule::Constant),
                            ("cosine", LrSchedule::Cosine),
                            ("linear", LrSchedule::Linear),
                        ],
                    )?
                }
                "clip_norm" => {
                    self.clip_norm = finite_float(value, key, |v| v >= 0.0, ">= 0 (0 = off)")?
                }
                "sampler" => {
                    self.sampler = choice(
                        value,
                        key,
                        &[
                            ("cd", Sampler::Cd),
                            ("pcd", Sampler::Pcd),
                            ("noise", Sampler::Noise),
                            ("exact", Sampler::Exact),
                        ],
                    )?
                }
                _ => return Err(String::new()),
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(()),
            Err(_) if !TRAIN_KEYS.contains(&key) => Err(SetError::UnknownKey),
            Err(rule) => Err(SetError::Invalid(rule)),
        }
    }

    /// Every resolved parameter in [`TRAIN_KEYS`] order.
    pub fn params(&self) -> Vec<(&'static str, ParamValue)> {
        use ParamValue::*;
        vec![
            ("hidden", Int(self.hidden as i64)),
            ("lr", Float(self.lr)),
            ("k", Int(self.k as i64)),
            ("seed", Int(self.seed as i64)),
            ("epochs", Int(self.epochs as i64)),
            ("batch_size", Int(self.batch_size as i64)),
            ("standardize", Bool(self.standardize)),
            ("sigma_init", Float(self.sigma_init)),
            ("learn_sigma", Bool(self.learn_sigma)),
            ("sigma_lr", Float(self.sigma_lr)),
            ("sigma_min", Float(self.sigma_min)),
            ("w_init", Float(self.w_init)),
            ("optimizer", Text(self.optimizer.name())),
            ("momentum", Float(self.momentum)),
            ("weight_decay", Float(self.weight_decay)),
            ("lr_schedule", Text(self.lr_schedule.name())),
            ("clip_norm", Float(self.clip_norm)),
            ("sampler", Text(self.sampler.name())),
        ]
    }
}

/// Where one data set comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// A built-in generator, named by the label.
    Generator,
    /// A .csv or .parquet file, resolved against the experiment file's folder.
    File(PathBuf),
}

/// One entry of `[data] source`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    /// As written in the experiment file; the `dataset` column of every table.
    pub label: String,
    pub kind: SourceKind,
}

/// The `[data]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct DataConfig {
    /// One or more data sets; several make the data set an axis of the grid (the outermost).
    pub sources: Vec<DataSource>,
    /// Generators only.
    pub n_train: usize,
    /// Generators only.
    pub n_test: usize,
    pub seed: u64,
    /// Files only: the two point columns; `None` = the first two numeric columns.
    pub columns: Option<[String; 2]>,
    /// Files only: the share of a file's rows held out for testing (ignored with `test_source`).
    pub test_fraction: f64,
    /// Files only: a separate file of test points.
    pub test_source: Option<DataFile>,
}

/// A data file as the experiment file names it, and where that is.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    /// As written in the experiment file.
    pub label: String,
    /// Resolved against the experiment file's folder.
    pub path: PathBuf,
}

impl DataConfig {
    /// The whole section, values as written, for telling whether a results folder was computed on it.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        let labels = self.sources.iter().map(|s| Field::text(&s.label)).collect();
        vec![
            ("source", Field::List(labels)),
            ("n_train", Field::Int(self.n_train as i64)),
            ("n_test", Field::Int(self.n_test as i64)),
            ("seed", Field::Int(self.seed as i64)),
            ("columns", self.columns_field()),
            ("test_fraction", Field::Float(self.test_fraction)),
            ("test_source", self.test_source_field()),
        ]
    }

    fn columns_field(&self) -> Field {
        self.columns.as_ref().map_or(Field::Unset, |c| {
            Field::List(c.iter().map(Field::text).collect())
        })
    }

    fn test_source_field(&self) -> Field {
        self.test_source
            .as_ref()
            .map_or(Field::Unset, |t| Field::text(&t.label))
    }

    /// What identifies data set `index` as the runs see it (part of every run id): the keys that
    /// shape its points, with file paths as written, so the id does not depend on where it runs.
    pub fn identity(&self, index: usize) -> Vec<(&'static str, Field)> {
        let source = &self.sources[index];
        let seed = ("seed", Field::Int(self.seed as i64));
        match &source.kind {
            SourceKind::Generator => vec![
                ("source", Field::text(&source.label)),
                ("n_train", Field::Int(self.n_train as i64)),
                ("n_test", Field::Int(self.n_test as i64)),
                seed,
            ],
            SourceKind::File(_) => vec![
                ("source", Field::text(&source.label)),
                ("columns", self.columns_field()),
                ("test_fraction", Field::Float(self.test_fraction)),
                ("test_source", self.test_source_field()),
                seed,
            ],
        }
    }
}

/// The `[eval]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Epochs between learning-curve points; 0 = only the final evaluation.
    pub every: usize,
    /// Points per axis of the integration grid; `None` = chosen from each model's parameters.
    pub grid_points: Option<usize>,
    /// Gibbs samples drawn from every trained model (0 = none).
    pub samples: usize,
    /// Parallel chains the samples are drawn with, each started from z ~ Bernoulli(0.5).
    pub sample_chains: usize,
    /// Gibbs steps each chain makes before its first sample.
    pub burn_in: usize,
    /// Gibbs steps between two samples of a chain.
    pub thin: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            every: 5,
            grid_points: None,
            samples: 1000,
            sample_chains: 100,
            burn_in: 200,
            thin: 10,
        }
    }
}

impl EvalConfig {
    /// Every `[eval]` value, for the run id.
    pub fn identity(&self) -> Vec<(&'static str, Field)> {
        let int = |v: usize| Field::Int(v as i64);
        vec![
            ("every", int(self.every)),
            (
                "grid_points",
                self.grid_points.map_or(Field::text("auto"), int),
            ),
            ("samples", int(self.samples)),
            ("sample_chains", int(self.sample_chains)),
            ("burn_in", int(self.burn_in)),
            ("thin", int(self.thin)),
        ]
    }
}

/// One `[grid]` axis: a train key and the values it takes, each already checked.
#[derive(Debug, Clone, PartialEq)]
pub struct GridAxis {
    pub key: &'static str,
    pub values: Vec<Value>,
}

/// A whole, validated experiment file.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub path: PathBuf,
    /// The file's text as it was read, copied into the results as `sweep.toml`.
    pub text: String,
    pub name: String,
    pub output: PathBuf,
    pub data: DataConfig,
    pub train: TrainConfig,
    pub eval: EvalConfig,
    /// Axes in [`TRAIN_KEYS`] order, so expansion does not depend on how the file orders them.
    pub grid: Vec<GridAxis>,
}

type Section = BTreeMap<Spanned<String>, Spanned<Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Spanned<String>,
    output: Option<Spanned<String>>,
    data: Option<Section>,
    train: Option<Section>,
    eval: Option<Section>,
    grid: Option<Section>,
}

use crate::data::GENERATORS;

/// Reads and validates an experiment file. Nothing is written.
pub fn load(path: &Path) -> Result<Experiment, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Validates an experiment given as text; `path` is used in messages and to resolve relative data paths.
pub fn parse(path: &Path, text: &str) -> Result<Experiment, ConfigError> {
    let ctx = Ctx { path, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Toml {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| ctx.line(s.start)),
        message: e.message().trim().to_string(),
    })?;

    let name = raw.name.get_ref().trim().to_string();
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
        && !name.starts_with('.');
    if !name_ok {
        return Err(ctx.bad(
            "name",
            &raw.name.span(),
            &format!("\"{}\"", raw.name.get_ref()),
            "name must be non-empty and use only letters, digits, '-', '_' and '.' (it names the results folder)",
        ));
    }
    let output = match &raw.output {
        Some(out) if out.get_ref().trim().is_empty() => {
            return Err(ctx.bad(
                "output",
                &out.span(),
                "\"\"",
                "output must be a non-empty folder path",
            ));
        }
        // Like every path in the file, taken from the file's folder; the default is a folder
        // of the working folder, as the README's commands expect.
        Some(out) => ctx.folder().join(out.get_ref()),
        None => PathBuf::from("results").join(&name),
    };

    let data = parse_data(&ctx, raw.data.as_ref())?;
    let mut train = TrainConfig::default();
    for (key, value) in raw.train.iter().flatten() {
        ctx.set_train(&mut train, "train", key, value)?;
    }
    let eval = parse_eval(&ctx, raw.eval.as_ref())?;

    let mut grid = Vec::new();
    let grid_section = raw.grid.unwrap_or_default();
    for (key, value) in &grid_section {
        if !TRAIN_KEYS.contains(&key.get_ref().as_str()) {
            return Err(ctx.unknown("grid", key, &TRAIN_KEYS));
        }
        let Value::Array(values) = value.get_ref() else {
            return Err(ctx.bad(
                &format!("grid.{}", key.get_ref()),
                &value.span(),
                &value.get_ref().to_string(),
                "every [grid] value must be a non-empty list, e.g. [4, 16]",
            ));
        };
        if values.is_empty() {
            return Err(ctx.bad(
                &format!("grid.{}", key.get_ref()),
                &value.span(),
                "[]",
                "a [grid] list must not be empty",
            ));
        }
        for (i, v) in values.iter().enumerate() {
            let mut probe = train.clone();
            if let Err(SetError::Invalid(rule)) = probe.set(key.get_ref(), v) {
                return Err(ctx.bad(
                    &format!("grid.{}[{i}]", key.get_ref()),
                    &value.span(),
                    &v.to_string(),
                    &rule,
                ));
            }
        }
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                return Err(ctx.bad(
                    &format!("grid.{}[{i}]", key.get_ref()),
                    &value.span(),
                    &v.to_string(),
                    "values of a [grid] list must be distinct (a repeated value would repeat runs)",
                ));
            }
        }
    }
    for key in TRAIN_KEYS {
        if let Some((_, value)) = grid_section.iter().find(|(k, _)| k.get_ref() == key) {
            grid.push(GridAxis {
                key,
                values: value.get_ref().as_array().cloned().unwrap_or_default(),
            });
        }
    }

    Ok(Experiment {
        path: path.to_path_buf(),
        text: text.to_string(),
        name,
        output,
        data,
        train,
        eval,
        grid,
    })
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    /// A generator name, or a data file that exists (relative paths are taken from the experiment file's folder).
    fn data_source(&self, label: &str) -> Result<DataSource, String> {
        if GENERATORS.contains(&label) {
            return Ok(DataSource {
                label: label.to_string(),
                kind: SourceKind::Generator,
            });
        }
        let is_file = [".csv", ".parquet"]
            .iter()
            .any(|ext| label.to_ascii_lowercase().ends_with(ext));
        if !is_file {
            return Err(source_rule());
        }
        let path = self.folder().join(label);
        if !path.is_file() {
            return Err(format!("no such data file: {}", path.display()));
        }
        Ok(DataSource {
            label: label.to_string(),
            kind: SourceKind::File(path),
        })
    }

    /// The experiment file's folder, which every relative path in it is taken from.
    fn folder(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }

    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn bad(
        &self,
        key: &str,
        span: &std::ops::Range<usize>,
        value: &str,
        rule: &str,
    ) -> ConfigError {
        ConfigError::BadValue {
            path: self.path.to_path_buf(),
            line: self.line(span.start),
            key: key.to_string(),
            value: value.to_string(),
            rule: rule.to_string(),
        }
    }

    fn unknown(&self, section: &str, key: &Spanned<String>, allowed: &[&str]) -> ConfigError {
        ConfigError::UnknownKey {
            path: self.path.to_path_buf(),
            line: self.line(key.span().start),
            key: format!("{section}.{}", key.get_ref()),
            allowed: allowed.join(", "),
        }
    }

    fn set_train(
        &self,
        train: &mut TrainConfig,
        section: &str,
        key: &Spanned<String>,
        value: &Spanned<Value>,
    ) -> Result<(), ConfigError> {
        match train.set(key.get_ref(), value.get_ref()) {
            Ok(()) => Ok(()),
            Err(SetError::UnknownKey) => Err(self.unknown(section, key, &TRAIN_KEYS)),
            Err(SetError::Invalid(rule)) => Err(self.bad(
                &format!("{section}.{}", key.get_ref()),
                &value.span(),
                &value.get_ref().to_string(),
                &rule,
            )),
        }
    }
}

/// What `[data] source` accepts, for every message about it.
fn source_rule() -> String {
    format!(
        "source must be a built-in generator ({}) or a path to a .csv or .parquet file, or a list of these",
        GENERATORS.join(", ")
    )
}

const DATA_KEYS: [&str; 7] = [
    "source",
    "n_train",
    "n_test",
    "seed",
    "columns",
    "test_fraction",
    "test_source",
];

fn parse_data(ctx: &Ctx<'_>, section: Option<&Section>) -> Result<DataConfig, ConfigError> {
    let mut data = DataConfig {
        sources: Vec::new(),
        n_train: 10000,
        n_test: 2000,
        seed: 0,
        columns: None,
        test_fraction: 0.2,
        test_source: None,
    };
    let source_rule = source_rule();
    for (key, value) in section.into_iter().flatten() {
        let v = value.get_ref();
        let bad = |rule: &str| {
            ctx.bad(
                &format!("data.{}", key.get_ref()),
                &value.span(),
                &v.to_string(),
                rule,
            )
        };
        match key.get_ref().as_str() {
            "source" => {
                let entries: Vec<&Value> = match v {
                    Value::Array(list) if !list.is_empty() => list.iter().collect(),
                    Value::String(_) => vec![v],
                    _ => return Err(bad(&source_rule)),
                };
                for entry in entries {
                    let label = entry.as_str().ok_or_else(|| bad(&source_rule))?;
                    let source = ctx.data_source(label).map_err(|rule| bad(&rule))?;
                    if data.sources.iter().any(|s| s.label == label) {
                        return Err(bad("each source may appear once"));
                    }
                    data.sources.push(source);
                }
            }
            "n_train" => {
                data.n_train = int_at_least(v, 1, "n_train").map_err(|r| bad(&r))? as usize
            }
            "n_test" => data.n_test = int_at_least(v, 1, "n_test").map_err(|r| bad(&r))? as usize,
            "seed" => data.seed = int_at_least(v, 0, "seed").map_err(|r| bad(&r))? as u64,
            "columns" => {
                let rule =
                    "columns must be a list of two distinct column names, e.g. [\"x\", \"y\"]";
                let names: Vec<&str> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n.as_str())
                    .collect();
                match names.as_slice() {
                    [a, b] if a != b && v.as_array().is_some_and(|l| l.len() == 2) => {
                        data.columns = Some([a.to_string(), b.to_string()])
                    }
                    _ => return Err(bad(rule)),
                }
            }
            "test_fraction" => {
                data.test_fraction =
                    finite_float(v, "test_fraction", |f| f > 0.0 && f < 1.0, "in (0, 1)")
                        .map_err(|r| bad(&r))?
            }
            "test_source" => {
                let label = v
                    .as_str()
                    .ok_or_else(|| bad("test_source must be a path to a .csv or .parquet file"))?;
                match ctx.data_source(label).map_err(|rule| bad(&rule))?.kind {
                    SourceKind::File(path) => {
                        data.test_source = Some(DataFile {
                            label: label.to_string(),
                            path,
                        })
                    }
                    SourceKind::Generator => {
                        return Err(bad("test_source must be a path to a .csv or .parquet file"));
                    }
                }
            }
            _ => return Err(ctx.unknown("data", key, &DATA_KEYS)),
        }
    }
    if data.sources.is_empty() {
        return Err(ConfigError::Missing {
            path: ctx.path.to_path_buf(),
            key: "data.source".into(),
            rule: format!("say where the points come from: {source_rule}"),
        });
    }
    Ok(data)
}

const EVAL_KEYS: [&str; 6] = [
    "every",
    "grid_points",
    "samples",
    "sample_chains",
    "burn_in",
    "thin",
];

fn parse_eval(ctx: &Ctx<'_>, section: Option<&Section>) -> Result<EvalConfig, ConfigError> {
    let mut eval = EvalConfig::default();
    for (key, value) in section.into_iter().flatten() {
        let v = value.get_ref();
        let bad = |rule: &str| {
            ctx.bad(
                &format!("eval.{}", key.get_ref()),
                &value.span(),
                &v.to_string(),
                rule,
            )
        };
        match key.get_ref().as_str() {
            "every" => eval.every = int_at_least(v, 0, "every").map_err(|r| bad(&r))? as usize,
            "samples" => {
                eval.samples = int_at_least(v, 0, "samples").map_err(|r| bad(&r))? as usize
            }
            "sample_chains" => {
                eval.sample_chains =
                    int_at_least(v, 1, "sample_chains").map_err(|r| bad(&r))? as usize
            }
            "burn_in" => {
                eval.burn_in = int_at_least(v, 0, "burn_in").map_err(|r| bad(&r))? as usize
            }
            "thin" => eval.thin = int_at_least(v, 1, "thin").map_err(|r| bad(&r))? as usize,
            "grid_points" => {
                eval.grid_points = match v {
                    Value::String(s) if s == "auto" => None,
                    _ => Some(
                        int_at_least(v, 16, "grid_points")
                            .ok()
                            .filter(|p| *p <= 16384)
                            .ok_or_else(|| {
                                bad("grid_points must be \"auto\" or an integer from 16 to 16384")
                            })? as usize,
                    ),
                }
            }
            _ => return Err(ctx.unknown("eval", key, &EVAL_KEYS)),
        }
    }
    Ok(eval)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Experiment, ConfigError> {
        parse(Path::new("exp.toml"), text)
    }

    const MINIMAL: &str = "name = \"t\"\n[data]\nsource = \"gmm_iso\"\n";

    fn err(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    #[test]
    fn minimal_file_takes_defaults() {
        let exp = parse_str(MINIMAL).unwrap();
        assert_eq!(exp.train, TrainConfig::default());
        assert_eq!(exp.output, PathBuf::from("results/t"));
        assert_eq!(exp.data.n_train, 10000);
        assert!(exp.grid.is_empty());
    }

    #[test]
    fn grid_axes_follow_key_order_not_file_order() {
        let exp = parse_str(&format!(
            "{MINIMAL}[grid]\nseed = [0, 1]\nhidden = [4, 8]\n"
        ))
        .unwrap();
        let keys: Vec<_> = exp.grid.iter().map(|a| a.key).collect();
        assert_eq!(keys, ["hidden", "seed"]);
    }

    #[test]
    fn unknown_train_key_names_key_and_line() {
        let e = err(&format!("{MINIMAL}[train]\nhidden = 4\nhiden = 4\n"));
        assert!(
            e.contains("exp.toml:6") && e.contains("unknown key `train.hiden`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_top_level_key_is_rejected_with_line() {
        let e = err(&format!("{MINIMAL}colour = 1\n"));
        assert!(e.contains("exp.toml:") && e.contains("colour"), "{e}");
    }

    #[test]
    fn wrong_type_names_key_and_rule() {
        let e = err(&format!("{MINIMAL}[train]\nhidden = \"many\"\n"));
        assert!(
            e.contains("`train.hidden` = \"many\"") && e.contains("integer >= 1"),
            "{e}"
        );
    }

    #[test]
    fn each_rule_rejects_its_bad_value() {
        for (key, value, rule) in [
            ("hidden", "0", ">= 1"),
            ("lr", "0.0", "> 0"),
            ("lr", "-0.1", "> 0"),
            ("lr", "nan", "finite"),
            ("lr", "inf", "finite"),
            ("k", "0", ">= 1"),
            ("epochs", "0", ">= 1"),
            ("batch_size", "0", ">= 1"),
            ("seed", "-1", ">= 0"),
            ("sigma_init", "0", "> 0"),
            ("sigma_min", "0", "> 0"),
            ("momentum", "1.0", "[0, 1)"),
            ("weight_decay", "-1", ">= 0"),
            ("clip_norm", "-1", ">= 0"),
            ("lr_schedule", "\"step\"", "\"cosine\""),
            ("sampler", "\"gibbs\"", "\"pcd\""),
            ("optimizer", "\"rmsprop\"", "\"adam\""),
            ("standardize", "1", "true or false"),
        ] {
            let e = err(&format!("{MINIMAL}[train]\n{key} = {value}\n"));
            assert!(
                e.contains(&format!("`train.{key}`")) && e.contains(rule),
                "{key} = {value}: {e}"
            );
        }
    }

    #[test]
    fn bad_grid_value_names_axis_and_index() {
        let e = err(&format!("{MINIMAL}[grid]\nhidden = [4, 0]\n"));
        assert!(
            e.contains("`grid.hidden[1]` = 0") && e.contains(">= 1") && e.contains("exp.toml:5"),
            "{e}"
        );
    }

    #[test]
    fn grid_value_must_be_a_list_of_distinct_values() {
        assert!(err(&format!("{MINIMAL}[grid]\nhidden = 4\n")).contains("non-empty list"));
        assert!(err(&format!("{MINIMAL}[grid]\nhidden = []\n")).contains("must not be empty"));
        assert!(err(&format!("{MINIMAL}[grid]\nhidden = [4, 4]\n")).contains("distinct"));
    }

    #[test]
    fn unknown_grid_key_is_rejected() {
        assert!(
            err(&format!("{MINIMAL}[grid]\nlearning_rate = [0.1]\n"))
                .contains("unknown key `grid.learning_rate`")
        );
    }

    #[test]
    fn syntax_error_names_line() {
        let e = err("name = \"t\"\n[data]\nsource = \"gmm_iso\n");
        assert!(e.starts_with("exp.toml:3:"), "{e}");
    }

    #[test]
    fn data_and_eval_rules() {
        assert!(err("name = \"t\"\n").contains("missing key `data.source`"));
        assert!(err("name = \"t\"\n[data]\nsource = \"moons\"\n").contains("gmm_iso"));
        assert!(
            err("name = \"t\"\n[data]\nsource = \"missing.csv\"\n").contains("no such data file")
        );
        assert!(
            err(&format!("{MINIMAL}columns = [\"x\"]\n")).contains("two distinct column names")
        );
        assert!(err(&format!("{MINIMAL}test_fraction = 1.0\n")).contains("in (0, 1)"));
        assert!(err(&format!("{MINIMAL}n_train = 0\n")).contains("`data.n_train` = 0"));
        assert!(err(&format!("{MINIMAL}[eval]\ngrid_points = 3\n")).contains("from 16 to 16384"));
        assert!(err(&format!("{MINIMAL}[eval]\nevery = -1\n")).contains("`eval.every`"));
        assert!(err("name = \"../x\"\n[data]\nsource = \"gmm_iso\"\n").contains("`name`"));
    }

    #[test]
    fn integers_are_accepted_for_float_keys() {
        let exp = parse_str(&format!("{MINIMAL}[train]\nlr = 1\n")).unwrap();
        assert_eq!(exp.train.lr, 1.0);
    }
}
