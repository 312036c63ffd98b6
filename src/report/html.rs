//! `grbm-sweep report`: one self-contained HTML page of a results folder (what was run, the whole recipe, the best configurations by mean `valid_ll` or the best runs, every configuration over its seeds, paired comparisons along each axis, the pictures as inline SVG, what is missing), with no reference to anything outside the file.

use super::plot::{self, Inline, PlotError, PlotOptions};
use super::summary::{Ranked, describe, search_line};
use crate::data::{DataConfig, Dataset, SourceKind};
use crate::experiment::Experiment;
use crate::experiment::grid::{RunSpec, seeds};
use crate::experiment::search::{SearchConfig, Strategy};
use crate::identity::Field;
use crate::io::{WriteError, write_atomically};
use crate::sweep::configs::{
    Comparison, Config, best_configs, compare, config_keys, configs, replicated,
};
use crate::sweep::folder::Folder;
use crate::sweep::provenance::{KEYS, shell_quote};
use crate::sweep::record::{RunRecord, Status, best_runs};
use crate::sweep::tableset::{COMMIT_FILE, TABLES_DIR, Tables};
use crate::train::params::TrainConfig;
use std::collections::HashSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The report's file name inside the results folder.
pub const REPORT_FILE: &str = "report.html";

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Plot(#[from] PlotError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("{path} is damaged ({message})")]
    Provenance { path: PathBuf, message: String },
    #[error("cannot write {path}: {reason}; write the page elsewhere with --out FILE")]
    Unwritable {
        path: PathBuf,
        reason: std::io::Error,
    },
}

/// Styles of the page, inline: the file must render with nothing but itself.
const STYLE: &str = "body{font-family:sans-serif;margin:1.5em auto;max-width:1280px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.none{color:#999}
table.sortable th{cursor:pointer;background:#f3f3f3;user-select:none}
th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}
tr.best-value td{font-weight:bold}
.tag{font-size:.75em;padding:0 .45em;border-radius:.6em;background:#eee;color:#777}
.tag.swept{background:#e3ecfa;color:#2a4d80}
.recipe{display:flex;flex-wrap:wrap;gap:0 2em;align-items:flex-start}.recipe h3{margin-bottom:0}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;overflow-x:auto}
code{font-size:.85em}figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}summary{cursor:pointer}.note{color:#555}";

/// Sorts a `table.sortable` by the clicked column (numbers numerically by `data-v` or their text,
/// other cells and those marked `data-text`, such as run ids that may look like numbers,
/// alphabetically), then marks the body `data-ready="1"` so that a test
/// can tell the script ran to its end.
const SCRIPT: &str = "(function(){
function value(cell){if(cell.hasAttribute('data-text')){return {s:cell.textContent.trim()};}
var t=cell.getAttribute('data-v');if(t===null){t=cell.textContent.trim();}
var n=Number(t);return (t!==''&&isFinite(n))?{n:n}:{s:t};}
function compare(a,b){if('n' in a&&'n' in b){return a.n-b.n;}if('n' in a){return -1;}if('n' in b){return 1;}
return a.s<b.s?-1:(a.s>b.s?1:0);}
function sortBy(table,column,th){var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
var up=th.getAttribute('aria-sort')!=='ascending';
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(h){h.removeAttribute('aria-sort');});
th.setAttribute('aria-sort',up?'ascending':'descending');
rows.sort(function(x,y){var c=compare(value(x.cells[column]),value(y.cells[column]));return up?c:-c;});
rows.forEach(function(r){body.appendChild(r);});}
var tables=document.querySelectorAll('table.sortable');
Array.prototype.forEach.call(tables,function(table){
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,column){
th.title='click to sort';th.addEventListener('click',function(){sortBy(table,column,th);});});});
document.body.setAttribute('data-ready','1');
})();";

/// What the 95% interval of a configuration or a difference is, and what it does not promise.
const INTERVAL_NOTE: &str = "The 95% interval is the mean -/+ t(0.975, n - 1) standard errors \
    over the n seeds (Student's t): it would cover the configuration's true mean in 95% of \
    repeated sweeps if its seeds' log-likelihoods were normal, but with few seeds it is wide and \
    rough, and it holds for each row on its own: among many configurations compared, some \
    intervals miss by chance.";

/// Writes `dir/report.html`, or `out` (temporary file, then rename), for `folder`, read from
/// `dir`: the `top` best configurations (or runs, with `Ranked::Runs`) of each data set.
/// Returns the file's path.
pub fn write_report(
    folder: &Folder,
    dir: &Path,
    top: usize,
    ranked: Ranked,
    out: Option<&Path>,
) -> Result<PathBuf, ReportError> {
    let page = report(folder, dir, top, ranked)?;
    let path = out.map_or_else(|| dir.join(REPORT_FILE), Path::to_path_buf);
    write_atomically(&path, page.as_bytes()).map_err(|e| ReportError::Unwritable {
        path: path.clone(),
        reason: e.source,
    })?;
    Ok(path)
}

/// The whole page. `dir` is also the folder the verify commands name, as the user gave it.
pub fn report(
    folder: &Folder,
    dir: &Path,
    top: usize,
    ranked: Ranked,
) -> Result<String, ReportError> {
    let configs = configs(
        &folder.records,
        &folder.datasets,
        seeds(&folder.experiment).len(),
    );
    // With one seed per configuration, a configuration is a run: rank runs.
    let by_config = ranked == Ranked::Configs && replicated(&configs);
    let name = escape(&folder.experiment.name);
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>grbm-sweep report: {name}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n\
         <h1>grbm-sweep report: {name}</h1>\n"
    );
    page.push_str(&contents(by_config));
    page.push_str(&status(folder));
    page.push_str(&experiment_section(folder));
    page.push_str(&recipe_section(&folder.experiment));
    page.push_str(&datasets_section(folder));
    page.push_str(&provenance_section(folder)?);
    if by_config {
        page.push_str(&best_configs_section(folder, &configs, dir, top));
    } else {
        page.push_str(&best_runs_section(folder, dir, top, replicated(&configs)));
    }
    page.push_str(&configs_section(folder, &configs));
    page.push_str(&comparisons_section(folder));
    let pictured = pictured_runs(folder, &configs, by_config);
    page.push_str(&pictures_section(
        folder, dir, top, ranked, &pictured, &configs,
    )?);
    page.push_str(&missing_section(folder, dir));
    page.push_str(&format!(
        "<script>\n{SCRIPT}\n</script>\n</body>\n</html>\n"
    ));
    Ok(page)
}

/// `text` with the characters HTML gives a meaning to replaced by their entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Links to the sections (fragment links only: they stay inside the file).
fn contents(by_config: bool) -> String {
    let best = if by_config {
        "best configurations"
    } else {
        "best runs"
    };
    let links = [
        ("experiment", "what was run"),
        ("recipe", "recipe"),
        ("datasets", "data sets"),
        ("provenance", "provenance"),
        ("best", best),
        ("configs", "configurations"),
        ("compare", "comparisons"),
        ("pictures", "pictures"),
        ("missing", "what is missing"),
    ]
    .map(|(id, label)| format!("<a href=\"#{id}\">{label}</a>"));
    format!("<nav>{}</nav>\n", links.join(" | "))
}

/// What the page must say before anything else, when there is something: a sweep in progress
/// (the page shows the runs saved so far), tables that disagree with the records or cannot be
/// read.
fn status(folder: &Folder) -> String {
    folder
        .notes
        .iter()
        .map(|note| format!("<p class=\"note status\">{}.</p>\n", escape(note)))
        .collect()
}

/// The `provenance.json` of the sweep's committed tables and which set they are, in one
/// `<section id="provenance">` of its own: the only part of the page that depends on when and
/// how the tables were written, so that comparisons of reports can cut it out whole.
fn provenance_section(folder: &Folder) -> Result<String, ReportError> {
    let mut out = String::from("<section id=\"provenance\">\n<h2>Provenance</h2>\n");
    let tables = match &folder.tables {
        Ok(Some(tables)) => tables,
        Ok(None) => {
            out.push_str(
                "<p class=\"note\">No tables yet: a sweep still running or stopped before \
                 writing them, or shards not merged.</p>\n</section>\n",
            );
            return Ok(out);
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "<p class=\"note\">{}.</p>\n</section>",
                escape(&e.to_string())
            );
            return Ok(out);
        }
    };
    let _ = writeln!(out, "<p>{}</p>", escape(&set_line(tables)));
    let path = tables.path("provenance.json");
    let Some(text) = tables.read_to_string("provenance.json") else {
        out.push_str("<p class=\"note\">The tables have no provenance.json.</p>\n</section>\n");
        return Ok(out);
    };
    let text = text.map_err(|e| ReportError::Provenance {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| ReportError::Provenance {
            path: path.clone(),
            message: e.to_string(),
        })?;
    out.push_str("<table>\n");
    // The keys in the order the tables write them, then any this version does not know.
    let known = KEYS.iter().filter_map(|k| map.get_key_value(*k));
    let others = map.iter().filter(|(k, _)| !KEYS.contains(&k.as_str()));
    for (key, value) in known.chain(others) {
        let value = value
            .as_str()
            .map_or_else(|| value.to_string(), String::from);
        let key = key.trim_start_matches("grbm_sweep.");
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            escape(key),
            escape(&value)
        );
    }
    out.push_str("</table>\n</section>\n");
    Ok(out)
}

/// Which tables the page's provenance is of.
fn set_line(tables: &Tables) -> String {
    match &tables.commit {
        Some(c) => format!(
            "The committed set of tables {COMMIT_FILE} names: {TABLES_DIR}/{}/, built from {} \
             records of the grid's {} runs.",
            c.generation, c.records, c.runs
        ),
        None => format!(
            "The tables of an earlier version of grbm-sweep, without {COMMIT_FILE}: nothing \
             ties them together."
        ),
    }
}

/// The experiment file as run, the search and every grid axis with its size and values.
fn experiment_section(folder: &Folder) -> String {
    let exp = &folder.experiment;
    let mut out = String::from("<section id=\"experiment\">\n<h2>What was run</h2>\n");
    let _ = writeln!(
        out,
        "<p>{} runs over {} data set{}. {}</p>",
        folder.runs.len(),
        folder.datasets.len(),
        if folder.datasets.len() == 1 { "" } else { "s" },
        escape(search_line(exp, folder.runs.len()).trim_end())
    );
    if exp.grid.is_empty() {
        out.push_str("<p>grid: none (one run with the [train] values)</p>\n");
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>axis</th><th>size</th><th>values</th></tr></thead>\n<tbody>\n",
        );
        for axis in &exp.grid {
            let size = axis
                .values
                .list()
                .map_or("drawn".to_string(), |v| v.len().to_string());
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{size}</td><td>{}</td></tr>",
                escape(axis.key),
                escape(&axis.values.describe())
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    let _ = writeln!(
        out,
        "<details>\n<summary>The experiment file as run (<code>sweep.toml</code>)</summary>\n<pre>{}</pre>\n</details>\n</section>",
        escape(&exp.text)
    );
    out
}

/// One row of a table of the recipe: a key, its value in each column, and where it came from.
struct RecipeRow {
    key: &'static str,
    /// `None` where the key does not apply (a file key of a generated data set).
    values: Vec<Option<String>>,
    /// `default` for a key the file does not write, `swept` for a grid axis.
    tag: Option<&'static str>,
    /// What the key means, shown when the pointer rests on it.
    doc: Option<&'static str>,
}

/// Every setting of the experiment as the runs used it, section by section: the folded file
/// leaves out the defaults, which decide as much as the written keys.
fn recipe_section(exp: &Experiment) -> String {
    // The file was checked when the folder was read: it parses.
    let file: toml::Table = toml::from_str(&exp.text).unwrap_or_default();
    let origin = |section: &str, key: &str| {
        let written = file
            .get(section)
            .and_then(toml::Value::as_table)
            .is_some_and(|t| t.contains_key(key));
        (!written).then_some("default")
    };
    let sources: Vec<String> = exp.data.sources.iter().map(|s| s.label.clone()).collect();
    let mut out = String::from(
        "<section id=\"recipe\">\n<h2>The whole recipe</h2>\n<p class=\"note\">Every setting as \
         the runs used it: the file's values over the defaults. <span class=\"tag default\">default</span> \
         marks a key the file does not write, <span class=\"tag swept\">swept</span> a [grid] axis \
         (with its values); - a key that a data set's source does not use.</p>\n<div class=\"recipe\">\n",
    );
    out.push_str(&recipe_table(
        "data",
        &sources,
        &data_rows(&exp.data, &origin),
    ));
    out.push_str(&recipe_table("train", &[], &train_rows(exp, &origin)));
    let eval = field_rows(exp.eval.identity(), |key| origin("eval", key));
    out.push_str(&recipe_table("eval", &[], &eval));
    let search = field_rows(search_fields(&exp.search), |key| origin("search", key));
    out.push_str(&recipe_table("search", &[], &search));
    out.push_str("</div>\n</section>\n");
    out
}

/// The table of section `[section]`: a column per entry of `columns` (one `value` column when
/// empty), then the tag.
fn recipe_table(section: &str, columns: &[String], rows: &[RecipeRow]) -> String {
    let mut out = format!("<div>\n<h3>[{section}]</h3>\n<table>\n<thead><tr><th>key</th>");
    if columns.is_empty() {
        out.push_str("<th>value</th>");
    }
    for column in columns {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    out.push_str("<th></th></tr></thead>\n<tbody>\n");
    for row in rows {
        let title = row
            .doc
            .map_or(String::new(), |d| format!(" title=\"{}\"", escape(d)));
        let _ = write!(out, "<tr><th{title}>{}</th>", escape(row.key));
        for value in &row.values {
            match value {
                Some(v) => {
                    let _ = write!(out, "<td>{}</td>", escape(v));
                }
                None => out.push_str("<td class=\"none\">-</td>"),
            }
        }
        let tag = row.tag.map_or(String::new(), |t| {
            format!("<span class=\"tag {t}\">{t}</span>")
        });
        let _ = writeln!(out, "<td>{tag}</td></tr>");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    out
}

/// `[data]` per data set: the keys that shape each one's points (its identity), the source with
/// its kind; keys no data set uses are left out.
fn data_rows(
    data: &DataConfig,
    origin: &dyn Fn(&str, &str) -> Option<&'static str>,
) -> Vec<RecipeRow> {
    let identities: Vec<Vec<(&str, Field)>> =
        (0..data.sources.len()).map(|i| data.identity(i)).collect();
    data.fields()
        .into_iter()
        .map(|(key, _)| {
            let values = identities
                .iter()
                .zip(&data.sources)
                .map(|(fields, source)| {
                    let (_, field) = fields.iter().find(|(k, _)| *k == key)?;
                    let text = field_text(field);
                    Some(match (&source.kind, key) {
                        (SourceKind::Generator, "source") => format!("{text} (generator)"),
                        (SourceKind::File(_), "source") => format!("{text} (file)"),
                        _ => text,
                    })
                })
                .collect();
            RecipeRow {
                key,
                values,
                tag: origin("data", key),
                doc: None,
            }
        })
        .filter(|row| row.values.iter().any(Option::is_some))
        .collect()
}

/// Every key of the parameter table with its value; a swept key with its axis's values.
fn train_rows(
    exp: &Experiment,
    origin: &dyn Fn(&str, &str) -> Option<&'static str>,
) -> Vec<RecipeRow> {
    exp.train
        .params()
        .into_iter()
        .zip(TrainConfig::key_docs())
        .map(|((key, value), doc)| {
            let axis = exp.grid.iter().find(|a| a.key == key);
            RecipeRow {
                key,
                values: vec![Some(
                    axis.map_or_else(|| value.to_string(), |a| a.values.describe()),
                )],
                tag: if axis.is_some() {
                    Some("swept")
                } else {
                    origin("train", key)
                },
                doc: Some(doc.meaning),
            }
        })
        .collect()
}

/// One row per field, its tag by `origin`.
fn field_rows(
    fields: Vec<(&'static str, Field)>,
    origin: impl Fn(&str) -> Option<&'static str>,
) -> Vec<RecipeRow> {
    fields
        .into_iter()
        .map(|(key, field)| RecipeRow {
            key,
            values: vec![Some(field_text(&field))],
            tag: origin(key),
            doc: None,
        })
        .collect()
}

/// The `[search]` keys with their resolved values.
fn search_fields(search: &SearchConfig) -> Vec<(&'static str, Field)> {
    let int = |v: usize| Field::Int(v as i64);
    vec![
        ("strategy", Field::text(search.strategy.name())),
        ("samples", search.samples.map_or(Field::Unset, int)),
        ("seed", Field::Int(search.seed as i64)),
        ("eta", int(search.eta)),
        ("min_epochs", search.min_epochs.map_or(Field::Unset, int)),
    ]
}

/// A value as the recipe shows it: text without quotes, floats as the tables write them, lists
/// joined by commas.
fn field_text(field: &Field) -> String {
    match field {
        Field::Text(text) => text.clone(),
        Field::Float(v) => format!("{v:?}"),
        Field::List(items) => items.iter().map(field_text).collect::<Vec<_>>().join(", "),
        other => other.shown(),
    }
}

/// Every data set's size of each split and its true mean log density where known.
fn datasets_section(folder: &Folder) -> String {
    let mut out = String::from(
        "<section id=\"datasets\">\n<h2>Data sets</h2>\n<table class=\"sortable\">\n<thead><tr>\
         <th>data set</th><th>n train</th><th>n valid</th><th>n test</th><th>true_ll</th><th>baseline_ll</th></tr></thead>\n<tbody>\n",
    );
    for data in &folder.datasets {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}{}</tr>",
            escape(&data.name),
            data.train.len(),
            data.valid.len(),
            data.test.len(),
            number_cell(data.true_ll),
            number_cell(data.baseline_ll())
        );
    }
    out.push_str(
        "</tbody>\n</table>\n<p class=\"note\">true_ll: the mean log density of the test points \
         under the distribution that drew them (nats per point), where it is known. baseline_ll: the \
         mean log density of the test points under one Gaussian with full covariance fitted to the \
         training points: a fit whose test_ll is not above it does no better than one blob.</p>\n</section>\n",
    );
    out
}

/// A table cell holding `value` to 4 decimals, its full value in `data-v` for sorting; `-` when
/// there is none.
fn number_cell(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("<td class=\"num\" data-v=\"{v:?}\">{v:.4}</td>"),
        _ => "<td class=\"num\">-</td>".to_string(),
    }
}

/// A cell holding a 95% interval, sorted by its lower end; `-` when there is none (one seed,
/// one pair).
fn interval_cell(ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((low, high)) => {
            format!("<td class=\"num\" data-v=\"{low:?}\">[{low:.4}, {high:.4}]</td>")
        }
        None => "<td class=\"num\">-</td>".to_string(),
    }
}

/// The value of parameter `key` of a run, as the tables write it.
fn param_text(spec: &RunSpec, key: &str) -> String {
    spec.train.get(key).map_or(String::new(), |v| v.to_string())
}

/// One cell per key: a run's or a configuration's swept values.
fn key_cells(spec: &RunSpec, keys: &[&str]) -> String {
    keys.iter()
        .map(|key| format!("<td>{}</td>", escape(&param_text(spec, key))))
        .collect()
}

/// A header cell per key.
fn key_headers(keys: &[&str]) -> String {
    keys.iter()
        .map(|key| format!("<th>{}</th>", escape(key)))
        .collect()
}

/// A run named by its swept values (and its data set, when there are several), its id beside.
fn run_label(folder: &Folder, spec: &RunSpec) -> String {
    let keys: Vec<&str> = folder.experiment.grid.iter().map(|a| a.key).collect();
    // Nothing swept: the data set is all that tells the runs apart (describe would list every key).
    let name = if keys.is_empty() {
        folder.experiment.data.sources[spec.dataset].label.clone()
    } else {
        describe(&folder.experiment, spec, &keys)
    };
    format!("{} <code>{}</code>", escape(&name), escape(&spec.run_id))
}

/// `grbm-sweep verify DIR --run ID ...`, DIR as given on the command line.
fn verify_command(dir: &Path, run_ids: &[&str]) -> String {
    let mut command = format!(
        "grbm-sweep verify {}",
        shell_quote(&dir.display().to_string())
    );
    for id in run_ids {
        let _ = write!(command, " --run {}", shell_quote(id));
    }
    command
}

/// The `best` section: per data set, a heading and the table that `table` makes of its best
/// (how many it ranks, and the table), or a note when nothing of it finished. `what` is what is
/// ranked and by what.
fn best_section(
    folder: &Folder,
    what: &str,
    note: &str,
    top: usize,
    table: impl Fn(usize, &Dataset) -> (usize, String),
) -> String {
    let mut out =
        format!("<section id=\"best\">\n<h2>Best {what}</h2>\n<p class=\"note\">{note}</p>\n");
    for (index, data) in folder.datasets.iter().enumerate() {
        let (count, rows) = table(index, data);
        let _ = writeln!(
            out,
            "<h3>{}: best {} of {count} {what}</h3>",
            escape(&data.name),
            top.min(count)
        );
        if count == 0 {
            out.push_str("<p class=\"note\">Nothing of this data set has finished.</p>\n");
            continue;
        }
        out.push_str(&rows);
    }
    out.push_str("</section>\n");
    out
}

/// Per data set, the `top` best configurations by mean `valid_ll` over their seeds, with the
/// mean `test_ll` and its interval, and the command that recomputes their runs.
fn best_configs_section(folder: &Folder, configs: &[Config<'_>], dir: &Path, top: usize) -> String {
    let keys = config_keys(&folder.experiment);
    let note = format!(
        "A configuration is the runs that differ only in their seed. Configurations are ranked by \
         their mean validation log-likelihood over the seeds trained to their end, those whose \
         every seed finished first (ties by config_id); test_ll then measures the chosen \
         configuration without flattering it. gap = true_ll - mean test_ll, in nats per point. \
         {INTERVAL_NOTE} Single runs ranked by valid_ll: <code>grbm-sweep report DIR --by-run</code>."
    );
    best_section(
        folder,
        "configurations by mean valid_ll",
        &note,
        top,
        |index, _| {
            let ranked = best_configs(configs, index);
            let mut table = format!(
                "<table class=\"sortable best\">\n<thead><tr><th>rank</th>{}<th>config_id</th>\
             <th>seeds</th><th>mean valid_ll</th><th>mean test_ll</th><th>95% interval</th>\
             <th>gap</th><th>recompute</th></tr></thead>\n<tbody>\n",
                key_headers(&keys)
            );
            for c in ranked.iter().take(top) {
                table.push_str(&best_config_row(dir, c, &keys));
            }
            table.push_str("</tbody>\n</table>\n");
            (ranked.len(), table)
        },
    )
}

/// One row of a table of best configurations; the command recomputes its finished seeds.
fn best_config_row(dir: &Path, c: &Config<'_>, keys: &[&str]) -> String {
    let finished: Vec<&str> = c
        .runs
        .iter()
        .filter(|r| r.selectable())
        .map(|r| r.spec.run_id.as_str())
        .collect();
    let test = c.test_ll;
    format!(
        "<tr id=\"config-{id}\"><td class=\"num\">{}</td>{}<td data-text><code>{id}</code></td>\
         <td class=\"num\" data-v=\"{}\">{}/{}</td>{}{}{}{}<td data-text><code>{}</code></td></tr>\n",
        c.rank.unwrap_or(0),
        key_cells(c.spec(), keys),
        c.n_seeds(),
        c.n_seeds(),
        c.n_runs,
        number_cell(c.valid_ll.map(|e| e.mean)),
        number_cell(test.map(|e| e.mean)),
        interval_cell(test.and_then(|e| e.ci)),
        number_cell(c.gap_mean),
        escape(&verify_command(dir, &finished)),
        id = escape(c.config_id),
    )
}

/// Per data set, the `top` best single runs by `valid_ll` with their scores, swept parameters
/// and the command that recomputes each. `replicated`: configurations have several seeds, and
/// single runs are ranked because `--by-run` asked for it.
fn best_runs_section(folder: &Folder, dir: &Path, top: usize, replicated: bool) -> String {
    let keys: Vec<&str> = folder.experiment.grid.iter().map(|a| a.key).collect();
    let why = if replicated {
        " Single runs, as <code>--by-run</code> asks; without it the report ranks configurations \
         by their mean over the seeds."
    } else {
        ""
    };
    let note = format!(
        "Runs are chosen by their validation log-likelihood (ties by run id), among the runs \
         trained to their end; test_ll then measures the chosen run without flattering it. gap = \
         true_ll - test_ll, in nats per point.{why}"
    );
    best_section(folder, "runs by valid_ll", &note, top, |index, data| {
        let runs = best_runs(&folder.records, index);
        let mut table = format!(
            "<table class=\"sortable best\">\n<thead><tr><th>rank</th>{}<th>run_id</th>\
             <th>valid_ll</th><th>test_ll</th><th>gap</th><th>recompute</th></tr></thead>\n<tbody>\n",
            key_headers(&keys)
        );
        for (rank, r) in runs.iter().take(top).enumerate() {
            table.push_str(&best_run_row(dir, rank + 1, r, data.true_ll, &keys));
        }
        table.push_str("</tbody>\n</table>\n");
        (runs.len(), table)
    })
}

/// One row of a table of best runs.
fn best_run_row(
    dir: &Path,
    rank: usize,
    r: &RunRecord,
    true_ll: Option<f64>,
    keys: &[&str],
) -> String {
    let test_ll = r.test_ll();
    let gap = true_ll.zip(test_ll).map(|(t, x)| t - x);
    format!(
        "<tr id=\"run-{id}\"><td class=\"num\">{rank}</td>{}<td data-text><code>{id}</code></td>\
         {}{}{}<td data-text><code>{}</code></td></tr>\n",
        key_cells(&r.spec, keys),
        number_cell(r.valid_ll()),
        number_cell(test_ll),
        number_cell(gap),
        escape(&verify_command(dir, &[&r.spec.run_id])),
        id = escape(&r.spec.run_id)
    )
}

/// Every configuration of every data set with the numbers of `configs.parquet`, by data set
/// and rank (configurations without a finished seed last).
/// The most configurations of a data set the page lists: a page of a million runs' every
/// configuration would be hundreds of megabytes, more than a browser shows or a reader reads.
pub const MAX_CONFIG_ROWS: usize = 1000;

fn configs_section(folder: &Folder, configs: &[Config<'_>]) -> String {
    let keys = config_keys(&folder.experiment);
    let seeds = if replicated(configs) {
        "The statistics are over the seeds trained to their end (n_seeds of n_runs): the mean, the \
         sample standard deviation sd of test_ll, its standard error se = sd / sqrt(n_seeds) and \
         its 95% interval; rank as in the best configurations."
    } else {
        "Each configuration runs on one seed: there is no spread to measure, so sd, se and the \
         interval are missing."
    };
    let mut rows: Vec<&Config<'_>> = configs.iter().collect();
    rows.sort_by_key(|c| (c.dataset, c.rank.is_none(), c.rank));
    let mut shown = vec![0usize; folder.datasets.len()];
    rows.retain(|c| {
        shown[c.dataset] += 1;
        shown[c.dataset] <= MAX_CONFIG_ROWS
    });
    let mut out = format!(
        "<section id=\"configs\">\n<h2>Every configuration</h2>\n<p class=\"note\">One row per \
         configuration (the runs that differ only in their seed) of each data set: the numbers \
         of <code>configs.parquet</code>. {seeds} {INTERVAL_NOTE}</p>\n"
    );
    for (dataset, &n) in shown.iter().enumerate() {
        if n > MAX_CONFIG_ROWS {
            let _ = writeln!(
                out,
                "<p class=\"note\">{}: the {MAX_CONFIG_ROWS} best of {n} configurations, by \
                 rank; <code>configs.parquet</code> has every one.</p>",
                escape(&folder.datasets[dataset].name)
            );
        }
    }
    let _ = write!(
        out,
        "<table class=\"sortable configs\">\n<thead><tr><th>data set</th>{}<th>config_id</th>\
         <th>n_runs</th><th>n_seeds</th><th>valid_ll_mean</th><th>test_ll_mean</th><th>test_ll_sd</th>\
         <th>test_ll_se</th><th>test_ll_ci_low</th><th>test_ll_ci_high</th><th>gap_mean</th>\
         <th>rank</th></tr></thead>\n<tbody>\n",
        key_headers(&keys)
    );
    for c in rows {
        let test = c.test_ll;
        let ci = test.and_then(|e| e.ci);
        let _ = writeln!(
            out,
            "<tr><td>{}</td>{}<td data-text><code>{}</code></td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td>{}{}{}{}{}{}{}{}</tr>",
            escape(&folder.datasets[c.dataset].name),
            key_cells(c.spec(), &keys),
            escape(c.config_id),
            c.n_runs,
            c.n_seeds(),
            number_cell(c.valid_ll.map(|e| e.mean)),
            number_cell(test.map(|e| e.mean)),
            number_cell(test.and_then(|e| e.sd)),
            number_cell(test.and_then(|e| e.se)),
            number_cell(ci.map(|ci| ci.0)),
            number_cell(ci.map(|ci| ci.1)),
            number_cell(c.gap_mean),
            c.rank
                .map_or("<td class=\"num\">-</td>".to_string(), |r| format!(
                    "<td class=\"num\">{r}</td>"
                )),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    out
}

/// For each swept key but the seed whose values are a list of two or more, per data set: every
/// value against the best one by paired differences of `test_ll` (`configs::compare`, as
/// `grbm-sweep compare DIR --by AXIS` prints them).
fn comparisons_section(folder: &Folder) -> String {
    let exp = &folder.experiment;
    let mut out = String::from("<section id=\"compare\">\n<h2>Comparisons</h2>\n");
    if exp.search.draws() {
        out.push_str(
            "<p class=\"note\">The configurations are drawn at random: two of them rarely agree on \
             every key but one, so runs rarely pair up and no comparison is shown here. \
             <code>grbm-sweep compare DIR --by AXIS</code> computes one anyway.</p>\n</section>\n",
        );
        return out;
    }
    let keys = config_keys(exp);
    let axes: Vec<&str> = exp
        .grid
        .iter()
        .filter(|a| keys.contains(&a.key) && a.values.list().is_some_and(|v| v.len() > 1))
        .map(|a| a.key)
        .collect();
    if axes.is_empty() {
        out.push_str(
            "<p class=\"note\">No axis but the seed takes two values or more: nothing to \
             compare.</p>\n</section>\n",
        );
        return out;
    }
    out.push_str(
        "<p class=\"note\">Each value of an axis against its best value by mean valid_ll: the \
         difference is the mean over pairs of test_ll at the value minus test_ll at the best value, \
         a pair being two runs trained to their end that agree on every other key, seed included, \
         so that the seeds' luck cancels; a run without a finished partner at the best value \
         is left out (unpaired). The 95% interval is the pairs' Student-t interval; each holds on its own, so \
         with many values some miss by chance. Nats per point.</p>\n",
    );
    if exp.search.strategy == Strategy::Halving {
        out.push_str(
            "<p class=\"note\">A halving search trains only its promoted configurations to the \
             end: the values it pruned everywhere take no part.</p>\n",
        );
    }
    for axis in axes {
        for (index, data) in folder.datasets.iter().enumerate() {
            let rows = compare(&folder.records, index, axis);
            if !rows.is_empty() {
                out.push_str(&comparison_table(axis, data, &rows));
            }
        }
    }
    out.push_str("</section>\n");
    out
}

/// The comparison of the values of `axis` on one data set; the best value's row in bold.
fn comparison_table(axis: &str, data: &Dataset, rows: &[Comparison]) -> String {
    let best = rows.iter().find(|r| r.best).map(|r| r.value.to_string());
    let mut out = format!(
        "<h3>{axis} on {}: against {axis}={}</h3>\n<table class=\"sortable compare\">\n<thead><tr>\
         <th>{axis}</th><th>runs</th><th>mean valid_ll</th><th>mean test_ll</th><th>difference</th>\
         <th>95% interval</th><th>pairs</th><th>unpaired</th></tr></thead>\n<tbody>\n",
        escape(&data.name),
        escape(&best.unwrap_or_default()),
        axis = escape(axis)
    );
    for r in rows {
        // The best value's difference with itself is 0: it sorts among the others.
        let (class, difference, interval, pairs) = match (&r.difference, r.best) {
            (_, true) => (
                " class=\"best-value\"",
                "<td class=\"num\" data-v=\"0\">best</td>".to_string(),
                "<td class=\"num\"></td>".to_string(),
                "<td class=\"num\"></td>".to_string(),
            ),
            (None, false) => (
                "",
                "<td class=\"num\">-</td>".to_string(),
                "<td class=\"num\">no pair</td>".to_string(),
                "<td class=\"num\">0</td>".to_string(),
            ),
            (Some(d), false) => (
                "",
                number_cell(Some(d.mean)),
                interval_cell(d.ci),
                format!("<td class=\"num\">{}</td>", d.n),
            ),
        };
        let value = escape(&r.value.to_string());
        let _ = writeln!(
            out,
            "<tr{class}><td data-v=\"{value}\">{value}</td><td class=\"num\">{}</td>{}{}{difference}\
             {interval}{pairs}<td class=\"num\">{}</td></tr>",
            r.n_runs,
            number_cell(Some(r.valid_ll_mean)),
            number_cell(Some(r.test_ll_mean)),
            r.unpaired
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// The run whose density each data set's pictures show, with why: the median seed of the best
/// configuration (a typical run of it, not its luckiest), or the best run.
fn pictured_runs<'c>(
    folder: &'c Folder,
    configs: &'c [Config<'c>],
    by_config: bool,
) -> Vec<(&'c RunRecord, &'static str)> {
    (0..folder.datasets.len())
        .filter_map(|d| {
            if by_config {
                let best: &Config<'_> = best_configs(configs, d).first()?;
                let run = best.representative()?;
                Some((run, "the median seed by valid_ll of the best configuration"))
            } else {
                let best = *best_runs(&folder.records, d).first()?;
                Some((best, "the best run by valid_ll"))
            }
        })
        .collect()
}

/// The pictures of `plot`, drawn as inline SVG: the density of each data set's `pictured` run
/// beside the truth, the learning curves (the `top` best in colour), the grid heat maps, `best`,
/// a halving search's rungs and, with AIS on, AIS's error by budget.
fn pictures_section(
    folder: &Folder,
    dir: &Path,
    top: usize,
    ranked: Ranked,
    pictured: &[(&RunRecord, &str)],
    configs: &[Config<'_>],
) -> Result<String, ReportError> {
    let mut out = String::from("<section id=\"pictures\">\n<h2>Pictures</h2>\n");
    // Densities of one run of each data set only: each is a few megabytes of SVG.
    let opts = PlotOptions {
        top,
        ranked,
        runs: pictured
            .iter()
            .map(|(r, _)| r.spec.run_id.clone())
            .collect(),
        svg: false,
        // The page shows both kinds of samples: the exact ones, and the chains' beside them.
        chains: true,
        out: None,
    };
    let pictures = match plot::inline_pictures(folder, dir, &opts, configs) {
        Ok(pictures) => pictures,
        Err(PlotError::NoResults { .. }) => {
            out.push_str(
                "<p class=\"note\">No run has finished yet: nothing to draw.</p>\n</section>\n",
            );
            return Ok(out);
        }
        Err(e) => return Err(e.into()),
    };
    for (name, picture) in pictures {
        let id = escape(&name);
        let element = match picture {
            Inline::Svg(svg) => inline_svg(&svg),
            Inline::Png(png) => format!(
                "<img alt=\"{id}\" src=\"data:image/png;base64,{}\">",
                base64(&png)
            ),
        };
        let density = pictured
            .iter()
            .find(|(r, _)| name == format!("density-{}", r.spec.run_id));
        let caption = match density {
            Some((r, why)) => format!("density of {}, {why}", run_label(folder, &r.spec)),
            None => format!("{id} (as <code>grbm-sweep plot</code> draws it)"),
        };
        let _ = writeln!(
            out,
            "<figure id=\"picture-{id}\">\n{element}\n<figcaption>{caption}</figcaption>\n</figure>",
        );
    }
    out.push_str("</section>\n");
    Ok(out)
}

/// `bytes` in standard base64 (RFC 4648, with padding), for a data URI.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An SVG document as an element of the page: without its XML namespace declaration, which
/// HTML does not need and which would put a URL into the file.
fn inline_svg(svg: &str) -> String {
    svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replace("xmlns=\"http://www.w3.org/2000/svg\"", "")
}

/// Counts of the runs that did not end well or have no result yet, each run named by its swept
/// values with its id.
fn missing_section(folder: &Folder, dir: &Path) -> String {
    let mut out = String::from(
        "<section id=\"missing\">\n<h2>What is missing</h2>\n<table>\n<thead><tr><th>runs</th><th>count</th><th>which</th></tr></thead>\n<tbody>\n",
    );
    let row = |out: &mut String, what: &str, specs: &[&RunSpec]| {
        let labels: Vec<String> = specs.iter().map(|s| run_label(folder, s)).collect();
        let _ = writeln!(
            out,
            "<tr><td>{what}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            specs.len(),
            labels.join("<br>")
        );
    };
    for (status, what) in [
        (Status::Failed, "failed"),
        (Status::Diverged, "diverged"),
        (
            Status::Pruned,
            "pruned (stopped at a rung of the halving search)",
        ),
    ] {
        let specs: Vec<&RunSpec> = folder
            .records
            .iter()
            .filter(|r| r.status == status)
            .map(|r| &*r.spec)
            .collect();
        row(&mut out, what, &specs);
    }
    // One hash lookup per run: comparing every run id with every record id made a report of
    // 100 000 runs take a minute.
    let recorded: HashSet<&str> = folder
        .records
        .iter()
        .map(|r| r.spec.run_id.as_str())
        .collect();
    let without: Vec<&RunSpec> = folder
        .runs
        .iter()
        .filter(|spec| !recorded.contains(spec.run_id.as_str()))
        .map(|spec| &**spec)
        .collect();
    row(&mut out, "without a result", &without);
    out.push_str("</tbody>\n</table>\n");
    out.push_str(&missing_notes(folder, dir, without.len()));
    out.push_str("</section>\n");
    out
}

/// Why runs may lack results, and the errors of failed and diverged runs.
fn missing_notes(folder: &Folder, dir: &Path, without: usize) -> String {
    let mut out = String::new();
    if without > 0 {
        let why = if folder.shards > 1 && !dir.join("runs.parquet").exists() {
            "the shards are not all done, or not merged yet (grbm-sweep merge DIR)"
        } else if folder.next_rung.is_some() {
            "the halving search has rungs still to train"
        } else {
            "the sweep is still running, was interrupted, or some shards have not run"
        };
        let _ = writeln!(
            out,
            "<p class=\"note\">{without} runs have no result: {}.</p>",
            escape(why)
        );
    }
    for r in folder.records.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} ({}): {}</p>",
            run_label(folder, &r.spec),
            r.status.name(),
            escape(r.error.as_deref().unwrap_or(""))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_replaces_every_character_html_reads_as_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("lr = 0.01"), "lr = 0.01");
    }

    /// The test vectors of RFC 4648, section 10.
    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (text, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(text.as_bytes()), encoded, "{text}");
        }
    }

    #[test]
    fn inline_pictures_carry_no_namespace_url() {
        let svg = "<svg width=\"4\" height=\"4\" viewBox=\"0 0 4 4\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>";
        assert_eq!(
            inline_svg(svg),
            "<svg width=\"4\" height=\"4\" viewBox=\"0 0 4 4\">\n</svg>"
        );
    }

    #[test]
    fn verify_commands_quote_a_folder_a_shell_would_split_and_name_every_run() {
        assert_eq!(
            verify_command(Path::new("my results/sweep"), &["0b3222b8597a9b9e"]),
            "grbm-sweep verify 'my results/sweep' --run 0b3222b8597a9b9e"
        );
        assert_eq!(
            verify_command(Path::new("out"), &["0b3222b8597a9b9e", "70347a5f0a978689"]),
            "grbm-sweep verify out --run 0b3222b8597a9b9e --run 70347a5f0a978689"
        );
    }

    /// Text without its quotes, floats as the tables write them (1.0, not 1), lists by commas.
    #[test]
    fn recipe_values_read_as_the_tables_write_them() {
        assert_eq!(field_text(&Field::text("gmm_iso")), "gmm_iso");
        assert_eq!(field_text(&Field::Float(1.0)), "1.0");
        assert_eq!(
            field_text(&Field::List(vec![Field::text("x"), Field::text("y")])),
            "x, y"
        );
        assert_eq!(field_text(&Field::Unset), "unset");
    }
}
