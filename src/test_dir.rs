//! Self-deleting temporary directories for the tests (unit tests, and the integration tests
//! through `tests/common`, which include this file by path).
//!
//! Why not the `tempfile` crate: it turns on `std`/`default` features of `bitflags` and
//! `fastrand` (through `rustix` 1), crates that polars and burn also use. A dev-dependency that
//! changes a shared crate's features gives `cargo test` and `cargo build`/`cargo run` different
//! builds of all of polars and burn, so switching between the README's two set-up commands
//! would rebuild both (about 9 minutes on 2 cores). This file depends on `std` alone.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory under the system temporary directory, removed with its contents when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort, as in `tempfile`: a test's result must not depend on the clean-up.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Creates a new, empty directory with a name no other test (in this process or another) holds.
pub fn tempdir() -> io::Result<TempDir> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("seddbio-test-{}-{n}", std::process::id()));
        // The process id and counter keep live tests apart; `create_dir` fails on an existing
        // name, so a leftover from an earlier process with the same id is skipped, not shared.
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(TempDir { path }),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_distinct_empty_and_removed_on_drop() {
        let first = tempdir().unwrap();
        let second = tempdir().unwrap();
        assert_ne!(first.path(), second.path());
        assert!(first.path().is_dir());
        assert_eq!(std::fs::read_dir(first.path()).unwrap().count(), 0);

        std::fs::create_dir(first.path().join("nested")).unwrap();
        std::fs::write(first.path().join("nested").join("file"), b"x").unwrap();
        let kept = first.path().to_path_buf();
        drop(first);
        assert!(!kept.exists());
        assert!(second.path().is_dir());
    }
}
