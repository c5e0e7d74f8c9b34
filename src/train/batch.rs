//! Training batches: which examples, which times, which noise; every draw a function of
//! `(seed, step)` so a resumed run sees exactly the batches an uninterrupted one would.

use rand::{rngs::ChaCha8Rng, seq::SliceRandom, Rng, RngExt, SeedableRng};

use crate::{
    alphabet::TokenId,
    data::TokenDataset,
    diffusion::{Graph, NoiseSchedule},
};

/// Smallest training time, as in the reference (`sampling_eps`): `sigma_bar(t)` and the DSE
/// constants are ill-conditioned at t = 0.
pub const TIME_EPS: f64 = 1e-3;

/// What a random stream is for; part of its seed.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Stream {
    /// Order of examples within an epoch.
    Shuffle = 1,
    /// Times and forward noise of a training batch.
    Noise = 2,
    /// Dropout inside the network.
    Dropout = 3,
    /// Validation times and noise (the same at every evaluation).
    Validation = 4,
    /// Which labels of a conditional batch are dropped to the null label.
    LabelDropout = 5,
}

/// SplitMix64 finaliser: decorrelates nearby seeds.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A seed for `stream` at `index` (a step or an epoch) of a run seeded with `seed`.
///
/// ```
/// use seddbio::train::{stream_seed, Stream};
///
/// assert_eq!(stream_seed(7, Stream::Noise, 3), stream_seed(7, Stream::Noise, 3));
/// assert_ne!(stream_seed(7, Stream::Noise, 3), stream_seed(7, Stream::Noise, 4));
/// assert_ne!(stream_seed(7, Stream::Noise, 3), stream_seed(7, Stream::Shuffle, 3));
/// ```
pub fn stream_seed(seed: u64, stream: Stream, index: u64) -> u64 {
    mix(mix(mix(seed) ^ stream as u64) ^ index)
}

/// The generator of `stream` at `index`.
pub fn stream_rng(seed: u64, stream: Stream, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(stream_seed(seed, stream, index))
}

/// Example indices of each step: epochs are seeded permutations of the dataset, consumed
/// `batch_size` at a time (a batch may straddle two epochs).
#[derive(Debug, Clone)]
pub struct BatchOrder {
    seed: u64,
    num_examples: usize,
    batch_size: usize,
    epoch: Option<(u64, Vec<usize>)>,
}

impl BatchOrder {
    /// The order of a run.
    pub fn new(seed: u64, num_examples: usize, batch_size: usize) -> BatchOrder {
        BatchOrder {
            seed,
            num_examples,
            batch_size,
            epoch: None,
        }
    }

    /// Example indices of `step` (0-based).
    ///
    /// ```
    /// use seddbio::train::BatchOrder;
    ///
    /// let mut order = BatchOrder::new(1, 10, 4);
    /// let mut seen: Vec<usize> = (0..5).flat_map(|step| order.indices(step)).collect();
    /// seen.truncate(20);
    /// // Two epochs: each example twice.
    /// seen.sort();
    /// assert_eq!(seen, (0..10).flat_map(|i| [i, i]).collect::<Vec<_>>());
    /// ```
    pub fn indices(&mut self, step: u64) -> Vec<usize> {
        let n = self.num_examples as u64;
        let first = step * self.batch_size as u64;
        (first..first + self.batch_size as u64)
            .map(|k| {
                let epoch = k / n;
                let permutation = self.permutation(epoch);
                permutation[(k % n) as usize]
            })
            .collect()
    }

    fn permutation(&mut self, epoch: u64) -> &[usize] {
        if self.epoch.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let mut order: Vec<usize> = (0..self.num_examples).collect();
            order.shuffle(&mut stream_rng(self.seed, Stream::Shuffle, epoch));
            self.epoch = Some((epoch, order));
        }
        match &self.epoch {
            Some((_, order)) => order,
            None => unreachable!("set above"),
        }
    }
}

/// Stratified times for `n` sequences: one draw in each of `n` equal slices of
/// `[TIME_EPS, 1]`, in random order. Same mean as i.i.d. uniform times, lower variance.
pub fn stratified_times<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    let mut times: Vec<f64> = (0..n)
        .map(|k| TIME_EPS + (1.0 - TIME_EPS) * (k as f64 + rng.random::<f64>()) / n as f64)
        .collect();
    times.shuffle(rng);
    times
}

/// Clean and noised tokens of `batch` sequences of `len` positions, row-major, with the total
/// noise and noise rate of each sequence's time.
#[derive(Debug, Clone, PartialEq)]
pub struct NoisedBatch {
    /// Sequences.
    pub batch: usize,
    /// Positions per sequence.
    pub len: usize,
    /// Clean tokens x_0.
    pub x0: Vec<i64>,
    /// Noised tokens x_t drawn from the closed-form transition (sedd.md, "Forward process").
    pub x_t: Vec<i64>,
    /// `sigma_bar(t)` per sequence.
    pub sigma_bar: Vec<f64>,
    /// `sigma(t)` per sequence: the DSE weight.
    pub sigma: Vec<f64>,
    /// The label of each sequence for a conditional model (the model's label count stands for
    /// the null label); `None` for none.
    pub labels: Option<Vec<usize>>,
}

impl NoisedBatch {
    /// Noises `clean` (`times.len()` rows of `len` tokens) at `times`.
    pub fn draw<R: Rng + ?Sized>(
        clean: &[TokenId],
        len: usize,
        times: &[f64],
        graph: &Graph,
        schedule: &NoiseSchedule,
        rng: &mut R,
    ) -> NoisedBatch {
        let batch = times.len();
        assert_eq!(clean.len(), batch * len, "one row of clean tokens per time");
        let sigma_bar: Vec<f64> = times.iter().map(|&t| schedule.sigma_bar(t)).collect();
        let sigma = times.iter().map(|&t| schedule.sigma(t)).collect();
        let x0: Vec<i64> = clean.iter().map(|&x| i64::from(x)).collect();
        let x_t = clean
            .chunks(len)
            .zip(&sigma_bar)
            .flat_map(|(row, &sb)| {
                row.iter()
                    .map(|&x| graph.perturb(usize::from(x), sb, rng) as i64)
                    .collect::<Vec<_>>()
            })
            .collect();
        NoisedBatch {
            batch,
            len,
            x0,
            x_t,
            sigma_bar,
            sigma,
            labels: None,
        }
    }

    /// The batch with a label per sequence (see [`NoisedBatch::labels`]).
    pub fn with_labels(self, labels: Option<Vec<usize>>) -> NoisedBatch {
        NoisedBatch { labels, ..self }
    }

    /// The training batch of `step`: the examples `order` names, stratified times and forward
    /// noise from the step's own stream; for a conditional dataset their labels, each replaced
    /// by the null label (index `labels().len()`) with probability `label_dropout`.
    pub fn for_step(
        dataset: &TokenDataset,
        order: &mut BatchOrder,
        step: u64,
        seed: u64,
        graph: &Graph,
        schedule: &NoiseSchedule,
        label_dropout: f64,
    ) -> NoisedBatch {
        let indices = order.indices(step);
        let len = dataset.seq_len();
        let mut clean = Vec::with_capacity(indices.len() * len);
        for &i in &indices {
            dataset.extend_with_example(i, &mut clean);
        }
        let mut rng = stream_rng(seed, Stream::Noise, step);
        let times = stratified_times(indices.len(), &mut rng);
        let batch = NoisedBatch::draw(&clean, len, &times, graph, schedule, &mut rng);
        if dataset.labels().is_empty() {
            return batch;
        }
        let null = dataset.labels().len();
        let mut drop = stream_rng(seed, Stream::LabelDropout, step);
        let labels = indices
            .iter()
            .map(|&i| match drop.random::<f64>() < label_dropout {
                true => null,
                false => dataset.example_label(i).unwrap_or(null),
            })
            .collect();
        batch.with_labels(Some(labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_times_cover_every_slice_once() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut times = stratified_times(50, &mut rng);
        times.sort_by(f64::total_cmp);
        for (k, t) in times.iter().enumerate() {
            let slice = ((t - TIME_EPS) / (1.0 - TIME_EPS) * 50.0).floor() as usize;
            assert_eq!(slice, k);
        }
    }

    #[test]
    fn absorbing_noise_masks_the_expected_fraction() {
        let graph = Graph::absorbing(4);
        let schedule = NoiseSchedule::log_linear();
        let clean: Vec<TokenId> = (0..4000).map(|i| (i % 4) as TokenId).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let batch = NoisedBatch::draw(
            &clean,
            1000,
            &[0.25, 0.5, 0.75, 0.999],
            &graph,
            &schedule,
            &mut rng,
        );
        for (row, t) in batch.x_t.chunks(1000).zip([0.25, 0.5, 0.75, 0.999]) {
            let masked = row.iter().filter(|&&x| x == 4).count() as f64 / 1000.0;
            // Log-linear: P(masked) = (1 - 1e-3) t; binomial SE < 0.016.
            assert!((masked - 0.999 * t).abs() < 0.05, "t {t}: {masked}");
            for (x, x0) in row.iter().zip(&batch.x0) {
                assert!(*x == 4 || x == x0);
            }
        }
    }
}
