//! Reverse-time samplers (docs/design.md, §7): Euler, analytic ("Tweedie tau-leaping") and,
//! for absorbing models, first-hitting with a cached network output and ReMDM remasking. One code path serves
//! unconditional sampling and infilling: every position has a [`Slot`] that fixes it, limits
//! it to a set of tokens, or leaves it free.

use rand::{Rng, RngExt};

use super::{SamplerSettings, UnmaskOrder};
use crate::{
    alphabet::TokenId,
    diffusion::{sample_categorical, Graph, GraphKind, NoiseSchedule},
    shard::{SharedStream, Streams},
    Error, Result,
};

/// The last time of the reference grid `t_k = 1 - k (1 - 1e-5) / T`; the final denoising step
/// runs there.
pub const SAMPLING_EPS: f64 = 1e-5;

/// Which sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplerKind {
    /// Euler steps of the reverse CTMC.
    Euler,
    /// Analytic steps with the staggered score.
    Analytic,
    /// Absorbing models only: each position unmasks once, at a time drawn from the forward
    /// process; the network is called only in steps where some position unmasks, so a
    /// length-L sequence needs at most L + 1 calls whatever the number of steps.
    FirstHitting,
    /// Absorbing models only: analytic steps in which an unmasked token may go back to MASK
    /// (ReMDM-cap), so that later context can correct an early choice; `steps + 1` calls.
    Remask,
}

impl SamplerKind {
    /// Whether the sampler works on absorbing models only.
    pub fn needs_absorbing(self) -> bool {
        matches!(self, SamplerKind::FirstHitting | SamplerKind::Remask)
    }

    /// The default for a graph, from the sweeps of docs/sampling.md: remasking for absorbing
    /// models (at temperature 1 it brought the samples' bound nearer the real sequences'
    /// wherever there was a gap: chorismate mutase 3.51 against 3.87 for first-hitting, real
    /// 3.04; dm3 promoters 1.925 against 1.937, real 1.925; MOSES 2.07 against 2.26, real 1.55,
    /// validity 2.5 % against 0.3 %; on UniProt windows both sit at 4.17 against 4.15; the 1-
    /// and 2-mer spectra nearer their floor on three of five sets), for 129 network calls per
    /// sequence at 128 steps against 31-102 for first-hitting; analytic for uniform ones.
    ///
    /// ```
    /// use seddbio::{diffusion::GraphKind, sample::SamplerKind};
    ///
    /// assert_eq!(SamplerKind::default_for(GraphKind::Absorb), SamplerKind::Remask);
    /// assert_eq!(SamplerKind::default_for(GraphKind::Uniform), SamplerKind::Analytic);
    /// ```
    pub fn default_for(graph: GraphKind) -> SamplerKind {
        match graph {
            GraphKind::Absorb => SamplerKind::Remask,
            GraphKind::Uniform => SamplerKind::Analytic,
        }
    }

    /// The default when an unmasking order is asked for but no sampler: first-hitting for
    /// confidence order (the one sampler with an order to choose), else [`Self::default_for`].
    ///
    /// ```
    /// use seddbio::{diffusion::GraphKind, sample::{SamplerKind, UnmaskOrder}};
    ///
    /// let confident = SamplerKind::default_for_order(GraphKind::Absorb, UnmaskOrder::Confidence);
    /// assert_eq!(confident, SamplerKind::FirstHitting);
    /// let random = SamplerKind::default_for_order(GraphKind::Absorb, UnmaskOrder::Random);
    /// assert_eq!(random, SamplerKind::Remask);
    /// ```
    pub fn default_for_order(graph: GraphKind, order: UnmaskOrder) -> SamplerKind {
        match order {
            UnmaskOrder::Confidence => SamplerKind::FirstHitting,
            UnmaskOrder::Random => SamplerKind::default_for(graph),
        }
    }
}

crate::choices::named_choices!(SamplerKind, "sampler", {
    Euler => "euler",
    Analytic => "analytic",
    FirstHitting => "first-hitting",
    Remask => "remask",
});

/// What one position may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// Any real token.
    Free,
    /// This token, always.
    Fixed(TokenId),
    /// One of these tokens (e.g. an IUPAC code); enforced at every step by zeroing the weights
    /// of the others.
    OneOf(Vec<TokenId>),
}

impl Slot {
    fn allows(&self, token: usize) -> bool {
        match self {
            Slot::Free => true,
            Slot::Fixed(t) => usize::from(*t) == token,
            Slot::OneOf(set) => set.iter().any(|&t| usize::from(t) == token),
        }
    }
}

/// The sampler's working tokens (indices into score rows) as token ids for the network.
fn token_ids(x: &[usize]) -> Vec<TokenId> {
    x.iter().map(|&t| t as TokenId).collect()
}

/// Sequences drawn in one batch and the work it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    /// Token ids, one vector per sequence (real tokens only).
    pub sequences: Vec<Vec<TokenId>>,
    /// Network calls made for the batch.
    pub network_calls: usize,
    /// Network calls in which each sequence had a position to update (its NFE).
    pub nfe: Vec<usize>,
    /// First-hitting only (else empty): each sequence's `-ln` probability of its drawn tokens
    /// under the distributions they were drawn from, in nats, and how many tokens were drawn.
    /// At temperature 1 with one position a step this is the sequence's negative
    /// log-likelihood under the model's factorisation in the order it was unmasked: the
    /// entropy the model's own process writes at (docs/sampling.md).
    pub path_nats: Vec<(f64, usize)>,
}

/// Log scores of a batch: `(x_t, batch, sigma_bar)` with `x_t` row-major `batch x len`, to
/// `batch x len x width` log scores.
pub trait ScoreFn {
    /// One network call.
    fn log_scores(&mut self, x_t: &[TokenId], batch: usize, sigma_bar: f64) -> Result<Vec<f32>>;
}

/// A closure is an infallible score (exact scores in tests and examples).
impl<F: FnMut(&[TokenId], usize, f64) -> Vec<f32>> ScoreFn for F {
    fn log_scores(&mut self, x_t: &[TokenId], batch: usize, sigma_bar: f64) -> Result<Vec<f32>> {
        Ok(self(x_t, batch, sigma_bar))
    }
}

/// Zeroes the weights of real tokens `slot` does not allow (MASK keeps its weight).
fn restrict(weights: &mut [f64], slot: &Slot, num_symbols: usize) {
    if matches!(slot, Slot::Free) {
        return;
    }
    for (y, w) in weights.iter_mut().enumerate().take(num_symbols) {
        if !slot.allows(y) {
            *w = 0.0;
        }
    }
}

/// The allowed real token with the largest log score: the fallback when every weight is 0
/// (an imperfect score at the last step).
fn best_allowed(row: &[f64], slot: &Slot, num_symbols: usize) -> usize {
    (0..num_symbols)
        .filter(|&y| slot.allows(y))
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap_or(0)
}

/// The reference time grid `t_k = 1 - k (1 - SAMPLING_EPS) / steps`, k = 0..=steps.
pub fn time_grid(steps: usize) -> Vec<f64> {
    (0..=steps)
        .map(|k| 1.0 - k as f64 * (1.0 - SAMPLING_EPS) / steps as f64)
        .collect()
}

/// Draws one sequence per entry of `slots` (a slot per position; every entry as long).
///
/// Euler, analytic and remasking make `settings.steps()` calls plus the final denoising call;
/// first-hitting makes one call per step in which some position of the batch unmasks (plus one
/// at the end if a position is still masked), and each call carries only the sequences with a
/// position due. Temperature and top-p reshape where a position goes when it moves
/// ([`SamplerSettings`]); confidence order (first-hitting only) changes which positions unmask.
///
/// ```
/// use rand::SeedableRng;
/// use seddbio::{diffusion::{Graph, NoiseSchedule}, sample::{sample, SamplerKind, SamplerSettings, Slot}};
///
/// // The exact score of an i.i.d. uniform source over 4 tokens, absorbing graph.
/// let graph = Graph::absorbing(4);
/// let score = |x: &[u16], _batch: usize, sigma_bar: f64| -> Vec<f32> {
///     let s = ((0.25f64).ln() - sigma_bar.exp_m1().ln()) as f32;
///     x.iter().flat_map(|_| [s, s, s, s, 0.0]).collect()
/// };
/// let slots = vec![vec![Slot::Fixed(2), Slot::Free, Slot::OneOf(vec![0, 1])]; 5];
/// let settings = SamplerSettings::new(SamplerKind::FirstHitting, 32)?;
/// let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(0);
/// let out = sample(&graph, &NoiseSchedule::log_linear(), &slots, &settings, &mut rng, score)?;
/// for seq in &out.sequences {
///     assert_eq!(seq[0], 2);
///     assert!(seq[2] < 2);
/// }
/// assert!(out.nfe.iter().all(|&n| n <= 3));
/// # Ok::<(), seddbio::Error>(())
/// ```
pub fn sample<R: Rng + ?Sized, S: ScoreFn>(
    graph: &Graph,
    schedule: &NoiseSchedule,
    slots: &[Vec<Slot>],
    settings: &SamplerSettings,
    rng: &mut R,
    score: S,
) -> Result<Sampled> {
    sample_streams(
        graph,
        schedule,
        slots,
        settings,
        &mut SharedStream(rng),
        score,
    )
}

/// [`sample`] with each sequence drawing from its own random stream (`streams.stream(b)` for
/// sequence `b` of the batch): a sequence's draws then depend on its stream alone, not on the
/// other sequences of its batch, which is what lets shards of a job add up to one run
/// ([`crate::shard`]).
pub fn sample_streams<T: Streams + ?Sized, S: ScoreFn>(
    graph: &Graph,
    schedule: &NoiseSchedule,
    slots: &[Vec<Slot>],
    settings: &SamplerSettings,
    streams: &mut T,
    mut score: S,
) -> Result<Sampled> {
    let (kind, steps) = (settings.kind(), settings.steps());
    let n = graph.num_symbols;
    let width = graph.width();
    let batch = slots.len();
    let len = slots.first().map_or(0, Vec::len);
    if slots.iter().any(|s| s.len() != len) {
        return Err(Error::RaggedBatch);
    }
    settings.check_graph(graph.kind)?;
    for (position, slot) in slots.iter().flat_map(|s| s.iter().enumerate()) {
        let empty = match slot {
            Slot::Fixed(t) => usize::from(*t) >= n,
            Slot::OneOf(set) => set.is_empty() || set.iter().any(|&t| usize::from(t) >= n),
            Slot::Free => false,
        };
        if empty {
            return Err(Error::EmptySlot {
                position: position + 1,
            });
        }
    }
    // The limit distribution, with fixed positions clamped (docs/design.md, §9, "Infilling").
    let flat: Vec<&Slot> = slots.iter().flatten().collect();
    let x: Vec<usize> = flat
        .iter()
        .enumerate()
        .map(|(i, slot)| match slot {
            Slot::Fixed(t) => usize::from(*t),
            _ if graph.kind == GraphKind::Absorb => n,
            Slot::OneOf(set) => {
                usize::from(set[streams.stream(i / len).random_range(0..set.len())])
            }
            Slot::Free => streams.stream(i / len).random_range(0..n),
        })
        .collect();
    let mut walk = Walk {
        flat,
        x,
        n,
        width,
        len,
        grid: time_grid(steps),
        calls: 0,
        nfe: vec![0; batch],
    };
    let path_nats = match kind {
        SamplerKind::FirstHitting => walk.first_hitting(schedule, settings, streams, &mut score)?,
        _ => {
            walk.on_grid(graph, schedule, settings, streams, &mut score)?;
            Vec::new()
        }
    };
    let Walk { x, calls, nfe, .. } = walk;
    Ok(Sampled {
        sequences: x.chunks(len.max(1)).map(token_ids).collect(),
        network_calls: calls,
        nfe,
        path_nats,
    })
}

/// The state of one call to [`sample`]: the slots, the tokens so far, and the network calls.
struct Walk<'a> {
    flat: Vec<&'a Slot>,
    x: Vec<usize>,
    n: usize,
    width: usize,
    len: usize,
    grid: Vec<f64>,
    calls: usize,
    nfe: Vec<usize>,
}

impl Walk<'_> {
    /// First-hitting: every masked position draws its unmasking time, and only the steps with
    /// one due call the network (docs/design.md, eqs. (35), (36)). Returns each sequence's
    /// path nats and drawn tokens.
    fn first_hitting<T: Streams + ?Sized, S: ScoreFn>(
        &mut self,
        schedule: &NoiseSchedule,
        settings: &SamplerSettings,
        streams: &mut T,
        score: &mut S,
    ) -> Result<Vec<(f64, usize)>> {
        let (n, len, steps) = (self.n, self.len, settings.steps());
        let batch = self.nfe.len();
        let width = self.width;
        let row_of = |scores: &[f32], i: usize| score_row(scores, width, i);
        let (flat, grid, x) = (&self.flat, &self.grid, &mut self.x);
        // Unmasking times: P(masked at t) = 1 - e^-sigma_bar(t) =: F(t), so given masked at
        // t = 1 a position unmasks at tau with CDF F(tau) / F(1). Step k covers
        // [grid[k+1], grid[k]); later steps than `steps - 1` mean the final call.
        let f1 = -(-schedule.sigma_bar(1.0)).exp_m1();
        let mut path = vec![(0.0, 0); batch];
        let mut event_step: Vec<usize> = x
            .iter()
            .enumerate()
            .map(|(i, &token)| {
                if token != n {
                    return usize::MAX;
                }
                let u: f64 = streams.stream(i / len).random();
                let tau = schedule.time_of(-(-u * f1).ln_1p());
                let k = ((1.0 - tau) / (1.0 - SAMPLING_EPS) * steps as f64).floor();
                (k.max(0.0) as usize).min(steps)
            })
            .collect();
        for (k, &t) in grid.iter().enumerate().take(steps + 1) {
            let mut due: Vec<usize> = (0..x.len()).filter(|&i| event_step[i] == k).collect();
            if due.is_empty() {
                continue;
            }
            // Only the sequences with a position due go through the network, so the work
            // (not just the per-sequence NFE) shrinks with the number of unmasking events.
            let mut rows: Vec<usize> = due.iter().map(|&i| i / len).collect();
            rows.dedup();
            let sub: Vec<usize> = rows
                .iter()
                .flat_map(|&r| x[r * len..(r + 1) * len].iter().copied())
                .collect();
            let scores = score.log_scores(&token_ids(&sub), rows.len(), schedule.sigma_bar(t))?;
            self.calls += 1;
            for &r in &rows {
                self.nfe[r] += 1;
            }
            // The normalised exp(s_v) over the allowed real tokens is p_0(v | unmasked
            // context) (docs/sampling.md, "The controls").
            let denoising = |i: usize| -> (Vec<f64>, Vec<f64>) {
                let sub_row = rows.partition_point(|&r| r < i / len);
                let row = row_of(&scores, sub_row * len + i % len);
                let mut weights: Vec<f64> = row[..n].iter().map(|s| s.exp()).collect();
                restrict(&mut weights, flat[i], n);
                (row, weights)
            };
            if settings.order() == UnmaskOrder::Confidence {
                due = most_confident(&due, &mut event_step, x, n, len, k, |i| denoising(i).1);
            }
            for i in due {
                let (row, mut weights) = denoising(i);
                settings.shape(&mut weights, None);
                x[i] = sample_categorical(&weights, streams.stream(i / len))
                    .unwrap_or_else(|| best_allowed(&row, flat[i], n));
                event_step[i] = usize::MAX;
                let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
                if let Some(drawn) = weights.get(x[i]).filter(|w| **w > 0.0 && total > 0.0) {
                    path[i / len].0 -= (drawn / total).ln();
                    path[i / len].1 += 1;
                }
            }
        }
        Ok(path)
    }

    /// Euler, analytic or remasking steps down the time grid, then the final denoising step
    /// (docs/design.md, eqs. (30)-(33), (37), (38)).
    fn on_grid<T: Streams + ?Sized, S: ScoreFn>(
        &mut self,
        graph: &Graph,
        schedule: &NoiseSchedule,
        settings: &SamplerSettings,
        streams: &mut T,
        score: &mut S,
    ) -> Result<()> {
        let (n, len, steps, kind) = (self.n, self.len, settings.steps(), settings.kind());
        let batch = self.nfe.len();
        let width = self.width;
        let row_of = |scores: &[f32], i: usize| score_row(scores, width, i);
        let (flat, grid, x) = (&self.flat, &self.grid, &mut self.x);
        for k in 0..=steps {
            let t = grid[k];
            let last = k == steps;
            let scores = score.log_scores(&token_ids(x), batch, schedule.sigma_bar(t))?;
            self.calls += 1;
            for i in 0..x.len() {
                let slot = flat[i];
                if matches!(slot, Slot::Fixed(_)) {
                    continue;
                }
                let row = row_of(&scores, i);
                let (mut weights, stay) = if last {
                    // Final denoising: one analytic step to sigma_bar = 0, MASK dropped.
                    let mut w = graph.analytic_weights(&row, x[i], schedule.sigma_bar(t));
                    if let Some(mask) = graph.mask() {
                        w[mask] = 0.0;
                    }
                    (w, None)
                } else {
                    let w = match kind {
                        SamplerKind::Euler => {
                            let dt = t - grid[k + 1];
                            let mut w = graph.reverse_rates(&row, x[i]);
                            let scale = schedule.sigma(t) * dt;
                            w.iter_mut().for_each(|r| *r *= scale);
                            w[x[i]] += 1.0;
                            w
                        }
                        SamplerKind::Remask => remask_weights(
                            &row,
                            x[i],
                            n,
                            schedule.sigma_bar(t),
                            schedule.sigma_bar(grid[k + 1]),
                            settings.remask_cap(),
                        ),
                        _ => {
                            let delta = schedule.sigma_bar(t) - schedule.sigma_bar(grid[k + 1]);
                            graph.analytic_weights(&row, x[i], delta)
                        }
                    };
                    (w, Some(x[i]))
                };
                restrict(&mut weights, slot, n);
                settings.shape(&mut weights, stay);
                x[i] = match sample_categorical(&weights, streams.stream(i / len)) {
                    Some(y) => y,
                    None if last || x[i] < n && !slot.allows(x[i]) => best_allowed(&row, slot, n),
                    None => x[i],
                };
            }
        }
        let calls = self.calls;
        self.nfe.iter_mut().for_each(|c| *c = calls);
        Ok(())
    }
}

/// Row `i` (`width` entries) of a batch of network scores, in f64.
fn score_row(scores: &[f32], width: usize, i: usize) -> Vec<f64> {
    scores[i * width..(i + 1) * width]
        .iter()
        .map(|&v| f64::from(v))
        .collect()
}

/// Confidence order: for every sequence with positions due at step `k`, as many of its masked
/// positions, taken by decreasing maximum of their (allowed, normalised) denoising
/// distribution, ties to the earlier position. A chosen position that was not due hands its
/// later unmasking step to a due one that was not chosen, so each sequence keeps the number
/// of positions the drawn times unmask at every step. Returns the chosen positions in order.
fn most_confident(
    due: &[usize],
    event_step: &mut [usize],
    x: &[usize],
    mask: usize,
    len: usize,
    k: usize,
    mut weights: impl FnMut(usize) -> Vec<f64>,
) -> Vec<usize> {
    let mut chosen = Vec::with_capacity(due.len());
    for group in due.chunk_by(|a, b| a / len == b / len) {
        let start = group[0] / len * len;
        let mut candidates: Vec<(f64, usize)> = (start..start + len)
            .filter(|&i| x[i] == mask && event_step[i] >= k && event_step[i] != usize::MAX)
            .map(|i| {
                let w = weights(i);
                let total: f64 = w.iter().sum();
                let top = w.iter().copied().fold(0.0, f64::max);
                (if total > 0.0 { top / total } else { 0.0 }, i)
            })
            .collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut picked: Vec<usize> = candidates[..group.len()].iter().map(|c| c.1).collect();
        picked.sort_unstable();
        let mut freed = group.iter().filter(|i| !picked.contains(i));
        for &i in picked.iter().filter(|i| !group.contains(i)) {
            if let Some(&j) = freed.next() {
                event_step[j] = event_step[i];
            }
        }
        chosen.extend(picked);
    }
    chosen
}

/// ReMDM-cap weights of one step from total noise `sigma_bar_t` down to `sigma_bar_s` on the
/// absorbing graph (docs/sampling.md, "The controls"; Wang et al. 2025). With `alpha = e^-sigma_bar`
/// the chance a token is unmasked, an unmasked token goes back to MASK with probability
/// `sigma = min(cap, (1 - alpha_s) / alpha_t)`, and a MASK unmasks with probability
/// `(alpha_s - (1 - sigma) alpha_t) / (1 - alpha_t)` to `p_0(v | context)`, the normalised
/// `exp(s_v)`; these keep the forward marginals at every time for an exact score, and
/// `sigma = 0` is the analytic step.
fn remask_weights(
    row: &[f64],
    x_t: usize,
    mask: usize,
    sigma_bar_t: f64,
    sigma_bar_s: f64,
    cap: f64,
) -> Vec<f64> {
    let (alpha_t, alpha_s) = ((-sigma_bar_t).exp(), (-sigma_bar_s).exp());
    let sigma = cap.min((1.0 - alpha_s) / alpha_t).min(1.0);
    let mut weights = vec![0.0; mask + 1];
    if x_t != mask {
        weights[x_t] = 1.0 - sigma;
        weights[mask] = sigma;
        return weights;
    }
    let unmask = ((alpha_s - (1.0 - sigma) * alpha_t) / -(-sigma_bar_t).exp_m1()).clamp(0.0, 1.0);
    let top = row[..mask]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = row[..mask].iter().map(|s| (s - top).exp()).sum();
    for (w, s) in weights.iter_mut().zip(&row[..mask]) {
        *w = unmask * (s - top).exp() / total;
    }
    weights[mask] = 1.0 - unmask;
    weights
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    /// First-hitting sends a sequence through the network only when one of its positions
    /// unmasks, so the rows of all calls add up to the summed NFE rather than batch x calls.
    #[test]
    fn first_hitting_calls_carry_only_sequences_with_a_position_due() {
        let graph = Graph::absorbing(4);
        let (batch, len) = (6, 5);
        let slots = vec![vec![Slot::Free; len]; batch];
        let mut rows_seen = 0;
        let score = |x: &[TokenId], rows: usize, sigma_bar: f64| -> Vec<f32> {
            assert_eq!(x.len(), rows * len);
            assert!(rows >= 1 && rows <= batch);
            rows_seen += rows;
            let s = ((0.25f64).ln() - sigma_bar.exp_m1().ln()) as f32;
            x.iter().flat_map(|_| [s, s, s, s, 0.0]).collect()
        };
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
        let out = sample(
            &graph,
            &NoiseSchedule::log_linear(),
            &slots,
            &SamplerSettings::new(SamplerKind::FirstHitting, 1024).unwrap(),
            &mut rng,
            score,
        )
        .unwrap();
        let nfe: usize = out.nfe.iter().sum();
        assert_eq!(rows_seen, nfe);
        // With 1024 steps the 5 positions of a sequence almost surely unmask at distinct
        // steps, so each sequence needs about 5 calls, far fewer than the batch's calls.
        assert!(
            out.nfe.iter().all(|&n| (1..=len).contains(&n)),
            "{:?}",
            out.nfe
        );
        assert!(
            nfe < batch * out.network_calls,
            "{nfe} vs {}",
            out.network_calls
        );
        assert!(out.sequences.iter().flatten().all(|&t| t < 4));
    }
}
