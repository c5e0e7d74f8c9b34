//! The specification of a run, `RUN/run.toml`: everything that defines it (alphabet, graph,
//! noise, seed, window, data, model and training configuration), written at its start and
//! checked on every resume and load.

use serde::{Deserialize, Serialize};

use super::TrainConfig;
use crate::{
    data::{LayoutKind, TokenDataset},
    diffusion::{GraphKind, NoiseSchedule},
    io::Fnv1a,
    Error, Result,
};

/// Everything that defines a run, written to `RUN/run.toml` at its start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// seddbio version that started the run.
    pub seddbio_version: String,
    /// Alphabet name; the alphabet itself is `RUN/alphabet.toml`.
    pub alphabet: String,
    /// Tokens the network sees (the alphabet's, pad included for padded layouts).
    pub num_symbols: usize,
    /// Forward process.
    pub graph: GraphKind,
    /// Noise schedule.
    pub noise: NoiseSchedule,
    /// Seed of every random choice.
    pub seed: u64,
    /// Positions per example.
    pub seq_len: usize,
    /// Windows or padded records.
    pub layout: LayoutKind,
    /// The training file, as given; several (a label per file) are separated by spaces.
    pub train_file: String,
    /// `[length, count]` of the real (unpadded) training example lengths, for sampling
    /// lengths like the data.
    pub length_counts: Vec<[u64; 2]>,
    /// Model sizes and training options.
    pub config: TrainConfig,
    /// Worker threads the run started with (`--threads`; 0 in runs from before it was
    /// recorded). For the record: the weights do not depend on it (`tests/train.rs` trains
    /// with 1 and 3 threads and compares them bit for bit), so a resume may use another count.
    #[serde(default)]
    pub threads: usize,
    /// FNV-1a 64 of the prepared training and validation examples (tokens as the model sees
    /// them), so that `--resume` can refuse other data; absent in runs from before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_digest: Option<String>,
    /// The run whose weights this one started from (`train --init-from`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<InitFrom>,
    /// The labels of a conditional model, in index order (empty: unconditional).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Homolog reweighting of the training data (`train --reweight`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reweight: Option<Reweighting>,
}

/// How a run's training sequences were reweighted (docs/design.md, §16).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reweighting {
    /// Sequences at identity >= 1 - theta count as neighbours.
    pub theta: f64,
    /// The sum of the training sequences' weights.
    pub effective_sequences: f64,
}

/// Where a fine-tuned run's starting weights came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitFrom {
    /// The source run directory, as given.
    pub run: String,
    /// The step of the source checkpoint whose EMA weights were taken.
    pub step: u64,
}

impl RunSpec {
    /// The forward process of this run: its graph over its tokens.
    pub fn forward_graph(&self) -> crate::diffusion::Graph {
        crate::diffusion::Graph {
            kind: self.graph,
            num_symbols: self.num_symbols,
        }
    }

    /// The score network this run trains: the preset's sizes, the run's vocabulary and graph,
    /// a class embedding when the run has labels, and a position embedding over its window
    /// with `position = "rotary+absolute"`.
    pub fn network(&self) -> crate::model::ScoreModelConfig {
        let absolute = match self.config.model.position {
            crate::model::PositionKind::Rotary => 0,
            crate::model::PositionKind::RotaryAbsolute => self.seq_len,
        };
        crate::model::ScoreModelConfig::new(
            self.num_symbols,
            self.graph == crate::diffusion::GraphKind::Absorb,
            self.config.model.clone(),
        )
        .with_num_labels(self.labels.len())
        .with_absolute_positions(absolute)
    }

    /// The index of `label` among the run's labels; an error naming the labels there are (or
    /// saying the model has none).
    pub fn label_index(&self, label: &str) -> Result<usize> {
        if self.labels.is_empty() {
            return Err(Error::Setting {
                setting: crate::Setting::Label,
                message: format!(
                    "label '{label}': the model was trained without labels (unconditional)"
                ),
            });
        }
        self.labels
            .iter()
            .position(|l| l == label)
            .ok_or_else(|| Error::Setting {
                setting: crate::Setting::Label,
                message: format!(
                    "label '{label}' is not one of the model's labels: {}",
                    self.labels.join(", ")
                ),
            })
    }
    /// A `run.toml` text, parsed and [validated](Self::validate); the error is one line
    /// without the source's name (a run directory's file, or an exported weights file's
    /// metadata), which the caller adds.
    pub fn parse(text: &str) -> std::result::Result<RunSpec, String> {
        let spec: RunSpec =
            toml::from_str(text).map_err(|e| e.message().trim().replace('\n', " "))?;
        spec.validate()?;
        Ok(spec)
    }

    /// Whether `alphabet` has the vocabulary size the model was built for; the error names the
    /// two sources as `alphabet_source` and `spec_source`.
    pub fn check_vocabulary(
        &self,
        alphabet: &crate::alphabet::Alphabet,
        (alphabet_source, spec_source): (&str, &str),
    ) -> std::result::Result<(), String> {
        if alphabet.len() != self.num_symbols {
            return Err(format!(
                "{alphabet_source} has {} tokens but {spec_source} says the model has {}",
                alphabet.len(),
                self.num_symbols
            ));
        }
        Ok(())
    }

    /// Checks what the rest of the program takes for granted: sizes and options as a preset
    /// must have them, a valid noise schedule, at least one position and token.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.config.validate().map_err(|e| e.to_string())?;
        self.noise.validate()?;
        if self.seq_len == 0 || self.num_symbols < 2 {
            return Err(format!(
                "seq_len must be at least 1 and num_symbols at least 2 (it has {} and {})",
                self.seq_len, self.num_symbols
            ));
        }
        Ok(())
    }

    /// The digest recorded as [`RunSpec::data_digest`]: every example of `train`, then of
    /// `valid`, token by token, with the split between them marked.
    ///
    /// ```
    /// use seddbio::data::{EncodedRecord, Layout, LayoutKind, TokenDataset, TooLong};
    /// use seddbio::run::RunSpec;
    ///
    /// let data = |tokens: Vec<u16>| {
    ///     let records = vec![EncodedRecord { id: "r".into(), tokens, label: None }];
    ///     let layout = Layout { kind: LayoutKind::Windows, seq_len: 4, stride: 4, too_long: TooLong::Error };
    ///     TokenDataset::new(records, layout, None).unwrap().0
    /// };
    /// let (a, b) = (data(vec![0, 1, 2, 3]), data(vec![0, 1, 2, 2]));
    /// assert_eq!(RunSpec::digest_data(&a, None), RunSpec::digest_data(&a, None));
    /// assert_ne!(RunSpec::digest_data(&a, None), RunSpec::digest_data(&b, None));
    /// assert_ne!(RunSpec::digest_data(&a, None), RunSpec::digest_data(&a, Some(&a)));
    /// ```
    pub fn digest_data(train: &TokenDataset, valid: Option<&TokenDataset>) -> String {
        // Hashed example by example: the data can be hundreds of MB as bytes.
        let mut hash = Fnv1a::new();
        for (mark, dataset) in [(b'T', Some(train)), (b'V', valid)] {
            let Some(dataset) = dataset else { continue };
            hash.update(&[mark]);
            for i in 0..dataset.len() {
                for token in dataset.example(i) {
                    hash.update(&token.to_le_bytes());
                }
            }
            // Weights only where there are some, so runs without keep their digests.
            if let Some(weights) = dataset.example_weights() {
                hash.update(b"W");
                for weight in weights {
                    hash.update(&weight.to_le_bytes());
                }
            }
            // Labels only where there are some, so unconditional runs keep their digests.
            if !dataset.labels().is_empty() {
                hash.update(b"L");
                for label in dataset.labels() {
                    hash.update(label.as_bytes());
                    hash.update(&[0]);
                }
                for i in 0..dataset.len() {
                    let label = dataset.example_label(i).unwrap_or(usize::MAX) as u64;
                    hash.update(&label.to_le_bytes());
                }
            }
        }
        hash.to_string()
    }
}

/// The FNV-1a 64 digest of `bytes`, as checkpoints record it (16 hex digits).
pub(super) fn digest(bytes: &[u8]) -> String {
    format!("{:016x}", Fnv1a::of(bytes))
}
