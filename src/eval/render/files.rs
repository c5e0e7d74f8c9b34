//! The files of a report folder, written together.

use std::path::Path;

use crate::{Error, Result};

/// Files of a report folder, by name, with their contents, in the order they are written.
#[derive(Debug, Clone, Default)]
pub struct Files(pub Vec<(String, String)>);

impl Files {
    /// Adds a file after the others.
    pub fn push(&mut self, name: &str, text: String) {
        self.0.push((name.to_string(), text));
    }

    /// Writes every file into `dir` (created if need be), each atomically; refuses to write
    /// over any of `inputs` (a reference set kept in the report folder under a report file's
    /// name would be destroyed).
    pub fn write(&self, dir: &Path, inputs: &[&Path]) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        for (name, text) in &self.0 {
            let path = dir.join(name);
            crate::io::refuse_overwriting_inputs(&path, inputs)?;
            crate::io::write_atomically(&path, |w| {
                use std::io::Write;
                Ok(w.write_all(text.as_bytes())?)
            })?;
        }
        Ok(())
    }
}

impl Extend<(String, String)> for Files {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, files: I) {
        self.0.extend(files);
    }
}
