//! The published tables of a results folder as one set: written whole into a generation folder of its own (`tables/<N>/`), made visible at one commit point (`tables.json`, naming each file with its size and SHA-256 and the records the set was built from), reached through the plain top-level names, and opened back by readers as the set the commit names, never a mix of two.
//!
//! Layout: `tables.json` (the commit file), `tables/<N>/` (the committed generation: every
//! table, `provenance.json` and the `sweep.toml` the tables were built from),
//! `tables/current` (a symbolic link to `<N>`) and the top-level names (`runs.parquet` ->
//! `tables/current/runs.parquet`, ...), which all move to the next set when `tables/current`
//! is switched, in one rename.

use super::record::RunRecord;
use crate::io::{WriteError, WriteKind, fault, symlink_atomically, sync_dir, write_atomically};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The commit file: the one file whose rename publishes a new set.
pub const COMMIT_FILE: &str = "tables.json";
/// The folder of the generations.
pub const TABLES_DIR: &str = "tables";
/// The link in [`TABLES_DIR`] to the committed generation, which the top-level names go through.
const CURRENT: &str = "current";
/// The commit file's format; a reader refuses one it does not know rather than misread it.
const FORMAT: &str = "grbm-sweep tables v1";

/// The files of a set that the results folder shows under their plain names, for a notebook's
/// one-line `pl.read_parquet("results/sweep/runs.parquet")`. A set's `sweep.toml` (the
/// experiment its tables were built from) has none: the folder's own `sweep.toml` is the
/// experiment of the sweep last started on it, written when it starts.
pub const TOP_LEVEL: [&str; 9] = [
    "runs.parquet",
    "configs.parquet",
    "curves.parquet",
    "models.parquet",
    "samples.parquet",
    "data.parquet",
    "rungs.parquet",
    "ais.parquet",
    "provenance.json",
];

/// A set of tables that cannot be written, or a commit file that cannot be read, named.
#[derive(Debug, thiserror::Error)]
pub enum TableSetError {
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged ({message}); `grbm-sweep merge {dir}` writes the tables again")]
    Damaged {
        path: PathBuf,
        dir: PathBuf,
        message: String,
    },
}

impl From<WriteError> for TableSetError {
    fn from(e: WriteError) -> Self {
        TableSetError::Write {
            path: e.path,
            source: e.source,
        }
    }
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> TableSetError + '_ {
    move |source| TableSetError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> TableSetError + '_ {
    move |source| TableSetError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// `tables.json`: which generation is the committed set, each of its files, and what it was
/// built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub format: String,
    /// The set's folder is `tables/<generation>/`.
    pub generation: u64,
    /// In the order they were written.
    pub files: Vec<CommittedFile>,
    /// Runs of the experiment's grid.
    pub runs: usize,
    /// Records the set was built from: one row each in `runs.parquet`.
    pub records: usize,
    /// The SHA-256 of those records' ids and statuses ([`records_digest`]).
    pub records_sha256: String,
}

/// One file of a committed set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommittedFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The SHA-256 of `RUN_ID STATUS\n` for each record in order, in hex: the same for the same
/// runs with the same outcomes, whatever the tables' bytes.
pub fn records_digest(records: &[RunRecord]) -> String {
    let mut hash = Sha256::new();
    for r in records {
        hash.update(format!("{} {}\n", r.spec.run_id, r.status.name()).as_bytes());
    }
    hex(&hash.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The commit of results folder `dir`; `None` if it has none.
pub fn read_commit(dir: &Path) -> Result<Option<Commit>, TableSetError> {
    let path = dir.join(COMMIT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(&path)(e)),
    };
    let damaged = |message: String| TableSetError::Damaged {
        path: path.clone(),
        dir: dir.to_path_buf(),
        message,
    };
    let commit: Commit = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
    if commit.format != FORMAT {
        return Err(damaged(format!(
            "its format is {:?}, this version of grbm-sweep reads {FORMAT:?}",
            commit.format
        )));
    }
    Ok(Some(commit))
}

/// A new set of tables being written: nothing of it is visible until [`TableSet::commit`].
/// Only the holder of the folder's main lock writes one, so generations never race.
#[derive(Debug)]
pub struct TableSet {
    dir: PathBuf,
    generation: u64,
    folder: PathBuf,
    names: Vec<String>,
}

impl TableSet {
    /// Starts a set in results folder `dir`: a new, empty generation folder, numbered after every
    /// generation there (committed or left half-written by a killed process), so that a number
    /// is never reused while a reader may still hold a file of it.
    pub fn begin(dir: &Path) -> Result<Self, TableSetError> {
        let tables = dir.join(TABLES_DIR);
        if !tables.is_dir() {
            std::fs::create_dir_all(&tables).map_err(write_error(&tables))?;
            sync_dir(dir)?;
        }
        // A damaged commit file is replaced by this set's: it names no generation to keep.
        let committed = read_commit(dir).ok().flatten().map_or(0, |c| c.generation);
        let generation = 1 + generations(&tables)?.into_iter().fold(committed, u64::max);
        let folder = tables.join(generation.to_string());
        std::fs::create_dir(&folder).map_err(write_error(&folder))?;
        sync_dir(&tables)?;
        Ok(TableSet {
            dir: dir.to_path_buf(),
            generation,
            folder,
            names: Vec::new(),
        })
    }

    /// Where file `name` of the set is written.
    pub fn path(&self, name: &str) -> PathBuf {
        self.folder.join(name)
    }

    /// Creates file `name` of the set, empty, for the caller to fill completely before
    /// [`TableSet::commit`] (which flushes it to the disk); a writer that streams row groups
    /// writes into it as they come.
    pub fn create(&mut self, name: &str) -> Result<File, TableSetError> {
        let path = self.path(name);
        fault(WriteKind::Table).map_err(write_error(&path))?;
        let file = File::create(&path).map_err(write_error(&path))?;
        self.names.push(name.to_string());
        Ok(file)
    }

    /// Writes file `name` of the set whole with `write`.
    pub fn write_with(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut File) -> std::io::Result<()>,
    ) -> Result<(), TableSetError> {
        let mut file = self.create(name)?;
        write(&mut file).map_err(write_error(&self.path(name)))
    }

    /// Publishes the set: every file flushed to the disk and summed, then the commit file
    /// written to a temporary name, flushed and renamed over `tables.json` (the one commit
    /// point: before it readers see the previous set, after it this one), then the top-level
    /// names moved to it and the older generations removed. `records` are the records the set
    /// was built from, of `runs` runs in the grid.
    pub fn commit(self, records: &[RunRecord], runs: usize) -> Result<Commit, TableSetError> {
        let files = self
            .names
            .iter()
            .map(|name| seal(&self.folder, name))
            .collect::<Result<Vec<_>, _>>()?;
        sync_dir(&self.folder)?;
        let commit = Commit {
            format: FORMAT.into(),
            generation: self.generation,
            files,
            runs,
            records: records.len(),
            records_sha256: records_digest(records),
        };
        let path = self.dir.join(COMMIT_FILE);
        let text = serde_json::to_string_pretty(&commit).expect("a commit serializes") + "\n";
        fault(WriteKind::Table).map_err(write_error(&path))?;
        write_atomically(&path, text.as_bytes())?;
        // Past the commit point: a kill from here on leaves the plain names on the previous
        // set, whole, until the next holder of the folder's lock catches up ([`recover`]).
        let current = self.dir.join(TABLES_DIR).join(CURRENT);
        fault(WriteKind::Table).map_err(write_error(&current))?;
        show(&self.dir, &commit)?;
        Ok(commit)
    }
}

/// The numbers of the generation folders under `tables`.
fn generations(tables: &Path) -> Result<Vec<u64>, TableSetError> {
    let entries = std::fs::read_dir(tables).map_err(read_error(tables))?;
    let mut numbers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_error(tables))?;
        if let Some(n) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
            numbers.push(n);
        }
    }
    Ok(numbers)
}

/// File `name` of a set, flushed to the disk, with its size and SHA-256.
fn seal(folder: &Path, name: &str) -> Result<CommittedFile, TableSetError> {
    let path = folder.join(name);
    let file = File::open(&path).map_err(read_error(&path))?;
    file.sync_all().map_err(write_error(&path))?;
    let (bytes, sha256) = sum(&file).map_err(read_error(&path))?;
    Ok(CommittedFile {
        name: name.to_string(),
        bytes,
        sha256,
    })
}

/// The size and SHA-256 of an open file, read from its start whatever its position.
fn sum(file: &File) -> std::io::Result<(u64, String)> {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    loop {
        let n = file.read_at(&mut buf, at)?;
        if n == 0 {
            return Ok((at, hex(&hash.finalize())));
        }
        hash.update(&buf[..n]);
        at += n as u64;
    }
}

/// Moves the plain names of results folder `dir` to the committed set: `tables/current` is
/// switched to its generation in one rename (every top-level name is a link through it, so
/// they all move at once), the top-level links are made where missing, and every other entry
/// of `tables/` (older generations, half-written ones, temporary files) is removed. A
/// top-level file that is no link (tables of an earlier version) is removed before any link
/// is made, so that a kill in between leaves names missing, never two sets side by side.
fn show(dir: &Path, commit: &Commit) -> Result<(), TableSetError> {
    let tables = dir.join(TABLES_DIR);
    let target = PathBuf::from(commit.generation.to_string());
    let current = tables.join(CURRENT);
    if std::fs::read_link(&current).ok().as_ref() != Some(&target) {
        symlink_atomically(&current, &target)?;
    }
    let link = |name: &str| Path::new(TABLES_DIR).join(CURRENT).join(name);
    let wanted = |name: &str| commit.files.iter().any(|f| f.name == name);
    // Files that are no links, and links to a file this set lacks (`rungs.parquet` of an
    // earlier halving search).
    let stale = TOP_LEVEL.iter().filter(|name| {
        let path = dir.join(name);
        match std::fs::read_link(&path) {
            Ok(_) => !wanted(name),
            Err(_) => path.symlink_metadata().is_ok(),
        }
    });
    for name in stale {
        let path = dir.join(name);
        std::fs::remove_file(&path).map_err(write_error(&path))?;
    }
    for name in TOP_LEVEL.iter().filter(|n| wanted(n)) {
        if std::fs::read_link(dir.join(name)).ok() != Some(link(name)) {
            symlink_atomically(&dir.join(name), &link(name))?;
        }
    }
    remove_other_generations(&tables, Some(commit.generation))
}

/// Removes every entry of `tables` but `current` and generation `keep`.
fn remove_other_generations(tables: &Path, keep: Option<u64>) -> Result<(), TableSetError> {
    let kept = keep.map(|g| g.to_string());
    let entries = match std::fs::read_dir(tables) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_error(tables)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(read_error(tables))?;
        let name = entry.file_name();
        if name == CURRENT || kept.as_deref().is_some_and(|k| name == k) {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(write_error(&path))?;
    }
    Ok(())
}

/// Whether `name` is a top-level name of the published tables (the commit file or a plain
/// name), which only the holder of the folder's main lock writes.
pub fn is_published_name(name: &str) -> bool {
    name == COMMIT_FILE || TOP_LEVEL.contains(&name)
}

/// What the holder of a results folder's main lock does first: finishes the publication of a
/// set whose writer was killed after its commit point, or removes the half-written generation
/// of one killed before it. A damaged commit file is left for readers to report and for the
/// next set to replace.
pub fn recover(dir: &Path) -> Result<(), TableSetError> {
    let tables = dir.join(TABLES_DIR);
    match read_commit(dir) {
        Ok(Some(commit)) if tables.join(commit.generation.to_string()).is_dir() => {
            show(dir, &commit)
        }
        Ok(None) => remove_other_generations(&tables, None),
        _ => Ok(()),
    }
}

/// Removes every set of tables from results folder `dir` (`--fresh`).
pub fn discard(dir: &Path) -> Result<(), TableSetError> {
    for name in TOP_LEVEL.iter().chain([&COMMIT_FILE]) {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(write_error(&path)(e));
            }
            _ => {}
        }
    }
    let tables = dir.join(TABLES_DIR);
    match std::fs::remove_dir_all(&tables) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(write_error(&tables)(e)),
        _ => Ok(()),
    }
}

/// The tables a reader opens: the files of the committed set, every one opened at once (a set
/// committed meanwhile removes this one's folder, but not the files a reader holds open), or
/// the top-level files of a folder written by an earlier version, which has no commit file.
#[derive(Debug)]
pub struct Tables {
    /// `None` for the tables of an earlier version, which nothing ties together.
    pub commit: Option<Commit>,
    folder: PathBuf,
    files: Vec<(String, File)>,
    /// Files of the commit that are missing or whose size differs from the commit's.
    pub problems: Vec<String>,
}

/// How many times a reader starts over when each time a newer set was committed between its
/// reading the commit file and opening the files.
const ATTEMPTS: usize = 10;

/// Opens the tables of results folder `dir`: those of its committed set, sizes checked, or of
/// an earlier version's folder; `None` when it has none.
pub fn open_tables(dir: &Path) -> Result<Option<Tables>, TableSetError> {
    for attempt in 1..=ATTEMPTS {
        let Some(commit) = read_commit(dir)? else {
            return Ok(unchecked(dir));
        };
        let folder = dir.join(TABLES_DIR).join(commit.generation.to_string());
        let (mut files, mut problems) = (Vec::new(), Vec::new());
        for f in &commit.files {
            let path = folder.join(&f.name);
            match File::open(&path) {
                Ok(file) => {
                    let bytes = file.metadata().map_err(read_error(&path))?.len();
                    if bytes != f.bytes {
                        problems.push(format!(
                            "{} is {bytes} bytes, but {COMMIT_FILE} gives {}: it changed after \
                             the set was committed",
                            path.display(),
                            f.bytes
                        ));
                    }
                    files.push((f.name.clone(), file));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => problems.push(format!(
                    "{} is missing, though {COMMIT_FILE} names it",
                    path.display()
                )),
                Err(e) => return Err(read_error(&path)(e)),
            }
        }
        let superseded = || {
            read_commit(dir)
                .ok()
                .flatten()
                .is_some_and(|c| c.generation != commit.generation)
        };
        if files.len() == commit.files.len() || attempt == ATTEMPTS || !superseded() {
            return Ok(Some(Tables {
                commit: Some(commit),
                folder,
                files,
                problems,
            }));
        }
    }
    unreachable!("the last attempt returns")
}

/// The top-level tables of a folder without a commit file (written by an earlier version), if
/// it has `runs.parquet`.
fn unchecked(dir: &Path) -> Option<Tables> {
    File::open(dir.join("runs.parquet")).ok()?;
    let files = TOP_LEVEL
        .iter()
        .filter_map(|name| Some((name.to_string(), File::open(dir.join(name)).ok()?)))
        .collect();
    Some(Tables {
        commit: None,
        folder: dir.to_path_buf(),
        files,
        problems: Vec::new(),
    })
}

impl Tables {
    /// File `name` of the set, open, if the set has it.
    pub fn file(&self, name: &str) -> Option<&File> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    /// Where file `name` of the set is (for messages: read it through [`Tables::file`]).
    pub fn path(&self, name: &str) -> PathBuf {
        self.folder.join(name)
    }

    /// The text of file `name` of the set, if it has it.
    pub fn read_to_string(&self, name: &str) -> Option<Result<String, TableSetError>> {
        let file = self.file(name)?;
        let mut bytes = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match file.read_at(&mut buf, bytes.len() as u64) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) => return Some(Err(read_error(&self.path(name))(e))),
            }
        }
        Some(Ok(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The files whose SHA-256 differs from the one the commit gives (each read whole), with
    /// [`Tables::problems`]; none for the tables of an earlier version, which have no sums.
    pub fn checksum_problems(&self) -> Result<Vec<String>, TableSetError> {
        let Some(commit) = &self.commit else {
            return Ok(Vec::new());
        };
        let mut problems = self.problems.clone();
        for (name, file) in &self.files {
            let path = self.path(name);
            let (bytes, sha256) = sum(file).map_err(read_error(&path))?;
            // A file of another size is one of the problems already.
            let committed = commit.files.iter().find(|f| &f.name == name);
            if committed.is_some_and(|f| f.bytes == bytes && f.sha256 != sha256) {
                problems.push(format!(
                    "{}: its SHA-256 differs from the one {COMMIT_FILE} gives: it changed after \
                     the set was committed",
                    path.display()
                ));
            }
        }
        Ok(problems)
    }
}

/// What a reader of results folder `dir` is told besides what it reads: whether a process
/// holds the folder now (`holders`, as `store::lock_holders` names them), and whether its
/// `tables` (as [`open_tables`] opened them) are the set built from the `records` the reader
/// read, of the grid's `runs` runs. Nothing for a finished folder whose tables agree.
pub fn notes(
    dir: &Path,
    tables: &Result<Option<Tables>, TableSetError>,
    records: &[RunRecord],
    runs: usize,
    holders: &[String],
) -> Vec<String> {
    let shown = dir.display();
    let mut notes = Vec::new();
    let tail = if holders.is_empty() {
        format!(
            "the sweep was stopped before writing its tables, or its shards are not merged; \
             `grbm-sweep merge {shown}` writes them"
        )
    } else {
        notes.push(format!(
            "a sweep is in progress on {shown} ({}): {} of {runs} runs are saved so far",
            holders.join("; "),
            records.len()
        ));
        format!(
            "the sweep writes its tables when it ends (shards: `grbm-sweep merge {shown}` once \
             every shard is done)"
        )
    };
    match tables {
        Err(e) => notes.push(e.to_string()),
        Ok(None) => notes.push(format!("{shown} has no tables yet: {tail}")),
        Ok(Some(Tables { commit: None, .. })) => notes.push(format!(
            "the tables in {shown} were written by an earlier version of grbm-sweep, without \
             {COMMIT_FILE}, so whether they belong together is not checked; \
             `grbm-sweep merge {shown}` writes them again as one committed set"
        )),
        Ok(Some(
            t @ Tables {
                commit: Some(c), ..
            },
        )) => {
            if c.records != records.len() {
                notes.push(format!(
                    "the tables hold {} runs but the records hold {}: {tail}",
                    c.records,
                    records.len()
                ));
            } else if c.records_sha256 != records_digest(records) {
                notes.push(format!(
                    "the tables and the records hold {} runs each, but not the same runs or \
                     not with the same outcomes: {tail}",
                    c.records
                ));
            }
            notes.extend(t.problems.iter().cloned());
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::record::spec_named;

    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("grbm-sweep-set-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn record(run_id: &str) -> RunRecord {
        RunRecord::failed(spec_named(run_id), "test".into())
    }

    /// A set of `files` (name, text), committed.
    fn publish(dir: &Path, files: &[(&str, &str)], records: &[RunRecord]) -> Commit {
        let mut set = TableSet::begin(dir).unwrap();
        for (name, text) in files {
            set.write_with(name, |f| std::io::Write::write_all(f, text.as_bytes()))
                .unwrap();
        }
        set.commit(records, 4).unwrap()
    }

    fn text(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn a_set_is_visible_from_its_commit_and_replaces_the_previous_one_whole() {
        let dir = folder("commit");
        let first = publish(
            &dir,
            &[("runs.parquet", "one"), ("provenance.json", "{}")],
            &[record("a")],
        );
        assert_eq!((first.generation, first.records, first.runs), (1, 1, 4));
        assert_eq!(first.files[0].bytes, 3);
        assert_eq!(
            first.files[0].sha256,
            crate::sweep::provenance::sha256_hex(b"one")
        );
        assert_eq!(read_commit(&dir).unwrap(), Some(first.clone()));
        assert_eq!(text(&dir.join("runs.parquet")), "one");

        // Written but not committed: readers still see the first set, whole.
        let mut set = TableSet::begin(&dir).unwrap();
        set.write_with("runs.parquet", |f| std::io::Write::write_all(f, b"two!"))
            .unwrap();
        let tables = open_tables(&dir).unwrap().unwrap();
        assert_eq!(tables.commit.as_ref().unwrap().generation, 1);
        assert_eq!(
            tables.read_to_string("runs.parquet").unwrap().unwrap(),
            "one"
        );
        assert_eq!(text(&dir.join("runs.parquet")), "one");
        let second = set.commit(&[record("a"), record("b")], 4).unwrap();
        assert_eq!(second.generation, 2);

        // The first set's files stay readable through the handles a reader holds.
        assert_eq!(
            tables.read_to_string("runs.parquet").unwrap().unwrap(),
            "one"
        );
        assert_eq!(text(&dir.join("runs.parquet")), "two!");
        assert!(
            !dir.join("provenance.json").exists(),
            "a name the new set lacks is gone"
        );
        let left: Vec<_> = std::fs::read_dir(dir.join(TABLES_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");

        // A file changed after its commit: a size check cannot see it, its sum can.
        std::fs::write(dir.join("tables/2/runs.parquet"), "owt!").unwrap();
        let tables = open_tables(&dir).unwrap().unwrap();
        assert!(tables.problems.is_empty());
        let problems = tables.checksum_problems().unwrap();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("runs.parquet: its SHA-256 differs"),
            "{problems:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn recover_finishes_a_publication_cut_after_its_commit_and_drops_half_written_sets() {
        let dir = folder("recover");
        std::fs::create_dir_all(dir.join("tables/1")).unwrap();
        std::fs::write(dir.join("tables/1/runs.parquet"), "half").unwrap();
        recover(&dir).unwrap();
        assert!(
            !dir.join("tables/1").exists(),
            "a set never committed is removed"
        );

        publish(&dir, &[("runs.parquet", "one")], &[]);
        publish(&dir, &[("runs.parquet", "two")], &[]);
        // As if killed right after the commit point: the plain names still on generation 1,
        // which is still there, and a half-written generation 3.
        std::fs::create_dir_all(dir.join("tables/1")).unwrap();
        std::fs::write(dir.join("tables/1/runs.parquet"), "one").unwrap();
        symlink_atomically(&dir.join("tables/current"), Path::new("1")).unwrap();
        std::fs::create_dir_all(dir.join("tables/3")).unwrap();
        assert_eq!(text(&dir.join("runs.parquet")), "one");
        recover(&dir).unwrap();
        assert_eq!(text(&dir.join("runs.parquet")), "two");
        assert!(!dir.join("tables/1").exists() && !dir.join("tables/3").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tables_of_an_earlier_version_are_read_then_replaced_by_links() {
        let dir = folder("earlier");
        std::fs::write(dir.join("runs.parquet"), "old").unwrap();
        std::fs::write(dir.join("curves.parquet"), "old").unwrap();
        let tables = open_tables(&dir).unwrap().unwrap();
        assert_eq!(tables.commit, None);
        assert_eq!(
            tables.read_to_string("curves.parquet").unwrap().unwrap(),
            "old"
        );
        publish(&dir, &[("runs.parquet", "new")], &[]);
        assert_eq!(text(&dir.join("runs.parquet")), "new");
        assert!(
            dir.join("runs.parquet")
                .symlink_metadata()
                .unwrap()
                .is_symlink()
                && !dir.join("curves.parquet").exists(),
            "no table of the earlier set is left beside the new one"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn notes_tell_a_sweep_in_progress_and_tables_that_disagree_with_the_records() {
        let dir = folder("notes");
        let none = notes(&dir, &Ok(None), &[], 4, &[]);
        assert_eq!(
            none,
            [format!(
                "{0} has no tables yet: the sweep was stopped before writing its tables, or its \
                 shards are not merged; `grbm-sweep merge {0}` writes them",
                dir.display()
            )]
        );
        let running = notes(
            &dir,
            &Ok(None),
            &[record("a")],
            4,
            &["process 7 on h".into()],
        );
        assert!(running[0].ends_with("(process 7 on h): 1 of 4 runs are saved so far"));
        assert!(running[1].contains("the sweep writes its tables when it ends"));

        publish(&dir, &[("runs.parquet", "x")], &[record("a"), record("b")]);
        let tables = open_tables(&dir);
        let both = [record("a"), record("b")];
        assert!(notes(&dir, &tables, &both, 4, &[]).is_empty());
        let more = [record("a"), record("b"), record("c")];
        assert!(
            notes(&dir, &tables, &more, 4, &[])[0].starts_with(
                "the tables hold 2 runs but the records hold 3: the sweep was stopped"
            )
        );
        let other = [record("a"), record("c")];
        assert!(notes(&dir, &tables, &other, 4, &[])[0].contains("not the same runs"));
        std::fs::write(dir.join(COMMIT_FILE), "{").unwrap();
        let damaged = notes(&dir, &open_tables(&dir), &both, 4, &[]);
        assert!(damaged[0].contains("tables.json is damaged"), "{damaged:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
