//! `verify`: recomputes runs of a results folder from the experiment stored in it and compares every non-timing value of their table rows with the stored records and tables, bit for bit, writing nothing.

use super::folder::Folder;
use super::halving::recompute_pruned;
use super::record::{RunRecord, Status};
use super::tables::{OutputError, RUN_TABLES};
use super::train_record;
use polars::prelude::{
    AnyValue, DataFrame, DataType, IdxCa, IdxSize, ParquetReader, PolarsResult, SerReader,
};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// The columns whose values depend on the machine and its load, not on the seeds.
const TIMING: [&str; 2] = ["train_seconds", "eval_seconds"];

/// The outcome for one run: `None` when every value equals the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub run_id: String,
    /// The first difference, as `table.column row r: stored A, recomputed B (difference D)`.
    pub difference: Option<String>,
}

/// `count` run ids with a record, drawn without replacement by a PCG seeded with `seed`,
/// in grid order (all of them when `count` is at least the number of records).
pub fn sample_runs(folder: &Folder, count: usize, seed: u64) -> Vec<String> {
    let mut order: Vec<usize> = (0..folder.records.len()).collect();
    order.shuffle(&mut rand_pcg::Pcg64::seed_from_u64(seed));
    order.truncate(count);
    order.sort_unstable();
    order
        .into_iter()
        .map(|i| folder.records[i].spec.run_id.clone())
        .collect()
}

/// Recomputes each run of `run_ids` (which must have records in `folder`, read from `dir`) and
/// compares its rows of runs, curves, models and samples with the stored record's, then with
/// the rows of the Parquet tables in `dir`, where they exist.
pub fn verify(folder: &Folder, dir: &Path, run_ids: &[String]) -> Result<Vec<Verdict>, String> {
    // The records by id, the first of each kept: one lookup per run asked for, not a scan.
    let mut by_id: HashMap<&str, &RunRecord> = HashMap::with_capacity(folder.records.len());
    for r in &folder.records {
        by_id.entry(r.spec.run_id.as_str()).or_insert(r);
    }
    let stored: Vec<&RunRecord> = run_ids
        .iter()
        .map(|id| {
            by_id
                .get(id.as_str())
                .copied()
                .ok_or_else(|| format!("{} has no record of a run {id}", dir.display()))
        })
        .collect::<Result<_, _>>()?;
    let ids: Vec<&str> = stored.iter().map(|r| r.spec.run_id.as_str()).collect();
    let files = read_tables(dir, &ids)?;
    stored
        .par_iter()
        .map(|record| {
            let id = &record.spec.run_id;
            let data = &folder.datasets[record.spec.dataset];
            let eval = &folder.experiment.eval;
            let again = match (record.status, &record.run) {
                // A pruned run is checked up to the epoch its search stopped it at.
                (Status::Pruned, Some(run)) => {
                    recompute_pruned(&record.spec, data, eval, run.epochs_done)
                }
                _ => train_record(&record.spec, data, eval, &|| {}),
            };
            let difference = first_difference(folder, dir, &files, record, &again)
                .map_err(|e| format!("cannot build the tables of {id}: {e}"))?;
            Ok(Verdict {
                run_id: id.clone(),
                difference,
            })
        })
        .collect()
}

/// A run's rows of the tables of [`RUN_TABLES`].
type Tables = Vec<(&'static str, DataFrame)>;

/// A table file a reader opens, and where the runs being verified are in it.
struct TableFile<'r> {
    name: &'static str,
    frame: DataFrame,
    /// Each verified run's rows, in file order; or why the file has no run ids to find them by.
    rows: Result<HashMap<&'r str, Vec<IdxSize>>, String>,
}

/// The table files of the folder, where it has them (a sharded sweep before `merge` has none),
/// with the rows of each run of `run_ids`: found in one pass over each file's `run_id` column,
/// not one pass per run.
fn read_tables<'r>(dir: &Path, run_ids: &[&'r str]) -> Result<Vec<TableFile<'r>>, String> {
    let mut tables = Vec::new();
    for (name, _) in RUN_TABLES {
        let path = dir.join(format!("{name}.parquet"));
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        let frame = ParquetReader::new(file)
            .finish()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let rows = rows_of_runs(&frame, run_ids).map_err(|e| e.to_string());
        tables.push(TableFile { name, frame, rows });
    }
    Ok(tables)
}

/// The rows of `frame` whose `run_id` is each of `run_ids`, in order.
fn rows_of_runs<'r>(
    frame: &DataFrame,
    run_ids: &[&'r str],
) -> PolarsResult<HashMap<&'r str, Vec<IdxSize>>> {
    let mut rows: HashMap<&'r str, Vec<IdxSize>> =
        run_ids.iter().map(|id| (*id, Vec::new())).collect();
    for (i, id) in frame.column("run_id")?.str()?.iter().enumerate() {
        if let Some(mine) = id.and_then(|id| rows.get_mut(id)) {
            mine.push(i as IdxSize);
        }
    }
    Ok(rows)
}

/// A run's rows of every table of [`RUN_TABLES`], as the sweep would write them.
fn rows_of(folder: &Folder, dir: &Path, record: &RunRecord) -> Result<Tables, OutputError> {
    RUN_TABLES
        .iter()
        .map(|(name, build)| {
            let path = dir.join(format!("{name}.parquet"));
            Ok((
                *name,
                build(&path, std::slice::from_ref(record), &folder.datasets)?,
            ))
        })
        .collect()
}

/// The first value in which `again` differs: from the stored record, table by table and column
/// by column, then from the run's rows in the table files; timing columns are skipped.
fn first_difference(
    folder: &Folder,
    dir: &Path,
    files: &[TableFile<'_>],
    stored: &RunRecord,
    again: &RunRecord,
) -> Result<Option<String>, OutputError> {
    if stored.status != again.status {
        return Ok(Some(format!(
            "status: stored {}, recomputed {}",
            stored.status.name(),
            again.status.name()
        )));
    }
    let recomputed = rows_of(folder, dir, again)?;
    let recorded = rows_of(folder, dir, stored)?;
    for ((name, a), (_, b)) in recorded.iter().zip(&recomputed) {
        // A record's rows are numbered from 0 within the run: the record holds only that run.
        if let Some(difference) = frame_difference(a, b, |row| row) {
            return Ok(Some(format!("{name}.{difference}")));
        }
    }
    for file in files {
        let name = file.name;
        let (_, b) = recomputed
            .iter()
            .find(|(n, _)| *n == name)
            .expect("every table file is one of RUN_TABLES");
        let rows = match &file.rows {
            Ok(rows) => rows
                .get(again.spec.run_id.as_str())
                .map_or(&[][..], Vec::as_slice),
            Err(e) => return Ok(Some(format!("{name}.parquet: {e}"))),
        };
        let a = match file.frame.take(&IdxCa::from_vec("".into(), rows.to_vec())) {
            Ok(a) => a,
            Err(e) => return Ok(Some(format!("{name}.parquet: {e}"))),
        };
        // The rows of the file the run's rows came from, so that a difference names the row a
        // reader of the file finds it in, not the row among the run's own.
        let at: Vec<usize> = rows.iter().map(|&i| i as usize).collect();
        if let Some(difference) = frame_difference(&a, b, |row| at[row]) {
            return Ok(Some(format!("{name}.parquet {difference}")));
        }
    }
    Ok(None)
}

/// `column row r: stored A, recomputed B (difference D)` for the first differing value of two
/// frames with the same columns, `r` being `row_in_file` of the row among the frames; floats are
/// compared by their bits, so -0.0 differs from 0.0 and NaN equals only the same NaN.
fn frame_difference(
    stored: &DataFrame,
    again: &DataFrame,
    row_in_file: impl Fn(usize) -> usize,
) -> Option<String> {
    if stored.height() != again.height() {
        return Some(format!(
            "rows: stored {}, recomputed {}",
            stored.height(),
            again.height()
        ));
    }
    for column in stored.columns() {
        let name = column.name().as_str();
        if TIMING.contains(&name) {
            continue;
        }
        let Ok(other) = again.column(name) else {
            return Some(format!("{name}: stored, not recomputed"));
        };
        for row in 0..stored.height() {
            let (a, b) = (
                column.get(row).expect("row in range"),
                other.get(row).expect("row in range"),
            );
            let same = match (column.dtype(), &a, &b) {
                (DataType::Float64, AnyValue::Float64(x), AnyValue::Float64(y)) => {
                    x.to_bits() == y.to_bits()
                }
                _ => a == b,
            };
            if !same {
                let row = row_in_file(row);
                return Some(format!(
                    "{name} row {row}: {}",
                    stored_and_recomputed(&a, &b)
                ));
            }
        }
    }
    None
}

/// `stored A, recomputed B`, floats in the shortest form that reads back to the same f64
/// (polars' display rounds to 6 digits, which showed a one-ulp change as two equal numbers),
/// with their absolute difference when it is a number other than 0 (-0.0 against 0.0, or a
/// NaN, shows in the values themselves).
fn stored_and_recomputed(a: &AnyValue, b: &AnyValue) -> String {
    match (a, b) {
        (AnyValue::Float64(x), AnyValue::Float64(y)) => {
            let difference = (x - y).abs();
            if difference.is_finite() && difference > 0.0 {
                format!("stored {x:?}, recomputed {y:?} (difference {difference:.1e})")
            } else {
                format!("stored {x:?}, recomputed {y:?}")
            }
        }
        _ => format!("stored {a}, recomputed {b}"),
    }
}
