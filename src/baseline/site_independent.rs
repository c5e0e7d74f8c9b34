//! The site-independent model of a family: each match column of its alignment an independent
//! distribution over the alphabet's letters, fitted from homolog-weighted counts with a
//! pseudocount (docs/design.md, §16, eq. 69). It is the baseline variant-effect predictors
//! are measured against: what a family's conservation alone says about a mutation.

use crate::{
    alphabet::{Alphabet, TokenId},
    data::{match_columns, HomologWeights},
    io::SequenceFile,
    variant::{Placement, PreparedVariants},
    Error, Result,
};

/// Per-column letter distributions of an alignment.
///
/// ```
/// use seddbio::baseline::SiteIndependentModel;
///
/// // Two columns over two letters: the first always 0, the second split evenly.
/// let rows = [vec![Some(0), Some(0)], vec![Some(0), Some(1)]];
/// let model = SiteIndependentModel::fit(&rows, &[1.0, 1.0], 2, 1.0);
/// // (2 + 1) / (2 + 2) and (0 + 1) / (2 + 2).
/// assert!((model.log_prob(0, 0) - 0.75f64.ln()).abs() < 1e-12);
/// assert!((model.log_prob(0, 1) - 0.25f64.ln()).abs() < 1e-12);
/// assert!((model.log_prob(1, 1) - 0.5f64.ln()).abs() < 1e-12);
/// assert_eq!(model.consensus(), [0, 0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SiteIndependentModel {
    num_symbols: usize,
    /// `log p_c(a)` of column `c`, letter `a`, at `c * num_symbols + a`.
    log_probs: Vec<f64>,
}

impl SiteIndependentModel {
    /// Fits the columns of `rows` (a token per column, `None` for a gap or a letter outside
    /// the alphabet, which count for nothing), row `r` counting `weights[r]`:
    /// `p_c(a) = (n_c(a) + pseudocount) / (n_c + num_symbols * pseudocount)`.
    pub fn fit(
        rows: &[Vec<Option<TokenId>>],
        weights: &[f64],
        num_symbols: usize,
        pseudocount: f64,
    ) -> SiteIndependentModel {
        let columns = rows.first().map_or(0, Vec::len);
        let mut counts = vec![0.0; columns * num_symbols];
        for (row, &weight) in rows.iter().zip(weights) {
            for (column, token) in row.iter().enumerate() {
                if let Some(token) = token {
                    counts[column * num_symbols + *token as usize] += weight;
                }
            }
        }
        let log_probs = counts
            .chunks(num_symbols.max(1))
            .flat_map(|column| {
                let total: f64 = column.iter().sum::<f64>() + num_symbols as f64 * pseudocount;
                column.iter().map(move |n| ((n + pseudocount) / total).ln())
            })
            .collect();
        SiteIndependentModel {
            num_symbols,
            log_probs,
        }
    }

    /// Reads the alignment `file` (aligned FASTA, A2M or A3M; insertions dropped) and fits
    /// it with each row weighted as [`HomologWeights`] with `theta`. Returns the model and
    /// the effective number of sequences.
    pub fn from_alignment(
        file: &SequenceFile,
        alphabet: &Alphabet,
        theta: f64,
        pseudocount: f64,
    ) -> Result<(SiteIndependentModel, f64)> {
        let setting_error = |message: String| Error::Format {
            path: file.path.clone(),
            message,
        };
        HomologWeights::check_theta(theta).map_err(setting_error)?;
        if !(pseudocount > 0.0 && pseudocount.is_finite()) {
            return Err(setting_error(format!(
                "pseudocount {pseudocount}: must be a positive number"
            )));
        }
        let rows = match_columns(file).map_err(|m| {
            setting_error(format!(
                "{m} (the site-independent model needs aligned rows)"
            ))
        })?;
        let refs: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
        let weights = HomologWeights::compute(&refs, theta);
        let tokens: Vec<Vec<Option<TokenId>>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|&b| alphabet.id(char::from(b).encode_utf8(&mut [0; 4])))
                    .collect()
            })
            .collect();
        let model = SiteIndependentModel::fit(
            &tokens,
            weights.weights(),
            alphabet.num_symbols(),
            pseudocount,
        );
        Ok((model, weights.effective()))
    }

    /// Where `wild` sits on the alignment: aligned to the consensus ([`Placement::align`]).
    pub fn place(&self, wild: &str, alphabet: &Alphabet) -> Placement {
        let consensus = alphabet.decode(&self.consensus());
        Placement::align(
            wild.as_bytes(),
            consensus.as_bytes(),
            alphabet.name() == "protein",
        )
    }

    /// The number of match columns.
    pub fn columns(&self) -> usize {
        self.log_probs.len() / self.num_symbols.max(1)
    }

    /// `log p_c(a)`.
    pub fn log_prob(&self, column: usize, token: TokenId) -> f64 {
        self.log_probs[column * self.num_symbols + token as usize]
    }

    /// The most probable letter of each column.
    pub fn consensus(&self) -> Vec<TokenId> {
        self.log_probs
            .chunks(self.num_symbols.max(1))
            .map(|column| {
                (0..column.len())
                    .max_by(|&a, &b| column[a].total_cmp(&column[b]).then(b.cmp(&a)))
                    .unwrap_or(0) as TokenId
            })
            .collect()
    }

    /// The score of each prepared variant, `sum_i log p_c(i)(v_i) - log p_c(i)(w_i)` over its
    /// mutated residues `i`, whose columns `placement` gives. Every mutated residue must be
    /// placed ([`PreparedVariants::keep_placed`]).
    pub fn score(&self, placement: &Placement, prepared: &PreparedVariants) -> Vec<f64> {
        prepared
            .variants
            .iter()
            .map(|(_, mutant)| {
                mutant
                    .iter()
                    .zip(&prepared.wild)
                    .enumerate()
                    .filter(|(_, (m, w))| m != w)
                    .filter_map(|(i, (&m, &w))| {
                        let column = placement.column(i)?;
                        Some(self.log_prob(column, m) - self.log_prob(column, w))
                    })
                    .sum()
            })
            .collect()
    }
}
