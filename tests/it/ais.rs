//! AIS from an experiment file: `[eval] ais_steps` on a tiny sweep, its columns in `runs.parquet`,
//! `ais.parquet`, the same tables on 1 and 2 threads, and `verify` of the AIS numbers.

use crate::common::*;

/// Four runs on three Gaussians trained for a few epochs, two of them with more hidden units
/// than enumerate (so that reverse AIS starts from the log Z grid's draws), measured by AIS at
/// 100 chains x 10 and x 100 steps.
const EXPERIMENT: &str = "name = \"ais\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 1000\n\
    n_test = 300\nn_valid = 300\nseed = 3\n\n[train]\nepochs = 5\nbatch_size = 50\n\n\
    [eval]\nevery = 0\nsamples = 50\nais_steps = [10, 100]\n\n[grid]\nhidden = [6, 24]\n\
    seed = [0, 1, 2]\n";

#[test]
fn ais_columns_are_plausible_identical_across_threads_and_verified() {
    let dir = tempdir();
    write(dir.path(), "one.toml", EXPERIMENT);
    write(
        dir.path(),
        "two.toml",
        &EXPERIMENT.replace("\"ais\"", "\"ais2\""),
    );
    for (file, threads) in [("one.toml", "1"), ("two.toml", "2")] {
        let out = run(dir.path(), &[file, "--threads", threads, "--quiet"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let results = dir.path().join("results");
    let (one, two) = (results.join("ais"), results.join("ais2"));
    assert_same_tables(&one, &two);

    let runs = read(&one.join("runs.parquet"));
    let (log_z, test_ll) = (floats(&runs, "log_z"), floats(&runs, "test_ll"));
    let column = |name: &str| floats(&runs, name);
    let (ais, ais_se) = (column("log_z_ais"), column("log_z_ais_se"));
    let (rais, rais_se) = (column("log_z_rais"), column("log_z_rais_se"));
    for r in 0..runs.height() {
        // At 100 chains x 100 steps on models this small, the estimates land within a tenth of a
        // nat of the grid's log Z (measured: within 0.05), each within 4 of its standard errors.
        for (estimate, se) in [(ais[r], ais_se[r]), (rais[r], rais_se[r])] {
            assert!(
                (estimate - log_z[r]).abs() < 0.1,
                "run {r}: {estimate} vs {}",
                log_z[r]
            );
            assert!((estimate - log_z[r]).abs() < 4.0 * se, "run {r}: se {se}");
        }
        assert_eq!(column("log_z_ais_error")[r], ais[r] - log_z[r]);
        assert_eq!(column("log_z_rais_error")[r], rais[r] - log_z[r]);
        assert_eq!(column("test_ll_ais")[r], test_ll[r] + log_z[r] - ais[r]);
        assert_eq!(column("test_ll_rais")[r], test_ll[r] + log_z[r] - rais[r]);
        assert!(column("ais_seconds")[r] > 0.0);
    }
    // Reverse AIS is conservative on average: its mean error is not below 0 by more than 3 of
    // its standard errors (those of the runs' estimates, combined).
    let n = runs.height() as f64;
    let mean_error = (0..runs.height()).map(|r| rais[r] - log_z[r]).sum::<f64>() / n;
    let mean_se = rais_se.iter().map(|s| s * s).sum::<f64>().sqrt() / n;
    assert!(
        mean_error > -3.0 * mean_se,
        "mean reverse error {mean_error}, se {mean_se}"
    );

    // One row per run and budget, in the file's order; the last budget's row is the runs'.
    let table = read(&one.join("ais.parquet"));
    assert_eq!(table.height(), 2 * runs.height());
    assert_eq!(ints(&table, "steps")[..4], [10, 100, 10, 100]);
    assert!(ints(&table, "chains").iter().all(|&c| c == 100));
    let last: Vec<f64> = floats(&table, "log_z_rais")
        .into_iter()
        .skip(1)
        .step_by(2)
        .collect();
    assert_eq!(last, rais);
    assert_eq!(strings(&table, "run_id")[1], strings(&runs, "run_id")[0]);

    let out = run(dir.path(), &["verify", "results/ais"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

/// AIS off (the default) writes no `ais.parquet` and no AIS picture, and its `runs.parquet`
/// columns are null.
#[test]
fn ais_off_writes_null_columns_and_no_ais_table() {
    let dir = tempdir();
    let off = EXPERIMENT.replace("ais_steps = [10, 100]\n", "");
    write(dir.path(), "off.toml", &off);
    let out = run(dir.path(), &["off.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let folder = dir.path().join("results/ais");
    assert!(!folder.join("ais.parquet").exists());
    let runs = read(&folder.join("runs.parquet"));
    for name in ["log_z_ais", "log_z_rais_se", "test_ll_rais", "ais_seconds"] {
        assert_eq!(
            runs.column(name).unwrap().null_count(),
            runs.height(),
            "{name}"
        );
    }
}

/// A run paused after an epoch, saved as a paused run is (JSON) and continued, measures the
/// same AIS numbers as the run trained straight through: AIS happens once, at the run's end,
/// from its own stream.
#[test]
fn ais_of_a_paused_and_continued_run_is_that_of_the_run_trained_straight_through() {
    use grbm_sweep::train::{
        AfterEpoch, EpochEnd, RunState, Segment, Steer, train_run, train_until,
    };
    struct PauseAfter(usize);
    impl Steer for PauseAfter {
        fn epoch_done(&self) {}
        fn after_epoch(&self, end: &EpochEnd<'_, '_>) -> AfterEpoch {
            if end.epoch() == self.0 {
                AfterEpoch::Pause
            } else {
                AfterEpoch::Continue
            }
        }
    }
    let exp = grbm_sweep::experiment::parse(std::path::Path::new("e.toml"), EXPERIMENT).unwrap();
    let datasets = grbm_sweep::sweep::load_datasets(&exp).unwrap();
    let runs = grbm_sweep::experiment::grid::expand(&exp);
    let numbers = |run: grbm_sweep::train::TrainedRun| -> Vec<_> {
        (run.ais.into_iter())
            .map(|a| grbm_sweep::estimate::ais::AisMeasurement { seconds: 0.0, ..a })
            .collect()
    };
    // One run of each size: reverse AIS from enumerated samples, and from grid draws.
    for spec in [&runs[0], &runs[runs.len() - 1]] {
        let (t, data) = (&spec.train, &datasets[spec.dataset]);
        let straight = train_run(t, data, &exp.eval, &|| {});
        let Ok(Segment::Paused(state)) =
            train_until(t, data, &exp.eval, None, t.epochs, &PauseAfter(2))
        else {
            panic!("the run pauses after epoch 2");
        };
        let saved: RunState =
            serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        let Ok(Segment::Ended(continued)) =
            train_until(t, data, &exp.eval, Some(saved), t.epochs, &|| {})
        else {
            panic!("the continued run ends");
        };
        let straight = numbers(straight);
        assert_eq!(straight.len(), 2);
        assert_eq!(numbers(continued), straight, "hidden {}", t.hidden);
    }
}
