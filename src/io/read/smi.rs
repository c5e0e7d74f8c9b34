//! `.smi` files: one SMILES per line, optionally followed by whitespace and an id.

use std::{io::BufRead, path::Path};

use super::SequenceRecord;
use crate::{error::Result, io::open::read_error};

pub(super) fn read_smi(
    path: &Path,
    reader: Box<dyn BufRead>,
    push: &mut dyn FnMut(SequenceRecord),
) -> Result<()> {
    let mut number = 0;
    for (index, line) in reader.split(b'\n').enumerate() {
        let line_number = index + 1;
        let line = line.map_err(|e| read_error(path, e, format!(" at line {line_number}")))?;
        let mut fields = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|field| !field.is_empty());
        let Some(smiles) = fields.next() else {
            continue; // blank line
        };
        if smiles.starts_with(b"#") || (number == 0 && smiles.eq_ignore_ascii_case(b"smiles")) {
            continue; // comment or header line
        }
        number += 1;
        let id = fields
            .next()
            .map(|id| String::from_utf8_lossy(id).into_owned())
            .unwrap_or_else(|| format!("record_{number}"));
        push(SequenceRecord {
            number,
            line: Some(line_number),
            id,
            sequence: smiles.to_vec(),
            label: None,
            split: None,
            source: None,
        });
    }
    Ok(())
}
