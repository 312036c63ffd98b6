//! The results folder's tables: `runs.parquet`, `configs.parquet`, `curves.parquet`, `models.parquet`, `data.parquet`, `samples.parquet`, `ais.parquet`, `sweep.toml` and `provenance.json`, built from the records and published together as one set ([`super::tableset`]).

use super::configs::{Config, config_keys, configs};
use super::halving::RungRow;
use super::provenance::Provenance;
use super::record::{RunDetails, RunRecord, RunResult};
use super::tableset::{Commit, TableSet, TableSetError};
use crate::data::Dataset;
use crate::estimate::Evaluation;
use crate::estimate::ais::{AisMeasurement, AisSummary};
use crate::experiment::Experiment;
use crate::experiment::grid::{RunSpec, run_count, seeds};
use crate::train::Outcome;
use crate::train::diagnostics::Diagnostics;
use crate::train::params::ParamValue;
use polars_core::prelude::*;
use polars_io::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An error writing the results, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Polars { path: PathBuf, source: PolarsError },
    #[error(transparent)]
    Tables(#[from] TableSetError),
    #[error(transparent)]
    Store(#[from] super::store::StoreError),
}

/// Each record that has a run with its model, curve and samples, read from the results folder
/// (or memory).
fn with_details(records: &[RunRecord]) -> Result<Vec<(&RunRecord, RunDetails)>, OutputError> {
    let mut logs = super::journal::Details::default();
    records
        .iter()
        .map(|r| Ok(logs.of(r)?.map(|d| (r, d))))
        .filter_map(Result::transpose)
        .collect()
}

/// Runs per row group of the tables with rows per run, at most: a table is built and written
/// this many runs at a time, so writing it holds this many runs' rows (and curves and samples),
/// not the sweep's.
pub const RUNS_PER_ROW_GROUP: usize = 4096;

/// Samples and curve points, at most, that building one row group holds: 4096 runs of 1000
/// samples each would be 4 million, 65 MB of decoded details and 330 MB of rows.
pub const POINTS_PER_ROW_GROUP: usize = 131_072;

/// The runs of each row group of table `name`: at most [`RUNS_PER_ROW_GROUP`], and for a
/// table built from the runs' details (every one but `runs`), which hold each run's samples
/// and curve whichever table asks, at most [`POINTS_PER_ROW_GROUP`] of those.
fn runs_per_group(name: &str, exp: &Experiment, records: &[RunRecord]) -> usize {
    let points_per_run = match name {
        "runs" => 1,
        _ => {
            // The exact and the chain samples, and the curve: epoch 0, every `every`-th epoch,
            // and the last.
            let epochs = records.iter().map(|r| r.spec.train.epochs).max();
            2 * exp.eval.samples + epochs.unwrap_or(0) / exp.eval.every.max(1) + 2
        }
    };
    (POINTS_PER_ROW_GROUP / points_per_run.max(1)).clamp(1, RUNS_PER_ROW_GROUP)
}

fn col<T, P>(name: &str, values: T) -> Column
where
    Series: NamedFrom<T, P>,
    P: ?Sized,
{
    Series::new(name.into(), values).into_column()
}

/// The `run_id` and `dataset` columns that open every per-run table, one row per item of `rows`.
fn id_columns(rows: &[&RunRecord], datasets: &[Dataset]) -> [Column; 2] {
    [
        col(
            "run_id",
            rows.iter()
                .map(|r| r.spec.run_id.as_str())
                .collect::<Vec<_>>(),
        ),
        col(
            "dataset",
            rows.iter()
                .map(|r| datasets[r.spec.dataset].name.as_str())
                .collect::<Vec<_>>(),
        ),
    ]
}

/// Writes `df` as file `name` of `set`, with the provenance and then `extra` as the file's
/// key-value metadata.
fn write_parquet(
    set: &mut TableSet,
    name: &str,
    df: DataFrame,
    provenance: &Provenance,
    extra: &[(&str, String)],
) -> Result<(), OutputError> {
    write_parquet_groups(set, name, std::iter::once(Ok(df)), provenance, extra)
}

/// Writes the frames of `groups` (one schema) as the row groups of file `name` of `set`, each
/// frame built only when the one before is written, as [`write_parquet`] writes one frame.
fn write_parquet_groups(
    set: &mut TableSet,
    name: &str,
    groups: impl Iterator<Item = Result<DataFrame, OutputError>>,
    provenance: &Provenance,
    extra: &[(&str, String)],
) -> Result<(), OutputError> {
    let metadata: Vec<(String, String)> = provenance
        .pairs()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(extra.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .collect();
    // A frame that cannot be built is this error, not an I/O one: kept aside, returned as is.
    let mut failed: Option<OutputError> = None;
    let mut groups = groups.map(|group| {
        group.map_err(|e| {
            failed = Some(e);
            std::io::Error::other("a row group could not be built")
        })
    });
    let written = set.write_with(name, |file| {
        let Some(first) = groups.next().transpose()? else {
            return Ok(());
        };
        let mut writer = ParquetWriter::new(file)
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(metadata)))
            .batched(first.schema())
            .map_err(std::io::Error::other)?;
        writer.write_batch(&first).map_err(std::io::Error::other)?;
        drop(first);
        for df in groups {
            writer.write_batch(&df?).map_err(std::io::Error::other)?;
        }
        writer.finish().map(|_| ()).map_err(std::io::Error::other)
    });
    match (failed, written) {
        (Some(e), _) => Err(e),
        (None, written) => Ok(written?),
    }
}

fn frame(path: &Path, height: usize, columns: Vec<Column>) -> Result<DataFrame, OutputError> {
    DataFrame::new(height, columns).map_err(|source| OutputError::Polars {
        path: path.to_path_buf(),
        source,
    })
}

/// One column per resolved train parameter that `keep` selects, typed as the parameter. Built in
/// one pass over `specs` into typed columns (8 bytes per value): holding every run's list of
/// parameters first cost 420 bytes per run, 420 MB for the configurations of a million runs.
fn param_columns(specs: &[&RunSpec], keep: impl Fn(&str) -> bool) -> Vec<Column> {
    enum Values {
        Int(Vec<i64>),
        Float(Vec<f64>),
        Bool(Vec<bool>),
        Text(Vec<&'static str>),
    }
    let Some(first) = specs.first() else {
        return Vec::new();
    };
    let mut kept: Vec<(usize, &'static str, Values)> = (first.train.params().into_iter())
        .enumerate()
        .filter(|(_, (name, _))| keep(name))
        .map(|(k, (name, value))| {
            let n = specs.len();
            let values = match value {
                ParamValue::Int(_) => Values::Int(Vec::with_capacity(n)),
                ParamValue::Float(_) => Values::Float(Vec::with_capacity(n)),
                ParamValue::Bool(_) => Values::Bool(Vec::with_capacity(n)),
                ParamValue::Text(_) => Values::Text(Vec::with_capacity(n)),
            };
            (k, name, values)
        })
        .collect();
    for spec in specs {
        let params = spec.train.params();
        for (k, _, values) in &mut kept {
            match (values, params[*k].1) {
                (Values::Int(v), ParamValue::Int(x)) => v.push(x),
                (Values::Float(v), ParamValue::Float(x)) => v.push(x),
                (Values::Bool(v), ParamValue::Bool(x)) => v.push(x),
                (Values::Text(v), ParamValue::Text(x)) => v.push(x),
                _ => unreachable!("a parameter keeps its type across runs"),
            }
        }
    }
    kept.into_iter()
        .map(|(_, name, values)| match values {
            Values::Int(v) => col(name, v),
            Values::Float(v) => col(name, v),
            Values::Bool(v) => col(name, v),
            Values::Text(v) => col(name, v),
        })
        .collect()
}

/// Each run's configuration id and every resolved train parameter.
fn recipe_columns(records: &[RunRecord]) -> Vec<Column> {
    let specs: Vec<&RunSpec> = records.iter().map(|r| &*r.spec).collect();
    let config_ids: Vec<&str> = specs.iter().map(|s| s.config_id.as_str()).collect();
    let mut columns = vec![col("config_id", config_ids)];
    columns.extend(param_columns(&specs, |_| true));
    columns
}

/// `runs.parquet`: one row per run.
pub fn runs_frame(
    path: &Path,
    records: &[RunRecord],
    datasets: &[Dataset],
) -> Result<DataFrame, OutputError> {
    let evals: Vec<_> = records
        .iter()
        .map(|r| r.result.as_ref().and_then(|run| run.evaluation))
        .collect();
    let run_f64 = |f: &dyn Fn(&RunResult) -> f64| -> Vec<Option<f64>> {
        records.iter().map(|r| r.result.as_ref().map(f)).collect()
    };
    let eval_f64 = |f: &dyn Fn(&crate::estimate::Evaluation) -> Option<f64>| -> Vec<Option<f64>> {
        evals.iter().map(|e| e.as_ref().and_then(f)).collect()
    };
    let mut columns = id_columns(&records.iter().collect::<Vec<_>>(), datasets).to_vec();
    columns.extend(recipe_columns(records));
    columns.extend([
        col(
            "status",
            records.iter().map(|r| r.status.name()).collect::<Vec<_>>(),
        ),
        col(
            "error",
            records.iter().map(|r| r.error.clone()).collect::<Vec<_>>(),
        ),
        col("train_ll", eval_f64(&|e| Some(e.train_ll))),
        col("valid_ll", eval_f64(&|e| Some(e.valid_ll))),
        col("test_ll", eval_f64(&|e| Some(e.test_ll))),
    ]);
    columns.extend(reference_columns(records, datasets, &evals));
    columns.extend([
        col("log_z", eval_f64(&|e| Some(e.log_z))),
        col("log_z_exact", eval_f64(&|e| e.log_z_exact)),
        col(
            "log_z_error",
            eval_f64(&|e| e.log_z_exact.map(|x| e.log_z - x)),
        ),
        col(
            "grid_points",
            evals
                .iter()
                .map(|e| e.map(|e| e.grid_points as i64))
                .collect::<Vec<_>>(),
        ),
        col("recon_error", eval_f64(&|e| Some(e.recon_error))),
        col(
            "epochs_done",
            records
                .iter()
                .map(|r| r.result.as_ref().map(|run| run.epochs_done as i64))
                .collect::<Vec<_>>(),
        ),
        col(
            "diverged_epoch",
            records
                .iter()
                .map(|r| match r.result.as_ref().map(|run| run.outcome) {
                    Some(Outcome::Diverged { epoch }) => Some(epoch as i64),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        col("train_seconds", run_f64(&|run| run.train_seconds)),
        col("eval_seconds", run_f64(&|run| run.eval_seconds)),
        col(
            "accept_rate",
            records
                .iter()
                .map(|r| r.result.and_then(|run| run.accept_rate))
                .collect::<Vec<_>>(),
        ),
    ]);
    columns.extend(final_diagnostic_columns(records));
    columns.extend(ais_columns(records));
    frame(path, records.len(), columns)
}

/// The AIS columns of `runs.parquet`, from the last budget of `[eval] ais_steps`: each estimate
/// with its standard error, its difference from the grid's `log_z`, the test log-likelihood it
/// implies, and the seconds of AIS at all budgets; null with AIS off.
fn ais_columns(records: &[RunRecord]) -> [Column; 9] {
    let measured: Vec<Option<(Evaluation, AisMeasurement)>> = records
        .iter()
        .map(|r| {
            let run = r.result.as_ref()?;
            Some((run.evaluation?, run.ais?))
        })
        .collect();
    let f = |g: &dyn Fn(&Evaluation, &AisMeasurement) -> f64| {
        (measured.iter())
            .map(|m| m.as_ref().map(|(e, a)| g(e, a)))
            .collect::<Vec<_>>()
    };
    [
        col("log_z_ais", f(&|_, a| a.forward.log_z)),
        col("log_z_ais_se", f(&|_, a| a.forward.std_error)),
        col("log_z_rais", f(&|_, a| a.reverse.log_z)),
        col("log_z_rais_se", f(&|_, a| a.reverse.std_error)),
        col("log_z_ais_error", f(&|e, a| a.forward.log_z - e.log_z)),
        col("log_z_rais_error", f(&|e, a| a.reverse.log_z - e.log_z)),
        col("test_ll_ais", f(&|e, a| implied_test_ll(e, &a.forward))),
        col("test_ll_rais", f(&|e, a| implied_test_ll(e, &a.reverse))),
        col(
            "ais_seconds",
            (records.iter())
                .map(|r| r.result.as_ref().and_then(|run| run.ais_seconds))
                .collect::<Vec<_>>(),
        ),
    ]
}

/// The mean test log-likelihood with log Z estimated by `ais` in place of the grid's.
fn implied_test_ll(e: &Evaluation, ais: &AisSummary) -> f64 {
    e.test_ll + e.log_z - ais.log_z
}

/// `ais.parquet`: one row per run and AIS budget of `[eval] ais_steps`, in the file's order;
/// written only with AIS on.
pub fn ais_frame(
    path: &Path,
    records: &[RunRecord],
    datasets: &[Dataset],
) -> Result<DataFrame, OutputError> {
    let loaded = with_details(records)?;
    let rows: Vec<(&RunRecord, Evaluation, &AisMeasurement)> = (loaded.iter())
        .filter_map(|(r, d)| Some((*r, r.result.as_ref()?.evaluation?, &d.ais)))
        .flat_map(|(r, e, ais)| ais.iter().map(move |a| (r, e, a)))
        .collect();
    let f = |g: &dyn Fn(&Evaluation, &AisMeasurement) -> f64| {
        rows.iter().map(|(_, e, a)| g(e, a)).collect::<Vec<f64>>()
    };
    let int = |g: &dyn Fn(&RunRecord, &AisMeasurement) -> usize| {
        (rows.iter())
            .map(|(r, _, a)| g(r, a) as i64)
            .collect::<Vec<i64>>()
    };
    let records_of_rows: Vec<&RunRecord> = rows.iter().map(|(r, _, _)| *r).collect();
    let mut columns = id_columns(&records_of_rows, datasets).to_vec();
    columns.extend([
        col("hidden", int(&|r, _| r.spec.train.hidden)),
        col("seed", int(&|r, _| r.spec.train.seed as usize)),
        col("chains", int(&|_, a| a.chains)),
        col("steps", int(&|_, a| a.steps)),
        col("log_z", f(&|e, _| e.log_z)),
        col("log_z_ais", f(&|_, a| a.forward.log_z)),
        col("log_z_ais_se", f(&|_, a| a.forward.std_error)),
        col("log_z_ais_ess", f(&|_, a| a.forward.effective_sample_size)),
        col("log_z_rais", f(&|_, a| a.reverse.log_z)),
        col("log_z_rais_se", f(&|_, a| a.reverse.std_error)),
        col("log_z_rais_ess", f(&|_, a| a.reverse.effective_sample_size)),
        col("log_z_ais_error", f(&|e, a| a.forward.log_z - e.log_z)),
        col("log_z_rais_error", f(&|e, a| a.reverse.log_z - e.log_z)),
        col("ais_seconds", f(&|_, a| a.seconds)),
    ]);
    frame(path, rows.len(), columns)
}

/// `true_ll`, `baseline_ll` and `test_ll_gap` of each run: what its `test_ll` is measured
/// against. The baseline is computed once per data set, not once per run.
fn reference_columns(
    records: &[RunRecord],
    datasets: &[Dataset],
    evals: &[Option<crate::estimate::Evaluation>],
) -> [Column; 3] {
    let baselines: Vec<Option<f64>> = datasets.iter().map(Dataset::baseline_ll).collect();
    let per_run = |f: &dyn Fn(usize) -> Option<f64>| {
        records
            .iter()
            .map(|r| f(r.spec.dataset))
            .collect::<Vec<_>>()
    };
    let true_ll = per_run(&|d| datasets[d].true_ll);
    let gap = evals
        .iter()
        .zip(&true_ll)
        .map(|(e, t)| Some(t.as_ref()? - e.as_ref()?.test_ll))
        .collect::<Vec<_>>();
    [
        col("true_ll", true_ll),
        col("baseline_ll", per_run(&|d| baselines[d])),
        col("test_ll_gap", gap),
    ]
}

/// `curves.parquet`: one row per run and evaluation epoch.
pub fn curves_frame(
    path: &Path,
    records: &[RunRecord],
    datasets: &[Dataset],
) -> Result<DataFrame, OutputError> {
    let loaded = with_details(records)?;
    let points: Vec<(&RunRecord, &crate::train::CurvePoint)> = loaded
        .iter()
        .flat_map(|(r, d)| d.curve.iter().map(move |p| (*r, p)))
        .collect();
    let f = |g: &dyn Fn(&crate::train::CurvePoint) -> f64| {
        points.iter().map(|(_, p)| g(p)).collect::<Vec<f64>>()
    };
    let rows: Vec<&RunRecord> = points.iter().map(|(r, _)| *r).collect();
    let mut columns = id_columns(&rows, datasets).to_vec();
    columns.extend([
        col(
            "epoch",
            points
                .iter()
                .map(|(_, p)| p.epoch as i64)
                .collect::<Vec<_>>(),
        ),
        col("train_ll", f(&|p| p.train_ll)),
        col("valid_ll", f(&|p| p.valid_ll)),
        col("test_ll", f(&|p| p.test_ll)),
        col("recon_error", f(&|p| p.recon_error)),
        col("sigma1", f(&|p| p.sigma[0])),
        col("sigma2", f(&|p| p.sigma[1])),
    ]);
    let diagnostics: Vec<_> = points.iter().map(|(_, p)| p.diagnostics).collect();
    columns.extend(diagnostic_columns(&diagnostics));
    frame(path, points.len(), columns)
}

/// Each run's final checkpoint diagnostics, as [`diagnostic_columns`].
fn final_diagnostic_columns(records: &[RunRecord]) -> [Column; 6] {
    let diagnostics: Vec<_> = records
        .iter()
        .map(|r| r.result.and_then(|run| run.diagnostics))
        .collect();
    diagnostic_columns(&diagnostics)
}

/// The checkpoint diagnostics' columns ([`crate::train::diagnostics`]), null where a point has
/// none (diagnostics off, a record from before them) or a sampler has no chains.
fn diagnostic_columns(values: &[Option<Diagnostics>]) -> [Column; 6] {
    let column = |name: &str, g: &dyn Fn(&Diagnostics) -> Option<f64>| {
        col(
            name,
            values
                .iter()
                .map(|d| d.as_ref().and_then(g))
                .collect::<Vec<_>>(),
        )
    };
    [
        column("grad_cosine", &|d| Some(d.grad_cosine)),
        column("grad_rel_error", &|d| Some(d.grad_rel_error)),
        column("model_entropy", &|d| Some(d.model_entropy)),
        column("chain_ll", &|d| d.chain_ll),
        column("chain_energy", &|d| d.chain_energy),
        column("null_energy", &|d| d.null_energy),
    ]
}

/// `models.parquet`: one row per run that produced parameters, in data units.
pub fn models_frame(
    path: &Path,
    records: &[RunRecord],
    datasets: &[Dataset],
) -> Result<DataFrame, OutputError> {
    let loaded = with_details(records)?;
    let models: Vec<(&RunRecord, &crate::model::Grbm)> =
        loaded.iter().map(|(r, d)| (*r, &d.model)).collect();
    let scalar = |g: &dyn Fn(&crate::model::Grbm) -> f64| {
        models.iter().map(|(_, m)| g(m)).collect::<Vec<f64>>()
    };
    let list = |g: &dyn Fn(&crate::model::Grbm) -> Vec<f64>| {
        models
            .iter()
            .map(|(_, m)| Series::new("".into(), g(m)))
            .collect::<Vec<Series>>()
    };
    let w_row = |i: usize| {
        move |m: &crate::model::Grbm| (0..m.n_hidden()).map(|j| m.w[(i, j)]).collect::<Vec<f64>>()
    };
    let rows: Vec<&RunRecord> = models.iter().map(|(r, _)| *r).collect();
    let mut columns = id_columns(&rows, datasets).to_vec();
    columns.extend([
        col("b1", scalar(&|m| m.b[0])),
        col("b2", scalar(&|m| m.b[1])),
        col("sigma1", scalar(&|m| m.sigma()[0])),
        col("sigma2", scalar(&|m| m.sigma()[1])),
    ]);
    for (name, values) in [
        ("w1", list(&w_row(0))),
        ("w2", list(&w_row(1))),
        ("c", list(&|m| m.c.clone())),
    ] {
        let series = if values.is_empty() {
            Series::new_empty(name.into(), &DataType::List(Box::new(DataType::Float64)))
        } else {
            Series::new(name.into(), values)
        };
        columns.push(series.into_column());
    }
    // sigma as trained: exp(ln sigma) read back through its log could differ in the last bit.
    columns.extend([
        col("log_sigma1", scalar(&|m| m.log_sigma[0])),
        col("log_sigma2", scalar(&|m| m.log_sigma[1])),
    ]);
    frame(path, models.len(), columns)
}

/// The `kind` of a row of `samples.parquet`, in the order a run's rows are written: its exact
/// samples first, then its Gibbs chain samples.
pub const SAMPLE_KINDS: [&str; 2] = ["exact", "chain"];

/// `samples.parquet`: every trained model's exact samples and Gibbs chain samples, in data units,
/// told apart by `kind` ([`SAMPLE_KINDS`]).
pub fn samples_frame(
    path: &Path,
    records: &[RunRecord],
    datasets: &[Dataset],
) -> Result<DataFrame, OutputError> {
    // The largest table by far (runs x samples rows): columns are filled straight from the
    // records, with no per-row intermediate.
    let loaded = with_details(records)?;
    let with_samples = || {
        loaded.iter().flat_map(|(r, d)| {
            let kinds = SAMPLE_KINDS.into_iter();
            kinds
                .zip([d.exact_samples.as_slice(), d.chain_samples.as_slice()])
                .map(move |(kind, s)| (*r, kind, s))
        })
    };
    let run_ids =
        with_samples().flat_map(|(r, _, s)| std::iter::repeat_n(r.spec.run_id.as_str(), s.len()));
    let names = with_samples()
        .flat_map(|(r, _, s)| std::iter::repeat_n(datasets[r.spec.dataset].name.as_str(), s.len()));
    let kinds = with_samples().flat_map(|(_, kind, s)| std::iter::repeat_n(kind, s.len()));
    let axis = |i: usize| with_samples().flat_map(move |(_, _, s)| s.iter().map(move |p| p[i]));
    let height: usize = with_samples().map(|(_, _, s)| s.len()).sum();
    let columns = vec![
        StringChunked::from_iter_values("run_id".into(), run_ids).into_column(),
        StringChunked::from_iter_values("dataset".into(), names).into_column(),
        StringChunked::from_iter_values("kind".into(), kinds).into_column(),
        Float64Chunked::from_iter_values("x1".into(), axis(0)).into_column(),
        Float64Chunked::from_iter_values("x2".into(), axis(1)).into_column(),
    ];
    frame(path, height, columns)
}

/// `data.parquet`: exactly the points the runs used, with the data set each belongs to.
pub fn data_frame(path: &Path, datasets: &[Dataset]) -> Result<DataFrame, OutputError> {
    let all: Vec<(&str, &[f64; 2], &str)> = datasets
        .iter()
        .flat_map(|d| {
            let name = d.name.as_str();
            d.train
                .iter()
                .map(move |p| (name, p, "train"))
                .chain(d.valid.iter().map(move |p| (name, p, "valid")))
                .chain(d.test.iter().map(move |p| (name, p, "test")))
        })
        .collect();
    let columns = vec![
        col(
            "dataset",
            all.iter().map(|(d, _, _)| *d).collect::<Vec<_>>(),
        ),
        col("x1", all.iter().map(|(_, p, _)| p[0]).collect::<Vec<_>>()),
        col("x2", all.iter().map(|(_, p, _)| p[1]).collect::<Vec<_>>()),
        col("split", all.iter().map(|(_, _, s)| *s).collect::<Vec<_>>()),
    ];
    frame(path, all.len(), columns)
}

/// The key of `data.parquet`'s metadata that names the columns each data set was read from.
const COLUMNS_KEY: &str = "columns";

/// `data.parquet`'s [`COLUMNS_KEY`] metadata: a JSON object from each data set's name to the two
/// columns of its file that hold x1 and x2 (`null` for a generator), in `[data] source` order,
/// so that the table says which columns of a file its points are.
fn columns_metadata(datasets: &[Dataset]) -> String {
    let entries: Vec<String> = datasets
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                serde_json::to_string(&d.name).expect("a string serializes"),
                serde_json::to_string(&d.columns).expect("strings serialize")
            )
        })
        .collect();
    format!("{{{}}}", entries.join(","))
}

/// How a table with rows per run is built from records (`path` names it in errors).
pub type BuildRows = fn(&Path, &[RunRecord], &[Dataset]) -> Result<DataFrame, OutputError>;

/// The tables with rows per run, by the name of their file without `.parquet`.
pub const RUN_TABLES: [(&str, BuildRows); 5] = [
    ("runs", runs_frame),
    ("curves", curves_frame),
    ("models", models_frame),
    ("samples", samples_frame),
    ("ais", ais_frame),
];

/// Whether the sweep of `exp` writes the table of [`RUN_TABLES`] called `name`: `ais` only with
/// AIS on, so that a sweep without it writes the tables it wrote before AIS was a key.
pub fn writes_table(exp: &Experiment, name: &str) -> bool {
    name != "ais" || exp.eval.ais_on()
}

/// `rungs.parquet`: one row per run and rung of a halving search, in rung order.
pub fn rungs_frame(
    path: &Path,
    rows: &[RungRow],
    datasets: &[Dataset],
) -> Result<DataFrame, OutputError> {
    let columns = vec![
        col(
            "run_id",
            rows.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        ),
        col(
            "dataset",
            rows.iter()
                .map(|r| datasets[r.dataset].name.as_str())
                .collect::<Vec<_>>(),
        ),
        col(
            "rung",
            rows.iter().map(|r| r.rung as i64).collect::<Vec<_>>(),
        ),
        col(
            "epoch",
            rows.iter().map(|r| r.epoch as i64).collect::<Vec<_>>(),
        ),
        col(
            "valid_ll",
            rows.iter().map(|r| r.valid_ll).collect::<Vec<_>>(),
        ),
        col(
            "test_ll",
            rows.iter().map(|r| r.test_ll).collect::<Vec<_>>(),
        ),
        col(
            "decision",
            rows.iter().map(|r| r.decision.name()).collect::<Vec<_>>(),
        ),
    ];
    frame(path, rows.len(), columns)
}

/// `configs.parquet`: one row per configuration of each data set, its seeds summarized.
pub fn configs_frame(
    path: &Path,
    exp: &Experiment,
    records: &[RunRecord],
    datasets: &[Dataset],
) -> Result<DataFrame, OutputError> {
    let configs = configs(records, datasets, seeds(exp).len());
    let keys = config_keys(exp);
    let specs: Vec<&RunSpec> = configs.iter().map(Config::spec).collect();
    let f = |g: &dyn Fn(&Config<'_>) -> Option<f64>| configs.iter().map(g).collect::<Vec<_>>();
    let baselines: Vec<Option<f64>> = datasets.iter().map(Dataset::baseline_ll).collect();
    let mut columns = vec![
        col(
            "config_id",
            configs.iter().map(|c| c.config_id).collect::<Vec<_>>(),
        ),
        col(
            "dataset",
            configs
                .iter()
                .map(|c| datasets[c.dataset].name.as_str())
                .collect::<Vec<_>>(),
        ),
    ];
    columns.extend(param_columns(&specs, |k| keys.contains(&k)));
    columns.extend([
        col(
            "n_runs",
            configs.iter().map(|c| c.n_runs as i64).collect::<Vec<_>>(),
        ),
        col(
            "n_seeds",
            configs
                .iter()
                .map(|c| c.n_seeds() as i64)
                .collect::<Vec<_>>(),
        ),
        col("valid_ll_mean", f(&|c| c.valid_ll.map(|e| e.mean))),
        col("test_ll_mean", f(&|c| c.test_ll.map(|e| e.mean))),
        col("test_ll_sd", f(&|c| c.test_ll.and_then(|e| e.sd))),
        col("test_ll_se", f(&|c| c.test_ll.and_then(|e| e.se))),
        col(
            "test_ll_ci_low",
            f(&|c| c.test_ll.and_then(|e| e.ci).map(|ci| ci.0)),
        ),
        col(
            "test_ll_ci_high",
            f(&|c| c.test_ll.and_then(|e| e.ci).map(|ci| ci.1)),
        ),
        col("gap_mean", f(&|c| c.gap_mean)),
        col("baseline_ll", f(&|c| baselines[c.dataset])),
        col(
            "rank",
            configs
                .iter()
                .map(|c| c.rank.map(|r| r as i64))
                .collect::<Vec<_>>(),
        ),
    ]);
    frame(path, configs.len(), columns)
}

/// Writes every table, the experiment copy and `provenance.json` as a new set of tables of
/// results folder `dir` (created if missing), `rungs.parquet` too when the sweep is a halving
/// search (`rungs` then holds its rows), and commits the set: readers see the previous set until
/// every file is on the disk, then this one.
pub fn write_all(
    dir: &Path,
    exp: &Experiment,
    datasets: &[Dataset],
    records: &[RunRecord],
    rungs: &[RungRow],
) -> Result<Commit, OutputError> {
    std::fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let provenance = Provenance::of_this_process(&exp.text);
    let mut set = TableSet::begin(dir)?;
    for (name, build) in RUN_TABLES {
        if !writes_table(exp, name) {
            continue;
        }
        // At least one group, so that a table of no runs still has its columns.
        let groups: Vec<&[RunRecord]> = match records.len() {
            0 => vec![&[]],
            _ => records.chunks(runs_per_group(name, exp, records)).collect(),
        };
        let name = format!("{name}.parquet");
        let path = set.path(&name);
        let frames = groups.iter().map(|chunk| build(&path, chunk, datasets));
        write_parquet_groups(&mut set, &name, frames, &provenance, &[])?;
    }
    let name = "configs.parquet";
    let df = configs_frame(&set.path(name), exp, records, datasets)?;
    write_parquet(&mut set, name, df, &provenance, &[])?;
    let name = "data.parquet";
    let df = data_frame(&set.path(name), datasets)?;
    let columns = [(COLUMNS_KEY, columns_metadata(datasets))];
    write_parquet(&mut set, name, df, &provenance, &columns)?;
    if super::halving_of(exp).is_some() {
        let name = "rungs.parquet";
        let df = rungs_frame(&set.path(name), rungs, datasets)?;
        write_parquet(&mut set, name, df, &provenance, &[])?;
    }
    set.write_with("sweep.toml", |f| f.write_all(exp.text.as_bytes()))?;
    set.write_with("provenance.json", |f| {
        f.write_all(provenance.to_json().as_bytes())
    })?;
    Ok(set.commit(records, run_count(exp))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(name: &str, columns: Option<[&str; 2]>) -> Dataset {
        Dataset {
            name: name.into(),
            train: Vec::new(),
            valid: Vec::new(),
            test: Vec::new(),
            true_ll: None,
            columns: columns.map(|c| c.map(String::from)),
        }
    }

    /// A table written group by group reads back as the groups one after another; a group that
    /// cannot be built fails the write with its own error.
    /// A row group of a table built from the runs' details holds at most POINTS_PER_ROW_GROUP
    /// samples of both kinds and curve points (each run's details hold them all, whichever table
    /// asks); `runs`
    /// holds RUNS_PER_ROW_GROUP runs whatever their samples.
    #[test]
    fn row_groups_hold_a_bounded_number_of_samples_and_curve_points() {
        let text = "name = \"g\"\n[data]\nsource = \"gmm_iso\"\n[train]\nepochs = 98\n\
                    [eval]\nsamples = 1000\nevery = 10\n";
        let exp = crate::experiment::parse(Path::new("g.toml"), text).unwrap();
        let records: Vec<RunRecord> = crate::experiment::grid::expand(&exp)
            .into_iter()
            .map(|spec| RunRecord::failed(spec, "none".into()))
            .collect();
        // 1000 exact and 1000 chain samples and 98 / 10 + 2 = 11 curve points per run.
        for name in ["curves", "models", "samples"] {
            assert_eq!(
                runs_per_group(name, &exp, &records),
                131_072 / 2011,
                "{name}"
            );
        }
        assert_eq!(runs_per_group("runs", &exp, &records), RUNS_PER_ROW_GROUP);
        let huge = text.replace("samples = 1000", "samples = 1000000");
        let exp = crate::experiment::parse(Path::new("g.toml"), &huge).unwrap();
        assert_eq!(runs_per_group("samples", &exp, &records), 1);
    }

    #[test]
    fn a_table_written_in_row_groups_reads_back_whole_and_a_failed_group_fails_the_write() {
        let dir = std::env::temp_dir().join(format!("grbm-groups-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut set = TableSet::begin(&dir).unwrap();
        let path = set.path("t.parquet");
        let provenance = Provenance::of_this_process("name = \"t\"\n");
        let group = |start: i64| {
            let ids: Vec<i64> = (start..start + 3).collect();
            frame(&path, 3, vec![col("id", ids)])
        };
        let groups = [0, 3, 6].into_iter().map(group);
        write_parquet_groups(&mut set, "t.parquet", groups, &provenance, &[]).unwrap();
        let back = ParquetReader::new(std::fs::File::open(&path).unwrap())
            .finish()
            .unwrap();
        let ids: Vec<i64> = back
            .column("id")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(ids, (0..9).collect::<Vec<i64>>());

        let failing = [
            group(0),
            Err(OutputError::Io {
                path: path.clone(),
                source: std::io::Error::other("no group"),
            }),
        ];
        let e = write_parquet_groups(&mut set, "u.parquet", failing.into_iter(), &provenance, &[])
            .unwrap_err();
        assert!(matches!(e, OutputError::Io { .. }), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn columns_metadata_maps_each_data_set_to_its_file_columns_in_source_order() {
        let datasets = [
            dataset("rings", None),
            dataset("a \"b\".csv", Some(["x", "y"])),
            dataset("gmm_iso", None),
        ];
        let text = columns_metadata(&datasets);
        assert_eq!(
            text,
            r#"{"rings":null,"a \"b\".csv":["x","y"],"gmm_iso":null}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["a \"b\".csv"], serde_json::json!(["x", "y"]));
    }
}
