//! FASTA through noodles: multi-line records, labels from `KEY=value` description words.

use std::{io::BufRead, path::Path};

use noodles_fasta as fasta;

use super::{description_value, SequenceRecord};
use crate::{
    error::{Error, Result},
    io::open::read_error,
};

pub(super) fn read_fasta(
    path: &Path,
    reader: Box<dyn BufRead>,
    label_key: Option<&str>,
    push: &mut dyn FnMut(SequenceRecord),
) -> Result<()> {
    let mut reader = fasta::io::Reader::new(reader);
    let mut last_id = String::new();
    for (index, result) in reader.records().enumerate() {
        let number = index + 1;
        let record = result.map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData
                && e.get_ref()
                    .is_none_or(|i| !i.is::<crate::io::open::GzipFailure>())
            {
                // noodles-fasta (0.68, io/reader/definition.rs) reports header problems as
                // `io::Error`s of kind InvalidData carrying only these strings; there is no
                // typed error to match, so the strings are matched, and anything else passes
                // through with the record number.
                let message = match (number, e.to_string().as_str()) {
                    (1, "invalid prefix" | "missing prefix") => {
                        "line 1 does not start with '>': not FASTA, or FASTA without a header line"
                            .to_string()
                    }
                    (_, "missing name") => {
                        format!("record {number}: the header line has no name after '>'")
                    }
                    (_, other) => format!("record {number}: {other}"),
                };
                Error::Format {
                    path: path.to_path_buf(),
                    message,
                }
            } else {
                let context = if number > 1 {
                    format!(" after record {} ({last_id})", number - 1)
                } else {
                    " in the first record".to_string()
                };
                read_error(path, e, context)
            }
        })?;
        let id = String::from_utf8_lossy(record.name()).into_owned();
        last_id.clone_from(&id);
        let label = label_key.and_then(|key| {
            let description = String::from_utf8_lossy(record.description()?.as_ref());
            description_value(&description, key).map(str::to_string)
        });
        push(SequenceRecord {
            number,
            line: None,
            id,
            sequence: record.sequence().as_ref().to_vec(),
            label,
            split: None,
            source: None,
        });
    }
    Ok(())
}
