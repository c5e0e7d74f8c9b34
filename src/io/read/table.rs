//! CSV and TSV through polars: a sequence column, and optionally a label column.

use std::{
    io::{BufRead, Cursor, Read},
    path::Path,
    sync::Arc,
};

use polars::prelude::{CsvReadOptions, DataType, PlSmallStr, SerReader};

use super::{LabelSource, ReadOptions, SequenceRecord};
use crate::{
    error::{one_line, Error, Result},
    io::open::read_error,
};

/// The separator-split, unquoted names of a table's header line.
fn header_names(line: &str, separator: u8) -> Vec<String> {
    line.trim_end_matches(['\r', '\n'])
        .split(separator as char)
        .map(|name| name.trim().trim_matches('"').to_string())
        .collect()
}

/// The first row that is not a table row of `fields` fields (quotes respected, `""` an
/// escaped quote), with why: polars would name neither the line nor the cause, and drops the
/// extra fields of a long row without a word.
fn malformed_row(bytes: &[u8], separator: u8, fields: usize) -> Option<(usize, String)> {
    let (mut line, mut row_start_line, mut count, mut quoted) = (1, 1, 1, false);
    let mut row_has_content = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match (b, quoted) {
            (b'"', true) if bytes.get(i + 1) == Some(&b'"') => i += 1,
            (b'"', _) => quoted = !quoted,
            (b'\n', true) => line += 1,
            (b'\n', false) => {
                // The header is line 1; blank lines are skipped as polars skips them.
                if row_start_line > 1 && row_has_content && count != fields {
                    return Some((row_start_line, field_count(count, fields)));
                }
                line += 1;
                (row_start_line, count, row_has_content) = (line, 1, false);
            }
            (sep, false) if sep == separator => count += 1,
            (b'\r', false) => {}
            _ => {}
        }
        if !matches!(b, b'\n' | b'\r') {
            row_has_content = true;
        }
        i += 1;
    }
    if quoted {
        return Some((
            row_start_line,
            "a quote opens a field that never closes".into(),
        ));
    }
    (row_start_line > 1 && row_has_content && count != fields)
        .then(|| (row_start_line, field_count(count, fields)))
}

fn field_count(count: usize, fields: usize) -> String {
    match count {
        1 => format!("1 field, but the header names {fields}"),
        _ => format!("{count} fields, but the header names {fields}"),
    }
}

pub(super) fn read_table(
    path: &Path,
    mut reader: Box<dyn BufRead>,
    separator: u8,
    options: &ReadOptions,
    push: &mut dyn FnMut(SequenceRecord),
) -> Result<()> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(path, e, String::new()))?;
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        // polars' messages span lines ("...\n\nDid you mean ...?"); ours are one line.
        message: one_line(&message),
    };
    let header_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let header = std::str::from_utf8(&bytes[..header_end])
        .map_err(|_| format_error("line 1: the header line is not UTF-8 text".into()))?;
    let names = header_names(header, separator);
    if names.iter().all(String::is_empty) {
        return Err(format_error(
            "line 1: empty header line; a table needs a header naming its columns".into(),
        ));
    }
    if let Some((line, why)) = malformed_row(&bytes, separator, names.len()) {
        return Err(format_error(format!("line {line}: {why}")));
    }
    let column = sequence_column(path, &names, options)?;
    let label_column = match &options.label {
        Some(LabelSource::Column(label)) => Some(label),
        _ => None,
    };
    let extras = || {
        options
            .id_column
            .iter()
            .chain(label_column)
            .chain(&options.split_column)
    };
    for extra in extras() {
        if !names.contains(extra) {
            return Err(Error::MissingColumn {
                path: path.to_path_buf(),
                column: extra.clone(),
                available: names,
            });
        }
    }
    let mut wanted: Vec<PlSmallStr> = vec![column.as_str().into()];
    for extra in extras() {
        if extra != &column && !wanted.iter().any(|w| w.as_str() == extra) {
            wanted.push(extra.as_str().into());
        }
    }
    // Every column as a string: sequences must never be parsed as numbers or dates.
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_columns(Some(Arc::from(wanted)))
        .map_parse_options(|parse| parse.with_separator(separator))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| {
            format_error(format!(
                "cannot parse as {}: {e}",
                if separator == b',' { "CSV" } else { "TSV" }
            ))
        })?;
    let as_strings = |name: &str| {
        frame
            .column(name)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|e| format_error(e.to_string()))
    };
    let sequences = as_strings(&column)?;
    let sequences = sequences.str().map_err(|e| format_error(e.to_string()))?;
    // The short columns (ids, labels, splits) as owned strings, one per row.
    let cells = |name: &str| -> Result<Vec<Option<String>>> {
        let column = as_strings(name)?;
        let column = column.str().map_err(|e| format_error(e.to_string()))?;
        Ok(column.iter().map(|v| v.map(str::to_string)).collect())
    };
    let ids = options.id_column.as_deref().map(cells).transpose()?;
    let splits = options.split_column.as_deref().map(cells).transpose()?;
    let labels = label_column.map(|c| cells(c)).transpose()?;
    fn cell(column: &Option<Vec<Option<String>>>, row: usize) -> Option<&str> {
        column.as_ref().and_then(|c| c[row].as_deref())
    }
    for (row, sequence) in sequences.iter().enumerate() {
        let number = row + 1;
        let id = cell(&ids, row)
            .map(str::to_string)
            .unwrap_or_else(|| format!("record_{number}"));
        push(SequenceRecord {
            number,
            // The header is line 1; tables with quoted multi-line fields are not expected here.
            line: Some(number + 1),
            id,
            sequence: sequence.unwrap_or_default().trim().as_bytes().to_vec(),
            label: cell(&labels, row)
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
            split: cell(&splits, row).map(|s| s.trim().to_string()),
            source: None,
        });
    }
    Ok(())
}

/// The sequence column: the one `options` names, or the only `sequence`, `seq` or `smiles`
/// column (any case).
fn sequence_column(path: &Path, names: &[String], options: &ReadOptions) -> Result<String> {
    match &options.column {
        Some(column) => {
            if !names.contains(column) {
                return Err(Error::MissingColumn {
                    path: path.to_path_buf(),
                    column: column.clone(),
                    available: names.to_vec(),
                });
            }
            Ok(column.clone())
        }
        None => {
            let guesses: Vec<&String> = names
                .iter()
                .filter(|n| {
                    matches!(
                        n.to_ascii_lowercase().as_str(),
                        "sequence" | "seq" | "smiles"
                    )
                })
                .collect();
            match guesses.as_slice() {
                [one] => Ok((*one).clone()),
                _ => Err(Error::MissingColumn {
                    path: path.to_path_buf(),
                    column: "sequence".into(),
                    available: names.to_vec(),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_row_is_named_by_its_line() {
        let check = |text: &str| malformed_row(text.as_bytes(), b',', 2);
        assert_eq!(check("id,sequence\nr1,ACGT\nr2,AC\n"), None);
        assert_eq!(check("id,sequence\r\nr1,ACGT\r\n\nr2,\"A,C\"\n"), None);
        assert_eq!(check("id,sequence\nr1,\"say \"\"hi\"\"\"\n"), None);
        assert_eq!(
            check("id,sequence\nr1,ACGT,x\nr2,AC\n"),
            Some((2, "3 fields, but the header names 2".into()))
        );
        assert_eq!(
            check("id,sequence\nr1,ACGT\nr2,\"ACG\nr3,ACGT\n"),
            Some((3, "a quote opens a field that never closes".into()))
        );
        assert_eq!(
            check("id,sequence\nr1"),
            Some((2, "1 field, but the header names 2".into()))
        );
    }
}
