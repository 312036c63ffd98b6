//! The `[grid]` section: every axis parsed once into checked values (lists, and the `range`, `linspace` and `logspace` forms) or a checked distribution (`uniform`, `loguniform`, `randint`), and its expansion into runs, each with its resolved recipe and stable `run_id`: every combination, or configurations drawn at random.

use super::search::SearchConfig;
use super::{ConfigError, Ctx, Experiment, Section};
use crate::identity::{encode, hex_id};
use crate::rng::{below, search_stream, unit};
use crate::train::params::{
    EqKey, KEYS_OMITTED_AT_DEFAULT, ParamValue, Raw, Setting, TRAIN_KEYS, TrainConfig,
};
use rand_pcg::Pcg64;
use std::collections::HashSet;
use toml::{Spanned, Value};

/// One `[grid]` axis: a train key and the checked values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct GridAxis {
    pub key: &'static str,
    pub values: AxisValues,
}

/// What an axis takes: a list of checked values (enumerated by the grid, picked uniformly by a
/// random search), or a distribution that only a random search draws from. Both ends of a
/// distribution obey the key's rule, and every rule is an interval, so every draw does too.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisValues {
    List(Vec<Setting>),
    /// Numbers uniform in [low, high).
    Uniform {
        low: f64,
        high: f64,
    },
    /// Numbers whose logarithm is uniform in [ln low, ln high).
    LogUniform {
        low: f64,
        high: f64,
    },
    /// Integers uniform on low..high, high excluded.
    RandInt {
        low: i64,
        high: i64,
    },
}

impl AxisValues {
    /// The values of a list; `None` for a distribution.
    pub fn list(&self) -> Option<&[Setting]> {
        match self {
            AxisValues::List(values) => Some(values),
            _ => None,
        }
    }

    /// The values as `plan` shows them: a list's values, or the distribution.
    pub fn describe(&self) -> String {
        match self {
            AxisValues::List(values) => values
                .iter()
                .map(|v| v.value().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            AxisValues::Uniform { low, high } => format!("uniform in [{low:?}, {high:?})"),
            AxisValues::LogUniform { low, high } => format!("loguniform in [{low:?}, {high:?})"),
            AxisValues::RandInt { low, high } => {
                format!("randint: integers from {low} to {}", high - 1)
            }
        }
    }

    /// One value of axis `key`, from one 64-bit output of `rng`.
    fn draw(&self, key: &str, rng: &mut Pcg64) -> Setting {
        let raw = match *self {
            AxisValues::List(ref values) => {
                return values[below(rng, values.len() as u64) as usize];
            }
            // Clamped: rounding may land a hair outside the ends, which the key's rule was checked at.
            AxisValues::Uniform { low, high } => {
                Raw::Float((low + (high - low) * unit(rng)).clamp(low, high))
            }
            AxisValues::LogUniform { low, high } => {
                let (a, b) = (crate::vecmath::ln(low), crate::vecmath::ln(high));
                Raw::Float(crate::vecmath::exp(a + (b - a) * unit(rng)).clamp(low, high))
            }
            AxisValues::RandInt { low, high } => {
                Raw::Int(low.wrapping_add(below(rng, high.abs_diff(low)) as i64))
            }
        };
        Setting::parse(key, &raw).expect("a draw lies between two ends that obey the key's rule")
    }
}

/// The most values one axis may hold: a mistyped range is refused before it fills the memory.
const MAX_AXIS_VALUES: usize = 1_000_000;

/// One run of a sweep: a fully resolved recipe and the id that names it in every table.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Position in the expanded list of runs (for a grid, the last axis varies fastest).
    pub index: usize,
    pub run_id: String,
    /// The run's configuration: its id without the seed, shared by the runs that differ only
    /// in their seed (the replicates of one setting), see [`config_id`].
    pub config_id: String,
    /// Index into `[data] source`.
    pub dataset: usize,
    pub train: TrainConfig,
}

/// The `[grid]` section's axes in the parameter table's key order, whatever the file's order.
pub(super) fn parse_grid(
    ctx: &Ctx<'_>,
    section: &Section,
    search: &SearchConfig,
) -> Result<Vec<GridAxis>, ConfigError> {
    let mut axes = Vec::new();
    for (key, value) in section {
        if !TRAIN_KEYS.contains(&key.get_ref().as_str()) {
            return Err(ctx.unknown("grid", key, TRAIN_KEYS));
        }
        let name = format!("grid.{}", key.get_ref());
        let bad = |rule: &str| ctx.bad(&name, &value.span(), &value.get_ref().to_string(), rule);
        let values = match axis_written(key.get_ref(), value.get_ref())
            .map_err(|rule| bad(&rule))?
        {
            Written::Values(raws) => parse_list(ctx, key, value, &raws)?,
            Written::Draw(..) if key.get_ref() == SEED_KEY => {
                return Err(bad(
                    "seeds are replicates that every configuration runs on, never drawn: \
                     give them as a list or a range, e.g. seed = { range = [0, 4] }",
                ));
            }
            Written::Draw(..) if !search.draws() => {
                return Err(bad(
                    "a distribution needs [search] strategy = \"random\" (or \"halving\" with samples)",
                ));
            }
            Written::Draw(distribution) => parse_distribution(ctx, key, value, distribution)?,
        };
        let key = TRAIN_KEYS
            .iter()
            .find(|k| **k == key.get_ref().as_str())
            .expect("checked above");
        axes.push(GridAxis { key, values });
    }
    axes.sort_by_key(|a| TRAIN_KEYS.iter().position(|k| *k == a.key));
    Ok(axes)
}

/// The checked, distinct values of a list axis (or a range form) of key `key`.
fn parse_list(
    ctx: &Ctx<'_>,
    key: &Spanned<String>,
    value: &Spanned<Value>,
    raws: &[Value],
) -> Result<AxisValues, ConfigError> {
    let name = format!("grid.{}", key.get_ref());
    let mut settings: Vec<Setting> = Vec::with_capacity(raws.len());
    // The values so far, looked up in one step each: a scan of `settings` per value made a
    // 100 000-value axis take seconds in every command.
    let mut seen: HashSet<EqKey> = HashSet::with_capacity(raws.len());
    for (i, raw) in raws.iter().enumerate() {
        let setting = ctx.setting("grid", key, value, raw).map_err(|e| match e {
            ConfigError::BadValue { rule, .. } => bad_item(ctx, &name, i, value, raw, &rule),
            other => other,
        })?;
        // The values of one axis are of one key, so equal keys are equal settings.
        if !seen.insert(setting.value().eq_key()) {
            let rule =
                "values of a [grid] axis must be distinct (a repeated value would repeat runs)";
            return Err(bad_item(ctx, &name, i, value, raw, rule));
        }
        settings.push(setting);
    }
    Ok(AxisValues::List(settings))
}

/// A distribution of key `key`, its ends checked by the key's rule (randint's at a and b - 1,
/// the largest value it draws).
fn parse_distribution(
    ctx: &Ctx<'_>,
    key: &Spanned<String>,
    value: &Spanned<Value>,
    distribution: AxisValues,
) -> Result<AxisValues, ConfigError> {
    let ends = match distribution {
        AxisValues::Uniform { low, high } | AxisValues::LogUniform { low, high } => {
            [Value::Float(low), Value::Float(high)]
        }
        AxisValues::RandInt { low, high } => [Value::Integer(low), Value::Integer(high - 1)],
        AxisValues::List(_) => unreachable!("a list is not a distribution"),
    };
    for end in &ends {
        ctx.setting("grid", key, value, end)?;
    }
    Ok(distribution)
}

fn bad_item(
    ctx: &Ctx<'_>,
    name: &str,
    i: usize,
    value: &Spanned<Value>,
    raw: &Value,
    rule: &str,
) -> ConfigError {
    ctx.bad(
        &format!("{name}[{i}]"),
        &value.span(),
        &raw.to_string(),
        rule,
    )
}

/// An axis as written: values to check one by one, or a distribution with its ends.
enum Written {
    Values(Vec<Value>),
    /// Never a list.
    Draw(AxisValues),
}

const FORM_RULE: &str = "every [grid] value must be a non-empty list, e.g. [4, 16], or one of \
    { range = [start, stop] } (integers, stop excluded, optional step), \
    { linspace = [a, b], num = n } or { logspace = [a, b], num = n } (both ends included), \
    or, under a random search, { uniform = [a, b] }, { loguniform = [a, b] } or { randint = [a, b] } (b excluded)";

/// The values of one axis of key `key` as written (a non-empty list, or a range form expanded)
/// or its distribution, else the rule the value broke.
fn axis_written(key: &str, value: &Value) -> Result<Written, String> {
    let forms = [
        "range",
        "linspace",
        "logspace",
        "uniform",
        "loguniform",
        "randint",
    ];
    let values = match value {
        Value::Array(list) if list.is_empty() => {
            return Err("a [grid] list must not be empty".into());
        }
        Value::Array(list) => list.clone(),
        Value::Table(table) => {
            let named: Vec<&str> = forms
                .into_iter()
                .filter(|f| table.contains_key(*f))
                .collect();
            let form = match named[..] {
                [form] => form,
                _ => {
                    return Err(format!(
                        "a table must name exactly one of range, linspace, logspace, uniform, loguniform or randint; {FORM_RULE}"
                    ));
                }
            };
            let written = match form {
                "uniform" | "loguniform" | "randint" => distribution(table, form),
                _ => range_form(table).map(Written::Values),
            }
            .map_err(|rule| format!("{rule}; {FORM_RULE}"))?;
            return match written {
                Written::Values(values) if form == "logspace" && takes_integers(key) => {
                    rounded_logspace(key, table, &values).map(Written::Values)
                }
                written => Ok(written),
            };
        }
        _ => return Err(FORM_RULE.into()),
    };
    if values.len() > MAX_AXIS_VALUES {
        return Err(format!(
            "a [grid] axis may hold at most {MAX_AXIS_VALUES} values; this one holds {}",
            values.len()
        ));
    }
    Ok(Written::Values(values))
}

/// `{ uniform = [a, b] }`, `{ loguniform = [a, b] }` or `{ randint = [a, b] }`: two ends a < b
/// (both > 0 for loguniform, integers for randint), and no other key.
fn distribution(table: &toml::Table, form: &str) -> Result<Written, String> {
    if let Some(extra) = table.keys().find(|k| k.as_str() != form) {
        return Err(format!("`{extra}` does not belong in a {form} table"));
    }
    let ends = table[form].as_array().map(|a| a.as_slice());
    if form == "randint" {
        return match ends {
            Some([Value::Integer(a), Value::Integer(b)]) if a < b => {
                Ok(Written::Draw(AxisValues::RandInt { low: *a, high: *b }))
            }
            _ => Err("randint takes two integers a < b, [a, b] (b excluded)".into()),
        };
    }
    let [a, b] = match ends {
        Some([a, b]) => match (number(a), number(b)) {
            (Some(a), Some(b)) if a < b && (b - a).is_finite() => [a, b],
            _ => return Err(format!("{form} takes two numbers a < b, [a, b]")),
        },
        _ => return Err(format!("{form} takes two numbers a < b, [a, b]")),
    };
    if form == "loguniform" {
        if a <= 0.0 {
            return Err("loguniform takes two ends > 0".into());
        }
        return Ok(Written::Draw(AxisValues::LogUniform { low: a, high: b }));
    }
    Ok(Written::Draw(AxisValues::Uniform { low: a, high: b }))
}

/// The values of `{ range = ... }`, `{ linspace = ... }` or `{ logspace = ... }`.
fn range_form(table: &toml::Table) -> Result<Vec<Value>, String> {
    let ends = |name: &str| -> Result<[f64; 2], String> {
        match table[name].as_array().map(|a| a.as_slice()) {
            Some([a, b]) => match (number(a), number(b)) {
                (Some(a), Some(b)) => Ok([a, b]),
                _ => Err(format!("{name} takes two numbers")),
            },
            _ => Err(format!("{name} takes two numbers")),
        }
    };
    let whole = |name: &str, min: i64, default: Option<i64>| match (table.get(name), default) {
        (Some(Value::Integer(v)), _) if *v >= min => Ok(*v),
        (None, Some(d)) => Ok(d),
        (None, None) => Err(format!("needs `{name}`, the number of values")),
        (Some(_), _) => Err(format!("{name} must be an integer >= {min}")),
    };
    let forms: Vec<&str> = ["range", "linspace", "logspace"]
        .into_iter()
        .filter(|f| table.contains_key(*f))
        .collect();
    let allowed: &[&str] = match forms[..] {
        ["range"] => &["range", "step"],
        ["linspace"] | ["logspace"] => &[forms[0], "num"],
        _ => return Err("a table must name exactly one of range, linspace or logspace".into()),
    };
    if let Some(extra) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("`{extra}` does not belong in a {} table", forms[0]));
    }
    match forms[0] {
        "range" => {
            let (start, stop) = match table["range"].as_array().map(|a| a.as_slice()) {
                Some([Value::Integer(a), Value::Integer(b)]) => (*a, *b),
                _ => return Err("range takes two integers, [start, stop]".into()),
            };
            let step = whole("step", 1, Some(1))?;
            if start >= stop {
                return Err(format!(
                    "range [{start}, {stop}] holds no value (stop is excluded)"
                ));
            }
            let count = ((stop - start - 1) / step + 1) as u64;
            if count > MAX_AXIS_VALUES as u64 {
                return Err(format!(
                    "a [grid] axis may hold at most {MAX_AXIS_VALUES} values; this range holds {count}"
                ));
            }
            Ok((start..stop)
                .step_by(step as usize)
                .map(Value::Integer)
                .collect())
        }
        name => {
            let [a, b] = ends(name)?;
            let num = whole("num", 2, None)? as usize;
            if num > MAX_AXIS_VALUES {
                return Err(format!(
                    "a [grid] axis may hold at most {MAX_AXIS_VALUES} values"
                ));
            }
            let log = name == "logspace";
            if log && !(a > 0.0 && b > 0.0) {
                return Err("logspace takes two ends > 0".into());
            }
            Ok(spaced(a, b, num, log)
                .into_iter()
                .map(Value::Float)
                .collect())
        }
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    }
}

/// `num` values from `a` to `b`, both exactly, evenly spaced (or evenly in the logarithm). The
/// logarithms use the program's own `exp` and `ln`, which give the same bits on every machine,
/// so the values (and the run ids) do too. A logarithmic value whose exponent is a whole power
/// of ten is that power exactly, as the decimal `1eN` reads: exp and ln would leave it a few
/// units in the last place off (0.010000000000000004 for 0.01), which `plan`, the run labels
/// and the tables would show.
fn spaced(a: f64, b: f64, num: usize, log: bool) -> Vec<f64> {
    let last = num - 1;
    let fraction = |i: usize| i as f64 / last as f64;
    if !log {
        return (0..num)
            .map(|i| match i {
                0 => a,
                _ if i == last => b,
                _ => a + (b - a) * fraction(i),
            })
            .collect();
    }
    let (from, to) = (crate::vecmath::ln(a), crate::vecmath::ln(b));
    let decades = power_of_ten(a).zip(power_of_ten(b));
    // The error of exp(t): a few units in the last place of the logarithms t is made from, which
    // exp turns into that much relative error of the value, plus exp's own 2.5 units. Within 64
    // such units of a power of ten (1e-13 relative for logarithms near 7), a value is that power
    // but for the rounding.
    let tolerance = 64.0 * f64::EPSILON * (1.0 + from.abs().max(to.abs()));
    (0..num)
        .map(|i| match i {
            0 => a,
            _ if i == last => b,
            _ => {
                // Between two powers of ten the exponent is a fraction known exactly: whole or not.
                if let Some((ka, kb)) = decades {
                    let scaled = ka * last as i64 + (kb - ka) * i as i64;
                    if scaled % last as i64 == 0 {
                        return ten_to(scaled / last as i64);
                    }
                }
                let t = from + (to - from) * fraction(i);
                nearest_power_of_ten(t, crate::vecmath::exp(t), tolerance)
            }
        })
        .collect()
}

/// 10^k as the decimal `1ek` reads: the f64 nearest to it, on every machine.
fn ten_to(k: i64) -> f64 {
    format!("1e{k}")
        .parse()
        .expect("1e followed by an integer is a number")
}

/// k if `x` is exactly the f64 of the decimal `1ek`.
fn power_of_ten(x: f64) -> Option<i64> {
    let k = (crate::vecmath::ln(x) / std::f64::consts::LN_10).round();
    // Beyond 400 decades no f64 is a power of ten (and a NaN from a subnormal x is no k).
    let k = (k.abs() <= 400.0).then_some(k as i64)?;
    (ten_to(k) == x).then_some(k)
}

/// `value` = exp(`t`), or the power of ten it is within `tolerance` (relative) of: its exponent
/// t / ln 10 is then a whole number up to the rounding of the logarithms.
fn nearest_power_of_ten(t: f64, value: f64, tolerance: f64) -> f64 {
    let k = (t / std::f64::consts::LN_10).round();
    if k.abs() > 400.0 {
        return value;
    }
    let power = ten_to(k as i64);
    if power.is_normal() && (value - power).abs() <= tolerance * power {
        power
    } else {
        value
    }
}

/// Whether train key `key` takes integers, by the type of its column in the parameter table.
fn takes_integers(key: &str) -> bool {
    matches!(TrainConfig::default().get(key), Some(ParamValue::Int(_)))
}

/// The values of a logspace of integer key `key` (written as `table`; `values` as computed),
/// rounded to the nearest integer, its ends as written (which must be integers). Rounding can
/// merge neighbours where the values are denser than the integers: that is refused, naming them,
/// since the repeated value would repeat runs.
fn rounded_logspace(
    key: &str,
    table: &toml::Table,
    values: &[Value],
) -> Result<Vec<Value>, String> {
    let ends = match table["logspace"].as_array().map(|a| a.as_slice()) {
        Some([Value::Integer(a), Value::Integer(b)]) => [*a, *b],
        _ => {
            return Err(format!(
                "{key} takes integers: the ends of its logspace must be integers, e.g. \
                 {{ logspace = [4, 64], num = 5 }}"
            ));
        }
    };
    let exact: Vec<f64> = values
        .iter()
        .map(|v| v.as_float().expect("a logspace holds numbers"))
        .collect();
    let last = exact.len() - 1;
    let whole: Vec<i64> = (0..exact.len())
        .map(|i| match i {
            0 => ends[0],
            _ if i == last => ends[1],
            _ => exact[i].round() as i64,
        })
        .collect();
    let Some(i) = (1..whole.len()).find(|&i| whole[i] == whole[i - 1]) else {
        return Ok(whole.into_iter().map(Value::Integer).collect());
    };
    const SHOWN: usize = 12;
    let mut list: Vec<String> = whole.iter().take(SHOWN).map(i64::to_string).collect();
    if whole.len() > SHOWN {
        list.push(format!("... ({} values)", whole.len()));
    }
    Err(format!(
        "logspace rounds to {}: {key} takes integers, and rounding merged {} and {} into {}; \
         use a smaller num",
        list.join(", "),
        exact[i - 1],
        exact[i],
        whole[i]
    ))
}

/// Number of runs the experiment expands to (saturating, so a mistaken huge grid is still
/// counted). With `samples`, an upper bound (`samples` times the seeds): repeated draws are
/// dropped.
pub fn run_count(exp: &Experiment) -> usize {
    let per_dataset = match exp.search.samples {
        Some(samples) => samples.saturating_mul(seeds(exp).len()),
        None => lists(exp)
            .iter()
            .fold(1usize, |n, values| n.saturating_mul(values.len())),
    };
    exp.data.sources.len().saturating_mul(per_dataset)
}

/// The values of every axis when the runs are enumerated (no distribution is then allowed).
fn lists(exp: &Experiment) -> Vec<&[Setting]> {
    exp.grid
        .iter()
        .map(|axis| {
            axis.values
                .list()
                .expect("a distribution is refused unless configurations are drawn")
        })
        .collect()
}

/// The runs of the experiment, data set outermost: the Cartesian product of the grid axes
/// applied over the `[train]` defaults (the last axis fastest), or with `[search] samples`,
/// the drawn configurations in order ([`draw_config`]).
pub fn expand(exp: &Experiment) -> Vec<RunSpec> {
    runs(exp).collect()
}

/// The runs of [`expand`], in its order, made one at a time: `plan` lists a million runs without
/// holding them.
pub fn runs(exp: &Experiment) -> Box<dyn Iterator<Item = RunSpec> + '_> {
    match exp.search.samples {
        Some(samples) => Box::new(drawn(exp, samples)),
        None => Box::new(enumerated(exp)),
    }
}

fn enumerated(exp: &Experiment) -> impl Iterator<Item = RunSpec> + '_ {
    let lists = lists(exp);
    (0..run_count(exp)).map(move |index| {
        let mut train = exp.train.clone();
        let mut rest = index;
        for values in lists.iter().rev() {
            values[rest % values.len()].apply(&mut train);
            rest /= values.len();
        }
        RunSpec {
            index,
            run_id: run_id(exp, rest, &train),
            config_id: config_id(exp, rest, &train),
            dataset: rest,
            train,
        }
    })
}

/// Configuration `index` of a random search: the `[train]` values with one draw per axis but
/// the seed's, in the axes' (key) order, from the configuration's own stream. It depends on
/// `[search] seed` and `index` alone, so raising `samples` keeps every earlier configuration.
/// Seeds are replicates, not a hyperparameter: every configuration runs on every seed.
pub fn draw_config(exp: &Experiment, index: usize) -> TrainConfig {
    let mut rng = search_stream(exp.search.seed, index as u64);
    let mut train = exp.train.clone();
    for axis in exp.grid.iter().filter(|a| a.key != SEED_KEY) {
        axis.values.draw(axis.key, &mut rng).apply(&mut train);
    }
    train
}

/// The `[train]` key whose values are replicates: a `[grid]` axis of it is never drawn,
/// pruned or ranked as a hyperparameter.
pub const SEED_KEY: &str = "seed";

/// The seeds every configuration runs on: the `[grid] seed` values, else the `[train]` seed.
pub fn seeds(exp: &Experiment) -> Vec<Setting> {
    match exp.grid.iter().find(|a| a.key == SEED_KEY) {
        Some(axis) => axis
            .values
            .list()
            .expect("a seed axis is a list (checked when parsed)")
            .to_vec(),
        None => vec![Setting::Seed(exp.train.seed)],
    }
}

/// The `samples` drawn configurations on every data set (the same configurations on each),
/// each on every seed (the seed varies fastest). A draw that repeats an earlier configuration
/// is dropped, the first kept: the same runs twice would be trained twice into one record.
/// Each configuration is drawn again for every data set: a draw depends on `[search] seed` and
/// its index alone, so it is the same configuration.
fn drawn(exp: &Experiment, samples: usize) -> impl Iterator<Item = RunSpec> + '_ {
    let seeds = seeds(exp);
    let mut seen = HashSet::new();
    (0..exp.data.sources.len())
        .flat_map(move |dataset| (0..samples).map(move |i| (dataset, i)))
        .filter_map(move |(dataset, i)| {
            let config = draw_config(exp, i);
            let config_id = config_id(exp, dataset, &config);
            seen.insert(config_id.clone())
                .then_some((dataset, config, config_id))
        })
        .flat_map(move |(dataset, config, config_id)| {
            seeds.clone().into_iter().map(move |seed| {
                let mut train = config.clone();
                seed.apply(&mut train);
                RunSpec {
                    index: 0,
                    run_id: run_id(exp, dataset, &train),
                    config_id: config_id.clone(),
                    dataset,
                    train,
                }
            })
        })
        .enumerate()
        .map(|(index, run)| RunSpec { index, ..run })
}

/// The version line of a run's identity. It changes whenever a run's numbers for the same
/// settings change, or the encoding does, so that a results folder never mixes them
/// (v2: vectorized kernels and the PCG32 lanes; v3: the encoding of [`crate::identity`]; v4:
/// the `libm` crate's maths in place of the C library's).
const RUN_IDENTITY: &str = "grbm-sweep run v4";

/// A stable 16-hex-digit id: FNV-1a over the canonical encoding of everything that determines the
/// run's results (data set, evaluation settings and every resolved train parameter), not over
/// its grid position or where the files are.
pub fn run_id(exp: &Experiment, dataset: usize, train: &TrainConfig) -> String {
    hex_id(identity(exp, dataset, train, RUN_IDENTITY, |_| true).as_bytes())
}

/// The version line of a configuration's identity.
const CONFIG_IDENTITY: &str = "grbm-sweep config v1";

/// A configuration's stable 16-hex-digit id: the run id's encoding without the seed (under its
/// own version line), so the runs of one setting on different seeds share it.
pub fn config_id(exp: &Experiment, dataset: usize, train: &TrainConfig) -> String {
    hex_id(identity(exp, dataset, train, CONFIG_IDENTITY, |key| key != SEED_KEY).as_bytes())
}

/// The canonical encoding of a run's data set, evaluation settings and the train parameters
/// that `keep` selects.
fn identity(
    exp: &Experiment,
    dataset: usize,
    train: &TrainConfig,
    version: &str,
    keep: impl Fn(&str) -> bool,
) -> String {
    let defaults = TrainConfig::default();
    let params = train.params().into_iter().filter(|(k, v)| {
        keep(k) && !(KEYS_OMITTED_AT_DEFAULT.contains(k) && defaults.get(k) == Some(*v))
    });
    let fields = exp
        .data
        .identity(dataset)
        .into_iter()
        .chain(exp.eval.identity())
        .chain(params.map(|(k, v)| (k, v.into())));
    encode(version, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::parse;
    use std::collections::HashSet;
    use std::path::Path;

    fn exp(grid: &str) -> Experiment {
        parse(
            Path::new("e.toml"),
            &format!("name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[grid]\n{grid}"),
        )
        .unwrap()
    }

    #[test]
    fn expands_to_cartesian_product_with_last_axis_fastest() {
        let runs = expand(&exp("hidden = [4, 8]\nlr = [0.1, 0.2, 0.3]\n"));
        assert_eq!(runs.len(), 6);
        let pairs: Vec<_> = runs.iter().map(|r| (r.train.hidden, r.train.lr)).collect();
        assert_eq!(
            pairs,
            [(4, 0.1), (4, 0.2), (4, 0.3), (8, 0.1), (8, 0.2), (8, 0.3)]
        );
        assert_eq!(
            runs.iter().map(|r| &r.run_id).collect::<HashSet<_>>().len(),
            6
        );
    }

    #[test]
    fn run_id_depends_on_config_not_grid_position() {
        let big = expand(&exp("hidden = [4, 8]\nseed = [0, 1]\n"));
        let alone = expand(&exp("hidden = [8]\nseed = [1]\n"));
        assert_eq!(alone[0].run_id, big[3].run_id);
        let other_data =
            parse(Path::new("e.toml"), "name = \"t\"\n[data]\nsource = \"gmm_iso\"\nseed = 5\n[grid]\nhidden = [8]\nseed = [1]\n")
                .unwrap();
        assert_ne!(expand(&other_data)[0].run_id, alone[0].run_id);
    }

    #[test]
    fn range_forms_expand_like_lists() {
        let e = exp(
            "seed = { range = [0, 100] }\nlr = { logspace = [0.001, 0.1], num = 3 }\n\
             w_init = { linspace = [0.5, 1.5], num = 2 }\nk = { range = [1, 8], step = 3 }\n",
        );
        let values = |key: &str| -> Vec<String> {
            let axis = e.grid.iter().find(|a| a.key == key).unwrap();
            let list = axis.values.list().unwrap();
            list.iter().map(|s| s.value().to_string()).collect()
        };
        assert_eq!(values("seed").len(), 100);
        assert_eq!(
            (values("seed")[0].as_str(), values("seed")[99].as_str()),
            ("0", "99")
        );
        assert_eq!(values("k"), ["1", "4", "7"]);
        assert_eq!(values("w_init"), ["0.5", "1.5"]);
        let lr = values("lr");
        assert_eq!(
            (lr[0].as_str(), lr[2].as_str()),
            ("0.001", "0.1"),
            "both ends exact"
        );
        let middle: f64 = lr[1].parse().unwrap();
        assert!((middle - 0.01).abs() < 1e-15, "{middle}");
        assert_eq!(expand(&e).len(), 100 * 3 * 2 * 3);
    }

    /// The f64 values of axis `key`.
    fn numbers(e: &Experiment, key: &str) -> Vec<f64> {
        let axis = e.grid.iter().find(|a| a.key == key).unwrap();
        let list = axis.values.list().unwrap();
        list.iter()
            .map(|s| match s.value() {
                ParamValue::Float(v) => v,
                ParamValue::Int(v) => v as f64,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn logspace_values_at_powers_of_ten_are_exact() {
        let e = exp("lr = { logspace = [0.001, 0.1], num = 3 }\n");
        assert_eq!(numbers(&e, "lr"), [0.001, 0.01, 0.1]);
        let e = exp("lr = { logspace = [1e-4, 1], num = 5 }\n");
        assert_eq!(numbers(&e, "lr"), [1e-4, 1e-3, 1e-2, 1e-1, 1.0]);
        let e = exp("lr = { logspace = [1, 1e-4], num = 3 }\n");
        assert_eq!(numbers(&e, "lr"), [1.0, 1e-2, 1e-4], "descending");
        // Ends that are no powers of ten: 10 = sqrt(0.5 x 200) is the exact 10 all the same.
        let e = exp("lr = { logspace = [0.5, 200], num = 3 }\n");
        assert_eq!(numbers(&e, "lr"), [0.5, 10.0, 200.0]);
        // Exponents -4, -8/3, -4/3, 0: the two between are exp of their logarithms, as before.
        let e = exp("lr = { logspace = [1e-4, 1], num = 4 }\n");
        let lr = numbers(&e, "lr");
        let ln = crate::vecmath::ln;
        let expected = crate::vecmath::exp(ln(1e-4) + (ln(1.0) - ln(1e-4)) * (1.0 / 3.0));
        assert_eq!(lr[1].to_bits(), expected.to_bits(), "{}", lr[1]);
        assert!((lr[1] - 1e-8f64.cbrt()).abs() < 1e-17, "{}", lr[1]);
        assert_eq!((lr[0], lr[3]), (1e-4, 1.0));
    }

    #[test]
    fn a_logspace_of_an_integer_key_rounds_to_integers() {
        let integers = |grid: &str, key: &str| -> Vec<i64> {
            let e = exp(grid);
            let axis = e.grid.iter().find(|a| a.key == key).unwrap();
            axis.values
                .list()
                .unwrap()
                .iter()
                .map(|s| match s.value() {
                    ParamValue::Int(v) => v,
                    other => panic!("{grid}: {other:?}"),
                })
                .collect()
        };
        assert_eq!(
            integers("hidden = { logspace = [4, 64], num = 5 }\n", "hidden"),
            [4, 8, 16, 32, 64]
        );
        // 2 x 50^(1/3) = 7.37 and 2 x 50^(2/3) = 27.1.
        assert_eq!(
            integers("k = { logspace = [2, 100], num = 4 }\n", "k"),
            [2, 7, 27, 100]
        );
        assert_eq!(
            integers("epochs = { logspace = [1000, 10], num = 3 }\n", "epochs"),
            [1000, 100, 10]
        );
        let e = exp("batch_size = { logspace = [10, 1000], num = 3 }\n");
        assert_eq!(
            expand(&e)
                .iter()
                .map(|r| r.train.batch_size)
                .collect::<Vec<_>>(),
            [10, 100, 1000]
        );
    }

    /// The error of an experiment whose `[grid]` section, from line 5, is `grid`.
    fn grid_error(grid: &str) -> String {
        parse(
            Path::new("e.toml"),
            &format!("name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[grid]\n{grid}"),
        )
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn an_integer_logspace_that_rounding_merges_is_refused() {
        let err = grid_error;
        // 4^(1/5) = 1.32 and 4^(3/5) = 2.30: 1, 1.32 -> 1, 1 and 1.74, 2.30 -> 2, 2.
        assert_eq!(
            err("hidden = { logspace = [1, 4], num = 6 }\n"),
            format!(
                "e.toml:5: `grid.hidden` = {{ logspace = [1, 4], num = 6 }}: logspace rounds to \
                 1, 1, 2, 2, 3, 4: hidden takes integers, and rounding merged 1 and {} into 1; \
                 use a smaller num",
                crate::vecmath::exp(crate::vecmath::ln(4.0) * (1.0 / 5.0))
            )
        );
        let e = err("chains = { logspace = [1, 1000000], num = 100 }\n");
        assert!(
            e.starts_with("e.toml:5: `grid.chains` = ")
                && e.contains("logspace rounds to 1, 1, 1, 2, ")
                && e.contains(
                    ", ... (100 values): chains takes integers, and rounding merged 1 and 1.1"
                ),
            "{e}"
        );
        assert_eq!(
            err("hidden = { logspace = [4.5, 64], num = 3 }\n"),
            "e.toml:5: `grid.hidden` = { logspace = [4.5, 64], num = 3 }: hidden takes integers: \
             the ends of its logspace must be integers, e.g. { logspace = [4, 64], num = 5 }"
        );
    }

    #[test]
    fn bad_range_forms_name_line_key_and_rule() {
        let err = grid_error;
        let cases = [
            ("lr = { logspace = [0.001, 0.1] }", "needs `num`"),
            ("lr = { logspace = [0, 0.1], num = 3 }", "ends > 0"),
            (
                "lr = { linspace = [0.1, 0.2], num = 1 }",
                "num must be an integer >= 2",
            ),
            ("seed = { range = [5, 5] }", "holds no value"),
            (
                "seed = { range = [0, 10], step = 0 }",
                "step must be an integer >= 1",
            ),
            ("seed = { range = [0.5, 10] }", "two integers"),
            ("seed = { span = [0, 10] }", "range, linspace, logspace"),
            (
                "seed = { range = [0, 4], linspace = [0, 1] }",
                "range, linspace, logspace",
            ),
            (
                "hidden = { linspace = [4, 16], num = 4 }",
                "`grid.hidden[0]` = 4.0: hidden must be an integer >= 1",
            ),
            (
                "lr = { linspace = [-1, 1], num = 3 }",
                "`grid.lr[0]` = -1.0: lr must be a finite number > 0",
            ),
            (
                "w_init = { linspace = [1, 1], num = 2 }",
                "must be distinct",
            ),
            ("seed = { range = [0, 2000000] }", "at most 1000000 values"),
        ];
        for (grid, expected) in cases {
            let e = err(grid);
            assert!(e.starts_with("e.toml:5: `grid."), "{grid}: {e}");
            assert!(e.contains(expected), "{grid}: {e}");
        }
    }

    /// The duplicate check looks values up in a hash set: it still names the first repeat with
    /// its index, takes -0.0 for a repeat of 0.0 (they are `==`, so they would make the same
    /// runs), finds a repeat at the end of a long list, and keeps values one ulp apart.
    #[test]
    fn a_repeated_grid_value_is_refused_at_its_first_repeat() {
        let err = |grid: &str| {
            parse(
                Path::new("e.toml"),
                &format!("name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[grid]\n{grid}\n"),
            )
            .unwrap_err()
            .to_string()
        };
        let rule = "values of a [grid] axis must be distinct (a repeated value would repeat runs)";
        assert_eq!(
            err("hidden = [4, 8, 4, 8]"),
            format!("e.toml:5: `grid.hidden[2]` = 4: {rule}")
        );
        assert_eq!(
            err("momentum = [0.5, 0.0, -0.0]"),
            format!("e.toml:5: `grid.momentum[2]` = -0.0: {rule}")
        );
        assert_eq!(
            err("sampler = [\"cd\", \"pcd\", \"cd\"]"),
            format!("e.toml:5: `grid.sampler[2]` = \"cd\": {rule}")
        );
        let seeds: Vec<String> = (0..5000).chain([4999]).map(|s| s.to_string()).collect();
        assert_eq!(
            err(&format!("seed = [{}]", seeds.join(", "))),
            format!("e.toml:5: `grid.seed[5000]` = 4999: {rule}")
        );
        let close = exp("lr = [0.1, 0.10000000000000002]\n");
        assert_eq!(expand(&close).len(), 2);
    }

    #[test]
    fn no_grid_is_one_run() {
        let e = parse(
            Path::new("e.toml"),
            "name = \"t\"\n[data]\nsource = \"gmm_iso\"\n",
        )
        .unwrap();
        assert_eq!(expand(&e).len(), 1);
    }

    /// A random search of `samples` configurations over `grid`, whose first line is line 8.
    fn random(samples: usize, grid: &str) -> Result<Experiment, ConfigError> {
        parse(
            Path::new("e.toml"),
            &format!(
                "name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[search]\nstrategy = \"random\"\nsamples = {samples}\n[grid]\n{grid}"
            ),
        )
    }

    #[test]
    fn grid_run_ids_are_those_of_the_code_before_random_search() {
        // Computed by `grbm-sweep plan` before [search] existed: at 447c4bb (5da61a7 with the
        // validation split, whose n_valid is part of every generator's data identity). The
        // middle lr of each row of three changed when logspace became exact at powers of ten:
        // it was 0.010000000000000004 and is 0.01, the ids `plan` gives for lr = [0.001, 0.01,
        // 0.1]; the ends' ids are unchanged. All changed once more when the chain samples became
        // the sampler's own chains: `[eval] chain_steps` in place of `sample_chains` and
        // `burn_in`, whose values every id held.
        let e = parse(
            Path::new("e.toml"),
            "name = \"t\"\n[data]\nsource = [\"gmm_iso\", \"rings\"]\n[grid]\nhidden = [4, 8]\n\
             lr = { logspace = [0.001, 0.1], num = 3 }\n",
        )
        .unwrap();
        // Under the version line of that code: v4 changed the numbers (the `libm` crate's maths
        // in place of the C library's), and so every id, but not the encoding.
        let runs = expand(&e);
        let at_v3 = |r: &RunSpec| {
            hex_id(identity(&e, r.dataset, &r.train, "grbm-sweep run v3", |_| true).as_bytes())
        };
        let ids: Vec<String> = runs.iter().map(at_v3).collect();
        assert!(runs.iter().zip(&ids).all(|(r, v3)| r.run_id != *v3));
        assert_eq!(
            ids,
            [
                "8daed3943ff1a662",
                "6cb2d2cb10c03540",
                "556a43fd583bea2c",
                "b443065b9e963fc6",
                "188c9c30828c8fcc",
                "d6a1f42b8af9d3c8",
                "27dd5a033edf1a6c",
                "8ee9febf872c93e2",
                "b67dce0d3ddfe6fa",
                "92c3f738fb8ac568",
                "ceea6c7dbb71ab76",
                "747c8079404e3a6e",
            ]
        );
    }

    /// AIS off (the default, or `ais_steps = 0` whatever `ais_chains` says) leaves every run id
    /// as it would be without AIS keys: the ids of the test above, under the version line v3
    /// (the code before AIS gave them with that version's chain sample keys). AIS on is part of
    /// the id, budget by budget.
    #[test]
    fn run_ids_without_ais_are_those_of_the_code_before_ais() {
        let with_eval = |eval: &str| {
            let text = format!(
                "name = \"t\"\n[data]\nsource = [\"gmm_iso\", \"rings\"]\n[eval]\n{eval}\n\
                 [grid]\nhidden = [4, 8]\nlr = {{ logspace = [0.001, 0.1], num = 3 }}\n"
            );
            let e = parse(Path::new("e.toml"), &text).unwrap();
            let at_v3 = |r: RunSpec| {
                hex_id(identity(&e, r.dataset, &r.train, "grbm-sweep run v3", |_| true).as_bytes())
            };
            expand(&e).into_iter().map(at_v3).collect::<Vec<_>>()
        };
        for off in ["", "ais_steps = 0", "ais_steps = 0\nais_chains = 7"] {
            let ids = with_eval(off);
            assert_eq!(ids[0], "8daed3943ff1a662", "{off}");
            assert_eq!(ids[11], "747c8079404e3a6e", "{off}");
        }
        let on = with_eval("ais_steps = 100");
        assert_ne!(on[0], "8daed3943ff1a662");
        assert_eq!(on, with_eval("ais_steps = [100]"));
        assert_ne!(on, with_eval("ais_steps = [10, 100]"));
        assert_ne!(on, with_eval("ais_steps = 100\nais_chains = 50"));
    }

    #[test]
    fn distributions_parse_into_their_ends() {
        let e = random(
            4,
            "lr = { loguniform = [0.001, 0.1] }\nmomentum = { uniform = [0, 0.9] }\n\
             hidden = { randint = [2, 8] }\nk = [1, 2]\n",
        )
        .unwrap();
        let values: Vec<(&str, &AxisValues)> = e.grid.iter().map(|a| (a.key, &a.values)).collect();
        assert_eq!(
            values,
            [
                ("hidden", &AxisValues::RandInt { low: 2, high: 8 }),
                (
                    "lr",
                    &AxisValues::LogUniform {
                        low: 0.001,
                        high: 0.1
                    }
                ),
                ("k", &AxisValues::List(vec![Setting::K(1), Setting::K(2)])),
                (
                    "momentum",
                    &AxisValues::Uniform {
                        low: 0.0,
                        high: 0.9
                    }
                ),
            ]
        );
    }

    #[test]
    fn bad_distributions_name_line_key_and_rule() {
        let cases = [
            (
                "lr = { loguniform = [0, 0.1] }",
                "`grid.lr` = { loguniform = [0, 0.1] }: loguniform takes two ends > 0",
            ),
            (
                "lr = { uniform = [0.1, 0.1] }",
                "`grid.lr` = { uniform = [0.1, 0.1] }: uniform takes two numbers a < b",
            ),
            (
                "lr = { uniform = [0.2, 0.1] }",
                "uniform takes two numbers a < b",
            ),
            (
                "lr = { uniform = [-0.1, 0.1] }",
                "`grid.lr` = -0.1: lr must be a finite number > 0",
            ),
            (
                "hidden = { uniform = [4, 16] }",
                "`grid.hidden` = 4.0: hidden must be an integer >= 1",
            ),
            (
                "hidden = { randint = [0, 8] }",
                "`grid.hidden` = 0: hidden must be an integer >= 1",
            ),
            (
                "beta_min = { randint = [1, 3] }",
                "`grid.beta_min` = 2: beta_min must be a finite number in (0, 1]",
            ),
            (
                "momentum = { uniform = [0.5, 1.0] }",
                "`grid.momentum` = 1.0: momentum must be a finite number in [0, 1)",
            ),
            (
                "standardize = { uniform = [0, 1] }",
                "standardize must be true or false",
            ),
            (
                "seed = { randint = [0.5, 3] }",
                "randint takes two integers a < b",
            ),
            (
                "seed = { randint = [3, 3] }",
                "randint takes two integers a < b",
            ),
            (
                "lr = { uniform = [0.1, 0.2], num = 3 }",
                "`num` does not belong in a uniform table",
            ),
            (
                "lr = { uniform = [0.1, 0.2], range = [0, 1] }",
                "exactly one of range, linspace, logspace, uniform, loguniform or randint",
            ),
            ("lr = { uniform = 0.1 }", "uniform takes two numbers"),
        ];
        for (grid, expected) in cases {
            let e = random(5, grid).unwrap_err().to_string();
            assert!(e.starts_with("e.toml:8: `grid."), "{grid}: {e}");
            assert!(e.contains(expected), "{grid}: {e}");
        }
    }

    #[test]
    fn a_distribution_needs_drawn_configurations() {
        let rule =
            "a distribution needs [search] strategy = \"random\" (or \"halving\" with samples)";
        let grid = parse(
            Path::new("e.toml"),
            "name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[grid]\nhidden = [2]\nlr = { uniform = [0.1, 0.2] }\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            grid,
            format!("e.toml:6: `grid.lr` = {{ uniform = [0.1, 0.2] }}: {rule}")
        );
        let halving = |search: &str| {
            parse(
                Path::new("e.toml"),
                &format!(
                    "name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[search]\nstrategy = \"halving\"\n\
                     min_epochs = 2\n{search}[grid]\nlr = {{ uniform = [0.1, 0.2] }}\n"
                ),
            )
        };
        let e = halving("").unwrap_err().to_string();
        assert!(
            e.starts_with("e.toml:8: `grid.lr`") && e.contains(rule),
            "{e}"
        );
        assert_eq!(expand(&halving("samples = 4\n").unwrap()).len(), 4);
    }

    /// Seeds are replicates: a random search draws configurations without the seed and runs
    /// every one on every seed, the runs of one configuration sharing its config id.
    #[test]
    fn a_random_search_runs_every_drawn_configuration_on_every_seed() {
        let e = random(6, &format!("seed = [0, 1, 2]\n{SPACE}")).unwrap();
        let runs = expand(&e);
        assert_eq!((runs.len(), run_count(&e)), (18, 18));
        for (i, config) in runs.chunks(3).enumerate() {
            let seeds: Vec<u64> = config.iter().map(|r| r.train.seed).collect();
            assert_eq!(seeds, [0, 1, 2], "configuration {i}");
            let mut unseeded = config[0].train.clone();
            for r in config {
                assert_eq!(r.config_id, config[0].config_id);
                unseeded.seed = r.train.seed;
                assert_eq!(
                    r.train, unseeded,
                    "the seeds of a configuration differ in the seed alone"
                );
            }
            assert_eq!(config[0].train, {
                let mut drawn = draw_config(&e, i);
                drawn.seed = 0;
                drawn
            });
        }
        let configs: HashSet<&String> = runs.iter().map(|r| &r.config_id).collect();
        let ids: HashSet<&String> = runs.iter().map(|r| &r.run_id).collect();
        assert_eq!((configs.len(), ids.len()), (6, 18));
        let unseeded = expand(&random(6, SPACE).unwrap());
        let trains = |runs: &[RunSpec]| -> Vec<TrainConfig> {
            runs.iter()
                .map(|r| TrainConfig {
                    seed: 0,
                    ..r.train.clone()
                })
                .collect()
        };
        assert_eq!(
            trains(&unseeded),
            trains(&runs).into_iter().step_by(3).collect::<Vec<_>>(),
            "the seed axis changes no drawn value"
        );
    }

    #[test]
    fn a_grid_config_id_is_shared_by_seeds_alone() {
        let runs = expand(&exp("hidden = [4, 8]\nseed = [0, 1]\n"));
        let ids: Vec<&str> = runs.iter().map(|r| r.config_id.as_str()).collect();
        assert_eq!(ids[0], ids[1]);
        assert_eq!(ids[2], ids[3]);
        assert_ne!(ids[0], ids[2]);
        assert!(runs.iter().all(|r| r.config_id != r.run_id));
        let alone = expand(&exp("hidden = [8]\n"));
        assert_eq!(
            alone[0].config_id, runs[2].config_id,
            "no seed axis: seed 0"
        );
    }

    #[test]
    fn a_seed_distribution_is_refused() {
        let e = random(4, "seed = { randint = [0, 3] }\nlr = [0.1, 0.2]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("e.toml:8: `grid.seed` = { randint = [0, 3] }: seeds are replicates"),
            "{e}"
        );
    }

    const SPACE: &str = "hidden = { randint = [2, 8] }\nlr = { loguniform = [0.0001, 0.1] }\n\
                         k = [1, 2, 3]\nmomentum = { uniform = [0.5, 0.9] }\n";

    #[test]
    fn random_expansion_is_deterministic_and_prefix_stable() {
        let twenty = expand(&random(20, SPACE).unwrap());
        assert_eq!(twenty, expand(&random(20, SPACE).unwrap()));
        let thirty = expand(&random(30, SPACE).unwrap());
        assert_eq!((twenty.len(), thirty.len()), (20, 30));
        assert_eq!(twenty[..], thirty[..20]);
        assert!(thirty.iter().enumerate().all(|(i, r)| r.index == i));
        let ids: HashSet<&String> = thirty.iter().map(|r| &r.run_id).collect();
        assert_eq!(ids.len(), 30);
        let reseeded = parse(
            Path::new("e.toml"),
            &format!("name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[search]\nstrategy = \"random\"\nsamples = 20\nseed = 1\n[grid]\n{SPACE}"),
        )
        .unwrap();
        assert_ne!(expand(&reseeded)[0].train, twenty[0].train);
    }

    #[test]
    fn draws_stay_within_bounds_and_loguniform_spreads_over_decades() {
        let e = random(3000, SPACE).unwrap();
        let runs = expand(&e);
        assert_eq!(run_count(&e), 3000);
        let mut decades = [0usize; 3];
        let mut hidden = HashSet::new();
        let mut k = HashSet::new();
        for r in &runs {
            let t = &r.train;
            assert!((2..8).contains(&t.hidden), "{}", t.hidden);
            assert!((0.0001..0.1).contains(&t.lr), "{}", t.lr);
            assert!((0.5..0.9).contains(&t.momentum), "{}", t.momentum);
            hidden.insert(t.hidden);
            k.insert(t.k);
            decades[(crate::vecmath::ln(t.lr / 0.0001) / crate::vecmath::ln(10.0)) as usize] += 1;
        }
        assert_eq!(hidden.len(), 6, "randint draws every integer of 2..8");
        assert_eq!(k.len(), 3, "a list's values are picked");
        // 1000 expected in each decade; 800 is more than 6 standard deviations below.
        assert!(decades.iter().all(|d| *d > 800), "{decades:?}");
        let mean_momentum = runs.iter().map(|r| r.train.momentum).sum::<f64>() / 3000.0;
        assert!((mean_momentum - 0.7).abs() < 0.01, "{mean_momentum}");
    }

    #[test]
    fn repeated_draws_are_dropped_and_data_sets_share_the_configurations() {
        let e = random(50, "hidden = { randint = [2, 4] }\n").unwrap();
        let runs = expand(&e);
        assert_eq!(run_count(&e), 50, "an upper bound");
        let hidden: Vec<usize> = runs.iter().map(|r| r.train.hidden).collect();
        assert_eq!(runs.len(), 2, "{hidden:?}");
        assert_eq!(runs.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(runs[0].train, draw_config(&e, 0), "the first draw is kept");
        let two = parse(
            Path::new("e.toml"),
            &format!("name = \"t\"\n[data]\nsource = [\"gmm_iso\", \"rings\"]\n[search]\nstrategy = \"random\"\nsamples = 6\n[grid]\n{SPACE}"),
        )
        .unwrap();
        let runs = expand(&two);
        assert_eq!(runs.len(), 12);
        for i in 0..6 {
            assert_eq!((runs[i].dataset, runs[i + 6].dataset), (0, 1));
            assert_eq!(runs[i].train, runs[i + 6].train, "configuration {i}");
            assert_ne!(runs[i].run_id, runs[i + 6].run_id);
        }
    }
}
