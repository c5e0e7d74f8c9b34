//! A run's weights as one safetensors file (`seddbio weights export` and `import`): the format
//! the Hugging Face Hub and PyTorch read, so that a model leaves seddbio for NumPy or PyTorch
//! and comes back.
//!
//! The file holds one float32 tensor per parameter, named by its place in the network (the
//! tensor-name map is in docs/guide.md, "Weights as safetensors"), and in its metadata the run's
//! `run.toml` and `alphabet.toml`, so that a file is a whole model: `import` turns it back into a
//! run directory that `sample`, `infill`, `score` and `train --init-from` accept. burn's store
//! writes and reads the tensors (`burn::store::SafetensorsStore`), checking every name and shape
//! on the way in.

use std::{io::Read, path::Path};

use burn::{
    module::Module,
    store::{ApplyResult, ModuleSnapshot, SafetensorsStore},
    tensor::Device,
};

use super::{
    trained::{EMA_FILE, MODEL_FILE},
    RunDir, RunSpec, TrainedModel, Weights,
};
use crate::{alphabet::Alphabet, model::flat_parameters, Error, Result};

/// Metadata key whose value marks a seddbio file.
const FORMAT_KEY: &str = "format";
/// Its value.
const FORMAT: &str = "seddbio";
/// Metadata key of the run's `run.toml`.
const RUN_KEY: &str = "seddbio.run_toml";
/// Metadata key of the run's `alphabet.toml`.
const ALPHABET_KEY: &str = "seddbio.alphabet_toml";
/// Metadata key of the steps the weights were trained for.
const STEP_KEY: &str = "seddbio.step";
/// Metadata key of which weights these are (`ema` or `raw`).
const WEIGHTS_KEY: &str = "seddbio.weights";

/// What [`export_weights`] made.
#[derive(Debug, Clone)]
pub struct ExportedWeights {
    /// The safetensors file.
    pub bytes: Vec<u8>,
    /// Parameters (floats) in it.
    pub parameters: usize,
    /// Steps the weights were trained for.
    pub step: u64,
}

/// The weights of `run`'s latest checkpoint (EMA or raw) as a safetensors file, with the run's
/// specification and vocabulary in its metadata.
pub fn export_weights(run: &RunDir, weights: Weights) -> Result<ExportedWeights> {
    let trained = TrainedModel::load(run, Device::flex(), weights)?;
    let run_toml = toml::to_string(&trained.spec)
        .map_err(|e| run.checkpoint_error(format!("run.toml: {e}")))?;
    let mut store = SafetensorsStore::from_bytes(None)
        .metadata(FORMAT_KEY, FORMAT)
        .metadata(RUN_KEY, run_toml)
        .metadata(ALPHABET_KEY, trained.alphabet.to_toml())
        .metadata(STEP_KEY, trained.step.to_string())
        .metadata(WEIGHTS_KEY, weights.to_string());
    trained
        .model
        .save_into(&mut store)
        .map_err(|e| run.checkpoint_error(format!("writing safetensors: {e}")))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| run.checkpoint_error(format!("writing safetensors: {e}")))?;
    Ok(ExportedWeights {
        bytes,
        parameters: trained.model.num_params(),
        step: trained.step,
    })
}

/// What [`import_weights`] made.
#[derive(Debug, Clone)]
pub struct ImportedRun {
    /// The run's alphabet name.
    pub alphabet: String,
    /// Parameters read.
    pub parameters: usize,
    /// Steps the weights were trained for, as the file says.
    pub step: u64,
}

/// Makes the run directory `out` (which must not hold a run) from the safetensors file `bytes`
/// read from `path`: its specification and vocabulary from the metadata, its weights from the
/// tensors, which must match the specification's network name for name and shape. The
/// checkpoint holds the weights as both the trained and the averaged model, and no optimiser
/// state: the run samples, infills, scores and starts fine-tuning (`--init-from`); it does not
/// resume.
pub fn import_weights(path: &Path, bytes: Vec<u8>, out: &RunDir) -> Result<ImportedRun> {
    let bad = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let metadata = read_metadata(&bytes).map_err(&bad)?;
    let (spec, step) = spec_and_step(&metadata).map_err(&bad)?;
    let origin = format!("{} ({ALPHABET_KEY})", path.display());
    let alphabet = Alphabet::from_toml_str(
        metadata_text(&metadata, ALPHABET_KEY).map_err(&bad)?,
        &origin,
    )?;
    spec.check_vocabulary(&alphabet, (ALPHABET_KEY, RUN_KEY))
        .map_err(bad)?;
    let device = Device::flex();
    let mut model = spec.network().init(&device);
    // Partial loading with validation off makes burn report what does not fit instead of
    // failing with its own multi-line summary; `misfit` turns the report into one line.
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .validate(false)
        .allow_partial(true);
    let applied = model.load_from(&mut store).map_err(|e| {
        bad(format!(
            "the tensors do not fit the network in {RUN_KEY}: {e}"
        ))
    })?;
    if let Some(misfit) = misfit(&applied) {
        return Err(bad(format!(
            "the tensors do not fit the network in {RUN_KEY}: {misfit}"
        )));
    }
    if !flat_parameters(&model).iter().all(|v| v.is_finite()) {
        return Err(bad("holds NaN or infinite weights".into()));
    }
    if out.exists() {
        return Err(Error::Run {
            run: out.root().to_path_buf(),
            message: "a run is already here; import into a new directory".into(),
        });
    }
    let _lock = out.lock()?;
    out.create(&spec, &alphabet)?;
    let record = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| out.checkpoint_error(format!("saving the weights: {e}")))?
        .to_vec();
    out.save_checkpoint(step, &[(MODEL_FILE, record.clone()), (EMA_FILE, record)])?;
    Ok(ImportedRun {
        alphabet: alphabet.name().to_string(),
        parameters: model.num_params(),
        step,
    })
}

/// How many names an error lists before "and N more".
const NAMES_SHOWN: usize = 4;

/// What of a load does not fit, in one line (`None` when everything does): the network's
/// tensors the file lacks, the file's tensors the network has no place for, and tensors of
/// another shape or type, each list cut to [`NAMES_SHOWN`].
fn misfit(applied: &ApplyResult) -> Option<String> {
    fn listed(what: &str, items: Vec<String>) -> Option<String> {
        if items.is_empty() {
            return None;
        }
        let mut text = items[..items.len().min(NAMES_SHOWN)].join(", ");
        if items.len() > NAMES_SHOWN {
            text.push_str(&format!(" and {} more", items.len() - NAMES_SHOWN));
        }
        Some(format!("{what} {text}"))
    }
    let parts: Vec<String> = [
        listed(
            "missing",
            applied
                .missing
                .iter()
                .map(|(name, _)| name.clone())
                .collect(),
        ),
        listed("not in the network", applied.unused.clone()),
        listed(
            "not fitting",
            applied.errors.iter().map(|e| e.to_string()).collect(),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// What the header of a file `export_weights` wrote says, read without its tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightsSummary {
    /// The alphabet's name.
    pub alphabet: String,
    /// Parameters (floats) in the tensors.
    pub parameters: usize,
    /// Steps the weights were trained for.
    pub step: u64,
    /// Positions per sequence.
    pub seq_len: usize,
    /// The labels of a conditional model (empty otherwise).
    pub labels: Vec<String>,
}

/// The [`WeightsSummary`] of the safetensors file at `path`, from its header alone.
pub(crate) fn read_summary(path: &Path) -> Result<WeightsSummary> {
    let bad = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut length = [0u8; 8];
    file.read_exact(&mut length)
        .map_err(|_| bad(NOT_SAFETENSORS.into()))?;
    let length = u64::from_le_bytes(length);
    let mut header = Vec::new();
    file.take(length).read_to_end(&mut header).map_err(io)?;
    let header = parse_header(&header, length).map_err(&bad)?;
    let metadata = metadata_of(&header).map_err(&bad)?;
    let (spec, step) = spec_and_step(&metadata).map_err(&bad)?;
    let parameters = header
        .iter()
        .filter(|(name, _)| *name != "__metadata__")
        .map(|(_, tensor)| {
            tensor
                .get("shape")
                .and_then(|s| s.as_array())
                .map(|dims| dims.iter().filter_map(|d| d.as_u64()).product::<u64>() as usize)
                .unwrap_or(0)
        })
        .sum();
    Ok(WeightsSummary {
        alphabet: spec.alphabet,
        parameters,
        step,
        seq_len: spec.seq_len,
        labels: spec.labels,
    })
}

const NOT_SAFETENSORS: &str = "not a safetensors file (no header)";

/// The metadata's text under `key`.
fn metadata_text<'a>(
    metadata: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> std::result::Result<&'a str, String> {
    metadata.get(key).and_then(|v| v.as_str()).ok_or_else(|| {
        format!("no '{key}' in the metadata; not a file `seddbio weights export` wrote")
    })
}

/// The run's specification and the weights' step from the metadata of a file that
/// [`export_weights`] wrote (its `format` checked first).
fn spec_and_step(
    metadata: &serde_json::Map<String, serde_json::Value>,
) -> std::result::Result<(RunSpec, u64), String> {
    let format = metadata_text(metadata, FORMAT_KEY)?;
    if format != FORMAT {
        return Err(format!(
            "metadata '{FORMAT_KEY}' is '{format}', not '{FORMAT}'"
        ));
    }
    let spec = RunSpec::parse(metadata_text(metadata, RUN_KEY)?)
        .map_err(|why| format!("{RUN_KEY}: {why}"))?;
    let step = metadata_text(metadata, STEP_KEY)?
        .parse()
        .map_err(|_| format!("{STEP_KEY} is not a step count"))?;
    Ok((spec, step))
}

/// The JSON header of a safetensors file, `length` bytes long (`bytes` holds at least those).
fn parse_header(
    bytes: &[u8],
    length: u64,
) -> std::result::Result<serde_json::Map<String, serde_json::Value>, String> {
    let header = usize::try_from(length)
        .ok()
        .and_then(|length| bytes.get(..length))
        .ok_or_else(|| NOT_SAFETENSORS.to_string())?;
    match serde_json::from_slice(header).map_err(|e| format!("header: {e}"))? {
        serde_json::Value::Object(header) => Ok(header),
        _ => Err("header: not a JSON object".into()),
    }
}

/// The `__metadata__` object of a header.
fn metadata_of(
    header: &serde_json::Map<String, serde_json::Value>,
) -> std::result::Result<serde_json::Map<String, serde_json::Value>, String> {
    header
        .get("__metadata__")
        .and_then(|m| m.as_object())
        .cloned()
        .ok_or_else(|| {
            "no metadata in the header; not a file `seddbio weights export` wrote".into()
        })
}

/// The `__metadata__` object of a safetensors file: the 8-byte little-endian header length,
/// then the JSON header.
fn read_metadata(
    bytes: &[u8],
) -> std::result::Result<serde_json::Map<String, serde_json::Value>, String> {
    let length = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
        .ok_or_else(|| NOT_SAFETENSORS.to_string())?;
    metadata_of(&parse_header(bytes.get(8..).unwrap_or_default(), length)?)
}
