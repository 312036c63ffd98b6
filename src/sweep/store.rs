//! The results folder across processes: the lock that allows one sweep per folder, the manifest that ties the folder to its data section, and the log each process saves its finished runs to.
//!
//! Layout under the results folder: `records/<writer>-<seq>.log` (checksummed records, see
//! [`super::journal`]), `manifest.json` (the data section the records were computed on) and
//! `.lock` (an operating-system lock held by the process using the folder, with its pid and host;
//! a shard holds `.lock-shard-I-of-N` instead). The holder of `.lock` first removes what killed
//! processes left behind (temporary files, a half-published set of tables).

use super::journal::{Journal, RECORDS_DIR, Scan, scan};
use super::record::RunRecord;
use crate::cluster::shard::Shard;
use crate::experiment::Experiment;
use crate::identity::Field;
use crate::io::{
    WriteError, hostname, publish, remove_stale_temporaries, sync_dir, write_atomically,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Halving's paused runs (see [`super::halving`]).
pub(crate) const RUNGS_DIR: &str = "rungs";
/// The runs an interrupt paused, and the checkpoints of long runs: `paused/<run_id>.json`, a
/// run's state at the end of an epoch, which the next sweep continues from.
pub(crate) const PAUSED_DIR: &str = "paused";
const MANIFEST_FILE: &str = "manifest.json";
const LOCK_FILE: &str = ".lock";
/// The copies of the experiment a sweep writes beside its records; `--fresh` removes them with
/// the tables.
const EXPERIMENT_FILES: [&str; 2] = ["sweep.toml", "experiment.json"];

/// A problem with the results folder, naming it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("results folder {path} cannot be used")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "results folder {path} is in use by {holder} (lock file {lock}); wait for that sweep to end, \
         or stop it, or set another `output`"
    )]
    Locked {
        path: PathBuf,
        /// "process PID on HOST", as the holder wrote it into the lock file.
        holder: String,
        lock: PathBuf,
    },
    #[error(
        "results folder {path} holds results of another version of grbm-sweep ({format}); \
         run with --fresh to discard them, or set another `output`"
    )]
    OtherVersion { path: PathBuf, format: String },
    #[error(
        "results folder {path} holds results computed on a different [data] section ({differences}); \
         run with --fresh to discard them, or set another `output`"
    )]
    OtherData { path: PathBuf, differences: String },
    #[error("cannot save {path}: {reason}")]
    Unsavable { path: PathBuf, reason: String },
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("cannot save records to {path}")]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A record made in this process lost its model, curve and samples before they were saved
    /// (a bug of this program, not of the folder).
    #[error("the model, curve and samples of run {run_id} are neither in memory nor saved")]
    NoDetails { run_id: String },
    #[error("results folder {path} cannot be used")]
    Tables {
        path: PathBuf,
        source: super::tableset::TableSetError,
    },
}

impl From<WriteError> for StoreError {
    fn from(e: WriteError) -> Self {
        StoreError::Io {
            path: e.path,
            source: e.source,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `manifest.json`: the data section the folder's records were computed on, compared in its
/// canonical encoding and shown as written.
#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    canonical: BTreeMap<String, String>,
    shown: BTreeMap<String, String>,
}

/// The manifest's format; a folder written under another one is refused, not misread.
const MANIFEST_FORMAT: &str = "grbm-sweep manifest v2";

impl Manifest {
    fn new(fields: &[(&'static str, Field)]) -> Self {
        let map = |f: &dyn Fn(&Field) -> String| {
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), f(v)))
                .collect::<BTreeMap<_, _>>()
        };
        Manifest {
            format: MANIFEST_FORMAT.into(),
            canonical: map(&Field::canonical),
            shown: map(&Field::shown),
        }
    }

    /// A manifest this version cannot read: of an earlier version, or damaged.
    fn unknown(text: &str) -> Self {
        let format = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("format")?.as_str().map(str::to_string))
            .unwrap_or_else(|| "an earlier manifest format".into());
        Manifest {
            format,
            canonical: BTreeMap::new(),
            shown: BTreeMap::new(),
        }
    }
}

/// A results folder held by this process: the operating system's lock on its lock file lasts as
/// long as this value, and the kernel releases it when the process ends, however it ends.
pub struct ResultsDir {
    path: PathBuf,
    lock: std::fs::File,
    journal: Journal,
    /// The holder named in a lock file whose process ended without releasing it (killed or
    /// crashed), if this process took such a lock over.
    pub took_over: Option<String>,
}

/// "process PID on HOST" as a lock file states it, or `None` for an empty (released) lock file.
fn holder(text: &str) -> Option<String> {
    let mut parts = text.split_whitespace();
    let pid = parts.next()?;
    let host = parts.next().unwrap_or("unknown host");
    Some(format!("process {pid} on {host}"))
}

impl ResultsDir {
    /// Creates the folder if needed, takes its lock, and checks (then records) the data section.
    /// With `fresh`, earlier records and tables are discarded first. A shard takes a lock of its
    /// own, so the shards of a sweep share the folder while a second process per shard is refused.
    pub fn open(
        path: &Path,
        data_fields: &[(&'static str, Field)],
        fresh: bool,
        shard: Option<Shard>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(io_error(path))?;
        let lock_path = match shard {
            None => path.join(LOCK_FILE),
            Some(s) => path.join(format!("{LOCK_FILE}-shard-{}-of-{}", s.index, s.count)),
        };
        let (lock, took_over) = take_lock(path, &lock_path)?;
        let writer = shard.map_or_else(
            || "main".to_string(),
            |s| format!("shard-{}-of-{}", s.index, s.count),
        );
        let dir = ResultsDir {
            path: path.to_path_buf(),
            lock,
            journal: Journal::new(path, writer),
            took_over,
        };
        if fresh {
            for folder in [RECORDS_DIR, RUNGS_DIR, PAUSED_DIR] {
                let folder = path.join(folder);
                if folder.exists() {
                    std::fs::remove_dir_all(&folder).map_err(io_error(&folder))?;
                }
            }
            super::tableset::discard(path).map_err(|e| table_error(path, e))?;
            for name in EXPERIMENT_FILES.iter().chain([&MANIFEST_FILE]) {
                let file = path.join(name);
                if file.exists() {
                    std::fs::remove_file(&file).map_err(io_error(&file))?;
                }
            }
        }
        dir.check_manifest(data_fields)?;
        let records = path.join(RECORDS_DIR);
        if !records.exists() {
            std::fs::create_dir_all(&records).map_err(io_error(path))?;
            sync_dir(path)?;
        }
        if shard.is_none() {
            remove_leftovers(path)?;
        }
        Ok(dir)
    }

    /// Refuses a folder whose records were computed on another data section (or by a version of
    /// grbm-sweep that encoded it differently); records the section in a new folder.
    fn check_manifest(&self, data_fields: &[(&'static str, Field)]) -> Result<(), StoreError> {
        let path = self.path.join(MANIFEST_FILE);
        let now = Manifest::new(data_fields);
        if !path.exists() {
            let text = serde_json::to_string_pretty(&now).expect("a manifest serializes");
            return Ok(write_atomically(&path, text.as_bytes())?);
        }
        let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        let before: Manifest =
            serde_json::from_str(&text).unwrap_or_else(|_| Manifest::unknown(&text));
        if before.format != now.format {
            return Err(StoreError::OtherVersion {
                path: self.path.clone(),
                format: before.format,
            });
        }
        // A folder written before the columns of data files were recorded lacks them. They
        // follow from the file and `columns`, whose points the manifest fingerprints, so its
        // records hold: the manifest is completed instead of the folder refused.
        let recorded_later =
            |key: &str| key == super::POINT_COLUMNS && !before.canonical.contains_key(key);
        let differences: Vec<String> = now
            .canonical
            .iter()
            .filter(|(key, value)| {
                !recorded_later(key) && before.canonical.get(*key) != Some(value)
            })
            .map(|(key, _)| {
                format!(
                    "data.{key} was {}, is now {}",
                    before.shown.get(key).map_or("unset", String::as_str),
                    now.shown[key]
                )
            })
            .collect();
        if differences.is_empty() {
            if now.canonical.keys().any(|key| recorded_later(key)) {
                let text = serde_json::to_string_pretty(&now).expect("a manifest serializes");
                write_atomically(&path, text.as_bytes())?;
            }
            Ok(())
        } else {
            Err(StoreError::OtherData {
                path: self.path.clone(),
                differences: differences.join("; "),
            })
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every usable record on disk, by run id, and the damaged ones.
    pub fn records(&self) -> Scan {
        scan(&self.path)
    }

    /// Appends one run's record to this process's log (durable at the next [`Self::sync`] or
    /// batch: a run is saved whole or absent, never half).
    pub fn save(&self, record: &RunRecord) -> Result<(), StoreError> {
        self.journal.append(record)
    }

    /// Saves the state of run `run_id` paused at the end of an epoch (by an interrupt, or as a
    /// checkpoint of a long run), for the next sweep to continue from.
    pub fn save_paused(
        &self,
        run_id: &str,
        state: &crate::train::RunState,
    ) -> Result<(), StoreError> {
        save_json(
            &self.path.join(PAUSED_DIR).join(format!("{run_id}.json")),
            state,
        )
    }

    /// The runs with a paused state saved, by id: read once when a sweep starts, so that a run
    /// without one costs no file lookup.
    pub fn paused_runs(&self) -> std::collections::HashSet<String> {
        let Ok(entries) = std::fs::read_dir(self.path.join(PAUSED_DIR)) else {
            return Default::default();
        };
        entries
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".json").map(str::to_string)
            })
            .collect()
    }

    /// The paused state of run `run_id`, if a complete one is saved.
    pub fn paused(&self, run_id: &str) -> Option<crate::train::RunState> {
        let path = self.path.join(PAUSED_DIR).join(format!("{run_id}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }

    /// Removes the paused state of run `run_id` once its record is saved. A state left behind
    /// (the removal failed) is harmless: a run with a record is not trained again.
    pub fn forget_paused(&self, run_id: &str) {
        let _ = std::fs::remove_file(self.path.join(PAUSED_DIR).join(format!("{run_id}.json")));
    }

    /// Makes every record saved so far durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.journal.sync()
    }
}

/// An error of the folder's tables as one of the folder.
fn table_error(path: &Path, e: super::tableset::TableSetError) -> StoreError {
    StoreError::Tables {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Writes `value` as JSON to `path` in a results folder, durably (its folder created and synced
/// if new), as a record is. A value that would not read back (a non-finite number has no JSON
/// form) is refused.
pub(crate) fn save_json<T: Serialize + serde::de::DeserializeOwned>(
    path: &Path,
    value: &T,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(value).expect("states serialize");
    if serde_json::from_str::<T>(&text).is_err() {
        return Err(StoreError::Unsavable {
            path: path.to_path_buf(),
            reason: "the run's state holds a non-finite number".into(),
        });
    }
    let folder = path.parent().expect("a state file has a folder");
    if !folder.exists() {
        std::fs::create_dir_all(folder).map_err(|source| StoreError::Io {
            path: folder.to_path_buf(),
            source,
        })?;
        sync_dir(
            folder
                .parent()
                .expect("a state folder is in the results folder"),
        )?;
    }
    Ok(write_atomically(path, text.as_bytes())?)
}

/// Removes what processes killed while writing into results folder `dir` left: their temporary
/// files (of this host's ended processes anywhere; of any process where only the main lock's
/// holder writes) and a half-published set of tables. Shards may be writing records and rung
/// states on other hosts right now, so a file of another host is left to that host.
fn remove_leftovers(dir: &Path) -> Result<(), StoreError> {
    remove_stale_temporaries(dir, super::tableset::is_published_name)?;
    let mut folders = vec![dir.join(RECORDS_DIR), dir.join(PAUSED_DIR)];
    if let Ok(entries) = std::fs::read_dir(dir.join(RUNGS_DIR)) {
        folders.extend(
            entries
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.is_dir()),
        );
    }
    for folder in folders {
        remove_stale_temporaries(&folder, |_| false)?;
    }
    super::tableset::recover(dir).map_err(|e| table_error(dir, e))
}

/// The processes that hold a lock of results folder `dir` now, each as "process PID on HOST,
/// lock file NAME", sorted: a sweep, a merge or shards at work in it. Each lock file that
/// names a holder is probed with a shared lock on a handle of its own, released at once; an
/// empty one was released cleanly and is not probed. (A process taking the lock during the
/// probe retries for a moment: [`take_lock`].)
pub fn lock_holders(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let shard_lock = format!("{LOCK_FILE}-shard-");
    let mut holders: Vec<String> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            if name != LOCK_FILE && !name.starts_with(&shard_lock) {
                return None;
            }
            let path = dir.join(&name);
            let holder = holder(&std::fs::read_to_string(&path).ok()?)?;
            match std::fs::File::open(&path).ok()?.try_lock_shared() {
                Err(std::fs::TryLockError::WouldBlock) => {
                    Some(format!("{holder}, lock file {name}"))
                }
                _ => None,
            }
        })
        .collect();
    holders.sort();
    holders
}

/// The holder a locked lock file names. A process that has just taken the lock writes its name
/// right after, so an empty file is read again for up to a second.
fn wait_for_holder(lock: &Path) -> String {
    for _ in 0..100 {
        if let Some(holder) = holder(&std::fs::read_to_string(lock).unwrap_or_default()) {
            return holder;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    "another process".into()
}

impl std::fmt::Debug for ResultsDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultsDir")
            .field("path", &self.path)
            .finish()
    }
}

impl Drop for ResultsDir {
    /// Syncs the records, then empties the lock file before the lock goes, so that the next
    /// holder knows this process ended cleanly. The file stays: removing it could let two
    /// processes lock two different files.
    fn drop(&mut self) {
        let _ = self.journal.sync();
        let _ = self.lock.set_len(0);
    }
}

/// Takes the operating system's exclusive lock on `lock` (created if missing) without waiting,
/// and writes this process's pid and host into it for the message of the next process that tries.
/// The kernel releases the lock when the process ends, so there is no liveness guess: a lock file
/// that still names a process but is not locked was left by a process that was killed.
fn take_lock(path: &Path, lock: &Path) -> Result<(std::fs::File, Option<String>), StoreError> {
    use std::io::{Read, Seek};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock)
        .map_err(io_error(lock))?;
    // A reader's probe ([`lock_holders`]) holds a shared lock for a moment: a lock still taken
    // after a few tries is held by a process.
    let mut tries = 0;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if tries < 10 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: path.to_path_buf(),
                    holder: wait_for_holder(lock),
                    lock: lock.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(lock)(e)),
        }
    }
    let mut before = String::new();
    file.read_to_string(&mut before).map_err(io_error(lock))?;
    file.set_len(0)
        .and_then(|()| file.rewind())
        // One write: a reader never finds the pid without the host.
        .and_then(|()| {
            file.write_all(format!("{} {}\n", std::process::id(), hostname()).as_bytes())
        })
        .map_err(io_error(lock))?;
    Ok((file, holder(&before)))
}

/// `experiment.json`: what `merge` and `plot` need to rebuild the experiment from its results folder alone.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ExperimentInfo {
    /// The experiment file, relative to the results folder (relative data paths are taken from
    /// its folder), so that the folder names no path of the machine that wrote it and reads the
    /// same from any working folder.
    pub(crate) experiment: PathBuf,
    /// Shards the sweep was split into (1 for an unsharded sweep).
    pub(crate) shards: usize,
}

pub(crate) const EXPERIMENT_INFO: &str = "experiment.json";

/// Writes `experiment.json` and `sweep.toml` when a sweep starts, so that readers of the folder
/// (`report`, `plot`, `verify`, `merge`) can rebuild the experiment while it runs. Shards
/// share one copy, the first one written.
pub(crate) fn write_experiment_info(
    exp: &Experiment,
    shard: Option<Shard>,
) -> Result<(), StoreError> {
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
        write_atomically(&exp.output.join("sweep.toml"), exp.text.as_bytes())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("grbm-sweep-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn one_of_many_threads_gets_the_lock_and_releasing_it_frees_the_folder() {
        let dir = folder("lock");
        // flock locks belong to open files, so threads of one process contend like processes.
        let results: Vec<Result<ResultsDir, StoreError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| ResultsDir::open(&dir, &[], false, None)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let held: Vec<&ResultsDir> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(held.len(), 1, "exactly one holder");
        for refused in results.iter().filter_map(|r| r.as_ref().err()) {
            let message = refused.to_string();
            assert!(
                message.contains(&format!("in use by process {} on", std::process::id())),
                "{message}"
            );
        }
        drop(results);
        let lock = dir.join(LOCK_FILE);
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), "");
        let again = ResultsDir::open(&dir, &[], false, None).unwrap();
        assert_eq!(again.took_over, None, "a released lock is no takeover");
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_manifest_of_another_data_section_is_refused_with_the_values_as_written() {
        let dir = folder("manifest");
        let fields = |source: &str| vec![("test_source", Field::text(source))];
        drop(ResultsDir::open(&dir, &fields("test.csv"), false, None).unwrap());
        drop(ResultsDir::open(&dir, &fields("test.csv"), false, None).unwrap());
        let e = ResultsDir::open(&dir, &fields("other.csv"), false, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(r#"data.test_source was "test.csv", is now "other.csv""#),
            "{e}"
        );
        std::fs::write(dir.join(MANIFEST_FILE), r#"{"source": "[\"x\"]"}"#).unwrap();
        let e = ResultsDir::open(&dir, &fields("test.csv"), false, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("another version of grbm-sweep"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A folder of a data file written before its columns were recorded is completed, not
    /// refused; once recorded, other columns are a different data section.
    #[test]
    fn a_manifest_without_point_columns_is_completed_then_compared() {
        let dir = folder("point-columns");
        let source = || ("source", Field::text("points.csv"));
        let columns = |x: &str| {
            let file = vec![Field::text("points.csv"), Field::text(x), Field::text("y")];
            (
                crate::sweep::POINT_COLUMNS,
                Field::List(vec![Field::List(file)]),
            )
        };
        drop(ResultsDir::open(&dir, &[source()], false, None).unwrap());
        drop(ResultsDir::open(&dir, &[source(), columns("x")], false, None).unwrap());
        let manifest = std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap();
        assert!(manifest.contains("point_columns"), "{manifest}");
        let e = ResultsDir::open(&dir, &[source(), columns("z")], false, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(r#"data.point_columns was [["points.csv", "x", "y"]], is now [["points.csv", "z", "y"]]"#),
            "{e}"
        );
        // The other fields of such a folder are still compared.
        std::fs::remove_dir_all(&dir).unwrap();
        drop(ResultsDir::open(&dir, &[source()], false, None).unwrap());
        let other = ("source", Field::text("other.csv"));
        let e = ResultsDir::open(&dir, &[other, columns("x")], false, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(r#"data.source was "points.csv", is now "other.csv""#)
                && !e.contains("point_columns"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
