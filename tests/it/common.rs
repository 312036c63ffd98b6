//! Helpers shared by the modules of the integration tests that drive the real binary and read
//! its Parquet back.

use polars_core::prelude::*;
use polars_io::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_grbm-sweep");

/// A new empty folder under the system's temporary folder (writable by any user), removed with
/// everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn tempdir() -> TempDir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let base = std::env::temp_dir();
    loop {
        let name = format!(
            "grbm-sweep-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        // create_dir (not _all) fails if a folder of that name is left from an earlier process.
        match std::fs::create_dir(base.join(&name)) {
            Ok(()) => return TempDir(base.join(name)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create a folder under {}: {e}", base.display()),
        }
    }
}

/// True when the environment variable `var` is `1`: the end-to-end test that reads it must run,
/// and fails if what it needs is missing.
pub fn asked_for(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v.trim() == "1")
}

/// Says on the terminal that `test` was skipped, why and how to run it: written to stderr
/// directly, so the test harness's capture of passing tests does not swallow it.
pub fn skipped(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped {test}: {reason}");
}

/// The binary in `dir` with `args`, without any shard variables of the calling environment.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX");
    cmd
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("the binary runs")
}

pub fn spawn(dir: &Path, args: &[&str]) -> Child {
    command(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

pub fn read(path: &Path) -> DataFrame {
    ParquetReader::new(
        std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .finish()
    .unwrap()
}

/// The key-value metadata of a Parquet file, in file order.
pub fn parquet_metadata(path: &Path) -> Vec<(String, String)> {
    let mut reader = ParquetReader::new(std::fs::File::open(path).unwrap());
    let metadata = reader.get_metadata().unwrap();
    metadata
        .key_value_metadata()
        .iter()
        .flatten()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect()
}

pub fn strings(df: &DataFrame, name: &str) -> Vec<String> {
    let ca = df.column(name).unwrap().str().unwrap().clone();
    (0..ca.len())
        .map(|i| ca.get(i).unwrap_or_default().to_string())
        .collect()
}

pub fn floats(df: &DataFrame, name: &str) -> Vec<f64> {
    let ca = df.column(name).unwrap().f64().unwrap().clone();
    (0..ca.len())
        .map(|i| ca.get(i).unwrap_or(f64::NAN))
        .collect()
}

/// A column of integers, nulls as -1.
pub fn ints(df: &DataFrame, name: &str) -> Vec<i64> {
    let ca = df.column(name).unwrap().i64().unwrap().clone();
    (0..ca.len()).map(|i| ca.get(i).unwrap_or(-1)).collect()
}

pub fn without_timing(df: DataFrame) -> DataFrame {
    df.drop_many(["train_seconds", "eval_seconds", "ais_seconds"])
}

/// The Parquet tables of a results folder.
pub const TABLES: [&str; 6] = [
    "runs.parquet",
    "configs.parquet",
    "curves.parquet",
    "models.parquet",
    "data.parquet",
    "samples.parquet",
];

/// The tables a results folder has only for some experiments: `rungs.parquet` for a halving
/// search, `ais.parquet` with AIS on.
pub const OPTIONAL_TABLES: [&str; 2] = ["rungs.parquet", "ais.parquet"];

/// Every table of results folder `a` equals that of `b` in every non-timing column, and no run id
/// repeats; each table of [`OPTIONAL_TABLES`] too, which both or neither must have.
pub fn assert_same_tables(a: &Path, b: &Path) {
    let optional: Vec<&str> = OPTIONAL_TABLES
        .into_iter()
        .filter(|table| {
            let exists = a.join(table).exists();
            assert_eq!(exists, b.join(table).exists(), "{table} in one folder only");
            exists
        })
        .collect();
    for table in TABLES.into_iter().chain(optional) {
        let (mut x, mut y) = (read(&a.join(table)), read(&b.join(table)));
        if table == "ais.parquet" {
            x = without_timing(x);
            y = without_timing(y);
        }
        if table == "runs.parquet" {
            x = without_timing(x);
            y = without_timing(y);
            let ids = strings(&x, "run_id");
            let mut unique = ids.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), ids.len(), "duplicate run ids");
        }
        assert_eq!(x.height(), y.height(), "{table}");
        assert!(x.equals_missing(&y), "{table} differs");
    }
}
