//! The `[search]` section: how a sweep chooses its runs from the `[grid]` axes (every combination, configurations drawn at random, or successive halving), with its keys checked against the strategy, `[train]` and `[grid]`.

use super::{ConfigError, Ctx, Section, int_at_least};
use crate::train::params::TrainConfig;
use toml::{Spanned, Value};

/// How the runs are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Every combination of the `[grid]` lists.
    #[default]
    Grid,
    /// `samples` configurations, each axis drawn independently.
    Random,
    /// Synchronous successive halving over the grid, or over `samples` drawn configurations.
    Halving,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::Grid, Strategy::Random, Strategy::Halving];

    /// The name the file uses.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Grid => "grid",
            Strategy::Random => "random",
            Strategy::Halving => "halving",
        }
    }
}

/// The validated `[search]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    pub strategy: Strategy,
    /// Configurations drawn (random; halving draws them too when set, else halving runs over the grid).
    pub samples: Option<usize>,
    /// Keys the stream of every drawn configuration, with the configuration's index.
    pub seed: u64,
    /// Halving: keep the best 1/eta at each rung.
    pub eta: usize,
    /// Halving: epochs of the first rung.
    pub min_epochs: Option<usize>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            strategy: Strategy::Grid,
            samples: None,
            seed: 0,
            eta: 3,
            min_epochs: None,
        }
    }
}

impl SearchConfig {
    /// True when the configurations are drawn (`samples` is set) rather than enumerated.
    pub fn draws(&self) -> bool {
        self.samples.is_some()
    }
}

const SEARCH_KEYS: [&str; 5] = ["strategy", "samples", "seed", "eta", "min_epochs"];

/// The `[search]` section, checked on its own and against `[train]` and the `[grid]` section.
pub(super) fn parse_search(
    ctx: &Ctx<'_>,
    section: Option<&Section>,
    train: &TrainConfig,
    grid: &Section,
) -> Result<SearchConfig, ConfigError> {
    let mut search = SearchConfig::default();
    for (key, value) in section.into_iter().flatten() {
        let v = value.get_ref();
        let bad = |rule: &str| bad(ctx, "search", key, value, rule);
        match key.get_ref().as_str() {
            "strategy" => search.strategy = parse_strategy(v).map_err(|r| bad(&r))?,
            "samples" => {
                search.samples = Some(int_at_least(v, 1, "samples").map_err(|r| bad(&r))? as usize)
            }
            "seed" => search.seed = int_at_least(v, 0, "seed").map_err(|r| bad(&r))? as u64,
            "eta" => search.eta = int_at_least(v, 2, "eta").map_err(|r| bad(&r))? as usize,
            "min_epochs" => {
                search.min_epochs =
                    Some(int_at_least(v, 1, "min_epochs").map_err(|r| bad(&r))? as usize)
            }
            _ => return Err(ctx.unknown("search", key, &SEARCH_KEYS)),
        }
    }
    let section = section.cloned().unwrap_or_default();
    check_keys_fit(ctx, &section, search.strategy)?;
    check_required(ctx, &search)?;
    if search.strategy == Strategy::Halving {
        check_halving(ctx, &section, &search, train, grid)?;
    }
    Ok(search)
}

fn bad(
    ctx: &Ctx<'_>,
    section: &str,
    key: &Spanned<String>,
    value: &Spanned<Value>,
    rule: &str,
) -> ConfigError {
    ctx.bad(
        &format!("{section}.{}", key.get_ref()),
        &value.span(),
        &value.get_ref().to_string(),
        rule,
    )
}

fn parse_strategy(v: &Value) -> Result<Strategy, String> {
    let found = v
        .as_str()
        .and_then(|name| Strategy::ALL.into_iter().find(|s| s.name() == name));
    found.ok_or_else(|| {
        let names: Vec<String> = Strategy::ALL
            .iter()
            .map(|s| format!("\"{}\"", s.name()))
            .collect();
        format!("strategy must be one of {}", names.join(", "))
    })
}

/// Refuses a key the strategy would ignore: a setting that does nothing is a mistake.
fn check_keys_fit(ctx: &Ctx<'_>, section: &Section, strategy: Strategy) -> Result<(), ConfigError> {
    for (key, value) in section {
        let rule = match (key.get_ref().as_str(), strategy) {
            ("samples", Strategy::Grid) => {
                "samples needs strategy = \"random\" or \"halving\" (the grid strategy runs every combination)"
            }
            ("eta" | "min_epochs", Strategy::Grid | Strategy::Random) => {
                "this key applies only to strategy = \"halving\""
            }
            _ => continue,
        };
        return Err(bad(ctx, "search", key, value, rule));
    }
    Ok(())
}

fn check_required(ctx: &Ctx<'_>, search: &SearchConfig) -> Result<(), ConfigError> {
    let missing = |key: &str, rule: &str| ConfigError::Missing {
        path: ctx.path.to_path_buf(),
        key: key.into(),
        rule: rule.into(),
    };
    match search.strategy {
        Strategy::Random if search.samples.is_none() => Err(missing(
            "search.samples",
            "strategy = \"random\" draws `samples` configurations: give their number, e.g. samples = 20",
        )),
        Strategy::Halving if search.min_epochs.is_none() => Err(missing(
            "search.min_epochs",
            "strategy = \"halving\" trains every configuration `min_epochs` epochs in its first rung: give them, e.g. min_epochs = 2",
        )),
        _ => Ok(()),
    }
}

/// Halving trains every run up to the one `[train] epochs`, which `min_epochs` must not exceed.
fn check_halving(
    ctx: &Ctx<'_>,
    section: &Section,
    search: &SearchConfig,
    train: &TrainConfig,
    grid: &Section,
) -> Result<(), ConfigError> {
    if let Some((key, value)) = find(grid, "epochs") {
        return Err(bad(
            ctx,
            "grid",
            key,
            value,
            "halving trains every run up to [train] epochs; set epochs in [train]",
        ));
    }
    let min_epochs = search.min_epochs.expect("checked by check_required");
    if min_epochs > train.epochs {
        let (key, value) = find(section, "min_epochs").expect("min_epochs is set");
        return Err(bad(
            ctx,
            "search",
            key,
            value,
            &format!(
                "min_epochs must not exceed [train] epochs ({}), which the last rung trains",
                train.epochs
            ),
        ));
    }
    Ok(())
}

fn find<'a>(section: &'a Section, name: &str) -> Option<(&'a Spanned<String>, &'a Spanned<Value>)> {
    section.iter().find(|(k, _)| k.get_ref() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{Experiment, parse};
    use std::path::Path;

    /// Three lines; a `[search]` right after it is line 4, its first key line 5.
    const MINIMAL: &str = "name = \"t\"\n[data]\nsource = \"gmm_iso\"\n";

    fn parse_str(rest: &str) -> Result<Experiment, ConfigError> {
        parse(Path::new("exp.toml"), &format!("{MINIMAL}{rest}"))
    }

    #[test]
    fn no_search_section_is_the_grid() {
        let exp = parse_str("[grid]\nhidden = [2, 3]\n").unwrap();
        assert_eq!(exp.search, SearchConfig::default());
        assert_eq!(exp.search.strategy, Strategy::Grid);
        assert_eq!((exp.search.seed, exp.search.eta), (0, 3));
        assert!(!exp.search.draws());
    }

    #[test]
    fn every_key_is_read() {
        let exp = parse_str(
            "[train]\nepochs = 9\n[search]\nstrategy = \"halving\"\nsamples = 7\nseed = 4\neta = 2\nmin_epochs = 3\n",
        )
        .unwrap();
        let expected = SearchConfig {
            strategy: Strategy::Halving,
            samples: Some(7),
            seed: 4,
            eta: 2,
            min_epochs: Some(3),
        };
        assert_eq!(exp.search, expected);
        let random = parse_str("[search]\nstrategy = \"random\"\nsamples = 20\n").unwrap();
        assert_eq!(random.search.strategy, Strategy::Random);
        assert_eq!(random.search.samples, Some(20));
        let halving = parse_str("[search]\nstrategy = \"halving\"\nmin_epochs = 50\n").unwrap();
        assert!(
            !halving.search.draws(),
            "halving without samples runs over the grid"
        );
    }

    #[test]
    fn each_bad_search_names_file_line_key_and_value() {
        let halving = "[search]\nstrategy = \"halving\"\n";
        let cases = [
            (
                "[search]\nstrategy = \"bayes\"\n",
                "exp.toml:5: `search.strategy` = \"bayes\": strategy must be one of \"grid\", \"random\", \"halving\"",
            ),
            (
                "[search]\nstrategy = \"random\"\nsamples = 4\nbudget = 3\n",
                "exp.toml:7: unknown key `search.budget`; allowed keys: strategy, samples, seed, eta, min_epochs",
            ),
            (
                &format!("{halving}min_epochs = 1\neta = 1\n"),
                "exp.toml:7: `search.eta` = 1: eta must be an integer >= 2",
            ),
            (
                "[search]\nstrategy = \"random\"\nsamples = 0\n",
                "exp.toml:6: `search.samples` = 0: samples must be an integer >= 1",
            ),
            (
                "[search]\nseed = -1\n",
                "exp.toml:5: `search.seed` = -1: seed must be an integer >= 0",
            ),
            (
                &format!("{halving}min_epochs = 0\n"),
                "exp.toml:6: `search.min_epochs` = 0: min_epochs must be an integer >= 1",
            ),
            (
                &format!("[train]\nepochs = 5\n{halving}min_epochs = 6\n"),
                "exp.toml:8: `search.min_epochs` = 6: min_epochs must not exceed [train] epochs (5)",
            ),
            (
                &format!("{halving}min_epochs = 1\n[grid]\nepochs = [5, 10]\n"),
                "exp.toml:8: `grid.epochs` = [5, 10]: halving trains every run up to [train] epochs; set epochs in [train]",
            ),
            (
                &format!(
                    "{halving}min_epochs = 1\nsamples = 4\n[grid]\nepochs = {{ randint = [5, 10] }}\n"
                ),
                "exp.toml:9: `grid.epochs` = { randint = [5, 10] }: halving trains every run up to [train] epochs",
            ),
            (
                "[search]\nsamples = 5\n",
                "exp.toml:5: `search.samples` = 5: samples needs strategy = \"random\" or \"halving\"",
            ),
            (
                "[search]\nstrategy = \"random\"\nsamples = 2\neta = 3\n",
                "exp.toml:7: `search.eta` = 3: this key applies only to strategy = \"halving\"",
            ),
            (
                "[search]\nstrategy = \"grid\"\nmin_epochs = 2\n",
                "exp.toml:6: `search.min_epochs` = 2: this key applies only to strategy = \"halving\"",
            ),
            (
                "[search]\nstrategy = \"random\"\n",
                "exp.toml: missing key `search.samples`: strategy = \"random\" draws `samples` configurations",
            ),
            (
                halving,
                "exp.toml: missing key `search.min_epochs`: strategy = \"halving\" trains every configuration `min_epochs` epochs",
            ),
        ];
        for (rest, expected) in cases {
            let e = parse_str(rest).unwrap_err().to_string();
            assert!(
                e.starts_with(expected),
                "{rest}\n  gave {e}\n  not {expected}"
            );
        }
    }
}
