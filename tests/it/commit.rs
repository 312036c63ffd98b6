//! One consistent result, through the real binary: a kill at any table write of a `merge`
//! leaves its readers the previous committed set or the next, never a mix, and the next merge
//! completes; `report`, `plot` and `verify` of a folder whose sweep is running; temporary files
//! of killed processes removed by the next holder of the folder; tables of an earlier version,
//! read with a note until `merge` commits them.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;

/// Four tiny runs (one configuration on four seeds) into results folder `output`.
fn four_runs(output: &str) -> String {
    format!(
        "name = \"four\"\noutput = \"{output}\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 400\nn_test = 200\nseed = 2\n\n\
         [train]\nhidden = 2\nepochs = 3\nbatch_size = 50\n\n[eval]\nevery = 1\nsamples = 20\n\n[grid]\nseed = [0, 1, 2, 3]\n"
    )
}

/// Copies folder `from` to `to`, links as links (the plain names and `tables/current`).
fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            copy_folder(&source, &target);
        } else {
            std::fs::copy(&source, &target).unwrap();
        }
    }
}

/// `cmd`, with no core file when it aborts.
fn without_core_dumps(mut cmd: Command) -> Command {
    // SAFETY: setrlimit is async-signal-safe, as a pre_exec hook must be.
    unsafe {
        cmd.pre_exec(|| {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            Ok(())
        });
    }
    cmd
}

/// The runs of the set of tables at `at(name)`, after checking that they are one set: every
/// table with rows per run holds the same runs, `configs.parquet` counts their finished seeds,
/// and every table was written by one command at one time (its provenance equals
/// `provenance.json`'s).
fn one_set(at: impl Fn(&str) -> PathBuf) -> usize {
    let runs = read(&at("runs.parquet"));
    let ids: BTreeSet<String> = strings(&runs, "run_id").into_iter().collect();
    for table in ["curves.parquet", "models.parquet", "samples.parquet"] {
        let other: BTreeSet<String> = strings(&read(&at(table)), "run_id").into_iter().collect();
        assert_eq!(other, ids, "{table} holds other runs than runs.parquet");
    }
    let ok = strings(&runs, "status")
        .iter()
        .filter(|s| *s == "ok")
        .count();
    let seeds: i64 = ints(&read(&at("configs.parquet")), "n_seeds").iter().sum();
    assert_eq!(seeds as usize, ok, "configs.parquet counts other runs");
    let provenance: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(at("provenance.json")).unwrap()).unwrap();
    for table in TABLES {
        let metadata = parquet_metadata(&at(table));
        for key in ["grbm_sweep.command", "grbm_sweep.created"] {
            let value = metadata
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str());
            assert_eq!(value, provenance[key].as_str(), "{table}: {key}");
        }
    }
    ids.len()
}

/// The runs of the committed set of results folder `dir/results`, after checking what each
/// reader finds there: the files `tables.json` names are one set of the runs it says, the plain
/// names lead to one set, `verify` recomputes every run and finds the set's sums intact, and
/// `report` says whether the tables hold every run that has a record (4 here).
fn readers_see_one_set(dir: &Path, results: &str) -> usize {
    let folder = dir.join(results);
    let commit: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("tables.json")).unwrap())
            .unwrap();
    let generation = folder.join(format!("tables/{}", commit["generation"]));
    let committed = one_set(|name| generation.join(name));
    assert_eq!(Some(committed as u64), commit["records"].as_u64());
    let plain = one_set(|name| folder.join(name));
    assert!(
        [2, 4].contains(&plain),
        "{plain} runs under the plain names"
    );

    let verify = run(dir, &["verify", results, "--sample", "4", "--seed", "0"]);
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{stdout}{}", stderr(&verify));
    let not_in_tables = stdout.matches("the tables do not hold it yet").count();
    assert_eq!(
        (stdout.matches(" same").count(), not_in_tables),
        (4, 4 - committed)
    );

    let report = run(dir, &["report", results]);
    assert!(report.status.success(), "{}", stderr(&report));
    let notes = stderr(&report);
    if committed == 4 {
        assert!(!notes.contains("note:"), "{notes}");
    } else {
        let expected = format!(
            "note: the tables hold {committed} runs but the records hold 4: the sweep was stopped \
             before writing its tables, or its shards are not merged; `grbm-sweep merge {results}` \
             writes them\n"
        );
        assert!(notes.contains(&expected), "{notes}");
    }
    committed
}

#[test]
fn a_kill_at_any_table_write_of_a_merge_leaves_the_previous_set_or_the_next_never_a_mix() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "local.toml", &four_runs("local"));
    assert!(run(d, &["local.toml", "--quiet"]).status.success());
    // The previous set: shard 0's two runs, merged; then shard 1 saves the two others.
    write(d, "e.toml", &four_runs("out"));
    let steps: [&[&str]; 3] = [
        &["e.toml", "--quiet", "--shard", "0/2"],
        &["merge", "out", "--partial"],
        &["e.toml", "--quiet", "--shard", "1/2"],
    ];
    for args in steps {
        let out = run(d, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    // The merge of the copy `killN` of that folder, killed just before its Nth table write,
    // until a merge writes all of its tables.
    let mut seen = Vec::new();
    for n in 1.. {
        let copy = format!("kill{n}");
        copy_folder(&d.join("out"), &d.join(&copy));
        let killed = without_core_dumps(command(d, &["merge", &copy]))
            .env("GRBM_SWEEP_FAULT", format!("abort@table:{n}"))
            .output()
            .unwrap();
        if killed.status.success() {
            break;
        }
        assert_eq!(
            killed.status.signal(),
            Some(libc::SIGABRT),
            "{}",
            stderr(&killed)
        );
        seen.push(readers_see_one_set(d, &copy));
        let merged = run(d, &["merge", &copy]);
        assert!(merged.status.success(), "{}", stderr(&merged));
        assert_eq!(readers_see_one_set(d, &copy), 4);
        assert_same_tables(&d.join(&copy), &d.join("local"));
        let generations = std::fs::read_dir(d.join(&copy).join("tables"))
            .unwrap()
            .count();
        assert_eq!(
            generations, 2,
            "the committed generation and `current` only"
        );
        std::fs::remove_dir_all(d.join(&copy)).unwrap();
    }
    // Six tables, sweep.toml and provenance.json, then the commit file (the previous set until
    // it is written), then the switch of the plain names (which a kill leaves on the previous
    // set, whole, while tables.json names the new one).
    assert_eq!(seen, [2, 2, 2, 2, 2, 2, 2, 2, 2, 4]);
}

/// 400 runs of about 20 ms each on one thread: still running when its readers are done.
const SLOW: &str = "name = \"slow\"\noutput = \"out\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 2000\nn_test = 500\nseed = 3\n\n\
    [train]\nepochs = 60\nbatch_size = 50\nk = 5\n\n[eval]\nevery = 20\n\n[grid]\nhidden = [2, 3, 4, 5]\nseed = { range = [0, 100] }\n";

#[test]
fn report_plot_and_verify_of_a_running_sweep_show_what_is_saved_and_say_so() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "slow.toml", SLOW);
    let mut sweep = command(d, &["slow.toml", "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // With stderr a pipe, the sweep prints a line per finished run (kept open until it ends).
    let mut progress = std::io::BufReader::new(sweep.stderr.take().unwrap()).lines();
    for _ in 0..3 {
        progress.next().unwrap().unwrap();
    }
    let report = run(d, &["report", "out"]);
    assert!(report.status.success(), "{}", stderr(&report));
    let notes = stderr(&report);
    let running = format!(
        "note: a sweep is in progress on out (process {} on ",
        sweep.id()
    );
    assert!(notes.contains(&running), "{notes}");
    let saved: usize = notes
        .split(", lock file .lock): ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{notes}"));
    assert!((3..400).contains(&saved), "{notes}");
    assert!(
        notes.contains(
            "note: out has no tables yet: the sweep writes its tables when it ends (shards: \
             `grbm-sweep merge out` once every shard is done)\n"
        ),
        "{notes}"
    );
    let page = std::fs::read_to_string(d.join("out/report.html")).unwrap();
    assert!(
        page.contains("a sweep is in progress on out"),
        "the page says so too"
    );
    let without = format!(
        "without a result</td><td class=\"num\">{}</td>",
        400 - saved
    );
    assert!(
        page.contains(&without),
        "the page shows the {saved} runs saved"
    );

    let plot = run(d, &["plot", "out"]);
    assert!(plot.status.success(), "{}", stderr(&plot));
    let verify = run(d, &["verify", "out", "--sample", "2", "--seed", "1"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert_eq!(
        String::from_utf8_lossy(&verify.stdout)
            .matches(" same\n")
            .count(),
        2
    );
    assert!(
        sweep.try_wait().unwrap().is_none(),
        "the sweep ended too soon"
    );

    sweep.kill().unwrap();
    sweep.wait().unwrap();
    drop(progress);
    let report = run(d, &["report", "out"]);
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(
        stderr(&report).contains(
            "note: out has no tables yet: the sweep was stopped before writing its tables, or its \
             shards are not merged; `grbm-sweep merge out` writes them\n"
        ) && !stderr(&report).contains("in progress"),
        "{}",
        stderr(&report)
    );
}

#[test]
fn temporary_files_of_killed_processes_are_removed_by_the_next_holder_of_the_folder() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "e.toml", &four_runs("out"));
    assert!(run(d, &["e.toml", "--quiet"]).status.success());
    let out = d.join("out");
    let mut child = Command::new("true").spawn().unwrap();
    let ended = child.id();
    child.wait().unwrap();
    // The temporary name a process `pid` of this host gives `path`.
    let of = |path: PathBuf, pid: u32| {
        let own = grbm_sweep::io::temporary_name(&path);
        let name = own.file_name().unwrap().to_str().unwrap();
        path.with_file_name(format!("{}-{pid}", name.rsplit_once('-').unwrap().0))
    };
    let record = out.join("records/0123456789abcdef.json");
    let removed = [
        of(record.clone(), ended),
        of(out.join("rungs/epoch-2/0123456789abcdef.json"), ended),
        of(out.join("manifest.json"), ended),
        // Names only the holder of the folder's main lock writes, from any host or version.
        out.join(".runs.parquet.tmp-elsewhere-5"),
        out.join(".tables.json.tmp-77"),
        // A set that was never committed.
        out.join("tables/9/runs.parquet"),
    ];
    let kept = [
        of(record, std::process::id()),
        // Of another host, whose process may be running there.
        out.join("records/.0123456789abcdef.json.tmp-elsewhere-5"),
        out.join(".report.html.tmp-elsewhere-5"),
    ];
    std::fs::create_dir_all(out.join("tables/9")).unwrap();
    std::fs::create_dir_all(out.join("rungs/epoch-2")).unwrap();
    for path in removed.iter().chain(&kept) {
        std::fs::write(path, "partial").unwrap();
    }
    // A shard shares the folder with shards that may be running: it removes nothing.
    let shard = run(d, &["e.toml", "--quiet", "--shard", "0/2"]);
    assert!(shard.status.success(), "{}", stderr(&shard));
    for path in removed.iter().chain(&kept) {
        assert!(path.exists(), "a shard removed {}", path.display());
    }
    let sweep = run(d, &["e.toml", "--quiet"]);
    assert!(sweep.status.success(), "{}", stderr(&sweep));
    for path in &removed {
        assert!(!path.exists(), "{} is left", path.display());
    }
    assert!(!out.join("tables/9").exists());
    for path in &kept {
        assert!(path.exists(), "{} was removed", path.display());
    }
}

#[test]
fn tables_of_an_earlier_version_are_read_with_a_note_until_merge_commits_them() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "e.toml", &four_runs("out"));
    assert!(run(d, &["e.toml", "--quiet"]).status.success());
    let out = d.join("out");
    // As an earlier version left its folder: the tables as plain files, no commit file.
    for name in TABLES.iter().chain(&["provenance.json"]) {
        let bytes = std::fs::read(out.join(name)).unwrap();
        std::fs::remove_file(out.join(name)).unwrap();
        std::fs::write(out.join(name), bytes).unwrap();
    }
    std::fs::remove_file(out.join("tables.json")).unwrap();
    std::fs::remove_dir_all(out.join("tables")).unwrap();

    let report = run(d, &["report", "out"]);
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(
        stderr(&report).contains(
            "note: the tables in out were written by an earlier version of grbm-sweep, without \
             tables.json, so whether they belong together is not checked; `grbm-sweep merge out` \
             writes them again as one committed set\n"
        ),
        "{}",
        stderr(&report)
    );
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("<th>experiment_sha256</th>"),
        "the provenance is read"
    );
    let verify = run(d, &["verify", "out", "--sample", "4", "--seed", "0"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert_eq!(
        String::from_utf8_lossy(&verify.stdout)
            .matches(" same\n")
            .count(),
        4
    );

    let merge = run(d, &["merge", "out"]);
    assert!(merge.status.success(), "{}", stderr(&merge));
    assert!(out.join("tables.json").exists());
    assert!(std::fs::read_link(out.join("runs.parquet")).is_ok());
    let report = run(d, &["report", "out"]);
    assert!(!stderr(&report).contains("note:"), "{}", stderr(&report));
}
