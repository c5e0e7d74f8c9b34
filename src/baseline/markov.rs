//! K-th order Markov chain with add-0.5 (Jeffreys) smoothing.
//!
//! `P(x_i | x_{i-k..i}) = (c(context, x_i) + 0.5) / (c(context) + 0.5 N)` with `k = min(i, K)`:
//! the first K positions of a sequence use the lower-order chains fitted on the same data, so
//! every position is scored and the chain is a proper distribution over sequences of any
//! length. Contexts never seen in training give the uniform `1/N`.

use std::collections::HashMap;

use rand::Rng;

use crate::{
    alphabet::TokenId,
    data::TokenDataset,
    diffusion::sample_categorical,
    error::{Error, Result},
    variant::PreparedVariants,
};

/// A fitted K-th order Markov chain over `num_tokens` token ids.
///
/// ```
/// use seddbio::baseline::MarkovChain;
///
/// let train: Vec<Vec<u16>> = vec![vec![0, 1, 0, 1, 0, 1], vec![1, 0, 1, 0]];
/// let chain = MarkovChain::fit(1, 2, train.iter().map(Vec::as_slice)).unwrap();
/// // After a 0 the training data always had a 1: (4 + 0.5) / (4 + 1).
/// assert!((chain.log_prob(&[0, 1]) - ((1.5f64 / 3.0) * (4.5 / 5.0)).ln()).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct MarkovChain {
    order: usize,
    num_tokens: usize,
    /// `tables[k]`: context of k tokens (base-N number) -> next-token counts.
    tables: Vec<HashMap<u64, Vec<u32>>>,
}

/// Add-0.5 smoothing.
const PSEUDOCOUNT: f64 = 0.5;

/// One order of a [`markov_scan`]: the chain and its bits per token on the training and the
/// held-out examples.
#[derive(Debug, Clone)]
pub struct MarkovFit {
    /// The fitted chain.
    pub chain: MarkovChain,
    /// Bits per real token of the training examples.
    pub train_bits: f64,
    /// Bits per real token of the held-out examples, if any.
    pub valid_bits: Option<f64>,
}

/// Fits a chain of every order in `orders` on `train` (as the diffusion model sees it:
/// windows, or padded records with their pads) and scores `valid`: the baseline a model must
/// beat is the best of these held-out figures ([`best_order`]).
pub fn markov_scan(
    orders: std::ops::RangeInclusive<usize>,
    num_tokens: usize,
    train: &TokenDataset,
    valid: Option<&TokenDataset>,
) -> Result<Vec<MarkovFit>> {
    markov_fits(orders, num_tokens, train, valid).collect()
}

/// The best Markov chain on a split (orders 0 to 8, chosen on all of `valid`): its order, the
/// chain and the orders tried (`0..N`). The scan stops once two orders in a row are worse
/// than the best so far (the held-out curve over orders has one minimum), which saves the
/// costly high orders on large data, and where the vocabulary cannot index an order.
pub fn best_markov_chain(
    num_tokens: usize,
    train: &TokenDataset,
    valid: &TokenDataset,
) -> Option<(usize, MarkovChain, String)> {
    let mut best: Option<(f64, MarkovChain)> = None;
    let mut last = 0;
    for fit in markov_fits(0..=8, num_tokens, train, Some(valid)) {
        let Ok(fit) = fit else { break };
        let Some(bits) = fit.valid_bits else { break };
        last = fit.chain.order();
        match &best {
            Some((best_bits, chain)) if bits >= *best_bits => {
                if last >= chain.order() + 2 {
                    break;
                }
            }
            _ => best = Some((bits, fit.chain)),
        }
    }
    best.map(|(_, chain)| (chain.order(), chain, format!("0..{last}")))
}

/// [`markov_scan`] one order at a time, each fitted only when asked for, so that a caller can
/// stop early; the training examples are laid out once for all orders.
pub fn markov_fits<'a>(
    orders: std::ops::RangeInclusive<usize>,
    num_tokens: usize,
    train: &'a TokenDataset,
    valid: Option<&'a TokenDataset>,
) -> impl Iterator<Item = Result<MarkovFit>> + 'a {
    let examples: Vec<Vec<TokenId>> = (0..train.len()).map(|i| train.example(i)).collect();
    orders.map(move |order| {
        let chain = MarkovChain::fit(order, num_tokens, examples.iter().map(Vec::as_slice))?;
        Ok(MarkovFit {
            train_bits: chain.bits_per_token(train),
            valid_bits: valid.map(|v| chain.bits_per_token(v)),
            chain,
        })
    })
}

/// The fit with the lowest held-out bits per token (none without held-out data).
pub fn best_order(fits: &[MarkovFit]) -> Option<&MarkovFit> {
    fits.iter()
        .filter(|fit| fit.valid_bits.is_some())
        .min_by(|a, b| {
            a.valid_bits
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.valid_bits.unwrap_or(f64::INFINITY))
        })
}

impl MarkovChain {
    /// Counts contexts of order 0..=`order` in `sequences`.
    pub fn fit<'a, I>(order: usize, num_tokens: usize, sequences: I) -> Result<MarkovChain>
    where
        I: IntoIterator<Item = &'a [TokenId]>,
    {
        if num_tokens < 2 {
            return Err(Error::MarkovTokens { tokens: num_tokens });
        }
        if (num_tokens as f64).log2() * order as f64 >= 63.0 {
            return Err(Error::Setting {
                setting: crate::Setting::MarkovOrder,
                message: format!(
                    "order {order} over {num_tokens} tokens has too many contexts to index"
                ),
            });
        }
        let mut chain = MarkovChain {
            order,
            num_tokens,
            tables: vec![HashMap::new(); order + 1],
        };
        for sequence in sequences {
            chain.for_each_context(sequence, |tables, k, context, token| {
                let counts = tables[k]
                    .entry(context)
                    .or_insert_with(|| vec![0; num_tokens]);
                counts[token as usize] += 1;
            });
        }
        Ok(chain)
    }

    /// The order K.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Calls `f(tables, k, context, token)` for each position with its order and context.
    fn for_each_context<F>(&mut self, sequence: &[TokenId], mut f: F)
    where
        F: FnMut(&mut Vec<HashMap<u64, Vec<u32>>>, usize, u64, TokenId),
    {
        for (i, &token) in sequence.iter().enumerate() {
            let k = i.min(self.order);
            let context = self.context(&sequence[i - k..i]);
            f(&mut self.tables, k, context, token);
        }
    }

    fn context(&self, tokens: &[TokenId]) -> u64 {
        tokens
            .iter()
            .fold(0u64, |acc, &t| acc * self.num_tokens as u64 + t as u64)
    }

    /// Smoothed next-token probabilities after `history` (its last K tokens are used).
    pub fn next_probabilities(&self, history: &[TokenId]) -> Vec<f64> {
        let k = history.len().min(self.order);
        let context = self.context(&history[history.len() - k..]);
        let n = self.num_tokens as f64;
        match self.tables[k].get(&context) {
            Some(counts) => {
                let total = counts.iter().map(|&c| c as f64).sum::<f64>() + PSEUDOCOUNT * n;
                counts
                    .iter()
                    .map(|&c| (c as f64 + PSEUDOCOUNT) / total)
                    .collect()
            }
            None => vec![1.0 / n; self.num_tokens],
        }
    }

    /// Natural log-likelihood of a sequence.
    pub fn log_prob(&self, sequence: &[TokenId]) -> f64 {
        (0..sequence.len())
            .map(|i| self.next_probabilities(&sequence[..i])[sequence[i] as usize].ln())
            .sum()
    }

    /// `log p(mutant) - log p(wild type)` of each prepared variant, each sequence followed by
    /// `pad`s up to `seq_len` as the padded examples the chain was fitted on are
    /// (docs/design.md, §16).
    pub fn variant_scores(
        &self,
        prepared: &PreparedVariants,
        pad: Option<TokenId>,
        seq_len: usize,
    ) -> Vec<f64> {
        let laid_out = |tokens: &[TokenId]| {
            let mut tokens = tokens.to_vec();
            if let Some(pad) = pad {
                tokens.resize(tokens.len().max(seq_len), pad);
            }
            self.log_prob(&tokens)
        };
        let wild = laid_out(&prepared.wild);
        prepared
            .variants
            .iter()
            .map(|(_, mutant)| laid_out(mutant) - wild)
            .collect()
    }

    /// Bits per real token of every example of `data`: pads are scored (the first one says
    /// where a padded record ends) but not counted, the convention of the diffusion model's
    /// ELBO, so the two figures compare directly.
    pub fn bits_per_token(&self, data: &TokenDataset) -> f64 {
        self.bits_per_real_token((0..data.len()).map(|i| data.example(i)), data.num_tokens())
    }

    /// Bits per real token of `sequences` (pads included, as laid out) that hold
    /// `real_tokens` real tokens in all: [`MarkovChain::bits_per_token`] for sequences that
    /// are not a whole dataset.
    pub fn bits_per_real_token<S: AsRef<[TokenId]>>(
        &self,
        sequences: impl IntoIterator<Item = S>,
        real_tokens: u64,
    ) -> f64 {
        let nats: f64 = sequences
            .into_iter()
            .map(|s| -self.log_prob(s.as_ref()))
            .sum();
        nats / (real_tokens.max(1) as f64 * std::f64::consts::LN_2)
    }

    /// Draws a sequence of `len` tokens.
    pub fn sample<R: Rng + ?Sized>(&self, len: usize, rng: &mut R) -> Vec<TokenId> {
        let mut sequence = Vec::with_capacity(len);
        for _ in 0..len {
            let probabilities = self.next_probabilities(&sequence);
            // Smoothed probabilities are all positive, so a draw always exists.
            let token = sample_categorical(&probabilities, rng).unwrap_or(0);
            sequence.push(token as TokenId);
        }
        sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::ChaCha8Rng, SeedableRng};

    /// Brute force: count occurrences of `context + token` and of `context` followed by
    /// anything, by scanning every training sequence, exactly as the formula reads.
    fn brute_force_log_prob(train: &[Vec<TokenId>], order: usize, n: usize, x: &[TokenId]) -> f64 {
        let mut total = 0.0;
        for i in 0..x.len() {
            let k = i.min(order);
            let context = &x[i - k..i];
            let (mut with_token, mut with_any) = (0.0, 0.0);
            for s in train {
                for j in k..s.len() {
                    // Training position j is counted at order k only when min(j, K) == k.
                    if j.min(order) == k && &s[j - k..j] == context {
                        with_any += 1.0;
                        if s[j] == x[i] {
                            with_token += 1.0;
                        }
                    }
                }
            }
            total += if with_any == 0.0 {
                (1.0 / n as f64).ln()
            } else {
                ((with_token + 0.5) / (with_any + 0.5 * n as f64)).ln()
            };
        }
        total
    }

    fn random_sequences(
        rng: &mut ChaCha8Rng,
        count: usize,
        len: usize,
        n: usize,
    ) -> Vec<Vec<TokenId>> {
        use rand::RngExt;
        (0..count)
            .map(|_| {
                (0..len)
                    .map(|_| rng.random_range(0..n) as TokenId)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn log_likelihood_matches_brute_force_counting() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for (order, n) in [(0, 4), (1, 3), (2, 4), (3, 2)] {
            let train = random_sequences(&mut rng, 12, 15, n);
            let chain = MarkovChain::fit(order, n, train.iter().map(Vec::as_slice)).unwrap();
            for x in random_sequences(&mut rng, 10, 9, n) {
                let expected = brute_force_log_prob(&train, order, n, &x);
                assert!(
                    (chain.log_prob(&x) - expected).abs() < 1e-10,
                    "order {order}"
                );
            }
        }
    }

    #[test]
    fn probabilities_over_all_sequences_sum_to_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (n, len) = (3, 5);
        let train = random_sequences(&mut rng, 6, 8, n);
        let chain = MarkovChain::fit(2, n, train.iter().map(Vec::as_slice)).unwrap();
        let total: f64 = (0..n.pow(len as u32))
            .map(|mut code| {
                let x: Vec<TokenId> = (0..len)
                    .map(|_| {
                        let t = code % n;
                        code /= n;
                        t as TokenId
                    })
                    .collect();
                chain.log_prob(&x).exp()
            })
            .sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }

    #[test]
    fn samples_follow_the_chain() {
        // A deterministic alternating source: samples alternate too, almost always.
        let train: Vec<Vec<TokenId>> = (0..50).map(|_| [0, 1].repeat(50)).collect();
        let chain = MarkovChain::fit(1, 2, train.iter().map(Vec::as_slice)).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let sample = chain.sample(1000, &mut rng);
        let alternations = sample.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(alternations > 990, "{alternations}");
    }

    #[test]
    fn too_many_contexts_are_refused() {
        let err = MarkovChain::fit(20, 40, std::iter::empty()).unwrap_err();
        assert!(matches!(
            err,
            Error::Setting {
                setting: crate::Setting::MarkovOrder,
                ..
            }
        ));
        assert!(err.to_string().contains("too many contexts"), "{err}");
    }
}
