//! Opening input files: gzip by magic bytes, binary files refused early.

use std::{
    fmt,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::Path,
};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

/// Marks an I/O error as coming from the gzip decoder, so that readers above it can tell a
/// truncated `.gz` from a malformed record.
#[derive(Debug)]
pub(crate) struct GzipFailure(pub io::Error);

impl fmt::Display for GzipFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for GzipFailure {}

struct TagGzipErrors<R>(R);

impl<R: Read> Read for TagGzipErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), GzipFailure(e)))
    }
}

/// Turns an I/O error met while reading `path` into the library error, recognising gzip
/// failures. `context` says where reading stopped, e.g. " after record 12".
pub(crate) fn read_error(path: &Path, error: io::Error, context: String) -> Error {
    let is_gzip = error
        .get_ref()
        .is_some_and(|inner| inner.is::<GzipFailure>());
    if is_gzip {
        let source = match error
            .into_inner()
            .map(|inner| inner.downcast::<GzipFailure>())
        {
            Some(Ok(failure)) => failure.0,
            Some(Err(other)) => io::Error::other(other.to_string()),
            None => io::Error::other("gzip error"),
        };
        return Error::Gzip {
            path: path.to_path_buf(),
            context,
            source,
        };
    }
    match context.is_empty() {
        true => Error::Io {
            path: path.to_path_buf(),
            source: error,
        },
        false => Error::ReadFailed {
            path: path.to_path_buf(),
            context,
            source: error,
        },
    }
}

/// Opens `path` for buffered reading, decompressing gzip transparently (detected by its magic
/// bytes, multi-member/BGZF included). Refuses files whose first bytes contain NUL, which
/// text formats never do.
/// `-` (standard input) as well as files.
pub(crate) fn open_text(path: &Path) -> Result<Box<dyn BufRead>> {
    let source: Box<dyn Read> = if super::is_stdio(path) {
        Box::new(io::stdin())
    } else {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        Box::new(file)
    };
    let mut raw = BufReader::with_capacity(1 << 16, source);
    let head = raw
        .fill_buf()
        .map_err(|e| read_error(path, e, String::new()))?;
    let gzipped = head.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead> = if gzipped {
        Box::new(BufReader::with_capacity(
            1 << 16,
            TagGzipErrors(MultiGzDecoder::new(raw)),
        ))
    } else {
        Box::new(raw)
    };
    let head = reader
        .fill_buf()
        .map_err(|e| read_error(path, e, " at its start".into()))?;
    if let Some(offset) = head.iter().position(|&b| b == 0) {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "not a text file (NUL byte at {}offset {offset}); expected FASTA, CSV, TSV or SMILES",
                if gzipped { "decompressed " } else { "" }
            ),
        });
    }
    Ok(reader)
}
