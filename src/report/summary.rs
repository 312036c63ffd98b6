//! A sweep as text: the plan of an experiment (its runs and axes) and the summary of a finished sweep (counts and the best runs of each data set).

use crate::experiment::Experiment;
use crate::experiment::grid::{RunSpec, expand, run_count};
use crate::experiment::search::Strategy;
use crate::sweep::SweepReport;
use crate::sweep::record::{RunRecord, Status};

/// The text `grbm-sweep plan` prints: the run count and one line per run.
pub fn plan(exp: &Experiment) -> String {
    let runs = expand(exp);
    let axes: Vec<&str> = exp.grid.iter().map(|a| a.key).collect();
    let mut out = format!(
        "{}: {} run{} on {}, results in {}\n",
        exp.name,
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        exp.data
            .sources
            .iter()
            .map(|s| s.label.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        exp.output.display()
    );
    out.push_str(&search_line(exp, runs.len()));
    if axes.is_empty() {
        out.push_str("grid: none (one run with the [train] values)\n");
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
        out.push_str(&format!("grid: {}\n", sizes.join(joint)));
        for axis in &exp.grid {
            out.push_str(&format!("  {}: {}\n", axis.key, axis.values.describe()));
        }
    }
    for run in &runs {
        out.push_str(&format!(
            "{:>5}  {}  {}\n",
            run.index,
            run.run_id,
            describe(exp, run, &axes)
        ));
    }
    out
}

/// The `search:` line of the plan: the strategy and, for drawn configurations, how many, their
/// seed and how many repeated draws were dropped.
fn search_line(exp: &Experiment, runs: usize) -> String {
    let search = &exp.search;
    let drawn = search.samples.map(|samples| {
        let dropped = run_count(exp) - runs;
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
    let over = drawn.unwrap_or_else(|| "every combination".to_string());
    match search.strategy {
        Strategy::Halving => format!(
            "search: halving over {over}: rungs from {} to {} epochs, keeping the best 1/{} at each\n",
            search.min_epochs.unwrap_or(0),
            exp.train.epochs,
            search.eta
        ),
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

/// The text printed after a sweep: counts, where the tables are, and the best runs of each data set.
pub fn summary(exp: &Experiment, report: &SweepReport, top: usize) -> String {
    let count = |s: Status| report.records.iter().filter(|r| r.status == s).count();
    let mut out = format!(
        "{}{}: {} of {} runs in {:.1}s ({} reused from earlier results): {} ok, {} diverged, {} failed\nresults: {}\n",
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
        report.output.display()
    );
    let axes: Vec<&str> = exp.grid.iter().map(|a| a.key).collect();
    for (index, data) in report.datasets.iter().enumerate() {
        let mut ranked: Vec<(&RunRecord, f64)> = report
            .records
            .iter()
            .filter(|r| r.spec.dataset == index)
            .filter_map(|r| r.test_ll().map(|ll| (r, ll)))
            .collect();
        if ranked.is_empty() {
            continue;
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.push_str(&format!(
            "\nbest {} of {} on {}",
            top.min(ranked.len()),
            ranked.len(),
            data.name
        ));
        match data.true_ll {
            Some(t) => out.push_str(&format!(
                " (true_ll = {t:.4}; gap = true_ll - test_ll, nats per point):\n"
            )),
            None => out.push_str(" (nats per point):\n"),
        }
        out.push_str(&format!(
            "  {:<16}  {:>9}  {:>9}  {:>7}  {}\n",
            "run_id", "test_ll", "train_ll", "gap", "parameters"
        ));
        for (r, test_ll) in ranked.iter().take(top) {
            let train_ll = r
                .run
                .as_ref()
                .and_then(|run| run.evaluation)
                .map_or(f64::NAN, |e| e.train_ll);
            let gap = data
                .true_ll
                .map_or("-".to_string(), |t| format!("{:.4}", t - test_ll));
            out.push_str(&format!(
                "  {:<16}  {:>9.4}  {:>9.4}  {:>7}  {}\n",
                r.spec.run_id,
                test_ll,
                train_ll,
                gap,
                describe(exp, &r.spec, &axes)
            ));
        }
    }
    out
}
