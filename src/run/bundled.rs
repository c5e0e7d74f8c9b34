//! Models that ship with seddbio: the repository's `models/` folder holds one folder per model,
//! named by the model, with
//!
//! - `model.safetensors`: the EMA weights with the run's `run.toml` and `alphabet.toml` in the
//!   metadata, as `seddbio weights export` writes them (docs/guide.md, "Weights as
//!   safetensors");
//! - `MODEL.md`: its model card;
//! - `model.toml`: what it is, what it was trained on, for how long, and its held-out figures
//!   ([`ModelFacts`]), which `seddbio models` lists.
//!
//! Wherever a run directory is accepted (`--model`, `--init-from`), a bundled model's name is
//! too ([`open_model`]): a path that exists is a run directory; a bare name that is not one is
//! looked up among the bundled models. The first use imports the weights into a run directory
//! in the cache (`$SEDDBIO_CACHE`, else `$XDG_CACHE_HOME/seddbio`, else `~/.cache/seddbio`),
//! in a folder named by the model and the digest of its file: a changed file is imported anew,
//! and the import is written under a temporary name and renamed into place, so that two
//! processes starting at once never read a half-written run.

use std::{
    fs,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::{import_weights, safetensors::read_summary, RunDir, WeightsSummary};
use crate::{io::Fnv1a, Error, Result};

/// Environment variable naming the folder of bundled models (default: the `models/` folder of
/// the source tree seddbio was built from).
pub const MODELS_ENV: &str = "SEDDBIO_MODELS";
/// Environment variable naming the cache folder (bundled models imported as run directories).
pub const CACHE_ENV: &str = "SEDDBIO_CACHE";
/// The weights file of a bundled model's folder.
const WEIGHTS_FILE: &str = "model.safetensors";
/// The facts file of a bundled model's folder.
const FACTS_FILE: &str = "model.toml";
/// The model card of a bundled model's folder.
const CARD_FILE: &str = "MODEL.md";

/// `model.toml` of a bundled model: what `seddbio models` says about it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFacts {
    /// One line: what the model generates.
    pub description: String,
    /// The training data and its split.
    pub data: String,
    /// How it was trained: preset, options, time and machine (`seddbio models` adds the steps,
    /// read from the weights, so the text does not repeat them).
    pub training: String,
    /// The held-out figures.
    pub held_out: HeldOutFacts,
}

/// The held-out figures of a bundled model (docs/results.md has the commands that made them).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldOutFacts {
    /// The held-out sequences.
    pub split: String,
    /// The model's bound, bits per token (16 times per sequence).
    pub bits_per_token: f64,
    /// Its standard error.
    pub standard_error: f64,
    /// The best Markov chain's bits per token on the same sequences.
    pub markov_bits_per_token: f64,
    /// That chain's order.
    pub markov_order: usize,
}

/// A bundled model: its name, folder, facts and what its weights file says.
#[derive(Debug, Clone)]
pub struct BundledModel {
    name: String,
    dir: PathBuf,
    facts: ModelFacts,
    weights: WeightsSummary,
    bytes: u64,
}

impl BundledModel {
    /// The name `--model` and `--init-from` accept.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `model.toml`.
    pub fn facts(&self) -> &ModelFacts {
        &self.facts
    }

    /// Alphabet, parameters, steps and labels, from the weights file's header.
    pub fn weights(&self) -> &WeightsSummary {
        &self.weights
    }

    /// Size of the weights file in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Its model card (`MODEL.md`).
    pub fn card(&self) -> PathBuf {
        self.dir.join(CARD_FILE)
    }

    fn read(dir: &Path) -> Result<BundledModel> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let facts_path = dir.join(FACTS_FILE);
        let text = fs::read_to_string(&facts_path).map_err(|source| Error::Io {
            path: facts_path.clone(),
            source,
        })?;
        let facts = toml::from_str(&text).map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .and_then(|span| text.get(..span.start))
                .map(|before| before.matches('\n').count() + 1)
                .map(|line| format!("line {line}: "))
                .unwrap_or_default();
            Error::Format {
                path: facts_path,
                message: format!("{line}{}", e.message()),
            }
        })?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let weights = read_summary(&weights_path)?;
        let bytes = fs::metadata(&weights_path)
            .map_err(|source| Error::Io {
                path: weights_path,
                source,
            })?
            .len();
        Ok(BundledModel {
            name,
            dir: dir.to_path_buf(),
            facts,
            weights,
            bytes,
        })
    }
}

/// The folder of bundled models: `$SEDDBIO_MODELS`, else `models/` in the source tree this
/// binary was built from.
pub fn models_dir() -> PathBuf {
    match std::env::var_os(MODELS_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("models"),
    }
}

/// The bundled models in [`models_dir`], sorted by name: every folder there that holds a
/// `model.safetensors`. A folder whose files cannot be read is an error naming the file.
pub fn bundled_models() -> Result<Vec<BundledModel>> {
    let dir = models_dir();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Io { path: dir, source }),
    };
    let mut models = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?
            .path();
        if path.join(WEIGHTS_FILE).is_file() {
            models.push(BundledModel::read(&path)?);
        }
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(models)
}

/// Whether `text` could be a bundled model's name rather than a path: letters, digits, `-`,
/// `_` and `.`, not starting with `.`.
fn is_model_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('.')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The run that `model` names: the run directory at that path when one exists there, else the
/// bundled model of that name (imported into the cache on first use), else the run directory
/// at that path (whose reading then says what is missing).
///
/// ```
/// use seddbio::run::open_model;
///
/// // A path is a run directory, whether or not a run is there yet.
/// let run = open_model("runs/mine".as_ref()).unwrap();
/// assert_eq!(run.root(), std::path::Path::new("runs/mine"));
/// assert_eq!(run.name(), "runs/mine");
/// ```
pub fn open_model(model: &Path) -> Result<RunDir> {
    let text = model.to_string_lossy();
    if model.exists() || !is_model_name(&text) {
        return Ok(RunDir::new(model));
    }
    let folder = models_dir().join(model);
    if !folder.join(WEIGHTS_FILE).is_file() {
        let known: Vec<String> = bundled_models()
            .unwrap_or_default()
            .iter()
            .map(|m| m.name.clone())
            .collect();
        return Err(Error::Run {
            run: model.to_path_buf(),
            message: format!(
                "no run directory here and no bundled model of that name (bundled: {}; `seddbio models` lists them)",
                match known.is_empty() {
                    true => "none found".to_string(),
                    false => known.join(", "),
                }
            ),
        });
    }
    let bundled = BundledModel::read(&folder)?;
    let run = import_into_cache(&bundled)?;
    Ok(RunDir::named(run, &bundled.name))
}

/// The cache folder: `$SEDDBIO_CACHE`, else `$XDG_CACHE_HOME/seddbio`, else
/// `$HOME/.cache/seddbio`.
fn cache_dir() -> Result<PathBuf> {
    let from = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = from(CACHE_ENV) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = from("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("seddbio"));
    }
    match from("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("seddbio")),
        None => Err(Error::Run {
            run: PathBuf::from(CACHE_ENV),
            message: format!(
                "no cache folder for bundled models: set {CACHE_ENV}, XDG_CACHE_HOME or HOME"
            ),
        }),
    }
}

/// The cache's run directory of `model`, imported from its weights file unless a run of the
/// same file is there already.
fn import_into_cache(model: &BundledModel) -> Result<PathBuf> {
    let file = model.dir.join(WEIGHTS_FILE);
    let bytes = fs::read(&file).map_err(|source| Error::Io {
        path: file.clone(),
        source,
    })?;
    let models = cache_dir()?.join("models");
    let target = models.join(format!("{}-{:016x}", model.name, Fnv1a::of(&bytes)));
    if RunDir::new(&target).has_checkpoint() {
        return Ok(target);
    }
    fs::create_dir_all(&models).map_err(|source| Error::Io {
        path: models.clone(),
        source,
    })?;
    let temporary = models.join(format!(".{}.tmp-{}", model.name, std::process::id()));
    if temporary.exists() {
        fs::remove_dir_all(&temporary).map_err(|source| Error::Io {
            path: temporary.clone(),
            source,
        })?;
    }
    import_weights(&file, bytes, &RunDir::new(&temporary))?;
    match fs::rename(&temporary, &target) {
        Ok(()) => crate::io::sync_directory(&models),
        // Another process imported the same file first: use its run.
        Err(_) if RunDir::new(&target).has_checkpoint() => {
            fs::remove_dir_all(&temporary).map_err(|source| Error::Io {
                path: temporary,
                source,
            })
        }
        Err(source) => Err(Error::Io {
            path: target.clone(),
            source,
        }),
    }?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_told_from_paths() {
        for name in ["dhs-k562-hepg2", "uniprot_small", "moses.v2"] {
            assert!(is_model_name(name), "{name}");
        }
        for path in ["runs/dm3", "./x", ".hidden", "", "a b", "../m"] {
            assert!(!is_model_name(path), "{path}");
        }
    }
}
