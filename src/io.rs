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
