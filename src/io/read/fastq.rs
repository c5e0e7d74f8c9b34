//! FASTQ through noodles, with the optional mean-quality filter.

use std::{io::BufRead, path::Path};

use super::{description_value, LabelSource, ReadOptions, SequenceRecord};
use crate::{
    error::{one_line, quote_symbol, Error, Result},
    io::open::read_error,
};

/// Reads FASTQ through noodles; returns the number of reads left out for their quality.
/// Qualities must be as long as the sequence and within the encoding's range.
pub(super) fn read_fastq(
    path: &Path,
    reader: Box<dyn BufRead>,
    options: &ReadOptions,
    push: &mut dyn FnMut(SequenceRecord),
) -> Result<usize> {
    let offset = match options.quality_offset {
        0 | 33 => 33u8,
        64 => 64,
        other => return Err(Error::QualityOffset { offset: other }),
    };
    // Phred+64 files from the Solexa pipeline hold scores down to -5 (';').
    let lowest = if offset == 64 { b';' } else { b'!' };
    let mut reader = noodles_fastq::io::Reader::new(reader);
    let mut record = noodles_fastq::Record::default();
    let mut low_quality = 0;
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    for number in 1.. {
        match reader.read_record(&mut record) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if e.get_ref()
                    .is_some_and(|i| i.is::<crate::io::open::GzipFailure>()) =>
            {
                let context = match number {
                    1 => " in the first read".to_string(),
                    _ => format!(" after read {}", number - 1),
                };
                return Err(read_error(path, e, context));
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(format_error(format!(
                    "read {number}: the file ends inside this read (FASTQ: '@name', sequence, '+', qualities)"
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(format_error(format!(
                    "read {number}: {} (FASTQ: '@name', sequence, '+', qualities)",
                    one_line(&e.to_string())
                )));
            }
            Err(e) => return Err(read_error(path, e, format!(" at read {number}"))),
        }
        let id = String::from_utf8_lossy(record.name()).into_owned();
        let label = match &options.label {
            Some(LabelSource::Key(key)) => {
                description_value(&String::from_utf8_lossy(record.description()), key)
                    .map(str::to_string)
            }
            _ => None,
        };
        let (sequence, qualities) = (record.sequence(), record.quality_scores());
        if qualities.len() != sequence.len() {
            return Err(format_error(format!(
                "read {number} ({id}): {} quality scores for {} bases",
                qualities.len(),
                sequence.len()
            )));
        }
        if let Some(at) = qualities.iter().position(|q| !(lowest..=b'~').contains(q)) {
            return Err(format_error(format!(
                "read {number} ({id}): quality {} at position {} is not Phred+{offset} ('{}' to '~')",
                quote_symbol(&qualities[at..=at]),
                at + 1,
                lowest as char
            )));
        }
        if let Some(min) = options.min_mean_quality {
            let total: i64 = qualities
                .iter()
                .map(|&q| i64::from(q) - i64::from(offset))
                .sum();
            let mean = total as f64 / qualities.len().max(1) as f64;
            if mean < min {
                low_quality += 1;
                continue;
            }
        }
        push(SequenceRecord {
            number,
            line: Some(4 * number - 3),
            id,
            sequence: sequence.to_vec(),
            label,
            split: None,
            source: None,
        });
    }
    Ok(low_quality)
}
