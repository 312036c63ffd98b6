//! Sharded sweeps through the real binary: shards side by side in one folder, `merge`, and the
//! scripts of `grbm-sweep slurm` submitted to a real single-node Slurm (tests/slurm/cluster.sh;
//! only with GRBM_SWEEP_SLURM=1).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn experiment(output: &str) -> String {
    format!(
        "name = \"sharded\"\noutput = \"{output}\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 600\nn_test = 200\nseed = 5\n\n\
         [train]\nepochs = 4\nbatch_size = 50\nk = 2\n\n[eval]\nevery = 2\n\n[grid]\nhidden = [2, 4, 8]\nlr = [0.005, 0.01]\nseed = [0, 1]\n"
    )
}

/// [`experiment`] with the Gibbs sampler from noise and the two Metropolis-Hastings samplers,
/// whose accept tests draw from the run's stream too.
fn experiment_with_samplers(output: &str) -> String {
    experiment(output) + "sampler = [\"noise\", \"langevin\", \"gibbs_langevin\"]\n"
}

/// A single-process sweep of `experiment`, the reference every merge must equal.
fn reference(dir: &Path, experiment: fn(&str) -> String) -> PathBuf {
    std::fs::write(dir.join("local.toml"), experiment("local")).unwrap();
    let out = run(dir, &["local.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join("local")
}

#[test]
fn shards_side_by_side_then_merge_equal_a_single_process_sweep() {
    let dir = tempdir();
    let local = reference(dir.path(), experiment_with_samplers);
    std::fs::write(dir.path().join("e.toml"), experiment_with_samplers("out")).unwrap();
    // Three shards at once in one folder, with different thread counts; the third through the
    // Kubernetes variable, the first two through Slurm's.
    let mut children = Vec::new();
    for (index, threads) in [(0, "1"), (1, "2")] {
        let mut cmd = command(dir.path(), &["e.toml", "--quiet", "--threads", threads]);
        cmd.env("SLURM_ARRAY_TASK_ID", index.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3");
        children.push(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let mut k8s = command(dir.path(), &["e.toml", "--quiet", "--shard-count", "3"]);
    children.push(
        k8s.env("JOB_COMPLETION_INDEX", "2")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "shard {i}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("shard {i}/3")),
            "the summary names the shard"
        );
    }
    assert!(
        !dir.path().join("out/runs.parquet").exists(),
        "shards write no shared table"
    );
    let out = run(dir.path(), &["merge", "out"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_tables(&dir.path().join("out"), &local);
    // The Metropolis-Hastings samplers report how many proposals they accepted; the Gibbs one
    // has no such number.
    let runs = read(&local.join("runs.parquet"));
    for (sampler, rate) in strings(&runs, "sampler")
        .iter()
        .zip(floats(&runs, "accept_rate"))
    {
        match sampler.as_str() {
            "noise" => assert!(rate.is_nan(), "noise has an accept rate {rate}"),
            _ => assert!(rate > 0.0 && rate <= 1.0, "{sampler} accepted {rate}"),
        }
    }
}

/// Points of a smooth closed curve, `rows` of them, as CSV with a header.
fn curve_csv(rows: usize, phase: f64) -> String {
    let points: String = (0..rows)
        .map(|i| {
            let t = i as f64 * 0.37 + phase;
            format!("{},{}\n", 3.0 * t.sin(), 2.0 * (1.7 * t).cos())
        })
        .collect();
    format!("x,y\n{points}")
}

#[test]
fn relative_data_paths_survive_shards_merge_plot_verify_and_reruns_from_other_working_folders() {
    let dir = tempdir();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    write(&project, "train.csv", &curve_csv(400, 0.0));
    write(&project, "test.csv", &curve_csv(100, 0.2));
    let experiment = |output: &str| {
        format!(
            "name = \"files\"\noutput = \"{output}\"\n\n[data]\nsource = \"train.csv\"\ntest_source = \"test.csv\"\n\n\
             [train]\nepochs = 3\nbatch_size = 50\nk = 2\n\n[eval]\nevery = 1\nsamples = 50\n\n[grid]\nhidden = [2, 4]\nseed = [0, 1]\n"
        )
    };
    write(&project, "e.toml", &experiment("out"));
    write(&project, "local.toml", &experiment("local"));
    let local = run(&project, &["local.toml", "--quiet"]);
    assert!(local.status.success(), "{}", stderr(&local));

    // Shard 0 from the experiment's folder, shard 1 from its parent: both write project/out.
    let first = run(&project, &["e.toml", "--quiet", "--shard", "0/2"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let second = run(dir.path(), &["project/e.toml", "--quiet", "--shard", "1/2"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let results = project.join("out");
    let info = std::fs::read_to_string(results.join("experiment.json")).unwrap();
    assert!(
        info.contains("\"../e.toml\"") && !info.contains(&*dir.path().to_string_lossy()),
        "experiment.json names the experiment relative to the folder: {info}"
    );

    // Merge and plot from a folder that is neither.
    let merged = run(&elsewhere, &["merge", "../project/out"]);
    assert!(merged.status.success(), "{}", stderr(&merged));
    assert_same_tables(&results, &project.join("local"));
    let plotted = run(&elsewhere, &["plot", "../project/out", "--top", "1"]);
    assert!(plotted.status.success(), "{}", stderr(&plotted));
    assert!(
        String::from_utf8_lossy(&plotted.stdout).contains("density-"),
        "plot drew the best run: {}",
        String::from_utf8_lossy(&plotted.stdout)
    );
    // Every run of the merged shards is recomputed from the folder alone, to the same bits.
    let verified = run(&elsewhere, &["verify", "../project/out", "--sample", "4"]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert_eq!(
        String::from_utf8_lossy(&verified.stdout)
            .matches(" same\n")
            .count(),
        4,
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // A rerun from yet another folder finds every run done.
    let rerun = run(&elsewhere, &["../project/e.toml", "--quiet"]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let summary = String::from_utf8_lossy(&rerun.stdout);
    assert!(
        summary.contains("(4 reused from earlier results)"),
        "{summary}"
    );
}

#[test]
fn merge_reports_missing_runs_by_shard_unless_partial() {
    let dir = tempdir();
    std::fs::write(dir.path().join("e.toml"), experiment("out")).unwrap();
    for shard in ["0/4", "2/4"] {
        let out = run(dir.path(), &["e.toml", "--quiet", "--shard", shard]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = run(dir.path(), &["merge", "out"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("shard 1/4:") && err.contains("shard 3/4:") && !err.contains("shard 0/4:"),
        "{err}"
    );
    let out = run(dir.path(), &["merge", "out", "--partial"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = read(&dir.path().join("out/runs.parquet")).height();
    assert!(
        rows > 0 && rows < 12,
        "the partial tables hold only the finished runs ({rows})"
    );
}

#[test]
fn a_second_process_for_the_same_shard_is_refused_and_fresh_is_refused_with_shards() {
    let dir = tempdir();
    let slow = experiment("out").replace("epochs = 4", "epochs = 400");
    std::fs::write(dir.path().join("e.toml"), slow).unwrap();
    let mut first = spawn(
        dir.path(),
        &["e.toml", "--quiet", "--shard", "1/2", "--threads", "1"],
    );
    let lock = dir.path().join("out/.lock-shard-1-of-2");
    let start = Instant::now();
    // The holder writes its pid into the file right after it takes the lock.
    while std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the shard never took its lock"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let same = run(dir.path(), &["e.toml", "--quiet", "--shard", "1/2"]);
    let fresh = run(
        dir.path(),
        &["e.toml", "--quiet", "--shard", "0/2", "--fresh"],
    );
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(same.status.code(), Some(2));
    assert!(
        stderr(&same).contains(&format!("in use by process {}", first.id())),
        "{}",
        stderr(&same)
    );
    assert_eq!(fresh.status.code(), Some(2));
    assert!(
        stderr(&fresh).contains("--fresh cannot be combined with --shard"),
        "{}",
        stderr(&fresh)
    );
}

#[test]
fn slurm_writes_array_and_merge_scripts_with_the_options() {
    let dir = tempdir();
    std::fs::write(dir.path().join("e.toml"), experiment("out")).unwrap();
    let args = [
        "slurm",
        "e.toml",
        "--tasks",
        "5",
        "--cpus-per-task",
        "4",
        "--time",
        "01:30:00",
        "--partition",
        "short",
        "--max-concurrent",
        "2",
        "--account",
        "lab",
        "--set",
        "train.epochs=2",
    ];
    let out = run(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("submit with:\n  bash"));
    let array = std::fs::read_to_string(dir.path().join("out/slurm/array.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=0-4%2",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --time=01:30:00",
        "#SBATCH --partition=short",
        "#SBATCH --account=lab",
        "task-%A_%a.out",
        "#SBATCH --signal=B:TERM@300",
        "e.toml' --set 'train.epochs=2' --quiet",
        "--threads \"${SLURM_CPUS_PER_TASK:-4}\"",
    ] {
        assert!(array.contains(line), "array.sbatch lacks {line}:\n{array}");
    }
    let submit = std::fs::read_to_string(dir.path().join("out/slurm/submit.sh")).unwrap();
    assert!(submit.contains("--dependency=afterok:"), "{submit}");
    let merge = std::fs::read_to_string(dir.path().join("out/slurm/merge.sbatch")).unwrap();
    assert!(merge.contains(" merge "), "{merge}");
}

/// End to end on a real Slurm: the generated scripts, 3 array tasks, the merge job after them.
/// Runs only with GRBM_SWEEP_SLURM=1 (it starts daemons as root); `.ci/run` sets it.
#[test]
fn slurm_array_job_and_merge_on_a_real_cluster_equal_a_local_sweep() {
    if let Some((_cluster, dir)) = slurm_cluster() {
        slurm_equals_local(&dir, &experiment("local"), &experiment("out"), 1);
    }
}

/// A halving search on the real Slurm: one array job per rung, each after the one before, then
/// the merge; the tables equal those of the same search in one process.
#[test]
fn slurm_halving_search_meets_at_every_rung_and_equals_a_local_search() {
    if let Some((_cluster, dir)) = slurm_cluster() {
        let halving = |output: &str| {
            experiment(output).replace("epochs = 4", "epochs = 8")
                + "\n[search]\nstrategy = \"halving\"\nmin_epochs = 2\neta = 2\n"
        };
        // Rungs at 2, 4 and 8 epochs.
        slurm_equals_local(&dir, &halving("local"), &halving("out"), 3);
    }
}

/// The one test cluster: the real-Slurm tests take turns (two starting it at once collide).
static CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The test cluster, up and held by this test, and a folder for it; `None` (the test skipped)
/// unless GRBM_SWEEP_SLURM=1.
fn slurm_cluster() -> Option<(std::sync::MutexGuard<'static, ()>, TempDir)> {
    if !asked_for("GRBM_SWEEP_SLURM") {
        skipped(
            "the real-Slurm tests",
            "set GRBM_SWEEP_SLURM=1 to run them (as root, after `bash tests/setup-e2e.sh`)",
        );
        return None;
    }
    // A test that failed holding the cluster leaves it usable for the next one.
    let held = CLUSTER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Command::new("bash")
        .arg(root.join("tests/slurm/cluster.sh"))
        .arg("start")
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "GRBM_SWEEP_SLURM=1, but the test cluster did not start (is `bash tests/setup-e2e.sh` done, \
         and is this root?): {}{}",
        String::from_utf8_lossy(&started.stdout),
        stderr(&started)
    );
    Some((held, tempdir()))
}

/// Runs `local` in one process, then `sharded` through the scripts of `grbm-sweep slurm` (3 array
/// tasks, `array_jobs` array jobs, the merge job), and compares their tables.
fn slurm_equals_local(dir: &TempDir, local: &str, sharded: &str, array_jobs: usize) {
    write(dir.path(), "local.toml", local);
    let out = run(dir.path(), &["local.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    write(dir.path(), "e.toml", sharded);
    let out = run(
        dir.path(),
        &[
            "slurm",
            "e.toml",
            "--tasks",
            "3",
            "--cpus-per-task",
            "1",
            "--time",
            "00:10:00",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut submit = Command::new("bash")
        .arg(dir.path().join("out/slurm/submit.sh"))
        .arg("--wait")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = submit.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(300) {
            submit.kill().unwrap();
            panic!("the Slurm jobs did not finish in 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let submitted = submit.wait_with_output().unwrap();
    let logs: String = std::fs::read_dir(dir.path().join("out/slurm/logs"))
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    assert!(status.success(), "sbatch --wait failed; job logs:\n{logs}");
    assert_eq!(
        String::from_utf8_lossy(&submitted.stdout)
            .matches("submitted array job")
            .count(),
        array_jobs,
        "{}",
        String::from_utf8_lossy(&submitted.stdout)
    );
    for shard in 0..3 {
        assert!(
            logs.contains(&format!("shard {shard}/3")),
            "array task {shard} did not compute its shard:\n{logs}"
        );
    }
    assert_same_tables(&dir.path().join("out"), &dir.path().join("local"));
}
