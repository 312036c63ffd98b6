//! A sweep as text: the plan of an experiment (its runs and axes) and the summary of a finished sweep (counts and the best runs of each data set by `valid_ll`, with their `test_ll`).

use crate::data::Dataset;
use crate::experiment::Experiment;
use crate::experiment::grid::SEED_KEY;
use crate::experiment::grid::{RunSpec, run_count, runs, seeds};
use crate::experiment::search::Strategy;
use crate::sweep::configs::{
    Config, best_configs, compare, config_keys, configs, distinct_values, param, replicated,
};
use crate::sweep::cost::{LONG_RUN_SECONDS, RunCost, SweepCost};
use crate::sweep::folder::Folder;
use crate::sweep::provenance::shell_quote;
use crate::sweep::record::{RunRecord, Status, best_runs};
use crate::sweep::{DEFAULT_MAX_RUNS, SweepReport};
use std::io::{self, Write};

/// The runs `plan` lists unless `--all` asks for every one.
pub const PLAN_RUNS_SHOWN: usize = 20;

/// Writes what `grbm-sweep plan` prints: the run count, the search, the axes, then one line per
/// run (index, `run_id`, swept values): every run with `all`, else the first
/// [`PLAN_RUNS_SHOWN`] and a line that counts the others and gives the command that lists them.
/// The runs are made one at a time and each line is written as it is made, so listing a million
/// runs holds none of them in memory (for drawn configurations, a set of the configuration ids).
pub fn write_plan(
    exp: &Experiment,
    all: bool,
    cost: Result<&SweepCost, &str>,
    out: &mut impl Write,
) -> io::Result<()> {
    let count = match exp.search.samples {
        // A grid makes exactly its product of the axes' sizes.
        None => run_count(exp),
        // Repeated draws are dropped: count what is left.
        Some(_) => runs(exp).count(),
    };
    let axes: Vec<&str> = exp.grid.iter().map(|a| a.key).collect();
    writeln!(
        out,
        "{}: {} run{} on {}, results in {}",
        exp.name,
        count,
        if count == 1 { "" } else { "s" },
        exp.data
            .sources
            .iter()
            .map(|s| s.label.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        exp.output.display()
    )?;
    out.write_all(search_line(exp, count).as_bytes())?;
    if axes.is_empty() {
        writeln!(out, "grid: none (one run with the [train] values)")?;
    } else {
        let sizes: Vec<String> = exp
            .grid
            .iter()
            .map(|a| match a.values.list() {
                Some(values) => format!("{} ({})", a.key, values.len()),
                None => format!("{} (drawn)", a.key),
            })
            .collect();
        let joint = if exp.search.draws() { ", " } else { " x " };
        writeln!(out, "grid: {}", sizes.join(joint))?;
        for axis in &exp.grid {
            writeln!(out, "  {}: {}", axis.key, axis.values.describe())?;
        }
    }
    match cost {
        Ok(cost) => write_cost(cost, out)?,
        Err(why) => writeln!(out, "cost: not estimated: {why}")?,
    }
    let shown = if all {
        count
    } else {
        count.min(PLAN_RUNS_SHOWN)
    };
    for run in runs(exp).take(shown) {
        writeln!(out, "{}", plan_line(exp, &run, &axes, cost.ok()))?;
    }
    if shown < count {
        let rest = count - shown;
        // The same --max-runs as it took to plan them, when the default is not enough.
        let max_runs = if count > DEFAULT_MAX_RUNS {
            format!(" --max-runs {count}")
        } else {
            String::new()
        };
        writeln!(
            out,
            "... and {rest} more run{} (grbm-sweep plan --all {}{max_runs} lists every run)",
            if rest == 1 { "" } else { "s" },
            shell_quote(&exp.path.display().to_string())
        )?;
    }
    Ok(())
}

/// The plan's `cost:` lines: the sweep's time on this machine's threads and its peak memory,
/// how they were measured, and a warning for runs over an hour or memory over the machine's.
fn write_cost(cost: &SweepCost, out: &mut impl Write) -> io::Result<()> {
    let c = &cost.calibration;
    let halving = if cost.halving_share < 1.0 {
        format!(", halving trains {:.0}% of it", 100.0 * cost.halving_share)
    } else {
        String::new()
    };
    let longest = cost.longest.as_ref().map_or(String::new(), |(id, run)| {
        format!("; the longest run ({id}) {}", duration(run.seconds()))
    });
    writeln!(
        out,
        "cost: about {} on {} thread{} ({} of training and {} of measuring over the runs{halving}), \
         peak memory about {}{longest}",
        duration(cost.wall_seconds()),
        cost.threads,
        if cost.threads == 1 { "" } else { "s" },
        duration(cost.train_seconds),
        duration(cost.eval_seconds),
        bytes(cost.peak_bytes),
    )?;
    writeln!(
        out,
        "  timed on this machine in {:.1} s on {} of the {} kinds of run; an estimate, not a bound \
         (docs/command-line.md, \"What a sweep will cost\")",
        c.seconds, c.measured, c.kinds
    )?;
    if let Some((id, run)) = cost.longest.as_ref().filter(|_| cost.long_runs > 0) {
        writeln!(
            out,
            "warning: {} run{} would take over an hour; the longest, {id}, about {} ({} per epoch)",
            cost.long_runs,
            if cost.long_runs == 1 { "" } else { "s" },
            duration(run.seconds()),
            duration(run.epoch_seconds),
        )?;
    }
    if let Some(machine) = cost.machine_bytes.filter(|m| cost.peak_bytes > *m) {
        writeln!(
            out,
            "warning: the sweep would need about {} of memory at its peak, more than this machine's {}: \
             run it with fewer --threads, or lower hidden or [eval] grid_points",
            bytes(cost.peak_bytes),
            bytes(machine)
        )?;
    }
    Ok(())
}

/// A run's line of the plan: index, id, swept values and, if estimated, its cost.
fn plan_line(exp: &Experiment, run: &RunSpec, axes: &[&str], cost: Option<&SweepCost>) -> String {
    let run_cost = cost.and_then(|c| c.run_cost(run));
    format!(
        "{:>5}  {}  {}{}",
        run.index,
        run.run_id,
        describe(exp, run, axes),
        run_cost.map_or(String::new(), |c| format!("  ({})", describe_cost(&c)))
    )
}

/// A run's cost on its line of the plan: its time (and an epoch's, for runs over a minute) and memory.
fn describe_cost(c: &RunCost) -> String {
    let epoch = if c.seconds() > 60.0 {
        format!(", {} per epoch", duration(c.epoch_seconds))
    } else {
        String::new()
    };
    let long = if c.seconds() > LONG_RUN_SECONDS {
        " !"
    } else {
        ""
    };
    format!(
        "~{}{epoch}, {}{long}",
        duration(c.seconds()),
        bytes(c.peak_bytes)
    )
}

/// Seconds in the largest unit that keeps the number at least 1.
fn duration(seconds: f64) -> String {
    scaled(
        seconds,
        &[
            (86400.0, "d"),
            (3600.0, "h"),
            (60.0, "min"),
            (1.0, "s"),
            (1e-3, "ms"),
        ],
    )
}

/// Bytes in kB, MB or GB (powers of 1000, like `du --si`).
fn bytes(b: f64) -> String {
    scaled(b, &[(1e9, "GB"), (1e6, "MB"), (1e3, "kB")])
}

/// `value` in the first of `units` (largest first) it reaches, else the last; two or three
/// digits.
fn scaled(value: f64, units: &[(f64, &str)]) -> String {
    let (size, name) = units
        .iter()
        .find(|(size, _)| value >= *size)
        .or(units.last())
        .copied()
        .expect("some unit");
    let value = value / size;
    if value >= 10.0 {
        format!("{value:.0} {name}")
    } else {
        format!("{value:.1} {name}")
    }
}

/// The `search:` line of the plan (and of the HTML report): the strategy, the seeds every
/// configuration runs on and, for drawn configurations, how many, their seed and how many
/// repeated draws were dropped.
pub fn search_line(exp: &Experiment, runs: usize) -> String {
    let search = &exp.search;
    let seeds = seeds(exp).len();
    let drawn = search.samples.map(|samples| {
        let dropped = (run_count(exp) - runs) / seeds / exp.data.sources.len().max(1);
        let repeats = match dropped {
            0 => String::new(),
            n => format!(
                ", {n} repeated draw{} dropped",
                if n == 1 { "" } else { "s" }
            ),
        };
        format!(
            "{samples} configurations drawn with seed {}{repeats}",
            search.seed
        )
    });
    let mut over = drawn.unwrap_or_else(|| "every combination".to_string());
    if seeds > 1 {
        over.push_str(&format!(", each configuration on {seeds} seeds"));
    }
    match search.strategy {
        Strategy::Halving => {
            let halving = crate::sweep::halving_of(exp).expect("a halving search");
            let epochs = exp.train.epochs;
            let per_dataset = runs / exp.data.sources.len().max(1);
            let rungs: Vec<String> = halving
                .rung_epochs(epochs)
                .iter()
                .map(|e| e.to_string())
                .collect();
            let by = if seeds > 1 {
                "configurations by their mean valid_ll over the seeds"
            } else {
                "by valid_ll"
            };
            format!(
                "search: halving over {over}: rungs at {} epochs, keeping the best 1/{} {by} at each; \
                 at most {} training epochs per data set, against {} to train every run to the end\n",
                rungs.join(", "),
                search.eta,
                halving.planned_epochs(per_dataset / seeds, seeds, epochs),
                per_dataset * epochs
            )
        }
        strategy => format!("search: {}, {over}\n", strategy.name()),
    }
}

/// `key=value` for the data set (when there are several) and the swept keys (all keys when nothing is swept).
pub fn describe(exp: &Experiment, run: &RunSpec, axes: &[&str]) -> String {
    let dataset = (exp.data.sources.len() > 1)
        .then(|| format!("dataset={}", exp.data.sources[run.dataset].label));
    let params = run
        .train
        .params()
        .into_iter()
        .filter(|(k, _)| axes.is_empty() || axes.contains(k))
        .map(|(k, v)| format!("{k}={v}"));
    dataset
        .into_iter()
        .chain(params)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The best configurations (or runs) of each data set that the summary lists, `plot` draws and
/// the report shows, unless `--top` says otherwise: one default for every command.
pub const DEFAULT_TOP: usize = 5;

/// How the summary, the pictures and the report pick their best: configurations by their mean
/// over seeds (the default), or single runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ranked {
    #[default]
    Configs,
    Runs,
}

/// The text printed after a sweep: counts, where the tables are, and the best of each data set:
/// configurations by their mean `valid_ll` over their seeds, with the mean `test_ll` and its
/// interval beside it, or (with one seed per configuration, or `Ranked::Runs`) single runs by
/// `valid_ll`, with the `test_ll` that measures them.
pub fn summary(exp: &Experiment, report: &SweepReport, top: usize, ranked: Ranked) -> String {
    let count = |s: Status| report.records.iter().filter(|r| r.status == s).count();
    let mut out = format!(
        "{}{}: {} of {} runs in {:.1}s ({} reused from earlier results): {} ok, {} diverged, {} failed{}\nresults: {}\n",
        exp.name,
        report
            .shard
            .map_or(String::new(), |s| format!(" shard {s}")),
        report.records.len(),
        report.records.len() + report.missing,
        report.seconds,
        report.reused,
        count(Status::Ok),
        count(Status::Diverged),
        count(Status::Failed),
        match count(Status::Pruned) {
            0 => String::new(),
            pruned => format!(", {pruned} pruned"),
        },
        report.output.display()
    );
    let configs = configs(&report.records, &report.datasets, seeds(exp).len());
    let by_config = ranked == Ranked::Configs && replicated(&configs);
    let mut tables = String::new();
    for (index, data) in report.datasets.iter().enumerate() {
        if let Some(hint) = nothing_finished_hint(&report.records, index, data) {
            tables.push_str(&hint);
        } else if by_config {
            tables.push_str(&config_table(exp, &configs, index, data, top));
        } else {
            tables.push_str(&run_table(exp, &report.records, index, data, top));
        }
    }
    out.push_str(&tables);
    if by_config && !tables.is_empty() {
        out.push_str("\n(single runs ranked by valid_ll instead: --by-run)\n");
    }
    out
}

/// The `(true_ll = ...; baseline_ll = ...; gap = ...)` note of a table's heading: what a
/// `test_ll` is to be read against, the truth above and one Gaussian below.
fn gap_note(data: &Dataset) -> String {
    let baseline = data.baseline_ll().map_or(String::new(), |b| {
        format!("baseline_ll = {b:.4} (one Gaussian); ")
    });
    match data.true_ll {
        Some(t) => format!("true_ll = {t:.4}; {baseline}gap = true_ll - test_ll, "),
        None => baseline,
    }
}

/// When no run of data set `dataset` finished (`ok`) but some diverged or failed, there is no
/// table of best runs to print: say what happened, how often, and what usually fixes it, rather
/// than printing nothing at all.
fn nothing_finished_hint(records: &[RunRecord], dataset: usize, data: &Dataset) -> Option<String> {
    let runs: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.spec.dataset == dataset)
        .collect();
    let count = |s: Status| runs.iter().filter(|r| r.status == s).count();
    let (diverged, failed) = (count(Status::Diverged), count(Status::Failed));
    if count(Status::Ok) > 0 || diverged + failed == 0 {
        return None;
    }
    let counts: Vec<String> = [Status::Diverged, Status::Failed, Status::Pruned]
        .into_iter()
        .filter(|&s| count(s) > 0)
        .map(|s| format!("{} {}", count(s), s.name()))
        .collect();
    let mut out = format!(
        "\nno run on {} finished ({} of {}):\n",
        data.name,
        counts.join(", "),
        runs.len()
    );
    if diverged > 0 {
        out.push_str(&format!(
            "  {} diverged (non-finite parameters): lower lr (now {}) or clip_norm (now {}); \
             see docs/command-line.md#progress-and-summary\n",
            if failed == 0 { "every run" } else { "runs" },
            values_of(&runs, "lr"),
            values_of(&runs, "clip_norm"),
        ));
    }
    if failed > 0 {
        out.push_str(
            "  failed runs raised an error: the `error` column of runs.parquet says which\n",
        );
    }
    Some(out)
}

/// The distinct values of train key `key` among `runs`, sorted.
fn values_of(runs: &[&RunRecord], key: &str) -> String {
    let values = distinct_values(runs.iter().map(|r| param(&r.spec, key)));
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The best configurations of one data set by mean `valid_ll`, with the `test_ll` interval.
fn config_table(
    exp: &Experiment,
    configs: &[Config<'_>],
    dataset: usize,
    data: &Dataset,
    top: usize,
) -> String {
    let ranked = best_configs(configs, dataset);
    if ranked.is_empty() {
        return String::new();
    }
    let keys = config_keys(exp);
    let mut out = format!(
        "\nbest {} of {} configurations on {} by mean valid_ll over their seeds \
         ({}nats per point; test_ll with its 95% t-interval over the seeds):\n",
        top.min(ranked.len()),
        ranked.len(),
        data.name,
        gap_note(data),
    );
    out.push_str(&format!(
        "  {:<16}  {:>5}  {:>9}  {:>9}  {:<20}  {:>7}  {}\n",
        "config_id", "seeds", "valid_ll", "test_ll", "95% interval", "gap", "parameters"
    ));
    for c in ranked.iter().take(top) {
        let valid = c
            .valid_ll
            .expect("ranked configurations have finished seeds");
        let test = c
            .test_ll
            .expect("ranked configurations have finished seeds");
        let interval = test.ci.map_or("-".to_string(), |(low, high)| {
            format!("[{low:.4}, {high:.4}]")
        });
        let gap = c.gap_mean.map_or("-".to_string(), |g| format!("{g:.4}"));
        out.push_str(&format!(
            "  {:<16}  {:>5}  {:>9.4}  {:>9.4}  {:<20}  {:>7}  {}\n",
            c.config_id,
            format!("{}/{}", c.n_seeds(), c.n_runs),
            valid.mean,
            test.mean,
            interval,
            gap,
            if keys.is_empty() {
                "-".to_string()
            } else {
                describe(exp, c.spec(), &keys)
            }
        ));
    }
    out
}

/// The best runs of one data set by `valid_ll`.
fn run_table(
    exp: &Experiment,
    records: &[RunRecord],
    dataset: usize,
    data: &Dataset,
    top: usize,
) -> String {
    let ranked = best_runs(records, dataset);
    if ranked.is_empty() {
        return String::new();
    }
    let axes: Vec<&str> = exp.grid.iter().map(|a| a.key).collect();
    let mut out = format!(
        "\nbest {} of {} on {} by valid_ll",
        top.min(ranked.len()),
        ranked.len(),
        data.name
    );
    out.push_str(&format!(" ({}nats per point):\n", gap_note(data)));
    out.push_str(&format!(
        "  {:<16}  {:>9}  {:>9}  {:>9}  {:>7}  {}\n",
        "run_id", "valid_ll", "test_ll", "train_ll", "gap", "parameters"
    ));
    for r in ranked.iter().take(top) {
        out.push_str(&best_line(exp, r, data.true_ll, &axes));
    }
    out
}

/// One row of the table of best runs.
fn best_line(exp: &Experiment, r: &RunRecord, true_ll: Option<f64>, axes: &[&str]) -> String {
    let e = r
        .result
        .and_then(|run| run.evaluation)
        .expect("ranked runs are evaluated");
    let gap = true_ll.map_or("-".to_string(), |t| format!("{:.4}", t - e.test_ll));
    format!(
        "  {:<16}  {:>9.4}  {:>9.4}  {:>9.4}  {:>7}  {}\n",
        r.spec.run_id,
        e.valid_ll,
        e.test_ll,
        e.train_ll,
        gap,
        describe(exp, &r.spec, axes)
    )
}

/// An axis that `compare` cannot compare.
#[derive(Debug, thiserror::Error)]
#[error("compare --by {axis}: {reason}")]
pub struct CompareError {
    axis: String,
    reason: String,
}

/// The text `grbm-sweep compare DIR --by AXIS` prints: per data set, each value of the axis with
/// its runs' mean valid_ll and test_ll, and its paired difference in test_ll against the best
/// value by mean valid_ll, with the 95% t-interval and the pairs it is over.
pub fn comparison(folder: &Folder, axis: &str) -> Result<String, CompareError> {
    let exp = &folder.experiment;
    let error = |reason: String| CompareError {
        axis: axis.to_string(),
        reason,
    };
    let keys = config_keys(exp);
    if axis == SEED_KEY {
        return Err(error(
            "seeds are the replicates that every comparison is paired over; compare another axis"
                .into(),
        ));
    }
    if !keys.contains(&axis) {
        let axes = if keys.is_empty() {
            "it has none but the seed".to_string()
        } else {
            format!("its axes are {}", keys.join(", "))
        };
        return Err(error(format!("not a [grid] axis of this sweep ({axes})")));
    }
    let mut out = String::new();
    for (index, data) in folder.datasets.iter().enumerate() {
        let rows = compare(&folder.records, index, axis);
        let Some(best) = rows.iter().find(|r| r.best) else {
            continue;
        };
        out.push_str(&format!(
            "{axis} on {}: test_ll at each value minus test_ll at {axis}={} (the best by mean valid_ll), \
             paired over the seeds and every other axis; nats per point, 95% t-intervals\n",
            data.name, best.value
        ));
        let width = rows
            .iter()
            .map(|r| r.value.to_string().len())
            .chain([axis.len()])
            .max()
            .unwrap_or(0);
        out.push_str(&format!(
            "  {axis:>width$}  {:>4}  {:>9}  {:>9}  {:>10}  {:<22}  {:>5}  {:>8}\n",
            "runs", "valid_ll", "test_ll", "difference", "95% interval", "pairs", "unpaired"
        ));
        for r in &rows {
            let (difference, interval, pairs) = match (&r.difference, r.best) {
                (_, true) => ("best".to_string(), String::new(), String::new()),
                (None, false) => ("-".to_string(), "no pair".to_string(), "0".to_string()),
                (Some(d), false) => (
                    format!("{:.4}", d.mean),
                    d.ci.map_or("- (one pair)".to_string(), |(low, high)| {
                        format!("[{low:.4}, {high:.4}]")
                    }),
                    d.n.to_string(),
                ),
            };
            out.push_str(&format!(
                "  {:>width$}  {:>4}  {:>9.4}  {:>9.4}  {:>10}  {:<22}  {:>5}  {:>8}\n",
                r.value.to_string(),
                r.n_runs,
                r.valid_ll_mean,
                r.test_ll_mean,
                difference,
                interval,
                pairs,
                r.unpaired
            ));
        }
        out.push('\n');
    }
    if out.is_empty() {
        return Err(error("no run of this sweep finished".into()));
    }
    out.push_str(
        "A pair is two finished runs that differ only in this axis; runs without a partner at the best value \
         are left out (unpaired). Each interval holds on its own: with many values, some will miss by chance.\n",
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::parse;
    use std::path::Path;

    fn plan_of(path: &str, grid: &str, all: bool) -> String {
        let text = format!("name = \"t\"\n[data]\nsource = \"gmm_iso\"\n[grid]\n{grid}\n");
        let exp = parse(Path::new(path), &text).unwrap();
        let mut out = Vec::new();
        // The listing without the cost lines, whose measurement the plan tests do not need.
        write_plan(&exp, all, Err("not estimated here"), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Durations and sizes keep two or three digits in the largest unit they reach.
    #[test]
    fn durations_and_sizes_are_shown_in_their_largest_unit() {
        assert_eq!(duration(0.0044), "4.4 ms");
        assert_eq!(duration(83.0), "1.4 min");
        assert_eq!(duration(3.0 * 3600.0 + 1000.0), "3.3 h");
        assert_eq!(duration(12.0 * 86400.0), "12 d");
        assert_eq!(bytes(131_000.0), "131 kB");
        assert_eq!(bytes(6.6e9), "6.6 GB");
        assert_eq!(bytes(12.0), "0.0 kB");
    }

    /// The lines of runs: index, run id, swept values.
    fn run_lines(plan: &str) -> Vec<&str> {
        plan.lines().filter(|l| l.contains(" seed=")).collect()
    }

    /// By default the plan lists the first runs and counts the others, naming the command that
    /// lists them (with the --max-runs that planning them took, and the file quoted for a
    /// shell); with `all` it lists every run, the same lines, and no count.
    #[test]
    fn the_plan_lists_the_first_runs_then_counts_the_others() {
        let grid = "hidden = [2, 3]\nseed = { range = [0, 13] }";
        let short = plan_of("dir/e.toml", grid, false);
        let all = plan_of("dir/e.toml", grid, true);
        assert_eq!(run_lines(&short).len(), PLAN_RUNS_SHOWN);
        assert_eq!(run_lines(&all).len(), 26);
        assert_eq!(run_lines(&short), run_lines(&all)[..PLAN_RUNS_SHOWN]);
        assert!(
            short.starts_with("t: 26 runs on gmm_iso, results in "),
            "{short}"
        );
        assert!(
            short.ends_with(
                "\n... and 6 more runs (grbm-sweep plan --all dir/e.toml lists every run)\n"
            ),
            "{short}"
        );
        let header = |plan: &str| plan[..plan.find(run_lines(plan)[0]).unwrap()].to_string();
        assert_eq!(header(&short), header(&all));
        assert!(!all.contains("more run"), "{all}");

        let exactly = plan_of("e.toml", "seed = { range = [0, 20] }", false);
        assert_eq!(run_lines(&exactly).len(), 20);
        assert!(!exactly.contains("more run"), "{exactly}");
        let one_more = plan_of("my dir/e.toml", "seed = { range = [0, 21] }", false);
        assert!(
            one_more.ends_with(
                "\n... and 1 more run (grbm-sweep plan --all 'my dir/e.toml' lists every run)\n"
            ),
            "{one_more}"
        );
        let many = plan_of("e.toml", "seed = { range = [0, 100001] }", false);
        assert!(
            many.ends_with(
                "\n... and 99981 more runs (grbm-sweep plan --all e.toml --max-runs 100001 lists every run)\n"
            ),
            "{}",
            &many[many.len() - 200..]
        );
    }
}
