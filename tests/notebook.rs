//! experiments/analysis.ipynb executed headless against a small sweep run here: its NumPy
//! recomputation of the best model's log-likelihood must match `test_ll` within 1e-6.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_grbm-sweep");

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
    // The test installs what the notebook needs, as the README's test command must on a fresh machine.
    let probe = Command::new("python3")
        .args([
            "-c",
            "import polars, numpy, matplotlib, nbclient, nbformat, ipykernel",
        ])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        let pip = Command::new("python3")
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(root.join("experiments/requirements.txt"))
            .status()
            .expect("python3 runs");
        assert!(
            pip.success(),
            "pip install -r experiments/requirements.txt failed"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let experiment = "name = \"nb\"\n[data]\nsource = \"gmm_iso\"\nn_train = 1000\nn_test = 300\n\
                      [train]\nepochs = 5\n[eval]\nevery = 1\nsamples = 200\n[grid]\nhidden = [3, 6]\nseed = [0, 1]\n";
    std::fs::write(dir.path().join("nb.toml"), experiment).unwrap();
    let sweep = Command::new(BIN)
        .args(["nb.toml", "--quiet"])
        .current_dir(dir.path())
        .output()
        .unwrap();
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
        stdout.contains("agreement within 1e-6 nats per point"),
        "{stdout}"
    );
    assert!(
        stdout.contains("4 runs"),
        "the notebook read the sweep of this test: {stdout}"
    );
}
