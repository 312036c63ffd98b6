//! The training hyperparameters: one table that declares every `[train]` key with its type, default, rule and doc line, from which the checks and their messages, grid values, the `runs.parquet` columns, the run id and the docs' key table are derived.
//!
//! Adding a hyperparameter is one row of [`train_params!`] below plus its use in training.

pub use super::sampler::Sampler;
use std::fmt;

/// A value as an experiment file gives it, before it is checked against a key's rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    /// Anything else (a table, an array, a date), shown as the file writes it.
    Other(String),
}

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raw::Int(v) => write!(f, "{v}"),
            Raw::Float(v) => write!(f, "{v:?}"),
            Raw::Bool(v) => write!(f, "{v}"),
            Raw::Text(v) => write!(f, "\"{v}\""),
            Raw::Other(v) => write!(f, "{v}"),
        }
    }
}

/// One resolved value of a run parameter, typed as its `runs.parquet` column.
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

/// A [`ParamValue`] as a hash key that is equal exactly when the values are `==`: a float by its
/// bits, -0.0 as 0.0 (which `==` takes for equal). Every value a key takes is finite (its rule
/// says so, and a draw lies between two finite ends), so no NaN, which `==` never matches,
/// reaches it. Sets and maps of these make "is this value among those" one lookup, not a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EqKey {
    Int(i64),
    Float(u64),
    Bool(bool),
    Text(&'static str),
}

impl ParamValue {
    pub fn eq_key(self) -> EqKey {
        match self {
            ParamValue::Int(v) => EqKey::Int(v),
            // 0.0 has the bits 0; -0.0 == 0.0 takes them too.
            ParamValue::Float(v) => EqKey::Float(if v == 0.0 { 0 } else { v.to_bits() }),
            ParamValue::Bool(v) => EqKey::Bool(v),
            ParamValue::Text(v) => EqKey::Text(v),
        }
    }
}

impl From<ParamValue> for crate::identity::Field {
    fn from(value: ParamValue) -> Self {
        use crate::identity::Field;
        match value {
            ParamValue::Int(v) => Field::Int(v),
            ParamValue::Float(v) => Field::Float(v),
            ParamValue::Bool(v) => Field::Bool(v),
            ParamValue::Text(v) => Field::text(v),
        }
    }
}

/// What values a key accepts.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// An integer at least this large.
    AtLeast(i64),
    /// A finite number (integers accepted) for which the test holds, described by the text
    /// ("> 0", "in [0, 1)").
    Number(fn(f64) -> bool, &'static str),
    /// `true` or `false`.
    Flag,
    /// One of the names of the key's type.
    Choice,
}

/// The types a hyperparameter can have: how a raw value becomes one, and how it is reported.
pub trait Param: Sized + Copy {
    /// The value of `raw` if it obeys `rule`, else the rule's message for key `key`.
    fn parse(raw: &Raw, rule: &Rule, key: &str) -> Result<Self, String>;
    fn value(self) -> ParamValue;
    /// What the rule allows, as the docs' key table writes it.
    fn allowed(rule: &Rule) -> String;
}

impl Param for u64 {
    fn parse(raw: &Raw, rule: &Rule, key: &str) -> Result<Self, String> {
        let Rule::AtLeast(min) = *rule else {
            unreachable!("integer keys have an AtLeast rule")
        };
        match raw {
            Raw::Int(v) if *v >= min => Ok(*v as u64),
            _ => Err(format!("{key} must be an integer >= {min}")),
        }
    }
    fn value(self) -> ParamValue {
        ParamValue::Int(self as i64)
    }
    fn allowed(rule: &Rule) -> String {
        match rule {
            Rule::AtLeast(min) => format!("integer >= {min}"),
            _ => unreachable!("integer keys have an AtLeast rule"),
        }
    }
}

impl Param for usize {
    fn parse(raw: &Raw, rule: &Rule, key: &str) -> Result<Self, String> {
        u64::parse(raw, rule, key).map(|v| v as usize)
    }
    fn value(self) -> ParamValue {
        ParamValue::Int(self as i64)
    }
    fn allowed(rule: &Rule) -> String {
        u64::allowed(rule)
    }
}

impl Param for f64 {
    fn parse(raw: &Raw, rule: &Rule, key: &str) -> Result<Self, String> {
        let Rule::Number(holds, text) = *rule else {
            unreachable!("number keys have a Number rule")
        };
        let v = match raw {
            Raw::Float(v) => *v,
            Raw::Int(v) => *v as f64,
            _ => return Err(format!("{key} must be a number {text}")),
        };
        if v.is_finite() && holds(v) {
            Ok(v)
        } else {
            Err(format!("{key} must be a finite number {text}"))
        }
    }
    fn value(self) -> ParamValue {
        ParamValue::Float(self)
    }
    fn allowed(rule: &Rule) -> String {
        match rule {
            Rule::Number(_, text) => format!("number {text}"),
            _ => unreachable!("number keys have a Number rule"),
        }
    }
}

impl Param for bool {
    fn parse(raw: &Raw, _: &Rule, key: &str) -> Result<Self, String> {
        match raw {
            Raw::Bool(v) => Ok(*v),
            _ => Err(format!("{key} must be true or false")),
        }
    }
    fn value(self) -> ParamValue {
        ParamValue::Bool(self)
    }
    fn allowed(_: &Rule) -> String {
        "true, false".into()
    }
}

/// A hyperparameter that takes one of a few names: each variant and the name the file uses.
macro_rules! choices {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant,)+];

            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl Param for $name {
            fn parse(raw: &Raw, _: &Rule, key: &str) -> Result<Self, String> {
                let found = match raw {
                    Raw::Text(text) => Self::ALL.iter().find(|v| v.name() == text.as_str()),
                    _ => None,
                };
                let names: Vec<String> = Self::ALL.iter().map(|v| format!("\"{}\"", v.name())).collect();
                found.copied().ok_or_else(|| format!("{key} must be one of {}", names.join(", ")))
            }
            fn value(self) -> ParamValue {
                ParamValue::Text(self.name())
            }
            fn allowed(_: &Rule) -> String {
                Self::ALL.iter().map(|v| format!("`\"{}\"`", v.name())).collect::<Vec<_>>().join(", ")
            }
        }
    };
}
pub(crate) use choices;

choices! {
    /// How the learning rate changes over the run's optimizer steps.
    LrSchedule {
        Constant = "constant",
        Cosine = "cosine",
        Linear = "linear",
    }
}

choices! {
    /// How the gradient moves the parameters.
    Optimizer {
        /// Plain SGD with classical momentum `momentum`.
        Sgd = "sgd",
        /// Adam with first-moment decay `momentum` and second-moment decay 0.999.
        Adam = "adam",
    }
}

/// Why a key could not be set.
#[derive(Debug, Clone, PartialEq)]
pub enum SetError {
    UnknownKey,
    /// The rule the value broke, e.g. "hidden must be an integer >= 1".
    Invalid(String),
}

/// A row of the docs' key table.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyDoc {
    pub key: &'static str,
    pub default: String,
    pub allowed: String,
    pub meaning: &'static str,
}

/// Declares the hyperparameters: for each, its field and [`Setting`] variant, type, default,
/// rule and doc line. Everything else about a key is derived from its row.
macro_rules! train_params {
    ($($field:ident / $variant:ident : $ty:ty = $default:expr, $rule:expr, $doc:literal;)+) => {
        /// The training recipe of one run: `[train]` over the defaults, then one value per grid axis.
        #[derive(Debug, Clone, PartialEq)]
        pub struct TrainConfig {
            $(#[doc = $doc] pub $field: $ty,)+
        }

        impl Default for TrainConfig {
            fn default() -> Self {
                TrainConfig { $($field: $default,)+ }
            }
        }

        /// Every `[train]` key, in the order of grid expansion, the tables and the run id.
        pub const TRAIN_KEYS: &[&str] = &[$(stringify!($field),)+];

        /// One checked value of one key: what a `[grid]` list holds, applied without a second check.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub enum Setting {
            $($variant($ty),)+
        }

        impl Setting {
            /// The value of `key` given as `raw`, checked against the key's rule.
            pub fn parse(key: &str, raw: &Raw) -> Result<Setting, SetError> {
                match key {
                    $(stringify!($field) => <$ty as Param>::parse(raw, &$rule, key)
                        .map(Setting::$variant)
                        .map_err(SetError::Invalid),)+
                    _ => Err(SetError::UnknownKey),
                }
            }

            pub fn key(self) -> &'static str {
                match self { $(Setting::$variant(_) => stringify!($field),)+ }
            }

            pub fn value(self) -> ParamValue {
                match self { $(Setting::$variant(v) => v.value(),)+ }
            }

            pub fn apply(self, cfg: &mut TrainConfig) {
                match self { $(Setting::$variant(v) => cfg.$field = v,)+ }
            }
        }

        impl TrainConfig {
            /// Every resolved parameter in [`TRAIN_KEYS`] order: the `runs.parquet` columns and
            /// part of the run id.
            pub fn params(&self) -> Vec<(&'static str, ParamValue)> {
                vec![$((stringify!($field), self.$field.value()),)+]
            }

            /// The docs' key table, one row per key in [`TRAIN_KEYS`] order.
            pub fn key_docs() -> Vec<KeyDoc> {
                let defaults = TrainConfig::default();
                vec![$(KeyDoc {
                    key: stringify!($field),
                    default: shown_default(defaults.$field.value()),
                    allowed: <$ty as Param>::allowed(&$rule),
                    meaning: $doc,
                },)+]
            }
        }
    };
}

fn shown_default(value: ParamValue) -> String {
    match value {
        ParamValue::Text(t) => format!("`\"{t}\"`"),
        v => v.to_string(),
    }
}

fn positive(v: f64) -> bool {
    v > 0.0
}

fn non_negative(v: f64) -> bool {
    v >= 0.0
}

train_params! {
    hidden / Hidden: usize = 16, Rule::AtLeast(1),
        "number of hidden units n";
    lr / Lr: f64 = 0.01, Rule::Number(positive, "> 0"),
        "learning rate (peak, before the schedule)";
    k / K: usize = 10, Rule::AtLeast(1),
        "Gibbs steps per negative sample (CD-k)";
    seed / Seed: u64 = 0, Rule::AtLeast(0),
        "seeds every random stream of the run (initialization, minibatch order, the sampler's chains and accept tests, samples, AIS)";
    epochs / Epochs: usize = 50, Rule::AtLeast(1),
        "passes over the training set";
    batch_size / BatchSize: usize = 100, Rule::AtLeast(1),
        "minibatch size, at most the training points; the last minibatch of an epoch may be smaller";
    standardize / Standardize: bool = true, Rule::Flag,
        "train on data scaled to zero mean and unit variance per axis; every reported number is converted back to data units";
    sigma_init / SigmaInit: f64 = 0.5, Rule::Number(positive, "> 0"),
        "initial sigma in standardized units (times the data's spread per axis when `standardize = false`)";
    learn_sigma / LearnSigma: bool = true, Rule::Flag,
        "train ln sigma; false keeps sigma at `sigma_init`";
    sigma_lr / SigmaLr: f64 = 1.0, Rule::Number(non_negative, ">= 0"),
        "learning-rate multiplier for ln sigma";
    sigma_min / SigmaMin: f64 = 0.01, Rule::Number(positive, "> 0"),
        "floor on sigma (in training units)";
    w_init / WInit: f64 = 1.0, Rule::Number(non_negative, ">= 0"),
        "standard deviation of the initial W entries (standardized units)";
    optimizer / Optimizer: Optimizer = Optimizer::Sgd, Rule::Choice,
        "SGD with classical momentum, or Adam (first-moment decay `momentum`, second-moment decay 0.999, epsilon 1e-8); Adam's steps do not grow with the 1/sigma^2 scale of the gradients";
    momentum / Momentum: f64 = 0.9, Rule::Number(|v| (0.0..1.0).contains(&v), "in [0, 1)"),
        "classical momentum (SGD) or Adam's first-moment decay";
    weight_decay / WeightDecay: f64 = 0.0, Rule::Number(non_negative, ">= 0"),
        "L2 penalty on W";
    lr_schedule / LrSchedule: LrSchedule = LrSchedule::Cosine, Rule::Choice,
        "learning rate over the run's steps: constant, cosine decay to 0, linear decay to 0";
    clip_norm / ClipNorm: f64 = 20.0, Rule::Number(non_negative, ">= 0 (0 = off)"),
        "clip the gradient to this Euclidean norm (0 = off)";
    sampler / Sampler: Sampler = Sampler::Noise, Rule::Choice,
        "where negative chains start: at the minibatch (the lab's CD-k), persistent chains carried across minibatches (PCD), or fresh N(0, I) draws in standardized units (Liao et al. 2022, \"Gaussian-Bernoulli RBMs Without Tears\"); `\"exact\"` runs no chains and uses the exact model expectation of the gradient, summed over all 2^hidden hidden states (hidden <= 20; `k` is ignored): the true log-likelihood gradient, to compare CD's bias against, at a cost that doubles with every hidden unit; `\"grid\"` computes the same expectation as the integral over x of p(x) dF/dtheta(x), an equal-weight sum over the grid that gives log Z (at most 256 x 256 points; `k` is ignored), for any hidden size, at a cost linear in hidden; `\"tempered\"` runs persistent chains at `replicas` temperatures (parallel tempering, started from N(0, I) in standardized units), `k` rounds per update of one Gibbs step and Metropolis swaps between neighbouring temperatures, and takes the negative phase from the chains at temperature 1; `\"langevin\"` starts chains from N(0, I) in standardized units at every update and makes `k` Langevin steps down the free energy, Metropolis-Hastings corrected (MALA); `\"gibbs_langevin\"` starts there too and makes `k` steps of `langevin_steps` Langevin steps on x at fixed z followed by z ~ p(z|x), each corrected as one joint move (both from Liao et al. 2022; `accept_rate` in runs.parquet says how many proposals were accepted)";
    chains / Chains: usize = 0, Rule::AtLeast(0),
        "persistent chains per temperature of `sampler = \"tempered\"` (0 = `batch_size`); other samplers ignore it";
    replicas / Replicas: usize = 8, Rule::AtLeast(1),
        "temperatures of `sampler = \"tempered\"`, inverse temperatures evenly spaced in log from 1 down to `beta_min` (1 = plain persistent chains); other samplers ignore it";
    beta_min / BetaMin: f64 = 0.05, Rule::Number(|v| v > 0.0 && v <= 1.0, "in (0, 1]"),
        "lowest inverse temperature of `sampler = \"tempered\"`: its replica's sigma is sigma / sqrt(beta_min) and its hidden biases beta_min c; other samplers ignore it";
    burn_in / BurnIn: usize = 0, Rule::AtLeast(0),
        "chain samplers (`cd`, `pcd`, `noise`, `langevin`, `gibbs_langevin`): 0 = the negative phase is dF/dtheta at the chains' states after the last of their `k` steps; b in 1..=k = its mean over the states after steps b, b+1, ..., k (1 averages all k, as Liao et al.'s `CD_burnin = 0`; k is the same as 0); must be at most `k`; other samplers ignore it";
    langevin_steps / LangevinSteps: usize = 10, Rule::AtLeast(1),
        "Langevin steps on x at fixed z in each of the `k` steps of `sampler = \"gibbs_langevin\"`; other samplers ignore it (`langevin` makes `k` Langevin steps)";
    langevin_step_size / LangevinStepSize: f64 = 0.3, Rule::Number(positive, "> 0"),
        "peak Langevin step size of `langevin` and `gibbs_langevin`, in units of the model's mean variance (sigma_1^2 + sigma_2^2) / 2 at that update (so a step moves about sqrt(2 x this) sigmas); other samplers ignore it";
    langevin_anneal / LangevinAnneal: bool = true, Rule::Flag,
        "anneal the Langevin step size by a cosine over the steps it is used for (the `k` steps of `langevin`, the `langevin_steps` inner steps of `gibbs_langevin`), from `langevin_step_size` towards 0; false keeps it constant";
    unadjusted_steps / UnadjustedSteps: usize = 0, Rule::AtLeast(0),
        "the first this many of the `k` steps of `langevin` and `gibbs_langevin` are taken without the Metropolis-Hastings correction (0 = every step corrected; `k` or more = none: plain unadjusted Langevin, biased); other samplers ignore it";
}

/// Train keys added after run ids took their present encoding: a run whose value of one of them
/// is its default leaves the key out of its id, so the runs of results folders written before
/// the key existed (which ran as its default does) keep their ids.
pub const KEYS_OMITTED_AT_DEFAULT: [&str; 5] = [
    "burn_in",
    "langevin_steps",
    "langevin_step_size",
    "langevin_anneal",
    "unadjusted_steps",
];

impl TrainConfig {
    /// Sets one key from a raw value, checking it against the key's rule.
    pub fn set(&mut self, key: &str, raw: &Raw) -> Result<(), SetError> {
        Setting::parse(key, raw).map(|s| s.apply(self))
    }

    /// The persistent chains at each temperature of `sampler = "tempered"` (`chains = 0`: one
    /// per minibatch row).
    pub fn chains_per_replica(&self) -> usize {
        if self.chains == 0 {
            self.batch_size
        } else {
            self.chains
        }
    }

    /// The resolved value of `key`, if it is a train key.
    pub fn get(&self, key: &str) -> Option<ParamValue> {
        self.params()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// The docs' key table as Markdown: the header and one row per key.
    pub fn key_table() -> String {
        let mut out = String::from("| key | default | allowed | meaning |\n|---|---|---|---|\n");
        for doc in Self::key_docs() {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                doc.key, doc.default, doc.allowed, doc.meaning
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The docs' key table is [`TrainConfig::key_table`], between these two lines of
    /// docs/experiment-file.md. `GRBM_SWEEP_BLESS=1 cargo test --release --lib docs_key_table`
    /// writes it there.
    const BEGIN: &str =
        "<!-- [train] keys: generated from src/train/params.rs, checked by a test -->\n";
    const END: &str = "<!-- end of [train] keys -->";

    #[test]
    fn docs_key_table_is_the_parameter_table() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/experiment-file.md");
        let docs = std::fs::read_to_string(&path).unwrap();
        let start = docs.find(BEGIN).expect("the docs mark the table's start") + BEGIN.len();
        let end = start
            + docs[start..]
                .find(END)
                .expect("the docs mark the table's end");
        let expected = TrainConfig::key_table();
        if docs[start..end] != expected {
            if std::env::var("GRBM_SWEEP_BLESS").is_ok_and(|v| v == "1") {
                std::fs::write(
                    &path,
                    format!("{}{expected}{}", &docs[..start], &docs[end..]),
                )
                .unwrap();
            } else {
                panic!(
                    "docs/experiment-file.md's [train] table differs from the parameter table; \
                     run with GRBM_SWEEP_BLESS=1 to write it. Expected:\n{expected}"
                );
            }
        }
    }

    #[test]
    fn every_key_has_a_column_a_setting_and_a_docs_row_in_one_order() {
        let cfg = TrainConfig::default();
        let columns: Vec<&str> = cfg.params().iter().map(|(k, _)| *k).collect();
        let docs: Vec<&str> = TrainConfig::key_docs().iter().map(|d| d.key).collect();
        assert_eq!(columns, TRAIN_KEYS);
        assert_eq!(docs, TRAIN_KEYS);
        for (key, value) in cfg.params() {
            let raw = match value {
                ParamValue::Int(v) => Raw::Int(v),
                ParamValue::Float(v) => Raw::Float(v),
                ParamValue::Bool(v) => Raw::Bool(v),
                ParamValue::Text(v) => Raw::Text(v.to_string()),
            };
            let setting = Setting::parse(key, &raw).unwrap();
            assert_eq!((setting.key(), setting.value()), (key, value));
        }
    }

    #[test]
    fn rules_give_their_messages() {
        let invalid = |key: &str, raw: Raw| match Setting::parse(key, &raw) {
            Err(SetError::Invalid(rule)) => rule,
            other => panic!("{key} = {raw}: {other:?}"),
        };
        assert_eq!(
            invalid("hidden", Raw::Int(0)),
            "hidden must be an integer >= 1"
        );
        assert_eq!(
            invalid("lr", Raw::Text("fast".into())),
            "lr must be a number > 0"
        );
        assert_eq!(
            invalid("lr", Raw::Float(f64::NAN)),
            "lr must be a finite number > 0"
        );
        assert_eq!(
            invalid("momentum", Raw::Float(1.0)),
            "momentum must be a finite number in [0, 1)"
        );
        assert_eq!(
            invalid("standardize", Raw::Int(1)),
            "standardize must be true or false"
        );
        assert_eq!(
            invalid("sampler", Raw::Text("gibbs".into())),
            "sampler must be one of \"cd\", \"pcd\", \"noise\", \"exact\", \"grid\", \"tempered\", \"langevin\", \"gibbs_langevin\""
        );
        assert_eq!(
            Setting::parse("hiden", &Raw::Int(3)),
            Err(SetError::UnknownKey)
        );
        assert_eq!(
            Setting::parse("lr", &Raw::Int(1)),
            Ok(Setting::Lr(1.0)),
            "integers are numbers"
        );
    }
}
