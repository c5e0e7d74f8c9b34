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
