//! A trained model loaded from its run directory for inference: the specification, the
//! alphabet, the network with its EMA or raw weights, and the forward process.

use burn::{
    module::Module,
    store::ModuleRecord,
    tensor::{Bytes, Device},
};

use super::{RunDir, RunSpec};
use crate::{
    alphabet::TokenId,
    diffusion::Graph,
    model::{flat_parameters, ScoreModel},
    Error, Result,
};

/// The checkpoint files of a run's weights: `train` writes them, [`TrainedModel::load`]
/// reads them.
pub(crate) const MODEL_FILE: &str = "model.bpk";
pub(crate) const EMA_FILE: &str = "ema.bpk";
pub(crate) const OPTIMIZER_FILE: &str = "optimizer.bpk";

/// The error for checkpoint file `name` of `run` whose weights do not fit the model.
pub(crate) fn record_error<'a>(
    run: &'a RunDir,
    name: &'a str,
) -> impl Fn(burn::store::RecordError) -> Error + 'a {
    move |e| run.checkpoint_error(format!("{name} does not fit the model in run.toml: {e}"))
}

/// File `name` of a loaded checkpoint.
pub(crate) fn checkpoint_file(
    run: &RunDir,
    files: &[(String, Vec<u8>)],
    name: &str,
) -> Result<Bytes> {
    files
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, b)| Bytes::from_bytes_vec(b.clone()))
        .ok_or_else(|| run.checkpoint_error(format!("the checkpoint has no {name}")))
}

/// Which weights of a run to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weights {
    /// The exponential moving average (what validation uses; the default).
    #[default]
    Ema,
    /// The raw trained weights.
    Raw,
}

crate::choices::named_choices!(Weights, "weights", {
    Ema => "ema",
    Raw => "raw",
});

/// A trained model ready for inference.
pub struct TrainedModel {
    /// The run's specification.
    pub spec: RunSpec,
    /// Its alphabet.
    pub alphabet: crate::alphabet::Alphabet,
    /// The network.
    pub model: ScoreModel,
    /// Steps trained.
    pub step: u64,
    /// The forward process.
    pub graph: Graph,
}

impl TrainedModel {
    /// ELBO estimates of real sequences under this model ([`elbo_estimates`](crate::model::elbo_estimates)),
    /// under `labels` for a conditional model: padded models see every sequence padded to
    /// their length, with only its real tokens counted. A sequence longer than the model's
    /// length is an error naming it (1-based). Sequence i draws its times and noise from
    /// `streams.stream(i)`.
    pub fn elbo_estimates<S: crate::shard::Streams + ?Sized>(
        &self,
        sequences: &[&[TokenId]],
        labels: Option<&[usize]>,
        num_t: usize,
        batch_size: usize,
        streams: &mut S,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<crate::diffusion::ElboEstimate>> {
        let spec = &self.spec;
        let pad = self.alphabet.pad_id();
        let mut inputs = Vec::with_capacity(sequences.len());
        for (i, sequence) in sequences.iter().enumerate() {
            if sequence.len() > spec.seq_len {
                return Err(Error::SequenceTooLong {
                    sequence: i + 1,
                    tokens: sequence.len(),
                    model: spec.seq_len,
                });
            }
            let mut tokens = sequence.to_vec();
            if let (crate::data::LayoutKind::Padded, Some(pad)) = (spec.layout, pad) {
                tokens.resize(spec.seq_len, pad);
            }
            inputs.push(tokens);
        }
        let real: Vec<usize> = sequences.iter().map(|s| s.len()).collect();
        crate::model::elbo_estimates(
            &self.model,
            &self.graph,
            &spec.noise,
            &inputs,
            &real,
            labels,
            num_t,
            batch_size,
            streams,
            progress,
        )
    }

    /// The latest checkpoint of `run`, on `device`.
    pub fn load(run: &RunDir, device: Device, weights: Weights) -> Result<TrainedModel> {
        let (spec, alphabet) = run.read_spec()?;
        let (state, files) = run.load_checkpoint()?;
        let name = match weights {
            Weights::Ema => EMA_FILE,
            Weights::Raw => MODEL_FILE,
        };
        let bytes = checkpoint_file(run, &files, name)?;
        let record = ModuleRecord::from_bytes(bytes).map_err(record_error(run, name))?;
        let model = spec
            .network()
            .init(&device)
            .try_load_record(record)
            .map_err(record_error(run, name))?;
        if !flat_parameters(&model).iter().all(|v| v.is_finite()) {
            return Err(run.checkpoint_error(format!(
                "{name} holds NaN or infinite weights (the run diverged); it cannot be used"
            )));
        }
        let graph = spec.forward_graph();
        Ok(TrainedModel {
            spec,
            alphabet,
            model,
            step: state.step,
            graph,
        })
    }
}
