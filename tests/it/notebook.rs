//! experiments/analysis.ipynb executed headless against a small sweep run here: it reads the
//! committed set of tables, scores the best model (by `valid_ll`) with the Python module
//! `grbm_sweep` (which must give the table's `log_z`, `valid_ll` and `test_ll`), and its NumPy
//! recomputation of the same log-likelihoods must match `valid_ll` and `test_ll` within 1e-6.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// The modules the notebook imports and nbclient needs to run it (experiments/requirements.txt,
/// and the Python module of `pip install ./python`).
const MODULES: &str = "polars, numpy, matplotlib, nbclient, nbformat, ipykernel, grbm_sweep";

/// Executes the notebook with nbclient and prints what its cells printed (errors make it fail).
const EXECUTE: &str = r#"
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute()
for cell in nb.cells:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            print(out["text"], end="")
"#;

#[test]
fn analysis_notebook_recomputes_test_ll_from_the_stored_parameters() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Runs where Python has the notebook's packages; GRBM_SWEEP_NOTEBOOK=1 (set by `.ci/run`)
    // makes their absence a failure. The test installs nothing.
    let probe = Command::new("python3")
        .args(["-c", &format!("import {MODULES}")])
        .output();
    let missing = match &probe {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(stderr(out).trim().lines().last().unwrap_or("").to_string()),
        Err(e) => Some(format!("python3 cannot be run ({e})")),
    };
    if let Some(reason) = missing {
        let how =
            "pip install -r experiments/requirements.txt ./python (or bash tests/setup-e2e.sh)";
        assert!(
            !asked_for("GRBM_SWEEP_NOTEBOOK"),
            "GRBM_SWEEP_NOTEBOOK=1, but the notebook cannot run: {reason}; {how}"
        );
        skipped(
            "the notebook test",
            &format!("{reason}; to run it: {how}, or set GRBM_SWEEP_NOTEBOOK=1 to require it"),
        );
        return;
    }

    let dir = tempdir();
    let experiment = "name = \"nb\"\n[data]\nsource = \"gmm_iso\"\nn_train = 1000\nn_test = 300\n\
                      [train]\nepochs = 5\n[eval]\nevery = 1\nsamples = 200\n[grid]\nhidden = [3, 6]\nseed = [0, 1]\n";
    std::fs::write(dir.path().join("nb.toml"), experiment).unwrap();
    let sweep = run(dir.path(), &["nb.toml", "--quiet"]);
    assert!(
        sweep.status.success(),
        "{}",
        String::from_utf8_lossy(&sweep.stderr)
    );

    let out = Command::new("python3")
        .args(["-c", EXECUTE])
        .arg(root.join("experiments/analysis.ipynb"))
        .env("GRBM_RESULTS", dir.path().join("results/nb"))
        .env("MPLBACKEND", "Agg")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the notebook failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("agreement within 1e-6 nats per point")
            && stdout.contains("valid_ll in the table")
            && stdout.contains("test_ll in the table")
            && stdout.contains("recomputed in NumPy")
            && stdout.contains("log Z by enumeration in NumPy"),
        "{stdout}"
    );
    assert!(
        stdout.contains("exact samples from seed")
            && stdout.contains("the rows of samples.parquet"),
        "the notebook's samples come from grbm_sweep and are the table's: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "grbm_sweep.version = {}",
            env!("CARGO_PKG_VERSION")
        )),
        "the notebook shows the provenance: {stdout}"
    );
    assert!(
        stdout.contains("4 runs")
            && stdout.contains("the committed set tables/1/ holds 4 of the grid's 4 runs"),
        "the notebook read the committed set of the sweep of this test: {stdout}"
    );
}
