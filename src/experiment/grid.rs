//! The `[grid]` section: every axis parsed once into checked values (lists, and the `range`, `linspace` and `logspace` forms), and its expansion into runs, each with its resolved recipe and stable `run_id`.

use super::{ConfigError, Ctx, Experiment, Section};
use crate::identity::{encode, hex_id};
use crate::train::params::{Setting, TRAIN_KEYS, TrainConfig};
use toml::{Spanned, Value};

/// One `[grid]` axis: a train key and the checked values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct GridAxis {
    pub key: &'static str,
    pub values: Vec<Setting>,
}

/// The most values one axis may hold: a mistyped range is refused before it fills the memory.
const MAX_AXIS_VALUES: usize = 1_000_000;

/// One run of a sweep: a fully resolved recipe and the id that names it in every table.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Position in the expanded grid (the last axis varies fastest).
    pub index: usize,
    pub run_id: String,
    /// Index into `[data] source`.
    pub dataset: usize,
    pub train: TrainConfig,
}

/// The `[grid]` section's axes in the parameter table's key order, whatever the file's order.
pub(super) fn parse_grid(ctx: &Ctx<'_>, section: &Section) -> Result<Vec<GridAxis>, ConfigError> {
    let mut axes = Vec::new();
    for (key, value) in section {
        if !TRAIN_KEYS.contains(&key.get_ref().as_str()) {
            return Err(ctx.unknown("grid", key, TRAIN_KEYS));
        }
        let name = format!("grid.{}", key.get_ref());
        let bad = |shown: &str, rule: &str| ctx.bad(&name, &value.span(), shown, rule);
        let raws = axis_values(value.get_ref())
            .map_err(|rule| bad(&value.get_ref().to_string(), &rule))?;
        let mut settings: Vec<Setting> = Vec::with_capacity(raws.len());
        for (i, raw) in raws.iter().enumerate() {
            let setting = ctx.setting("grid", key, value, raw).map_err(|e| match e {
                ConfigError::BadValue { rule, .. } => bad_item(ctx, &name, i, value, raw, &rule),
                other => other,
            })?;
            if settings.contains(&setting) {
                let rule =
                    "values of a [grid] axis must be distinct (a repeated value would repeat runs)";
                return Err(bad_item(ctx, &name, i, value, raw, rule));
            }
            settings.push(setting);
        }
        axes.push(GridAxis {
            key: settings[0].key(),
            values: settings,
        });
    }
    axes.sort_by_key(|a| TRAIN_KEYS.iter().position(|k| *k == a.key));
    Ok(axes)
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

/// The values of one axis as written: a non-empty list, or a range form expanded, else the rule
/// the value broke.
fn axis_values(value: &Value) -> Result<Vec<Value>, String> {
    let form = "every [grid] value must be a non-empty list, e.g. [4, 16], or one of \
                { range = [start, stop] } (integers, stop excluded, optional step), \
                { linspace = [a, b], num = n } or { logspace = [a, b], num = n } (both ends included)";
    let values = match value {
        Value::Array(list) if list.is_empty() => {
            return Err("a [grid] list must not be empty".into());
        }
        Value::Array(list) => list.clone(),
        Value::Table(table) => range_form(table).map_err(|rule| format!("{rule}; {form}"))?,
        _ => return Err(form.into()),
    };
    if values.len() > MAX_AXIS_VALUES {
        return Err(format!(
            "a [grid] axis may hold at most {MAX_AXIS_VALUES} values; this one holds {}",
            values.len()
        ));
    }
    Ok(values)
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
/// so the values (and the run ids) do too.
fn spaced(a: f64, b: f64, num: usize, log: bool) -> Vec<f64> {
    let (from, to) = if log {
        (crate::vecmath::ln(a), crate::vecmath::ln(b))
    } else {
        (a, b)
    };
    (0..num)
        .map(|i| match i {
            0 => a,
            _ if i == num - 1 => b,
            _ => {
                let t = from + (to - from) * (i as f64 / (num - 1) as f64);
                if log { crate::vecmath::exp(t) } else { t }
            }
        })
        .collect()
}

/// Number of runs the grid expands to (saturating, so a mistaken huge grid is still counted).
pub fn run_count(exp: &Experiment) -> usize {
    exp.grid.iter().fold(exp.data.sources.len(), |n, axis| {
        n.saturating_mul(axis.values.len())
    })
}

/// The Cartesian product of the data sets and the grid axes applied over the `[train]` defaults,
/// in a fixed order (data set outermost, the last grid axis fastest).
pub fn expand(exp: &Experiment) -> Vec<RunSpec> {
    (0..run_count(exp))
        .map(|index| {
            let mut train = exp.train.clone();
            let mut rest = index;
            for axis in exp.grid.iter().rev() {
                axis.values[rest % axis.values.len()].apply(&mut train);
                rest /= axis.values.len();
            }
            RunSpec {
                index,
                run_id: run_id(exp, rest, &train),
                dataset: rest,
                train,
            }
        })
        .collect()
}

/// The version line of a run's identity. It changes whenever a run's numbers for the same
/// settings change, or the encoding does, so that a results folder never mixes them
/// (v2: vectorized kernels and the PCG32 lanes; v3: the encoding of [`crate::identity`]).
const RUN_IDENTITY: &str = "grbm-sweep run v3";

/// A stable 16-hex-digit id: FNV-1a over the canonical encoding of everything that determines the
/// run's results (data set, evaluation settings and every resolved train parameter), not over
/// its grid position or where the files are.
pub fn run_id(exp: &Experiment, dataset: usize, train: &TrainConfig) -> String {
    let fields = exp
        .data
        .identity(dataset)
        .into_iter()
        .chain(exp.eval.identity())
        .chain(train.params().into_iter().map(|(k, v)| (k, v.into())));
    hex_id(encode(RUN_IDENTITY, fields).as_bytes())
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
            axis.values.iter().map(|s| s.value().to_string()).collect()
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

    #[test]
    fn bad_range_forms_name_line_key_and_rule() {
        let err = |grid: &str| {
            parse(
                Path::new("e.toml"),
                &format!("name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[grid]\n{grid}"),
            )
            .unwrap_err()
            .to_string()
        };
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
            ("seed = { span = [0, 10] }", "range, linspace or logspace"),
            (
                "seed = { range = [0, 4], linspace = [0, 1] }",
                "range, linspace or logspace",
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

    #[test]
    fn no_grid_is_one_run() {
        let e = parse(
            Path::new("e.toml"),
            "name = \"t\"\n[data]\nsource = \"gmm_iso\"\n",
        )
        .unwrap();
        assert_eq!(expand(&e).len(), 1);
    }
}
