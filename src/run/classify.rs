//! The likelihood classifier of a conditional model: every sequence's bound under every label,
//! and the posterior over labels from those bounds (docs/design.md, eq. (27)).

use rand::rngs::ChaCha8Rng;

use super::TrainedModel;
use crate::{
    alphabet::TokenId, diffusion::ElboEstimate, io::csv_field, shard::item_stream, Result,
};

/// Posterior probabilities of the labels from per-label bounds (nats) under a flat prior:
/// `p(y | x) ∝ exp(-bound_y)`, the bounds standing in for `-log p(x | y)`.
///
/// ```
/// let p = seddbio::run::label_posterior(&[10.0, 10.0 + 2f64.ln()]);
/// assert!((p[0] - 2.0 / 3.0).abs() < 1e-12 && (p[1] - 1.0 / 3.0).abs() < 1e-12);
/// ```
pub fn label_posterior(bounds: &[f64]) -> Vec<f64> {
    let best = bounds.iter().copied().fold(f64::INFINITY, f64::min);
    let weights: Vec<f64> = bounds.iter().map(|b| (best - b).exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// Every sequence's bound under every label of a model, and what they say.
#[derive(Debug, Clone)]
pub struct Classification {
    labels: Vec<String>,
    per_label: Vec<Vec<ElboEstimate>>,
}

impl TrainedModel {
    /// Scores every sequence under every label with the same times and noise for each
    /// (common random numbers: the bounds' differences carry much less noise than the
    /// bounds). Sequence i draws them from `item_stream(seed, first + i)`, its own stream of
    /// the job (`first`: the global index of `sequences[0]`, 0 unless it is a shard), so its
    /// scores do not depend on what else is classified with it. `progress` hears of each
    /// batch scored, label after label.
    pub fn classify(
        &self,
        sequences: &[&[TokenId]],
        num_t: usize,
        batch_size: usize,
        (seed, first): (u64, usize),
        progress: &mut dyn FnMut(usize),
    ) -> Result<Classification> {
        let per_label = (0..self.spec.labels.len())
            .map(|label| {
                let mut streams: Vec<ChaCha8Rng> = (first..first + sequences.len())
                    .map(|g| item_stream(seed, g))
                    .collect();
                let labels = vec![label; sequences.len()];
                self.elbo_estimates(
                    sequences,
                    Some(&labels),
                    num_t,
                    batch_size,
                    streams.as_mut_slice(),
                    progress,
                )
            })
            .collect::<Result<_>>()?;
        Ok(Classification {
            labels: self.spec.labels.clone(),
            per_label,
        })
    }
}

impl Classification {
    /// The model's labels, in index order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Sequence `i`'s bound under each label.
    pub fn estimates(&self, i: usize) -> impl Iterator<Item = &ElboEstimate> {
        self.per_label.iter().map(move |e| &e[i])
    }

    /// Sequence `i`'s posterior over the labels ([`label_posterior`]).
    pub fn posterior(&self, i: usize) -> Vec<f64> {
        let bounds: Vec<f64> = self.estimates(i).map(|e| e.nats).collect();
        label_posterior(&bounds)
    }

    /// Sequence `i`'s most probable label (index).
    pub fn predicted(&self, i: usize) -> usize {
        most_probable(&self.posterior(i))
    }

    /// Each label's pooled bits/token over all sequences, with its standard error.
    pub fn pooled(&self) -> Vec<(f64, f64)> {
        self.per_label
            .iter()
            .map(|e| crate::model::pooled_bits_per_token(e))
            .collect()
    }

    /// The table `score --classify` writes: id, length, the true label where `truth` has
    /// any, the prediction, then the posterior and the bits/token under each label. Returns
    /// it with the predictions per label and `(correct, known)` against the true labels.
    pub fn csv(
        &self,
        ids: &[&str],
        truth: &[Option<&str>],
    ) -> (String, Vec<usize>, (usize, usize)) {
        let names = &self.labels;
        let mut csv = String::from("id,length");
        if truth.iter().any(Option::is_some) {
            csv.push_str(",label");
        }
        csv.push_str(",predicted");
        for name in names {
            csv.push_str(&format!(",posterior_{}", csv_field(name)));
        }
        for name in names {
            csv.push_str(&format!(",bits_per_token_{}", csv_field(name)));
        }
        csv.push('\n');
        let (mut correct, mut known) = (0usize, 0usize);
        let mut counts = vec![0usize; names.len()];
        for (i, id) in ids.iter().enumerate() {
            let posterior = self.posterior(i);
            let best = most_probable(&posterior);
            counts[best] += 1;
            let length = self.per_label.first().map_or(0, |e| e[i].tokens);
            csv.push_str(&format!("{},{length}", csv_field(id)));
            if let Some(label) = truth[i] {
                csv.push_str(&format!(",{}", csv_field(label)));
                known += 1;
                correct += usize::from(label == names[best]);
            }
            csv.push_str(&format!(",{}", csv_field(&names[best])));
            for p in posterior {
                csv.push_str(&format!(",{p:.5}"));
            }
            for e in self.estimates(i) {
                csv.push_str(&format!(",{:.5}", e.bits_per_token()));
            }
            csv.push('\n');
        }
        (csv, counts, (correct, known))
    }
}

/// The index of the largest probability (the last of equals, as `max_by` picks; 0 when there
/// are none).
fn most_probable(posterior: &[f64]) -> usize {
    (0..posterior.len())
        .max_by(|&a, &b| posterior[a].total_cmp(&posterior[b]))
        .unwrap_or(0)
}
