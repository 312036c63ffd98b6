//! Writing files so that they survive: whole or not at all, flushed to the disk before they count, with one writer when several processes race.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file or folder that could not be written, named.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` under `path` unless a file is already there, atomically, durably and with one
/// writer even when several processes try at once. Returns whether this call wrote it.
pub fn publish(path: &Path, bytes: &[u8]) -> Result<bool, WriteError> {
    let tmp = temporary_name(path);
    write_synced(&tmp, |file| file.write_all(bytes)).map_err(io_error(&tmp))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => sync_parent(path).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Writes `bytes` to a temporary name beside `path`, then renames it into place (see
/// [`write_atomically_with`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// Lets `write` fill a temporary file beside `path`, flushes it to the disk, renames it into
/// place and flushes the folder, so that a reader sees the old file or the whole new one, and
/// after a crash or a power loss the file is complete or absent.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let tmp = temporary_name(path);
    let result = write_synced(&tmp, write)
        .map_err(io_error(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_error(path)))
        .and_then(|()| sync_parent(path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `.NAME.tmp-PID` beside `path`: hidden, and one per process.
fn temporary_name(path: &Path) -> PathBuf {
    let file_name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()))
}

/// Creates `path`, lets `write` fill it and waits until its contents are on the disk.
fn write_synced(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    write(&mut file)?;
    file.sync_all()
}

/// Flushes the folder that holds `path`, which makes a rename or link in it durable.
fn sync_parent(path: &Path) -> Result<(), WriteError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => sync_dir(Path::new(".")),
    }
}

/// Flushes folder `dir` (its entries: files created, renamed or linked in it).
pub fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Where [`fault`] counts durable writes: a run's record, or a table of the committed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Record,
    Table,
}

/// The fault the environment asks for: `GRBM_SWEEP_FAULT=KIND@WHAT:N`, where KIND is `enospc`
/// (the write fails as on a full disk) or `abort` (the process dies just before it, as under
/// SIGKILL), WHAT is `record` or `table`, and N counts that kind of write from 1.
struct Fault {
    abort: bool,
    kind: WriteKind,
    at: usize,
}

fn parse_fault(text: &str) -> Option<Fault> {
    let (how, rest) = text.split_once('@')?;
    let (what, at) = rest.split_once(':')?;
    Some(Fault {
        abort: match how {
            "abort" => true,
            "enospc" => false,
            _ => return None,
        },
        kind: match what {
            "record" => WriteKind::Record,
            "table" => WriteKind::Table,
            _ => return None,
        },
        at: at.parse().ok()?,
    })
}

/// Fault injection for the tests of a full disk and of a kill between two writes, which no
/// ordinary test can cause at a chosen point: called before each durable write of `kind`, it
/// fails or aborts at the write `GRBM_SWEEP_FAULT` names, and costs one atomic add otherwise.
/// An unset or unreadable variable injects nothing.
pub fn fault(kind: WriteKind) -> std::io::Result<()> {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    static COUNTS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
    let Some(fault) = FAULT
        .get_or_init(|| parse_fault(&std::env::var("GRBM_SWEEP_FAULT").ok()?))
        .as_ref()
        .filter(|f| f.kind == kind)
    else {
        return Ok(());
    };
    let n = COUNTS[kind as usize].fetch_add(1, Ordering::SeqCst) + 1;
    if n < fault.at {
        Ok(())
    } else if fault.abort {
        std::process::abort()
    } else {
        // Every later write fails too, as on a disk that stays full.
        Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
    }
}

/// Whether `GRBM_SWEEP_FAULT=panic@RUN_ID` asks the run `run_id` to panic: how the tests make one
/// run of a sweep fail, now that a record that cannot be saved stops the sweep instead.
pub fn panics_in(run_id: &str) -> bool {
    std::env::var("GRBM_SWEEP_FAULT")
        .ok()
        .and_then(|f| f.strip_prefix("panic@").map(|id| id == run_id))
        .unwrap_or(false)
}
