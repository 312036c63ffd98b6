//! `verify`: recomputes runs of a results folder from the experiment stored in it and compares every non-timing value of their table rows with the stored records and the committed tables, bit for bit, and checks the committed tables against their SHA-256 sums, writing nothing.

use super::folder::Folder;
use super::halving::recompute_pruned;
use super::record::{RunRecord, Status};
use super::tables::{OutputError, RUN_TABLES};
use super::{error_chain, train_record};
use polars_core::prelude::{
    AnyValue, DataFrame, DataType, IdxCa, IdxSize, PolarsError, PolarsResult,
};
use polars_io::prelude::{ParquetReader, SerReader};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The columns whose values depend on the machine and its load, not on the seeds.
const TIMING: [&str; 3] = ["train_seconds", "eval_seconds", "ais_seconds"];

/// The outcome for one run: `None` when every value equals the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub run_id: String,
    /// The first difference, as `table.column row r: stored A, recomputed B (difference D)`.
    pub difference: Option<String>,
    /// Whether the run was compared with rows of the committed tables too: false when the
    /// folder has none yet, or its tables were built before the run's record was saved.
    pub in_tables: bool,
}

/// The problems of the folder's committed tables: files missing, changed in size or in
/// SHA-256 since the set was committed (each file is read whole), or a commit file that cannot
/// be read. None for a folder without tables, or with tables of an earlier version (which
/// have no sums to check: the folder's notes say so).
pub fn check_tables(folder: &Folder) -> Vec<String> {
    match &folder.tables {
        Ok(Some(tables)) => tables
            .checksum_problems()
            .unwrap_or_else(|e| vec![error_chain(&e)]),
        Ok(None) => Vec::new(),
        Err(e) => vec![error_chain(e)],
    }
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
/// its rows in the folder's committed tables, where they hold it.
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
    let ids: HashSet<&str> = stored.iter().map(|r| r.spec.run_id.as_str()).collect();
    let files = read_tables(folder, &ids)?;
    stored
        .par_iter()
        .map(|record| {
            let id = &record.spec.run_id;
            let data = &folder.datasets[record.spec.dataset];
            let eval = &folder.experiment.eval;
            let again = match (record.status, &record.result) {
                // A pruned run is checked up to the epoch its search stopped it at.
                (Status::Pruned, Some(run)) => {
                    recompute_pruned(&record.spec, data, eval, run.epochs_done)
                }
                _ => train_record(&record.spec, data, eval, &|| {}),
            };
            let again = as_recorded(record, again)
                .map_err(|e| format!("cannot read the record of {id}: {}", error_chain(&e)))?;
            let in_tables = files
                .iter()
                .any(|f| f.name == "runs" && f.rows.contains_key(id.as_str()));
            let files: &[_] = if in_tables { &files } else { &[] };
            let difference = first_difference(folder, dir, files, record, &again)
                .map_err(|e| format!("cannot build the tables of {id}: {e}"))?;
            Ok(Verdict {
                run_id: id.clone(),
                difference,
                in_tables,
            })
        })
        .collect()
}

/// `again`, the recomputed run of `stored`, as `stored`'s version of grbm-sweep recorded it: a
/// record written before exact samples has chain samples and no exact ones, and the recomputed
/// exact samples are dropped, so that the rest (its chain samples among it) is compared.
fn as_recorded(
    stored: &RunRecord,
    mut again: RunRecord,
) -> Result<RunRecord, super::store::StoreError> {
    let before_exact_samples = stored
        .details()?
        .is_some_and(|d| d.exact_samples.is_empty() && !d.chain_samples.is_empty());
    if before_exact_samples && let Some(details) = &mut again.in_memory {
        details.exact_samples.clear();
    }
    Ok(again)
}

/// A run's rows of the tables of [`RUN_TABLES`].
type Tables = Vec<(&'static str, DataFrame)>;

/// Rows read from a table file at a time: reading a table holds this many of its rows, not the
/// whole file, whatever the size of the sweep.
const ROWS_PER_READ: usize = 1 << 16;

/// The rows of the verified runs in one table file of the committed set.
struct TableFile<'r> {
    name: &'static str,
    /// Those rows, in file order.
    frame: DataFrame,
    /// Each verified run's rows of `frame`.
    rows: HashMap<&'r str, Vec<IdxSize>>,
    /// The row of the file each row of `frame` is.
    at: Vec<usize>,
}

/// The rows of the runs `run_ids` in each table with rows per run of the folder's committed set,
/// where it has one (a sweep still running or a sharded sweep before `merge` has none), read
/// [`ROWS_PER_READ`] rows at a time.
fn read_tables<'r>(
    folder: &Folder,
    run_ids: &HashSet<&'r str>,
) -> Result<Vec<TableFile<'r>>, String> {
    let Ok(Some(set)) = &folder.tables else {
        return Ok(Vec::new());
    };
    let mut tables = Vec::new();
    for (name, _) in RUN_TABLES {
        let file_name = format!("{name}.parquet");
        let Some(file) = set.file(&file_name) else {
            continue;
        };
        let path = set.path(&file_name);
        let table = rows_of_runs(name, file, run_ids)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        tables.push(table);
    }
    Ok(tables)
}

/// The rows of the runs `run_ids` in the table `name` read from `file`, slice by slice.
fn rows_of_runs<'r>(
    name: &'static str,
    file: &std::fs::File,
    run_ids: &HashSet<&'r str>,
) -> PolarsResult<TableFile<'r>> {
    let reader = || -> PolarsResult<ParquetReader<std::fs::File>> {
        Ok(ParquetReader::new(
            file.try_clone().map_err(PolarsError::from)?,
        ))
    };
    let total = reader()?.num_rows()?;
    let mut table = TableFile {
        name,
        frame: DataFrame::empty(),
        rows: HashMap::new(),
        at: Vec::new(),
    };
    let mut start = 0;
    // One read when the file is empty, so that the rows found have the file's columns.
    while start < total || (start == 0 && table.frame.width() == 0) {
        let slice = reader()?
            .with_slice(Some((start, ROWS_PER_READ)))
            .finish()?;
        let mut mine: Vec<IdxSize> = Vec::new();
        for (i, id) in slice.column("run_id")?.str()?.iter().enumerate() {
            if let Some(id) = id.and_then(|id| run_ids.get(id)) {
                let row = (table.at.len() + mine.len()) as IdxSize;
                table.rows.entry(*id).or_default().push(row);
                mine.push(i as IdxSize);
            }
        }
        table.at.extend(mine.iter().map(|&i| start + i as usize));
        let found = slice.take(&IdxCa::from_vec("".into(), mine))?;
        table.frame = match table.frame.width() {
            0 => found,
            _ => table.frame.vstack(&found)?,
        };
        start += ROWS_PER_READ;
        if total == 0 {
            break;
        }
    }
    Ok(table)
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
        let rows = file
            .rows
            .get(again.spec.run_id.as_str())
            .map_or(&[][..], Vec::as_slice);
        let a = match file.frame.take(&IdxCa::from_vec("".into(), rows.to_vec())) {
            Ok(a) => a,
            Err(e) => return Ok(Some(format!("{name}.parquet: {e}"))),
        };
        // The rows of the file the run's rows came from, so that a difference names the row a
        // reader of the file finds it in, not the row among the run's own.
        let at: Vec<usize> = rows.iter().map(|&i| file.at[i as usize]).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::record::{measured, spec_named};

    /// A run with these samples.
    fn run(exact: &[[f64; 2]], chain: &[[f64; 2]]) -> RunRecord {
        let mut record = measured(spec_named("a"), Some((-1.0, -2.0)));
        let details = record
            .in_memory
            .as_mut()
            .expect("a measured run has details");
        details.exact_samples = exact.to_vec();
        details.chain_samples = chain.to_vec();
        record
    }

    fn exact_of(record: &RunRecord) -> Vec<[f64; 2]> {
        record.details().unwrap().unwrap().exact_samples
    }

    /// The recomputed exact samples are dropped against a record written before them (chain
    /// samples, no exact ones), and kept against a record that has them, or has no samples.
    #[test]
    fn recomputed_exact_samples_are_compared_only_with_records_that_hold_them() {
        let again = || run(&[[1.0, 2.0]], &[[3.0, 4.0]]);
        let old = as_recorded(&run(&[], &[[3.0, 4.0]]), again()).unwrap();
        assert!(exact_of(&old).is_empty());
        let new = as_recorded(&run(&[[1.0, 2.0]], &[[3.0, 4.0]]), again()).unwrap();
        assert_eq!(exact_of(&new), [[1.0, 2.0]]);
        let none = as_recorded(&run(&[], &[]), again()).unwrap();
        assert_eq!(exact_of(&none), [[1.0, 2.0]]);
    }
}
