//! Writing files so that they survive: whole or not at all, flushed to the disk before they count, with one writer when several processes race; and the removal of the temporary files of processes that were killed.

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
    replace_with(path, |tmp| write_synced(tmp, write))
}

/// Lets `create` make a file (or link) under a temporary name beside `path`, renames it into
/// place and flushes the folder; on failure removes the temporary one.
fn replace_with(
    path: &Path,
    create: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let tmp = temporary_name(path);
    let result = create(&tmp)
        .map_err(io_error(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_error(path)))
        .and_then(|()| sync_parent(path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `.NAME.tmp-HOST-PID` beside `path`: hidden, and one per process. The host and pid let the
/// next holder of the folder tell a file of a process that was killed (on this host, a pid that
/// is not running) from one being written right now by another process, perhaps on another host
/// sharing the folder ([`remove_stale_temporaries`]).
pub fn temporary_name(path: &Path) -> PathBuf {
    let file_name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(
        ".{file_name}{TMP}{}-{}",
        host_in_names(),
        std::process::id()
    ))
}

/// What separates a temporary file's target name from its writer.
const TMP: &str = ".tmp-";

/// This machine's name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if ok && end > 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown host".into()
    }
}

/// This machine's name as temporary names hold it: letters, digits, `.`, `_` and `-` only, and
/// at most 64 of them, so that any host makes a valid file name of bounded length.
fn host_in_names() -> String {
    hostname()
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A file name that [`temporary_name`] made: the name it stands in for, and its writer's host
/// (`None` in names of earlier versions, `.NAME.tmp-PID`) and pid.
#[derive(Debug, PartialEq)]
struct Temporary<'a> {
    target: &'a str,
    host: Option<&'a str>,
    pid: i32,
}

fn parse_temporary(name: &str) -> Option<Temporary<'_>> {
    let (target, writer) = name.strip_prefix('.')?.rsplit_once(TMP)?;
    let (host, pid) = match writer.rsplit_once('-') {
        Some((host, pid)) => (Some(host), pid),
        None => (None, writer),
    };
    let pid = pid.parse().ok().filter(|&p: &i32| p > 0)?;
    Some(Temporary { target, host, pid })
}

/// Whether process `pid` of this host has ended: `kill(pid, 0)` finds no such process. A
/// process of another user (EPERM) is running.
fn has_ended(pid: i32) -> bool {
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    !found && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Removes the temporary files in `folder` (not below it) that no running process will finish:
/// those whose writer is a process of this host that has ended, and those of any writer whose
/// target name `only_mine` accepts (names that only the caller, holding the folder's lock for
/// them, ever writes). A file of another host is left: its process may still be running there.
/// Returns how many were removed; a missing folder has none.
pub fn remove_stale_temporaries(
    folder: &Path,
    only_mine: impl Fn(&str) -> bool,
) -> Result<usize, WriteError> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_error(folder)(e)),
    };
    let this_host = host_in_names();
    let mut removed = 0;
    for entry in entries {
        let name = entry.map_err(io_error(folder))?.file_name();
        let Some(tmp) = name.to_str().and_then(parse_temporary) else {
            continue;
        };
        let ended = tmp.host == Some(this_host.as_str()) && has_ended(tmp.pid);
        if ended || only_mine(tmp.target) {
            let path = folder.join(&name);
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
    }
    Ok(removed)
}

/// Makes `path` a symbolic link to `target` (relative to `path`'s folder), replacing whatever
/// was there in one rename, and flushes the folder.
pub fn symlink_atomically(path: &Path, target: &Path) -> Result<(), WriteError> {
    replace_with(path, |tmp| {
        // A link cannot be created over a leftover of this process's, as a file can.
        let _ = std::fs::remove_file(tmp);
        std::os::unix::fs::symlink(target, tmp)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_carry_host_and_pid_and_read_back() {
        let name = temporary_name(Path::new("/x/records/ab.json"));
        let name = name.file_name().unwrap().to_str().unwrap();
        let host = host_in_names();
        let tmp = parse_temporary(name).unwrap();
        assert_eq!(tmp.target, "ab.json");
        assert_eq!(tmp.host, Some(host.as_str()));
        assert_eq!(tmp.pid, std::process::id() as i32);
        let read = |n| parse_temporary(n).map(|t| (t.target, t.host, t.pid));
        assert_eq!(
            read(".runs.parquet.tmp-node-7.cluster-42"),
            Some(("runs.parquet", Some("node-7.cluster"), 42))
        );
        // Earlier versions wrote `.NAME.tmp-PID`.
        assert_eq!(read(".a.json.tmp-314"), Some(("a.json", None, 314)));
        for not_temporary in [
            "runs.parquet",
            ".lock",
            ".a.tmp-host-x",
            ".a.tmp-0",
            "a.tmp-1",
        ] {
            assert_eq!(read(not_temporary), None, "{not_temporary}");
        }
    }

    #[test]
    fn only_temporaries_of_ended_processes_here_or_of_the_callers_own_names_are_removed() {
        let dir = std::env::temp_dir().join(format!("grbm-sweep-io-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let ended = child.id();
        child.wait().unwrap();
        let host = host_in_names();
        let names = [
            (format!(".a.tmp-{host}-{ended}"), false),
            (format!(".b.tmp-{host}-{}", std::process::id()), true),
            (format!(".c.tmp-{host}x-{ended}"), true),
            (".d.tmp-1".to_string(), true),
            (format!(".mine.tmp-{host}x-{ended}"), false),
            ("plain".to_string(), true),
        ];
        for (name, _) in &names {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let removed = remove_stale_temporaries(&dir, |target| target == "mine").unwrap();
        assert_eq!(removed, 2);
        for (name, kept) in &names {
            assert_eq!(dir.join(name).exists(), *kept, "{name}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(remove_stale_temporaries(&dir, |_| true).unwrap(), 0);
    }
}
