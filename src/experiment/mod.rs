//! The experiment file: reading the TOML, checking every key and value against the rules of the sections' owners, and the whole validated [`Experiment`].
//!
//! Each section is read as a map of spanned keys to spanned values, so every
//! error can name the file, the line, the key and the value. Every `[train]`
//! value, in `[train]` or in a `[grid]` axis, is checked by the parameter table of
//! [`crate::train::params`]: one rule per key, in one place.

pub mod grid;
mod overrides;
pub mod search;

use crate::data::{DataConfig, DataFile, DataSource, GENERATORS, SourceKind};
use crate::estimate::EvalConfig;
use crate::train::params::{Param, Raw, Rule, SetError, Setting, TRAIN_KEYS, TrainConfig};
use grid::GridAxis;
use search::SearchConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
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
    /// A `--set KEY=VALUE` that cannot be applied to the file.
    #[error("{path}: --set {set}: {reason}")]
    Set {
        path: PathBuf,
        set: String,
        reason: String,
    },
    #[error("{path}:{line}: {message}")]
    Toml {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: unknown key `{key}`; {hint}allowed keys: {allowed}")]
    UnknownKey {
        path: PathBuf,
        line: usize,
        key: String,
        /// "did you mean `X`? " for the closest allowed key, when one is close; else empty.
        hint: String,
        allowed: String,
    },
    #[error("{path}:{line}: unknown section `[{section}]`; {hint}allowed sections: {allowed}")]
    UnknownSection {
        path: PathBuf,
        line: usize,
        section: String,
        /// "did you mean `[X]`? " for the closest section, when one is close; else empty.
        hint: String,
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

/// An integer >= `min` for key `what`, by the rule the parameter table uses for its integers.
fn int_at_least(value: &Value, min: i64, what: &str) -> Result<i64, String> {
    u64::parse(&raw(value), &Rule::AtLeast(min), what).map(|v| v as i64)
}

/// A finite number (integers accepted) for which `allowed` holds, by the parameter table's rule.
fn finite_float(
    value: &Value,
    what: &str,
    allowed: fn(f64) -> bool,
    rule: &'static str,
) -> Result<f64, String> {
    f64::parse(&raw(value), &Rule::Number(allowed, rule), what)
}

/// A whole, validated experiment file.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub path: PathBuf,
    /// The file's text as it was read (with the command line's `--set` settings applied),
    /// copied into the results as `sweep.toml`.
    pub text: String,
    pub name: String,
    pub output: PathBuf,
    pub data: DataConfig,
    pub train: TrainConfig,
    pub eval: EvalConfig,
    /// Axes in the parameter table's key order, so expansion does not depend on how the file
    /// orders them.
    pub grid: Vec<GridAxis>,
    /// How the runs are chosen from the axes.
    pub search: SearchConfig,
}

type Section = BTreeMap<Spanned<String>, Spanned<Value>>;

/// The keys of the top level, outside every section; [`RawFile`]'s other fields are sections.
const TOP_KEYS: [&str; 2] = ["name", "output"];
const SECTIONS: [&str; 5] = ["data", "train", "eval", "grid", "search"];

/// `did you mean `X`? ` (with `X` decorated by `show`) for the allowed name closest to `word`
/// by Levenshtein distance, or "" when none is close enough to be what was meant: within 2
/// edits or a third of the word, and fewer edits than the word has letters (so that a short
/// word is not "corrected" into an unrelated one).
fn did_you_mean(word: &str, allowed: &[&str], show: impl Fn(&str) -> String) -> String {
    let letters = word.chars().count();
    allowed
        .iter()
        .map(|name| (strsim::levenshtein(word, name), *name))
        .min_by_key(|(distance, _)| *distance)
        .filter(|(distance, _)| *distance <= 2.max(letters / 3) && *distance < letters)
        .map_or_else(String::new, |(_, name)| {
            format!("did you mean `{}`? ", show(name))
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Spanned<String>,
    output: Option<Spanned<String>>,
    data: Option<Section>,
    train: Option<Section>,
    eval: Option<Section>,
    grid: Option<Section>,
    search: Option<Section>,
}

/// Reads and validates an experiment file. Nothing is written.
pub fn load(path: &Path) -> Result<Experiment, ConfigError> {
    load_with(path, &[])
}

/// Reads an experiment file, applies the command line's `--set KEY=VALUE` settings to its text
/// as an edit of the file would ([`overrides::apply`]) and validates the result, whose text is
/// the experiment's (so the results folder's copy holds the settings). Nothing is written.
pub fn load_with(path: &Path, sets: &[String]) -> Result<Experiment, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &overrides::apply(path, &text, sets)?)
}

/// Validates an experiment given as text; `path` is used in messages and to resolve relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Experiment, ConfigError> {
    let ctx = Ctx { path, text };
    let syntax = |e: toml::de::Error| ConfigError::Toml {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| ctx.line(s.start)),
        message: e.message().trim().to_string(),
    };
    // The top level is checked by hand first: serde's own refusal ("unknown field `trian`,
    // expected one of ...") tells neither a section from a key nor what was meant.
    let top: BTreeMap<Spanned<String>, Value> = toml::from_str(text).map_err(syntax)?;
    for (key, value) in &top {
        let name = key.get_ref().as_str();
        if SECTIONS.contains(&name) || TOP_KEYS.contains(&name) {
            continue;
        }
        if !value.is_table() {
            return Err(ctx.unknown("", key, &TOP_KEYS));
        }
        return Err(ConfigError::UnknownSection {
            path: path.to_path_buf(),
            line: ctx.line(key.span().start),
            section: name.to_string(),
            hint: did_you_mean(name, &SECTIONS, |s| format!("[{s}]")),
            allowed: SECTIONS.map(|s| format!("[{s}]")).join(", "),
        });
    }
    let raw: RawFile = toml::from_str(text).map_err(syntax)?;
    let name = parse_name(&ctx, &raw.name)?;
    let output = parse_output(&ctx, raw.output.as_ref(), &name)?;
    let data = parse_data(&ctx, raw.data.as_ref())?;
    let mut train = TrainConfig::default();
    for (key, value) in raw.train.iter().flatten() {
        let setting = ctx.setting("train", key, value, value.get_ref())?;
        setting.apply(&mut train);
    }
    let eval = parse_eval(&ctx, raw.eval.as_ref())?;
    let grid_section = raw.grid.unwrap_or_default();
    let search = search::parse_search(&ctx, raw.search.as_ref(), &train, &grid_section)?;
    let grid = grid::parse_grid(&ctx, &grid_section, &search)?;
    Ok(Experiment {
        path: path.to_path_buf(),
        text: text.to_string(),
        name,
        output,
        data,
        train,
        eval,
        grid,
        search,
    })
}

fn parse_name(ctx: &Ctx<'_>, name: &Spanned<String>) -> Result<String, ConfigError> {
    let trimmed = name.get_ref().trim().to_string();
    let ok = !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
        && !trimmed.starts_with('.');
    if !ok {
        return Err(ctx.bad(
            "name",
            &name.span(),
            &format!("\"{}\"", name.get_ref()),
            "name must be non-empty and use only letters, digits, '-', '_' and '.' (it names the results folder)",
        ));
    }
    Ok(trimmed)
}

/// Like every path in the file, `output` is taken from the file's folder; the default is a
/// folder of the working folder, as the README's commands expect.
fn parse_output(
    ctx: &Ctx<'_>,
    output: Option<&Spanned<String>>,
    name: &str,
) -> Result<PathBuf, ConfigError> {
    match output {
        Some(out) if out.get_ref().trim().is_empty() => Err(ctx.bad(
            "output",
            &out.span(),
            "\"\"",
            "output must be a non-empty folder path",
        )),
        Some(out) => Ok(ctx.folder().join(out.get_ref())),
        None => Ok(PathBuf::from("results").join(name)),
    }
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

    /// Key `key` of `section` ("" for the top level) is not one of `allowed`.
    fn unknown(&self, section: &str, key: &Spanned<String>, allowed: &[&str]) -> ConfigError {
        let name = key.get_ref();
        ConfigError::UnknownKey {
            path: self.path.to_path_buf(),
            line: self.line(key.span().start),
            key: if section.is_empty() {
                name.clone()
            } else {
                format!("{section}.{name}")
            },
            hint: did_you_mean(name, allowed, str::to_string),
            allowed: allowed.join(", "),
        }
    }

    /// The checked value of train key `key` (in `section`) written as `value`; `span_of` is where
    /// the value stands, for the message.
    fn setting(
        &self,
        section: &str,
        key: &Spanned<String>,
        span_of: &Spanned<Value>,
        value: &Value,
    ) -> Result<Setting, ConfigError> {
        Setting::parse(key.get_ref(), &raw(value)).map_err(|e| match e {
            SetError::UnknownKey => self.unknown(section, key, TRAIN_KEYS),
            SetError::Invalid(rule) => self.bad(
                &format!("{section}.{}", key.get_ref()),
                &span_of.span(),
                &value.to_string(),
                &rule,
            ),
        })
    }
}

/// A TOML value as the parameter table reads it.
fn raw(value: &Value) -> Raw {
    match value {
        Value::Integer(v) => Raw::Int(*v),
        Value::Float(v) => Raw::Float(*v),
        Value::Boolean(v) => Raw::Bool(*v),
        Value::String(v) => Raw::Text(v.clone()),
        other => Raw::Other(other.to_string()),
    }
}

/// What `[data] source` accepts, for every message about it.
fn source_rule() -> String {
    format!(
        "source must be a built-in generator ({}) or a path to a .csv or .parquet file, or a list of these",
        GENERATORS.join(", ")
    )
}

const DATA_KEYS: [&str; 9] = [
    "source",
    "n_train",
    "n_test",
    "n_valid",
    "seed",
    "columns",
    "test_fraction",
    "test_source",
    "valid_fraction",
];

fn parse_data(ctx: &Ctx<'_>, section: Option<&Section>) -> Result<DataConfig, ConfigError> {
    let mut data = DataConfig::default();
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
            "source" => data.sources = parse_sources(ctx, v).map_err(|r| bad(&r))?,
            "n_train" => {
                data.n_train = int_at_least(v, 1, "n_train").map_err(|r| bad(&r))? as usize
            }
            "n_test" => data.n_test = int_at_least(v, 1, "n_test").map_err(|r| bad(&r))? as usize,
            "n_valid" => {
                data.n_valid = int_at_least(v, 1, "n_valid").map_err(|r| bad(&r))? as usize
            }
            "seed" => data.seed = int_at_least(v, 0, "seed").map_err(|r| bad(&r))? as u64,
            "columns" => data.columns = Some(parse_columns(v).map_err(|r| bad(&r))?),
            "test_fraction" => {
                data.test_fraction =
                    finite_float(v, "test_fraction", |f| f > 0.0 && f < 1.0, "in (0, 1)")
                        .map_err(|r| bad(&r))?
            }
            "test_source" => {
                data.test_source = Some(parse_test_source(ctx, v).map_err(|r| bad(&r))?)
            }
            "valid_fraction" => {
                data.valid_fraction =
                    finite_float(v, "valid_fraction", |f| f > 0.0 && f < 1.0, "in (0, 1)")
                        .map_err(|r| bad(&r))?
            }
            _ => return Err(ctx.unknown("data", key, &DATA_KEYS)),
        }
    }
    if data.sources.is_empty() {
        return Err(ConfigError::Missing {
            path: ctx.path.to_path_buf(),
            key: "data.source".into(),
            rule: format!("say where the points come from: {}", source_rule()),
        });
    }
    Ok(data)
}

/// `source`: one generator or file, or a non-empty list of distinct ones.
fn parse_sources(ctx: &Ctx<'_>, v: &Value) -> Result<Vec<DataSource>, String> {
    let entries: Vec<&Value> = match v {
        Value::Array(list) if !list.is_empty() => list.iter().collect(),
        Value::String(_) => vec![v],
        _ => return Err(source_rule()),
    };
    let mut sources: Vec<DataSource> = Vec::new();
    for entry in entries {
        let label = entry.as_str().ok_or_else(source_rule)?;
        let source = ctx.data_source(label)?;
        if sources.iter().any(|s| s.label == label) {
            return Err("each source may appear once".into());
        }
        sources.push(source);
    }
    Ok(sources)
}

fn parse_columns(v: &Value) -> Result<[String; 2], String> {
    let names: Vec<&str> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str())
        .collect();
    match names.as_slice() {
        [a, b] if a != b && v.as_array().is_some_and(|l| l.len() == 2) => {
            Ok([a.to_string(), b.to_string()])
        }
        _ => Err("columns must be a list of two distinct column names, e.g. [\"x\", \"y\"]".into()),
    }
}

fn parse_test_source(ctx: &Ctx<'_>, v: &Value) -> Result<DataFile, String> {
    let rule = "test_source must be a path to a .csv or .parquet file";
    let label = v.as_str().ok_or(rule)?;
    match ctx.data_source(label)?.kind {
        SourceKind::File(path) => Ok(DataFile {
            label: label.to_string(),
            path,
        }),
        SourceKind::Generator => Err(rule.into()),
    }
}

const EVAL_KEYS: [&str; 9] = [
    "every",
    "grid_points",
    "samples",
    "chain_steps",
    "thin",
    "checkpoint_minutes",
    "ais_chains",
    "ais_steps",
    "diagnostics",
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
            "chain_steps" => {
                eval.chain_steps = int_at_least(v, 0, "chain_steps").map_err(|r| bad(&r))? as usize
            }
            "sample_chains" | "burn_in" => {
                return Err(bad(
                    "the chain samples are now the sampler's own chains, as many as its \
                     minibatch, continued `chain_steps` Gibbs steps: remove this key",
                ));
            }
            "thin" => eval.thin = int_at_least(v, 1, "thin").map_err(|r| bad(&r))? as usize,
            "checkpoint_minutes" => {
                eval.checkpoint_minutes = v
                    .as_float()
                    .or_else(|| v.as_integer().map(|i| i as f64))
                    .filter(|m| m.is_finite() && *m >= 0.0)
                    .ok_or_else(|| bad("checkpoint_minutes must be a number >= 0 (0: never)"))?
            }
            "ais_chains" => {
                eval.ais_chains = int_at_least(v, 1, "ais_chains").map_err(|r| bad(&r))? as usize
            }
            "ais_steps" => eval.ais_steps = parse_ais_steps(v).map_err(|r| bad(&r))?,
            "diagnostics" => {
                eval.diagnostics = v
                    .as_bool()
                    .ok_or_else(|| bad("diagnostics must be true or false"))?
            }
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

/// `ais_steps`: 0 (no AIS), an integer >= 1, or a list of integers >= 1 (a budget sweep).
fn parse_ais_steps(v: &Value) -> Result<Vec<usize>, String> {
    let rule = || {
        "ais_steps must be 0 (no AIS), an integer >= 1 or a non-empty list of integers >= 1, \
         e.g. [10, 100, 1000]"
            .to_string()
    };
    let step = |v: &Value| -> Result<usize, String> {
        int_at_least(v, 1, "ais_steps")
            .map(|s| s as usize)
            .map_err(|_| rule())
    };
    match v {
        Value::Integer(0) => Ok(Vec::new()),
        Value::Array(list) if !list.is_empty() => list.iter().map(step).collect(),
        Value::Array(_) => Err(rule()),
        _ => step(v).map(|s| vec![s]),
    }
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
    fn unknown_top_level_key_is_named_without_a_section() {
        let e = err(&format!("nmae = 1\n{MINIMAL}"));
        assert!(
            e.contains("unknown key `nmae`; did you mean `name`? allowed keys: name, output"),
            "{e}"
        );
    }

    #[test]
    fn unknown_section_suggests_the_closest_section() {
        let e = err(&format!("{MINIMAL}[serach]\nsamples = 3\n"));
        assert!(
            e.contains("unknown section `[serach]`; did you mean `[search]`? allowed sections: "),
            "{e}"
        );
        let e = err(&format!("{MINIMAL}[plots]\nsize = 3\n"));
        assert!(
            e.contains("unknown section `[plots]`; allowed sections: [data], "),
            "{e}"
        );
    }

    #[test]
    fn did_you_mean_suggests_only_close_names() {
        let show = |s: &str| s.to_string();
        let keys = ["hidden", "lr", "k", "batch_size"];
        assert_eq!(
            did_you_mean("hiden", &keys, show),
            "did you mean `hidden`? "
        );
        assert_eq!(
            did_you_mean("batchsize", &keys, show),
            "did you mean `batch_size`? "
        );
        // Two edits from `lr` and `k`, but as many as the word has letters: no guess.
        assert_eq!(did_you_mean("xy", &keys, show), "");
        assert_eq!(did_you_mean("colour", &keys, show), "");
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

    /// `ais_steps` takes 0 (off, the default), one budget or a list of them, and `ais_chains`
    /// an integer >= 1; a bad value is named by file, line, key and value.
    #[test]
    fn ais_keys_take_off_one_budget_or_a_list_and_name_bad_values() {
        let eval = |lines: &str| parse_str(&format!("{MINIMAL}[eval]\n{lines}\n"));
        let default = parse_str(MINIMAL).unwrap().eval;
        assert_eq!((default.ais_chains, default.ais_steps.len()), (100, 0));
        assert!(!default.ais_on());
        assert!(!eval("ais_steps = 0").unwrap().eval.ais_on());
        let one = eval("ais_steps = 100\nais_chains = 20").unwrap().eval;
        assert_eq!((one.ais_chains, one.ais_steps), (20, vec![100]));
        let list = eval("ais_steps = [10, 1000, 100]").unwrap().eval;
        assert_eq!(list.ais_steps, [10, 1000, 100]);
        let rule =
            "ais_steps must be 0 (no AIS), an integer >= 1 or a non-empty list of integers >= 1";
        for (value, shown) in [
            ("-1", "-1"),
            ("[]", "[]"),
            ("[10, 0]", "[10, 0]"),
            ("2.5", "2.5"),
            ("\"many\"", "\"many\""),
        ] {
            let e = err(&format!("{MINIMAL}[eval]\nais_steps = {value}\n"));
            assert!(
                e.starts_with(&format!("exp.toml:5: `eval.ais_steps` = {shown}: {rule}")),
                "{e}"
            );
        }
        let e = err(&format!("{MINIMAL}[eval]\nais_chains = 0\n"));
        assert!(
            e.starts_with("exp.toml:5: `eval.ais_chains` = 0: ais_chains must be an integer >= 1"),
            "{e}"
        );
    }

    #[test]
    fn validation_keys_take_defaults_and_reject_bad_values() {
        let exp = parse_str(MINIMAL).unwrap();
        assert_eq!((exp.data.n_valid, exp.data.valid_fraction), (2000, 0.1));
        let exp = parse_str(&format!("{MINIMAL}n_valid = 7\nvalid_fraction = 0.25\n")).unwrap();
        assert_eq!((exp.data.n_valid, exp.data.valid_fraction), (7, 0.25));
        for (key, value, rule) in [
            ("n_valid", "0", ">= 1"),
            ("n_valid", "-3", ">= 1"),
            ("n_valid", "2.5", "integer"),
            ("n_valid", "\"many\"", "integer"),
            ("valid_fraction", "0", "in (0, 1)"),
            ("valid_fraction", "1", "in (0, 1)"),
            ("valid_fraction", "-0.1", "in (0, 1)"),
            ("valid_fraction", "nan", "finite"),
            ("valid_fraction", "\"a tenth\"", "number"),
        ] {
            let e = err(&format!("{MINIMAL}{key} = {value}\n"));
            assert!(
                e.contains("exp.toml:4")
                    && e.contains(&format!("`data.{key}` = {value}"))
                    && e.contains(rule),
                "{key} = {value}: {e}"
            );
        }
        let e = err(&format!("{MINIMAL}valid_fractio = 0.1\n"));
        assert!(
            e.contains("unknown key `data.valid_fractio`") && e.contains("valid_fraction"),
            "{e}"
        );
    }

    #[test]
    fn integers_are_accepted_for_float_keys() {
        let exp = parse_str(&format!("{MINIMAL}[train]\nlr = 1\n")).unwrap();
        assert_eq!(exp.train.lr, 1.0);
    }
}
