//! Expanding an experiment's `[grid]` into runs, each with its resolved recipe and stable `run_id`.

use crate::config::{Experiment, TrainConfig};

/// One run of a sweep: a fully resolved recipe and the id that names it in every table.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Position in the expanded grid (the last axis varies fastest).
    pub index: usize,
    pub run_id: String,
    /// Index into `[data] source`.
    pub dataset: usize,
    pub train: TrainConfig,
}

/// Number of runs the grid expands to (saturating, so a mistaken huge grid is still counted).
pub fn run_count(exp: &Experiment) -> usize {
    exp.grid.iter().fold(exp.data.sources.len(), |n, axis| {
        n.saturating_mul(axis.values.len())
    })
}

/// The Cartesian product of the data sets and the grid axes applied over the `[train]` defaults,
/// in a fixed order (data set outermost, the last grid axis fastest).
pub fn expand(exp: &Experiment) -> Vec<RunSpec> {
    let total = run_count(exp);
    (0..total)
        .map(|index| {
            let mut train = exp.train.clone();
            let mut rest = index;
            for axis in exp.grid.iter().rev() {
                let value = &axis.values[rest % axis.values.len()];
                rest /= axis.values.len();
                train
                    .set(axis.key, value)
                    .expect("grid values are checked when the file is read");
            }
            let dataset = rest;
            RunSpec {
                index,
                run_id: run_id(exp, dataset, &train),
                dataset,
                train,
            }
        })
        .collect()
}

/// A stable 16-hex-digit id: FNV-1a over everything that determines the run's results
/// (data section, evaluation settings and every resolved train parameter), not over its grid position.
pub fn run_id(exp: &Experiment, dataset: usize, train: &TrainConfig) -> String {
    // The version changes whenever a run's numbers for the same settings change, so that a
    // results folder never mixes them (v2: vectorized kernels and the PCG32 lanes).
    let mut text = format!(
        "v2;{};{}",
        exp.data.canonical(dataset),
        exp.eval.canonical()
    );
    for (key, value) in train.params() {
        text.push_str(&format!(";{key}={value}"));
    }
    format!("{:016x}", fnv1a(text.as_bytes()))
}

/// FNV-1a, 64 bits: stable across platforms and versions, unlike `std`'s hashers.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use std::collections::HashSet;
    use std::path::Path;

    fn exp(grid: &str) -> Experiment {
        parse(
            Path::new("e.toml"),
            &format!("name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[grid]\n{grid}"),
        )
        .unwrap()
    }

    #[test]
    fn expands_to_cartesian_product_with_last_axis_fastest() {
        let runs = expand(&exp("hidden = [4, 8]\nlr = [0.1, 0.2, 0.3]\n"));
        assert_eq!(runs.len(), 6);
        let pairs: Vec<_> = runs.iter().map(|r| (r.train.hidden, r.train.lr)).collect();
        assert_eq!(
            pairs,
            [(4, 0.1), (4, 0.2), (4, 0.3), (8, 0.1), (8, 0.2), (8, 0.3)]
        );
        assert_eq!(
            runs.iter().map(|r| &r.run_id).collect::<HashSet<_>>().len(),
            6
        );
    }

    #[test]
    fn run_id_depends_on_config_not_grid_position() {
        let big = expand(&exp("hidden = [4, 8]\nseed = [0, 1]\n"));
        let alone = expand(&exp("hidden = [8]\nseed = [1]\n"));
        assert_eq!(alone[0].run_id, big[3].run_id);
        let other_data =
            parse(Path::new("e.toml"), "name = \"t\"\n[data]\nsource = \"gmm_iso\"\nseed = 5\n[grid]\nhidden = [8]\nseed = [1]\n")
                .unwrap();
        assert_ne!(expand(&other_data)[0].run_id, alone[0].run_id);
    }

    #[test]
    fn no_grid_is_one_run() {
        let e = parse(
            Path::new("e.toml"),
            "name = \"t\"\n[data]\nsource = \"gmm_iso\"\n",
        )
        .unwrap();
        assert_eq!(expand(&e).len(), 1);
    }
}
