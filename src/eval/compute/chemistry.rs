//! The generated SMILES checked as molecules.

#[cfg(feature = "rdkit")]
use crate::chem::MoleculeDescription;
use crate::{
    chem::{default_checker, molecule_metrics},
    eval::evaluation::{Chemistry, Molecule, PropertyDistance, Similarity},
    io::SequenceFile,
};

/// The records of `file` as SMILES: for a SELFIES alphabet, a record written in SELFIES is
/// decoded (seddbio's samples are SMILES already).
pub(super) fn smiles_of(file: &SequenceFile, selfies: bool) -> Vec<String> {
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
}

/// Validity, uniqueness and novelty (against `train`, when given) of the generated strings, as
/// MOSES defines them (RDKit when built with it, else a syntax check the figures name), and
/// each string's canonical form. With `selfies`, records written in SELFIES are read as the
/// SMILES they decode to (a SELFIES model's own samples are SMILES already).
pub(super) fn chemistry(
    [generated, reference]: [&SequenceFile; 2],
    train: Option<&SequenceFile>,
    selfies: bool,
    seed: u64,
) -> Chemistry {
    let text = |file: &SequenceFile| smiles_of(file, selfies);
    let generated_smiles = text(generated);
    let train_smiles = train.map(text);
    let checker = default_checker();
    let metrics = molecule_metrics(&generated_smiles, train_smiles.as_deref(), &*checker);
    let reference_smiles = text(reference);
    let (properties, similarity) = distributions(&generated_smiles, &reference_smiles, seed);
    let valid: Vec<&String> = metrics.canonical.iter().flatten().collect();
    let unique_at = crate::eval::evaluation::UNIQUE_AT
        .iter()
        .filter(|&&(k, _)| valid.len() >= k)
        .map(|&(k, _)| {
            let distinct: std::collections::HashSet<&&String> = valid[..k].iter().collect();
            (k, distinct.len() as f64 / k as f64)
        })
        .collect();
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
        properties,
        similarity,
        unique_at,
    }
}

/// Reference molecules SNN compares each generated one with, at most: a generated set of
/// 10,000 against them is 10^8 fingerprint comparisons.
#[cfg(feature = "rdkit")]
const SNN_REFERENCE: usize = 10_000;

/// The property distances and the similarity figures of the valid generated molecules
/// against the reference's, each molecule described once (one parse) for both. Nothing
/// without RDKit.
#[cfg(feature = "rdkit")]
fn distributions(
    generated: &[String],
    reference: &[String],
    seed: u64,
) -> (Vec<PropertyDistance>, Option<Similarity>) {
    let (ours, theirs) = (describe_all(generated), describe_all(reference));
    (
        property_distances(&ours, &theirs, seed),
        similarity(&ours, &theirs, seed),
    )
}

#[cfg(not(feature = "rdkit"))]
fn distributions(
    _: &[String],
    _: &[String],
    _: u64,
) -> (Vec<PropertyDistance>, Option<Similarity>) {
    (Vec::new(), None)
}

/// The molecules of `set` that RDKit accepts, described ([`MoleculeDescription`]), in order.
#[cfg(feature = "rdkit")]
fn describe_all(set: &[String]) -> Vec<MoleculeDescription> {
    use rayon::prelude::*;
    set.par_iter()
        .filter_map(|s| crate::chem::describe_molecule(s))
        .collect()
}

/// IntDiv1, IntDiv2, SNN and Scaf of the valid generated molecules (docs/design.md, §15),
/// beside the same for size-matched draws of the reference (mean of
/// [`FLOOR_DRAWS`](super::FLOOR_DRAWS) draws from `seed`). `None` without valid molecules.
#[cfg(feature = "rdkit")]
fn similarity(
    ours: &[MoleculeDescription],
    theirs: &[MoleculeDescription],
    seed: u64,
) -> Option<Similarity> {
    use rand::{rngs::ChaCha8Rng, seq::SliceRandom, SeedableRng};

    use crate::chem::{cosine_similarity, internal_diversity, nearest_neighbour_similarity};

    if ours.is_empty() || theirs.is_empty() {
        return None;
    }
    let figures = |set: &[&MoleculeDescription], against: &[&MoleculeDescription]| {
        let fingerprints = |v: &[&MoleculeDescription]| -> Vec<Vec<u64>> {
            v.iter().map(|d| d.fingerprint.clone()).collect()
        };
        fn counts<'a>(v: &[&'a MoleculeDescription]) -> std::collections::HashMap<&'a str, usize> {
            let mut counts = std::collections::HashMap::new();
            for scaffold in v.iter().filter_map(|d| d.scaffold.as_deref()) {
                *counts.entry(scaffold).or_default() += 1;
            }
            counts
        }
        let set_fps = fingerprints(set);
        let neighbours = fingerprints(&against[..against.len().min(SNN_REFERENCE)]);
        [
            internal_diversity(&set_fps, 1),
            internal_diversity(&set_fps, 2),
            nearest_neighbour_similarity(&set_fps, &neighbours),
            cosine_similarity(&counts(set), &counts(against)),
        ]
    };
    let (ours, theirs): (Vec<&MoleculeDescription>, Vec<&MoleculeDescription>) =
        (ours.iter().collect(), theirs.iter().collect());
    let [int_div1, int_div2, snn, scaffold] = figures(&ours, &theirs);
    let matched = ours.len().min(theirs.len() / 2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let floor = (matched >= 2).then(|| {
        let mut sum = [0.0; 4];
        for _ in 0..super::FLOOR_DRAWS {
            let mut draw = theirs.clone();
            draw.shuffle(&mut rng);
            let rest = draw.split_off(matched);
            for (total, value) in sum.iter_mut().zip(figures(&draw, &rest)) {
                *total += value;
            }
        }
        sum.map(|total| total / super::FLOOR_DRAWS as f64)
    });
    Some(Similarity {
        fingerprint: crate::chem::FINGERPRINT.to_string(),
        int_div1,
        int_div2,
        snn,
        scaffold,
        floor,
        reference_used: theirs.len().min(SNN_REFERENCE),
        scaffold_reference: theirs.len(),
    })
}

/// Each property's 1-Wasserstein distance between the generated and the reference molecules
/// RDKit accepts, beside the same between a size-matched draw of the reference and the rest
/// (the real-vs-real floor, mean of [`FLOOR_DRAWS`](super::FLOOR_DRAWS) draws from `seed`).
#[cfg(feature = "rdkit")]
fn property_distances(
    generated: &[MoleculeDescription],
    reference: &[MoleculeDescription],
    seed: u64,
) -> Vec<PropertyDistance> {
    use rand::{rngs::ChaCha8Rng, seq::SliceRandom, SeedableRng};

    use crate::chem::{wasserstein1, PROPERTIES};

    let measure = |set: &[MoleculeDescription]| -> Vec<[f64; 5]> {
        set.iter().map(|d| d.properties).collect()
    };
    let (ours, theirs) = (measure(generated), measure(reference));
    let column = |rows: &[[f64; 5]], k: usize| -> Vec<f64> { rows.iter().map(|r| r[k]).collect() };
    let matched = ours.len().min(theirs.len() / 2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // A size-matched draw of the reference and the rest.
    type Draw = (Vec<[f64; 5]>, Vec<[f64; 5]>);
    let draws: Vec<Draw> = match matched >= 2 {
        true => (0..super::FLOOR_DRAWS)
            .map(|_| {
                let mut shuffled = theirs.clone();
                shuffled.shuffle(&mut rng);
                let rest = shuffled.split_off(matched);
                (shuffled, rest)
            })
            .collect(),
        false => Vec::new(),
    };
    PROPERTIES
        .iter()
        .enumerate()
        .map(|(k, (name, _))| PropertyDistance {
            name: name.to_string(),
            distance: wasserstein1(&column(&ours, k), &column(&theirs, k)),
            floor: (!draws.is_empty()).then(|| {
                draws
                    .iter()
                    .map(|(a, b)| wasserstein1(&column(a, k), &column(b, k)))
                    .sum::<f64>()
                    / draws.len() as f64
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(smiles: &[String]) -> SequenceFile {
        crate::io::records_of(&smiles.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// unique@1000 counts the first 1,000 valid molecules only: 900 distinct amino alcohols,
    /// then 100 of them again, then 100 more repeats that fall past the 1,000th.
    #[test]
    fn unique_at_k_counts_the_first_k_valid_molecules() {
        // HO-(CH2)a-NH-(CH2)b-H: one molecule per (a, b).
        let molecule = |i: usize| format!("O{}N{}", "C".repeat(1 + i / 30), "C".repeat(1 + i % 30));
        let smiles: Vec<String> = (0..900).chain(0..200).map(molecule).collect();
        let generated = file(&smiles);
        let reference = file(&(0..20).map(molecule).collect::<Vec<_>>());
        let chemistry = chemistry([&generated, &reference], None, false, 0);
        assert_eq!(chemistry.unique_at, [(1000, 0.9)]);
        assert!((chemistry.uniqueness - 900.0 / 1100.0).abs() < 1e-12);
    }

    /// Scaf by hand: the generated set has scaffold A (biphenyl) twice and B (naphthalene)
    /// once, the reference A and B once each beside molecules of one ring or none, which MOSES
    /// leaves out; cos = (2 + 1) / (sqrt(5) sqrt(2)).
    #[cfg(feature = "rdkit")]
    #[test]
    fn scaffold_similarity_is_the_cosine_of_two_ring_scaffold_counts() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let generated = file(&strings(&[
            "Cc1ccc(-c2ccccc2)cc1",
            "OCc1ccccc1-c1ccccc1",
            "Cc1ccc2ccccc2c1",
        ]));
        let reference = file(&strings(&[
            "c1ccc(-c2ccccc2)cc1",
            "Oc1ccc2ccccc2c1",
            "Cc1ccccc1",
            "CCO",
        ]));
        let chemistry = chemistry([&generated, &reference], None, false, 0);
        let similarity = chemistry
            .similarity
            .expect("RDKit builds compute similarity");
        assert!((similarity.scaffold - 3.0 / 10f64.sqrt()).abs() < 1e-12);
        assert_eq!(similarity.scaffold_reference, 4);
    }
}
