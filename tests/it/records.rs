//! Run records on disk: damaged records are reported and recomputed, a full disk stops the sweep
//! without marking runs failed, and records are compact. Through the real binary.

use crate::common::*;
use grbm_sweep::sweep::journal::{ENTRY_HEAD, EntryAt, entry, scan};
use std::path::Path;

/// Six runs of a few milliseconds each.
fn six_runs(name: &str) -> String {
    format!(
        "name = \"{name}\"\noutput = \"out\"\n\n[data]\nsource = \"gmm_iso\"\nn_train = 300\nn_test = 100\nseed = 3\n\n\
         [train]\nepochs = 2\nbatch_size = 50\nk = 2\n\n[eval]\nevery = 1\nsamples = 10\n\n[grid]\nhidden = [2, 3, 4]\nseed = [0, 1]\n"
    )
}

/// A folder with the six runs swept, and a reference folder with the same tables.
fn swept(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    write(
        dir,
        "ref.toml",
        &six_runs("ref").replace("\"out\"", "\"ref\""),
    );
    write(dir, "exp.toml", &six_runs("exp"));
    for file in ["ref.toml", "exp.toml"] {
        let out = run(dir, &[file, "--quiet"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    (dir.join("out"), dir.join("ref"))
}

/// The bytes of the entry at `at`: its offset and length in its log.
fn entry_span(at: &EntryAt) -> (usize, usize) {
    let log = std::fs::read(&at.log).unwrap();
    let start = at.offset as usize;
    let len = u32::from_le_bytes(log[start + 4..start + 8].try_into().unwrap()) as usize;
    (start, ENTRY_HEAD + len)
}

/// The run ids of the folder's records, in log order.
fn ids_in_log_order(results: &Path) -> Vec<(String, EntryAt)> {
    let mut ids: Vec<(String, EntryAt)> = scan(results)
        .runs
        .into_iter()
        .map(|(id, indexed)| (id, indexed.at))
        .collect();
    ids.sort_by_key(|(_, at)| at.offset);
    ids
}

/// After `damage` is done to the folder's log, a sweep names the run whose record it spoiled,
/// computes that run again, and ends with the tables of an undamaged sweep.
fn damaged_then_recomputed(damage: impl Fn(&Path, &[(String, EntryAt)]) -> String, what: &str) {
    let dir = tempdir();
    let (results, reference) = swept(dir.path());
    let ids = ids_in_log_order(&results);
    assert_eq!(ids.len(), 6);
    let spoiled = damage(&results, &ids);
    let left = scan(&results);
    assert_eq!(left.runs.len(), 5, "{what}: one run lost its record");
    assert_eq!(left.damaged.len(), 1, "{what}");
    assert_eq!(left.damaged[0].run_id.as_deref(), Some(spoiled.as_str()));

    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{what}: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: 1 damaged record in out/records (their runs were computed again):")
            && err.contains(&format!("the record of {spoiled} at byte"))
            && err.contains(what),
        "{err}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(5 reused from earlier results)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_same_tables(&results, &reference);
    // Saved again, the run's damaged entry no longer counts.
    assert!(scan(&results).damaged.is_empty());
}

#[test]
fn a_record_with_a_flipped_byte_is_reported_and_recomputed() {
    damaged_then_recomputed(
        |_, ids| {
            let (id, at) = &ids[2];
            let (start, len) = entry_span(at);
            let mut log = std::fs::read(&at.log).unwrap();
            log[start + len - 5] ^= 0x10;
            std::fs::write(&at.log, log).unwrap();
            id.clone()
        },
        "fails its checksum",
    );
}

#[test]
fn a_record_with_an_edited_value_and_no_new_checksum_fails_its_checksum() {
    damaged_then_recomputed(
        |results, ids| {
            let (id, at) = &ids[3];
            let test_ll = floats(&read(&results.join("runs.parquet")), "test_ll");
            let run_ids = strings(&read(&results.join("runs.parquet")), "run_id");
            let value = test_ll[run_ids.iter().position(|r| r == id).unwrap()];
            let mut needle = vec![0xcb];
            needle.extend(value.to_be_bytes());
            let (start, len) = entry_span(at);
            let mut log = std::fs::read(&at.log).unwrap();
            let found = (start..start + len)
                .find(|&i| log[i..].starts_with(&needle))
                .expect("the record holds its test_ll as a MessagePack f64");
            log[found + 1..found + 9].copy_from_slice(&(-1.0f64).to_be_bytes());
            std::fs::write(&at.log, log).unwrap();
            id.clone()
        },
        "fails its checksum",
    );
}

#[test]
fn a_log_cut_inside_its_last_record_is_reported_and_recomputed() {
    damaged_then_recomputed(
        |_, ids| {
            let (id, at) = ids.last().unwrap();
            let (start, len) = entry_span(at);
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&at.log)
                .unwrap();
            file.set_len((start + len / 2) as u64).unwrap();
            id.clone()
        },
        "is incomplete",
    );
}

/// An entry whose checksum holds (recomputed by whoever forged it) but that carries another
/// run's record under this run's id is refused, not read as this run's result.
#[test]
fn a_record_holding_another_runs_contents_is_reported_and_recomputed() {
    damaged_then_recomputed(
        |_, ids| {
            let (victim, at) = &ids[1];
            let (other_start, other_len) = entry_span(&ids[4].1);
            let log = std::fs::read(&at.log).unwrap();
            let other_id_len = log[other_start + ENTRY_HEAD] as usize;
            let payload =
                &log[other_start + ENTRY_HEAD + 1 + other_id_len..other_start + other_len];
            let forged = entry(victim, payload);
            let (start, len) = entry_span(at);
            let rewritten = [&log[..start], &forged[..], &log[start + len..]].concat();
            std::fs::write(&at.log, rewritten).unwrap();
            victim.clone()
        },
        "holds the record of another run",
    );
}

/// A full disk while saving the third record stops the sweep at once with exit status 3, the
/// path and the cause; no run is marked failed, and a rerun with room completes the same tables.
#[test]
fn a_full_disk_stops_the_sweep_with_status_3_and_a_rerun_completes() {
    let dir = tempdir();
    let (results, reference) = swept(dir.path());
    std::fs::remove_dir_all(&results).unwrap();
    let out = command(dir.path(), &["exp.toml", "--quiet", "--threads", "1"])
        .env("GRBM_SWEEP_FAULT", "enospc@record:3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the sweep stopped because its results could not be saved: cannot save records to out/records/main-000001.log: No space left on device (os error 28)")
            && err.contains("run the same command again"),
        "{err}"
    );
    assert!(
        !err.contains("Os {") && !err.contains("Error("),
        "Rust debug syntax in a message: {err}"
    );
    let saved = scan(&results);
    assert_eq!(saved.runs.len(), 2, "the two runs saved before are kept");
    assert!(saved.damaged.is_empty());
    assert!(
        !results.join("runs.parquet").exists(),
        "no tables are written on a full disk"
    );

    let out = run(dir.path(), &["exp.toml", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("(2 reused from earlier results)"));
    assert!(
        strings(&read(&results.join("runs.parquet")), "status")
            .iter()
            .all(|s| s == "ok")
    );
    assert_same_tables(&results, &reference);
}

/// Issue 21 asks for at most a third of the 4.56 KB a tiny run's JSON record took on disk.
#[test]
fn a_tiny_runs_record_takes_under_a_third_of_the_old_json_file() {
    let dir = tempdir();
    let (results, _) = swept(dir.path());
    let bytes: u64 = std::fs::read_dir(results.join("records"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(bytes / 6 <= 4560 / 3, "{} bytes per run", bytes / 6);
}
