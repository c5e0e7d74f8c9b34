//! The option groups several subcommands share (data, model, sampler, sampling, labels) and
//! their value parsers.

use std::path::PathBuf;

use super::parse::{choice, finite, id_prefix, quality_offset, shard};
use anyhow::{Context, Result};
use clap::Args;
use seddbio::{
    data::{
        Insertions, LayoutKind, PrepareOptions, SplitColumn, SplitMode, TooLong, UnknownPolicy,
    },
    diffusion::GraphKind,
    io::OutputFormat,
    io::{Format, LabelSource, ReadOptions},
    model::ComputeDevice,
    run::{open_model, RunSpec, TrainedModel, Weights},
    sample::Guidance,
    sample::{
        Generation, SamplerControls, SamplerKind, SamplerSettings, UnmaskOrder, DEFAULT_REMASK_CAP,
    },
};

/// Labels from `--label-column` (CSV/TSV) or else `--label-key` (FASTA/FASTQ words).
pub fn label_source(column: &Option<String>, key: &Option<String>) -> Option<LabelSource> {
    match (column, key) {
        (Some(column), _) => Some(LabelSource::Column(column.clone())),
        (None, Some(key)) => Some(LabelSource::Key(key.clone())),
        (None, None) => None,
    }
}

/// How `sample` and `infill` draw and where they write.
#[derive(Debug, Clone, Args)]
pub struct SamplingArgs {
    #[command(flatten)]
    pub sampler: SamplerArgs,
    /// Sequences per network call.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output: .fasta, .csv, .tsv, .parquet or .smi (text formats optionally .gz), or - for
    /// standard output (FASTA unless --out-format says otherwise) [default: -].
    #[arg(long, short = 'o', default_value = "-", hide_default_value = true)]
    pub out: PathBuf,
    /// The output format, whatever the name says (needed for - in another format than FASTA).
    #[arg(long, value_parser = choice::<OutputFormat>())]
    pub out_format: Option<OutputFormat>,
    /// Records are named PREFIX_1, PREFIX_2, ... (infill: TEMPLATE_PREFIX_1): give each
    /// run its own to concatenate their outputs (`cat K562.fa HepG2.fa`) without repeated ids.
    #[arg(long, default_value = "sample", value_parser = id_prefix)]
    pub id_prefix: String,
    /// Do shard K of N of the job (counted from 0): a contiguous part of the sequences, each
    /// drawn from its own random stream of --seed, so the N outputs concatenated in shard
    /// order are the output of one run; ids keep their numbers in the whole job.
    #[arg(long, value_name = "K/N", default_value = "0/1", value_parser = shard)]
    pub shard: seddbio::shard::Shard,
    /// SELFIES models: draw each sample up to N times until every symbol ends up in its
    /// molecule (a complete string, as every training string is; a derivation cut short by
    /// valence loses the rest), recording draws= and complete= in its metadata; 1 keeps the
    /// first draw, whatever it decodes to.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub selfies_draws: usize,
    #[command(flatten)]
    pub condition: ConditionArgs,
}

impl SamplingArgs {
    /// The library's generation settings for `trained` (loaded from `model`): the sampler
    /// (the model's default unless given) with its controls, batch size, seed, label and
    /// guidance.
    pub fn generation(
        &self,
        trained: &TrainedModel,
        model: &std::path::Path,
    ) -> Result<Generation> {
        let condition = self.condition.resolve(&trained.spec, model)?;
        let selfies = trained.alphabet.tokenizer() == seddbio::alphabet::TokenizerKind::Selfies;
        if self.selfies_draws == 0 || (self.selfies_draws > 1 && !selfies) {
            anyhow::bail!(
                "--selfies-draws {}: give 1 or more, and more than 1 only for a SELFIES model (the model at {} is {})",
                self.selfies_draws,
                model.display(),
                trained.spec.alphabet
            );
        }
        Ok(Generation {
            model_name: model.display().to_string(),
            sampler: self.sampler.settings(trained.graph.kind)?,
            batch_size: self.batch_size,
            seed: self.seed,
            guidance: condition.guidance,
            metadata: condition.metadata,
            id_prefix: self.id_prefix.clone(),
            selfies_draws: self.selfies_draws,
        })
    }
}

/// The sampler and its controls; shared by `sample`, `infill` and `sweep`.
#[derive(Debug, Clone, Args)]
pub struct SamplerArgs {
    /// Reverse-diffusion steps.
    #[arg(long, default_value_t = 128)]
    pub steps: usize,
    /// euler, analytic, first-hitting (absorbing models only: at most one network call per
    /// position, whatever --steps is) or remask (absorbing models only: unmasked tokens may
    /// be masked again, ReMDM) [default: remask for absorbing models, analytic for uniform
    /// ones].
    #[arg(long, value_parser = choice::<SamplerKind>())]
    pub sampler: Option<SamplerKind>,
    #[command(flatten)]
    pub controls: SamplerControlArgs,
}

impl SamplerArgs {
    /// The validated settings for a model with this graph: without --sampler, the graph's
    /// default, or first-hitting when --order confidence asks for the one sampler that has
    /// an order to choose.
    pub fn settings(&self, graph: GraphKind) -> Result<SamplerSettings> {
        let kind = self
            .sampler
            .unwrap_or_else(|| SamplerKind::default_for_order(graph, self.controls.order));
        Ok(self
            .controls
            .controls()
            .apply(SamplerSettings::new(kind, self.steps)?)?)
    }
}

/// What a sampler trades diversity with (docs/sampling.md, "The controls"); shared by every
/// command that samples, the end-of-run report of `train` included.
#[derive(Debug, Clone, Args)]
pub struct SamplerControlArgs {
    /// Temperature T > 0 on the denoising distribution (p^(1/T), renormalised): below 1
    /// sharpens toward what the model finds likely, 1 samples the model.
    #[arg(long, default_value_t = 1.0, value_parser = finite)]
    pub temperature: f64,
    /// Nucleus sampling: draw from the smallest set of tokens with probability >= P, in (0, 1].
    #[arg(long, default_value_t = 1.0, value_parser = finite)]
    pub top_p: f64,
    /// Which masked positions unmask first (first-hitting, which confidence order chooses
    /// when --sampler is not given): random (the model's process) or confidence (the most
    /// certain positions first).
    #[arg(long, default_value = "random", value_parser = choice::<UnmaskOrder>())]
    pub order: UnmaskOrder,
    /// --sampler remask: an unmasked token goes back to MASK with probability at most this
    /// per step, in [0, 1].
    #[arg(long, default_value_t = DEFAULT_REMASK_CAP, value_parser = finite)]
    pub remask_cap: f64,
}

impl SamplerControlArgs {
    /// The library's controls.
    pub fn controls(&self) -> SamplerControls {
        SamplerControls {
            temperature: self.temperature,
            top_p: self.top_p,
            order: self.order,
            remask_cap: self.remask_cap,
        }
    }
}

/// The label and guidance `sample` and `infill` draw under (conditional models).
#[derive(Debug, Clone, Args)]
pub struct ConditionArgs {
    /// Conditional models: sample under this label [default: the null label, i.e. the
    /// model's unconditional distribution].
    #[arg(long)]
    pub label: Option<String>,
    /// Classifier-free guidance weight w (with --label): 0 is plain conditional sampling,
    /// larger values push the samples toward what tells the label apart (and cost a second
    /// network pass per step).
    #[arg(long, default_value_t = 0.0, requires = "label", value_parser = finite)]
    pub guidance: f64,
}

impl ConditionArgs {
    /// The guidance for the library and the metadata words for every output record of a
    /// conditional model (`label=`, `guidance=`; `label=null` without `--label`); a model
    /// without labels refuses `--label`.
    pub fn resolve(&self, spec: &RunSpec, model: &std::path::Path) -> Result<Conditioning> {
        if !(self.guidance.is_finite() && self.guidance >= 0.0) {
            anyhow::bail!("--guidance {}: must be a number >= 0", self.guidance);
        }
        let Some(label) = &self.label else {
            // A conditional model sampled without a label: its null label, said in the records.
            let metadata = match spec.labels.is_empty() {
                true => Vec::new(),
                false => vec![
                    ("label".into(), "null".into()),
                    ("guidance".into(), "0".into()),
                ],
            };
            return Ok(Conditioning {
                guidance: Guidance::default(),
                metadata,
            });
        };
        let index = spec
            .label_index(label)
            .with_context(|| format!("--label for the model at {}", model.display()))?;
        Ok(Conditioning {
            guidance: Guidance {
                label: Some(index),
                weight: self.guidance,
            },
            metadata: vec![
                ("label".into(), label.clone()),
                ("guidance".into(), self.guidance.to_string()),
            ],
        })
    }
}

/// A resolved [`ConditionArgs`].
#[derive(Debug, Clone, Default)]
pub struct Conditioning {
    /// What the sampler's score is computed under.
    pub guidance: Guidance,
    /// `label` and `guidance` for each output record (empty when unconditional).
    pub metadata: Vec<(String, String)>,
}

/// Which trained model to load and where to run it; shared by `sample`, `infill` and `score`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Run directory of a trained model, or the name of a bundled one (`seddbio models`).
    #[arg(long)]
    pub model: PathBuf,
    /// ema (default) or raw trained weights.
    #[arg(long, default_value = "ema", value_parser = choice::<Weights>())]
    pub weights: Weights,
    /// cpu, cuda (builds with --features cuda) or wgpu (Vulkan, Metal, DirectX 12; builds with
    /// --features wgpu).
    #[arg(long, default_value = "cpu", value_parser = choice::<ComputeDevice>())]
    pub device: ComputeDevice,
}

impl ModelArgs {
    /// The model's latest checkpoint, with the chosen weights, on the chosen device.
    pub fn load(&self) -> Result<TrainedModel> {
        Ok(TrainedModel::load(
            &open_model(&self.model)?,
            self.device.device()?,
            self.weights,
        )?)
    }
}

/// How sequence files are read and turned into examples; shared by `data` and `train`.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Alphabet: dna, rna, protein, smiles, selfies, or the path of your own alphabet TOML file.
    #[arg(long, short = 'a')]
    pub alphabet: String,
    /// Input format; by default from the extension (.fa/.fasta, .csv, .tsv, .smi, .fq/.fastq,
    /// each optionally .gz); needed for - (standard input).
    #[arg(long, value_parser = choice::<Format>())]
    pub format: Option<Format>,
    #[command(flatten)]
    pub quality: QualityArgs,
    /// Sequence column of a CSV/TSV file [default: the one named sequence, seq or smiles].
    #[arg(long)]
    pub column: Option<String>,
    /// Column of a CSV/TSV file holding record ids [default: record_N].
    #[arg(long)]
    pub id_column: Option<String>,
    /// Conditional training: the CSV/TSV column holding each record's label (class), e.g.
    /// cell_type; every record needs one.
    #[arg(long, value_name = "COLUMN", conflicts_with = "label_key")]
    pub label_column: Option<String>,
    /// Conditional training: labels from KEY=value words in FASTA/FASTQ descriptions (the form
    /// seddbio writes its own metadata in, e.g. >seq1 cell_type=HepG2).
    #[arg(long, value_name = "KEY")]
    pub label_key: Option<String>,
    /// Conditional training from a file per class: each file's records get the file's name
    /// without extensions as their label (HepG2.fa.gz -> HepG2); give the files one after
    /// the other.
    #[arg(long, conflicts_with_all = ["label_column", "label_key", "valid"])]
    pub label_per_file: bool,
    /// More input files after the first, read the same way and appended to it.
    #[arg(value_name = "MORE_FILES")]
    pub more_files: Vec<PathBuf>,
    /// Symbols outside the alphabet (N, X, gaps...): error, skip the record, split the record
    /// at them, or strip them.
    #[arg(long, default_value = "error", value_parser = choice::<UnknownPolicy>())]
    pub on_unknown: UnknownPolicy,
    /// Fixed-length windows over records, or whole records padded to --seq-len
    /// [default: the alphabet's: windows for DNA, padded for RNA, protein, SMILES, SELFIES].
    #[arg(long, value_parser = choice::<LayoutKind>())]
    pub layout: Option<LayoutKind>,
    /// Tokens per example [default: the longest record; windows: at most 1024].
    #[arg(long)]
    pub seq_len: Option<usize>,
    /// Step between window starts [default: --seq-len, no overlap].
    #[arg(long)]
    pub stride: Option<usize>,
    /// Padded layout: records longer than --seq-len are an error, skipped, or cut into windows.
    #[arg(long, default_value = "error", value_parser = choice::<TooLong>())]
    pub too_long: TooLong,
    /// Validation sequences in a separate file (same format options).
    #[arg(long, conflicts_with = "valid_fraction")]
    pub valid: Option<PathBuf>,
    /// The split from a CSV/TSV column (e.g. DNA-Diffusion's tables): rows whose value is
    /// --train-value train, those with --valid-value validate; any other value is an error
    /// unless --skip-value names it.
    #[arg(long, value_name = "COLUMN", conflicts_with_all = ["valid", "valid_fraction", "split", "label_per_file"])]
    pub split_column: Option<String>,
    /// With --split-column: the value of the training rows.
    #[arg(long, default_value = "train", requires = "split_column")]
    pub train_value: String,
    /// With --split-column: the value of the validation rows.
    #[arg(long, default_value = "valid", requires = "split_column")]
    pub valid_value: String,
    /// With --split-column: a value whose rows are left out (e.g. test); repeat for more.
    /// The summary counts them.
    #[arg(long, value_name = "VALUE", requires = "split_column")]
    pub skip_value: Vec<String>,
    /// Fraction of the input held out for validation.
    #[arg(long, default_value_t = 0.1, value_parser = finite)]
    pub valid_fraction: f64,
    /// How the held-out fraction is chosen: random records (from --seed), the last records of
    /// the file, the last part of every record (region; for genomes), or random whole clusters
    /// of records that share an exact k-mer (cluster; homologs stay on one side).
    #[arg(long, default_value = "random", value_parser = choice::<SplitMode>())]
    pub split: SplitMode,
    /// Seed of every random choice [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Homolog reweighting of an aligned file (aligned FASTA, A2M, A3M): each sequence weighs
    /// 1 / the number of sequences at identity >= 1 - THETA over the match columns (0.2 is
    /// the field's usual choice), training draws examples by weight, and the summary gives
    /// the effective number of sequences [default: off].
    #[arg(long, value_name = "THETA", value_parser = finite)]
    pub reweight: Option<f64>,
    /// A2M/A3M alignments: keep the insertions (lowercase letters; `.` gaps are then stripped
    /// like `-`) or drop them, training on the match columns only.
    #[arg(long, default_value = "keep", value_parser = choice::<Insertions>())]
    pub insertions: Insertions,
}

impl DataArgs {
    /// The files a command reads with these options: `file`, and `--valid` if given; its
    /// outputs must not be one of them (`seddbio::io::refuse_overwriting_inputs`).
    pub fn inputs<'a>(&'a self, file: &'a std::path::Path) -> Vec<&'a std::path::Path> {
        std::iter::once(file)
            .chain(self.more_files.iter().map(PathBuf::as_path))
            .chain(self.valid.as_deref())
            .collect()
    }

    /// The seed given, or 0.
    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or_default()
    }

    /// Where labels come from, if the command line asks for them.
    pub fn label_source(&self) -> Option<LabelSource> {
        label_source(&self.label_column, &self.label_key)
    }

    /// The library's preparation options.
    pub fn prepare_options(&self) -> PrepareOptions {
        PrepareOptions {
            read: ReadOptions {
                format: self.format,
                column: self.column.clone(),
                id_column: self.id_column.clone(),
                min_mean_quality: self.quality.min_mean_quality,
                quality_offset: self.quality.quality_offset,
                label: self.label_source(),
                split_column: None,
            },
            split_by: self.split_column.as_ref().map(|column| SplitColumn {
                column: column.clone(),
                train: self.train_value.clone(),
                valid: self.valid_value.clone(),
                skip: self.skip_value.clone(),
            }),
            policy: self.on_unknown,
            layout: self.layout,
            seq_len: self.seq_len,
            stride: self.stride,
            too_long: self.too_long,
            valid: self.valid.clone(),
            valid_fraction: if self.valid.is_some() {
                0.0
            } else {
                self.valid_fraction
            },
            split: self.split,
            seed: self.seed(),
            more_files: self.more_files.clone(),
            label_per_file: self.label_per_file,
            reweight: self.reweight,
            insertions: self.insertions,
        }
    }
}

/// FASTQ quality options; shared by the commands that read sequences (`DataArgs`, `score`).
#[derive(Debug, Clone, Args)]
pub struct QualityArgs {
    /// FASTQ: leave out reads whose mean Phred quality is below this (counted in the summary).
    #[arg(long, value_name = "Q", value_parser = finite)]
    pub min_mean_quality: Option<f64>,
    /// FASTQ quality encoding: 33 (Sanger, Illumina 1.8+) or 64 (Illumina 1.3-1.7).
    #[arg(long, default_value_t = 33, value_parser = quality_offset())]
    pub quality_offset: u8,
}
