//! Training batches: which examples, which times, which noise; every draw a function of
//! `(seed, step)` so a resumed run sees exactly the batches an uninterrupted one would.

use rand::{rngs::ChaCha8Rng, seq::SliceRandom, RngExt, SeedableRng};

use crate::{
    data::TokenDataset,
    diffusion::{stratified_times, Graph, NoiseSchedule, NoisedBatch},
};

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
    /// The examples of a step drawn by weight (homolog reweighting).
    Weighted = 6,
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
    /// With example weights: their running sums; each step then draws its examples with
    /// probability proportional to their weights instead of walking through epochs.
    cumulative: Option<Vec<f64>>,
}

impl BatchOrder {
    /// The order of a run.
    pub fn new(seed: u64, num_examples: usize, batch_size: usize) -> BatchOrder {
        BatchOrder {
            seed,
            num_examples,
            batch_size,
            epoch: None,
            cumulative: None,
        }
    }

    /// The order of a run over `dataset`: epochs, or draws by weight where the dataset's
    /// examples carry weights (docs/design.md, §16).
    ///
    /// ```
    /// use seddbio::{data::{EncodedRecord, Layout, LayoutKind, TokenDataset, TooLong}, train::BatchOrder};
    ///
    /// let records = (0..2).map(|i| EncodedRecord { id: format!("r{i}"), tokens: vec![0, 1], label: None }).collect();
    /// let layout = Layout { kind: LayoutKind::Windows, seq_len: 2, stride: 2, too_long: TooLong::Error };
    /// let data = TokenDataset::new(records, layout, None).unwrap().0.with_example_weights(vec![3.0, 1.0]);
    /// let mut order = BatchOrder::for_dataset(5, &data, 1000);
    /// let first = order.indices(0).iter().filter(|&&i| i == 0).count();
    /// assert!((700..800).contains(&first), "{first}");
    /// ```
    pub fn for_dataset(seed: u64, dataset: &TokenDataset, batch_size: usize) -> BatchOrder {
        let mut order = BatchOrder::new(seed, dataset.len(), batch_size);
        order.cumulative = dataset.example_weights().map(|weights| {
            let mut total = 0.0;
            weights
                .iter()
                .map(|w| {
                    total += w;
                    total
                })
                .collect()
        });
        order
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
        if let Some(cumulative) = &self.cumulative {
            let total = cumulative.last().copied().unwrap_or(0.0);
            let mut rng = stream_rng(self.seed, Stream::Weighted, step);
            return (0..self.batch_size)
                .map(|_| {
                    let u = rng.random::<f64>() * total;
                    cumulative
                        .partition_point(|&c| c <= u)
                        .min(cumulative.len() - 1)
                })
                .collect();
        }
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

impl NoisedBatch {
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
