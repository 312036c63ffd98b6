//! The Python module's tests (`python/tests/`, pytest) against this build's binary: the module
//! installed in `python3` (`pip install ./python`, docs/python.md) must reproduce a sweep's tables
//! and `eval`/`sample` bit for bit. Skipped with one line where the module or pytest is missing;
//! `GRBM_SWEEP_PYTHON=1` (set by `.ci/run`) makes that a failure.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// What the tests import: the module, the test runner and the Parquet reader of
/// `Model.from_results`.
const MODULES: &str = "grbm_sweep, pytest, polars, numpy";

#[test]
fn python_module_reproduces_the_tables_and_the_command_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let probe = Command::new("python3")
        .args(["-c", &format!("import {MODULES}")])
        .current_dir(root)
        .output();
    let missing = match &probe {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(stderr(out).trim().lines().last().unwrap_or("").to_string()),
        Err(e) => Some(format!("python3 cannot be run ({e})")),
    };
    if let Some(reason) = missing {
        let how = "pip install ./python pytest polars (or bash tests/setup-e2e.sh)";
        assert!(
            !asked_for("GRBM_SWEEP_PYTHON"),
            "GRBM_SWEEP_PYTHON=1, but the Python module's tests cannot run: {reason}; {how}"
        );
        skipped(
            "the Python module's tests",
            &format!("{reason}; to run them: {how}, or set GRBM_SWEEP_PYTHON=1 to require them"),
        );
        return;
    }

    let out = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "python/tests",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(root)
        .env("GRBM_SWEEP_BIN", BIN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Python module's tests failed:\n{stdout}\n{}",
        stderr(&out)
    );
    // Every test ran: a skip (of the binary, of polars) would hide what this test is for. The
    // one skip allowed is of the `eval`/`sample` comparisons by a binary without those commands
    // (a branch made before them).
    let skips: Vec<&str> = (stdout.lines())
        .filter(|l| l.starts_with("SKIPPED") && !l.contains("(a binary built before them)"))
        .collect();
    assert!(
        skips.is_empty(),
        "the Python module's tests skipped some:\n{stdout}"
    );
    eprintln!("{}", stdout.trim().lines().last().unwrap_or(""));
}
