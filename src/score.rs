//! `eval` and `sample`: one model outside a sweep (a results folder's run, or a parameter file) scored on points or sampled, with the numbers of grbm-core's `estimate::score` (the Python module's too), written as CSV or Parquet.

use crate::data::{GENERATORS, Generator, generate, read_points};
use crate::estimate::score;
use crate::model::Grbm;
use crate::sweep::folder::load_folder;
use anyhow::{Context, bail};
use polars_core::prelude::{Column, DataFrame};
use polars_io::prelude::ParquetWriter;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The model of `eval` and `sample`, with what its source knows of it.
#[derive(Debug)]
pub struct Loaded {
    pub model: Grbm,
    /// How the output names it: `DIR run ID` or the parameter file.
    pub label: String,
    /// The run's grid (`None`: the automatic grid, a parameter file's).
    pub grid_points: Option<usize>,
    /// The run's test points and seed (`None` for a parameter file).
    pub run: Option<(Vec<[f64; 2]>, u64)>,
}

/// The model of run `run` (a unique prefix of its id) of results folder `path`, or of the
/// parameter file `path` (JSON).
pub fn load_model(path: &Path, run: Option<&str>) -> anyhow::Result<Loaded> {
    match (path.is_dir(), run) {
        (true, Some(prefix)) => load_run(path, prefix),
        (true, None) => bail!(
            "{} is a results folder: name one of its runs with --run ID (a unique prefix of the id will do)",
            path.display()
        ),
        (false, Some(_)) => bail!(
            "--run names a run of a results folder, and {} is a parameter file",
            path.display()
        ),
        (false, None) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Loaded {
                model: parse_params(path, &text)?,
                label: path.display().to_string(),
                grid_points: None,
                run: None,
            })
        }
    }
}

fn load_run(dir: &Path, prefix: &str) -> anyhow::Result<Loaded> {
    let folder = load_folder(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let record = folder.resolve_run(dir, prefix, true)?;
    let details = record
        .details()?
        .context("the run's record holds no model")?;
    let evaluation = record.result.and_then(|r| r.evaluation);
    let test = folder.datasets[record.spec.dataset].test.clone();
    Ok(Loaded {
        model: details.model,
        label: format!("{} run {}", dir.display(), record.spec.run_id),
        grid_points: evaluation.map(|e| e.grid_points),
        run: Some((test, record.spec.train.seed)),
    })
}

/// The keys of a parameter file.
const PARAM_KEYS: [&str; 4] = ["b", "sigma", "W", "c"];

/// Keys that hold sigma in another form: what a user exporting from elsewhere writes.
const SIGMA_FORMS: [(&str, &str); 5] = [
    ("log_var", "sigma = exp(log_var / 2)"),
    ("logvar", "sigma = exp(logvar / 2)"),
    ("var", "sigma = sqrt(var)"),
    ("variance", "sigma = sqrt(variance)"),
    ("log_sigma", "sigma = exp(log_sigma)"),
];

/// A JSON parameter file: `{"b": [2], "sigma": [2], "W": [[n], [n]], "c": [n]}`, sigma the
/// standard deviations, W one row per visible unit.
pub fn parse_params(path: &Path, text: &str) -> anyhow::Result<Grbm> {
    let at = |message: String| anyhow::anyhow!("{}: {message}", path.display());
    let json: Value = serde_json::from_str(text).map_err(|e| at(format!("not JSON: {e}")))?;
    let object = json.as_object().ok_or_else(|| {
        at("a parameter file is a JSON object with keys b, sigma, W and c".into())
    })?;
    for key in object.keys() {
        if let Some((_, convert)) = SIGMA_FORMS.iter().find(|(form, _)| form == key) {
            return Err(at(format!(
                "found `{key}` where `sigma` (standard deviations) was expected: convert it, {convert}"
            )));
        }
        if !PARAM_KEYS.contains(&key.as_str()) {
            return Err(at(format!(
                "unknown key `{key}` (the keys are b, sigma, W, c)"
            )));
        }
    }
    let numbers = |key: &str, v: &Value| -> Result<Vec<f64>, anyhow::Error> {
        (v.as_array().into_iter().flatten())
            .map(|x| x.as_f64())
            .collect::<Option<Vec<f64>>>()
            .filter(|_| v.is_array())
            .ok_or_else(|| at(format!("`{key}` must be a list of numbers; found {v}")))
    };
    let get = |key: &str| {
        object
            .get(key)
            .ok_or_else(|| at(format!("missing `{key}` (the keys are b, sigma, W, c)")))
    };
    let (b, sigma, c) = (
        numbers("b", get("b")?)?,
        numbers("sigma", get("sigma")?)?,
        numbers("c", get("c")?)?,
    );
    let rows: Vec<Vec<f64>> = (get("W")?.as_array())
        .ok_or_else(|| at("`W` must be a list of rows (2 rows of n numbers)".into()))?
        .iter()
        .map(|row| numbers("W", row))
        .collect::<Result<_, _>>()?;
    let cols = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != cols) {
        return Err(at("the rows of `W` differ in length".into()));
    }
    let w: Vec<f64> = rows.concat();
    Grbm::from_parts(&b, &sigma, &w, (rows.len(), cols), &c).map_err(|e| at(e.to_string()))
}

/// The points to score: a generator's (`name`, the first `n` a sweep with `[data] seed =
/// data_seed` draws), a CSV or Parquet file's, or without `source` the run's test points.
pub fn points(
    source: Option<&str>,
    columns: Option<&[String; 2]>,
    (n, data_seed): (usize, u64),
    loaded: &Loaded,
) -> anyhow::Result<(String, Vec<[f64; 2]>)> {
    match source {
        None => match &loaded.run {
            Some((test, _)) => Ok(("the run's test points".into(), test.clone())),
            None => bail!(
                "a parameter file has no points of its own: give --points FILE (.csv or .parquet) or a generator ({})",
                GENERATORS.join(", ")
            ),
        },
        Some(name) if Generator::by_name(name).is_some() => {
            let points = generate(name, n, data_seed).expect("a generator's name");
            Ok((
                format!("{n} points of {name}, data seed {data_seed}"),
                points,
            ))
        }
        Some(file) => {
            let (names, points) = read_points(Path::new(file), columns)?;
            Ok((
                format!("{file} (columns {}, {})", names[0], names[1]),
                points,
            ))
        }
    }
}

/// Writes named columns of equal length to `path`, CSV or Parquet by its extension. CSV numbers
/// are written in the shortest form that reads back as the same f64.
pub fn write_columns(path: &Path, columns: &[(&str, Vec<f64>)]) -> anyhow::Result<()> {
    let fail = || format!("cannot write {}", path.display());
    match output_format(path)? {
        "csv" => {
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            let mut text = names.join(",") + "\n";
            for r in 0..columns.first().map_or(0, |(_, v)| v.len()) {
                let row: Vec<String> = columns.iter().map(|(_, v)| v[r].to_string()).collect();
                text.push_str(&row.join(","));
                text.push('\n');
            }
            std::fs::write(path, text).with_context(fail)
        }
        "parquet" => {
            let height = columns.first().map_or(0, |(_, v)| v.len());
            let cols = (columns.iter())
                .map(|(name, v)| Column::new((*name).into(), v))
                .collect();
            let mut df = DataFrame::new(height, cols).with_context(fail)?;
            let file = std::fs::File::create(path).with_context(fail)?;
            ParquetWriter::new(file)
                .finish(&mut df)
                .with_context(fail)?;
            Ok(())
        }
        _ => unreachable!("output_format knows two formats"),
    }
}

/// `"csv"` or `"parquet"`, by the extension of `path`: checked before any work is done.
pub fn output_format(path: &Path) -> anyhow::Result<&'static str> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "csv" => Ok("csv"),
        "parquet" => Ok("parquet"),
        _ => bail!(
            "{}: the output is written as .csv or .parquet, by its extension",
            path.display()
        ),
    }
}

/// What `eval` prints and writes.
pub fn eval(
    loaded: &Loaded,
    (label, points): (String, Vec<[f64; 2]>),
    grid_points: Option<usize>,
    out: Option<&PathBuf>,
) -> anyhow::Result<String> {
    if points.is_empty() {
        bail!("no points to score");
    }
    let grid = grid_points.or(loaded.grid_points);
    let z = score::log_z(&loaded.model, grid);
    let densities = score::log_densities(&loaded.model, z.log_z, &points);
    let mean = densities.iter().sum::<f64>() / densities.len() as f64;
    let mut text = format!(
        "model: {} ({} hidden units)\npoints: {} ({label})\nmean log-likelihood: {mean} nats per point\nlog Z: {} (grid of {g} x {g} points)\n",
        loaded.label,
        loaded.model.n_hidden(),
        points.len(),
        z.log_z,
        g = z.grid_points,
    );
    match z.log_z_exact {
        Some(exact) => {
            text += &format!(
                "log Z by enumeration of the 2^{} hidden states: {exact} (grid - enumeration = {:.1e})\n",
                loaded.model.n_hidden(),
                z.log_z - exact
            )
        }
        None => text += "log Z by enumeration: none above 20 hidden units\n",
    }
    text += &format!(
        "integration error estimate: {:.1e} (against the grid of half the spacing, {f} x {f} points)\n",
        z.integration_error(),
        f = 2 * z.grid_points - 1
    );
    if let Some(path) = out {
        let (x1, x2) = points.iter().map(|p| (p[0], p[1])).unzip();
        write_columns(path, &[("x1", x1), ("x2", x2), ("log_density", densities)])?;
        text += &format!(
            "wrote {} per-point log densities to {}\n",
            points.len(),
            path.display()
        );
    }
    Ok(text)
}

/// What `sample` writes: `n` exact samples from `seed` (default: the run's seed, which gives
/// the run's exact rows of `samples.parquet` again; 0 for a parameter file).
pub fn sample(
    loaded: &Loaded,
    (n, seed): (usize, Option<u64>),
    grid_points: Option<usize>,
    out: &Path,
) -> anyhow::Result<String> {
    let seed = seed.or(loaded.run.as_ref().map(|(_, s)| *s)).unwrap_or(0);
    let grid = grid_points.or(loaded.grid_points);
    let samples = score::sample(&loaded.model, n, seed, grid);
    let (x1, x2) = samples.iter().map(|p| (p[0], p[1])).unzip();
    write_columns(out, &[("x1", x1), ("x2", x2)])?;
    let how = if loaded.model.n_hidden() <= crate::model::MAX_ENUMERATION_HIDDEN {
        "from the mixture of its 2^n hidden states".to_string()
    } else {
        "from its log Z grid".to_string()
    };
    Ok(format!(
        "wrote {n} exact samples of {} ({how}, seed {seed}) to {}\n",
        loaded.label,
        out.display()
    ))
}
