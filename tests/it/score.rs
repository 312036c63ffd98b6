//! `eval` and `sample` against the tables: a run of a results folder and the same model as a
//! parameter file score its test points as `runs.parquet` says, `sample` repeats from a seed and
//! gives a run's exact samples again, and bad parameter files are refused with what was found.

use crate::common::*;
use std::path::Path;

/// Two runs on gmm_aniso: 3 hidden units (log Z also by enumeration) and 21 (grid only).
const EXPERIMENT: &str = "name = \"one\"\n\n[data]\nsource = \"gmm_aniso\"\nn_train = 400\n\
    n_test = 150\nn_valid = 50\nseed = 4\n\n[train]\nepochs = 3\nbatch_size = 50\nk = 1\n\n\
    [eval]\nevery = 0\nsamples = 200\n\n[grid]\nhidden = [3, 21]\nseed = [5]\n";

/// A CSV file of `eval --out` or `sample --out`: its header and its columns, each number read
/// back exactly (they are written in the shortest form that round-trips).
fn csv_columns(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut columns = vec![Vec::new(); header.len()];
    for line in lines {
        for (c, v) in line.split(',').enumerate() {
            columns[c].push(v.parse::<f64>().unwrap());
        }
    }
    (header, columns)
}

/// Row `r` of a list column of floats.
fn list(df: &polars_core::prelude::DataFrame, name: &str, r: usize) -> Vec<f64> {
    let lists = df.column(name).unwrap().list().unwrap().clone();
    let row = lists.get_as_series(r).unwrap();
    row.f64().unwrap().into_no_null_iter().collect()
}

/// The number after `label` on a line of `eval`'s output.
fn printed(out: &str, label: &str) -> f64 {
    let line = out.lines().find(|l| l.starts_with(label)).unwrap();
    line[label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn eval_and_sample_give_the_numbers_of_the_tables() {
    let dir = tempdir();
    write(dir.path(), "one.toml", EXPERIMENT);
    ok(dir.path(), &["one.toml", "--quiet"]);
    let results = dir.path().join("results/one");
    let runs = read(&results.join("runs.parquet"));
    let models = read(&results.join("models.parquet"));
    let samples = read(&results.join("samples.parquet"));
    let (ids, test_ll, log_z) = (
        strings(&runs, "run_id"),
        floats(&runs, "test_ll"),
        floats(&runs, "log_z"),
    );
    for (r, id) in ids.iter().enumerate() {
        // The run of the folder, by a prefix of its id.
        let out = ok(
            dir.path(),
            &["eval", "results/one", "--run", &id[..8], "--out", "e.csv"],
        );
        assert_eq!(printed(&out, "log Z:"), log_z[r], "{out}");
        let (header, columns) = csv_columns(&dir.path().join("e.csv"));
        assert_eq!(header, ["x1", "x2", "log_density"]);
        let densities = &columns[2];
        assert_eq!(densities.len(), 150);
        let mean = densities.iter().sum::<f64>() / densities.len() as f64;
        assert!(
            (mean - test_ll[r]).abs() < 1e-12,
            "{mean} vs {}",
            test_ll[r]
        );

        // The same model as a parameter file, from models.parquet, on the same points.
        assert_eq!(strings(&models, "run_id")[r], *id);
        let scalar = |name: &str| floats(&models, name)[r];
        let json = format!(
            "{{\"b\": [{}, {}], \"sigma\": [{}, {}], \"W\": [{:?}, {:?}], \"c\": {:?}}}",
            scalar("b1"),
            scalar("b2"),
            scalar("sigma1"),
            scalar("sigma2"),
            list(&models, "w1", r),
            list(&models, "w2", r),
            list(&models, "c", r)
        );
        write(dir.path(), "params.json", &json);
        let out = ok(
            dir.path(),
            &[
                "eval",
                "params.json",
                "--points",
                "e.csv",
                "--columns",
                "x1,x2",
                "--out",
                "p.csv",
            ],
        );
        assert!((printed(&out, "log Z:") - log_z[r]).abs() < 1e-12, "{out}");
        let (_, from_file) = csv_columns(&dir.path().join("p.csv"));
        for (a, b) in from_file[2].iter().zip(densities) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }

        // The run's exact samples again, from its seed; another seed draws others, repeatably.
        ok(
            dir.path(),
            &[
                "sample",
                "results/one",
                "--run",
                id,
                "--n",
                "200",
                "--out",
                "s.csv",
            ],
        );
        let (_, drawn) = csv_columns(&dir.path().join("s.csv"));
        let (run_ids, kinds) = (strings(&samples, "run_id"), strings(&samples, "kind"));
        let stored: Vec<f64> = (0..samples.height())
            .filter(|&i| run_ids[i] == *id && kinds[i] == "exact")
            .map(|i| floats(&samples, "x1")[i])
            .collect();
        assert_eq!(drawn[0], stored, "{id}");
        let seeded = ["sample", "params.json", "--n", "50", "--seed", "9", "--out"];
        ok(dir.path(), &[&seeded[..], &["a.csv"]].concat());
        ok(dir.path(), &[&seeded[..], &["b.csv"]].concat());
        let (a, b) = (
            csv_columns(&dir.path().join("a.csv")),
            csv_columns(&dir.path().join("b.csv")),
        );
        assert_eq!(a, b);
        assert_ne!(a.1[0], drawn[0][..50]);
    }
}

/// The parameter file's conventions are checked: a transposed W and a log-variance in place of
/// sigma are refused (exit 2) with what was found, before any output is written.
#[test]
fn parameter_files_in_another_convention_are_refused_with_what_was_found() {
    let dir = tempdir();
    let refused = |json: &str, message: &str| {
        write(dir.path(), "p.json", json);
        let out = run(
            dir.path(),
            &["eval", "p.json", "--points", "gmm_iso", "--out", "o.csv"],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
        assert!(!dir.path().join("o.csv").exists());
    };
    refused(
        r#"{"b": [0, 0], "sigma": [1, 1], "W": [[1, 2], [0, 1], [3, 3]], "c": [0, 0, 0]}"#,
        "`W` is 3 x 2 and `c` has 3 values: W is n x 2 where 2 x n was expected",
    );
    refused(
        r#"{"b": [0, 0], "log_var": [0, 0], "W": [[1, 2, 3], [0, 1, 0]], "c": [0, 0, 0]}"#,
        "found `log_var` where `sigma` (standard deviations) was expected: convert it, sigma = exp(log_var / 2)",
    );
    refused(
        r#"{"b": [0, 0], "sigma": [0, 1], "W": [[1, 2, 3], [0, 1, 0]], "c": [0, 0, 0]}"#,
        "`sigma` must hold standard deviations > 0; found 0",
    );
}
