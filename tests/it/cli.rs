//! Drives the real `grbm-sweep` binary on tiny experiment files in temporary folders and reads the Parquet back.

use polars_core::prelude::*;
use polars_io::prelude::*;
use std::path::Path;

use crate::common::*;

/// A tiny experiment: 200 training points, 3 epochs, curve points every epoch.
fn tiny(name: &str, grid: &str) -> String {
    format!(
        "name = \"{name}\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 200\nn_test = 100\nn_valid = 150\nseed = 3\n\n\
         [train]\nhidden = 3\nepochs = 3\nbatch_size = 50\nk = 2\n\n[eval]\nevery = 1\n\n[grid]\n{grid}"
    )
}

fn total_nulls(df: &DataFrame) -> usize {
    df.columns().iter().map(|c| c.null_count()).sum()
}

/// (valid_ll, run_id) of every run of `runs`, best first: the order the summary and `plot`
/// rank runs in (ties by run id).
fn ranked_by_valid_ll(runs: &DataFrame) -> Vec<(f64, String)> {
    let mut ids: Vec<(f64, String)> = floats(runs, "valid_ll")
        .into_iter()
        .zip(strings(runs, "run_id"))
        .collect();
    ids.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    ids
}

/// The summary's table of best runs lists them by valid_ll, each with its test_ll beside.
#[test]
fn summary_ranks_runs_by_valid_ll_with_test_ll_beside() {
    let dir = tempdir();
    write(
        dir.path(),
        "exp.toml",
        &tiny("ranked", "hidden = [2, 3]\nlr = [0.01, 0.1]\n"),
    );
    let out = run(dir.path(), &["exp.toml", "--quiet", "--top", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let runs = read(&dir.path().join("results/ranked/runs.parquet"));
    let test_ll: std::collections::HashMap<String, f64> = strings(&runs, "run_id")
        .into_iter()
        .zip(floats(&runs, "test_ll"))
        .collect();
    let lines: Vec<&str> = stdout.lines().collect();
    let heading = lines
        .iter()
        .position(|l| l.starts_with("best 3 of 4 on gmm_iso by valid_ll"))
        .unwrap_or_else(|| panic!("no heading of the best runs: {stdout}"));
    let header: Vec<&str> = lines[heading + 1].split_whitespace().collect();
    assert_eq!(header[..4], ["run_id", "valid_ll", "test_ll", "train_ll"]);
    for (rank, (valid, id)) in ranked_by_valid_ll(&runs).iter().take(3).enumerate() {
        let row: Vec<&str> = lines[heading + 2 + rank].split_whitespace().collect();
        assert_eq!(row[0], id, "rank {rank}: {stdout}");
        assert_eq!(row[1], format!("{valid:.4}"), "{stdout}");
        assert_eq!(row[2], format!("{:.4}", test_ll[id]), "{stdout}");
    }
    assert!(
        lines.get(heading + 5).is_none_or(|l| !l.starts_with("  ")),
        "--top 3 shows three: {stdout}"
    );
}

#[test]
fn tiny_sweep_writes_every_table_with_owed_columns() {
    let dir = tempdir();
    write(
        dir.path(),
        "exp.toml",
        &tiny("tiny", "hidden = [2, 3]\nseed = [0, 1]\n"),
    );
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("4 runs")
            && stdout.contains("best 2 of 2 configurations on gmm_iso by mean valid_ll"),
        "{stdout}"
    );

    let results = dir.path().join("results/tiny");
    let runs = read(&results.join("runs.parquet"));
    assert_eq!(runs.height(), 4);
    let expect_types = [
        ("run_id", DataType::String),
        ("dataset", DataType::String),
        ("config_id", DataType::String),
        ("hidden", DataType::Int64),
        ("lr", DataType::Float64),
        ("k", DataType::Int64),
        ("seed", DataType::Int64),
        ("epochs", DataType::Int64),
        ("batch_size", DataType::Int64),
        ("standardize", DataType::Boolean),
        ("sampler", DataType::String),
        ("status", DataType::String),
        ("error", DataType::String),
        ("train_ll", DataType::Float64),
        ("valid_ll", DataType::Float64),
        ("test_ll", DataType::Float64),
        ("true_ll", DataType::Float64),
        ("baseline_ll", DataType::Float64),
        ("test_ll_gap", DataType::Float64),
        ("log_z", DataType::Float64),
        ("log_z_exact", DataType::Float64),
        ("log_z_error", DataType::Float64),
        ("grid_points", DataType::Int64),
        ("recon_error", DataType::Float64),
        ("epochs_done", DataType::Int64),
        ("diverged_epoch", DataType::Int64),
        ("train_seconds", DataType::Float64),
        ("eval_seconds", DataType::Float64),
    ];
    for (name, dtype) in &expect_types {
        let column = runs
            .column(name)
            .unwrap_or_else(|_| panic!("runs.parquet has no column {name}"));
        assert_eq!(column.dtype(), dtype, "runs.{name}");
    }
    for name in [
        "run_id",
        "hidden",
        "lr",
        "k",
        "seed",
        "status",
        "train_ll",
        "valid_ll",
        "test_ll",
        "true_ll",
        "baseline_ll",
        "log_z",
        "log_z_exact",
        "grid_points",
        "recon_error",
        "epochs_done",
        "train_seconds",
        "eval_seconds",
    ] {
        assert_eq!(
            runs.column(name).unwrap().null_count(),
            0,
            "runs.{name} has nulls"
        );
    }
    assert!(strings(&runs, "status").iter().all(|s| s == "ok"));
    let position = |name: &str| runs.get_column_index(name).unwrap();
    assert_eq!(
        position("valid_ll") + 1,
        position("test_ll"),
        "side by side"
    );
    assert!(
        floats(&runs, "log_z_error").iter().all(|e| e.abs() < 1e-8),
        "grid log Z disagrees with enumeration"
    );

    let curves = read(&results.join("curves.parquet"));
    assert_eq!(curves.height(), 4 * 4, "epochs 0..=3 for each of 4 runs");
    let names: Vec<&str> = curves
        .get_column_names()
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "run_id",
            "dataset",
            "epoch",
            "train_ll",
            "valid_ll",
            "test_ll",
            "recon_error",
            "sigma1",
            "sigma2",
            "grad_cosine",
            "grad_rel_error",
            "model_entropy",
            "chain_ll",
            "chain_energy",
            "null_energy"
        ]
    );
    assert_eq!(total_nulls(&curves), 0);

    let models = read(&results.join("models.parquet"));
    assert_eq!(models.height(), 4);
    for name in ["w1", "w2", "c"] {
        assert_eq!(
            models.column(name).unwrap().dtype(),
            &DataType::List(Box::new(DataType::Float64)),
            "models.{name}"
        );
    }
    let w1 = models.column("w1").unwrap().list().unwrap().clone();
    let hidden = runs.column("hidden").unwrap().i64().unwrap().clone();
    for i in 0..w1.len() {
        let n = hidden.get(i).unwrap();
        assert_eq!(
            w1.get_as_series(i).unwrap().len() as i64,
            n,
            "w1 has one weight per hidden unit"
        );
    }
    assert_eq!(total_nulls(&models), 0);

    let data = read(&results.join("data.parquet"));
    assert_eq!(data.height(), 450);
    let split = strings(&data, "split");
    for (name, count) in [("train", 200), ("valid", 150), ("test", 100)] {
        assert_eq!(split.iter().filter(|s| *s == name).count(), count, "{name}");
    }

    let copy = std::fs::read_to_string(results.join("sweep.toml")).unwrap();
    assert_eq!(
        copy,
        std::fs::read_to_string(dir.path().join("exp.toml")).unwrap()
    );
}

#[test]
fn results_do_not_depend_on_threads_or_on_the_rest_of_the_grid() {
    let dir = tempdir();
    write(
        dir.path(),
        "a.toml",
        &tiny("one", "hidden = [2, 4]\nlr = [0.01, 0.03]\nseed = [0, 1]\n"),
    );
    write(
        dir.path(),
        "b.toml",
        &tiny("two", "hidden = [2, 4]\nlr = [0.01, 0.03]\nseed = [0, 1]\n"),
    );
    write(
        dir.path(),
        "c.toml",
        &tiny("alone", "hidden = [4]\nlr = [0.03]\nseed = [1]\n"),
    );
    for (file, threads) in [("a.toml", "1"), ("b.toml", "2"), ("c.toml", "2")] {
        let out = run(dir.path(), &[file, "--threads", threads, "--quiet"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let results = dir.path().join("results");
    for table in ["runs.parquet", "curves.parquet", "models.parquet"] {
        let one = read(&results.join("one").join(table));
        let two = read(&results.join("two").join(table));
        let (one, two) = if table == "runs.parquet" {
            (without_timing(one), without_timing(two))
        } else {
            (one, two)
        };
        assert!(
            one.equals_missing(&two),
            "{table} differs between 1 and 2 threads"
        );
    }
    let grid = without_timing(read(&results.join("one/runs.parquet")));
    let alone = without_timing(read(&results.join("alone/runs.parquet")));
    let id = alone
        .column("run_id")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();
    let mask = grid
        .column("run_id")
        .unwrap()
        .str()
        .unwrap()
        .equal(id.as_str());
    let row = grid.filter(&mask).unwrap();
    assert_eq!(row.height(), 1, "the lone run's id appears in the grid");
    assert!(
        row.equals_missing(&alone),
        "a run computed alone differs from the same run inside a grid"
    );
}

/// `sampler = "grid"` sums its grid rows in parallel inside each update: a lone run on 2 threads
/// (whose rows are split over both) and two runs on 2 threads give the tables of 1 thread, bit
/// for bit. hidden = 25 is past the exact sampler's limit.
#[test]
fn grid_sampler_results_do_not_depend_on_threads() {
    let dir = tempdir();
    for (name, grid) in [
        ("one", "hidden = [25]\n"),
        ("two", "hidden = [25]\n"),
        ("pair1", "hidden = [3, 25]\n"),
        ("pair2", "hidden = [3, 25]\n"),
    ] {
        let text = tiny(name, grid).replace("k = 2", "sampler = \"grid\"");
        write(dir.path(), &format!("{name}.toml"), &text);
    }
    for (name, threads) in [("one", "1"), ("two", "2"), ("pair1", "1"), ("pair2", "2")] {
        let file = format!("{name}.toml");
        let out = run(dir.path(), &[&file, "--threads", threads, "--quiet"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let results = dir.path().join("results");
    for (a, b) in [("one", "two"), ("pair1", "pair2")] {
        assert_same_tables(&results.join(a), &results.join(b));
    }
}

/// `sampler = "tempered"` draws its starts, Gibbs steps and swaps from the run's Gibbs stream:
/// two runs (more chains than the minibatch, and the default) give the same tables on 1 and 2
/// threads.
#[test]
fn tempered_sampler_results_do_not_depend_on_threads() {
    let dir = tempdir();
    for name in ["one", "two"] {
        let text = tiny(name, "chains = [0, 70]\n").replace(
            "k = 2",
            "k = 2\nsampler = \"tempered\"\nreplicas = 3\nbeta_min = 0.2",
        );
        write(dir.path(), &format!("{name}.toml"), &text);
    }
    for (name, threads) in [("one", "1"), ("two", "2")] {
        let file = format!("{name}.toml");
        let out = run(dir.path(), &[&file, "--threads", threads, "--quiet"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let results = dir.path().join("results");
    assert_same_tables(&results.join("one"), &results.join("two"));
}

#[test]
fn plan_lists_runs_without_writing() {
    let dir = tempdir();
    write(
        dir.path(),
        "exp.toml",
        &tiny("planned", "hidden = [2, 3, 4]\nk = [1, 2]\n"),
    );
    let out = run(dir.path(), &["plan", "exp.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("6 runs"), "{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("hidden=") && l.contains("k="))
            .count(),
        6,
        "{stdout}"
    );
    assert!(!dir.path().join("results").exists());
}

/// A random search of `samples` configurations over a log-uniform learning rate and two seeds.
fn random_search(samples: usize) -> String {
    tiny(
        "drawn",
        "lr = { loguniform = [0.001, 0.1] }\nseed = [0, 1]\n\n[search]\nstrategy = \"random\"\n",
    ) + &format!("samples = {samples}\n")
}

#[test]
fn a_random_search_with_more_samples_computes_only_the_new_configurations() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &random_search(20));
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("40 of 40 runs") && stdout.contains("(0 reused"),
        "{stdout}"
    );
    let results = dir.path().join("results/drawn");
    let first = read(&results.join("runs.parquet"));

    write(dir.path(), "exp.toml", &random_search(30));
    let plan = run(dir.path(), &["plan", "exp.toml"]);
    let listed = String::from_utf8_lossy(&plan.stdout);
    assert!(
        listed.contains(
            "search: random, 30 configurations drawn with seed 0, each configuration on 2 seeds"
        ) && listed.contains("lr: loguniform in [0.001, 0.1)"),
        "{listed}"
    );
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("60 of 60 runs") && stdout.contains("(40 reused from earlier results)"),
        "{stdout}"
    );
    let second = read(&results.join("runs.parquet"));
    assert_eq!(second.height(), 60);
    let ids = strings(&second, "run_id");
    assert_eq!(strings(&first, "run_id")[..], ids[..40]);
    assert_eq!(
        floats(&first, "test_ll")[..],
        floats(&second, "test_ll")[..40]
    );
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        60
    );
}

#[test]
fn plain_progress_lines_when_stderr_is_not_a_terminal() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &tiny("plain", "seed = [0, 1]\n"));
    let out = run(dir.path(), &["exp.toml", "--threads", "1"]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("[1/2]")
            && err.contains("[2/2]")
            && err.contains("valid_ll=")
            && err.contains("test_ll="),
        "{err}"
    );
    let quiet = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
}

/// What a bad-input case hands the binary.
enum Input {
    /// The tiny experiment with this `key = value` line at the top of `[train]`, in place of
    /// the tiny experiment's own line for that key if it has one.
    KeyLine(&'static str),
    /// A whole experiment file.
    Text(String),
    /// No experiment file: the binary is pointed at this name, which does not exist.
    Missing(&'static str),
}

/// One input the binary must refuse: one row of [`bad_inputs`].
struct BadInput {
    /// Names the case in the failure report, and in docs/experiment-file.md.
    name: &'static str,
    input: Input,
    /// Files (name, contents) written beside the experiment file.
    files: &'static [(&'static str, &'static str)],
    /// Fragments the message on stderr must contain.
    expected: &'static [&'static str],
    exit: i32,
}

/// The tiny experiment named "bad" with `key_line` at the top of `[train]`: the tiny
/// experiment's own line for the same key, if any, is dropped, so the file stays valid TOML.
fn tiny_with(key_line: &str) -> String {
    let key = key_line.split('=').next().unwrap().trim();
    let text = tiny("bad", "");
    let (head, train) = text.split_once("[train]\n").unwrap();
    let train: String = train
        .split_inclusive('\n')
        .filter(|line| line.split('=').next().unwrap().trim() != key)
        .collect();
    format!("{head}[train]\n{key_line}\n{train}")
}

fn tiny_on(source: &str) -> String {
    tiny("bad", "").replace("source = \"gmm_iso\"", &format!("source = \"{source}\""))
}

/// The inputs a user can get wrong that the binary must refuse, one row per case: each is
/// run by [`bad_input_cases`], named in the failure report by its `name`.
fn bad_inputs() -> Vec<BadInput> {
    use Input::*;
    let case = |name, input, files, expected, exit| BadInput {
        name,
        input,
        files,
        expected,
        exit,
    };
    vec![
        case(
            "unknown_key",
            KeyLine("hiden = 4"),
            &[],
            &[
                "bad.toml:11: unknown key `train.hiden`; did you mean `hidden`? allowed keys: \
                 hidden, ",
            ],
            2,
        ),
        // Nothing is suggested when no allowed key is near: the list follows at once.
        case(
            "unknown_key_far_from_any",
            KeyLine("colour = 4"),
            &[],
            &["bad.toml:11: unknown key `train.colour`; allowed keys: hidden, "],
            2,
        ),
        // A section is named as such, in the same style as a key, not in serde's words.
        case(
            "unknown_section",
            Text(tiny("bad", "").replace("[train]", "[trian]")),
            &[],
            &[
                "bad.toml:10: unknown section `[trian]`; did you mean `[train]`? allowed \
                 sections: [data], [train], [eval], [grid], [search]",
            ],
            2,
        ),
        case(
            "wrong_type",
            KeyLine("lr = \"fast\""),
            &[],
            &["bad.toml:11", "`train.lr`", "\"fast\"", "number"],
            2,
        ),
        case(
            "hidden_zero",
            KeyLine("hidden = 0"),
            &[],
            &["bad.toml:11", "`train.hidden` = 0", ">= 1"],
            2,
        ),
        case(
            "lr_not_positive",
            KeyLine("lr = -0.5"),
            &[],
            &["bad.toml", "`train.lr` = -0.5", "> 0"],
            2,
        ),
        case(
            "lr_nan",
            KeyLine("lr = nan"),
            &[],
            &["bad.toml", "`train.lr` = nan", "finite"],
            2,
        ),
        case(
            "k_zero",
            KeyLine("k = 0"),
            &[],
            &["bad.toml", "`train.k` = 0", ">= 1"],
            2,
        ),
        case(
            "batch_larger_than_training_set",
            KeyLine("batch_size = 500"),
            &[],
            &["bad.toml", "batch_size", "500", "200 training points"],
            2,
        ),
        // Swept in [grid]: the message names the grid key and the offending value.
        case(
            "exact_sampler_with_too_many_hidden_units",
            Text(
                tiny("bad", "hidden = [4, 21]\n")
                    .replace("[train]\n", "[train]\nsampler = \"exact\"\n"),
            ),
            &[],
            &[
                "bad.toml",
                "`grid.hidden` = 21",
                "sampler = \"exact\"",
                "at most 20",
            ],
            2,
        ),
        case(
            "missing_file",
            Missing("nowhere.toml"),
            &[],
            &["nowhere.toml"],
            2,
        ),
        case(
            "syntax_error",
            KeyLine("lr = 0.01 0.02"),
            &[],
            &["bad.toml:11"],
            2,
        ),
        // Caught before training: the message names the list and the index in it.
        case(
            "grid_value",
            Text(tiny("bad", "hidden = [2, 0]\n")),
            &[],
            &["bad.toml", "`grid.hidden[1]` = 0"],
            2,
        ),
        // A distribution needs drawn configurations; the default strategy enumerates.
        case(
            "grid_distribution",
            Text(tiny("bad", "lr = { loguniform = [0.001, 0.1] }\n")),
            &[],
            &[
                "bad.toml:20: `grid.lr`",
                "a distribution needs [search] strategy = \"random\"",
            ],
            2,
        ),
        case(
            "search_eta",
            Text(tiny(
                "bad",
                "hidden = [2, 3]\n\n[search]\nstrategy = \"halving\"\nmin_epochs = 1\neta = 1\n",
            )),
            &[],
            &["bad.toml:25: `search.eta` = 1: eta must be an integer >= 2"],
            2,
        ),
        case(
            "data_file_bad_cell",
            Text(tiny_on("pts.csv")),
            &[("pts.csv", "x,y\n1,2\n3,oops\n")],
            &["pts.csv", "column `y`, row 2"],
            2,
        ),
        case(
            "data_file_fewer_training_points_than_batch_size",
            Text(tiny_on("few.csv")),
            &[("few.csv", "x,y\n1,2\n3,4\n5,6\n7,8\n9,10\n")],
            &["bad.toml", "batch_size", "3 training points of few.csv"],
            2,
        ),
        // 4 rows: 0.8 test rows round to 1, 0.4 validation rows to 0.
        case(
            "data_file_too_small_for_three_splits",
            Text(tiny_on("four.csv")),
            &[("four.csv", "x,y\n1,2\n3,4\n5,6\n7,8\n")],
            &[
                "four.csv",
                "test_fraction 0.2 and valid_fraction 0.1",
                "leave 3 training, 0 validation and 1 test points",
            ],
            2,
        ),
        // A file where the results folder should be.
        case(
            "unusable_results_folder",
            Text(tiny("bad", "").replace("name = \"bad\"", "name = \"bad\"\noutput = \"taken\"")),
            &[("taken", "a file where the results folder should be")],
            &["results folder taken cannot be used"],
            2,
        ),
    ]
}

/// Runs one case in a folder of its own; returns what went wrong (nothing if the binary exited
/// with the case's code, said `error: ` and every expected fragment, and wrote nothing).
fn problems(case: &BadInput) -> Vec<String> {
    let dir = tempdir();
    let mut inputs: Vec<String> = Vec::new();
    for (name, contents) in case.files {
        write(dir.path(), name, contents);
        inputs.push(name.to_string());
    }
    let text = match &case.input {
        Input::KeyLine(line) => Some(tiny_with(line)),
        Input::Text(text) => Some(text.clone()),
        Input::Missing(_) => None,
    };
    let file = match &case.input {
        Input::Missing(name) => name,
        _ => "bad.toml",
    };
    if let Some(text) = text {
        write(dir.path(), file, &text);
        inputs.push(file.to_string());
    }
    let out = run(dir.path(), &[file]);
    let err = stderr(&out);
    let mut problems = Vec::new();
    if out.status.code() != Some(case.exit) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            out.status.code(),
            case.exit
        ));
    }
    if !err.starts_with("error: ") {
        problems.push("the message does not start with `error: `".to_string());
    }
    for part in case.expected {
        if !err.contains(part) {
            problems.push(format!("the message lacks {part:?}"));
        }
    }
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    inputs.sort();
    if left != inputs {
        problems.push(format!(
            "nothing may be written for a bad input, but the folder holds {left:?}"
        ));
    }
    if !problems.is_empty() {
        problems.push(format!("stderr was: {err:?}"));
    }
    problems
}

/// Every row of [`bad_inputs`], each in its own folder; fails listing every case that failed
/// and why, so one broken case does not hide the others.
#[test]
fn bad_input_cases() {
    let cases = bad_inputs();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let problems = problems(case);
            (!problems.is_empty()).then(|| format!("{}: {}", case.name, problems.join("; ")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn huge_learning_rate_gives_diverged_rows_and_a_finished_sweep() {
    let dir = tempdir();
    let text = tiny("wild", "lr = [0.01, 1e12]\n").replace(
        "[train]\n",
        "[train]\nmomentum = 0.0\nlr_schedule = \"constant\"\n",
    );
    write(dir.path(), "exp.toml", &text);
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(
        out.status.success(),
        "a diverged run is an outcome, not an error: {}",
        stderr(&out)
    );
    let runs = read(&dir.path().join("results/wild/runs.parquet"));
    assert_eq!(strings(&runs, "status"), ["ok", "diverged"]);
    let diverged_epoch = runs
        .column("diverged_epoch")
        .unwrap()
        .i64()
        .unwrap()
        .clone();
    assert_eq!(diverged_epoch.get(0), None);
    assert!(diverged_epoch.get(1).is_some());
    assert!(
        floats(&runs, "test_ll")[1].is_nan(),
        "a diverged run has no test_ll"
    );
}

#[test]
fn a_list_of_sources_is_an_axis_and_every_table_names_the_dataset() {
    let dir = tempdir();
    let rows: String = (0..150)
        .map(|i| {
            format!(
                "{},{}\n",
                (i as f64 * 0.37).sin() * 3.0,
                (i as f64 * 0.11).cos()
            )
        })
        .collect();
    std::fs::write(dir.path().join("mine.csv"), format!("a,b\n{rows}")).unwrap();
    let text = tiny("multi", "seed = [0, 1]\n").replace(
        "source = \"gmm_iso\"",
        "source = [\"gmm_iso\", \"eight_gaussians\", \"mine.csv\"]",
    );
    write(dir.path(), "exp.toml", &text);
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let results = dir.path().join("results/multi");
    let runs = read(&results.join("runs.parquet"));
    assert_eq!(
        strings(&runs, "dataset"),
        [
            "gmm_iso",
            "gmm_iso",
            "eight_gaussians",
            "eight_gaussians",
            "mine.csv",
            "mine.csv"
        ]
    );
    assert!(floats(&runs, "true_ll")[4].is_nan() && !floats(&runs, "true_ll")[2].is_nan());
    for table in ["curves.parquet", "models.parquet", "data.parquet"] {
        let df = read(&results.join(table));
        let names = strings(&df, "dataset");
        assert!(
            ["gmm_iso", "eight_gaussians", "mine.csv"]
                .iter()
                .all(|d| names.iter().any(|n| n == d)),
            "{table}"
        );
    }
    let data = read(&results.join("data.parquet"));
    assert_eq!(
        strings(&data, "dataset")
            .iter()
            .filter(|d| *d == "mine.csv")
            .count(),
        150
    );
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[test]
fn plot_writes_pngs_of_the_expected_size() {
    let dir = tempdir();
    write(
        dir.path(),
        "exp.toml",
        &tiny("pics", "hidden = [2, 3]\nseed = [0, 1]\n"),
    );
    assert!(run(dir.path(), &["exp.toml", "--quiet"]).status.success());
    // Single runs, so that the best two are the two of highest valid_ll.
    let out = run(
        dir.path(),
        &["plot", "results/pics", "--top", "2", "--svg", "--by-run"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let plots = dir.path().join("results/pics/plots");
    let runs = read(&dir.path().join("results/pics/runs.parquet"));
    let ids = ranked_by_valid_ll(&runs);
    for (_, id) in &ids[..2] {
        // gmm_iso has a known density, drawn beside the model's.
        assert_eq!(
            png_size(&plots.join(format!("density-{id}.png"))),
            grbm_sweep::report::plot::DENSITY_SIZE
        );
        assert!(plots.join(format!("density-{id}.svg")).exists());
    }
    assert!(
        !plots.join(format!("density-{}.png", ids[2].1)).exists(),
        "--top 2 draws two densities"
    );
    assert_eq!(
        png_size(&plots.join("curves.png")),
        grbm_sweep::report::plot::CURVES_SIZE
    );

    let one = run(dir.path(), &["plot", "results/pics", "--run", &ids[3].1]);
    assert!(one.status.success(), "{}", stderr(&one));
    assert!(plots.join(format!("density-{}.png", ids[3].1)).exists());
}

#[test]
fn plot_draws_every_data_sets_best_run_in_one_picture() {
    let dir = tempdir();
    let rows: String = (0..150)
        .map(|i| format!("{},{}\n", (i as f64 * 0.37).sin(), (i as f64 * 0.11).cos()))
        .collect();
    std::fs::write(dir.path().join("mine.csv"), format!("a,b\n{rows}")).unwrap();
    let text = tiny("best", "seed = [0, 1]\n").replace(
        "source = \"gmm_iso\"",
        "source = [\"gmm_iso\", \"two_moons\", \"mine.csv\"]",
    );
    write(dir.path(), "exp.toml", &text);
    assert!(run(dir.path(), &["exp.toml", "--quiet"]).status.success());
    let out = run(dir.path(), &["plot", "results/best", "--top", "1", "--svg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plots = dir.path().join("results/best/plots");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("results/best/plots/best.png"), "{stdout}");
    // One pair of panels per data set, one per row.
    assert_eq!(grbm_sweep::report::plot::best_layout(3), (1, 3));
    assert_eq!(
        png_size(&plots.join("best.png")),
        grbm_sweep::report::plot::best_size(3)
    );
    let svg = std::fs::read_to_string(plots.join("best.svg")).unwrap();
    for name in ["gmm_iso", "two_moons", "mine.csv"] {
        assert!(
            svg.contains(&format!("{name}: config ")) && svg.contains("over 2 seeds"),
            "{name} is captioned with its configuration"
        );
    }
    // The file's density is unknown: its test points stand beside the model instead.
    assert!(svg.contains("true density") && svg.contains("test points"));
}

#[test]
fn plot_errors_name_the_folder_and_the_run() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let out = run(dir.path(), &["plot", "empty"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot plot empty") && stderr(&out).contains("run the sweep"),
        "{}",
        stderr(&out)
    );

    write(dir.path(), "exp.toml", &tiny("pics", "seed = [0]\n"));
    assert!(run(dir.path(), &["exp.toml", "--quiet"]).status.success());
    let out = run(
        dir.path(),
        &["plot", "results/pics", "--run", "0123456789abcdef"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has no finished run with id 0123456789abcdef"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_table_carries_the_provenance_that_provenance_json_holds() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &tiny("prov", "hidden = [2, 3]\n"));
    let out = run(dir.path(), &["exp.toml", "--quiet", "--top", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let results = dir.path().join("results/prov");
    let json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(results.join("provenance.json")).unwrap())
            .unwrap();
    let expected: Vec<(String, String)> = grbm_sweep::sweep::provenance::KEYS
        .iter()
        .map(|k| (k.to_string(), json[*k].as_str().unwrap().to_string()))
        .collect();
    for table in TABLES {
        let metadata = parquet_metadata(&results.join(table));
        for (key, value) in &expected {
            assert!(
                metadata.contains(&(key.clone(), value.clone())),
                "{table} lacks {key} = {value}: {metadata:?}"
            );
        }
    }
    let value = |key: &str| json[key].as_str().unwrap().to_string();
    assert_eq!(value("grbm_sweep.version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        value("grbm_sweep.experiment_sha256"),
        grbm_sweep::sweep::provenance::sha256_hex(
            &std::fs::read(results.join("sweep.toml")).unwrap()
        )
    );
    assert!(
        value("grbm_sweep.command").ends_with("exp.toml --quiet --top 2"),
        "{}",
        value("grbm_sweep.command")
    );
    assert!(["avx512", "avx2+fma", "baseline"].contains(&value("grbm_sweep.isa").as_str()));
    assert!(value("grbm_sweep.rustc").starts_with("rustc "));
    let commit = value("grbm_sweep.commit");
    assert!(
        commit == "unknown" || commit.trim_end_matches("-dirty").len() == 40,
        "{commit}"
    );
    assert!(value("grbm_sweep.created").ends_with('Z'));
}

/// Every file under `dir` with its length and modification time, to show a command wrote nothing.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                files.push((path, meta.len(), meta.modified().unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn verify_recomputes_runs_bit_for_bit_and_names_an_edited_value() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &tiny("check", "seed = [0, 1, 2]\n"));
    assert!(run(dir.path(), &["exp.toml", "--quiet"]).status.success());
    let results = dir.path().join("results/check");
    let before = snapshot(&results);

    let drawn = |seed: &str| {
        let out = run(
            dir.path(),
            &["verify", "results/check", "--sample", "2", "--seed", seed],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = drawn("5");
    assert!(
        first.starts_with("recomputing 2 of 3 runs drawn with --seed 5\n"),
        "{first}"
    );
    assert_eq!(first.lines().filter(|l| l.ends_with(" same")).count(), 2);
    assert_eq!(drawn("5"), first, "the same seed draws the same runs");

    let ids = strings(&read(&results.join("runs.parquet")), "run_id");
    let mut args = vec!["verify", "results/check"];
    for id in &ids {
        args.extend(["--run", id.as_str()]);
    }
    let out = run(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches(" same")
            .count(),
        3
    );
    assert_eq!(snapshot(&results), before, "verify wrote into the folder");

    // One stored value changed by one part in 10^15 in a run's record is caught by the record's
    // checksum, and the run is named as damaged.
    let at = grbm_sweep::sweep::journal::scan(&results).runs[&ids[1]]
        .at
        .clone();
    let log_before = std::fs::read(&at.log).unwrap();
    let test_ll = floats(&read(&results.join("runs.parquet")), "test_ll")[1];
    let edited_ll = (test_ll * (1.0 + 1e-15)).to_be_bytes();
    let mut log = log_before.clone();
    let mut needle = vec![0xcb];
    needle.extend(test_ll.to_be_bytes());
    let found = (at.offset as usize..log.len())
        .find(|&i| log[i..].starts_with(&needle))
        .expect("the record holds its test_ll as a MessagePack f64");
    log[found + 1..found + 9].copy_from_slice(&edited_ll);
    std::fs::write(&at.log, &log).unwrap();
    let edited = snapshot(&results);
    let out = run(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{} damaged: the record of {} at byte {} of results/check/records/{} fails its checksum",
            ids[1],
            ids[1],
            at.offset,
            at.log.file_name().unwrap().to_string_lossy()
        )),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{} same", ids[0])), "{stdout}");
    assert!(
        stderr(&out).contains("1 of 3 runs differ or have a damaged record"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&results), edited, "verify wrote into the folder");
    std::fs::write(&at.log, &log_before).unwrap();

    // So is a value changed by one ulp in a table a reader opens, with the records left as they
    // were: named by the run's row in that file (not row 0, its row among its own rows) and
    // shown as two numbers that differ (not both rounded to the same 6 digits).
    let runs_path = results.join("runs.parquet");
    let mut runs = read(&runs_path);
    let row = strings(&runs, "run_id")
        .iter()
        .position(|id| *id == ids[2])
        .unwrap();
    assert_ne!(row, 0, "the edited run must not be in row 0");
    let mut test_ll = floats(&runs, "test_ll");
    let stored = f64::from_bits(test_ll[row].to_bits() + 1);
    let recomputed = test_ll[row];
    test_ll[row] = stored;
    runs.with_column(Column::new("test_ll".into(), test_ll))
        .unwrap();
    ParquetWriter::new(std::fs::File::create(&runs_path).unwrap())
        .finish(&mut runs)
        .unwrap();
    let out = run(dir.path(), &["verify", "results/check", "--run", &ids[2]]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The file a reader opens is the committed one (runs.parquet leads to it), so it no longer
    // matches tables.json.
    assert!(
        stdout.contains("results/check/tables/1/runs.parquet is ")
            && stdout.contains("it changed after the set was committed")
            && stderr(&out).contains("1 problem with the committed tables of results/check"),
        "{stdout}{}",
        stderr(&out)
    );
    assert_ne!(format!("{stored:?}"), format!("{recomputed:?}"));
    assert!(
        stdout.contains(&format!(
            "{} differs: runs.parquet test_ll row {row}: stored {stored:?}, recomputed \
             {recomputed:?} (difference {:.1e})\n",
            ids[2],
            (stored - recomputed).abs()
        )),
        "{stdout}"
    );

    let out = run(
        dir.path(),
        &["verify", "results/check", "--run", "0123456789abcdef"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has no record of a run 0123456789abcdef"),
        "{}",
        stderr(&out)
    );
}

/// `verify --run` and `plot --run` take a unique prefix of a run id; a prefix that begins
/// several ids is refused with all of them listed, not resolved to the first one.
#[test]
fn run_id_prefixes_resolve_and_an_ambiguous_one_lists_its_matches() {
    let dir = tempdir();
    // 17 runs: by pigeonhole, two of their ids begin with the same hex digit.
    let seeds: Vec<String> = (0..17).map(|s| s.to_string()).collect();
    let grid = format!("seed = [{}]\n", seeds.join(", "));
    write(dir.path(), "exp.toml", &tiny("ids", &grid));
    assert!(run(dir.path(), &["exp.toml", "--quiet"]).status.success());
    let ids = strings(
        &read(&dir.path().join("results/ids/runs.parquet")),
        "run_id",
    );

    let out = run(
        dir.path(),
        &["verify", "results/ids", "--run", &ids[3][..8]],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("recomputing 1 named run\n{} same\n", ids[3])
    );

    let shared = ids
        .iter()
        .map(|id| &id[..1])
        .find(|digit| ids.iter().filter(|id| id.starts_with(*digit)).count() > 1)
        .expect("17 ids over 16 hex digits");
    let mut matching: Vec<&String> = ids.iter().filter(|id| id.starts_with(shared)).collect();
    matching.sort();
    let listed = matching
        .iter()
        .map(|id| id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for command in ["verify", "plot"] {
        let out = run(dir.path(), &[command, "results/ids", "--run", shared]);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "results/ids: the run id prefix {shared} is ambiguous: it begins {} run ids: \
                 {listed}; give more of the id",
                matching.len()
            )),
            "{command}: {}",
            stderr(&out)
        );
    }
}

/// `plan --all FILE | head -1`: the reader quits early, and the program must end quietly (by
/// SIGPIPE, as other Unix tools do), not panic on its next print.
#[test]
fn a_reader_that_quits_early_ends_the_program_without_a_panic() {
    use std::io::Read;
    let dir = tempdir();
    let seeds: Vec<String> = (0..5000).map(|s| s.to_string()).collect();
    let text = format!(
        "name = \"long\"\n[data]\nsource = \"gmm_iso\"\n[grid]\nseed = [{}]\n",
        seeds.join(", ")
    );
    write(dir.path(), "e.toml", &text);
    let mut child = spawn(dir.path(), &["plan", "e.toml", "--all"]);
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe's reading end is dropped here, with thousands of lines still to print.
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// A logspace between powers of ten lists the exact powers (the middle was 0.010000000000000004),
/// and one of an integer key its rounded values.
#[test]
fn plan_lists_exact_and_integer_logspace_values() {
    let dir = tempdir();
    write(
        dir.path(),
        "exp.toml",
        &tiny(
            "logs",
            "hidden = { logspace = [2, 8], num = 3 }\nlr = { logspace = [0.001, 0.1], num = 3 }\n",
        ),
    );
    let out = run(dir.path(), &["plan", "exp.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("0.010000000000000004"), "{stdout}");
    assert!(stdout.contains("  lr: 0.001, 0.01, 0.1\n"), "{stdout}");
    assert!(stdout.contains("  hidden: 2, 4, 8\n"), "{stdout}");
    // Each run's line without its estimated cost, `  (~...)` at the end.
    let runs: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" hidden="))
        .map(|l| l.split("  (~").next().unwrap())
        .collect();
    assert_eq!(runs.len(), 9, "{stdout}");
    assert_eq!(
        runs.iter().filter(|l| l.ends_with(" lr=0.01")).count(),
        3,
        "{stdout}"
    );
    assert!(
        runs.iter().any(|l| l.ends_with("hidden=4 lr=0.01")),
        "{stdout}"
    );
}

/// A CSV `label,x,y` of numbers: without `columns` the sweep stops before writing anything
/// (it trained on label and x); with `columns = ["x", "y"]` it runs, and the manifest and
/// data.parquet's metadata name x and y.
#[test]
fn a_data_file_with_three_numeric_columns_needs_columns() {
    let dir = tempdir();
    let rows: String = (0..300)
        .map(|i| {
            let x = (i as f64 * 0.37).sin() * 3.0;
            format!("{},{x},{}\n", i % 3, 2.0 * x)
        })
        .collect();
    write(dir.path(), "data.csv", &format!("label,x,y\n{rows}"));
    let text =
        tiny("cols", "seed = [0]\n").replace("source = \"gmm_iso\"", "source = \"data.csv\"");
    write(dir.path(), "exp.toml", &text);
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        "error: sweep exp.toml did not complete: data file data.csv has 3 numeric columns \
         (label, x, y) and no `columns` key in [data]: name the two point columns, e.g. \
         columns = [\"x\", \"y\"]"
    );
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["data.csv", "exp.toml"], "nothing is written");

    let text = text.replace(
        "source = \"data.csv\"",
        "source = \"data.csv\"\ncolumns = [\"x\", \"y\"]",
    );
    write(dir.path(), "exp.toml", &text);
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let results = dir.path().join("results/cols");
    let data = read(&results.join("data.parquet"));
    let (x1, x2) = (floats(&data, "x1"), floats(&data, "x2"));
    assert_eq!(x1.len(), 300);
    assert!(
        x1.iter().zip(&x2).all(|(a, b)| *b == 2.0 * a),
        "x1 is x and x2 is y"
    );
    let metadata = parquet_metadata(&results.join("data.parquet"));
    let columns: Vec<&String> = metadata
        .iter()
        .filter(|(k, _)| k == "columns")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(columns, [r#"{"data.csv":["x","y"]}"#], "{metadata:?}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["shown"]["point_columns"], r#"[["data.csv", "x", "y"]]"#,
        "{manifest}"
    );
}

/// `manifest.json` as grbm-sweep wrote it before the columns of data files were recorded (at
/// d5e57cf, for `tiny` on SOURCE, whose points have the fingerprint PRINT).
const MANIFEST_BEFORE_POINT_COLUMNS: &str = r#"{
  "format": "grbm-sweep manifest v2",
  "canonical": {
    "columns": "none",
    "n_test": "i100",
    "n_train": "i200",
    "n_valid": "i150",
    "points": "[s\"SOURCE:PRINT\"]",
    "seed": "i3",
    "source": "[s\"SOURCE\"]",
    "test_fraction": "f3fc999999999999a",
    "test_source": "none",
    "valid_fraction": "f3fb999999999999a"
  },
  "shown": {
    "columns": "unset",
    "n_test": "100",
    "n_train": "200",
    "n_valid": "150",
    "points": "[\"SOURCE:PRINT\"]",
    "seed": "3",
    "source": "[\"SOURCE\"]",
    "test_fraction": "0.2",
    "test_source": "unset",
    "valid_fraction": "0.1"
  }
}"#;

/// Results folders written before the columns were recorded stay usable: a generator's manifest
/// is kept as it is, a data file's gets the columns it was read from.
#[test]
fn results_folders_from_before_point_columns_are_still_used() {
    let dir = tempdir();
    let rows: String = (0..300)
        .map(|i| format!("{i},{}\n", (i * 7) % 11))
        .collect();
    write(dir.path(), "pts.csv", &format!("x,y\n{rows}"));
    for (source, print) in [
        ("gmm_iso", "01ce2073d5af68e4"),
        ("pts.csv", "bb70962ad18140f7"),
    ] {
        let name = source.replace('.', "_");
        let text = tiny(&name, "seed = [0]\n").replace("\"gmm_iso\"", &format!("\"{source}\""));
        write(dir.path(), "exp.toml", &text);
        let folder = dir.path().join("results").join(&name);
        std::fs::create_dir_all(&folder).unwrap();
        let before = MANIFEST_BEFORE_POINT_COLUMNS
            .replace("SOURCE", source)
            .replace("PRINT", print);
        write(&folder, "manifest.json", &before);
        let out = run(dir.path(), &["exp.toml", "--quiet"]);
        assert!(out.status.success(), "{source}: {}", stderr(&out));
        let after = std::fs::read_to_string(folder.join("manifest.json")).unwrap();
        if source == "gmm_iso" {
            assert_eq!(after, before, "a generator's manifest is kept");
        } else {
            let after: serde_json::Value = serde_json::from_str(&after).unwrap();
            assert_eq!(
                after["shown"]["point_columns"], r#"[["pts.csv", "x", "y"]]"#,
                "{after}"
            );
        }
    }
}

/// Runs the tiny experiment `name` over `grid`, then `plot` on its results with `args`, and
/// returns the folder of pictures.
fn sweep_and_plot(dir: &Path, name: &str, grid: &str, args: &[&str]) -> std::path::PathBuf {
    write(dir, "exp.toml", &tiny(name, grid));
    let out = run(dir, &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let results = format!("results/{name}");
    let out = run(dir, &[&["plot", results.as_str()], args].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join(results).join("plots")
}

/// The names of the pictures in a plots folder that start with `prefix`.
fn pictures_starting(plots: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(plots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// The best configuration is the one of highest mean valid_ll over its seeds, and its picture
/// is its median seed by valid_ll: not the luckiest single run, which `--by-run` draws instead.
#[test]
fn plot_draws_the_median_seed_of_the_best_configuration_by_mean_valid_ll() {
    let dir = tempdir();
    let grid = "hidden = [2, 3]\nseed = [0, 1, 2]\n";
    let plots = sweep_and_plot(dir.path(), "configs", grid, &["--top", "1", "--svg"]);
    let runs = read(&dir.path().join("results/configs/runs.parquet"));
    let (configs, valid) = (strings(&runs, "config_id"), floats(&runs, "valid_ll"));
    let mean = |config: &str| {
        let values: Vec<f64> = (0..configs.len())
            .filter(|&i| configs[i] == config)
            .map(|i| valid[i])
            .collect();
        values.iter().sum::<f64>() / values.len() as f64
    };
    let mut ids: Vec<&String> = configs.iter().collect();
    ids.sort();
    ids.dedup();
    let best = ids
        .iter()
        .max_by(|a, b| mean(a).total_cmp(&mean(b)).then(b.cmp(a)))
        .unwrap();
    let config_of: std::collections::HashMap<String, String> = strings(&runs, "run_id")
        .into_iter()
        .zip(configs.iter().cloned())
        .collect();
    // Its three seeds best first: the median is the second.
    let seeds: Vec<(f64, String)> = ranked_by_valid_ll(&runs)
        .into_iter()
        .filter(|(_, id)| config_of[id] == **best)
        .collect();
    let median = &seeds[1].1;

    assert_eq!(
        pictures_starting(&plots, "density-"),
        [
            format!("density-{median}.png"),
            format!("density-{median}.svg")
        ],
        "the median seed of config {best}"
    );
    let svg = std::fs::read_to_string(plots.join(format!("density-{median}.svg"))).unwrap();
    assert!(
        svg.contains(&format!("config {best}")) && svg.contains("over 3 seeds"),
        "the title names the configuration and its seeds"
    );
    let best_svg = std::fs::read_to_string(plots.join("best.svg")).unwrap();
    assert!(
        best_svg.contains(&format!("(run {median})")),
        "best.png draws it too"
    );

    std::fs::remove_dir_all(&plots).unwrap();
    let out = run(
        dir.path(),
        &["plot", "results/configs", "--top", "1", "--by-run"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let luckiest = &ranked_by_valid_ll(&runs)[0].1;
    assert_eq!(
        pictures_starting(&plots, "density-"),
        [format!("density-{luckiest}.png")]
    );
}

/// Seeds are replicates that every cell is summarized over, never an axis of a heat map.
#[test]
fn plot_of_a_grid_draws_heat_maps_of_the_axes_but_the_seed() {
    let dir = tempdir();
    let grid = "hidden = [2, 3]\nlr = [0.01, 0.1]\nseed = [0, 1]\n";
    let plots = sweep_and_plot(dir.path(), "grid", grid, &["--svg"]);
    assert_eq!(
        pictures_starting(&plots, "grid-"),
        ["grid-hidden-lr.png", "grid-hidden-lr.svg"]
    );
    assert_eq!(
        png_size(&plots.join("grid-hidden-lr.png")),
        grbm_sweep::report::plot::GRID_SIZE
    );
    assert!(
        pictures_starting(&plots, "slice-").is_empty(),
        "a grid has heat maps"
    );
    let svg = std::fs::read_to_string(plots.join("grid-hidden-lr.svg")).unwrap();
    assert!(
        svg.contains("2 seeds") && svg.contains("mean test_ll"),
        "each cell is a mean over its seeds"
    );
}

/// A random search's configurations scatter over the axes, so that a heat map's cells would be
/// mostly empty: it draws a slice per swept key but the seed instead.
#[test]
fn plot_of_a_random_search_draws_slices_not_heat_maps() {
    let dir = tempdir();
    let grid = "hidden = { randint = [2, 6] }\nlr = { loguniform = [0.001, 0.1] }\nseed = [0, 1]\n\n\
                [search]\nstrategy = \"random\"\nsamples = 4\n";
    let plots = sweep_and_plot(dir.path(), "random", grid, &["--svg"]);
    assert_eq!(
        pictures_starting(&plots, "slice-"),
        [
            "slice-hidden.png",
            "slice-hidden.svg",
            "slice-lr.png",
            "slice-lr.svg"
        ]
    );
    assert_eq!(
        png_size(&plots.join("slice-lr.png")),
        grbm_sweep::report::plot::SLICE_SIZE
    );
    assert!(
        pictures_starting(&plots, "grid-").is_empty(),
        "no heat maps"
    );
    let svg = std::fs::read_to_string(plots.join("slice-lr.svg")).unwrap();
    assert!(svg.contains("lr (log scale)"), "lr is drawn log-uniformly");
    assert!(svg.contains("95% t-interval") && svg.contains("the best: "));
    let svg = std::fs::read_to_string(plots.join("slice-hidden.svg")).unwrap();
    assert!(
        !svg.contains("log scale"),
        "hidden spans less than a factor of 10"
    );
}

/// A halving search over drawn configurations draws slices too, its pruned configurations
/// faded at the rung that stopped them.
#[test]
fn plot_of_a_halving_search_over_drawn_configurations_shows_the_pruned_ones() {
    let dir = tempdir();
    let grid = "hidden = { randint = [2, 6] }\nseed = [0, 1]\n\n\
                [search]\nstrategy = \"halving\"\nsamples = 4\nmin_epochs = 1\neta = 2\n";
    let plots = sweep_and_plot(dir.path(), "halving", grid, &["--svg"]);
    assert!(pictures_starting(&plots, "grid-").is_empty());
    let svg = std::fs::read_to_string(plots.join("slice-hidden.svg")).unwrap();
    assert!(
        svg.contains("pruned by halving"),
        "pruned configurations are shown"
    );
}

/// Halving over a grid trains one configuration in three to the end: its heat map would be
/// mostly empty, so it gets slices too.
#[test]
fn plot_of_a_halving_search_over_a_grid_draws_slices() {
    let dir = tempdir();
    let grid = "hidden = [2, 3, 4]\nlr = [0.01, 0.03]\nseed = [0, 1]\n\n\
                [search]\nstrategy = \"halving\"\nmin_epochs = 1\neta = 3\n";
    let plots = sweep_and_plot(dir.path(), "halving", grid, &[]);
    assert!(pictures_starting(&plots, "grid-").is_empty());
    assert_eq!(
        pictures_starting(&plots, "slice-").len(),
        2,
        "hidden and lr"
    );
}

/// `baseline_ll` (one Gaussian with full covariance fitted to the training points) is a column
/// of runs.parquet and configs.parquet, the same for every run of a data set, equal to the same
/// fit recomputed here from data.parquet's points, printed in the summary's heading, and beaten
/// by the best run on gmm_iso: three blobs are not one.
#[test]
fn baseline_ll_is_one_gaussian_fitted_to_the_training_points() {
    let dir = tempdir();
    let text = tiny("baseline", "hidden = [4, 8]\n")
        .replace(
            "source = \"gmm_iso\"",
            "source = [\"gmm_iso\", \"two_moons\"]",
        )
        .replace("epochs = 3", "epochs = 15");
    write(dir.path(), "exp.toml", &text);
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results = dir.path().join("results/baseline");
    let runs = read(&results.join("runs.parquet"));
    let data = read(&results.join("data.parquet"));
    let (names, x1, x2, split) = (
        strings(&data, "dataset"),
        floats(&data, "x1"),
        floats(&data, "x2"),
        strings(&data, "split"),
    );
    let points = |name: &str, part: &str| -> Vec<[f64; 2]> {
        (0..names.len())
            .filter(|&i| names[i] == name && split[i] == part)
            .map(|i| [x1[i], x2[i]])
            .collect()
    };
    let (datasets, baselines) = (strings(&runs, "dataset"), floats(&runs, "baseline_ll"));
    for name in ["gmm_iso", "two_moons"] {
        let expected = one_gaussian_ll(&points(name, "train"), &points(name, "test"));
        let of_runs: Vec<f64> = (0..datasets.len())
            .filter(|&i| datasets[i] == name)
            .map(|i| baselines[i])
            .collect();
        assert_eq!(of_runs.len(), 2, "{name}");
        assert!(
            of_runs.iter().all(|b| *b == of_runs[0]),
            "{name}: {of_runs:?}"
        );
        assert!(
            (of_runs[0] - expected).abs() < 1e-12,
            "{name}: {} vs {expected}",
            of_runs[0]
        );
        assert!(
            stdout.contains(&format!("baseline_ll = {:.4} (one Gaussian)", of_runs[0])),
            "{stdout}"
        );
    }
    let best_gmm = (0..datasets.len())
        .filter(|&i| datasets[i] == "gmm_iso")
        .map(|i| floats(&runs, "test_ll")[i])
        .fold(f64::NEG_INFINITY, f64::max);
    let gmm_baseline = baselines[datasets.iter().position(|d| d == "gmm_iso").unwrap()];
    assert!(best_gmm > gmm_baseline, "{best_gmm} vs {gmm_baseline}");
    let configs = read(&results.join("configs.parquet"));
    let config_baselines = floats(&configs, "baseline_ll");
    for (i, name) in strings(&configs, "dataset").iter().enumerate() {
        let of_run = baselines[datasets.iter().position(|d| d == name).unwrap()];
        assert_eq!(config_baselines[i], of_run, "{name}");
    }
}

/// The mean log density of `test` under N(m, S) fitted to `train`, written out independently of
/// the crate: the marginal of x1 times the conditional of x2 given x1.
fn one_gaussian_ll(train: &[[f64; 2]], test: &[[f64; 2]]) -> f64 {
    let n = train.len() as f64;
    let mean = |i: usize| train.iter().map(|p| p[i]).sum::<f64>() / n;
    let (m1, m2) = (mean(0), mean(1));
    let v1 = train.iter().map(|p| (p[0] - m1).powi(2)).sum::<f64>() / n;
    let v2 = train.iter().map(|p| (p[1] - m2).powi(2)).sum::<f64>() / n;
    let c = train.iter().map(|p| (p[0] - m1) * (p[1] - m2)).sum::<f64>() / n;
    let normal = |x: f64, m: f64, v: f64| {
        -0.5 * (2.0 * std::f64::consts::PI * v).ln() - (x - m).powi(2) / (2.0 * v)
    };
    test.iter()
        .map(|p| normal(p[0], m1, v1) + normal(p[1], m2 + c / v1 * (p[0] - m1), v2 - c * c / v1))
        .sum::<f64>()
        / test.len() as f64
}

/// When every run of a data set diverged the summary has no table to show: it says so, with the
/// counts and the learning rates tried, and points at the usual fixes. The sweep still exits 0:
/// a diverged run is an outcome (docs/command-line.md, exit status).
#[test]
fn a_data_set_where_every_run_diverged_gets_a_hint() {
    let dir = tempdir();
    let text = tiny("wild", "lr = [1000.0, 2000.0]\n").replace(
        "[train]\n",
        "[train]\nmomentum = 0.0\nlr_schedule = \"constant\"\n",
    );
    write(dir.path(), "exp.toml", &text);
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let runs = read(&dir.path().join("results/wild/runs.parquet"));
    assert_eq!(strings(&runs, "status"), ["diverged", "diverged"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("no run on gmm_iso finished (2 diverged of 2):")
            && stdout.contains(
                "every run diverged (non-finite parameters): lower lr (now 1000.0, 2000.0) \
                 or clip_norm (now 20.0)"
            ),
        "{stdout}"
    );
    assert!(!stdout.contains("best "), "no table of best runs: {stdout}");
}

/// `plot --out` and `report --out` write where they are told, and a results folder that cannot
/// take the pictures or the page (here `plots` and `report.html` are taken by a file and a
/// folder: as root, which CI is, permission bits would not stop a write) gets a message that
/// names the path and the option, in the user's words rather than Rust's debug syntax.
#[test]
fn plot_and_report_write_elsewhere_with_out_when_the_results_folder_cannot_take_them() {
    let dir = tempdir();
    write(
        dir.path(),
        "exp.toml",
        &tiny("blocked", "hidden = [2, 3]\n"),
    );
    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    write(
        dir.path(),
        "results/blocked/plots",
        "a file where the folder would go",
    );
    std::fs::create_dir(dir.path().join("results/blocked/report.html")).unwrap();
    let plot = run(dir.path(), &["plot", "results/blocked"]);
    assert_eq!(plot.status.code(), Some(2));
    let err = stderr(&plot);
    assert!(
        err.contains("cannot write pictures into results/blocked/plots: ")
            && err.contains("; write them elsewhere with --out DIR"),
        "{err}"
    );
    let report = run(dir.path(), &["report", "results/blocked"]);
    assert_eq!(report.status.code(), Some(2));
    let report_err = stderr(&report);
    assert!(
        report_err.contains("cannot write results/blocked/report.html: ")
            && report_err.contains("; write the page elsewhere with --out FILE"),
        "{report_err}"
    );
    for message in [&err, &report_err] {
        assert!(
            !message.contains("Os {") && !message.contains("Error("),
            "{message}"
        );
    }
    let plot = run(
        dir.path(),
        &["plot", "results/blocked", "--out", "pictures"],
    );
    assert!(plot.status.success(), "{}", stderr(&plot));
    assert!(String::from_utf8_lossy(&plot.stdout).contains("under pictures"));
    assert!(!pictures_starting(&dir.path().join("pictures"), "curves").is_empty());
    let report = run(
        dir.path(),
        &["report", "results/blocked", "--out", "page.html"],
    );
    assert!(report.status.success(), "{}", stderr(&report));
    let page = std::fs::read_to_string(dir.path().join("page.html")).unwrap();
    assert!(page.contains("grbm-sweep report: blocked"));
}

/// `--set` is the file edited: `plan` lists the run ids of the edited file, the sweep trains
/// them, its folder's `sweep.toml` holds the settings (so `report` and `merge` read the same
/// experiment) and `provenance.json` the command line; a malformed setting is refused with a
/// suggestion.
#[test]
fn set_on_the_command_line_equals_editing_the_file() {
    let dir = tempdir();
    let file = "name = \"s\"\noutput = \"out\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 100\n\
                n_valid = 50\nn_test = 50\nseed = 1\n\n[train]\nepochs = 3\nbatch_size = 50\n\n\
                [eval]\nsamples = 10\n\n[grid]\nhidden = [2, 3]\n";
    write(dir.path(), "e.toml", file);
    let edited = file
        .replace("epochs = 3", "epochs = 2")
        .replace("[grid]\n", "[grid]\nseed = [0, 1]\n");
    write(dir.path(), "edited.toml", &edited);
    let ids = |args: &[&str]| {
        let out = run(dir.path(), args);
        assert!(out.status.success(), "{}", stderr(&out));
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1).filter(|id| id.len() == 16))
            .map(str::to_string)
            .collect();
        assert_eq!(ids.len(), 4, "{}", String::from_utf8_lossy(&out.stdout));
        ids
    };
    let sets = ["--set", "train.epochs=2", "--set", "grid.seed=[0, 1]"];
    let with_set = ids(&[&["plan", "e.toml"][..], &sets].concat());
    assert_eq!(with_set, ids(&["plan", "edited.toml"]));

    let out = run(dir.path(), &[&["e.toml", "--quiet"][..], &sets].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let trained = strings(&read(&dir.path().join("out/runs.parquet")), "run_id");
    assert_eq!(trained, with_set);
    let copy = std::fs::read_to_string(dir.path().join("out/sweep.toml")).unwrap();
    assert!(
        copy.contains("epochs = 2") && copy.contains("seed = [0, 1]"),
        "{copy}"
    );
    assert!(copy.contains("# Set on the command line (grbm-sweep --set): train.epochs=2"));
    let provenance = std::fs::read_to_string(dir.path().join("out/provenance.json")).unwrap();
    assert!(provenance.contains("--set train.epochs=2"), "{provenance}");
    let out = run(dir.path(), &["verify", "out", "--sample", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = run(dir.path(), &["plan", "e.toml", "--set", "trian.epochs=2"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "e.toml: --set trian.epochs=2: unknown section `[trian]`; did you mean `[train]`?"
        ),
        "{}",
        stderr(&out)
    );
}

/// Every I/O failure a user can cause without root (a path that is missing, a folder where a
/// file should be, a file where a folder should be) gets a message in words: the path and the
/// system's reason, never Rust's debug syntax (`Os {`, `Error(`, `kind:`). A failure of the
/// disk itself is checked in tests/it/records.rs.
#[test]
fn io_errors_are_reported_in_words() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "ok.toml", &tiny("ok", "hidden = [2]\n"));
    assert!(run(d, &["ok.toml", "--quiet"]).status.success());
    std::fs::create_dir(d.join("a_folder.toml")).unwrap();
    write(d, "a_file", "not a folder");
    std::fs::create_dir(d.join("a_folder.csv")).unwrap();
    write(
        d,
        "under_a_file.toml",
        &format!("output = \"a_file/out\"\n{}", tiny("u", "")),
    );
    write(d, "csv_folder.toml", &tiny_on("a_folder.csv"));
    write(d, "missing_csv.toml", &tiny_on("missing.csv"));
    let cases: [&[&str]; 14] = [
        &["missing.toml"],
        &["a_folder.toml"],
        &["plan", "missing.toml"],
        &["under_a_file.toml"],
        &["csv_folder.toml"],
        &["missing_csv.toml"],
        &["merge", "missing"],
        &["merge", "a_file"],
        &["report", "missing"],
        &["plot", "missing"],
        &["verify", "a_file"],
        &["plot", "results/ok", "--out", "a_file"],
        &["report", "results/ok", "--out", "a_file/page.html"],
        &["slurm", "under_a_file.toml"],
    ];
    for args in cases {
        let out = run(d, args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        for debug in ["Os {", "Error(", "kind:", "Custom {"] {
            assert!(!err.contains(debug), "{args:?}: {err}");
        }
    }
}

/// `plan` says what a sweep will cost before anything runs: a total line and each run's time
/// and memory. A run of 100 000 hidden units shows its time per epoch and a memory in GB (its
/// initial model's log Z grid), a run over an hour is warned of, and so is a sweep that needs
/// more memory than any machine here has. No number is checked against a clock: those are in
/// docs/command-line.md, measured.
#[test]
fn plan_estimates_each_runs_time_and_memory_and_warns_of_the_largest() {
    let dir = tempdir();
    write(dir.path(), "exp.toml", &tiny("costly", "hidden = [2, 3]\n"));
    let plan = |sets: &[&str]| {
        let out = run(dir.path(), &[&["plan", "exp.toml"][..], sets].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let small = plan(&[]);
    assert!(
        small.contains("cost: about ") && small.contains("timed on this machine"),
        "{small}"
    );
    let run_lines: Vec<&str> = small.lines().filter(|l| l.contains("hidden=")).collect();
    assert_eq!(run_lines.len(), 2, "{small}");
    assert!(
        run_lines
            .iter()
            .all(|l| l.contains("(~") && l.ends_with("B)")),
        "{small}"
    );
    assert!(!small.contains("warning"), "{small}");

    let huge = plan(&[
        "--set",
        "grid.hidden=[100000]",
        "--set",
        "train.epochs=100000",
    ]);
    let line = huge.lines().find(|l| l.contains("hidden=100000")).unwrap();
    assert!(line.contains("per epoch") && line.contains(" GB"), "{huge}");
    assert!(
        huge.contains("warning: 1 run would take over an hour"),
        "{huge}"
    );

    let enormous = plan(&[
        "--set",
        "grid.hidden=[10000000]",
        "--set",
        "eval.grid_points=4096",
    ]);
    assert!(
        enormous.contains("warning: the sweep would need about")
            && enormous.contains("more than this machine's"),
        "{enormous}"
    );
}
