//! Helpers shared by the integration tests that drive the real binary and read its Parquet back.
#![allow(dead_code)] // each test crate uses its own subset

use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_grbm-sweep");

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

pub fn without_timing(df: DataFrame) -> DataFrame {
    df.drop_many(["train_seconds", "eval_seconds"])
}

/// Every table of results folder `a` equals that of `b` in every non-timing column, and no run id repeats.
pub fn assert_same_tables(a: &Path, b: &Path) {
    for table in [
        "runs.parquet",
        "curves.parquet",
        "models.parquet",
        "data.parquet",
        "samples.parquet",
    ] {
        let (mut x, mut y) = (read(&a.join(table)), read(&b.join(table)));
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
