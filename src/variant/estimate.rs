//! Variant-effect scores under a trained model: masked marginals and ELBO differences with
//! common random numbers (docs/design.md, §16).

use std::collections::BTreeMap;

use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};

use crate::{
    alphabet::TokenId,
    diffusion::{stratified_times, GraphKind},
    model::common_noise_integrands,
    run::TrainedModel,
    sample::ScoreFn,
    Error, Result, Setting,
};

/// How a variant's effect is estimated (docs/design.md, §16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimator {
    /// Absorbing models: the mutated positions masked in the wild type, the log ratio of the
    /// mutant and wild-type letters in the model's denoising distribution there, summed over
    /// the positions. One network call per distinct set of positions; exact, no noise.
    MaskedMarginal,
    /// The bound of the wild type minus the mutant's, both at the same times with the same
    /// forward noise (common random numbers); a Monte-Carlo estimate with its standard error.
    ElboDifference,
}

crate::choices::named_choices!(Estimator, "estimator", {
    MaskedMarginal => "masked-marginal",
    ElboDifference => "elbo-difference",
});

impl Estimator {
    /// Masked marginals for absorbing models (one call per position set, no noise), the ELBO
    /// difference for uniform ones (which have no mask to read a marginal at).
    pub fn default_for(graph: GraphKind) -> Estimator {
        match graph {
            GraphKind::Absorb => Estimator::MaskedMarginal,
            GraphKind::Uniform => Estimator::ElboDifference,
        }
    }
}

/// A variant's score: the estimate of `log p(mutant) - log p(wild type)` in nats (positive:
/// the model prefers the mutant), with its standard error where it is a Monte-Carlo estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VariantScore {
    /// The log-likelihood ratio, nats.
    pub nats: f64,
    /// Its standard error (ELBO difference only).
    pub std_error: Option<f64>,
}

/// The settings of [`score_mutants`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VariantScoring {
    /// The estimator.
    pub estimator: Estimator,
    /// ELBO difference: times per variant (stratified, shared by every variant).
    pub num_t: usize,
    /// Sequences (masked marginals) or (sequence, time) pairs (ELBO difference) per network
    /// call.
    pub batch_size: usize,
    /// ELBO difference: seed of the times and the forward noise.
    pub seed: u64,
}

/// Scores each of `mutants` (token sequences as long as `wild`, which differ from it at the
/// mutated positions) against the wild type. `progress` hears of the work done, in rows of
/// network input.
pub fn score_mutants(
    trained: &TrainedModel,
    wild: &[TokenId],
    mutants: &[Vec<TokenId>],
    scoring: &VariantScoring,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<VariantScore>> {
    let seq_len = trained.spec.seq_len;
    if wild.len() > seq_len {
        return Err(Error::SequenceTooLong {
            sequence: 1,
            tokens: wild.len(),
            model: seq_len,
        });
    }
    if mutants.iter().any(|m| m.len() != wild.len()) {
        return Err(Error::RaggedBatch);
    }
    // Padded models see the wild type (and mutants) padded to their length, as when scoring.
    let laid_out = |tokens: &[TokenId]| -> Vec<TokenId> {
        let mut tokens = tokens.to_vec();
        if let (crate::data::LayoutKind::Padded, Some(pad)) =
            (trained.spec.layout, trained.alphabet.pad_id())
        {
            tokens.resize(seq_len, pad);
        }
        tokens
    };
    match scoring.estimator {
        Estimator::MaskedMarginal => {
            masked_marginals(trained, &laid_out(wild), mutants, scoring, progress)
        }
        Estimator::ElboDifference => {
            let sequences: Vec<Vec<TokenId>> = std::iter::once(wild)
                .chain(mutants.iter().map(Vec::as_slice))
                .map(laid_out)
                .collect();
            elbo_differences(trained, &sequences, scoring, progress)
        }
    }
}

/// docs/design.md, eq. (66): each distinct set of mutated positions masked in the wild type,
/// at the noise level at which that share of positions is masked.
fn masked_marginals(
    trained: &TrainedModel,
    wild: &[TokenId],
    mutants: &[Vec<TokenId>],
    scoring: &VariantScoring,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<VariantScore>> {
    let graph = &trained.graph;
    if graph.kind != GraphKind::Absorb {
        return Err(Error::Setting {
            setting: Setting::VariantEstimator,
            message: "masked marginals need an absorbing model (this one is uniform); use the ELBO difference".into(),
        });
    }
    let (len, width) = (wild.len(), graph.width());
    let mask = graph.num_symbols as TokenId;
    // Mutants by the positions they change, and those sets by their size (one noise level
    // per network call).
    let mut by_positions: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    for (j, mutant) in mutants.iter().enumerate() {
        let changed = (0..mutant.len())
            .filter(|&i| mutant[i] != wild[i])
            .collect();
        by_positions.entry(changed).or_default().push(j);
    }
    let mut by_size: BTreeMap<usize, Vec<&Vec<usize>>> = BTreeMap::new();
    for positions in by_positions.keys().filter(|p| !p.is_empty()) {
        by_size.entry(positions.len()).or_default().push(positions);
    }
    let mut scores = vec![
        VariantScore {
            nats: 0.0,
            std_error: None,
        };
        mutants.len()
    ];
    let mut network = crate::sample::network_score(&trained.model);
    for (size, sets) in by_size {
        // The share of masked positions is 1 - exp(-sigma_bar): solve for sigma_bar, at most
        // the schedule's end.
        let share = size as f64 / len as f64;
        let sigma_bar = (-(-share).ln_1p()).min(trained.spec.noise.sigma_bar(1.0));
        for chunk in sets.chunks(scoring.batch_size.max(1)) {
            let mut rows = Vec::with_capacity(chunk.len() * len);
            for positions in chunk {
                let start = rows.len();
                rows.extend_from_slice(wild);
                for &i in positions.iter() {
                    rows[start + i] = mask;
                }
            }
            let logits = network.log_scores(&rows, chunk.len(), sigma_bar)?;
            for (row, positions) in chunk.iter().enumerate() {
                let at = |i: usize, token: TokenId| {
                    f64::from(logits[(row * len + i) * width + usize::from(token)])
                };
                for &j in &by_positions[*positions] {
                    scores[j].nats = positions
                        .iter()
                        .map(|&i| at(i, mutants[j][i]) - at(i, wild[i]))
                        .sum();
                }
            }
            progress(chunk.len());
        }
    }
    Ok(scores)
}

/// docs/design.md, eq. (67): `sequences[0]` is the wild type; every sequence is scored at the
/// same stratified times with the same forward noise per time.
fn elbo_differences(
    trained: &TrainedModel,
    sequences: &[Vec<TokenId>],
    scoring: &VariantScoring,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<VariantScore>> {
    let (graph, schedule) = (&trained.graph, &trained.spec.noise);
    let mut rng = ChaCha8Rng::seed_from_u64(scoring.seed);
    let times = stratified_times(scoring.num_t.max(1), &mut rng);
    let noise_seeds: Vec<u64> = times.iter().map(|_| rng.random()).collect();
    let values = common_noise_integrands(
        &trained.model,
        sequences,
        &times,
        &noise_seeds,
        graph,
        schedule,
        scoring.batch_size,
        progress,
    )?;
    let sigma_bar_1 = schedule.sigma_bar(1.0);
    let prior = |tokens: &[TokenId]| -> f64 {
        tokens
            .iter()
            .map(|&x| graph.prior_kl(usize::from(x), sigma_bar_1))
            .sum()
    };
    let wild_prior = prior(&sequences[0]);
    Ok(sequences[1..]
        .iter()
        .zip(&values[1..])
        .map(|(mutant, mutant_values)| {
            let differences: Vec<f64> = values[0]
                .iter()
                .zip(mutant_values)
                .map(|(w, m)| w - m)
                .collect();
            let k = differences.len() as f64;
            let mean = differences.iter().sum::<f64>() / k;
            let variance = match differences.len() {
                0 | 1 => 0.0,
                _ => differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (k - 1.0),
            };
            VariantScore {
                nats: mean + wild_prior - prior(mutant),
                std_error: Some((variance / k).sqrt()),
            }
        })
        .collect())
}
