//! Configurations: the runs of a sweep that differ only in their seed, taken as replicates of one setting, summarized over their seeds (mean `valid_ll`, `test_ll` with its interval), ranked, and compared value by value along an axis with differences paired over seeds.

use super::record::RunRecord;
use crate::data::Dataset;
use crate::experiment::grid::{RunSpec, SEED_KEY};
use crate::stats::Estimate;
use crate::train::params::ParamValue;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// One configuration of one data set and what its seeds measured.
#[derive(Debug, Clone)]
pub struct Config<'a> {
    pub dataset: usize,
    pub config_id: &'a str,
    /// Its runs that have a record, in grid order (so by seed).
    pub runs: Vec<&'a RunRecord>,
    /// The runs the experiment gives every configuration: one per seed.
    pub n_runs: usize,
    /// Over the runs trained to their end and measured ([`RunRecord::selectable`]).
    pub valid_ll: Option<Estimate>,
    pub test_ll: Option<Estimate>,
    /// The mean of true_ll - test_ll, where the data set's true density is known.
    pub gap_mean: Option<f64>,
    /// 1 for the best of its data set; `None` without a finished run.
    pub rank: Option<usize>,
}

impl Config<'_> {
    /// The recipe every run of the configuration shares, seed aside.
    pub fn spec(&self) -> &RunSpec {
        &self.runs[0].spec
    }

    /// Runs trained to their end: the seeds the statistics are over.
    pub fn n_seeds(&self) -> usize {
        self.valid_ll.map_or(0, |e| e.n)
    }

    /// Whether every seed of the configuration finished.
    pub fn complete(&self) -> bool {
        self.n_seeds() == self.n_runs
    }

    /// The finished runs, best first by `valid_ll` (ties by run id).
    pub fn finished(&self) -> Vec<&RunRecord> {
        let mut runs: Vec<&RunRecord> = self
            .runs
            .iter()
            .copied()
            .filter(|r| r.selectable())
            .collect();
        runs.sort_by(|a, b| super::record::ranking(a, b));
        runs
    }

    /// The run a picture of the configuration shows: its median seed by `valid_ll` (of two
    /// middle seeds, the worse), a typical run rather than the luckiest.
    pub fn representative(&self) -> Option<&RunRecord> {
        let finished = self.finished();
        finished.get(finished.len() / 2).copied()
    }
}

/// The configurations of `records`, in the order of their first run; `n_runs` is the number of
/// seeds every configuration runs on. Ranks follow [`ranking`] within each data set.
pub fn configs<'a>(
    records: &'a [RunRecord],
    datasets: &[Dataset],
    n_runs: usize,
) -> Vec<Config<'a>> {
    let mut order: Vec<(usize, &str)> = Vec::new();
    let mut groups: HashMap<(usize, &str), Vec<&RunRecord>> = HashMap::new();
    for r in records {
        let key = (r.spec.dataset, r.spec.config_id.as_str());
        groups
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(r);
    }
    let mut configs: Vec<Config<'a>> = order
        .into_iter()
        .map(|key| {
            let runs = groups.remove(&key).expect("every key has its group");
            let finished: Vec<&RunRecord> =
                runs.iter().copied().filter(|r| r.selectable()).collect();
            let values = |f: fn(&RunRecord) -> Option<f64>| -> Vec<f64> {
                finished.iter().filter_map(|r| f(r)).collect()
            };
            let test = values(RunRecord::test_ll);
            let gap_mean = datasets[key.0]
                .true_ll
                .and_then(|t| Estimate::of(&test).map(|e| t - e.mean));
            Config {
                dataset: key.0,
                config_id: key.1,
                runs,
                n_runs: n_runs.max(1),
                valid_ll: Estimate::of(&values(RunRecord::valid_ll)),
                test_ll: Estimate::of(&test),
                gap_mean,
                rank: None,
            }
        })
        .collect();
    let mut positions: Vec<usize> = (0..configs.len())
        .filter(|&i| configs[i].n_seeds() > 0)
        .collect();
    positions.sort_by(|&a, &b| {
        (configs[a].dataset.cmp(&configs[b].dataset))
            .then_with(|| ranking(&configs[a], &configs[b]))
    });
    let mut rank = 0;
    let mut dataset = None;
    for i in positions {
        if dataset != Some(configs[i].dataset) {
            dataset = Some(configs[i].dataset);
            rank = 0;
        }
        rank += 1;
        configs[i].rank = Some(rank);
    }
    configs
}

/// The order of the configurations of one data set: those whose every seed finished first (a
/// seed that diverged or failed is evidence against the setting, which a mean over the others
/// would hide), then the highest mean `valid_ll`, ties by configuration id. The test points play
/// no part, so `test_ll` stays an unbiased measure of the chosen configuration.
pub fn ranking(a: &Config<'_>, b: &Config<'_>) -> Ordering {
    let mean = |c: &Config<'_>| c.valid_ll.map_or(f64::NEG_INFINITY, |e| e.mean);
    b.complete()
        .cmp(&a.complete())
        .then_with(|| mean(b).total_cmp(&mean(a)))
        .then_with(|| a.config_id.cmp(b.config_id))
}

/// The ranked configurations of data set `dataset`, best first.
pub fn best_configs<'c, 'a>(configs: &'c [Config<'a>], dataset: usize) -> Vec<&'c Config<'a>> {
    let mut ranked: Vec<&Config<'a>> = configs
        .iter()
        .filter(|c| c.dataset == dataset && c.rank.is_some())
        .collect();
    ranked.sort_by_key(|c| c.rank);
    ranked
}

/// Whether any configuration runs on more than one seed: the reports then rank configurations
/// and show intervals; with one seed per configuration a configuration is a run.
pub fn replicated(configs: &[Config<'_>]) -> bool {
    configs.iter().any(|c| c.n_runs > 1)
}

/// One value of a compared axis, against the best value of that axis.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub value: ParamValue,
    /// Finished runs at this value.
    pub n_runs: usize,
    pub valid_ll_mean: f64,
    pub test_ll_mean: f64,
    /// The mean over this value's finished runs of test_ll(this value) - test_ll(best value),
    /// each difference between two runs that agree on every other key, seed included; `None`
    /// for the best value itself and for a value with no pair.
    pub difference: Option<Estimate>,
    /// Finished runs at this value whose partner at the best value has no finished run (or the
    /// reverse): left out of the difference.
    pub unpaired: usize,
    pub best: bool,
}

/// The values of `axis` among the finished runs of data set `dataset`, sorted, each compared
/// with the value of highest mean `valid_ll` (ties by the sort order) by paired differences of
/// `test_ll`. Empty when no run finished.
pub fn compare(records: &[RunRecord], dataset: usize, axis: &str) -> Vec<Comparison> {
    let finished: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.spec.dataset == dataset && r.selectable())
        .collect();
    let value_of = |r: &RunRecord| param(&r.spec, axis);
    let values = distinct_values(finished.iter().map(|r| value_of(r)));
    let position: HashMap<String, usize> = (values.iter().enumerate())
        .map(|(i, v)| (value_key(*v), i))
        .collect();
    // Each value's finished runs by the rest of their recipe: the pairing key.
    let mut cells: Vec<HashMap<u128, &RunRecord>> = vec![HashMap::new(); values.len()];
    for r in &finished {
        let cell = &mut cells[position[&value_key(value_of(r))]];
        cell.insert(pairing_key(&r.spec, axis), *r);
    }
    let mean = |cell: &HashMap<u128, &RunRecord>, f: fn(&RunRecord) -> Option<f64>| {
        let mut runs: Vec<&&RunRecord> = cell.values().collect();
        runs.sort_by_key(|r| r.spec.index);
        runs.iter().filter_map(|r| f(r)).sum::<f64>() / runs.len() as f64
    };
    let valid: Vec<f64> = cells.iter().map(|c| mean(c, RunRecord::valid_ll)).collect();
    let Some(best) = (0..values.len()).reduce(|a, b| if valid[b] > valid[a] { b } else { a })
    else {
        return Vec::new();
    };
    values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let mut keys: Vec<&u128> = cells[i].keys().collect();
            keys.sort_by_key(|k| cells[i][*k].spec.index);
            let diffs: Vec<f64> = keys
                .iter()
                .filter_map(|k| {
                    let partner = cells[best].get(*k)?;
                    Some(cells[i][*k].test_ll()? - partner.test_ll()?)
                })
                .collect();
            let paired = diffs.len();
            Comparison {
                value: *value,
                n_runs: cells[i].len(),
                valid_ll_mean: valid[i],
                test_ll_mean: mean(&cells[i], RunRecord::test_ll),
                difference: (i != best).then(|| Estimate::of(&diffs)).flatten(),
                unpaired: if i == best {
                    0
                } else {
                    cells[i].len() - paired + cells[best].len() - paired
                },
                best: i == best,
            }
        })
        .collect()
}

/// The value of train key `key` in a run's recipe.
pub fn param(spec: &RunSpec, key: &str) -> ParamValue {
    spec.train
        .params()
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .expect("a train key")
}

/// What pairs two runs across the values of `axis`: the rest of their recipe (seed included),
/// as a 128-bit hash of its canonical encoding (two independent 64-bit hashes, FNV-1a and
/// SipHash). The text itself cost 257 bytes per run, 257 MB for a million runs; two recipes
/// share a key with a probability of about 1e-27 at a million runs.
fn pairing_key(spec: &RunSpec, axis: &str) -> u128 {
    use std::hash::Hasher;
    let mut fnv: u64 = 0xcbf2_9ce4_8422_2325;
    let mut sip = std::hash::DefaultHasher::new();
    for (key, value) in spec.train.params().into_iter().filter(|(k, _)| *k != axis) {
        let text = format!("{key}={}\n", value_key(value));
        for byte in text.bytes() {
            fnv = (fnv ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        sip.write(text.as_bytes());
    }
    (u128::from(fnv) << 64) | u128::from(sip.finish())
}

/// The distinct values among `values`, sorted by [`compare_values`]: one pass through a hash
/// set, so that a drawn axis with a value per configuration costs what its runs do.
pub fn distinct_values(values: impl IntoIterator<Item = ParamValue>) -> Vec<ParamValue> {
    let mut seen = HashSet::new();
    let mut distinct: Vec<ParamValue> = values
        .into_iter()
        .filter(|v| seen.insert(value_key(*v)))
        .collect();
    distinct.sort_by(compare_values);
    distinct
}

/// A value as a hash key: its canonical encoding (a float by its bits), which `ParamValue`
/// itself cannot be.
fn value_key(value: ParamValue) -> String {
    crate::identity::Field::from(value).canonical()
}

/// Numbers by value, anything else by its text.
pub fn compare_values(a: &ParamValue, b: &ParamValue) -> Ordering {
    match (a, b) {
        (ParamValue::Int(x), ParamValue::Int(y)) => x.cmp(y),
        (ParamValue::Float(x), ParamValue::Float(y)) => x.total_cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// The swept keys that name a configuration: the grid's axes but the seed.
pub fn config_keys(exp: &crate::experiment::Experiment) -> Vec<&'static str> {
    exp.grid
        .iter()
        .map(|a| a.key)
        .filter(|k| *k != SEED_KEY)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::record::measured;
    use crate::train::params::TrainConfig;

    /// A run of `hidden` hidden units and seed `seed` that measured `lls` = (valid_ll,
    /// test_ll); `None` makes it a failed run.
    fn run(index: usize, hidden: usize, seed: u64, lls: Option<(f64, f64)>) -> RunRecord {
        let train = TrainConfig {
            hidden,
            seed,
            ..TrainConfig::default()
        };
        let spec = RunSpec {
            index,
            run_id: format!("run-{hidden}-{seed}"),
            config_id: format!("config-{hidden}"),
            dataset: 0,
            train,
        };
        measured(spec, lls)
    }

    fn dataset(true_ll: Option<f64>) -> Dataset {
        Dataset {
            name: "d".into(),
            train: Vec::new(),
            valid: Vec::new(),
            test: Vec::new(),
            true_ll,
            columns: None,
        }
    }

    /// Hidden 4 is the best single run (seed 2) but hidden 8 is better on average.
    fn sweep() -> Vec<RunRecord> {
        vec![
            run(0, 4, 0, Some((-4.3, -4.4))),
            run(1, 4, 1, Some((-4.2, -4.1))),
            run(2, 4, 2, Some((-3.8, -3.9))),
            run(3, 8, 0, Some((-4.0, -4.05))),
            run(4, 8, 1, Some((-4.05, -4.0))),
            run(5, 8, 2, Some((-4.01, -4.02))),
        ]
    }

    /// The statistics of each configuration, recomputed here from their definitions: the mean,
    /// the sample standard deviation, se = sd / sqrt(3), and mean -/+ t(0.975, 2) se with
    /// t(0.975, 2) = 0.95 / sqrt(2 x 0.975 x 0.025) = 4.302652729749464 (the closed form).
    #[test]
    fn a_configuration_is_its_seeds_mean_with_its_interval_and_ranks_by_mean_valid_ll() {
        let records = sweep();
        let datasets = [dataset(Some(-3.9))];
        let configs = configs(&records, &datasets, 3);
        assert_eq!(configs.len(), 2);
        for (c, test) in configs
            .iter()
            .zip([[-4.4, -4.1, -3.9], [-4.05, -4.0, -4.02]])
        {
            let mean = (test[0] + test[1] + test[2]) / 3.0;
            let sd = (test.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / 2.0).sqrt();
            let se = sd / 3f64.sqrt();
            let e = c.test_ll.unwrap();
            assert!((e.mean - mean).abs() < 1e-14 && (e.se.unwrap() - se).abs() < 1e-14);
            let (low, high) = e.ci.unwrap();
            assert!(
                (low - (mean - 4.302652729749464 * se)).abs() < 1e-14,
                "{low}"
            );
            assert!(
                (high - (mean + 4.302652729749464 * se)).abs() < 1e-14,
                "{high}"
            );
            assert!((c.gap_mean.unwrap() - (-3.9 - mean)).abs() < 1e-14);
            assert_eq!((c.n_seeds(), c.n_runs), (3, 3));
        }
        let best = best_configs(&configs, 0);
        assert_eq!(
            best[0].config_id, "config-8",
            "the best mean, not the best single run"
        );
        assert_eq!((best[0].rank, best[1].rank), (Some(1), Some(2)));
        assert_eq!(best[0].representative().unwrap().spec.run_id, "run-8-2");
        assert_eq!(best[1].representative().unwrap().spec.run_id, "run-4-1");
    }

    #[test]
    fn a_configuration_with_a_failed_seed_ranks_after_the_complete_ones() {
        let mut records = sweep();
        records[3] = run(3, 8, 0, None);
        let configs = configs(&records, &[dataset(None)], 3);
        let best = best_configs(&configs, 0);
        assert_eq!(best[0].config_id, "config-4");
        assert_eq!((best[1].n_seeds(), best[1].complete()), (2, false));
        assert_eq!(best[1].gap_mean, None);
        let one_seed = configs_of_one_seed();
        assert!(one_seed.iter().all(|c| c.test_ll.unwrap().ci.is_none()));
    }

    fn configs_of_one_seed() -> Vec<Config<'static>> {
        let records: &'static [RunRecord] = Vec::leak(vec![run(0, 4, 0, Some((-4.0, -4.1)))]);
        configs(records, &[dataset(None)], 1)
    }

    /// hidden 8 minus hidden 4, paired by seed: 0.35, 0.1, -0.12; seed 2's hidden 4 run has the
    /// best valid_ll, yet hidden 8 is the best value by mean.
    #[test]
    fn compare_pairs_runs_over_the_other_keys_and_counts_the_unpaired() {
        let records = sweep();
        let rows = compare(&records, 0, "hidden");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].value, ParamValue::Int(4));
        assert!(rows[1].best && !rows[0].best);
        let d = rows[0].difference.unwrap();
        let diffs = [-4.4 - -4.05, -4.1 - -4.0, -3.9 - -4.02];
        let mean = diffs.iter().sum::<f64>() / 3.0;
        assert_eq!(d.n, 3);
        assert!((d.mean - mean).abs() < 1e-14, "{}", d.mean);
        assert_eq!(rows[0].unpaired, 0);
        let mut missing = sweep();
        missing[5] = run(5, 8, 2, None);
        let rows = compare(&missing, 0, "hidden");
        assert_eq!(rows[0].difference.unwrap().n, 2);
        assert_eq!(rows[0].unpaired, 1, "seed 2 of hidden 4 has no partner");
    }
}
