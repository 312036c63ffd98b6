//! Seeds as replicates through the real binary: a random search runs every drawn configuration on
//! every seed, `configs.parquet` holds each configuration's statistics over its seeds (checked
//! against a computation of its own from `runs.parquet`), the summary ranks configurations, and
//! `compare` gives the paired differences of an axis.

use std::collections::HashMap;
use std::path::Path;

use crate::common::*;

/// A tiny experiment on gmm_iso, 3 epochs, with `grid` and `extra` sections after `[grid]`.
fn tiny(name: &str, grid: &str) -> String {
    format!(
        "name = \"{name}\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 200\nn_test = 100\nn_valid = 150\nseed = 3\n\n\
         [train]\nhidden = 3\nepochs = 3\nbatch_size = 50\nk = 2\n\n[eval]\nevery = 1\nsamples = 20\n\n[grid]\n{grid}"
    )
}

fn sweep(dir: &Path, text: &str, args: &[&str]) -> String {
    write(dir, "exp.toml", text);
    let mut all = vec!["exp.toml", "--quiet"];
    all.extend_from_slice(args);
    let out = run(dir, &all);
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ints(df: &polars_core::prelude::DataFrame, name: &str) -> Vec<Option<i64>> {
    let col = df.column(name).unwrap().i64().unwrap().clone();
    (0..col.len()).map(|i| col.get(i)).collect()
}

fn optional_floats(df: &polars_core::prelude::DataFrame, name: &str) -> Vec<Option<f64>> {
    let col = df.column(name).unwrap().f64().unwrap().clone();
    (0..col.len()).map(|i| col.get(i)).collect()
}

#[test]
fn a_random_search_runs_every_drawn_configuration_on_every_seed() {
    let dir = tempdir();
    let text = tiny(
        "drawn",
        "lr = { loguniform = [0.001, 0.1] }\nhidden = { randint = [2, 6] }\nseed = [0, 1, 2]\n\n\
         [search]\nstrategy = \"random\"\nsamples = 6\n",
    );
    let stdout = sweep(dir.path(), &text, &[]);
    assert!(stdout.contains("18 of 18 runs"), "{stdout}");
    let results = dir.path().join("results/drawn");
    let runs = read(&results.join("runs.parquet"));
    let mut seeds_of: HashMap<String, Vec<i64>> = HashMap::new();
    for (config, seed) in strings(&runs, "config_id")
        .into_iter()
        .zip(ints(&runs, "seed"))
    {
        seeds_of.entry(config).or_default().push(seed.unwrap());
    }
    assert_eq!(seeds_of.len(), 6, "six configurations");
    for (config, seeds) in &seeds_of {
        assert_eq!(seeds[..], [0, 1, 2], "configuration {config}");
    }
    let configs = read(&results.join("configs.parquet"));
    assert_eq!(configs.height(), 6);
    assert!(ints(&configs, "n_seeds").iter().all(|n| *n == Some(3)));
}

/// The statistics of every configuration, computed here from runs.parquet: the mean of its
/// seeds' valid_ll and test_ll, the sample standard deviation, se = sd / sqrt(n), and the 95%
/// interval mean -/+ t se with t(0.975, 2) = 0.95 / sqrt(2 x 0.975 x 0.025) =
/// 4.302652729749464 (Student's t with 2 degrees of freedom in closed form); ranks by mean
/// valid_ll.
#[test]
fn configs_parquet_equals_an_independent_computation_from_the_runs_table() {
    let dir = tempdir();
    let text = tiny(
        "stats",
        "hidden = [2, 3]\nlr = [0.01, 0.1]\nseed = [0, 1, 2]\n",
    );
    let stdout = sweep(dir.path(), &text, &[]);
    let results = dir.path().join("results/stats");
    let runs = read(&results.join("runs.parquet"));
    let true_ll = floats(&runs, "true_ll")[0];
    let mut by_config: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
    for ((config, valid), test) in strings(&runs, "config_id")
        .into_iter()
        .zip(floats(&runs, "valid_ll"))
        .zip(floats(&runs, "test_ll"))
    {
        by_config.entry(config).or_default().push((valid, test));
    }
    let configs = read(&results.join("configs.parquet"));
    assert_eq!(configs.height(), 4);
    let ids = strings(&configs, "config_id");
    let column = |name| optional_floats(&configs, name);
    let (valid_mean, test_mean, se) = (
        column("valid_ll_mean"),
        column("test_ll_mean"),
        column("test_ll_se"),
    );
    let (low, high, gap) = (
        column("test_ll_ci_low"),
        column("test_ll_ci_high"),
        column("gap_mean"),
    );
    let close = |a: f64, b: Option<f64>| (a - b.unwrap()).abs() < 1e-12;
    let mut expected_means = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let seeds = &by_config[id];
        assert_eq!(seeds.len(), 3);
        let mean = |f: fn(&(f64, f64)) -> f64| seeds.iter().map(f).sum::<f64>() / 3.0;
        let (v, t) = (mean(|s| s.0), mean(|s| s.1));
        let sd = (seeds.iter().map(|s| (s.1 - t).powi(2)).sum::<f64>() / 2.0).sqrt();
        let s = sd / 3f64.sqrt();
        assert!(close(v, valid_mean[i]) && close(t, test_mean[i]), "{id}");
        assert!(close(s, se[i]), "{id}: se {s} against {:?}", se[i]);
        assert!(
            close(t - 4.302652729749464 * s, low[i]) && close(t + 4.302652729749464 * s, high[i])
        );
        assert!(close(true_ll - t, gap[i]));
        expected_means.push((v, id.clone()));
    }
    expected_means.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let ranks = ints(&configs, "rank");
    for (rank, (_, id)) in expected_means.iter().enumerate() {
        let row = ids.iter().position(|c| c == id).unwrap();
        assert_eq!(ranks[row], Some(rank as i64 + 1), "{id}");
    }
    // The summary lists the configurations in that order, each with its interval.
    let lines: Vec<&str> = stdout.lines().collect();
    let heading = lines
        .iter()
        .position(|l| l.starts_with("best 4 of 4 configurations on gmm_iso by mean valid_ll"))
        .unwrap_or_else(|| panic!("{stdout}"));
    for (rank, (_, id)) in expected_means.iter().enumerate() {
        let row = lines[heading + 2 + rank];
        let i = ids.iter().position(|c| c == id).unwrap();
        assert!(row.trim_start().starts_with(id.as_str()), "{stdout}");
        let interval = format!("[{:.4}, {:.4}]", low[i].unwrap(), high[i].unwrap());
        assert!(row.contains(&interval) && row.contains(" 3/3 "), "{row}");
    }
    assert!(stdout.contains("--by-run"), "{stdout}");
    let by_run = sweep(dir.path(), &text, &["--by-run"]);
    assert!(
        by_run.contains("best 5 of 12 on gmm_iso by valid_ll"),
        "{by_run}"
    );
}

/// `compare --by sampler` on a sweep of two samplers over three seeds: the difference of the
/// worse sampler's test_ll from the better one's, seed by seed, with its t-interval.
#[test]
fn compare_gives_the_paired_interval_of_two_samplers() {
    let dir = tempdir();
    let text = tiny("two", "sampler = [\"cd\", \"pcd\"]\nseed = [0, 1, 2]\n");
    sweep(dir.path(), &text, &[]);
    let out = run(dir.path(), &["compare", "results/two", "--by", "sampler"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let runs = read(&dir.path().join("results/two/runs.parquet"));
    let (samplers, seeds) = (strings(&runs, "sampler"), ints(&runs, "seed"));
    let (valid, test) = (floats(&runs, "valid_ll"), floats(&runs, "test_ll"));
    let at = |sampler: &str, seed: i64| {
        (0..runs.height())
            .find(|&i| samplers[i] == sampler && seeds[i] == Some(seed))
            .unwrap()
    };
    let mean_valid = |s: &str| (0..3).map(|seed| valid[at(s, seed)]).sum::<f64>() / 3.0;
    let (best, other) = if mean_valid("cd") >= mean_valid("pcd") {
        ("cd", "pcd")
    } else {
        ("pcd", "cd")
    };
    let diffs: Vec<f64> = (0..3)
        .map(|s| test[at(other, s)] - test[at(best, s)])
        .collect();
    let mean = diffs.iter().sum::<f64>() / 3.0;
    let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    let half = 4.302652729749464 * sd / 3f64.sqrt();
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(other))
        .unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[4], format!("{mean:.4}"), "{row}");
    assert!(
        row.contains(&format!("[{:.4}, {:.4}]", mean - half, mean + half)),
        "{row}"
    );
    assert_eq!(
        cells[cells.len() - 2..],
        ["3", "0"],
        "3 pairs, none unpaired: {row}"
    );
    assert!(
        stdout.contains(&format!("sampler={best} (the best by mean valid_ll)")),
        "{stdout}"
    );
    let seed = run(dir.path(), &["compare", "results/two", "--by", "seed"]);
    assert_eq!(seed.status.code(), Some(2));
    assert!(
        stderr(&seed).contains("seeds are the replicates"),
        "{}",
        stderr(&seed)
    );
    let unknown = run(dir.path(), &["compare", "results/two", "--by", "hidden"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("not a [grid] axis of this sweep (its axes are sampler)"),
        "{}",
        stderr(&unknown)
    );
}
