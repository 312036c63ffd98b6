//! Splitting a sweep into deterministic, cost-balanced shards that a cluster's scheduler runs side by side.

use crate::experiment::grid::RunSpec;
use crate::train::params::TrainConfig;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::str::FromStr;

/// Shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    pub fn new(index: usize, count: usize) -> Result<Shard, String> {
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: need 0 <= I < N and N >= 1"));
        }
        Ok(Shard { index, count })
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`, e.g. `0/4`.
    fn from_str(text: &str) -> Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not of the form I/N, e.g. 0/4"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{text}` is not of the form I/N, e.g. 0/4"))
        };
        Shard::new(parse(i)?, parse(n)?)
    }
}

/// A run's relative cost in integer units, the same on every machine, as its sampler counts it
/// (`NegativePhase::cost` in each file of `train/sampler/`): for the chain samplers, hidden units
/// (plus the two visible ones) times Gibbs steps per update (plus the two free-energy passes)
/// times epochs times training points; `exact` and `grid` count the states or grid points each
/// update sums over, `tempered` its chains at every temperature.
pub fn cost(run: &RunSpec, n_train: usize) -> u128 {
    training_cost(&run.train, n_train)
}

/// [`cost`] of a recipe: the plan's time estimates scale one measured step by its ratio.
pub fn training_cost(t: &TrainConfig, n_train: usize) -> u128 {
    let updates = t.epochs as u128 * n_train.div_ceil(t.batch_size) as u128;
    t.sampler.cost(t, n_train as u128, updates)
}

/// The shard of every run (by position in `runs`): longest runs first, each to the shard with the
/// least cost so far (lowest index on ties). A fixed function of the runs and their costs.
pub fn assign<S: std::borrow::Borrow<RunSpec>>(
    runs: &[S],
    costs: &[u128],
    count: usize,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| {
        costs[b]
            .cmp(&costs[a])
            .then(runs[a].borrow().index.cmp(&runs[b].borrow().index))
    });
    // The shards by (load, index), lightest on top: log(count) steps per run instead of a scan
    // of every shard, for arrays of hundreds of tasks.
    let mut lightest_first: BinaryHeap<Reverse<(u128, usize)>> =
        (0..count).map(|s| Reverse((0, s))).collect();
    let mut shard_of = vec![0; runs.len()];
    for i in order {
        let Reverse((load, lightest)) = lightest_first.pop().expect("count >= 1");
        lightest_first.push(Reverse((load + costs[i], lightest)));
        shard_of[i] = lightest;
    }
    shard_of
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::grid::expand;
    use crate::experiment::parse;
    use crate::train::params::Sampler;
    use std::path::Path;

    fn runs() -> Vec<RunSpec> {
        let text = "name = \"s\"\n[data]\nsource = \"gmm_iso\"\n[grid]\nhidden = [2, 8, 32]\nk = [1, 5]\nseed = [0, 1, 2]\n";
        expand(&parse(Path::new("s.toml"), text).unwrap())
    }

    /// The cost, on 1000 training points, of the run of grid `text` with this hidden size and sampler.
    fn cost_of(text: &str, hidden: usize, sampler: Sampler) -> f64 {
        let runs = expand(&parse(Path::new("s.toml"), text).unwrap());
        let run = runs
            .iter()
            .find(|r| r.train.hidden == hidden && r.train.sampler == sampler)
            .unwrap();
        cost(run, 1000) as f64
    }

    #[test]
    fn exact_runs_cost_what_they_enumerate() {
        let text = "name = \"s\"\n[data]\nsource = \"gmm_iso\"\n[grid]\nhidden = [10, 11]\nsampler = [\"noise\", \"exact\"]\n";
        let cost_of = |hidden, sampler| cost_of(text, hidden, sampler);
        // One more hidden unit doubles the states an exact update enumerates.
        let ratio = cost_of(11, Sampler::Exact) / cost_of(10, Sampler::Exact);
        assert!(ratio > 1.9 && ratio < 2.3, "{ratio}");
        // For chains, one more unit adds 1/12 (hidden + 2 units of work).
        let ratio = cost_of(11, Sampler::Noise) / cost_of(10, Sampler::Noise);
        assert!((ratio - 13.0 / 12.0).abs() < 1e-9, "{ratio}");
    }

    #[test]
    fn grid_runs_cost_grid_points_times_hidden() {
        let text = "name = \"s\"\n[data]\nsource = \"gmm_iso\"\n[grid]\nhidden = [10, 22, 64]\nsampler = [\"grid\", \"exact\"]\n";
        let cost_of = |hidden, sampler| cost_of(text, hidden, sampler);
        // Linear in hidden + 2, and past the exact sampler's cost once 2^hidden > 256^2.
        let ratio = cost_of(22, Sampler::Grid) / cost_of(10, Sampler::Grid);
        assert!((ratio - 2.0).abs() < 1e-6, "{ratio}");
        assert!(cost_of(64, Sampler::Grid) < 1e12);
        assert!(cost_of(10, Sampler::Grid) > cost_of(10, Sampler::Exact));
        assert!(cost_of(22, Sampler::Grid) < cost_of(22, Sampler::Exact));
    }

    /// A tempered update runs `replicas` times the chains of a PCD update (with as many chains as
    /// the minibatch), swaps counted like PCD's negative free-energy pass: `replicas` times the
    /// cost plus one positive phase, (1 + 4 (k + 2)) / (k + 2) = 49 / 12 times at k = 10.
    #[test]
    fn tempered_runs_cost_replicas_times_their_chains() {
        let text = "name = \"s\"\n[data]\nsource = \"gmm_iso\"\n[train]\nreplicas = 4\n[grid]\nhidden = [10]\nsampler = [\"pcd\", \"tempered\"]\n";
        let ratio = cost_of(text, 10, Sampler::Tempered) / cost_of(text, 10, Sampler::Pcd);
        assert!((ratio - 49.0 / 12.0).abs() < 1e-9, "{ratio}");
    }

    #[test]
    fn shards_cover_every_run_exactly_once_for_any_count() {
        let runs = runs();
        let costs: Vec<u128> = runs.iter().map(|r| cost(r, 1000)).collect();
        for count in [1, 2, 3, 5, 17, 18, 40] {
            let shard_of = assign(&runs, &costs, count);
            assert_eq!(shard_of.len(), runs.len());
            assert!(shard_of.iter().all(|&s| s < count), "N = {count}");
            let per_shard: Vec<usize> = (0..count)
                .map(|s| shard_of.iter().filter(|&&x| x == s).count())
                .collect();
            assert_eq!(
                per_shard.iter().sum::<usize>(),
                runs.len(),
                "N = {count}: each run in exactly one shard"
            );
            if count > runs.len() {
                assert_eq!(
                    per_shard.iter().filter(|&&n| n > 0).count(),
                    runs.len(),
                    "N = {count}: one run per busy shard"
                );
            }
        }
    }

    /// Five heavy runs (hidden 62) and five light ones (hidden 2) on 2 shards: counting runs would
    /// split them 5/5; balancing cost puts 3 heavy runs on one shard and 2 heavy + 5 light on the other.
    #[test]
    fn shards_are_balanced_by_cost_not_count() {
        let text = "name = \"s\"\n[data]\nsource = \"gmm_iso\"\n[grid]\nhidden = [2, 62]\nseed = [0, 1, 2, 3, 4]\n";
        let runs = expand(&parse(Path::new("s.toml"), text).unwrap());
        let costs: Vec<u128> = runs.iter().map(|r| cost(r, 1000)).collect();
        let shard_of = assign(&runs, &costs, 2);
        let loads: Vec<u128> = (0..2)
            .map(|s| {
                (0..runs.len())
                    .filter(|&i| shard_of[i] == s)
                    .map(|i| costs[i])
                    .sum()
            })
            .collect();
        let total: u128 = loads.iter().sum();
        let biggest = *costs.iter().max().unwrap();
        assert!(
            loads.iter().all(|&l| l <= total / 2 + biggest),
            "loads {loads:?}"
        );
        let mut counts: Vec<usize> = (0..2)
            .map(|s| shard_of.iter().filter(|&&x| x == s).count())
            .collect();
        counts.sort();
        assert_eq!(counts, [3, 7], "loads {loads:?}");
    }

    /// The heap of shards gives each run the shard a scan of every shard gives it, the one of
    /// least load and on ties the lowest index (the rule the assignment was defined by), for
    /// costs with many ties and for more shards than runs.
    #[test]
    fn each_run_goes_to_the_lightest_shard_lowest_index_first() {
        let runs = runs();
        let costs: Vec<u128> = runs.iter().map(|r| cost(r, 1000) % 7).collect();
        for count in [1, 2, 3, 5, 17, 18, 40] {
            let mut order: Vec<usize> = (0..runs.len()).collect();
            order.sort_by(|&a, &b| {
                (costs[b].cmp(&costs[a])).then(runs[a].index.cmp(&runs[b].index))
            });
            let mut load = vec![0u128; count];
            let mut scanned = vec![0; runs.len()];
            for i in order {
                let lightest = (0..count).min_by_key(|&s| (load[s], s)).unwrap();
                load[lightest] += costs[i];
                scanned[i] = lightest;
            }
            assert_eq!(assign(&runs, &costs, count), scanned, "N = {count}");
        }
    }

    #[test]
    fn assignment_is_a_fixed_function_of_the_runs() {
        let runs = runs();
        let costs: Vec<u128> = runs.iter().map(|r| cost(r, 1000)).collect();
        assert_eq!(assign(&runs, &costs, 4), assign(&runs, &costs, 4));
        let mut shuffled = runs.clone();
        shuffled.reverse();
        let shuffled_costs: Vec<u128> = shuffled.iter().map(|r| cost(r, 1000)).collect();
        let back: Vec<usize> = assign(&shuffled, &shuffled_costs, 4)
            .into_iter()
            .rev()
            .collect();
        assert_eq!(
            back,
            assign(&runs, &costs, 4),
            "the order runs are listed in does not matter"
        );
    }

    #[test]
    fn shard_text_is_checked() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1-4".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
    }
}
