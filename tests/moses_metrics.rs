//! The MOSES metrics against RDKit's own figures: `tests/data/moses_reference.tsv` holds 600
//! MOSES test molecules and 12 hand-picked ones with the Bemis-Murcko scaffold, ring count and
//! Morgan fingerprint (radius 2, 1,024 bits) RDKit from PyPI gives them, and IntDiv1, IntDiv2,
//! SNN and Scaf of the first 200 against the next 400 computed with RDKit's Tanimoto (made by
//! `tests/data/make_moses_reference.py`, the command in its header). Needs the `rdkit`
//! feature.
#![cfg(feature = "rdkit")]

use std::collections::HashMap;

use seddbio::chem::{
    cosine_similarity, default_checker, internal_diversity, morgan_fingerprint, murcko_scaffold,
    nearest_neighbour_similarity, SCAFFOLD_MIN_RINGS,
};

struct Molecule<'a> {
    smiles: &'a str,
    scaffold: &'a str,
    rings: u32,
    on_bits: Vec<usize>,
}

fn reference() -> (Vec<Molecule<'static>>, HashMap<&'static str, f64>) {
    let (mut molecules, mut metrics) = (Vec::new(), HashMap::new());
    for line in include_str!("data/moses_reference.tsv").lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[0] {
            "molecule" => molecules.push(Molecule {
                smiles: fields[1],
                scaffold: fields[2],
                rings: fields[3].parse().expect("a ring count"),
                on_bits: fields[4]
                    .split_whitespace()
                    .map(|b| b.parse().expect("a bit index"))
                    .collect(),
            }),
            _ => {
                metrics.insert(fields[1], fields[4].parse().expect("a figure"));
            }
        }
    }
    (molecules, metrics)
}

#[test]
fn fingerprints_are_rdkits_morgan_radius_2_in_1024_bits() {
    let (molecules, _) = reference();
    assert_eq!(molecules.len(), 612);
    for m in &molecules {
        let words = morgan_fingerprint(m.smiles).expect("RDKit accepts every reference molecule");
        assert_eq!(words.len(), 16, "{}", m.smiles);
        let on: Vec<usize> = (0..1024)
            .filter(|&i| words[i / 64] >> (i % 64) & 1 == 1)
            .collect();
        assert_eq!(on, m.on_bits, "{}", m.smiles);
    }
}

/// The reference scaffolds were written by a newer RDKit than this build's, so both sides are
/// compared through this build's canonical SMILES.
#[test]
fn scaffolds_are_rdkits_murcko_scaffolds_with_two_rings_or_more() {
    let (molecules, _) = reference();
    let checker = default_checker();
    let (mut kept, mut dropped) = (0, 0);
    for m in &molecules {
        let expected = (m.rings >= SCAFFOLD_MIN_RINGS && !m.scaffold.is_empty()).then(|| {
            checker
                .canonical(m.scaffold)
                .expect("the scaffold is a molecule")
        });
        match &expected {
            Some(_) => kept += 1,
            None => dropped += 1,
        }
        assert_eq!(murcko_scaffold(m.smiles), expected, "{}", m.smiles);
    }
    // Both branches were exercised: one-ring and acyclic molecules are in the set.
    assert!(kept > 400 && dropped > 20, "{kept} kept, {dropped} dropped");
}

#[test]
fn set_figures_match_rdkits_tanimoto_and_mosess_scaffold_cosine() {
    let (molecules, expected) = reference();
    let (g, r) = (&molecules[..200], &molecules[200..600]);
    let fingerprints = |set: &[Molecule]| -> Vec<Vec<u64>> {
        set.iter()
            .map(|m| morgan_fingerprint(m.smiles).expect("a molecule"))
            .collect()
    };
    let (gf, rf) = (fingerprints(g), fingerprints(r));
    let counts = |set: &[Molecule]| {
        let mut counts = HashMap::<String, usize>::new();
        for scaffold in set.iter().filter_map(|m| murcko_scaffold(m.smiles)) {
            *counts.entry(scaffold).or_default() += 1;
        }
        counts
    };
    let ours = [
        ("IntDiv1", internal_diversity(&gf, 1)),
        ("IntDiv2", internal_diversity(&gf, 2)),
        ("SNN", nearest_neighbour_similarity(&gf, &rf)),
        ("Scaf", cosine_similarity(&counts(g), &counts(r))),
    ];
    for (name, value) in ours {
        let want = expected[name];
        assert!(
            (value - want).abs() < 1e-12,
            "{name}: {value} against RDKit's {want}"
        );
    }
}
