//! `samples.parquet`'s two kinds of samples from an experiment file: the exact samples beside the
//! Gibbs chain samples, the chain rows those of the versions before exact samples, the same on 1
//! and 2 threads, `verify` of both, and `plot --chains`.

use crate::common::*;

/// A CD-1 run on gmm_aniso with 3 hidden units (exact samples by enumeration) and one with 22
/// (from the log Z grid), 300 samples of each kind from 30 chains.
const EXPERIMENT: &str = "name = \"kinds\"\n\n[data]\nsource = \"gmm_aniso\"\nn_train = 300\n\
    n_test = 100\nseed = 3\n\n[train]\nepochs = 2\nbatch_size = 50\nk = 1\nsampler = \"cd\"\n\n\
    [eval]\nevery = 0\nsamples = 300\nsample_chains = 30\nburn_in = 20\n\n[grid]\n\
    hidden = [3, 22]\n";

/// A run's chain samples as the version before exact samples wrote them.
struct ChainRows {
    run_id: &'static str,
    first: [f64; 2],
    last: [f64; 2],
    /// The sums of x1 and of x2 over its 300 samples.
    sums: [f64; 2],
}

/// Each run's chain samples in `samples.parquet` of EXPERIMENT written by commit e24d19e, the
/// version before exact samples (whose table had no `kind` column). The run ids are those of
/// run identity v4 (the `libm` crate's maths in place of the C library's), which left these
/// numbers as they were; e24d19e named the runs 4baea6e7927d5ec5 and b659d39e2954c6a8.
const CHAIN_ROWS_BEFORE: [ChainRows; 2] = [
    ChainRows {
        run_id: "47c3dbee7cf164c6",
        first: [-4.34488328149644, -0.9099557304525558],
        last: [-2.2663574873337775, 1.3737130932984571],
        sums: [-98.60006885481086, -709.125520428233],
    },
    ChainRows {
        run_id: "2129f3cee1c5d6b5",
        first: [-2.684715669013501, -99.87481924339697],
        last: [-169.4487692877383, -57.76387348267337],
        sums: [755.9072012137092, 1214.8234238968914],
    },
];

#[test]
fn samples_have_both_kinds_the_chains_unchanged_across_versions_and_threads() {
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
    for ChainRows {
        run_id,
        first,
        last,
        sums,
    } in CHAIN_ROWS_BEFORE
    {
        let rows = |kind: &str| -> Vec<[f64; 2]> {
            (0..samples.height())
                .filter(|&r| ids[r] == run_id && kinds[r] == kind)
                .map(|r| [x1[r], x2[r]])
                .collect()
        };
        let (exact, chain) = (rows("exact"), rows("chain"));
        assert_eq!((exact.len(), chain.len()), (300, 300), "{run_id}");
        assert_eq!(chain[0], first, "{run_id}");
        assert_eq!(chain[299], last, "{run_id}");
        for axis in 0..2 {
            let sum: f64 = chain.iter().map(|x| x[axis]).sum();
            assert!(
                (sum - sums[axis]).abs() < 1e-9 * sums[axis].abs(),
                "{run_id} axis {axis}: sum {sum} vs {}",
                sums[axis]
            );
        }
        assert!(exact.iter().all(|x| x[0].is_finite() && x[1].is_finite()));
        assert_ne!(exact, chain, "{run_id}");
    }
    // A run's exact rows come first, then its chain rows.
    assert_eq!(kinds[0], "exact");
    assert_eq!(kinds[300], "chain");

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
