//! Readers for FASTA, FASTQ, CSV/TSV and `.smi` files: the options and records they share
//! here, one module per format.

mod fasta;
mod fastq;
mod smi;
mod table;

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;

use self::{fasta::read_fasta, fastq::read_fastq, smi::read_smi, table::read_table};
use super::{open::open_text, Format};
use crate::error::{Error, RecordLocation, Result};

impl LabelSource {
    /// Where the labels of a file in `format` come from: a `column` of a CSV/TSV file, the
    /// `key` of KEY=value words in FASTA/FASTQ descriptions, none otherwise.
    pub fn for_format(
        format: Option<Format>,
        column: Option<&str>,
        key: Option<&str>,
    ) -> Option<LabelSource> {
        match format {
            Some(Format::Csv | Format::Tsv) => column.map(|c| LabelSource::Column(c.into())),
            Some(Format::Fasta | Format::Fastq) => key.map(|k| LabelSource::Key(k.into())),
            _ => None,
        }
    }
}

/// How to read a sequence file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The format; guessed from the file name when `None`.
    pub format: Option<Format>,
    /// The sequence column of a CSV/TSV file. When `None`, a column named `sequence`, `seq` or
    /// `smiles` (any case) is used if there is exactly one.
    pub column: Option<String>,
    /// A column holding record ids (CSV/TSV); rows are named `record_N` otherwise.
    pub id_column: Option<String>,
    /// FASTQ: leave out reads whose mean Phred quality is below this; they are counted in
    /// [`SequenceFile::low_quality`].
    pub min_mean_quality: Option<f64>,
    /// FASTQ: the ASCII code of quality 0: 33 (Sanger, Illumina 1.8+; the default when 0)
    /// or 64 (Illumina 1.3-1.7, whose Solexa-era files may hold scores down to -5).
    pub quality_offset: u8,
    /// Where each record's label comes from (conditional models); `None` reads no labels.
    pub label: Option<LabelSource>,
    /// A column of a CSV/TSV file naming each row's split (e.g. `train`, `valid`, `test`),
    /// read into [`SequenceRecord::split`].
    pub split_column: Option<String>,
}

/// Where a record's label (its class, for a conditional model) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelSource {
    /// A column of a CSV/TSV file.
    Column(String),
    /// The word `KEY=value` in a FASTA or FASTQ description line: the form seddbio writes its
    /// own metadata in, e.g. `>sample_1 label=HepG2 guidance=1`.
    Key(String),
    /// One label for every record of the file (a file per class).
    File(String),
}

/// The value of `key=value` among the whitespace-separated words of a description.
///
/// ```
/// use seddbio::io::description_value;
///
/// assert_eq!(description_value("chr1:5-205 cell_type=HepG2 score=3", "cell_type"), Some("HepG2"));
/// assert_eq!(description_value("cell_type=", "cell_type"), None);
/// assert_eq!(description_value("type=HepG2", "cell_type"), None);
/// ```
pub fn description_value<'a>(description: &'a str, key: &str) -> Option<&'a str> {
    description
        .split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .filter(|value| !value.is_empty())
}

/// One sequence as read, before tokenisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceRecord {
    /// 1-based record number in the file.
    pub number: usize,
    /// 1-based line number for one-record-per-line formats.
    pub line: Option<usize>,
    /// The record id (FASTA name, id column, or `record_N`).
    pub id: String,
    /// The sequence text, line breaks removed.
    pub sequence: Vec<u8>,
    /// The record's label, when [`ReadOptions::label`] asks for one.
    pub label: Option<String>,
    /// The record's split, when [`ReadOptions::split_column`] names a column.
    pub split: Option<String>,
    /// The file it came from, when several files were read as one ([`read_sequence_files`]);
    /// `None`: [`SequenceFile::path`].
    pub source: Option<std::sync::Arc<Path>>,
}

/// The records of one file.
#[derive(Debug, Clone)]
pub struct SequenceFile {
    /// Where they came from.
    pub path: PathBuf,
    /// The format they were read as.
    pub format: Format,
    /// Records with a non-empty sequence, in file order.
    pub records: Vec<SequenceRecord>,
    /// Records whose sequence is empty: not usable, reported to the user.
    pub empty: Vec<SequenceRecord>,
    /// FASTQ reads left out by [`ReadOptions::min_mean_quality`].
    pub low_quality: usize,
}

/// A file's records counted and measured as `seqkit stats` does: lengths in characters of
/// the sequence text, empty records included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileStats {
    /// Records, empty ones included.
    pub records: usize,
    /// Characters in all.
    pub total: u64,
    /// The shortest record (0 without records).
    pub min: usize,
    /// The mean length (0 without records).
    pub mean: f64,
    /// The longest record.
    pub max: usize,
}

impl SequenceFile {
    /// The file's [`FileStats`].
    ///
    /// ```
    /// use seddbio::io::{read_sequences, ReadOptions};
    ///
    /// let path = std::env::temp_dir().join(format!("seddbio-doc-{}-stats.fa", std::process::id()));
    /// std::fs::write(&path, ">a\nACGT\n>b\nAC\n>c\n").unwrap();
    /// let stats = read_sequences(&path, &ReadOptions::default(), None).unwrap().stats();
    /// assert_eq!((stats.records, stats.total, stats.min, stats.max), (3, 6, 0, 4));
    /// assert_eq!(stats.mean, 2.0);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn stats(&self) -> FileStats {
        let lengths: Vec<usize> = self
            .records
            .iter()
            .chain(&self.empty)
            .map(|r| r.sequence.len())
            .collect();
        let total: u64 = lengths.iter().map(|&l| l as u64).sum();
        FileStats {
            records: lengths.len(),
            total,
            min: lengths.iter().copied().min().unwrap_or(0),
            mean: match lengths.len() {
                0 => 0.0,
                n => total as f64 / n as f64,
            },
            max: lengths.iter().copied().max().unwrap_or(0),
        }
    }

    /// The location of a record of this file, for error messages.
    pub fn location(&self, record: &SequenceRecord) -> Box<RecordLocation> {
        Box::new(RecordLocation {
            path: record
                .source
                .as_deref()
                .map_or_else(|| self.path.clone(), Path::to_path_buf),
            number: record.number,
            line: record.line,
            id: record.id.clone(),
        })
    }
}

/// The label [`read_sequence_files`] gives a file's records with `label_per_file`: its name
/// without `.gz` and the format's extension.
///
/// ```
/// use seddbio::io::file_label;
///
/// assert_eq!(file_label(std::path::Path::new("data/HepG2.fa.gz")), "HepG2");
/// assert_eq!(file_label(std::path::Path::new("k562_dhs.tsv")), "k562_dhs");
/// ```
pub fn file_label(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => name.to_string(),
    }
}

/// Reads several files as one (records in file order, each naming its file in errors); with
/// `label_per_file` each file's records get the file's [`file_label`] as their label (labels
/// must then differ between files).
pub fn read_sequence_files(
    paths: &[&Path],
    options: &ReadOptions,
    label_per_file: bool,
    progress: Option<&ProgressBar>,
) -> Result<SequenceFile> {
    let Some((&first, rest)) = paths.split_first() else {
        return Err(Error::NoInput);
    };
    if label_per_file {
        let labels: Vec<String> = paths.iter().map(|p| file_label(p)).collect();
        for (i, label) in labels.iter().enumerate() {
            if let Some(j) = labels[..i].iter().position(|l| l == label) {
                return Err(Error::DuplicateFileLabel {
                    first: paths[j].to_path_buf(),
                    second: paths[i].to_path_buf(),
                    label: label.clone(),
                });
            }
        }
    }
    let read = |path: &Path| -> Result<SequenceFile> {
        let options = match label_per_file {
            true => ReadOptions {
                label: Some(LabelSource::File(file_label(path))),
                ..options.clone()
            },
            false => options.clone(),
        };
        let mut file = read_sequences(path, &options, progress)?;
        if paths.len() > 1 {
            let source: std::sync::Arc<Path> = std::sync::Arc::from(path);
            for record in file.records.iter_mut().chain(file.empty.iter_mut()) {
                record.source = Some(source.clone());
            }
        }
        Ok(file)
    };
    // The first file's path and format stand for the whole.
    let mut all = read(first)?;
    for &path in rest {
        let mut file = read(path)?;
        all.records.append(&mut file.records);
        all.empty.append(&mut file.empty);
        all.low_quality += file.low_quality;
    }
    Ok(all)
}

/// Reads every record of a FASTA, CSV/TSV or `.smi` file (optionally gzipped).
///
/// `progress`, when given, is advanced by one per record.
///
/// ```
/// use seddbio::io::{read_sequences, ReadOptions};
///
/// let path = std::env::temp_dir().join(format!("seddbio-doc-{}-x.fa", std::process::id()));
/// std::fs::write(&path, ">a first\nACGT\nAC\r\n>b\n>c\nGG\n").unwrap();
/// let file = read_sequences(&path, &ReadOptions::default(), None).unwrap();
/// assert_eq!(file.records.len(), 2);
/// assert_eq!(file.records[0].sequence, b"ACGTAC");
/// assert_eq!(file.empty[0].id, "b");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_sequences(
    path: &Path,
    options: &ReadOptions,
    progress: Option<&ProgressBar>,
) -> Result<SequenceFile> {
    let format = match options.format {
        Some(format) => format,
        None => Format::from_path(path).ok_or_else(|| Error::UnknownFormat {
            path: path.to_path_buf(),
        })?,
    };
    if options.min_mean_quality.is_some() && format != Format::Fastq {
        return Err(Error::InputNeeds {
            path: path.to_path_buf(),
            what: "a minimum read quality needs FASTQ input",
            format: format.to_string(),
        });
    }
    match (&options.label, format) {
        (Some(LabelSource::Column(_)), Format::Fasta | Format::Fastq | Format::Smi) => {
            return Err(Error::InputNeeds {
                path: path.to_path_buf(),
                what: "labels from a column need CSV or TSV input",
                format: format.to_string(),
            })
        }
        (Some(LabelSource::Key(_)), Format::Csv | Format::Tsv | Format::Smi) => {
            return Err(Error::InputNeeds {
                path: path.to_path_buf(),
                what: "labels from KEY=value words need FASTA or FASTQ descriptions",
                format: format.to_string(),
            })
        }
        _ => {}
    }
    if options.split_column.is_some() && !matches!(format, Format::Csv | Format::Tsv) {
        return Err(Error::InputNeeds {
            path: path.to_path_buf(),
            what: "a split column needs CSV or TSV input",
            format: format.to_string(),
        });
    }
    let key = match &options.label {
        Some(LabelSource::Key(key)) => Some(key.as_str()),
        _ => None,
    };
    let reader = open_text(path)?;
    let mut records = Vec::new();
    let mut low_quality = 0;
    let mut push = |record: SequenceRecord| {
        if let Some(bar) = progress {
            bar.inc(1);
        }
        records.push(record);
    };
    match format {
        Format::Fasta => read_fasta(path, reader, key, &mut push)?,
        Format::Csv => read_table(path, reader, b',', options, &mut push)?,
        Format::Tsv => read_table(path, reader, b'\t', options, &mut push)?,
        Format::Smi => read_smi(path, reader, &mut push)?,
        Format::Fastq => {
            low_quality = read_fastq(path, reader, options, &mut push)?;
        }
    }
    if let Some(LabelSource::File(label)) = &options.label {
        records
            .iter_mut()
            .for_each(|r| r.label = Some(label.clone()));
    }
    if let (Some(source), Some(record)) =
        (&options.label, records.iter().find(|r| r.label.is_none()))
    {
        let line = record
            .line
            .map(|l| format!(", line {l}"))
            .unwrap_or_default();
        let what = match source {
            LabelSource::Column(column) => format!("its '{column}' field is empty"),
            LabelSource::Key(key) => format!("its description has no '{key}=value' word"),
            LabelSource::File(_) => unreachable!("every record was given the file's label"),
        };
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "record {} ({}{line}): no label: {what}",
                record.number, record.id
            ),
        });
    }
    if records.is_empty() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: match (low_quality, options.min_mean_quality) {
                (n, Some(q)) if n > 0 => {
                    format!("all {n} reads have a mean quality below {q}")
                }
                _ => format!("no {format} records in the file"),
            },
        });
    }
    let (empty, records) = records.into_iter().partition(|r| r.sequence.is_empty());
    Ok(SequenceFile {
        path: path.to_path_buf(),
        format,
        records,
        empty,
        low_quality,
    })
}

/// A FASTA file's worth of records (`in.fa`, ids `r1`, `r2`, ...) holding `sequences`, for
/// tests.
#[cfg(test)]
pub(crate) fn records_of(sequences: &[&str]) -> SequenceFile {
    SequenceFile {
        path: "in.fa".into(),
        format: Format::Fasta,
        records: sequences
            .iter()
            .enumerate()
            .map(|(i, s)| SequenceRecord {
                number: i + 1,
                line: None,
                id: format!("r{}", i + 1),
                sequence: s.as_bytes().to_vec(),
                label: None,
                split: None,
                source: None,
            })
            .collect(),
        empty: Vec::new(),
        low_quality: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use std::io::Write;

    fn write(dir: &crate::test_dir::TempDir, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn gzip(content: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(content).unwrap();
        encoder.finish().unwrap()
    }

    fn read(path: &Path) -> Result<SequenceFile> {
        read_sequences(path, &ReadOptions::default(), None)
    }

    #[test]
    fn fasta_multiline_crlf_and_gzip() {
        let dir = crate::test_dir::tempdir().unwrap();
        let text = b">s1 desc\r\nACGT\r\nTT\r\n\r\n>s2\r\nGG\r\n";
        for path in [
            write(&dir, "a.fa", text),
            write(&dir, "a.fa.gz", &gzip(text)),
        ] {
            let file = read(&path).unwrap();
            assert_eq!(file.records[0].id, "s1");
            assert_eq!(file.records[0].sequence, b"ACGTTT");
            assert_eq!(file.records[1].sequence, b"GG");
            assert_eq!(file.format, Format::Fasta);
        }
    }

    #[test]
    fn fasta_without_header_is_refused_on_line_1() {
        let dir = crate::test_dir::tempdir().unwrap();
        let err = read(&write(&dir, "x.fa", b"ACGT\n>s\nAC\n")).unwrap_err();
        assert!(
            err.to_string().contains("line 1 does not start with '>'"),
            "{err}"
        );
        let err = read(&write(&dir, "y.fa", b">\nAC\n")).unwrap_err();
        assert!(
            err.to_string()
                .contains("record 1: the header line has no name"),
            "{err}"
        );
    }

    #[test]
    fn truncated_gzip_names_the_last_good_record() {
        let dir = crate::test_dir::tempdir().unwrap();
        let mut text = Vec::new();
        for i in 0..2000 {
            text.extend_from_slice(format!(">r{i}\nACGTACGTTGCA{i}\n").as_bytes());
        }
        let gz = gzip(&text);
        let path = write(&dir, "t.fa.gz", &gz[..gz.len() / 2]);
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("truncated or corrupt gzip data"), "{err}");
        assert!(err.contains("after record"), "{err}");
    }

    #[test]
    fn binary_and_empty_files_are_refused() {
        let dir = crate::test_dir::tempdir().unwrap();
        let err = read(&write(&dir, "b.fa", b"\x7fELF\x02\x01\x00\x00")).unwrap_err();
        assert!(err.to_string().contains("not a text file"), "{err}");
        let err = read(&write(&dir, "e.fa", b"")).unwrap_err();
        assert!(err.to_string().contains("no fasta records"), "{err}");
    }

    #[test]
    fn csv_and_tsv_columns() {
        let dir = crate::test_dir::tempdir().unwrap();
        let csv = write(
            &dir,
            "m.csv",
            b"SMILES,name\nCCO,ethanol\n\"C(=O)O\",formic\n",
        );
        let file = read(&csv).unwrap();
        assert_eq!(file.records[1].sequence, b"C(=O)O");
        assert_eq!(file.records[1].line, Some(3));
        let options = ReadOptions {
            column: Some("SMILES".into()),
            id_column: Some("name".into()),
            ..ReadOptions::default()
        };
        let file = read_sequences(&csv, &options, None).unwrap();
        assert_eq!(file.records[0].id, "ethanol");

        let tsv = write(
            &dir,
            "d.tsv.gz",
            &gzip(b"id\tsequence\tlabel\nx\tACGT\t1\ny\t0101\t0\n"),
        );
        let file = read(&tsv).unwrap();
        assert_eq!(
            file.records[1].sequence, b"0101",
            "never parsed as a number"
        );

        let options = ReadOptions {
            column: Some("seq".into()),
            ..ReadOptions::default()
        };
        let err = read_sequences(&tsv, &options, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no column named 'seq' (columns: id, sequence, label)"),
            "{err}"
        );
    }

    #[test]
    fn smi_first_field_is_the_smiles() {
        let dir = crate::test_dir::tempdir().unwrap();
        let path = write(
            &dir,
            "x.smi",
            b"smiles id\nCCO\tethanol\n\n# note\nc1ccccc1 benzene\nC\n",
        );
        let file = read(&path).unwrap();
        let ids: Vec<_> = file.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["ethanol", "benzene", "record_3"]);
        assert_eq!(file.records[1].line, Some(5));
    }

    /// A file name, pieces of its format's grammar, and a valid file of it.
    type FormatCase = (&'static str, &'static [&'static [u8]], &'static [u8]);

    const FORMATS: [FormatCase; 5] = [
        (
            "x.fa",
            &[
                b">", b"s1", b" desc", b"\n", b"\r\n", b"ACGT", b"NN", b";", b" ", b">",
            ],
            b">s1 first\nACGT\nAC\r\n>s2\n\n>s3\nGGN\n",
        ),
        (
            "x.csv",
            &[
                b"id",
                b"sequence",
                b",",
                b"\n",
                b"\"",
                b"ACGT",
                b"a,b",
                b"\"\"",
                b"\r\n",
                b" ",
            ],
            b"id,sequence,label\nr1,ACGT,x\n\"r,2\",GG,\"y \"\"z\"\"\"\n",
        ),
        (
            "x.tsv",
            &[
                b"id",
                b"smiles",
                b"\t",
                b"\n",
                b"\"",
                b"CCO",
                b"c1ccccc1",
                b"\r\n",
                b" ",
            ],
            b"smiles\tid\nCCO\tethanol\nc1ccccc1\tbenzene\n",
        ),
        (
            "x.smi",
            &[
                b"CCO", b" ", b"\t", b"name", b"\n", b"#", b"[nH]", b"%10", b"\r\n",
            ],
            b"CCO ethanol\n# comment\nc1cc[nH]c1\tpyrrole\n\nC%10CC%10\n",
        ),
        (
            "x.fq",
            &[
                b"@", b"r1", b" desc", b"\n", b"ACGT", b"+", b"IIII", b"!!", b"~", b"\r\n", b" ",
            ],
            b"@r1 first\nACGTN\n+\nII#5!\n@r2\nGG\n+r2\n~~\n",
        ),
    ];

    #[test]
    fn random_and_mutated_files_never_panic_and_errors_name_the_file() {
        let dir = crate::test_dir::tempdir().unwrap();
        let mut inputs = crate::fuzz::Inputs::new(11);
        let mut cases = 0;
        for (name, pieces, valid) in FORMATS {
            assert!(read(&write(&dir, name, valid)).is_ok(), "{name}");
            for case in 0..600 {
                let content = match case % 2 {
                    0 => inputs.grammar(pieces, 40),
                    _ => inputs.mutate(valid),
                };
                // Every tenth input gzipped, every other one of those cut short.
                let (path, bytes) = match case % 20 {
                    9 => (format!("{name}.gz"), gzip(&content)),
                    19 => {
                        let mut bytes = gzip(&content);
                        bytes.truncate(inputs.rng().random_range(0..bytes.len()));
                        (format!("{name}.gz"), bytes)
                    }
                    _ => (name.to_string(), content.clone()),
                };
                let path = write(&dir, &path, &bytes);
                match crate::fuzz::must_return(name, &content, || read(&path)) {
                    Ok(file) => {
                        // Records with text, and the empty ones apart for the report.
                        assert!(!file.records.is_empty() || !file.empty.is_empty());
                        for record in &file.records {
                            assert!(!record.sequence.is_empty());
                        }
                    }
                    Err(error) => {
                        let message = error.to_string();
                        assert!(
                            message.contains(&*path.to_string_lossy()),
                            "{name}: the error does not name the file: {message}"
                        );
                    }
                }
                cases += 1;
            }
        }
        assert_eq!(cases, 3000);
    }

    #[test]
    fn written_records_read_back_unchanged() {
        use crate::io::{write_sequences, OutputRecord};
        let dir = crate::test_dir::tempdir().unwrap();
        let mut inputs = crate::fuzz::Inputs::new(12);
        for case in 0..300 {
            let rng = inputs.rng();
            let records: Vec<OutputRecord> = (0..rng.random_range(1..6))
                .map(|i| OutputRecord {
                    id: format!("r{case}_{i}"),
                    sequence: (0..rng.random_range(1..200))
                        .map(|_| b"ACGTN"[rng.random_range(0..5)] as char)
                        .collect(),
                    metadata: vec![("note".into(), format!("a, \"b\" {case}"))],
                })
                .collect();
            for name in ["y.fa", "y.fa.gz", "y.csv", "y.tsv.gz", "y.smi"] {
                let path = dir.path().join(name);
                write_sequences(&path, None, &records).unwrap();
                let back = read(&path).unwrap();
                let sequences: Vec<&[u8]> = back.records.iter().map(|r| &r.sequence[..]).collect();
                let written: Vec<&[u8]> = records.iter().map(|r| r.sequence.as_bytes()).collect();
                assert_eq!(sequences, written, "{name}");
                if name != "y.csv" && name != "y.tsv.gz" {
                    let ids: Vec<&str> = back.records.iter().map(|r| r.id.as_str()).collect();
                    let written: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
                    assert_eq!(ids, written, "{name}");
                }
            }
        }
    }

    #[test]
    fn fastq_reads_with_a_quality_filter_and_clear_errors() {
        let dir = crate::test_dir::tempdir().unwrap();
        // Mean qualities: r1 40 ('I'), r2 2 ('#'), r3 (40 + 0) / 2 = 20.
        let text = b"@r1 lane=1\nACGT\n+\nIIII\n@r2\nGGCC\n+r2\n####\n@r3\nTT\n+\nI!\n";
        for path in [
            write(&dir, "a.fq", text),
            write(&dir, "a.fastq.gz", &gzip(text)),
        ] {
            let file = read(&path).unwrap();
            assert_eq!(file.format, Format::Fastq);
            let ids: Vec<&str> = file.records.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(ids, ["r1", "r2", "r3"]);
            assert_eq!(file.records[2].sequence, b"TT");
            assert_eq!(file.records[1].line, Some(5));
            let options = ReadOptions {
                min_mean_quality: Some(20.0),
                ..ReadOptions::default()
            };
            let file = read_sequences(&path, &options, None).unwrap();
            let ids: Vec<&str> = file.records.iter().map(|r| r.id.as_str()).collect();
            assert_eq!((ids, file.low_quality), (vec!["r1", "r3"], 1));
            let options = ReadOptions {
                min_mean_quality: Some(41.0),
                ..ReadOptions::default()
            };
            let error = read_sequences(&path, &options, None)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("all 3 reads have a mean quality below 41"),
                "{error}"
            );
        }
        for (content, expected) in [
            (
                &b"@r1\nACGT\n+\nIII\n"[..],
                "read 1 (r1): 3 quality scores for 4 bases",
            ),
            (
                b"@r1\nAC\n+\nI\x07\n",
                "read 1 (r1): quality '\\x07' at position 2",
            ),
            (b">r1\nACGT\n", "read 1:"),
            (b"@r1\nACGT\n-\nIIII\n", "read 1:"),
        ] {
            let error = read(&write(&dir, "b.fq", content)).unwrap_err().to_string();
            assert!(
                error.contains(expected) && error.contains("b.fq"),
                "{error}"
            );
        }
        let options = ReadOptions {
            min_mean_quality: Some(20.0),
            ..ReadOptions::default()
        };
        let fasta = write(&dir, "c.fa", b">a\nACGT\n");
        let error = read_sequences(&fasta, &options, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("needs FASTQ input"), "{error}");
    }
}
