//! Writers for generated or prepared sequences: FASTA, CSV/TSV and Parquet.

use std::{io::Write, path::Path, str::FromStr};

use noodles_fasta as fasta;
use polars::prelude::{Column, CsvWriter, DataFrame, ParquetWriter, SerWriter};

use super::atomic::write_atomically;
use crate::error::{Error, Result};

/// One output sequence with its metadata (model, sampler, split, source...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord {
    /// Record id.
    pub id: String,
    /// The sequence text (pad tokens already stripped).
    pub sequence: String,
    /// Metadata as key-value pairs; keys become CSV/Parquet columns and FASTA `key=value` words.
    pub metadata: Vec<(String, String)>,
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// FASTA, 80 symbols per line, metadata in the description; gzipped for `.gz` names.
    Fasta,
    /// CSV with a header; gzipped for `.gz` names.
    Csv,
    /// TSV with a header; gzipped for `.gz` names.
    Tsv,
    /// Apache Parquet (zstd-compressed).
    Parquet,
    /// One SMILES per line, a tab, then the id (metadata is not written).
    Smi,
}

impl OutputFormat {
    /// The format named by a path's extension (a trailing `.gz` is allowed for text formats).
    ///
    /// ```
    /// use seddbio::io::OutputFormat;
    /// use std::path::Path;
    ///
    /// assert_eq!(OutputFormat::from_path(Path::new("x.parquet")), Some(OutputFormat::Parquet));
    /// assert_eq!(OutputFormat::from_path(Path::new("x.fa.gz")), Some(OutputFormat::Fasta));
    /// ```
    pub fn from_path(path: &Path) -> Option<OutputFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".parquet") || name.ends_with(".pq") {
            return Some(OutputFormat::Parquet);
        }
        match super::Format::from_path(path)? {
            super::Format::Fasta => Some(OutputFormat::Fasta),
            super::Format::Csv => Some(OutputFormat::Csv),
            super::Format::Tsv => Some(OutputFormat::Tsv),
            super::Format::Smi => Some(OutputFormat::Smi),
            // Reads are an input: a model's output has no qualities to write.
            super::Format::Fastq => None,
        }
    }
}

impl crate::choices::Choice for OutputFormat {
    const NAMES: &'static [&'static str] = &["fasta", "csv", "tsv", "parquet", "smi"];
    const ALIASES: &'static [(&'static str, &'static str)] = &[("fa", "fasta"), ("smiles", "smi")];
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputFormat::Fasta => "fasta",
            OutputFormat::Csv => "csv",
            OutputFormat::Tsv => "tsv",
            OutputFormat::Parquet => "parquet",
            OutputFormat::Smi => "smi",
        })
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "fasta" | "fa" => Ok(OutputFormat::Fasta),
            "csv" => Ok(OutputFormat::Csv),
            "tsv" => Ok(OutputFormat::Tsv),
            "parquet" => Ok(OutputFormat::Parquet),
            "smi" | "smiles" => Ok(OutputFormat::Smi),
            other => Err(format!(
                "unknown output format '{other}' (expected fasta, csv, tsv, parquet or smi)"
            )),
        }
    }
}

/// A CSV field as RFC 4180 writes it: quoted when it holds a comma, quote or line break, its
/// quotes doubled.
///
/// ```
/// use seddbio::io::csv_field;
///
/// assert_eq!(csv_field("chr1:5-10"), "chr1:5-10");
/// assert_eq!(csv_field("a,b"), "\"a,b\"");
/// assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
/// ```
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// Writes records to `path` atomically, in `format` or the one its extension names.
///
/// ```
/// use seddbio::io::{write_sequences, OutputRecord};
///
/// let path = std::env::temp_dir().join(format!("seddbio-doc-{}-samples.fa", std::process::id()));
/// let records = [OutputRecord {
///     id: "sample_1".into(),
///     sequence: "ACGT".into(),
///     metadata: vec![("sampler".into(), "euler".into())],
/// }];
/// write_sequences(&path, None, &records).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), ">sample_1 sampler=euler\nACGT\n");
/// # std::fs::remove_file(&path).unwrap();
/// ```
/// `-` writes to standard output, in `format` or FASTA.
pub fn write_sequences(
    path: &Path,
    format: Option<OutputFormat>,
    records: &[OutputRecord],
) -> Result<()> {
    if super::is_stdio(path) {
        let stdout = std::io::stdout().lock();
        return match encode(
            stdout,
            format.unwrap_or(OutputFormat::Fasta),
            false,
            records,
        ) {
            Ok(_) => Ok(()),
            // A reader that stopped early (`| head`) wanted no more.
            Err(e)
                if e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
            {
                Ok(())
            }
            Err(e) => Err(Error::Format {
                path: path.to_path_buf(),
                message: format!("writing to standard output: {e}"),
            }),
        };
    }
    let format = match format.or_else(|| OutputFormat::from_path(path)) {
        Some(format) => format,
        None => {
            return Err(Error::UnknownOutputFormat {
                path: path.to_path_buf(),
            })
        }
    };
    let gzipped = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    if gzipped && format == OutputFormat::Parquet {
        return Err(Error::CompressedParquet {
            path: path.to_path_buf(),
        });
    }
    write_atomically(path, |out| {
        encode(out, format, gzipped, records)?;
        Ok(())
    })
}

/// Writes `records` to `sink` in `format`, through gzip when `gzipped`, and returns the sink.
/// The gzip stream is closed with `finish()`, so an error writing its last block or trailer is
/// reported (dropping the encoder would swallow it and leave a truncated file).
fn encode<W: Write>(
    sink: W,
    format: OutputFormat,
    gzipped: bool,
    records: &[OutputRecord],
) -> std::result::Result<W, Box<dyn std::error::Error + Send + Sync>> {
    if gzipped {
        let mut encoder = flate2::write::GzEncoder::new(sink, flate2::Compression::default());
        encode_plain(&mut encoder, format, records)?;
        return Ok(encoder.finish()?);
    }
    let mut sink = sink;
    encode_plain(&mut sink, format, records)?;
    Ok(sink)
}

fn encode_plain(
    sink: &mut dyn Write,
    format: OutputFormat,
    records: &[OutputRecord],
) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match format {
        OutputFormat::Fasta => write_fasta(sink, records)?,
        // No records, no metadata columns to name: an empty file, which gathers (`cat`, or
        // `awk 'FNR > 1 || NR == 1'` over the shards of a job) as nothing.
        OutputFormat::Csv | OutputFormat::Tsv if records.is_empty() => {}
        OutputFormat::Csv => CsvWriter::new(&mut *sink).finish(&mut frame(records)?)?,
        OutputFormat::Tsv => CsvWriter::new(&mut *sink)
            .with_separator(b'\t')
            .finish(&mut frame(records)?)?,
        OutputFormat::Parquet => {
            ParquetWriter::new(&mut *sink).finish(&mut frame(records)?)?;
        }
        OutputFormat::Smi => {
            for record in records {
                writeln!(sink, "{}\t{}", record.sequence, record.id)?;
            }
        }
    }
    sink.flush()?;
    Ok(())
}

fn write_fasta(sink: &mut dyn Write, records: &[OutputRecord]) -> std::io::Result<()> {
    let mut writer = fasta::io::Writer::new(sink);
    for record in records {
        let description = record
            .metadata
            .iter()
            .map(|(key, value)| format!("{key}={}", value.replace(char::is_whitespace, "_")))
            .collect::<Vec<_>>()
            .join(" ");
        let definition = fasta::record::Definition::new(
            record.id.as_str(),
            (!description.is_empty()).then(|| description.into()),
        );
        let sequence = fasta::record::Sequence::from(record.sequence.as_bytes().to_vec());
        writer.write_record(&fasta::Record::new(definition, sequence))?;
    }
    Ok(())
}

/// A frame with columns `id`, `sequence`, then every metadata key in first-seen order
/// (null where a record lacks the key).
fn frame(records: &[OutputRecord]) -> polars::prelude::PolarsResult<DataFrame> {
    let mut keys: Vec<&str> = Vec::new();
    for record in records {
        for (key, _) in &record.metadata {
            if !keys.contains(&key.as_str()) {
                keys.push(key);
            }
        }
    }
    let mut columns = vec![
        Column::new(
            "id".into(),
            records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "sequence".into(),
            records
                .iter()
                .map(|r| r.sequence.as_str())
                .collect::<Vec<_>>(),
        ),
    ];
    for key in keys {
        let values: Vec<Option<&str>> = records
            .iter()
            .map(|r| {
                r.metadata
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
            })
            .collect();
        columns.push(Column::new(key.into(), values));
    }
    DataFrame::new_infer_height(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{read_sequences, ReadOptions};

    fn records() -> Vec<OutputRecord> {
        vec![
            OutputRecord {
                id: "a".into(),
                sequence: "ACGT".repeat(30),
                metadata: vec![("split".into(), "train".into())],
            },
            OutputRecord {
                id: "b".into(),
                sequence: "GG".into(),
                metadata: vec![("start".into(), "5".into())],
            },
        ]
    }

    #[test]
    fn written_files_read_back() {
        let dir = crate::test_dir::tempdir().unwrap();
        for name in ["x.fa", "x.fa.gz", "x.csv", "x.tsv.gz", "x.smi"] {
            let path = dir.path().join(name);
            write_sequences(&path, None, &records()).unwrap();
            let back = read_sequences(&path, &ReadOptions::default(), None).unwrap();
            assert_eq!(back.records.len(), 2, "{name}");
            assert_eq!(
                back.records[0].sequence,
                "ACGT".repeat(30).as_bytes(),
                "{name}"
            );
        }
        let text = std::fs::read_to_string(dir.path().join("x.csv")).unwrap();
        assert_eq!(text.lines().next(), Some("id,sequence,split,start"));
        assert!(text.contains("b,GG,,5"), "{text}");
    }

    #[test]
    fn parquet_holds_every_column() {
        let dir = crate::test_dir::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        write_sequences(&path, None, &records()).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        use polars::prelude::SerReader;
        let frame = polars::prelude::ParquetReader::new(file).finish().unwrap();
        assert_eq!(frame.shape(), (2, 4));
        let starts = frame.column("start").unwrap().str().unwrap();
        assert_eq!(starts.get(1), Some("5"));
        assert_eq!(starts.get(0), None);
    }

    #[test]
    fn unknown_output_names_are_refused() {
        let err = write_sequences(Path::new("x.docx"), None, &records()).unwrap_err();
        assert!(err.to_string().contains("cannot tell the output format"));
    }

    /// A sink that takes `limit` bytes and then fails, like a disk that fills up.
    #[derive(Debug)]
    struct FillsUp {
        limit: usize,
        taken: usize,
    }

    impl Write for FillsUp {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if self.taken + bytes.len() > self.limit {
                return Err(std::io::Error::other("no space left on device"));
            }
            self.taken += bytes.len();
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_gzip_trailer_that_cannot_be_written_is_an_error() {
        let whole = encode(Vec::new(), OutputFormat::Fasta, true, &records()).unwrap();
        // Room for everything but the last 4 bytes of the trailer (the length): only
        // finish() writes them, so dropping the encoder would have reported success.
        let sink = FillsUp {
            limit: whole.len() - 4,
            taken: 0,
        };
        let error = encode(sink, OutputFormat::Fasta, true, &records()).unwrap_err();
        assert!(error.to_string().contains("no space left"), "{error}");
        let sink = FillsUp {
            limit: whole.len(),
            taken: 0,
        };
        assert_eq!(
            encode(sink, OutputFormat::Fasta, true, &records())
                .unwrap()
                .taken,
            whole.len()
        );
    }
}
