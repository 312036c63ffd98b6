//! The run records on disk: append-only logs of checksummed entries, one log per process that saves runs, synced in batches, and read back into an index of the runs they hold.
//!
//! `records/<writer>-<seq>.log` begins with [`HEADER`]; each entry is `MARK`, the length of its
//! body (u32, little-endian), the first 16 bytes of the body's SHA-256, and the body: the run id
//! (one length byte, then ASCII) and the run's [`StoredRecord`] in MessagePack. The checksum
//! covers the id, so an entry copied under another run's id fails it like a flipped byte does;
//! a body whose record names another run than its id is refused too. A process appends each
//! entry with one `write`, so a kill loses at most the entry being written (a torn tail, which
//! fails its length or checksum), and syncs the log every [`SYNC_EVERY_RECORDS`] entries or
//! [`SYNC_EVERY`], whichever comes first, and before it ends: a power loss loses at most the runs
//! of the last unsynced batch, which are recomputed. A damaged entry costs only itself: the
//! reader looks for the next `MARK` and goes on.

use super::record::{RunDetails, RunRecord, Status, StoredRecord};
use super::store::StoreError;
use crate::experiment::grid::RunSpec;
use crate::io::{WriteKind, fault, sync_dir};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const RECORDS_DIR: &str = "records";
/// The first bytes of every log: a log of another format is not misread.
pub const HEADER: &[u8] = b"grbm-sweep records v1\n";
const MARK: [u8; 4] = *b"\xa7RUN";
/// MARK, length and checksum.
pub const ENTRY_HEAD: usize = 4 + 4 + 16;
/// No record comes near this; a larger length is a damaged one.
const MAX_BODY: u32 = 1 << 30;
pub const SYNC_EVERY_RECORDS: usize = 256;
pub const SYNC_EVERY: Duration = Duration::from_secs(1);
/// The offset of a record kept as a JSON file of its own, as versions before the logs wrote them
/// (read, never written: a folder of an earlier version stays usable).
pub const LEGACY: u64 = u64::MAX;

/// Where an entry is: its log and the offset of its `MARK` ([`LEGACY`] for a whole
/// `records/<run_id>.json` file of an earlier version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryAt {
    pub log: Arc<Path>,
    pub offset: u64,
}

/// An entry that could not be used; its run (if its id is readable) is recomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub at: EntryAt,
    /// The run id the entry's body gives, if it reads as one.
    pub run_id: Option<String>,
    pub kind: DamageKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// The body does not match its checksum: a changed byte or an edited value.
    Checksum,
    /// The entry's checksum holds but its record is of another run than its id.
    OtherRun,
    /// The checksum holds but the record does not decode (written by another version?).
    Undecodable,
    /// Bytes that are no entry: a damaged MARK or length.
    Garbage,
    /// The log ends inside the entry: its writer was killed while writing it (or still writes).
    Incomplete,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            DamageKind::Checksum => "fails its checksum",
            DamageKind::OtherRun => "holds the record of another run",
            DamageKind::Undecodable => "does not decode",
            DamageKind::Garbage => "is not an entry (damaged bytes)",
            DamageKind::Incomplete => {
                "is incomplete (its writer was killed while writing it, or is still writing)"
            }
        };
        let run = self.run_id.as_deref().map_or_else(
            || "a record".to_string(),
            |id| format!("the record of {id}"),
        );
        if self.at.offset == LEGACY {
            write!(f, "{run} in {} {what}", self.at.log.display())
        } else {
            write!(
                f,
                "{run} at byte {} of {} {what}",
                self.at.offset,
                self.at.log.display()
            )
        }
    }
}

/// A run's record as the logs hold it: every field but its curve and samples, which stay on
/// disk until a table or a picture asks for them ([`details`]), so that memory does not grow
/// with the samples and curves of a sweep.
pub struct Indexed {
    pub record: StoredRecord,
    pub at: EntryAt,
}

/// What the logs of a results folder hold.
#[derive(Default)]
pub struct Scan {
    /// The last usable entry of each run, preferring one that did not fail.
    pub runs: HashMap<String, Indexed>,
    pub damaged: Vec<Damage>,
}

/// The files of `dir`'s records folder that end in `.extension`, in name order (a writer's
/// logs by sequence number).
fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join(RECORDS_DIR)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == extension))
        .collect();
    files.sort();
    files
}

/// A record of an earlier version, `records/<run_id>.json`.
fn read_legacy(path: &Path) -> Result<StoredRecord, (Option<String>, DamageKind)> {
    let id = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let text = std::fs::read_to_string(path).map_err(|_| (id.clone(), DamageKind::Incomplete))?;
    let record: StoredRecord =
        serde_json::from_str(&text).map_err(|_| (id.clone(), DamageKind::Undecodable))?;
    if Some(&record.run_id) != id.as_ref() {
        return Err((id, DamageKind::OtherRun));
    }
    Ok(record)
}

/// Reads every log of the results folder `dir` (no lock needed: a log only grows, and an entry
/// being written reads as incomplete), earlier versions' JSON records first, and hands each
/// usable record of a run that `wanted` names to `found` in the order written; returns the
/// damage met. The entries of other runs are checked but not decoded: a shard reads the whole
/// folder, but decodes its own runs' records only.
fn read_folder(
    dir: &Path,
    wanted: &dyn Fn(&str) -> bool,
    mut found: impl FnMut(StoredRecord, EntryAt),
) -> Vec<Damage> {
    let mut damaged = Vec::new();
    for path in files(dir, "json") {
        let at = EntryAt {
            log: path.as_path().into(),
            offset: LEGACY,
        };
        match read_legacy(&path) {
            Ok(record) => found(record, at),
            Err((run_id, kind)) => damaged.push(Damage { at, run_id, kind }),
        }
    }
    for path in files(dir, "log") {
        let log: Arc<Path> = path.into();
        let Ok(file) = File::open(&log) else {
            continue;
        };
        let mut reader = EntryReader::new(BufReader::with_capacity(1 << 16, file));
        if !reader.has_header() {
            let at = EntryAt { log, offset: 0 };
            damaged.push(Damage {
                at,
                run_id: None,
                kind: DamageKind::Garbage,
            });
            continue;
        }
        while let Some((offset, entry)) = reader.next_entry(wanted) {
            let at = EntryAt {
                log: log.clone(),
                offset,
            };
            match entry.and_then(|entry| entry.map(|entry| entry.decoded()).transpose()) {
                Ok(None) => {}
                Ok(Some(record)) => found(record, at),
                Err((run_id, kind)) => damaged.push(Damage { at, run_id, kind }),
            }
        }
    }
    damaged
}

/// Whether a record of a run that `before` (if any) already holds should take its place: the
/// last record counts, but one that failed never displaces one that did not.
fn supersedes(status: Status, before: Option<Status>) -> bool {
    before.is_none_or(|before| status != Status::Failed || before == Status::Failed)
}

/// Every usable record of the results folder `dir` by run id, curves and samples dropped, and
/// the damage to records of runs that have no usable one.
pub fn scan(dir: &Path) -> Scan {
    let mut scan = Scan::default();
    let mut damaged = read_folder(dir, &|_| true, |mut record, at| {
        record.drop_details();
        if supersedes(
            record.status,
            scan.runs.get(&record.run_id).map(|b| b.record.status),
        ) {
            scan.runs
                .insert(record.run_id.clone(), Indexed { record, at });
        }
    });
    // Damage to an entry whose run was saved again since is harmless: only the runs that lost
    // their record (and damage that names no run) are worth a word.
    damaged.retain(|d| {
        d.run_id
            .as_ref()
            .is_none_or(|id| !scan.runs.contains_key(id))
    });
    scan.damaged = damaged;
    scan
}

/// For each of the runs `run_ids` (in their order), what `make` made of the record that counts
/// ([`supersedes`]; `status` tells a slot's status back), and the damage to records of those
/// runs that have no usable one (and damage that names no run). A record goes straight to its
/// run's slot, with no map of the records beside them.
fn in_run_order<'r, T>(
    dir: &Path,
    run_ids: impl ExactSizeIterator<Item = &'r str>,
    status: impl Fn(&T) -> Status,
    mut make: impl FnMut(usize, StoredRecord, EntryAt) -> T,
) -> (Vec<Option<T>>, Vec<Damage>) {
    let mut slots: Vec<Option<T>> = (0..run_ids.len()).map(|_| None).collect();
    let slot_of: HashMap<&str, usize> = run_ids.enumerate().map(|(i, id)| (id, i)).collect();
    let wanted = |id: &str| slot_of.contains_key(id);
    let mut damaged = read_folder(dir, &wanted, |record, at| {
        if let Some(&i) = slot_of.get(record.run_id.as_str())
            && supersedes(record.status, slots[i].as_ref().map(&status))
        {
            slots[i] = Some(make(i, record, at));
        }
    });
    damaged.retain(|d| {
        d.run_id
            .as_deref()
            .is_none_or(|id| slot_of.get(id).is_some_and(|&i| slots[i].is_none()))
    });
    (slots, damaged)
}

/// The status of the record of each run of `runs` that the folder `dir` holds (`None`: no usable
/// record), and the damage to records of those runs that have no usable one: what a sweep needs
/// to know which runs to compute, at a few bytes per run of its own share.
pub fn statuses_of(dir: &Path, runs: &[RunSpec]) -> (Vec<Option<Status>>, Vec<Damage>) {
    let ids = runs.iter().map(|r| r.run_id.as_str());
    in_run_order(dir, ids, |s| *s, |_, record, _| record.status)
}

/// The records of the runs of `runs` (in their order; failed ones included) that the folder
/// `dir` holds, curves and samples dropped, and the damage to records of those runs that have no
/// usable one (and damage that names no run): a folder read holds each run's record once.
pub fn records_of<S>(dir: &Path, runs: &[S]) -> (Vec<RunRecord>, Vec<Damage>)
where
    S: std::borrow::Borrow<RunSpec> + Clone + Into<std::sync::Arc<RunSpec>>,
{
    let ids = runs.iter().map(|r| r.borrow().run_id.as_str());
    let (slots, damaged) = in_run_order(
        dir,
        ids,
        |r: &RunRecord| r.status,
        |i, record, at| record.into_record(runs[i].clone(), at),
    );
    // `filter_map` collects in place (the records reuse the slots' memory), which the `flatten`
    // clippy suggests does not promise.
    #[allow(clippy::filter_map_identity)]
    let records = slots.into_iter().filter_map(|slot| slot).collect();
    (records, damaged)
}

/// Reads the models, curves and samples of many runs, keeping their logs open between reads.
#[derive(Default)]
pub struct Details {
    open: HashMap<Arc<Path>, File>,
}

impl Details {
    /// `record`'s model, curve and samples: from its entry for a record read from the folder,
    /// else from memory; `None` for a run that failed.
    pub fn of(&mut self, record: &RunRecord) -> Result<Option<RunDetails>, StoreError> {
        match (&record.in_memory, &record.stored_at, &record.result) {
            (_, _, None) => Ok(None),
            (Some(details), _, Some(_)) => Ok(Some((**details).clone())),
            (None, Some(at), Some(_)) => self.read(at),
            (None, None, Some(_)) => Err(StoreError::NoDetails {
                run_id: record.spec.run_id.clone(),
            }),
        }
    }

    /// The curve and samples of the run whose entry is `at`, checked against its checksum.
    fn read(&mut self, at: &EntryAt) -> Result<Option<RunDetails>, StoreError> {
        if at.offset == LEGACY {
            return read_legacy(&at.log)
                .map(StoredRecord::into_details)
                .map_err(|found| damage_error(at, found));
        }
        let unreadable = |e: std::io::Error| StoreError::Unreadable {
            path: at.log.to_path_buf(),
            reason: format!("the record at byte {}: {e}", at.offset),
        };
        let file = match self.open.entry(at.log.clone()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(File::open(&at.log).map_err(unreadable)?)
            }
        };
        let file: &File = file;
        let mut reader = EntryReader::at(BufReader::new(file), at.offset);
        reader
            .reader
            .seek(SeekFrom::Start(at.offset))
            .map_err(unreadable)?;
        let (_, found) = reader
            .next_entry(&|_| true)
            .ok_or_else(|| unreadable(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)))?;
        let record = found
            .and_then(|e| e.ok_or((None, DamageKind::Garbage))?.decoded())
            .map_err(|found| damage_error(at, found))?;
        Ok(record.into_details())
    }
}

/// The error of reading the entry `at` that turned out damaged.
fn damage_error(at: &EntryAt, (run_id, kind): (Option<String>, DamageKind)) -> StoreError {
    let damage = Damage {
        at: at.clone(),
        run_id,
        kind,
    };
    StoreError::Unreadable {
        path: at.log.to_path_buf(),
        reason: damage.to_string(),
    }
}

/// One entry's body, as read.
struct Entry {
    body: Vec<u8>,
}

impl Entry {
    fn id(&self) -> Option<&str> {
        let len = *self.body.first()? as usize;
        let id = self.body.get(1..1 + len)?;
        (id.iter().all(u8::is_ascii_alphanumeric) && !id.is_empty())
            .then(|| std::str::from_utf8(id).ok())
            .flatten()
    }

    fn run_id(&self) -> Option<String> {
        self.id().map(str::to_string)
    }

    fn decoded(&self) -> Result<StoredRecord, (Option<String>, DamageKind)> {
        let id = self.run_id().ok_or((None, DamageKind::Undecodable))?;
        let payload = &self.body[1 + id.len()..];
        let record: StoredRecord = rmp_serde::from_slice(payload)
            .map_err(|_| (Some(id.clone()), DamageKind::Undecodable))?;
        if record.run_id != id {
            return Err((Some(id), DamageKind::OtherRun));
        }
        Ok(record)
    }
}

/// Reads entries one after another, stepping over damaged ones to the next `MARK`.
struct EntryReader<R> {
    reader: R,
    offset: u64,
}

/// An entry read (checksum verified; `None` for an entry of a run not wanted), or the damage
/// found where one should be.
type Found = Result<Option<Entry>, (Option<String>, DamageKind)>;

impl<R: Read + Seek> EntryReader<R> {
    fn new(reader: R) -> Self {
        Self::at(reader, 0)
    }

    fn at(reader: R, offset: u64) -> Self {
        EntryReader { reader, offset }
    }

    fn has_header(&mut self) -> bool {
        let mut header = vec![0u8; HEADER.len()];
        let ok = self.reader.read_exact(&mut header).is_ok() && header == HEADER;
        self.offset = HEADER.len() as u64;
        ok
    }

    /// The offset and contents of the next entry, `None` at the end of the log; the contents of
    /// an entry of a run that `wanted` does not name are checked but not kept.
    fn next_entry(&mut self, wanted: &dyn Fn(&str) -> bool) -> Option<(u64, Found)> {
        let start = self.offset;
        let mut head = [0u8; ENTRY_HEAD];
        let got = read_up_to(&mut self.reader, &mut head);
        if got == 0 {
            return None;
        }
        let damaged = |kind| Some((start, Err((None, kind))));
        if got < ENTRY_HEAD {
            self.offset += got as u64;
            return damaged(DamageKind::Incomplete);
        }
        let len = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        if head[..4] != MARK || len > MAX_BODY {
            self.skip_to_mark(start);
            return damaged(DamageKind::Garbage);
        }
        let mut body = vec![0u8; len as usize];
        let got = read_up_to(&mut self.reader, &mut body);
        if got < len as usize {
            self.offset = start + (ENTRY_HEAD + got) as u64;
            body.truncate(got);
            let id = Entry { body }.run_id();
            return Some((start, Err((id, DamageKind::Incomplete))));
        }
        let entry = Entry { body };
        // Checked even when not wanted: a damaged length would otherwise swallow the entries
        // after it unseen, where the checksum steps to the next MARK.
        if Sha256::digest(&entry.body)[..16] != head[8..] {
            self.skip_to_mark(start);
            return Some((start, Err((entry.run_id(), DamageKind::Checksum))));
        }
        self.offset = start + (ENTRY_HEAD + len as usize) as u64;
        let wanted = entry.id().is_none_or(wanted);
        Some((start, Ok(wanted.then_some(entry))))
    }

    /// After damage at `start`: moves to the next `MARK` after it, or to the end of the log.
    fn skip_to_mark(&mut self, start: u64) {
        let mut pos = start + 1;
        if self.reader.seek(SeekFrom::Start(pos)).is_err() {
            self.offset = pos;
            return;
        }
        let mut window = [0u8; 4];
        let mut byte = [0u8; 1];
        let mut read = 0u64;
        while read_up_to(&mut self.reader, &mut byte) == 1 {
            window.rotate_left(1);
            window[3] = byte[0];
            read += 1;
            if read >= 4 && window == MARK {
                pos += read - 4;
                let _ = self.reader.seek(SeekFrom::Start(pos));
                self.offset = pos;
                return;
            }
        }
        self.offset = pos + read;
    }
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    got
}

/// The bytes of one entry for `record`.
pub fn encode(record: &RunRecord) -> Result<Vec<u8>, StoreError> {
    let details = Details::default().of(record)?;
    let stored = StoredRecord::from_record(record, details);
    let payload = rmp_serde::to_vec(&stored).expect("records serialize");
    Ok(entry(&stored.run_id, &payload))
}

/// The entry of run `run_id` holding `payload` (a record in MessagePack), with its checksum.
pub fn entry(run_id: &str, payload: &[u8]) -> Vec<u8> {
    let id = run_id.as_bytes();
    let mut body = Vec::with_capacity(1 + id.len() + payload.len());
    body.push(u8::try_from(id.len()).expect("run ids are short"));
    body.extend_from_slice(id);
    body.extend_from_slice(payload);
    let mut entry = Vec::with_capacity(ENTRY_HEAD + body.len());
    entry.extend_from_slice(&MARK);
    entry.extend_from_slice(
        &u32::try_from(body.len())
            .expect("a record fits")
            .to_le_bytes(),
    );
    entry.extend_from_slice(&Sha256::digest(&body)[..16]);
    entry.extend_from_slice(&body);
    entry
}

/// The log this process appends its runs' records to, created at the first record.
pub struct Journal {
    dir: PathBuf,
    /// `main` or `shard-I-of-N`: the lock this process holds, so that one process writes each
    /// writer's logs.
    writer: String,
    open: Mutex<Option<OpenLog>>,
}

struct OpenLog {
    path: PathBuf,
    file: File,
    unsynced: usize,
    since: Instant,
}

impl Journal {
    pub fn new(dir: &Path, writer: String) -> Self {
        Journal {
            dir: dir.join(RECORDS_DIR),
            writer,
            open: Mutex::new(None),
        }
    }

    /// Appends `record`'s entry; syncs the log when its batch is full or old enough.
    pub fn append(&self, record: &RunRecord) -> Result<(), StoreError> {
        let entry = encode(record)?;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.is_none() {
            *open = Some(self.create()?);
        }
        let log = open.as_mut().expect("opened above");
        let io = |source| StoreError::Save {
            path: log.path.clone(),
            source,
        };
        fault(WriteKind::Record)
            .and_then(|()| log.file.write_all(&entry))
            .map_err(io)?;
        log.unsynced += 1;
        if log.unsynced >= SYNC_EVERY_RECORDS || log.since.elapsed() >= SYNC_EVERY {
            log.sync()?;
        }
        Ok(())
    }

    /// Makes every record appended so far durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        match open.as_mut() {
            Some(log) if log.unsynced > 0 => log.sync(),
            _ => Ok(()),
        }
    }

    /// A new log, numbered after this writer's earlier ones, durable with its header.
    fn create(&self) -> Result<OpenLog, StoreError> {
        let prefix = format!("{}-", self.writer);
        let seq = std::fs::read_dir(&self.dir)
            .map_err(|source| StoreError::Io {
                path: self.dir.clone(),
                source,
            })?
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_prefix(&prefix)?
                    .strip_suffix(".log")?
                    .parse::<u64>()
                    .ok()
            })
            .max()
            .map_or(1, |n| n + 1);
        let path = self.dir.join(format!("{prefix}{seq:06}.log"));
        let io = |source| StoreError::Save {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io)?;
        file.write_all(HEADER)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        sync_dir(&self.dir)?;
        Ok(OpenLog {
            path,
            file,
            unsynced: 0,
            since: Instant::now(),
        })
    }
}

impl OpenLog {
    fn sync(&mut self) -> Result<(), StoreError> {
        self.file.sync_data().map_err(|source| StoreError::Save {
            path: self.path.clone(),
            source,
        })?;
        self.unsynced = 0;
        self.since = Instant::now();
        Ok(())
    }
}

impl Drop for Journal {
    /// A process that ends without [`Journal::sync`] (a panic unwinding) still syncs what it wrote.
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::record::{measured, spec_named};

    fn record(run_id: &str, test_ll: f64) -> RunRecord {
        measured(spec_named(run_id), Some((test_ll, test_ll)))
    }

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("grbm-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(RECORDS_DIR)).unwrap();
        dir
    }

    /// Records read back keep every bit; bytes that are no entry between two entries cost only
    /// themselves, and the entry after them is found again by its MARK.
    #[test]
    fn records_read_back_bit_for_bit_and_garbage_between_entries_is_stepped_over() {
        let dir = folder("garbage");
        let journal = Journal::new(&dir, "main".into());
        let lls = [-1.0 / 3.0, f64::MIN_POSITIVE, -2.5e300];
        for (i, ll) in lls.iter().enumerate() {
            journal.append(&record(&format!("run{i}"), *ll)).unwrap();
        }
        journal.sync().unwrap();
        let log = dir.join(RECORDS_DIR).join("main-000001.log");
        let clean = std::fs::read(&log).unwrap();
        let second = scan(&dir).runs["run1"].at.offset as usize;
        let garbage = b"\xa7RU no entry here \xa7RUN\x05\x00";
        std::fs::write(
            &log,
            [&clean[..second], &garbage[..], &clean[second..]].concat(),
        )
        .unwrap();
        let mut read = scan(&dir);
        for (i, ll) in lls.iter().enumerate() {
            let id = format!("run{i}");
            let indexed = read.runs.remove(&id).unwrap();
            let back = indexed
                .record
                .into_record(record(&id, 0.0).spec, indexed.at);
            assert_eq!(back.test_ll().unwrap().to_bits(), ll.to_bits());
        }
        // The garbage holds a false MARK: the reader may stop at it, but only inside the garbage.
        assert_eq!(read.damaged[0].kind, DamageKind::Garbage);
        assert_eq!(read.damaged[0].at.offset, second as u64);
        for d in &read.damaged {
            assert!((d.at.offset as usize) < second + garbage.len(), "{d}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A later process writes a new log; a run saved ok is not displaced by a later failure.
    #[test]
    fn each_process_writes_its_own_log_and_an_ok_record_outranks_a_failed_one() {
        let dir = folder("precedence");
        let first = Journal::new(&dir, "main".into());
        first.append(&record("a", -1.0)).unwrap();
        drop(first);
        let second = Journal::new(&dir, "main".into());
        let spec = record("a", 0.0).spec;
        second
            .append(&RunRecord::failed(spec, "no".into()))
            .unwrap();
        drop(second);
        assert!(dir.join(RECORDS_DIR).join("main-000002.log").exists());
        let read = scan(&dir);
        assert_eq!(read.runs["a"].record.status, Status::Ok);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A folder of an earlier version keeps its `records/<run_id>.json` files readable.
    #[test]
    fn records_of_an_earlier_version_are_read() {
        let dir = folder("legacy");
        let stored = {
            let old = record("old", -2.0);
            StoredRecord::from_record(&old, old.details().unwrap())
        };
        let path = dir.join(RECORDS_DIR).join("old.json");
        std::fs::write(&path, serde_json::to_string(&stored).unwrap()).unwrap();
        std::fs::write(dir.join(RECORDS_DIR).join("other.json"), "{").unwrap();
        let read = scan(&dir);
        assert_eq!(read.runs["old"].at.offset, LEGACY);
        assert_eq!(read.damaged.len(), 1);
        assert_eq!(read.damaged[0].run_id.as_deref(), Some("other"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
