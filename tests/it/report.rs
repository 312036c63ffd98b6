//! `grbm-sweep report`: the page names every data set and the best configuration by mean
//! `valid_ll` (or run, with `--by-run`), shows the whole recipe with its defaults, the numbers of
//! `configs.parquet` and the paired comparisons of each grid axis, holds everything inline (no
//! URL, no external script, style or picture), is the same for a sharded and merged sweep as for
//! a local one, and the same when written twice; and, when asked for with
//! `GRBM_SWEEP_BROWSER=1`, headless Chromium runs its script without errors and without any
//! network request.

use std::path::Path;

use crate::common::*;

/// A small sweep over two data sets, two hidden sizes and two seeds.
const EXPERIMENT: &str = "name = \"rep\"\noutput = \"out\"\n\n[data]\nsource = [\"gmm_iso\", \"two_moons\"]\n\
    n_train = 300\nn_test = 150\nn_valid = 150\nseed = 2\n\n[train]\nhidden = 3\nepochs = 3\n\
    batch_size = 50\nk = 2\n\n[eval]\nevery = 1\n\n[grid]\nhidden = [2, 4]\nseed = [0, 1]\n";

/// The page of the report of `dir/out`, written by `grbm-sweep report out` run in `dir`.
fn report_of(dir: &Path) -> String {
    let out = run(dir, &["report", "out"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::read_to_string(dir.join("out/report.html")).unwrap()
}

/// The page without its provenance section, the one part that depends on how and when the
/// tables were written.
fn without_provenance(page: &str) -> String {
    let start = page
        .find("<section id=\"provenance\">")
        .expect("a provenance section");
    let end = start + page[start..].find("</section>").expect("closed") + "</section>".len();
    format!("{}{}", &page[..start], &page[end..])
}

/// A local sweep of [`EXPERIMENT`] in a new folder, and its report.
fn local_sweep() -> (TempDir, String) {
    let dir = tempdir();
    write(dir.path(), "e.toml", EXPERIMENT);
    let out = run(dir.path(), &["e.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = report_of(dir.path());
    (dir, page)
}

/// The part of `page` from `<section id="ID">` to its end.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = start + page[start..].find("</section>").expect("closed");
    &page[start..end]
}

/// The numbers of a table row, in order: the `data-v` of its cells.
fn row_numbers(row: &str) -> Vec<f64> {
    row.split("data-v=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The row of `table` that holds `needle`.
fn row_with<'a>(table: &'a str, needle: &str) -> &'a str {
    let at = table
        .find(needle)
        .unwrap_or_else(|| panic!("no row with {needle}"));
    let start = table[..at].rfind("<tr").unwrap();
    let end = at + table[at..].find("</tr>").unwrap();
    &table[start..end]
}

/// The first row of the table under `heading`, which must be row `id`, ranked 1.
fn first_row<'a>(page: &'a str, heading: &str, id: &str) -> &'a str {
    let at = page.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    let body = &page[at..][page[at..].find("<tbody>\n").unwrap() + "<tbody>\n".len()..];
    let row = &body[..body.find("</tr>").unwrap()];
    assert!(
        row.starts_with(&format!("<tr id=\"{id}\"><td class=\"num\">1</td>")),
        "the first row under {heading} is not {id}: {row}"
    );
    row
}

/// The best configuration of each data set is the first row of its table, with the command that
/// recomputes its seeds, and the pictures draw its median seed.
#[test]
fn report_names_every_data_set_and_the_best_configuration_by_mean_valid_ll() {
    let (dir, page) = local_sweep();
    let configs = read(&dir.path().join("out/configs.parquet"));
    let runs = read(&dir.path().join("out/runs.parquet"));
    let (config_ids, rank) = (strings(&configs, "config_id"), ints(&configs, "rank"));
    let config_datasets = strings(&configs, "dataset");
    let (run_ids, run_configs) = (strings(&runs, "run_id"), strings(&runs, "config_id"));
    let valid = floats(&runs, "valid_ll");
    for name in ["gmm_iso", "two_moons"] {
        assert!(page.contains(&format!("<td>{name}</td>")), "{name} missing");
        let best = (0..config_ids.len())
            .find(|&i| config_datasets[i] == name && rank[i] == 1)
            .unwrap();
        let id = &config_ids[best];
        let heading = format!("<h3>{name}: best 2 of 2 configurations by mean valid_ll</h3>");
        let first_row = first_row(&page, &heading, &format!("config-{id}"));
        // Its two seeds in grid order; the pictured one is the worse of the two (the median).
        let mut seeds: Vec<usize> = (0..run_ids.len())
            .filter(|&i| run_configs[i] == *id)
            .collect();
        let command = format!(
            "grbm-sweep verify out --run {} --run {}",
            run_ids[seeds[0]], run_ids[seeds[1]]
        );
        assert!(first_row.contains(&command), "{command}");
        seeds.sort_by(|&a, &b| {
            valid[b]
                .total_cmp(&valid[a])
                .then(run_ids[a].cmp(&run_ids[b]))
        });
        let median = &run_ids[seeds[1]];
        assert!(page.contains(&format!("id=\"picture-density-{median}\"")));
    }
    for id in [
        "experiment",
        "recipe",
        "datasets",
        "provenance",
        "best",
        "configs",
        "compare",
        "pictures",
        "missing",
    ] {
        assert!(page.contains(&format!("<section id=\"{id}\">")), "{id}");
        assert!(
            page.contains(&format!("<a href=\"#{id}\">")),
            "{id} not in the contents"
        );
    }
}

/// The recipe shows the keys the folded experiment file leaves out (the bug: sampler, optimizer,
/// lr_schedule appeared nowhere), each with its resolved value, defaults marked as such.
#[test]
fn report_recipe_names_every_train_key_with_its_value_and_marks_defaults() {
    let (_dir, page) = local_sweep();
    let recipe = section(&page, "recipe");
    let default = "<td><span class=\"tag default\">default</span></td>";
    for (key, value, tag) in [
        ("sampler", "noise", default),
        ("optimizer", "sgd", default),
        ("lr_schedule", "cosine", default),
        ("k", "2", "<td></td>"),
        ("epochs", "3", "<td></td>"),
        (
            "hidden",
            "2, 4",
            "<td><span class=\"tag swept\">swept</span></td>",
        ),
        (
            "seed",
            "0, 1",
            "<td><span class=\"tag swept\">swept</span></td>",
        ),
    ] {
        let row = format!(">{key}</th><td>{value}</td>{tag}</tr>");
        assert!(recipe.contains(&row), "no row {row}");
    }
    for key in grbm_sweep::train::params::TRAIN_KEYS {
        assert!(recipe.contains(&format!(">{key}</th>")), "{key} missing");
    }
    // [data] per data set: n_valid written, the file keys of a data file left out.
    assert!(recipe.contains("<th>n_valid</th><td>150</td><td>150</td><td></td></tr>"));
    assert!(
        !recipe.contains("test_fraction"),
        "a generator has no test_fraction"
    );
    assert!(recipe.contains(&format!("<th>thin</th><td>10</td>{default}")));
    assert!(recipe.contains(&format!("<th>strategy</th><td>grid</td>{default}")));
}

/// The table of every configuration carries the numbers of configs.parquet, to the last bit.
#[test]
fn report_config_table_equals_configs_parquet() {
    let (dir, page) = local_sweep();
    let table = section(&page, "configs");
    let configs = read(&dir.path().join("out/configs.parquet"));
    let ids = strings(&configs, "config_id");
    assert_eq!(ids.len(), 4);
    let columns = [
        "valid_ll_mean",
        "test_ll_mean",
        "test_ll_sd",
        "test_ll_se",
        "test_ll_ci_low",
        "test_ll_ci_high",
        "gap_mean",
    ]
    .map(|c| floats(&configs, c));
    let (n_seeds, rank) = (ints(&configs, "n_seeds"), ints(&configs, "rank"));
    for (i, id) in ids.iter().enumerate() {
        let row = row_with(table, &format!("<code>{id}</code>"));
        let expected: Vec<f64> = columns.iter().map(|c| c[i]).collect();
        assert_eq!(row_numbers(row), expected, "{id}");
        assert!(
            row.contains(&format!(
                "<td class=\"num\">2</td><td class=\"num\">{}</td>",
                n_seeds[i]
            )),
            "{row}"
        );
        assert!(
            row.ends_with(&format!("<td class=\"num\">{}</td>", rank[i])),
            "{row}"
        );
        // The interval is around the mean: the sweep ran two seeds.
        assert!(
            expected[4] < expected[1] && expected[1] < expected[5],
            "{row}"
        );
    }
}

/// A grid axis gets a table per data set: the best value marked, the other against it by the
/// mean of the differences of test_ll paired by seed; a random search gets none, and says why.
#[test]
fn report_compares_the_values_of_a_grid_axis_by_paired_differences() {
    let (dir, page) = local_sweep();
    let compare = section(&page, "compare");
    let runs = read(&dir.path().join("out/runs.parquet"));
    let (datasets, hidden, seed) = (
        strings(&runs, "dataset"),
        ints(&runs, "hidden"),
        ints(&runs, "seed"),
    );
    let (valid, test) = (floats(&runs, "valid_ll"), floats(&runs, "test_ll"));
    for name in ["gmm_iso", "two_moons"] {
        let of = |h: i64, s: i64| {
            (0..datasets.len())
                .find(|&i| datasets[i] == name && hidden[i] == h && seed[i] == s)
                .unwrap()
        };
        let mean_valid = |h: i64| (valid[of(h, 0)] + valid[of(h, 1)]) / 2.0;
        let (best, other) = if mean_valid(2) >= mean_valid(4) {
            (2, 4)
        } else {
            (4, 2)
        };
        let difference = ((test[of(other, 0)] - test[of(best, 0)])
            + (test[of(other, 1)] - test[of(best, 1)]))
            / 2.0;
        let heading = format!("<h3>hidden on {name}: against hidden={best}</h3>");
        let table = &compare[compare
            .find(&heading)
            .unwrap_or_else(|| panic!("{heading}"))..];
        let table = &table[..table.find("</table>").unwrap()];
        assert!(
            row_with(table, &format!("<td data-v=\"{best}\">"))
                .starts_with("<tr class=\"best-value\">"),
            "the best value is not marked"
        );
        let row = row_with(table, &format!("<td data-v=\"{other}\">"));
        let numbers = row_numbers(row);
        assert!(
            (numbers[3] - difference).abs() < 1e-12,
            "{row}: {difference}"
        );
        assert!(
            row.ends_with("<td class=\"num\">2</td><td class=\"num\">0</td>"),
            "pairs"
        );
    }
    let random = tempdir();
    let experiment = format!("{EXPERIMENT}\n[search]\nstrategy = \"random\"\nsamples = 2\n")
        .replace("hidden = [2, 4]", "hidden = [2, 3, 4]");
    write(random.path(), "e.toml", &experiment);
    let out = run(random.path(), &["e.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = report_of(random.path());
    let compare = section(&page, "compare");
    assert!(compare.contains("drawn at random"), "{compare}");
    assert!(!compare.contains("<table"), "{compare}");
}

/// `--by-run` ranks single runs, as before configurations: the best run by valid_ll first.
#[test]
fn report_by_run_ranks_single_runs() {
    let (dir, _) = local_sweep();
    let out = run(dir.path(), &["report", "out", "--by-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    let runs = read(&dir.path().join("out/runs.parquet"));
    let (ids, datasets) = (strings(&runs, "run_id"), strings(&runs, "dataset"));
    let valid = floats(&runs, "valid_ll");
    let best = section(&page, "best");
    assert!(best.contains("<h2>Best runs by valid_ll</h2>"), "{best}");
    assert!(!best.contains("id=\"config-"), "configurations ranked");
    assert!(page.contains("<a href=\"#best\">best runs</a>"));
    for name in ["gmm_iso", "two_moons"] {
        let top = (0..ids.len())
            .filter(|&i| datasets[i] == name)
            .max_by(|&a, &b| valid[a].total_cmp(&valid[b]).then(ids[b].cmp(&ids[a])))
            .unwrap();
        let id = &ids[top];
        let heading = format!("<h3>{name}: best 4 of 4 runs by valid_ll</h3>");
        first_row(best, &heading, &format!("run-{id}"));
        assert!(best.contains(&format!("grbm-sweep verify out --run {id}</code>")));
        assert!(page.contains(&format!("id=\"picture-density-{id}\"")));
    }
}

#[test]
fn report_is_self_contained() {
    let (_dir, page) = local_sweep();
    let lower = page.to_lowercase();
    for forbidden in [
        "http://",
        "https://",
        "<script src",
        "<link",
        "url(",
        "@import",
        "<iframe",
    ] {
        assert!(
            !lower.contains(forbidden),
            "the report contains {forbidden}"
        );
    }
    // Pictures are inline: SVG elements, or PNG data URIs where the SVG would be too large.
    for (at, _) in lower.match_indices("src=") {
        assert!(
            lower[at..].starts_with("src=\"data:image/png;base64,"),
            "a source that is not a data URI: {}",
            &page[at..(at + 60).min(page.len())]
        );
    }
    assert!(page.contains("<svg"), "no inline pictures");
    assert!(page.contains("<script>"), "no inline script");
    assert!(
        page.contains("name = &quot;rep&quot;"),
        "the experiment file, escaped"
    );
}

#[test]
fn sharded_and_merged_report_equals_the_local_one_and_rewrites_the_same() {
    let (_local, page) = local_sweep();
    let dir = tempdir();
    write(dir.path(), "e.toml", EXPERIMENT);
    for shard in ["0/2", "1/2"] {
        let out = run(dir.path(), &["e.toml", "--quiet", "--shard", shard]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let merged = run(dir.path(), &["merge", "out"]);
    assert!(merged.status.success(), "{}", stderr(&merged));
    let sharded = report_of(dir.path());
    assert!(
        without_provenance(&sharded) == without_provenance(&page),
        "the sharded sweep's report differs from the local one"
    );
    assert_eq!(report_of(dir.path()), sharded, "a second report differs");
}

#[test]
fn report_of_an_unmerged_sharded_sweep_lists_the_runs_without_results() {
    let dir = tempdir();
    write(dir.path(), "e.toml", EXPERIMENT);
    let out = run(dir.path(), &["e.toml", "--quiet", "--shard", "0/2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = report_of(dir.path());
    let missing = &page[page.find("<section id=\"missing\">").unwrap()..];
    assert!(
        missing.contains("without a result</td><td class=\"num\">4</td>"),
        "{missing}"
    );
    assert!(missing.contains("not merged yet"), "{missing}");
    // Each run named by its swept values, its id beside (the plan's lines: index, id, values).
    let plan = run(dir.path(), &["plan", "e.toml"]);
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    let named = plan
        .lines()
        .filter_map(|line| {
            // The values end where the run's estimated cost, `  (~...)`, starts.
            let line = line.split("  (~").next()?;
            let mut words = line.split_whitespace();
            let (_index, id) = (words.next()?, words.next()?);
            let values = words.collect::<Vec<_>>().join(" ");
            Some(format!("{values} <code>{id}</code>"))
        })
        .filter(|label| missing.contains(label.as_str()))
        .count();
    assert_eq!(named, 4, "{missing}");
}

/// Chromium's flags for a quiet headless run that reaches nothing on its own (no sandbox: the
/// tests may run as root; no background, component or sync traffic).
const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
const CHROMIUM: &str = "/usr/bin/chromium";

/// Hosts of Chromium's own services (network time, component updates, accounts), which it
/// contacts whatever the page holds and which the flags above do not all silence.
const CHROMIUM_OWN_HOSTS: [&str; 3] = [".google.com", ".googleapis.com", ".gstatic.com"];

/// A stand-in proxy: records the first line of every request it receives and closes the
/// connection at once (so that Chromium gives up instead of waiting).
struct Proxy {
    port: u16,
    thread: std::thread::JoinHandle<Vec<String>>,
}

impl Proxy {
    fn start() -> Self {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let mut line = String::new();
                let _ = BufReader::new(stream).read_line(&mut line);
                if line.trim() == "STOP" {
                    break;
                }
                // Chromium may open a connection ahead of need (a preconnect) and send nothing
                // on it before the read times out: no request was made on it.
                if !line.trim().is_empty() {
                    requests.push(line.trim().to_string());
                }
            }
            requests
        });
        Proxy { port, thread }
    }

    /// The first lines of the requests received.
    fn stop(self) -> Vec<String> {
        use std::io::Write;
        let mut stop = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stop.write_all(b"STOP\n").unwrap();
        self.thread.join().unwrap()
    }
}

/// The host a proxy request line asks for: `GET http://host/path HTTP/1.1` or
/// `CONNECT host:443 HTTP/1.1`.
fn requested_host(line: &str) -> &str {
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let target = target.split("://").last().unwrap_or("");
    target.split(['/', ':']).next().unwrap_or("")
}

/// Runs Chromium on `page` with `args` and a fresh profile, every request sent to the proxy at
/// `proxy` and every host name but the proxy's unresolvable; returns its output.
fn chromium(page: &Path, proxy: u16, args: &[&str], profile: &Path) -> std::process::Output {
    std::process::Command::new(CHROMIUM)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--proxy-server=127.0.0.1:{proxy}"))
        // The proxy's own address is excluded, or Chromium could not reach it to be caught.
        .arg("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

/// A page that loads the report in a frame, clicks the (mean) `test_ll` header of the first table
/// of best configurations or runs twice and writes into its body whether the rows came out ascending, then
/// descending, and whether the report marked itself ready (`data-sorted="up down 1"`).
const SORT_CHECK: &str = r#"<!DOCTYPE html><html><body><iframe id="f" src="REPORT"></iframe><script>
document.getElementById('f').addEventListener('load', function () {
  var doc = this.contentDocument;
  var table = doc.querySelector('table.sortable.best');
  var index = Array.prototype.findIndex.call(table.tHead.rows[0].cells, function (h) { return /(^| )test_ll$/.test(h.textContent.trim()); });
  var header = table.tHead.rows[0].cells[index];
  function column() { return Array.prototype.map.call(table.tBodies[0].rows, function (r) { return Number(r.cells[index].getAttribute('data-v')); }); }
  function sorted(xs, up) { for (var i = 1; i < xs.length; i++) { if (up ? xs[i - 1] > xs[i] : xs[i - 1] < xs[i]) { return false; } } return true; }
  header.click(); var up = sorted(column(), true);
  header.click(); var down = sorted(column(), false);
  document.body.setAttribute('data-sorted', (up ? 'up' : 'no') + ' ' + (down ? 'down' : 'no') + ' ' + doc.body.getAttribute('data-ready'));
});
</script></body></html>"#;

/// Clicking a header sorts the table: [`SORT_CHECK`] run on `page` beside it (file pages may
/// read each other only with `--allow-file-access-from-files`).
fn assert_headers_sort(page: &Path, port: u16, profile: &Path) {
    let check = page.with_file_name("sort-check.html");
    std::fs::write(&check, SORT_CHECK.replace("REPORT", "report.html")).unwrap();
    let out = chromium(
        &check,
        port,
        &["--allow-file-access-from-files", "--dump-dom"],
        profile,
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<body data-sorted=\"up down 1\">"),
        "clicking the test_ll header did not sort the rows: {}",
        dom.lines().find(|l| l.contains("<body")).unwrap_or("")
    );
    std::fs::remove_file(&check).unwrap();
}

#[test]
fn report_runs_in_headless_chromium_without_errors_or_requests() {
    if !Path::new(CHROMIUM).exists() {
        let how = "apt-get install chromium (or bash tests/setup-e2e.sh)";
        assert!(
            !asked_for("GRBM_SWEEP_BROWSER"),
            "GRBM_SWEEP_BROWSER=1, but {CHROMIUM} is missing; {how}"
        );
        skipped(
            "the browser test",
            &format!("no {CHROMIUM}; to run it: {how}, or set GRBM_SWEEP_BROWSER=1 to require it"),
        );
        return;
    }
    let bless = asked_for("GRBM_SWEEP_BLESS");
    // Blessing draws the gallery's screenshot, of the default experiment's report.
    let (dir, page) = if bless {
        let dir = tempdir();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(
            root.join("experiments/sweep.toml"),
            dir.path().join("sweep.toml"),
        )
        .unwrap();
        let out = run(dir.path(), &["sweep.toml", "--quiet"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = run(dir.path(), &["report", "results/sweep"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let page = dir.path().join("results/sweep/report.html");
        (dir, page)
    } else {
        let (dir, _) = local_sweep();
        let page = dir.path().join("out/report.html");
        (dir, page)
    };
    // Every request the page made would arrive here, through the proxy.
    let proxy = Proxy::start();
    let port = proxy.port;
    let profile = tempdir();
    let dumped = chromium(
        &page,
        port,
        &["--enable-logging=stderr", "--v=0", "--dump-dom"],
        profile.path(),
    );
    let dom = String::from_utf8_lossy(&dumped.stdout);
    let log = stderr(&dumped);
    assert!(dumped.status.success(), "chromium failed: {log}");
    // The script marks the body when it has set up every table without throwing.
    assert!(
        dom.contains("<body data-ready=\"1\">"),
        "the script did not finish: {log}"
    );
    for line in log.lines() {
        let lower = line.to_lowercase();
        assert!(
            !(line.contains("Uncaught") || (lower.contains("console") && lower.contains("error"))),
            "a console error: {line}"
        );
    }
    assert!(
        dom.matches("<table class=\"sortable").count() >= 3,
        "tables missing (data sets, best configurations, every configuration)"
    );
    assert!(
        dom.matches("title=\"click to sort\"").count() >= 10,
        "sortable headers"
    );
    // Line charts are inline SVG; the heat maps, too large as SVG, are PNG data URIs. Either
    // experiment draws at least a density, the curves, a heat map of hidden by lr (the seed is
    // never a heat map's axis) and best.
    let pictures = dom.matches("<svg").count() + dom.matches("<img alt=").count();
    assert!(pictures >= 4, "pictures missing ({pictures})");
    assert_headers_sort(&page, port, profile.path());
    let screenshot = if bless {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/gallery/report.png")
    } else {
        dir.path().join("report.png")
    };
    let shot = chromium(
        &page,
        port,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2000",
        ],
        profile.path(),
    );
    assert!(shot.status.success(), "{}", stderr(&shot));
    assert!(
        std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000),
        "no screenshot"
    );
    let requests = proxy.stop();
    let from_page: Vec<&String> = requests
        .iter()
        .filter(|line| {
            let host = requested_host(line);
            !CHROMIUM_OWN_HOSTS.iter().any(|own| host.ends_with(own))
        })
        .collect();
    assert!(
        from_page.is_empty(),
        "the page made network requests: {from_page:?}"
    );
}

/// The stand-in proxy does catch a page's request: the check above can fail.
#[test]
fn proxy_catches_a_page_that_loads_a_picture() {
    if !Path::new(CHROMIUM).exists() {
        return;
    }
    let dir = tempdir();
    let page = write(
        dir.path(),
        "net.html",
        "<img src=\"http://example.invalid/x.png\">",
    );
    let proxy = Proxy::start();
    let profile = tempdir();
    let out = chromium(&page, proxy.port, &["--dump-dom"], profile.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = proxy.stop();
    assert!(
        requests
            .iter()
            .any(|l| requested_host(l) == "example.invalid"),
        "{requests:?}"
    );
}

/// A halving search's report counts its pruned runs, ranks only the runs trained to the end and
/// draws the rungs.
#[test]
fn report_of_a_halving_search_lists_pruned_runs_and_draws_the_rungs() {
    let dir = tempdir();
    let experiment = EXPERIMENT.replace("two_moons", "gmm_aniso").replace(
        "[grid]\nhidden = [2, 4]\nseed = [0, 1]\n",
        "[grid]\nhidden = [2, 3, 4]\nseed = [0, 1, 2]\n\n[search]\nstrategy = \"halving\"\nmin_epochs = 1\neta = 3\n",
    );
    write(dir.path(), "e.toml", &experiment);
    let out = run(dir.path(), &["e.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = report_of(dir.path());
    let runs = read(&dir.path().join("out/runs.parquet"));
    let (ids, status) = (strings(&runs, "run_id"), strings(&runs, "status"));
    let pruned: Vec<&String> = (0..ids.len())
        .filter(|&i| status[i] == "pruned")
        .map(|i| &ids[i])
        .collect();
    assert!(!pruned.is_empty(), "the search pruned nothing: {status:?}");
    assert!(
        page.contains(&format!(
            "pruned (stopped at a rung of the halving search)</td><td class=\"num\">{}</td>",
            pruned.len()
        )),
        "the pruned count"
    );
    let best = section(&page, "best");
    for id in pruned {
        assert!(
            !best.contains(id.as_str()),
            "pruned run {id} among the best"
        );
    }
    assert!(
        page.contains("id=\"picture-rungs-gmm_iso\""),
        "no rungs picture"
    );
}

/// A grid with an axis of 1010 values (1010 configurations, one seed): the page lists the 1000
/// best configurations by rank and says where the rest are, and the grid is drawn as slices,
/// not as a heat map of 1010 x 2 cells narrower than their text.
#[test]
fn report_of_a_long_axis_lists_the_best_configurations_and_draws_slices() {
    let dir = tempdir();
    write(
        dir.path(),
        "e.toml",
        "name = \"long\"\noutput = \"out\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 40\n\
         n_test = 20\nn_valid = 20\nseed = 1\n\n[train]\nhidden = 1\nepochs = 1\nbatch_size = 40\n\n\
         [eval]\nsamples = 5\ngrid_points = 32\n\n\
         [grid]\nlr = { logspace = [0.0001, 0.1], num = 505 }\nk = [1, 2]\n",
    );
    let out = run(dir.path(), &["e.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = report_of(dir.path());
    let table = section(&page, "configs");
    assert!(
        table.contains("gmm_iso: the 1000 best of 1010 configurations, by rank"),
        "{}",
        &table[..table.find("<table").unwrap()]
    );
    assert_eq!(table.matches("<tr><td>").count(), 1000);
    // Rank 1000 is the last row listed, rank 1001 is not.
    assert!(table.contains("<td class=\"num\">1000</td></tr>"));
    assert!(!table.contains("<td class=\"num\">1001</td></tr>"));
    let pictures = section(&page, "pictures");
    assert!(pictures.contains("slice-lr"), "no slice of lr");
    assert!(pictures.contains("slice-k"), "no slice of k");
    assert!(!pictures.contains("grid-lr-k"), "a heat map of 1010 cells");
}
