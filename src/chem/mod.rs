//! Chemistry of generated SMILES: validity, uniqueness and novelty as the MOSES benchmark
//! defines them (Polykovskiy et al. 2020, <https://arxiv.org/abs/1811.12823>).
//!
//! Two checkers stand behind [`MoleculeChecker`]:
//! - [`RdkitChecker`] (cargo feature `rdkit`): RDKit parses and sanitises each SMILES (valences,
//!   aromaticity, rings) and writes its canonical form, so uniqueness and novelty compare
//!   molecules, not strings. This is the chemistry check.
//! - [`SyntaxChecker`] (always built): balanced brackets and parentheses, closed ring bonds, no
//!   dangling bond. It is **not** a chemistry check: a 5-valent carbon passes it, and two
//!   spellings of one molecule count as two.
//!
//! ```
//! use seddbio::chem::{molecule_metrics, MoleculeChecker, SyntaxChecker};
//!
//! let generated = ["CCO", "CCO", "C1CC", "c1ccccc1"].map(String::from);
//! let train = ["CCO"].map(String::from);
//! let m = molecule_metrics(&generated, Some(&train), &SyntaxChecker);
//! assert_eq!((m.valid, m.unique, m.novel), (3, 2, 1));
//! assert!(!SyntaxChecker.is_chemistry());
//! ```

use std::collections::HashSet;

#[cfg(feature = "rdkit")]
mod rdkit_ffi;

/// Turns a SMILES string into the canonical key molecules are compared by, or refuses it.
pub trait MoleculeChecker {
    /// The canonical SMILES, or `None` when the string is not a valid molecule.
    fn canonical(&self, smiles: &str) -> Option<String>;
    /// Whether a `Some` means a chemically valid molecule (true for RDKit only).
    fn is_chemistry(&self) -> bool;
    /// Shown beside the numbers, so nobody takes a syntax check for chemistry.
    fn describe(&self) -> &'static str;
}

/// SMILES grammar only (see the module documentation); the string itself is its key.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyntaxChecker;

impl MoleculeChecker for SyntaxChecker {
    fn canonical(&self, smiles: &str) -> Option<String> {
        smiles_syntax_ok(smiles).then(|| smiles.to_string())
    }

    fn is_chemistry(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        "SMILES syntax check only (brackets, rings, bonds); NOT a chemistry check: build with --features rdkit"
    }
}

/// RDKit: parse, sanitise, canonical SMILES.
#[cfg(feature = "rdkit")]
#[derive(Debug, Clone, Copy, Default)]
pub struct RdkitChecker;

#[cfg(feature = "rdkit")]
impl MoleculeChecker for RdkitChecker {
    fn canonical(&self, smiles: &str) -> Option<String> {
        // An empty string parses to an empty molecule in RDKit; MOSES counts it as invalid.
        if smiles.trim().is_empty() {
            return None;
        }
        rdkit::ROMol::from_smiles(smiles)
            .ok()
            .map(|mol| mol.as_smiles())
            .filter(|canonical| !canonical.is_empty())
    }

    fn is_chemistry(&self) -> bool {
        true
    }

    fn describe(&self) -> &'static str {
        "RDKit (parse + sanitise, canonical SMILES)"
    }
}

/// The SMILES a SELFIES string decodes to (docs/design.md, §14), canonical where this build
/// has RDKit; `None` for a string that is no SELFIES.
///
/// ```
/// assert_eq!(seddbio::chem::selfies_smiles("[C][C][O]").as_deref(), Some("CCO"));
/// ```
pub fn selfies_smiles(selfies: &str) -> Option<String> {
    let smiles = crate::alphabet::selfies::decode(selfies).ok()?;
    Some(default_checker().canonical(&smiles).unwrap_or(smiles))
}

/// The best checker this build has: RDKit with the `rdkit` feature, else the syntax check.
pub fn default_checker() -> Box<dyn MoleculeChecker + Sync> {
    #[cfg(feature = "rdkit")]
    {
        Box::new(RdkitChecker)
    }
    #[cfg(not(feature = "rdkit"))]
    {
        Box::new(SyntaxChecker)
    }
}

/// MOSES validity, uniqueness and novelty of a generated set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MoleculeMetrics {
    /// Generated strings.
    pub generated: usize,
    /// Strings the checker accepts.
    pub valid: usize,
    /// Distinct canonical forms among the valid ones.
    pub unique: usize,
    /// Distinct valid molecules absent from the training set (0 when no set was given).
    pub novel: usize,
    /// The canonical form of each generated string, `None` where invalid.
    pub canonical: Vec<Option<String>>,
}

impl MoleculeMetrics {
    /// valid / generated.
    pub fn validity(&self) -> f64 {
        ratio(self.valid, self.generated)
    }

    /// unique / valid (MOSES "unique@k" with k the whole set).
    pub fn uniqueness(&self) -> f64 {
        ratio(self.unique, self.valid)
    }

    /// novel / unique: the share of distinct valid molecules not in the training set.
    pub fn novelty(&self) -> f64 {
        ratio(self.novel, self.unique)
    }
}

/// The molecular properties whose distributions an evaluation compares (MOSES compares MW and
/// logP among others): the name shown and RDKit's descriptor name.
pub const PROPERTIES: [(&str, &str); 5] = [
    ("MW", "amw"),
    ("logP", "CrippenClogP"),
    ("TPSA", "tpsa"),
    ("rotatable bonds", "NumRotatableBonds"),
    ("rings", "NumRings"),
];

/// A SMILES string's [`PROPERTIES`], from RDKit's descriptors; `None` when RDKit refuses it.
#[cfg(feature = "rdkit")]
pub fn molecule_properties(smiles: &str) -> Option<[f64; 5]> {
    if smiles.trim().is_empty() {
        return None;
    }
    rdkit_ffi::property_values(smiles)
}

/// A SMILES string's Morgan fingerprint as MOSES computes it (RDKit's
/// `GetMorganFingerprintAsBitVect`, radius 2, 1,024 bits), as 64-bit words; `None` when RDKit
/// refuses the string.
#[cfg(feature = "rdkit")]
pub fn morgan_fingerprint(smiles: &str) -> Option<Vec<u64>> {
    if smiles.trim().is_empty() {
        return None;
    }
    rdkit_ffi::morgan_fingerprint(smiles, MORGAN.0, MORGAN.1)
}

/// The Morgan fingerprint's radius and length, MOSES's.
#[cfg(feature = "rdkit")]
const MORGAN: (u32, u32) = (2, 1024);

/// The fingerprint [`morgan_fingerprint`] computes, in words.
pub const FINGERPRINT: &str = "Morgan radius 2, 1024 bits (RDKit, as MOSES)";

/// The scaffolds MOSES compares have at least this many rings (its `compute_scaffold`).
pub const SCAFFOLD_MIN_RINGS: u32 = 2;

/// The canonical SMILES of a molecule's Bemis-Murcko scaffold (ring systems and the linkers
/// between them, side chains removed: RDKit's `MurckoDecompose`), as MOSES's Scaf metric
/// counts it: `None` when RDKit refuses the SMILES or the scaffold has fewer than
/// [`SCAFFOLD_MIN_RINGS`] rings (docs/design.md, §15).
///
/// ```
/// # #[cfg(feature = "rdkit")] {
/// use seddbio::chem::murcko_scaffold;
///
/// // Biphenyl with a methyl and a carboxylic acid: the two rings and their bond remain.
/// assert_eq!(murcko_scaffold("Cc1ccc(-c2ccccc2C(=O)O)cc1").as_deref(), Some("c1ccc(-c2ccccc2)cc1"));
/// // One ring is too few; no ring, no scaffold.
/// assert_eq!(murcko_scaffold("Cc1ccccc1"), None);
/// assert_eq!(murcko_scaffold("CCO"), None);
/// # }
/// ```
#[cfg(feature = "rdkit")]
pub fn murcko_scaffold(smiles: &str) -> Option<String> {
    if smiles.trim().is_empty() {
        return None;
    }
    moses_scaffold(rdkit_ffi::murcko_scaffold(smiles)?)
}

/// A scaffold as MOSES counts it: none when empty or of fewer than [`SCAFFOLD_MIN_RINGS`] rings.
#[cfg(feature = "rdkit")]
fn moses_scaffold((scaffold, rings): (String, u32)) -> Option<String> {
    (!scaffold.is_empty() && rings >= SCAFFOLD_MIN_RINGS).then_some(scaffold)
}

/// What an evaluation compares of a molecule (docs/design.md, §15): [`morgan_fingerprint`],
/// [`murcko_scaffold`] and [`molecule_properties`], from one parse.
#[cfg(feature = "rdkit")]
#[derive(Debug, Clone, PartialEq)]
pub struct MoleculeDescription {
    /// The Morgan fingerprint (radius 2, 1,024 bits) as 64-bit words.
    pub fingerprint: Vec<u64>,
    /// The Bemis-Murcko scaffold, when it has at least [`SCAFFOLD_MIN_RINGS`] rings.
    pub scaffold: Option<String>,
    /// The [`PROPERTIES`].
    pub properties: [f64; 5],
}

/// A SMILES string's [`MoleculeDescription`]; `None` when RDKit refuses it.
///
/// ```
/// # #[cfg(feature = "rdkit")] {
/// use seddbio::chem::{describe_molecule, molecule_properties, morgan_fingerprint, murcko_scaffold};
///
/// let smiles = "Cc1ccc(-c2ccccc2C(=O)O)cc1";
/// let d = describe_molecule(smiles).unwrap();
/// assert_eq!(Some(d.fingerprint), morgan_fingerprint(smiles));
/// assert_eq!(d.scaffold, murcko_scaffold(smiles));
/// assert_eq!(Some(d.properties), molecule_properties(smiles));
/// # }
/// ```
#[cfg(feature = "rdkit")]
pub fn describe_molecule(smiles: &str) -> Option<MoleculeDescription> {
    if smiles.trim().is_empty() {
        return None;
    }
    let described = rdkit_ffi::describe(smiles, MORGAN.0, MORGAN.1)?;
    Some(MoleculeDescription {
        fingerprint: described.fingerprint,
        scaffold: moses_scaffold(described.scaffold),
        properties: described.properties,
    })
}

/// Cosine similarity of two count vectors given as maps (absent keys count 0), as MOSES's
/// Scaf compares scaffold counts; NaN when either is empty.
///
/// ```
/// use std::collections::HashMap;
/// use seddbio::chem::cosine_similarity;
///
/// let a = HashMap::from([("x", 1), ("y", 1)]);
/// let b = HashMap::from([("x", 2)]);
/// assert!((cosine_similarity(&a, &b) - 0.5f64.sqrt()).abs() < 1e-12);
/// assert!(cosine_similarity(&a, &HashMap::new()).is_nan());
/// ```
pub fn cosine_similarity<K: std::hash::Hash + Eq>(
    a: &std::collections::HashMap<K, usize>,
    b: &std::collections::HashMap<K, usize>,
) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let norm = |m: &std::collections::HashMap<K, usize>| {
        m.values().map(|&c| (c as f64).powi(2)).sum::<f64>().sqrt()
    };
    let dot: f64 = a
        .iter()
        .filter_map(|(k, &x)| b.get(k).map(|&y| x as f64 * y as f64))
        .sum();
    dot / (norm(a) * norm(b))
}

/// Tanimoto similarity of two bit fingerprints (1 for two empty ones, as MOSES counts them).
///
/// ```
/// use seddbio::chem::tanimoto;
///
/// assert_eq!(tanimoto(&[0b1100], &[0b0110]), 1.0 / 3.0);
/// assert_eq!(tanimoto(&[0], &[0]), 1.0);
/// ```
pub fn tanimoto(a: &[u64], b: &[u64]) -> f64 {
    let (mut both, mut either) = (0u32, 0u32);
    for (x, y) in a.iter().zip(b) {
        both += (x & y).count_ones();
        either += (x | y).count_ones();
    }
    match either {
        0 => 1.0,
        _ => f64::from(both) / f64::from(either),
    }
}

/// MOSES's internal diversity IntDiv_p of a set of fingerprints:
/// `1 - mean_i (mean_j T(i, j)^p)^(1/p)`, over all pairs, each molecule with itself included.
///
/// ```
/// use seddbio::chem::internal_diversity;
///
/// // Two molecules with nothing in common: T = 1 on the diagonal, 0 off it.
/// assert_eq!(internal_diversity(&[vec![0b01], vec![0b10]], 1), 0.5);
/// assert!((internal_diversity(&[vec![0b01], vec![0b10]], 2) - (1.0 - 0.5f64.sqrt())).abs() < 1e-12);
/// ```
pub fn internal_diversity(fingerprints: &[Vec<u64>], p: i32) -> f64 {
    use rayon::prelude::*;
    if fingerprints.is_empty() {
        return f64::NAN;
    }
    let per_molecule: Vec<f64> = fingerprints
        .par_iter()
        .map(|a| {
            let mean = fingerprints
                .iter()
                .map(|b| tanimoto(a, b).powi(p))
                .sum::<f64>()
                / fingerprints.len() as f64;
            mean.powf(1.0 / f64::from(p))
        })
        .collect();
    1.0 - per_molecule.iter().sum::<f64>() / per_molecule.len() as f64
}

/// MOSES's SNN: the mean over `generated` of the Tanimoto similarity to its nearest neighbour
/// in `reference`.
///
/// ```
/// use seddbio::chem::nearest_neighbour_similarity;
///
/// let reference = [vec![0b0011], vec![0b1100]];
/// assert_eq!(nearest_neighbour_similarity(&[vec![0b0011], vec![0b0111]], &reference), (1.0 + 2.0 / 3.0) / 2.0);
/// ```
pub fn nearest_neighbour_similarity(generated: &[Vec<u64>], reference: &[Vec<u64>]) -> f64 {
    use rayon::prelude::*;
    if generated.is_empty() || reference.is_empty() {
        return f64::NAN;
    }
    let best: Vec<f64> = generated
        .par_iter()
        .map(|g| reference.iter().map(|r| tanimoto(g, r)).fold(0.0, f64::max))
        .collect();
    best.iter().sum::<f64>() / best.len() as f64
}

/// The 1-Wasserstein (earth mover's) distance between the empirical distributions of two
/// samples: the area between their distribution functions (NaN when either is empty).
///
/// ```
/// use seddbio::chem::wasserstein1;
///
/// assert_eq!(wasserstein1(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]), 5.0);
/// assert_eq!(wasserstein1(&[0.0, 2.0], &[1.0]), 1.0);
/// assert_eq!(wasserstein1(&[1.0, 2.0], &[2.0, 1.0]), 0.0);
/// ```
pub fn wasserstein1(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let (a, b) = (sorted(a), sorted(b));
    let mut points: Vec<f64> = a.iter().chain(&b).copied().collect();
    points.sort_by(f64::total_cmp);
    let cdf = |v: &[f64], x: f64| v.partition_point(|&y| y <= x) as f64 / v.len() as f64;
    points
        .windows(2)
        .map(|w| (cdf(&a, w[0]) - cdf(&b, w[0])).abs() * (w[1] - w[0]))
        .sum()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Validity, uniqueness and novelty of `generated`; the training set, when given, is
/// canonicalised with the same checker (its invalid entries are ignored), in parallel: MOSES's
/// 1.58 M training molecules are most of the work.
pub fn molecule_metrics(
    generated: &[String],
    train: Option<&[String]>,
    checker: &(impl MoleculeChecker + Sync + ?Sized),
) -> MoleculeMetrics {
    use rayon::prelude::*;
    let canonical: Vec<Option<String>> =
        generated.par_iter().map(|s| checker.canonical(s)).collect();
    let distinct: HashSet<&str> = canonical.iter().flatten().map(String::as_str).collect();
    let novel = match train {
        Some(train) => {
            let known: HashSet<String> = train
                .par_iter()
                .filter_map(|s| checker.canonical(s))
                .collect::<Vec<_>>()
                .into_iter()
                .collect();
            distinct.iter().filter(|s| !known.contains(**s)).count()
        }
        None => 0,
    };
    MoleculeMetrics {
        generated: generated.len(),
        valid: canonical.iter().flatten().count(),
        unique: distinct.len(),
        novel,
        canonical,
    }
}

/// SMILES grammar (OpenSMILES, without chemistry): non-empty; bracket atoms closed and not
/// nested; parentheses balanced, never empty and never opening a string; ring-bond labels
/// (`1`-`9`, `%nn`) each opened and closed; no bond symbol at the end or before `)`.
pub fn smiles_syntax_ok(smiles: &str) -> bool {
    let bytes = smiles.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut depth = 0usize;
    let mut open_rings: HashSet<u32> = HashSet::new();
    let mut atoms = 0usize;
    // Whether the last thing seen was a bond symbol waiting for its atom or ring label.
    let mut pending_bond = false;
    let mut last_was_open_paren = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'[' => {
                let Some(end) = bytes[i + 1..].iter().position(|&b| b == b']') else {
                    return false;
                };
                let inner = &bytes[i + 1..i + 1 + end];
                if inner.is_empty() || inner.contains(&b'[') {
                    return false;
                }
                atoms += 1;
                pending_bond = false;
                i += end + 2;
                last_was_open_paren = false;
                continue;
            }
            b']' => return false,
            b'(' => {
                if atoms == 0 || pending_bond {
                    return false;
                }
                depth += 1;
                last_was_open_paren = true;
                i += 1;
                continue;
            }
            b')' => {
                if depth == 0 || last_was_open_paren || pending_bond {
                    return false;
                }
                depth -= 1;
            }
            b'-' | b'=' | b'#' | b'$' | b':' | b'/' | b'\\' => {
                if atoms == 0 || pending_bond {
                    return false;
                }
                pending_bond = true;
            }
            b'.' => {
                if atoms == 0 || pending_bond || depth > 0 {
                    return false;
                }
                // A dot, like a bond, needs an atom after it.
                pending_bond = true;
            }
            b'0'..=b'9' | b'%' => {
                let label = if c == b'%' {
                    match (bytes.get(i + 1), bytes.get(i + 2)) {
                        (Some(a @ b'0'..=b'9'), Some(b @ b'0'..=b'9')) => {
                            i += 2;
                            u32::from(a - b'0') * 10 + u32::from(b - b'0')
                        }
                        _ => return false,
                    }
                } else {
                    u32::from(c - b'0')
                };
                if atoms == 0 {
                    return false;
                }
                if !open_rings.remove(&label) {
                    open_rings.insert(label);
                }
                pending_bond = false;
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'*' => {
                atoms += 1;
                pending_bond = false;
            }
            _ => return false,
        }
        last_was_open_paren = false;
        i += 1;
    }
    depth == 0 && open_rings.is_empty() && !pending_bond && atoms > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RDKit's descriptors for two molecules whose values are known by hand: ethanol (C2H6O,
    /// 46.069 g/mol, one OH: TPSA 20.23) and benzene (C6H6, 78.114 g/mol, one ring).
    #[cfg(feature = "rdkit")]
    #[test]
    fn properties_of_ethanol_and_benzene() {
        let ethanol = molecule_properties("CCO").unwrap();
        let benzene = molecule_properties("c1ccccc1").unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-3;
        assert!(
            close(ethanol[0], 46.069) && close(ethanol[2], 20.23),
            "{ethanol:?}"
        );
        assert_eq!((ethanol[3], ethanol[4]), (0.0, 0.0));
        assert!(
            close(benzene[0], 78.114) && close(benzene[2], 0.0),
            "{benzene:?}"
        );
        assert_eq!((benzene[3], benzene[4]), (0.0, 1.0));
        // Crippen logP: ethanol -0.0014, benzene 1.6866 (Wildman & Crippen 1999 atom types).
        assert!(
            close(ethanol[1], -0.0014) && close(benzene[1], 1.6866),
            "{ethanol:?} {benzene:?}"
        );
        assert!(molecule_properties("C1CC").is_none());
    }

    /// One molecule however written has one fingerprint; ethanol and benzene share no bit.
    #[cfg(feature = "rdkit")]
    #[test]
    fn fingerprints_follow_the_molecule() {
        let ethanol = morgan_fingerprint("CCO").unwrap();
        assert_eq!(ethanol.len(), 1024 / 64);
        assert_eq!(morgan_fingerprint("OCC").unwrap(), ethanol);
        assert_eq!(tanimoto(&ethanol, &ethanol), 1.0);
        let benzene = morgan_fingerprint("c1ccccc1").unwrap();
        assert_eq!(tanimoto(&ethanol, &benzene), 0.0);
        let phenol = morgan_fingerprint("Oc1ccccc1").unwrap();
        let t = tanimoto(&benzene, &phenol);
        assert!(t > 0.0 && t < 1.0, "{t}");
        assert!(morgan_fingerprint("C1CC").is_none());
    }

    #[test]
    fn wasserstein_distance_by_hand() {
        // Shifting a sample by 2 moves all its mass by 2.
        assert!((wasserstein1(&[1.0, 4.0, 9.0], &[3.0, 6.0, 11.0]) - 2.0).abs() < 1e-12);
        // Half the mass moves from 0 to 1: 0.5.
        assert!((wasserstein1(&[0.0, 1.0], &[1.0, 1.0]) - 0.5).abs() < 1e-12);
        assert!(wasserstein1(&[], &[1.0]).is_nan());
    }

    #[test]
    fn syntax_accepts_real_smiles() {
        for s in [
            "CCO",
            "c1ccccc1",
            "CC(=O)Oc1ccccc1C(=O)O",
            "[NH4+].[Cl-]",
            "C%10CC%10",
            "N#N",
            "C/C=C/C",
            "Cc1ccc2nc(-c3ccccc3)sc2c1",
        ] {
            assert!(smiles_syntax_ok(s), "{s}");
        }
    }

    #[test]
    fn syntax_refuses_broken_strings() {
        for s in [
            "", "C1CC", "CC(", "CC)", "C()C", "(CC)", "CC=", "C[NH4+", "C]", "=CC", "C==C", "C%1C",
            "C(C=)C", "C.", "C C",
        ] {
            assert!(!smiles_syntax_ok(s), "{s:?}");
        }
    }

    #[test]
    fn metrics_count_as_moses_does() {
        let generated: Vec<String> = ["CCO", "CCO", "C1CC", "CCN", "c1ccccc1"]
            .map(String::from)
            .to_vec();
        let train: Vec<String> = ["CCN", "garbage("].map(String::from).to_vec();
        let m = molecule_metrics(&generated, Some(&train), &SyntaxChecker);
        assert_eq!((m.generated, m.valid, m.unique, m.novel), (5, 4, 3, 2));
        assert!((m.validity() - 0.8).abs() < 1e-12);
        assert!((m.uniqueness() - 0.75).abs() < 1e-12);
        assert!((m.novelty() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.canonical[2], None);
    }

    #[cfg(feature = "rdkit")]
    #[test]
    fn rdkit_canonicalises_and_checks_chemistry() {
        let rdkit = RdkitChecker;
        assert_eq!(rdkit.canonical("OCC").as_deref(), Some("CCO"));
        assert_eq!(rdkit.canonical("CCO"), rdkit.canonical("OCC"));
        // Unclosed ring, 5-valent carbon, unkekulisable ring: the syntax check passes the last
        // two; RDKit refuses all three.
        assert_eq!(rdkit.canonical("C1CC"), None);
        assert_eq!(rdkit.canonical("C(C)(C)(C)(C)C"), None);
        assert_eq!(rdkit.canonical("c1cccc1"), None);
        assert!(smiles_syntax_ok("C(C)(C)(C)(C)C") && smiles_syntax_ok("c1cccc1"));
        let generated = ["OCC", "CCO", "C(C)(C)(C)(C)C"].map(String::from);
        let m = molecule_metrics(&generated, None, &rdkit);
        assert_eq!((m.valid, m.unique), (2, 1));
    }
}
