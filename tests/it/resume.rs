//! Nothing lost: kills and interrupts mid-sweep, resumes, isolated failures, the folder lock,
//! the data-section check and the size limit, all through the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

/// 40 runs of roughly 50 ms each: long enough to be stopped halfway with one thread.
fn forty_runs(name: &str, output: &str) -> String {
    format!(
        "name = \"{name}\"\noutput = \"{output}\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 2000\nn_test = 500\nseed = 3\n\n\
         [train]\nepochs = 60\nbatch_size = 50\nk = 5\n\n[eval]\nevery = 20\n\n[grid]\nhidden = [2, 3, 4, 5, 6]\nseed = [0, 1, 2, 3, 4, 5, 6, 7]\n"
    )
}

/// The runs with a usable record in the folder's logs.
fn records_in(results: &Path) -> usize {
    grbm_sweep::sweep::journal::scan(results).runs.len()
}

/// Waits until `results` holds at least `count` finished runs (or fails after 60 s).
fn wait_for_records(results: &Path, count: usize) {
    let start = Instant::now();
    while records_in(results) < count {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the sweep never reached {count} runs"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn reference(dir: &Path) -> PathBuf {
    write(dir, "reference.toml", &forty_runs("reference", "ref"));
    let out = run(dir, &["reference.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join("ref")
}

#[test]
fn sigkill_halfway_then_resume_equals_an_uninterrupted_sweep() {
    let dir = tempdir();
    let reference = reference(dir.path());
    write(dir.path(), "exp.toml", &forty_runs("killed", "out"));
    let results = dir.path().join("out");
    let mut child = spawn(dir.path(), &["exp.toml", "--threads", "1", "--quiet"]);
    wait_for_records(&results, 20);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = records_in(&results);
    assert!(
        (20..40).contains(&kept),
        "{kept} runs were on disk when the process was killed"
    );

    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("({kept} reused from earlier results)")),
        "{stdout}"
    );
    assert_same_tables(&results, &reference);
}

/// Sends signal `SIG<signal>` (`INT`, `TERM`) to `child`.
fn send(signal: &str, child: &std::process::Child) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

fn interrupt_then_resume(signal: &str, exit_code: i32) {
    let dir = tempdir();
    let reference = reference(dir.path());
    write(dir.path(), "exp.toml", &forty_runs("stopped", "out"));
    let results = dir.path().join("out");
    let child = spawn(dir.path(), &["exp.toml", "--threads", "1", "--quiet"]);
    wait_for_records(&results, 20);
    send(signal, &child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(exit_code), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("interrupted by SIG{signal}"))
            && err.contains("again to compute the"),
        "{err}"
    );
    let done = read(&results.join("runs.parquet")).height();
    assert!(
        done < 40 && done == records_in(&results),
        "the tables hold exactly the finished runs"
    );
    assert_released(&results.join(".lock"));

    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_tables(&results, &reference);
}

#[test]
fn sigint_stops_new_runs_exits_130_and_resumes() {
    interrupt_then_resume("INT", 130);
}

#[test]
fn sigterm_stops_new_runs_exits_143_and_resumes() {
    interrupt_then_resume("TERM", 143);
}

/// One run of 20 000 short epochs (about 10 s here): a signal reaches it mid-training.
fn one_long_run(output: &str) -> String {
    format!(
        "name = \"long\"\noutput = \"{output}\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 2000\n\
         n_test = 200\nn_valid = 200\nseed = 3\n\n[train]\nhidden = 8\nepochs = 20000\nbatch_size = 50\n\
         k = 5\n\n[eval]\nevery = 0\nsamples = 50\n"
    )
}

/// Waits until a run has saved a state in `paused` (or fails after 30 s): proof that it trains.
fn wait_for_a_checkpoint(paused: &Path) {
    let start = Instant::now();
    while std::fs::read_dir(paused).map_or(0, |d| d.count()) == 0 {
        assert!(start.elapsed() < Duration::from_secs(30), "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first SIGINT or SIGTERM during a single long run is answered at once, the run stops at
/// the end of its epoch within a few seconds and saves its state, and the next sweep continues
/// it to the very tables of the same run trained straight through. The signal comes once the
/// run has saved a first checkpoint (every 60 ms), so that it is sure to be training: a fixed
/// wait could end before a loaded machine started it.
fn stop_one_long_run_then_continue(signal: &str, exit_code: i32) {
    let dir = tempdir();
    write(dir.path(), "ref.toml", &one_long_run("ref"));
    let out = run(dir.path(), &["ref.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = one_long_run("out").replace("[eval]\n", "[eval]\ncheckpoint_minutes = 0.001\n");
    write(dir.path(), "exp.toml", &text);
    let child = spawn(dir.path(), &["exp.toml", "--quiet"]);
    wait_for_a_checkpoint(&dir.path().join("out/paused"));
    let signalled = Instant::now();
    send(signal, &child);
    let out = child.wait_with_output().unwrap();
    let took = signalled.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(exit_code), "{err}");
    assert!(
        took < Duration::from_secs(5),
        "stopped {took:?} after the signal"
    );
    assert!(
        err.contains("stopping: no new run starts, the 1 run in progress saves its state")
            && err.contains("press Ctrl-C again to stop now"),
        "{err}"
    );
    assert!(
        err.contains(&format!("interrupted by SIG{signal}"))
            && err.contains("the state of the 1 run it stopped")
            && err.contains("again to compute the 1 missing run"),
        "{err}"
    );
    let results = dir.path().join("out");
    let paused: Vec<_> = std::fs::read_dir(results.join("paused")).unwrap().collect();
    assert_eq!(paused.len(), 1, "one paused state");
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_tables(&results, &dir.path().join("ref"));
    assert_eq!(
        std::fs::read_dir(results.join("paused")).unwrap().count(),
        0,
        "the paused state is removed once the run's record is saved"
    );
}

#[test]
fn sigint_stops_a_long_run_at_its_epoch_and_the_next_sweep_continues_it() {
    stop_one_long_run_then_continue("INT", 130);
}

#[test]
fn sigterm_stops_a_long_run_as_sigint_does() {
    stop_one_long_run_then_continue("TERM", 143);
}

/// With `[eval] checkpoint_minutes`, a long run saves its state as it trains: killed with
/// SIGKILL, it continues from its last checkpoint (not from its start) to the tables of the run
/// trained straight through. The key changes no run id.
#[test]
fn a_killed_long_run_continues_from_its_last_checkpoint() {
    let dir = tempdir();
    write(dir.path(), "ref.toml", &one_long_run("ref"));
    let out = run(dir.path(), &["ref.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Every 0.3 s.
    let text = one_long_run("out").replace("[eval]\n", "[eval]\ncheckpoint_minutes = 0.005\n");
    write(dir.path(), "exp.toml", &text);
    let mut child = spawn(dir.path(), &["exp.toml", "--quiet"]);
    let paused = dir.path().join("out/paused");
    wait_for_a_checkpoint(&paused);
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let file = std::fs::read_dir(&paused)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&file).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    let epoch = state["epoch"].as_u64().unwrap();
    assert!((1..20000).contains(&epoch), "checkpoint at epoch {epoch}");
    // A mark that only a run continued from this state carries into runs.parquet: its training
    // time adds to the state's. Edited as text: the random streams' 128-bit states would not
    // survive a round trip through serde_json's numbers.
    let field = "\"train_seconds\":";
    let at = text.find(field).unwrap() + field.len();
    let end = at + text[at..].find([',', '}']).unwrap();
    std::fs::write(&file, format!("{}1000000.0{}", &text[..at], &text[end..])).unwrap();
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let seconds = floats(&read(&dir.path().join("out/runs.parquet")), "train_seconds");
    assert!(seconds[0] >= 1.0e6, "the run started over: {seconds:?}");
    assert_same_tables(&dir.path().join("out"), &dir.path().join("ref"));
}

/// A second SIGINT ends the process at once, without waiting for the end of the run's epoch
/// (about 4 s here: a million points) or writing the tables.
#[test]
fn a_second_sigint_stops_at_once() {
    let dir = tempdir();
    write(
        dir.path(),
        "exp.toml",
        "name = \"slow\"\noutput = \"out\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 1000000\n\
         n_test = 200\nn_valid = 200\nseed = 3\n\n[train]\nhidden = 200\nepochs = 3\nbatch_size = 50\n\
         k = 10\n\n[eval]\nevery = 0\nsamples = 50\n",
    );
    let child = spawn(dir.path(), &["exp.toml", "--quiet"]);
    std::thread::sleep(Duration::from_millis(1500));
    send("INT", &child);
    std::thread::sleep(Duration::from_millis(300));
    let again = Instant::now();
    send("INT", &child);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        again.elapsed() < Duration::from_secs(1),
        "{:?}",
        again.elapsed()
    );
    assert!(err.contains("stopping: no new run starts"), "{err}");
    assert!(!err.contains("interrupted by"), "{err}");
    assert!(
        !dir.path().join("out/runs.parquet").exists(),
        "tables were written"
    );
}

fn small(name: &str) -> String {
    format!(
        "name = \"{name}\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 300\nn_test = 100\nseed = 3\n\n\
         [train]\nepochs = 2\nbatch_size = 50\nk = 2\n\n[eval]\nevery = 1\n\n[grid]\nhidden = [2, 3, 4]\nseed = [0, 1]\n"
    )
}

/// The run id of the first run in `plan` (hidden = 2, seed = 0) and of the costliest (hidden = 4, seed = 1).
fn run_ids(dir: &Path, file: &str) -> Vec<String> {
    let out = run(dir, &["plan", file]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .nth(1)
                .filter(|id| id.len() == 16)
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn one_failing_run_does_not_stop_the_others_and_is_retried_next_time() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &small("iso"));
    let ids = run_ids(dir.path(), "exp.toml");
    assert_eq!(ids.len(), 6);
    // Only this run panics.
    let fault = format!("panic@{}", ids[2]);
    let out = command(dir.path(), &["exp.toml", "--quiet"])
        .env("GRBM_SWEEP_FAULT", &fault)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("1 run failed: {}", ids[2])),
        "{}",
        stderr(&out)
    );
    let runs = read(&dir.path().join("results/iso/runs.parquet"));
    let status = strings(&runs, "status");
    assert_eq!(status, ["ok", "ok", "failed", "ok", "ok", "ok"]);
    let error = runs
        .column("error")
        .unwrap()
        .str()
        .unwrap()
        .get(2)
        .unwrap()
        .to_string();
    assert!(
        error.contains("run panicked: a fault injected"),
        "the failed row says why: {error}"
    );

    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("(5 reused from earlier results)"));
    assert!(
        strings(
            &read(&dir.path().join("results/iso/runs.parquet")),
            "status"
        )
        .iter()
        .all(|s| s == "ok")
    );
}

#[test]
fn fail_fast_starts_no_run_after_the_first_failure() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &small("ff"));
    let ids = run_ids(dir.path(), "exp.toml");
    // hidden = 4, seed = 0 is among the costliest runs, which start first.
    let out = command(
        dir.path(),
        &["exp.toml", "--quiet", "--threads", "1", "--fail-fast"],
    )
    .env("GRBM_SWEEP_FAULT", format!("panic@{}", ids[4]))
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--fail-fast stopped the sweep"),
        "{}",
        stderr(&out)
    );
    assert!(
        records_in(&dir.path().join("results/ff")) < 5,
        "runs kept starting after the failure"
    );
}

#[test]
fn a_second_sweep_on_the_same_folder_is_refused() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &forty_runs("busy", "out"));
    let mut first = spawn(dir.path(), &["exp.toml", "--threads", "1", "--quiet"]);
    wait_for_records(&dir.path().join("out"), 1);
    let second = run(dir.path(), &["exp.toml", "--quiet"]);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.status.code(), Some(2));
    let err = stderr(&second);
    assert!(
        err.contains("is in use by process") && err.contains(&first.id().to_string()),
        "{err}"
    );
}

/// A lock file left by a process that ended cleanly is empty: the next sweep takes it silently.
fn assert_released(lock: &Path) {
    assert_eq!(
        std::fs::read_to_string(lock).unwrap(),
        "",
        "the lock file is emptied when its process ends"
    );
}

/// Waits until the lock file names a process (its holder has written its pid).
fn wait_for_holder(lock: &Path) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(lock).unwrap_or_default();
        if !text.trim().is_empty() {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nobody took {}",
            lock.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_lock_of_a_sweep_killed_with_sigkill_is_taken_over() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &forty_runs("killed", "out"));
    let lock = dir.path().join("out/.lock");
    let mut first = spawn(dir.path(), &["exp.toml", "--threads", "1", "--quiet"]);
    let holder = wait_for_holder(&lock);
    assert!(holder.starts_with(&format!("{} ", first.id())), "{holder}");
    first.kill().unwrap(); // SIGKILL: no destructor runs, the file still names the process
    first.wait().unwrap();
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), holder);

    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("took over the lock of process {} on", first.id())),
        "{}",
        stderr(&out)
    );
    assert_released(&lock);
    // A lock released cleanly is taken without a note.
    let again = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!stderr(&again).contains("took over"), "{}", stderr(&again));
}

#[test]
fn two_processes_racing_for_one_stale_lock_end_with_exactly_one_holder() {
    let dir = tempdir();
    // Five times the usual epochs: the winner holds the folder for seconds.
    let slow = forty_runs("race", "out").replace("epochs = 60", "epochs = 300");
    write(dir.path(), "exp.toml", &slow);
    let lock = dir.path().join("out/.lock");
    let mut first = spawn(dir.path(), &["exp.toml", "--threads", "1", "--quiet"]);
    wait_for_holder(&lock);
    first.kill().unwrap();
    first.wait().unwrap();

    // Both start at once on the stale lock.
    let racers = [0, 1].map(|_| spawn(dir.path(), &["exp.toml", "--threads", "1", "--quiet"]));
    let outputs = racers.map(|c| c.wait_with_output().unwrap());
    let winners: Vec<_> = outputs.iter().filter(|o| o.status.success()).collect();
    let losers: Vec<_> = outputs
        .iter()
        .filter(|o| o.status.code() == Some(2))
        .collect();
    assert_eq!(
        (winners.len(), losers.len()),
        (1, 1),
        "{:?}",
        outputs.iter().map(stderr).collect::<Vec<_>>()
    );
    assert!(
        stderr(winners[0]).contains(&format!("took over the lock of process {}", first.id())),
        "{}",
        stderr(winners[0])
    );
    assert!(
        stderr(losers[0]).contains("is in use by process"),
        "{}",
        stderr(losers[0])
    );
    assert_released(&lock);
}

#[test]
fn results_of_another_data_section_are_refused_unless_fresh() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &small("data"));
    assert!(run(dir.path(), &["exp.toml", "--quiet"]).status.success());
    write(
        dir.path(),
        "exp.toml",
        &small("data").replace("seed = 3", "seed = 4"),
    );
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("different [data] section")
            && err.contains("data.seed was 3, is now 4")
            && err.contains("--fresh"),
        "{err}"
    );
    let out = run(dir.path(), &["exp.toml", "--quiet", "--fresh"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("(0 reused from earlier results)"));
}

#[test]
fn a_data_file_edited_in_place_is_not_reused() {
    let dir = tempdir();
    let points = |shift: f64| {
        let rows: Vec<String> = (0..300)
            .map(|i| {
                format!(
                    "{},{}",
                    (i as f64 * 0.37).sin() * 3.0 + shift,
                    (i as f64 * 0.11).cos()
                )
            })
            .collect();
        format!("a,b\n{}\n", rows.join("\n"))
    };
    write(dir.path(), "points.csv", &points(0.0));
    let text = small("file").replace("source = \"gmm_iso\"", "source = \"points.csv\"");
    write(dir.path(), "exp.toml", &text);
    assert!(run(dir.path(), &["exp.toml", "--quiet"]).status.success());
    // The same file: every run is reused.
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("(6 reused from earlier results)"));
    // One value changed in place: same [data] text, different points.
    write(dir.path(), "points.csv", &points(0.5));
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("different [data] section")
            && err.contains(r#"data.points was ["points.csv:"#),
        "{err}"
    );
}

#[test]
fn an_extended_grid_computes_only_the_new_runs() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &small("grow"));
    assert!(run(dir.path(), &["exp.toml", "--quiet"]).status.success());
    write(
        dir.path(),
        "exp.toml",
        &small("grow").replace("hidden = [2, 3, 4]", "hidden = [2, 3, 4, 5]"),
    );
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("8 of 8 runs") && stdout.contains("(6 reused from earlier results)"),
        "{stdout}"
    );
}

#[test]
fn a_grid_above_max_runs_is_refused_before_anything_is_written() {
    let dir = tempdir();
    let seeds: Vec<String> = (0..1000).map(|s| s.to_string()).collect();
    let lrs: Vec<String> = (1..=1000)
        .map(|i| format!("{:?}", i as f64 * 1e-4))
        .collect();
    let text = small("huge").replace(
        "seed = [0, 1]",
        &format!("seed = [{}]\nlr = [{}]", seeds.join(", "), lrs.join(", ")),
    );
    write(dir.path(), "exp.toml", &text);
    for args in [vec!["exp.toml"], vec!["plan", "exp.toml"]] {
        let out = run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("exp.toml") && err.contains("3000000 runs, more than --max-runs 100000"),
            "{err}"
        );
    }
    let out = run(dir.path(), &["exp.toml", "--max-runs", "5"]);
    assert!(stderr(&out).contains("more than --max-runs 5"));
    assert!(!dir.path().join("results").exists());
}
