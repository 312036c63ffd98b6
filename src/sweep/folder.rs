//! A results folder read back without the process that wrote it: what `merge` and `plot` need to rebuild the experiment (`experiment.json`), the folder as a whole, and the merge of a sharded sweep's records into its tables.

use super::record::RunRecord;
use super::store::{ResultsDir, read_records};
use super::tables::write_all;
use super::{RunError, SweepReport, assign_shards, data_fields, load_datasets};
use crate::cluster::shard::Shard;
use crate::data::Dataset;
use crate::experiment::Experiment;
use crate::experiment::grid::{RunSpec, expand};
use crate::io::{publish, write_atomically};
use crate::sweep::store::StoreError;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `merge` and `plot` need to rebuild the experiment from its results folder alone.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExperimentInfo {
    /// The experiment file, relative to the results folder (relative data paths are taken from
    /// its folder), so that the folder names no path of the machine that wrote it and reads the
    /// same from any working folder.
    experiment: PathBuf,
    /// Shards the sweep was split into (1 for an unsharded sweep).
    shards: usize,
}

const EXPERIMENT_INFO: &str = "experiment.json";

pub(crate) fn write_experiment_info(
    exp: &Experiment,
    shard: Option<Shard>,
) -> Result<(), RunError> {
    let canonical = |p: &Path| std::fs::canonicalize(p).map_err(|e| (p.to_path_buf(), e));
    let experiment = canonical(&exp.output)
        .and_then(|out| Ok(relative_to(&out, &canonical(&exp.path)?)))
        .map_err(|(path, source)| StoreError::Io { path, source })?;
    let info = ExperimentInfo {
        experiment,
        shards: shard.map_or(1, |s| s.count),
    };
    let text = serde_json::to_string_pretty(&info).expect("the info serializes");
    let info_path = exp.output.join(EXPERIMENT_INFO);
    if shard.is_some() {
        publish(&info_path, text.as_bytes())?;
        publish(&exp.output.join("sweep.toml"), exp.text.as_bytes())?;
    } else {
        write_atomically(&info_path, text.as_bytes())?;
    }
    Ok(())
}

/// The path that leads from folder `base` to `target`, both absolute and free of links.
fn relative_to(base: &Path, target: &Path) -> PathBuf {
    let base: Vec<_> = base.components().collect();
    let target: Vec<_> = target.components().collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let up = std::iter::repeat_n(std::path::Component::ParentDir, base.len() - common);
    up.chain(target[common..].iter().copied()).collect()
}

/// What `merge` found.
#[derive(Debug)]
pub struct MergeReport {
    pub report: SweepReport,
    /// Run ids without a result, by the shard that should have computed them.
    pub missing: Vec<(usize, Vec<String>)>,
    pub shards: usize,
    /// The experiment as read back from the folder.
    pub experiment: Experiment,
}

/// A results folder read back: the experiment that wrote it, its data and every run's record.
#[derive(Debug)]
pub struct Folder {
    pub experiment: Experiment,
    pub datasets: Vec<Dataset>,
    /// Every run of the grid, in grid order.
    pub runs: Vec<RunSpec>,
    /// The runs that have a record, in grid order.
    pub records: Vec<RunRecord>,
    /// Shards the sweep was split into (1 for an unsharded sweep).
    pub shards: usize,
}

/// Reads a results folder without locking it (a sweep may still be adding records).
pub fn load_folder(dir: &Path) -> Result<Folder, RunError> {
    let nothing = |reason: String| RunError::NoSweep {
        path: dir.to_path_buf(),
        reason,
    };
    let info_text = std::fs::read_to_string(dir.join(EXPERIMENT_INFO)).map_err(|e| {
        nothing(format!(
            "cannot read {EXPERIMENT_INFO} ({e}); run the sweep or its shards first"
        ))
    })?;
    let info: ExperimentInfo = serde_json::from_str(&info_text)
        .map_err(|e| nothing(format!("{EXPERIMENT_INFO} is damaged ({e})")))?;
    let text = std::fs::read_to_string(dir.join("sweep.toml"))
        .map_err(|e| nothing(format!("cannot read sweep.toml ({e})")))?;
    // An absolute `experiment` (folders of earlier versions) stays as it is.
    let mut experiment = crate::experiment::parse(&dir.join(&info.experiment), &text)?;
    experiment.output = dir.to_path_buf();
    let datasets = load_datasets(&experiment)?;
    let runs = expand(&experiment);
    let mut on_disk = read_records(dir);
    let records = runs
        .iter()
        .filter_map(|run| Some(on_disk.remove(&run.run_id)?.into_record(run.clone())))
        .collect();
    Ok(Folder {
        experiment,
        datasets,
        runs,
        records,
        shards: info.shards,
    })
}

/// Builds the final tables of a (sharded) sweep from every record in its results folder.
pub fn merge(dir: &Path) -> Result<MergeReport, RunError> {
    let start = Instant::now();
    let folder = load_folder(dir)?;
    // Holding the folder's main lock keeps a second merge or an unsharded sweep out while writing.
    let fields = data_fields(&folder.experiment, &folder.datasets);
    let store = ResultsDir::open(dir, &fields, false, None)?;
    let shard_of = assign_shards(&folder.runs, &folder.datasets, folder.shards);
    let mut missing: Vec<(usize, Vec<String>)> =
        (0..folder.shards).map(|s| (s, Vec::new())).collect();
    for (run, shard) in folder.runs.iter().zip(&shard_of) {
        if !folder.records.iter().any(|r| r.spec.run_id == run.run_id) {
            missing[*shard].1.push(run.run_id.clone());
        }
    }
    missing.retain(|(_, ids)| !ids.is_empty());
    write_all(dir, &folder.experiment, &folder.datasets, &folder.records)?;
    let report = SweepReport {
        output: dir.to_path_buf(),
        missing: folder.runs.len() - folder.records.len(),
        reused: folder.records.len(),
        records: folder.records,
        seconds: start.elapsed().as_secs_f64(),
        datasets: folder.datasets,
        interrupted: None,
        took_over_lock: store.took_over.clone(),
        shard: None,
    };
    Ok(MergeReport {
        report,
        missing,
        shards: folder.shards,
        experiment: folder.experiment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        let rel = |a: &str, b: &str| relative_to(Path::new(a), Path::new(b));
        assert_eq!(
            rel("/w/results/s", "/w/exp/s.toml"),
            PathBuf::from("../../exp/s.toml")
        );
        assert_eq!(
            rel("/w/exp/out", "/w/exp/s.toml"),
            PathBuf::from("../s.toml")
        );
        assert_eq!(rel("/w", "/w/s.toml"), PathBuf::from("s.toml"));
        assert_eq!(rel("/a/b", "/c/s.toml"), PathBuf::from("../../c/s.toml"));
    }
}
