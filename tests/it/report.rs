//! `grbm-sweep report`: the page names every data set and the best run by `valid_ll`, holds
//! everything inline (no URL, no external script, style or picture), is the same for a sharded
//! and merged sweep as for a local one, and the same when written twice; and, when asked for
//! with `GRBM_SWEEP_BROWSER=1`, headless Chromium runs its script without errors and without
//! any network request.

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

#[test]
fn report_names_every_data_set_and_the_best_run_by_valid_ll() {
    let (dir, page) = local_sweep();
    let runs = read(&dir.path().join("out/runs.parquet"));
    let (ids, datasets) = (strings(&runs, "run_id"), strings(&runs, "dataset"));
    let valid = floats(&runs, "valid_ll");
    for name in ["gmm_iso", "two_moons"] {
        assert!(page.contains(&format!("<td>{name}</td>")), "{name} missing");
        let best = (0..ids.len())
            .filter(|&i| datasets[i] == name)
            .max_by(|&a, &b| valid[a].total_cmp(&valid[b]).then(ids[b].cmp(&ids[a])))
            .unwrap();
        let id = &ids[best];
        let heading = page
            .find(&format!("<h3>{name}: best"))
            .unwrap_or_else(|| panic!("no table of best runs of {name}"));
        let first_row = &page[heading..][page[heading..].find("<tbody>").unwrap()..];
        assert!(
            first_row.starts_with(&format!(
                "<tbody>\n<tr id=\"run-{id}\"><td class=\"num\">1</td>"
            )),
            "the first row of {name} is not {id}: {}",
            &first_row[..200]
        );
        assert!(page.contains(&format!("grbm-sweep verify out --run {id}")));
        assert!(page.contains(&format!("id=\"picture-density-{id}\"")));
    }
    for section in [
        "experiment",
        "datasets",
        "provenance",
        "best",
        "seeds",
        "pictures",
        "missing",
    ] {
        assert!(
            page.contains(&format!("<section id=\"{section}\">")),
            "{section}"
        );
    }
    // Two settings of `hidden` per data set, each over two seeds.
    assert_eq!(
        page.matches("<td class=\"num\">2</td><td class=\"num\" data-v=")
            .count(),
        4
    );
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
        "<img",
        "url(",
        "@import",
        "<iframe",
    ] {
        assert!(
            !lower.contains(forbidden),
            "the report contains {forbidden}"
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
}
