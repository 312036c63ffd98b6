//! `grbm-sweep report`: one self-contained HTML page of a results folder (what was run, the best runs by `valid_ll`, the seed-aggregated settings, the pictures as inline SVG, what is missing), with no reference to anything outside the file.

use super::plot::{self, Inline, PlotError, PlotOptions};
use super::summary::{Ranked, search_line};
use crate::io::{WriteError, write_atomically};
use crate::sweep::folder::Folder;
use crate::sweep::provenance::{KEYS, shell_quote};
use crate::sweep::record::{RunRecord, Status, best_runs};
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
}

/// Styles of the page, inline: the file must render with nothing but itself.
const STYLE: &str = "body{font-family:sans-serif;margin:1.5em auto;max-width:1280px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;background:#f3f3f3;user-select:none}
th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}
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

/// Writes `dir/report.html` (temporary file, then rename) for `folder`, read from `dir`: the
/// `top` best runs of each data set by `valid_ll`. Returns the file's path.
pub fn write_report(
    folder: &Folder,
    dir: &Path,
    top: usize,
    ranked: Ranked,
) -> Result<PathBuf, ReportError> {
    let page = report(folder, dir, top, ranked)?;
    let path = dir.join(REPORT_FILE);
    write_atomically(&path, page.as_bytes())?;
    Ok(path)
}

/// The whole page. `dir` is also the folder the verify commands name, as the user gave it.
pub fn report(
    folder: &Folder,
    dir: &Path,
    top: usize,
    _ranked: Ranked,
) -> Result<String, ReportError> {
    let name = escape(&folder.experiment.name);
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>grbm-sweep report: {name}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n\
         <h1>grbm-sweep report: {name}</h1>\n"
    );
    page.push_str(&contents());
    page.push_str(&experiment_section(folder));
    page.push_str(&datasets_section(folder));
    page.push_str(&provenance_section(dir)?);
    page.push_str(&best_section(folder, dir, top));
    page.push_str(&seeds_section(folder));
    page.push_str(&pictures_section(folder, dir, top)?);
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
fn contents() -> String {
    let links = [
        ("experiment", "what was run"),
        ("datasets", "data sets"),
        ("provenance", "provenance"),
        ("best", "best runs"),
        ("seeds", "over seeds"),
        ("pictures", "pictures"),
        ("missing", "what is missing"),
    ]
    .map(|(id, label)| format!("<a href=\"#{id}\">{label}</a>"));
    format!("<nav>{}</nav>\n", links.join(" | "))
}

/// The sweep's `provenance.json`, in one `<section id="provenance">` of its own: the only part of
/// the page that depends on when and how the tables were written, so that comparisons of
/// reports can cut it out whole.
fn provenance_section(dir: &Path) -> Result<String, ReportError> {
    let path = dir.join("provenance.json");
    let mut out = String::from("<section id=\"provenance\">\n<h2>Provenance</h2>\n");
    let Ok(text) = std::fs::read_to_string(&path) else {
        out.push_str(
            "<p class=\"note\">No provenance.json: the tables are not written yet \
             (a sweep still running, or shards not merged).</p>\n</section>\n",
        );
        return Ok(out);
    };
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

/// Every data set's size of each split and its true mean log density where known.
fn datasets_section(folder: &Folder) -> String {
    let mut out = String::from(
        "<section id=\"datasets\">\n<h2>Data sets</h2>\n<table class=\"sortable\">\n<thead><tr>\
         <th>data set</th><th>n train</th><th>n valid</th><th>n test</th><th>true_ll</th></tr></thead>\n<tbody>\n",
    );
    for data in &folder.datasets {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}</tr>",
            escape(&data.name),
            data.train.len(),
            data.valid.len(),
            data.test.len(),
            number_cell(data.true_ll)
        );
    }
    out.push_str(
        "</tbody>\n</table>\n<p class=\"note\">true_ll: the mean log density of the test points \
         under the distribution that drew them (nats per point), where it is known.</p>\n</section>\n",
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

/// The swept axes' keys, in the experiment's order.
fn swept_keys(folder: &Folder) -> Vec<&'static str> {
    folder.experiment.grid.iter().map(|a| a.key).collect()
}

/// The value of parameter `key` of a run, as the tables write it.
fn param_text(record: &RunRecord, key: &str) -> String {
    record
        .spec
        .train
        .get(key)
        .map_or(String::new(), |v| v.to_string())
}

/// `grbm-sweep verify DIR --run ID`, DIR as given on the command line.
fn verify_command(dir: &Path, run_id: &str) -> String {
    format!(
        "grbm-sweep verify {} --run {}",
        shell_quote(&dir.display().to_string()),
        shell_quote(run_id)
    )
}

/// Per data set, the `top` best runs by `valid_ll` with their scores, swept parameters and the
/// command that recomputes each.
fn best_section(folder: &Folder, dir: &Path, top: usize) -> String {
    let keys = swept_keys(folder);
    let mut out = String::from(
        "<section id=\"best\">\n<h2>Best runs by valid_ll</h2>\n<p class=\"note\">Runs are chosen \
         by their validation log-likelihood (ties by run id), among the runs trained to their end; \
         test_ll then measures the chosen run without flattering it. gap = true_ll - test_ll, in \
         nats per point.</p>\n",
    );
    for (index, data) in folder.datasets.iter().enumerate() {
        let runs = best_runs(&folder.records, index);
        let _ = writeln!(
            out,
            "<h3>{}: best {} of {} by valid_ll</h3>",
            escape(&data.name),
            top.min(runs.len()),
            runs.len()
        );
        if runs.is_empty() {
            out.push_str("<p class=\"note\">No run of this data set has finished.</p>\n");
            continue;
        }
        out.push_str("<table class=\"sortable best\">\n<thead><tr><th>rank</th><th>run_id</th><th>valid_ll</th><th>test_ll</th><th>gap</th>");
        for key in &keys {
            let _ = write!(out, "<th>{}</th>", escape(key));
        }
        out.push_str("<th>recompute</th></tr></thead>\n<tbody>\n");
        for (rank, r) in runs.iter().take(top).enumerate() {
            out.push_str(&best_row(dir, rank + 1, r, data.true_ll, &keys));
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
    out
}

/// One row of a table of best runs.
fn best_row(dir: &Path, rank: usize, r: &RunRecord, true_ll: Option<f64>, keys: &[&str]) -> String {
    let test_ll = r.test_ll();
    let gap = true_ll.zip(test_ll).map(|(t, x)| t - x);
    let mut row = format!(
        "<tr id=\"run-{id}\"><td class=\"num\">{rank}</td><td data-text><code>{id}</code></td>{}{}{}",
        number_cell(r.valid_ll()),
        number_cell(test_ll),
        number_cell(gap),
        id = escape(&r.spec.run_id)
    );
    for key in keys {
        let _ = write!(row, "<td>{}</td>", escape(&param_text(r, key)));
    }
    let _ = writeln!(
        row,
        "<td data-text><code>{}</code></td></tr>",
        escape(&verify_command(dir, &r.spec.run_id))
    );
    row
}

/// One setting of the swept axes other than `seed`, on one data set, over its seeds.
struct SeedGroup {
    dataset: usize,
    /// The values of the swept axes other than `seed`, in their order.
    setting: Vec<String>,
    test_ll: Vec<f64>,
    valid_ll: Vec<f64>,
}

impl SeedGroup {
    fn mean(values: &[f64]) -> f64 {
        values.iter().sum::<f64>() / values.len() as f64
    }

    /// The sample standard deviation; `None` for a single value.
    fn sd(values: &[f64]) -> Option<f64> {
        (values.len() > 1).then(|| {
            let m = Self::mean(values);
            let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
            (ss / (values.len() - 1) as f64).sqrt()
        })
    }
}

/// The selectable runs grouped by data set and setting of the swept axes other than `seed`,
/// highest mean valid_ll first (ties by data set and setting).
fn seed_groups(folder: &Folder, keys: &[&str]) -> Vec<SeedGroup> {
    let mut groups: Vec<SeedGroup> = Vec::new();
    for r in folder.records.iter().filter(|r| r.selectable()) {
        let setting: Vec<String> = keys.iter().map(|k| param_text(r, k)).collect();
        let (Some(test), Some(valid)) = (r.test_ll(), r.valid_ll()) else {
            continue;
        };
        let at = groups
            .iter()
            .position(|g| g.dataset == r.spec.dataset && g.setting == setting);
        let group = match at {
            Some(i) => &mut groups[i],
            None => {
                groups.push(SeedGroup {
                    dataset: r.spec.dataset,
                    setting,
                    test_ll: Vec::new(),
                    valid_ll: Vec::new(),
                });
                groups.last_mut().expect("pushed above")
            }
        };
        group.test_ll.push(test);
        group.valid_ll.push(valid);
    }
    groups.sort_by(|a, b| {
        SeedGroup::mean(&b.valid_ll)
            .total_cmp(&SeedGroup::mean(&a.valid_ll))
            .then_with(|| a.dataset.cmp(&b.dataset))
            .then_with(|| a.setting.cmp(&b.setting))
    });
    groups
}

/// For each setting of the swept axes other than `seed`: the number of seeds, and the mean,
/// standard deviation, minimum and maximum of `test_ll` over them, with the mean `valid_ll`.
fn seeds_section(folder: &Folder) -> String {
    let keys: Vec<&str> = swept_keys(folder)
        .into_iter()
        .filter(|k| *k != "seed")
        .collect();
    let mut out = String::from("<section id=\"seeds\">\n<h2>Settings over their seeds</h2>\n");
    if !swept_keys(folder).contains(&"seed") {
        out.push_str("<p class=\"note\">The grid does not sweep <code>seed</code>: each setting has one run.</p>\n");
    }
    out.push_str(
        "<p class=\"note\">Runs trained to their end only; sorted by mean valid_ll. sd is the \
         sample standard deviation over the seeds.</p>\n<table class=\"sortable seeds\">\n<thead><tr><th>data set</th>",
    );
    for key in &keys {
        let _ = write!(out, "<th>{}</th>", escape(key));
    }
    out.push_str("<th>seeds</th><th>mean valid_ll</th><th>mean test_ll</th><th>sd test_ll</th><th>min test_ll</th><th>max test_ll</th></tr></thead>\n<tbody>\n");
    for g in seed_groups(folder, &keys) {
        let _ = write!(
            out,
            "<tr><td>{}</td>",
            escape(&folder.datasets[g.dataset].name)
        );
        for value in &g.setting {
            let _ = write!(out, "<td>{}</td>", escape(value));
        }
        let min = g.test_ll.iter().copied().fold(f64::INFINITY, f64::min);
        let max = g.test_ll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let _ = writeln!(
            out,
            "<td class=\"num\">{}</td>{}{}{}{}{}</tr>",
            g.test_ll.len(),
            number_cell(Some(SeedGroup::mean(&g.valid_ll))),
            number_cell(Some(SeedGroup::mean(&g.test_ll))),
            number_cell(SeedGroup::sd(&g.test_ll)),
            number_cell(Some(min)),
            number_cell(Some(max))
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    out
}

/// The pictures of `plot`, drawn as inline SVG: the density of each data set's best run beside
/// the truth, the learning curves (the `top` best in colour), the grid heat maps, `best` and a
/// halving search's rungs.
fn pictures_section(folder: &Folder, dir: &Path, top: usize) -> Result<String, ReportError> {
    let mut out = String::from("<section id=\"pictures\">\n<h2>Pictures</h2>\n");
    // Densities of the best run of each data set only: each is a few megabytes of SVG.
    let runs: Vec<String> = (0..folder.datasets.len())
        .filter_map(|d| {
            best_runs(&folder.records, d)
                .first()
                .map(|r| r.spec.run_id.clone())
        })
        .collect();
    let opts = PlotOptions {
        top,
        ranked: Ranked::default(),
        runs,
        svg: false,
    };
    let pictures = match plot::inline_pictures(folder, dir, &opts) {
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
        let _ = writeln!(
            out,
            "<figure id=\"picture-{id}\">\n{element}\n<figcaption>{id} (as <code>grbm-sweep plot</code> draws it)</figcaption>\n</figure>",
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

/// Counts and ids of the runs that did not end well or have no result yet.
fn missing_section(folder: &Folder, dir: &Path) -> String {
    let mut out = String::from(
        "<section id=\"missing\">\n<h2>What is missing</h2>\n<table>\n<thead><tr><th>runs</th><th>count</th><th>run ids</th></tr></thead>\n<tbody>\n",
    );
    let row = |out: &mut String, what: &str, ids: &[String]| {
        let _ = writeln!(
            out,
            "<tr><td>{what}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
            ids.len(),
            escape(&ids.join(" "))
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
        let ids: Vec<String> = folder
            .records
            .iter()
            .filter(|r| r.status == status)
            .map(|r| r.spec.run_id.clone())
            .collect();
        row(&mut out, what, &ids);
    }
    let without: Vec<String> = folder
        .runs
        .iter()
        .filter(|spec| !folder.records.iter().any(|r| r.spec.run_id == spec.run_id))
        .map(|spec| spec.run_id.clone())
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
            "<p class=\"note\"><code>{}</code> ({}): {}</p>",
            escape(&r.spec.run_id),
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

    #[test]
    fn seed_statistics_are_the_mean_and_the_sample_standard_deviation() {
        assert_eq!(SeedGroup::mean(&[1.0, 2.0, 3.0]), 2.0);
        assert_eq!(SeedGroup::sd(&[1.0, 2.0, 3.0]), Some(1.0));
        assert_eq!(SeedGroup::sd(&[5.0]), None);
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
    fn verify_commands_quote_a_folder_a_shell_would_split() {
        assert_eq!(
            verify_command(Path::new("my results/sweep"), "0b3222b8597a9b9e"),
            "grbm-sweep verify 'my results/sweep' --run 0b3222b8597a9b9e"
        );
    }
}
