//! The DSE objective and the ELBO bound of whole sequences under a [`ScoreModel`]
//! (docs/design.md, eqs. (22)-(26): the DSE loss integrated over t plus the prior term bounds
//! `-log p(x_0)`).

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{
    fused::{self, DseTerms},
    score_entropy, Kernels, ScoreModel,
};
use crate::{
    alphabet::TokenId,
    diffusion::{
        stratified_times, ElboEstimate, Graph, GraphKind, NoiseSchedule, NoisedBatch, TIME_EPS,
    },
    shard::{PickedStreams, Streams},
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

/// [`weighted_dse`] of a batch, read back: one ELBO integrand per sequence.
fn integrand_values(model: &ScoreModel, batch: &NoisedBatch, graph: &Graph) -> Result<Vec<f32>> {
    weighted_dse(model, batch, graph)
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| Error::TensorRead {
            what: "loss",
            detail: format!("{e:?}"),
        })
}

/// ELBO bounds of `sequences` (each `len` tokens; `real_tokens[i]` of them are not padding),
/// under label `labels[i]` for a conditional model (the null label when `None`), with the
/// times of sequence i in `times[i]`: the integral over `[TIME_EPS, 1]` is
/// `(1 - TIME_EPS)` times the mean integrand, plus the prior KL at t = 1. Network calls are
/// batched `batch_size` (sequence, time) pairs at a time; the forward noise of sequence i comes
/// from `streams.stream(i)` (one [`SharedStream`](crate::shard::SharedStream) for all, or a stream per sequence, which
/// makes a sequence's bound independent of the others scored with it).
#[allow(clippy::too_many_arguments)]
pub fn sequence_elbos<S: Streams + ?Sized>(
    model: &ScoreModel,
    sequences: &[Vec<TokenId>],
    real_tokens: &[usize],
    labels: Option<&[usize]>,
    times: &[Vec<f64>],
    graph: &Graph,
    schedule: &NoiseSchedule,
    batch_size: usize,
    streams: &mut S,
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
        let rows: Vec<usize> = chunk.iter().map(|&(i, _)| i).collect();
        let mut row_streams = PickedStreams::new(&mut *streams, &rows);
        let batch =
            NoisedBatch::draw_streams(&clean, len, &chunk_times, graph, schedule, &mut row_streams)
                .with_labels(chunk_labels);
        let integrand = integrand_values(model, &batch, graph)?;
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

/// The ELBO integrand `(1 - TIME_EPS) sigma(t) sum_i DSE_i` of each of `sequences` (all of
/// one length) at each of `times`, the forward noise of time `k` drawn from `noise_seeds[k]`
/// for every sequence alike ([`NoisedBatch::draw_seeded`]): the mean over k, plus the prior
/// term, is each sequence's bound, and differences between sequences, taken time by time,
/// carry far less noise than two independent bounds (docs/design.md, §16). Returns
/// `values[sequence][k]`; `batch_size` (sequence, time) pairs per network call; `progress`
/// hears of the pairs done.
#[allow(clippy::too_many_arguments)]
pub fn common_noise_integrands(
    model: &ScoreModel,
    sequences: &[Vec<TokenId>],
    times: &[f64],
    noise_seeds: &[u64],
    graph: &Graph,
    schedule: &NoiseSchedule,
    batch_size: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<Vec<f64>>> {
    let Some(len) = sequences.first().map(Vec::len) else {
        return Ok(Vec::new());
    };
    if sequences.iter().any(|s| s.len() != len) {
        return Err(Error::RaggedBatch);
    }
    let pairs: Vec<(usize, usize)> = (0..sequences.len())
        .flat_map(|i| (0..times.len()).map(move |k| (i, k)))
        .collect();
    let mut values = vec![vec![0.0; times.len()]; sequences.len()];
    for chunk in pairs.chunks(batch_size.max(1)) {
        let rows: Vec<(&[TokenId], f64, u64)> = chunk
            .iter()
            .map(|&(i, k)| (sequences[i].as_slice(), times[k], noise_seeds[k]))
            .collect();
        let batch = NoisedBatch::draw_seeded(&rows, len, graph, schedule);
        let integrand = integrand_values(model, &batch, graph)?;
        for (&(i, k), value) in chunk.iter().zip(integrand) {
            values[i][k] = (1.0 - TIME_EPS) * f64::from(value);
        }
        progress(chunk.len());
    }
    Ok(values)
}

/// The stratified-t ELBO estimate (docs/design.md, eq. (24)) of each of `sequences`, `num_t`
/// times per sequence (stratified within it), in input order. Sequences of one length are scored
/// together (`batch_size` (sequence, time) pairs per network call); `real_tokens[i]` of
/// sequence i count (the rest is padding); `labels[i]` is its label for a conditional model.
/// Sequence i's times and noise come from `streams.stream(i)`: with one
/// [`SharedStream`](crate::shard::SharedStream) for all, or with a stream per sequence ([`crate::shard::item_stream`]),
/// which gives each sequence the same bound whatever else is scored with it.
/// `progress` is called with the number of sequences finished after each group.
///
/// ```
/// use burn::tensor::Device;
/// use rand::SeedableRng;
/// use seddbio::{diffusion::{Graph, NoiseSchedule}, model::{elbo_estimates, ModelSize, ScoreModelConfig}};
/// use seddbio::shard::SharedStream;
///
/// let model = ScoreModelConfig::new(4, true, ModelSize::new(16, 1, 2, 8)).init(&Device::flex());
/// let sequences = vec![vec![0, 1, 2, 3, 0], vec![1, 1, 2], vec![3, 2, 1, 0, 0]];
/// let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
/// let mut done = 0;
/// let estimates = elbo_estimates(&model, &Graph::absorbing(4), &NoiseSchedule::log_linear(),
///     &sequences, &[5, 3, 5], None, 64, 32, &mut SharedStream(&mut rng), &mut |n| done += n).unwrap();
/// assert_eq!(estimates.iter().map(|e| e.tokens).collect::<Vec<_>>(), [5, 3, 5]);
/// assert_eq!(done, 3);
/// // A fresh network's output layer is zero, which is the exact score of uniform i.i.d.
/// // bases under the absorbing graph: the bound is then log2(4) = 2 bits per base, up to
/// // Monte-Carlo noise.
/// let (bits, se) = seddbio::model::pooled_bits_per_token(&estimates);
/// assert!((bits - 2.0).abs() < 4.0 * se + 0.05, "{bits} ± {se}");
/// ```
#[allow(clippy::too_many_arguments)]
pub fn elbo_estimates<S: Streams + ?Sized>(
    model: &ScoreModel,
    graph: &Graph,
    schedule: &NoiseSchedule,
    sequences: &[Vec<TokenId>],
    real_tokens: &[usize],
    labels: Option<&[usize]>,
    num_t: usize,
    batch_size: usize,
    streams: &mut S,
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
            let mut chunk_streams = PickedStreams::new(&mut *streams, chunk);
            let times: Vec<Vec<f64>> = (0..chunk.len())
                .map(|j| stratified_times(num_t, chunk_streams.stream(j)))
                .collect();
            let results = sequence_elbos(
                model,
                &batch,
                &real,
                chunk_labels.as_deref(),
                &times,
                graph,
                schedule,
                batch_size,
                &mut chunk_streams,
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

#[cfg(test)]
mod tests {
    use burn::{module::Module, tensor::Device};

    use super::*;
    use crate::model::{dit_test_jitter, ModelSize, ScoreModelConfig};

    /// Common random numbers: a mutant and its wild type noised from the same seed at each
    /// time differ far less, time by time, than with independent noise (docs/design.md,
    /// §16), and identical sequences do not differ at all.
    #[test]
    fn common_noise_makes_differences_of_bounds_quiet() {
        let device = Device::flex().autodiff();
        device.seed(5);
        let model = ScoreModelConfig::new(4, true, ModelSize::new(16, 1, 2, 8))
            .init(&device)
            .map(&mut dit_test_jitter());
        let (graph, schedule) = (Graph::absorbing(4), NoiseSchedule::log_linear());
        let wild: Vec<TokenId> = (0..24).map(|i| (i * 7 % 4) as TokenId).collect();
        let mut mutant = wild.clone();
        mutant[10] = (mutant[10] + 1) % 4;
        let times: Vec<f64> = (0..64).map(|k| (k as f64 + 0.5) / 64.0).collect();
        let seeds: Vec<u64> = (0..64).map(|k| 1000 + k).collect();
        let other_seeds: Vec<u64> = (0..64).map(|k| 5000 + k).collect();
        let integrands = |sequences: &[Vec<TokenId>], seeds: &[u64]| {
            common_noise_integrands(
                &model,
                sequences,
                &times,
                seeds,
                &graph,
                &schedule,
                32,
                &mut |_| {},
            )
            .unwrap()
        };
        let shared = integrands(&[wild.clone(), mutant.clone(), wild.clone()], &seeds);
        let independent = integrands(&[mutant], &other_seeds);
        let variance = |a: &[f64], b: &[f64]| {
            let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
            let mean = d.iter().sum::<f64>() / d.len() as f64;
            d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (d.len() - 1) as f64
        };
        assert_eq!(shared[0], shared[2]);
        let common = variance(&shared[0], &shared[1]);
        let apart = variance(&shared[0], &independent[0]);
        assert!(common * 5.0 < apart, "common {common}, independent {apart}");
    }
}
