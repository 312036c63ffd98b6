//! `samples.parquet`'s two kinds of samples from an experiment file: the exact samples beside the
//! sampler's own chains, none of those for a sampler without chains, the same on 1 and 2 threads,
//! `verify` of both, and `plot --chains`.

use crate::common::*;

/// CD-1 and the grid sampler (no chains) on gmm_aniso with 3 hidden units (exact samples by
/// enumeration) and 22 (from the log Z grid), 300 samples of each kind, the chains continued 5
/// Gibbs steps.
const EXPERIMENT: &str = "name = \"kinds\"\n\n[data]\nsource = \"gmm_aniso\"\nn_train = 300\n\
    n_test = 100\nseed = 3\n\n[train]\nepochs = 2\nbatch_size = 50\nk = 1\n\n\
    [eval]\nevery = 0\nsamples = 300\nchain_steps = 5\n\n[grid]\n\
    hidden = [3, 22]\nsampler = [\"cd\", \"grid\"]\n";

#[test]
fn samples_have_both_kinds_for_chain_samplers_and_are_the_same_across_threads() {
    let dir = tempdir();
    write(dir.path(), "one.toml", EXPERIMENT);
    write(
        dir.path(),
        "two.toml",
        &EXPERIMENT.replace("\"kinds\"", "\"kinds2\""),
    );
    for (file, threads) in [("one.toml", "1"), ("two.toml", "2")] {
        let out = run(dir.path(), &[file, "--threads", threads, "--quiet"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let results = dir.path().join("results");
    let (one, two) = (results.join("kinds"), results.join("kinds2"));
    assert_same_tables(&one, &two);

    let samples = read(&one.join("samples.parquet"));
    let names: Vec<&str> = samples
        .get_column_names()
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(names, ["run_id", "dataset", "kind", "x1", "x2"]);
    let (ids, kinds) = (strings(&samples, "run_id"), strings(&samples, "kind"));
    let (x1, x2) = (floats(&samples, "x1"), floats(&samples, "x2"));
    let runs = read(&one.join("runs.parquet"));
    let (run_ids, samplers) = (strings(&runs, "run_id"), strings(&runs, "sampler"));
    assert_eq!(run_ids.len(), 4);
    for (run_id, sampler) in run_ids.iter().zip(&samplers) {
        let rows = |kind: &str| -> Vec<[f64; 2]> {
            (0..samples.height())
                .filter(|&r| ids[r] == *run_id && kinds[r] == kind)
                .map(|r| [x1[r], x2[r]])
                .collect()
        };
        let (exact, chain) = (rows("exact"), rows("chain"));
        assert_eq!(exact.len(), 300, "{run_id}");
        assert!(exact.iter().all(|x| x[0].is_finite() && x[1].is_finite()));
        match sampler.as_str() {
            "cd" => {
                assert_eq!(chain.len(), 300, "{run_id}");
                assert_ne!(exact, chain, "{run_id}");
                // A run's exact rows come first, then its chain rows.
                let order: Vec<&str> = (0..samples.height())
                    .filter(|&r| ids[r] == *run_id)
                    .map(|r| kinds[r].as_str())
                    .collect();
                assert!(order[..300].iter().all(|k| *k == "exact"), "{run_id}");
                assert!(order[300..].iter().all(|k| *k == "chain"), "{run_id}");
            }
            _ => assert!(chain.is_empty(), "{run_id}: the grid sampler has no chains"),
        }
    }

    let out = run(dir.path(), &["verify", "results/kinds"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );

    let out = run(
        dir.path(),
        &["plot", "results/kinds", "--top", "1", "--chains"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let density = std::fs::read_dir(one.join("plots"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("density-"));
    assert!(density, "plot --chains drew no density");
}
