//! The generated SMILES checked as molecules.

use crate::{
    chem::{default_checker, molecule_metrics},
    eval::evaluation::{Chemistry, Molecule},
    io::SequenceFile,
};

/// Validity, uniqueness and novelty (against `train`, when given) of the generated strings, as
/// MOSES defines them (RDKit when built with it, else a syntax check the figures name), and
/// each string's canonical form. With `selfies`, records written in SELFIES are read as the
/// SMILES they decode to (a SELFIES model's own samples are SMILES already).
pub(super) fn chemistry(
    generated: &SequenceFile,
    train: Option<&SequenceFile>,
    selfies: bool,
) -> Chemistry {
    let text = |file: &SequenceFile| -> Vec<String> {
        file.records
            .iter()
            .map(|r| {
                let text = String::from_utf8_lossy(&r.sequence).into_owned();
                let is_selfies = selfies
                    && text.starts_with('[')
                    && crate::alphabet::selfies::symbol_spans(&text).is_ok();
                match is_selfies {
                    true => crate::alphabet::selfies::decode(&text).unwrap_or(text),
                    false => text,
                }
            })
            .collect()
    };
    let generated_smiles = text(generated);
    let train_smiles = train.map(text);
    let checker = default_checker();
    let metrics = molecule_metrics(&generated_smiles, train_smiles.as_deref(), &*checker);
    Chemistry {
        checker: checker.describe().to_string(),
        is_chemistry: checker.is_chemistry(),
        validity: metrics.validity(),
        uniqueness: metrics.uniqueness(),
        novelty: train.map(|_| metrics.novelty()),
        molecules: generated_smiles
            .into_iter()
            .zip(metrics.canonical)
            .map(|(smiles, canonical)| Molecule { smiles, canonical })
            .collect(),
    }
}
