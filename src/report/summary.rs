//! A sweep as text: the plan of an experiment (its runs and axes) and the summary of a finished sweep (counts and the best runs of each data set by `valid_ll`, with their `test_ll`).

use crate::experiment::Experiment;
use crate::experiment::grid::{RunSpec, expand, run_count};
use crate::experiment::search::Strategy;
use crate::sweep::SweepReport;
use crate::sweep::record::{RunRecord, Status, best_runs};

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

/// The `search:` line of the plan (and of the HTML report): the strategy and, for drawn configurations, how many, their
/// seed and how many repeated draws were dropped.
pub fn search_line(exp: &Experiment, runs: usize) -> String {
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
        Strategy::Halving => {
            let halving = crate::sweep::halving_of(exp).expect("a halving search");
            let epochs = exp.train.epochs;
            let per_dataset = runs / exp.data.sources.len().max(1);
            let rungs: Vec<String> = halving
                .rung_epochs(epochs)
                .iter()
                .map(|e| e.to_string())
                .collect();
            format!(
                "search: halving over {over}: rungs at {} epochs, keeping the best 1/{} by valid_ll at each; \
                 at most {} training epochs per data set, against {} to train every run to the end\n",
                rungs.join(", "),
                search.eta,
                halving.planned_epochs(per_dataset, epochs),
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

/// The text printed after a sweep: counts, where the tables are, and the best runs of each data
/// set by `valid_ll`, with the `test_ll` that measures them beside it.
pub fn summary(exp: &Experiment, report: &SweepReport, top: usize) -> String {
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
    let axes: Vec<&str> = exp.grid.iter().map(|a| a.key).collect();
    for (index, data) in report.datasets.iter().enumerate() {
        let ranked = best_runs(&report.records, index);
        if ranked.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\nbest {} of {} on {} by valid_ll",
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
            "  {:<16}  {:>9}  {:>9}  {:>9}  {:>7}  {}\n",
            "run_id", "valid_ll", "test_ll", "train_ll", "gap", "parameters"
        ));
        for r in ranked.iter().take(top) {
            out.push_str(&best_line(exp, r, data.true_ll, &axes));
        }
    }
    out
}

/// One row of the table of best runs.
fn best_line(exp: &Experiment, r: &RunRecord, true_ll: Option<f64>, axes: &[&str]) -> String {
    let e = r
        .run
        .as_ref()
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
