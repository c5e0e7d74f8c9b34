//! Scan tables: CSV/TSV files with a header and a column of mutations (`mutant`, `mutation`
//! or `variant`), read one column at a time beside it.

use std::path::{Path, PathBuf};

use crate::{
    io::{read_sequences, Format, LabelSource, ReadOptions},
    Error, Result,
};

/// The columns a scan table names its mutations by, when no column is given.
pub const VARIANT_COLUMNS: [&str; 3] = ["mutant", "mutation", "variant"];

/// A scan table's format, column names and mutation column, from its header.
#[derive(Debug, Clone)]
pub(crate) struct MutationTable {
    path: PathBuf,
    format: Format,
    names: Vec<String>,
    mutation: String,
}

/// One row of a scan table: its line, its mutation, and the value asked for.
pub(crate) struct TableRow {
    pub line: usize,
    pub mutation: String,
    pub value: Option<String>,
}

impl MutationTable {
    /// Reads the header of `path`: CSV by its name or by a header with commas and no tabs,
    /// TSV otherwise; the mutation column is `column`, or the first of [`VARIANT_COLUMNS`] the
    /// header names (in any case).
    pub(crate) fn open(path: &Path, column: Option<&str>) -> Result<MutationTable> {
        let mut header = String::new();
        std::io::BufRead::read_line(&mut *crate::io::open_text(path)?, &mut header)
            .map_err(|e| crate::io::read_error(path, e, " at line 1".into()))?;
        let format = match Format::from_path(path) {
            Some(Format::Csv) => Format::Csv,
            _ if header.contains(',') && !header.contains('\t') => Format::Csv,
            _ => Format::Tsv,
        };
        let separator = if format == Format::Csv { ',' } else { '\t' };
        let names: Vec<String> = header
            .trim_end()
            .split(separator)
            .map(|n| n.trim().trim_matches('"').to_string())
            .collect();
        let mutation = match column {
            Some(column) => Some(column.to_string()),
            None => VARIANT_COLUMNS
                .iter()
                .find_map(|c| names.iter().find(|n| n.eq_ignore_ascii_case(c)))
                .cloned(),
        };
        let Some(mutation) = mutation else {
            return Err(Error::MissingColumn {
                path: path.to_path_buf(),
                column: VARIANT_COLUMNS[0].to_string(),
                available: names,
            });
        };
        Ok(MutationTable {
            path: path.to_path_buf(),
            format,
            names,
            mutation,
        })
    }

    /// The header's column names.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// The mutation column.
    pub(crate) fn mutation_column(&self) -> &str {
        &self.mutation
    }

    /// Every row with a mutation, with the text of column `value` when one is named.
    pub(crate) fn rows(&self, value: Option<&str>) -> Result<Vec<TableRow>> {
        let options = ReadOptions {
            format: Some(self.format),
            column: Some(self.mutation.clone()),
            label: value.map(|v| LabelSource::Column(v.to_string())),
            ..ReadOptions::default()
        };
        let file = read_sequences(&self.path, &options, None)?;
        Ok(file
            .records
            .into_iter()
            .map(|r| TableRow {
                line: r.line.unwrap_or(r.number + 1),
                mutation: String::from_utf8_lossy(&r.sequence).trim().to_string(),
                value: r.label,
            })
            .collect())
    }
}
