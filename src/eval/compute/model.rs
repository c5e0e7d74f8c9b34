//! The ELBO bound of both sets under a trained model.

use rand::{rngs::ChaCha8Rng, SeedableRng};

use super::ModelCheck;
use crate::{
    alphabet::{TokenId, TokenizerKind},
    data::{encode_records, UnknownPolicy},
    eval::evaluation::{Bound, ModelBound},
    io::SequenceFile,
    model::pooled_bits_per_token,
    Error, Result,
};

/// The bound (docs/design.md, eqs. (23)-(25)) of each of the `[generated, reference]` sets,
/// encoded with the model's own vocabulary; the first `check.max_sequences` sequences of each
/// that fit the model's positions are scored, `check.num_t` times each, drawn from `seed`.
pub(super) fn model_bound(
    check: &mut ModelCheck<'_>,
    seed: u64,
    sets: [(&str, &SequenceFile); 2],
) -> Result<ModelBound> {
    if check.num_t == 0 || check.max_sequences == 0 {
        return Err(Error::EmptyModelCheck);
    }
    let trained = check.trained;
    // A SELFIES model's samples are SMILES whose SELFIES may hold symbols it never saw
    // ([SH1] from a canonical [SH]): it cannot score those, and says how many it scored.
    let policy = match trained.alphabet.tokenizer() {
        TokenizerKind::Selfies => UnknownPolicy::Skip,
        _ => UnknownPolicy::Error,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut bound = |(name, file): (&str, &SequenceFile)| -> Result<Bound> {
        let (records, _) = encode_records(&trained.alphabet, file, policy).map_err(|e| {
            Error::ModelVocabulary {
                set: name.to_string(),
                model: check.name.clone(),
                cause: Box::new(e),
            }
        })?;
        let tokens: Vec<&[TokenId]> = records
            .iter()
            .take(check.max_sequences)
            .map(|r| r.tokens.as_slice())
            .filter(|t| t.len() <= trained.spec.seq_len)
            .collect();
        if tokens.is_empty() {
            return Err(Error::NothingFitsModel {
                path: file.path.clone(),
                positions: trained.spec.seq_len,
                model: check.name.clone(),
            });
        }
        let estimates = trained.elbo_estimates(
            &tokens,
            None,
            check.num_t,
            64,
            &mut crate::shard::SharedStream(&mut rng),
            &mut *check.progress,
        )?;
        let (bits_per_token, standard_error) = pooled_bits_per_token(&estimates);
        Ok(Bound {
            bits_per_token,
            standard_error,
            sequences: estimates.len(),
        })
    };
    let [generated, reference] = sets;
    let (generated, reference) = (bound(generated)?, bound(reference)?);
    Ok(ModelBound {
        name: check.name.clone(),
        step: trained.step,
        num_t: check.num_t,
        generated,
        reference,
    })
}
