//! The forward process applied to a batch: clean sequences noised at sampled times, what the
//! DSE loss (training) and the ELBO estimate (scoring) both consume (docs/design.md, §3 and
//! eqs. (21)-(24)).

use rand::{seq::SliceRandom, Rng, RngExt};

use super::{Graph, NoiseSchedule};
use crate::{
    alphabet::TokenId,
    shard::{SharedStream, Streams},
};

/// Smallest training time, as in the reference (`sampling_eps`): `sigma_bar(t)` and the DSE
/// constants are ill-conditioned at t = 0.
pub const TIME_EPS: f64 = 1e-3;

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
    pub x0: Vec<TokenId>,
    /// Noised tokens x_t drawn from the closed-form transition (docs/design.md, eqs. (10), (11)).
    pub x_t: Vec<TokenId>,
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
        NoisedBatch::draw_streams(clean, len, times, graph, schedule, &mut SharedStream(rng))
    }

    /// [`NoisedBatch::draw`] with row `r` noised from `streams.stream(r)`.
    pub fn draw_streams<S: Streams + ?Sized>(
        clean: &[TokenId],
        len: usize,
        times: &[f64],
        graph: &Graph,
        schedule: &NoiseSchedule,
        streams: &mut S,
    ) -> NoisedBatch {
        let batch = times.len();
        assert_eq!(clean.len(), batch * len, "one row of clean tokens per time");
        let sigma_bar: Vec<f64> = times.iter().map(|&t| schedule.sigma_bar(t)).collect();
        let sigma = times.iter().map(|&t| schedule.sigma(t)).collect();
        let x0 = clean.to_vec();
        let x_t = clean
            .chunks(len)
            .zip(&sigma_bar)
            .enumerate()
            .flat_map(|(r, (row, &sb))| {
                let rng = streams.stream(r);
                row.iter()
                    .map(|&x| graph.perturb(usize::from(x), sb, rng) as TokenId)
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

    /// Noises each row `(clean tokens, time, noise seed)` with its own random stream, drawn
    /// from its seed: two rows of one time and seed get the same forward noise wherever their
    /// clean tokens agree, and the same mask pattern under the absorbing graph (common random
    /// numbers for differences of bounds, docs/design.md, §16). Rows are `len` tokens each.
    pub fn draw_seeded(
        rows: &[(&[TokenId], f64, u64)],
        len: usize,
        graph: &Graph,
        schedule: &NoiseSchedule,
    ) -> NoisedBatch {
        use rand::SeedableRng;
        let mut x0 = Vec::with_capacity(rows.len() * len);
        let mut x_t = Vec::with_capacity(rows.len() * len);
        for &(clean, time, seed) in rows {
            assert_eq!(clean.len(), len, "rows of one length");
            let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
            let sigma_bar = schedule.sigma_bar(time);
            x0.extend_from_slice(clean);
            x_t.extend(
                clean
                    .iter()
                    .map(|&x| graph.perturb(usize::from(x), sigma_bar, &mut rng) as TokenId),
            );
        }
        NoisedBatch {
            batch: rows.len(),
            len,
            x0,
            x_t,
            sigma_bar: rows.iter().map(|r| schedule.sigma_bar(r.1)).collect(),
            sigma: rows.iter().map(|r| schedule.sigma(r.1)).collect(),
            labels: None,
        }
    }

    /// The batch with a label per sequence (see [`NoisedBatch::labels`]).
    pub fn with_labels(self, labels: Option<Vec<usize>>) -> NoisedBatch {
        NoisedBatch { labels, ..self }
    }
}

#[cfg(test)]
mod tests {
    use rand::{rngs::ChaCha8Rng, SeedableRng};

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
