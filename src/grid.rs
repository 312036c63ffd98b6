//! Expanding an experiment's `[grid]` into runs, each with its resolved recipe and stable `run_id`.

use crate::config::{Experiment, TrainConfig};
use crate::identity::{encode, hex_id};

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

/// The version line of a run's identity. It changes whenever a run's numbers for the same
/// settings change, or the encoding does, so that a results folder never mixes them
/// (v2: vectorized kernels and the PCG32 lanes; v3: the encoding of [`crate::identity`]).
const RUN_IDENTITY: &str = "grbm-sweep run v3";

/// A stable 16-hex-digit id: FNV-1a over the canonical encoding of everything that determines the
/// run's results (data set, evaluation settings and every resolved train parameter), not over
/// its grid position or where the files are.
pub fn run_id(exp: &Experiment, dataset: usize, train: &TrainConfig) -> String {
    let fields = exp
        .data
        .identity(dataset)
        .into_iter()
        .chain(exp.eval.identity())
        .chain(train.params().into_iter().map(|(k, v)| (k, v.into())));
    hex_id(encode(RUN_IDENTITY, fields).as_bytes())
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
