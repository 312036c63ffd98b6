//! Progress of a running sweep on stderr: a bar of the training epochs on a terminal, one plain line per finished run otherwise.

use super::summary::describe;
use crate::experiment::Experiment;
use crate::sweep::Observer;
use crate::sweep::record::{RunRecord, Status};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};

/// The (valid_ll, test_ll) of one run.
type LogLikelihoods = (f64, f64);

/// Shows a sweep's progress: on a terminal, a bar of its training epochs (so that a few long
/// runs still move it, and the time left is estimated from them) with the runs finished and
/// the best run so far by valid_ll, with its test_ll; otherwise one line per finished run.
pub struct Reporter<'a> {
    exp: &'a Experiment,
    axes: Vec<&'static str>,
    terminal: bool,
    bar: OnceLock<ProgressBar>,
    /// Runs to do, runs finished and the (valid_ll, test_ll) of the best run so far by valid_ll.
    state: Mutex<(usize, usize, Option<LogLikelihoods>)>,
}

impl<'a> Reporter<'a> {
    pub fn new(exp: &'a Experiment) -> Self {
        Reporter {
            exp,
            axes: exp.grid.iter().map(|a| a.key).collect(),
            terminal: std::io::stderr().is_terminal(),
            bar: OnceLock::new(),
            state: Mutex::new((0, 0, None)),
        }
    }
}

impl Observer for Reporter<'_> {
    fn start(&self, runs: usize, epochs: usize) {
        self.state.lock().expect("no thread panics holding it").0 = runs;
        if !self.terminal {
            return;
        }
        let bar = ProgressBar::new(epochs as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {percent:>3}% of the epochs  [{elapsed_precise} < {eta_precise}]  {msg}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(format!("0/{runs} runs, best valid_ll: -"));
        bar.enable_steady_tick(std::time::Duration::from_secs(1));
        let _ = self.bar.set(bar);
    }

    fn stopping(&self, in_progress: usize) {
        let message = crate::sweep::stopping_message(in_progress);
        match self.bar.get() {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }

    fn epoch_done(&self) {
        if let Some(bar) = self.bar.get() {
            bar.inc(1);
        }
    }

    fn run_done(&self, record: &RunRecord, skipped: usize) {
        let mut state = self.state.lock().expect("no thread panics holding it");
        state.1 += 1;
        let lls = record.valid_ll().zip(record.test_ll());
        // A pruned run's numbers are from an earlier epoch: not a candidate for the best.
        if let Some((valid, test)) = lls
            && record.status == Status::Ok
            && state.2.is_none_or(|(best, _)| valid > best)
        {
            state.2 = Some((valid, test));
        }
        let (total, done) = (state.0, state.1);
        let best = state
            .2
            .map_or("-".to_string(), |(v, t)| format!("{v:.4} (test_ll {t:.4})"));
        if let Some(bar) = self.bar.get() {
            bar.set_message(format!("{done}/{total} runs, best valid_ll: {best}"));
            bar.inc(skipped as u64);
            return;
        }
        let result = match (record.status, lls) {
            (Status::Ok, Some((valid, test))) => format!("valid_ll={valid:.4} test_ll={test:.4}"),
            (Status::Pruned, Some((valid, _))) => format!(
                "pruned at epoch {} (valid_ll={valid:.4})",
                record.result.as_ref().map_or(0, |r| r.epochs_done)
            ),
            _ => format!(
                "{}: {}",
                record.status.name(),
                record.error.as_deref().unwrap_or("")
            ),
        };
        eprintln!(
            "[{done}/{total}] {} {} {result}  (best valid_ll {best})",
            record.spec.run_id,
            describe(self.exp, &record.spec, &self.axes),
        );
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish();
        }
    }
}
