//! The results folder across processes: one durable record per finished run, the lock that allows one sweep per folder, and the manifest that ties the folder to its data section.
//!
//! Layout under the results folder: `records/<run_id>.json` (written to a
//! temporary name, then renamed, so a record is complete or absent),
//! `manifest.json` (the data section the records were computed on) and
//! `.lock` (the process that is using the folder).

use crate::grid::RunSpec;
use crate::model::Grbm;
use crate::output::{RunRecord, Status};
use crate::shard::Shard;
use crate::train::{CurvePoint, Outcome, TrainedRun};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const RECORDS_DIR: &str = "records";
const MANIFEST_FILE: &str = "manifest.json";
const LOCK_FILE: &str = ".lock";
/// The final tables and copies a sweep writes beside its records; `--fresh` removes them too.
const TABLE_FILES: [&str; 7] = [
    "runs.parquet",
    "curves.parquet",
    "models.parquet",
    "data.parquet",
    "sweep.toml",
    "experiment.json",
    "samples.parquet",
];

/// A problem with the results folder, naming it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("results folder {path} cannot be used")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "results folder {path} is in use by process {pid} on {host} (lock file {lock}); wait for that sweep to end, \
         or stop it, or set another `output`"
    )]
    Locked {
        path: PathBuf,
        pid: u32,
        host: String,
        lock: PathBuf,
    },
    #[error(
        "results folder {path} holds results computed on a different [data] section ({differences}); \
         run with --fresh to discard them, or set another `output`"
    )]
    OtherData { path: PathBuf, differences: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The parameters of a model as stored: W by rows, sigma as its log (the trained value, exactly).
#[derive(Serialize, Deserialize)]
struct StoredModel {
    b: [f64; 2],
    log_sigma: [f64; 2],
    w: [Vec<f64>; 2],
    c: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct StoredRun {
    model: StoredModel,
    evaluation: Option<crate::estimate::Evaluation>,
    curve: Vec<CurvePoint>,
    samples: Vec<[f64; 2]>,
    outcome: Outcome,
    epochs_done: usize,
    train_seconds: f64,
    eval_seconds: f64,
}

/// One run's record on disk. JSON numbers round-trip f64 exactly (`float_roundtrip`), so tables
/// built from records equal tables built from the runs in memory, bit for bit.
#[derive(Serialize, Deserialize)]
pub struct StoredRecord {
    pub run_id: String,
    pub status: Status,
    error: Option<String>,
    run: Option<StoredRun>,
}

impl StoredRecord {
    fn from_record(record: &RunRecord) -> Self {
        let run = record.run.as_ref().map(|run| {
            let m = &run.model;
            StoredRun {
                model: StoredModel {
                    b: m.b,
                    log_sigma: m.log_sigma,
                    w: [0, 1].map(|i| (0..m.n_hidden()).map(|j| m.w[(i, j)]).collect()),
                    c: m.c.clone(),
                },
                evaluation: run.evaluation,
                curve: run.curve.clone(),
                samples: run.samples.clone(),
                outcome: run.outcome,
                epochs_done: run.epochs_done,
                train_seconds: run.train_seconds,
                eval_seconds: run.eval_seconds,
            }
        });
        StoredRecord {
            run_id: record.spec.run_id.clone(),
            status: record.status,
            error: record.error.clone(),
            run,
        }
    }

    /// The record of `spec`, which must be the run this record was computed for.
    pub fn into_record(self, spec: RunSpec) -> RunRecord {
        let run = self.run.map(|stored| {
            let m = stored.model;
            let w = faer::Mat::from_fn(2, m.c.len(), |i, j| m.w[i][j]);
            TrainedRun {
                model: Grbm {
                    b: m.b,
                    log_sigma: m.log_sigma,
                    w,
                    c: m.c,
                },
                evaluation: stored.evaluation,
                curve: stored.curve,
                samples: stored.samples,
                outcome: stored.outcome,
                epochs_done: stored.epochs_done,
                train_seconds: stored.train_seconds,
                eval_seconds: stored.eval_seconds,
            }
        });
        RunRecord {
            spec,
            status: self.status,
            error: self.error,
            run,
        }
    }
}

/// A results folder held by this process (the lock is released when this is dropped).
#[derive(Debug)]
pub struct ResultsDir {
    path: PathBuf,
    lock: PathBuf,
    /// The process id of a stale lock that was taken over, if any.
    pub took_over: Option<u32>,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "unknown".into(), |h| h.trim().to_string())
}

/// True unless the lock names a process on this host that no longer exists.
fn lock_holder_alive(pid: u32, host: &str) -> bool {
    host != hostname() || Path::new(&format!("/proc/{pid}")).exists()
}

impl ResultsDir {
    /// Creates the folder if needed, takes its lock, and checks (then records) the data section.
    /// With `fresh`, earlier records and tables are discarded first. A shard takes a lock of its
    /// own, so the shards of a sweep share the folder while a second process per shard is refused.
    pub fn open(
        path: &Path,
        data_fields: &[(&'static str, String)],
        fresh: bool,
        shard: Option<Shard>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(io_error(path))?;
        let lock = match shard {
            None => path.join(LOCK_FILE),
            Some(s) => path.join(format!("{LOCK_FILE}-shard-{}-of-{}", s.index, s.count)),
        };
        let took_over = Self::take_lock(path, &lock)?;
        let dir = ResultsDir {
            path: path.to_path_buf(),
            lock,
            took_over,
        };
        if fresh {
            let records = path.join(RECORDS_DIR);
            if records.exists() {
                std::fs::remove_dir_all(&records).map_err(io_error(&records))?;
            }
            for name in TABLE_FILES.iter().chain([&MANIFEST_FILE]) {
                let file = path.join(name);
                if file.exists() {
                    std::fs::remove_file(&file).map_err(io_error(&file))?;
                }
            }
        }
        dir.check_manifest(data_fields)?;
        std::fs::create_dir_all(path.join(RECORDS_DIR)).map_err(io_error(path))?;
        Ok(dir)
    }

    fn take_lock(path: &Path, lock: &Path) -> Result<Option<u32>, StoreError> {
        let me = format!("{} {}\n", std::process::id(), hostname());
        let mut took_over = None;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(lock)
            {
                Ok(mut file) => {
                    file.write_all(me.as_bytes()).map_err(io_error(lock))?;
                    return Ok(took_over);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && took_over.is_none() => {
                    let text = std::fs::read_to_string(lock).unwrap_or_default();
                    let mut parts = text.split_whitespace();
                    let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
                    let host = parts.next().unwrap_or("").to_string();
                    match pid {
                        Some(pid) if lock_holder_alive(pid, &host) => {
                            return Err(StoreError::Locked {
                                path: path.to_path_buf(),
                                pid,
                                host,
                                lock: lock.to_path_buf(),
                            });
                        }
                        // A lock left by a process that has died (or an unreadable one): take it over.
                        _ => {
                            std::fs::remove_file(lock).map_err(io_error(lock))?;
                            took_over = Some(pid.unwrap_or(0));
                        }
                    }
                }
                Err(e) => return Err(io_error(lock)(e)),
            }
        }
    }

    fn check_manifest(&self, data_fields: &[(&'static str, String)]) -> Result<(), StoreError> {
        let manifest = self.path.join(MANIFEST_FILE);
        if manifest.exists() {
            let text = std::fs::read_to_string(&manifest).map_err(io_error(&manifest))?;
            let before: HashMap<String, String> = serde_json::from_str(&text).unwrap_or_default();
            let differences: Vec<String> = data_fields
                .iter()
                .filter(|(key, value)| before.get(*key) != Some(value))
                .map(|(key, value)| {
                    format!(
                        "data.{key} was {}, is now {value}",
                        before.get(*key).map_or("unset", |v| v.as_str())
                    )
                })
                .collect();
            if !differences.is_empty() {
                return Err(StoreError::OtherData {
                    path: self.path.clone(),
                    differences: differences.join("; "),
                });
            }
            return Ok(());
        }
        let map: std::collections::BTreeMap<&str, &String> =
            data_fields.iter().map(|(k, v)| (*k, v)).collect();
        let text = serde_json::to_string_pretty(&map).expect("a map of strings serializes");
        write_atomically(&manifest, text.as_bytes())
    }

    /// Every complete record on disk, by run id.
    pub fn records(&self) -> HashMap<String, StoredRecord> {
        read_records(&self.path)
    }

    /// Writes one run's record durably: complete under its final name, or not at all.
    pub fn save(&self, record: &RunRecord) -> Result<(), StoreError> {
        let text =
            serde_json::to_string(&StoredRecord::from_record(record)).expect("records serialize");
        write_atomically(
            &self
                .path
                .join(RECORDS_DIR)
                .join(format!("{}.json", record.spec.run_id)),
            text.as_bytes(),
        )
    }
}

impl Drop for ResultsDir {
    fn drop(&mut self) {
        let mine = format!("{} ", std::process::id());
        if std::fs::read_to_string(&self.lock).is_ok_and(|text| text.starts_with(&mine)) {
            let _ = std::fs::remove_file(&self.lock);
        }
    }
}

/// Every complete record under the results folder `dir`, by run id. Unreadable or partial files
/// are skipped; reading needs no lock.
pub fn read_records(dir: &Path) -> HashMap<String, StoredRecord> {
    let Ok(entries) = std::fs::read_dir(dir.join(RECORDS_DIR)) else {
        return HashMap::new();
    };
    entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if path.extension()? != "json" {
                return None;
            }
            let record: StoredRecord =
                serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
            Some((record.run_id.clone(), record))
        })
        .collect()
}

/// Writes `bytes` under `path` unless a file is already there, atomically and with one writer even
/// when several processes try at once. Returns whether this call wrote it.
pub fn publish(path: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
    let file_name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io_error(&tmp))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Writes `bytes` to a temporary name beside `path`, then renames it into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// Lets `write` fill a temporary file beside `path`, then renames it into place, so a reader
/// sees the old file or the whole new one, never a part.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    let file_name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut file| write(&mut file));
    let result = written
        .map_err(io_error(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_error(path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
