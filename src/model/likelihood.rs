//! The DSE objective and the ELBO bound of whole sequences under a [`ScoreModel`]
//! (docs/design.md, eqs. (22)-(26): the DSE loss integrated over t plus the prior term bounds
//! `-log p(x_0)`).

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;

use super::{
    fused::{self, DseTerms},
    score_entropy, Kernels, ScoreModel,
};
use crate::{
    alphabet::TokenId,
    diffusion::{
        stratified_times, ElboEstimate, Graph, GraphKind, NoiseSchedule, NoisedBatch, TIME_EPS,
    },
    Error, Result,
};

/// Token ids as an `[rows, len]` tensor (burn's integer tensors hold `i64`).
pub fn token_tensor(ids: &[TokenId], rows: usize, len: usize, device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = ids.iter().map(|&t| i64::from(t)).collect();
    Tensor::from_data(TensorData::new(ids, [rows, len]), device)
}

/// `sigma(t) * sum_i DSE_i` for each sequence of `batch` (shape `[batch]`): the Monte-Carlo
/// integrand of the ELBO bound at the sequence's time, and the training loss before averaging.
/// Runs the fused CPU kernels where the model's device has them.
pub fn weighted_dse(model: &ScoreModel, batch: &NoisedBatch, graph: &Graph) -> Tensor<1> {
    weighted_dse_with(model, batch, graph, Kernels::for_device(&model.device()))
}

/// [`weighted_dse`] through the chosen kernels.
pub fn weighted_dse_with(
    model: &ScoreModel,
    batch: &NoisedBatch,
    graph: &Graph,
    kernels: Kernels,
) -> Tensor<1> {
    let device = model.device();
    let x_t = token_tensor(&batch.x_t, batch.batch, batch.len, &device);
    let z = model.output_layer(
        x_t.clone(),
        &batch.sigma_bar,
        batch.labels.as_deref(),
        kernels,
    );
    if kernels == Kernels::Fused {
        return fused::weighted_score_entropy(
            z,
            DseTerms {
                absorbing: graph.kind == GraphKind::Absorb,
                num_symbols: graph.num_symbols,
                x_t: batch.x_t.clone(),
                x0: batch.x0.clone(),
                sigma_bar: batch.sigma_bar.clone(),
                weight: batch.sigma.clone(),
            },
        );
    }
    let x0 = token_tensor(&batch.x0, batch.batch, batch.len, &device);
    let scores = model.log_scores(z, x_t.clone(), &batch.sigma_bar);
    let per_position = score_entropy(
        scores,
        x_t,
        x0,
        &batch.sigma_bar,
        graph.kind == GraphKind::Absorb,
        graph.num_symbols,
    );
    let sigma: Vec<f32> = batch.sigma.iter().map(|&s| s as f32).collect();
    let weight = Tensor::<1>::from_data(TensorData::new(sigma, [batch.batch]), &device);
    per_position.sum_dim(1).reshape([batch.batch]) * weight
}

/// ELBO bounds of `sequences` (each `len` tokens; `real_tokens[i]` of them are not padding),
/// under label `labels[i]` for a conditional model (the null label when `None`), with the
/// times of sequence i in `times[i]`: the integral over `[TIME_EPS, 1]` is
/// `(1 - TIME_EPS)` times the mean integrand, plus the prior KL at t = 1. Network calls are
/// batched `batch_size` (sequence, time) pairs at a time.
#[allow(clippy::too_many_arguments)]
pub fn sequence_elbos<R: Rng + ?Sized>(
    model: &ScoreModel,
    sequences: &[Vec<TokenId>],
    real_tokens: &[usize],
    labels: Option<&[usize]>,
    times: &[Vec<f64>],
    graph: &Graph,
    schedule: &NoiseSchedule,
    batch_size: usize,
    rng: &mut R,
) -> Result<Vec<ElboEstimate>> {
    let pairs: Vec<(usize, f64)> = times
        .iter()
        .enumerate()
        .flat_map(|(i, ts)| ts.iter().map(move |&t| (i, t)))
        .collect();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); sequences.len()];
    for chunk in pairs.chunks(batch_size.max(1)) {
        let len = sequences[chunk[0].0].len();
        let clean: Vec<TokenId> = chunk
            .iter()
            .flat_map(|&(i, _)| sequences[i].iter().copied())
            .collect();
        let chunk_times: Vec<f64> = chunk.iter().map(|&(_, t)| t).collect();
        let chunk_labels = labels.map(|l| chunk.iter().map(|&(i, _)| l[i]).collect());
        let batch = NoisedBatch::draw(&clean, len, &chunk_times, graph, schedule, rng)
            .with_labels(chunk_labels);
        let integrand = weighted_dse(model, &batch, graph)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| Error::TensorRead {
                what: "loss",
                detail: format!("{e:?}"),
            })?;
        for (&(i, _), value) in chunk.iter().zip(integrand) {
            values[i].push((1.0 - TIME_EPS) * f64::from(value));
        }
    }
    let sigma_bar_1 = schedule.sigma_bar(1.0);
    Ok(sequences
        .iter()
        .zip(values)
        .zip(real_tokens)
        .map(|((sequence, values), &tokens)| {
            let k = values.len().max(1) as f64;
            let mean = values.iter().sum::<f64>() / k;
            let variance = if values.len() > 1 {
                values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0)
            } else {
                0.0
            };
            let prior: f64 = sequence
                .iter()
                .map(|&x| graph.prior_kl(usize::from(x), sigma_bar_1))
                .sum();
            ElboEstimate {
                nats: mean + prior,
                std_error: (variance / k).sqrt(),
                tokens,
            }
        })
        .collect())
}

/// The stratified-t ELBO estimate (docs/design.md, eq. (24)) of each of `sequences`, `num_t`
/// times per sequence (stratified within it), in input order. Sequences of one length are scored
/// together (`batch_size` (sequence, time) pairs per network call); `real_tokens[i]` of
/// sequence i count (the rest is padding); `labels[i]` is its label for a conditional model.
/// `progress` is called with the number of sequences finished after each group.
///
/// ```
/// use burn::tensor::Device;
/// use rand::SeedableRng;
/// use seddbio::{diffusion::{Graph, NoiseSchedule}, model::{elbo_estimates, ModelSize, ScoreModelConfig}};
///
/// let model = ScoreModelConfig::new(4, true, ModelSize::new(16, 1, 2, 8)).init(&Device::flex());
/// let sequences = vec![vec![0, 1, 2, 3, 0], vec![1, 1, 2], vec![3, 2, 1, 0, 0]];
/// let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
/// let mut done = 0;
/// let estimates = elbo_estimates(&model, &Graph::absorbing(4), &NoiseSchedule::log_linear(),
///     &sequences, &[5, 3, 5], None, 64, 32, &mut rng, &mut |n| done += n).unwrap();
/// assert_eq!(estimates.iter().map(|e| e.tokens).collect::<Vec<_>>(), [5, 3, 5]);
/// assert_eq!(done, 3);
/// // A fresh network's output layer is zero, which is the exact score of uniform i.i.d.
/// // bases under the absorbing graph: the bound is then log2(4) = 2 bits per base, up to
/// // Monte-Carlo noise.
/// let (bits, se) = seddbio::model::pooled_bits_per_token(&estimates);
/// assert!((bits - 2.0).abs() < 4.0 * se + 0.05, "{bits} ± {se}");
/// ```
#[allow(clippy::too_many_arguments)]
pub fn elbo_estimates<R: Rng + ?Sized>(
    model: &ScoreModel,
    graph: &Graph,
    schedule: &NoiseSchedule,
    sequences: &[Vec<TokenId>],
    real_tokens: &[usize],
    labels: Option<&[usize]>,
    num_t: usize,
    batch_size: usize,
    rng: &mut R,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<ElboEstimate>> {
    let mut by_length: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, sequence) in sequences.iter().enumerate() {
        by_length.entry(sequence.len()).or_default().push(i);
    }
    let mut estimates: Vec<Option<ElboEstimate>> = vec![None; sequences.len()];
    for indices in by_length.values() {
        for chunk in indices.chunks((batch_size / num_t.max(1)).max(1)) {
            let batch: Vec<Vec<TokenId>> = chunk.iter().map(|&i| sequences[i].clone()).collect();
            let real: Vec<usize> = chunk.iter().map(|&i| real_tokens[i]).collect();
            let chunk_labels: Option<Vec<usize>> =
                labels.map(|l| chunk.iter().map(|&i| l[i]).collect());
            let times: Vec<Vec<f64>> = chunk.iter().map(|_| stratified_times(num_t, rng)).collect();
            let results = sequence_elbos(
                model,
                &batch,
                &real,
                chunk_labels.as_deref(),
                &times,
                graph,
                schedule,
                batch_size,
                rng,
            )?;
            for (&i, estimate) in chunk.iter().zip(results) {
                estimates[i] = Some(estimate);
            }
            progress(chunk.len());
        }
    }
    Ok(estimates.into_iter().flatten().collect())
}

/// Bits per real token over many sequences, with the standard error of the ratio estimate
/// across sequences.
///
/// ```
/// use seddbio::{diffusion::ElboEstimate, model::pooled_bits_per_token};
///
/// let ln2 = std::f64::consts::LN_2;
/// let estimates = [
///     ElboEstimate { nats: 100.0 * ln2, std_error: 0.0, tokens: 50 },
///     ElboEstimate { nats: 300.0 * ln2, std_error: 0.0, tokens: 150 },
/// ];
/// let (bits, _) = pooled_bits_per_token(&estimates);
/// assert!((bits - 2.0).abs() < 1e-12);
/// ```
pub fn pooled_bits_per_token(estimates: &[ElboEstimate]) -> (f64, f64) {
    let n = estimates.len() as f64;
    let nats: f64 = estimates.iter().map(|e| e.nats).sum();
    let tokens: f64 = estimates.iter().map(|e| e.tokens as f64).sum();
    if tokens == 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let ratio = nats / tokens;
    let residual_variance = if n > 1.0 {
        estimates
            .iter()
            .map(|e| (e.nats - ratio * e.tokens as f64).powi(2))
            .sum::<f64>()
            / (n - 1.0)
    } else {
        0.0
    };
    let std_error = (residual_variance / n).sqrt() / (tokens / n);
    let ln2 = std::f64::consts::LN_2;
    (ratio / ln2, std_error / ln2)
}
