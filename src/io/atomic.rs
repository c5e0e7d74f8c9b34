//! Atomic file writes: temp file + rename.

use std::{
    fs::{self, File},
    io::BufWriter,
    path::{Path, PathBuf},
};

use crate::error::{Error, Result};

/// Writes `path` atomically: `write` fills a temporary file in the same directory, which is
/// flushed, synced and renamed over `path` only if `write` succeeds. On failure the temporary
/// file is removed and any existing `path` is left untouched.
///
/// What `path` points at is kept: a symbolic link is followed, and its target written
/// atomically in the target's directory (the link stays a link); a path that exists and is not
/// a regular file or a directory (a character or block device such as `/dev/null`, a named
/// pipe another process reads, a socket) is opened and written in place, never replaced.
///
/// ```
/// use std::io::Write;
///
/// let path = std::env::temp_dir().join(format!("seddbio-doc-{}-out.txt", std::process::id()));
/// seddbio::io::write_atomically(&path, |w| Ok(w.write_all(b"ACGT\n")?)).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "ACGT\n");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomically<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> WriteResult,
{
    let io_error = os_error(path);
    let target = follow_links(path)?;
    if fs::metadata(&target).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return write_in_place(path, &target, write);
    }
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::MissingDirectory {
            path: path.to_path_buf(),
            dir,
        });
    }
    let name = target.file_name().ok_or_else(|| Error::NotAFileName {
        path: path.to_path_buf(),
    })?;
    let temp = dir.join(temporary_name(&name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let file = File::create(&temp).map_err(|source| Error::Io {
            path: temp.clone(),
            source,
        })?;
        let mut writer = BufWriter::new(file);
        write(&mut writer).map_err(|e| write_error(path, e))?;
        let file = writer.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.sync_all().map_err(io_error)?;
        fs::rename(&temp, &target).map_err(io_error)?;
        sync_directory(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// What the callback of [`write_atomically`] returns: its own errors say what went wrong.
pub type WriteResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The operating system's error about `path`.
fn os_error(path: &Path) -> impl Fn(std::io::Error) -> Error + Copy + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a failed `write` callback of [`write_atomically`] says about `path`: the operating
/// system's error, or the callback's own message as a format error.
fn write_error(path: &Path, error: Box<dyn std::error::Error + Send + Sync>) -> Error {
    match error.downcast::<std::io::Error>() {
        Ok(source) => os_error(path)(*source),
        Err(other) => Error::Format {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    }
}

/// The file a chain of symbolic links at `path` ends in (`path` itself when it is no link),
/// whether or not that file exists yet; a relative link is read from the link's directory.
fn follow_links(path: &Path) -> Result<PathBuf> {
    // The limit Linux sets (ELOOP): a cycle of links ends here.
    const MAX_LINKS: usize = 40;
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current).map_err(|source| Error::Io {
                    path: current.clone(),
                    source,
                })?;
                current = match current.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!(
            "more than {MAX_LINKS} symbolic links in a row (a cycle?)"
        )),
    })
}

/// [`write_atomically`] onto what is not a regular file (`target`, where `path` leads): a
/// device or a named pipe is opened for writing and written, as a shell's `>` would.
fn write_in_place<F>(path: &Path, target: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> WriteResult,
{
    let io_error = os_error(path);
    let file = fs::OpenOptions::new()
        .write(true)
        .open(target)
        .map_err(io_error)?;
    let mut writer = BufWriter::new(file);
    write(&mut writer).map_err(|e| write_error(path, e))?;
    writer.into_inner().map_err(|e| io_error(e.into_error()))?;
    Ok(())
}

/// The name [`write_atomically`] gives the temporary file of `file_name` in process `pid`.
fn temporary_name(file_name: &str, pid: u32) -> String {
    format!(".{file_name}.tmp{pid}")
}

/// Whether `entry` (a file name) is a temporary file that [`write_atomically`] made for
/// `file_name` in some process: what an interrupted write leaves behind.
pub(crate) fn is_temporary_of(entry: &str, file_name: &str) -> bool {
    entry
        .strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(file_name))
        .and_then(|rest| rest.strip_prefix(".tmp"))
        .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Makes the entries of `dir` durable: after a rename, the new name survives a power cut
/// only once the directory itself is synced (the file's own `sync_all` does not cover it).
/// A no-op where directories cannot be opened for syncing (not Unix).
///
/// ```
/// seddbio::io::sync_directory(&std::env::temp_dir()).unwrap();
/// ```
pub fn sync_directory(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Refuses an output path that names one of the command's input files (the same file by
/// device and inode, so links and other spellings of the path count too), or an existing file
/// inside an input that is a directory (a model's run directory: `run.toml`,
/// `checkpoints/LATEST`): writing it would destroy the input. Inputs that do not exist are
/// ignored; new files may be written into an input directory.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("seddbio-doc-{}-inputs", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let input = dir.join("in.fa");
/// std::fs::write(&input, ">a\nACGT\n").unwrap();
/// let spelled_otherwise = dir.join(".").join("in.fa");
/// assert!(seddbio::io::refuse_overwriting_inputs(&spelled_otherwise, &[&input]).is_err());
/// assert!(seddbio::io::refuse_overwriting_inputs(&dir.join("out.fa"), &[&input]).is_ok());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn refuse_overwriting_inputs(output: &Path, inputs: &[&Path]) -> Result<()> {
    for input in inputs {
        if same_file(output, input) {
            return Err(Error::OutputIsInput {
                output: output.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
        if input.is_dir() && inside(output, input) {
            return Err(Error::OutputInInputDirectory {
                output: output.to_path_buf(),
                dir: input.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Whether the existing file `path` (its links followed) lies somewhere under `dir`.
fn inside(path: &Path, dir: &Path) -> bool {
    match (fs::canonicalize(path), fs::canonicalize(dir)) {
        (Ok(path), Ok(dir)) => path != dir && path.starts_with(&dir),
        _ => false,
    }
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = crate::test_dir::tempdir().unwrap();
        let path = dir.path().join("keep.txt");
        fs::write(&path, "old").unwrap();
        let err = write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            Err("the sampler stopped".into())
        })
        .unwrap_err();
        assert!(err.to_string().contains("the sampler stopped"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let err = write_atomically(Path::new("/no/such/dir/x.fa"), |_| Ok(())).unwrap_err();
        assert!(
            err.to_string().contains("/no/such/dir does not exist"),
            "{err}"
        );
    }

    #[test]
    fn temporary_names_are_recognised_for_their_file_only() {
        let name = temporary_name("run.toml", 4242);
        assert!(is_temporary_of(&name, "run.toml"));
        assert!(!is_temporary_of(&name, "run"));
        assert!(!is_temporary_of(".run.toml.tmp", "run.toml"));
        assert!(!is_temporary_of("run.toml", "run.toml"));
    }
}
