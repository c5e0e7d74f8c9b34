//! RDKit computations the `rdkit` crate does not expose, bound with `cxx` (rdkit_ffi.cc):
//! the Bemis-Murcko scaffold and a Morgan fingerprint of a chosen radius and length, both as
//! MOSES computes them, and five descriptors without the rest (docs/design.md, §15).

#[cxx::bridge(namespace = "seddbio")]
mod ffi {
    /// A molecule's Bemis-Murcko scaffold: its canonical SMILES (empty for an acyclic
    /// molecule) and its number of rings.
    struct MurckoScaffold {
        smiles: String,
        rings: u32,
    }

    /// What eval compares of a molecule, from one parse.
    struct MoleculeDescription {
        fingerprint: Vec<u64>,
        scaffold: MurckoScaffold,
        properties: Vec<f64>,
    }

    unsafe extern "C++" {
        include!("seddbio/src/chem/rdkit_ffi.h");

        /// The scaffold of a SMILES string RDKit accepts (RDKit's `MurckoDecompose`).
        fn murcko_scaffold(smiles: &str) -> Result<MurckoScaffold>;

        /// RDKit's Morgan fingerprint of `radius` in `bits` bits, as 64-bit words.
        fn morgan_fingerprint_words(smiles: &str, radius: u32, bits: u32) -> Result<Vec<u64>>;

        /// Molecular weight, Crippen logP, TPSA, rotatable bonds and rings, in that order.
        fn property_values(smiles: &str) -> Result<Vec<f64>>;

        /// The three above from one parse.
        fn describe_molecule(smiles: &str, radius: u32, bits: u32) -> Result<MoleculeDescription>;
    }
}

/// The canonical SMILES of the molecule's Bemis-Murcko scaffold and its ring count; `None`
/// when RDKit refuses the SMILES.
pub(super) fn murcko_scaffold(smiles: &str) -> Option<(String, u32)> {
    let scaffold = ffi::murcko_scaffold(smiles).ok()?;
    Some((scaffold.smiles, scaffold.rings))
}

/// The five descriptors of `chem::PROPERTIES`; `None` when RDKit refuses the SMILES.
pub(super) fn property_values(smiles: &str) -> Option<[f64; 5]> {
    let values = ffi::property_values(smiles).ok()?;
    values.try_into().ok()
}

/// The Morgan fingerprint's words; `None` when RDKit refuses the SMILES.
pub(super) fn morgan_fingerprint(smiles: &str, radius: u32, bits: u32) -> Option<Vec<u64>> {
    ffi::morgan_fingerprint_words(smiles, radius, bits).ok()
}

/// The fingerprint's words, the scaffold and its ring count, and the five descriptors, from
/// one parse; `None` when RDKit refuses the SMILES.
pub(super) fn describe(smiles: &str, radius: u32, bits: u32) -> Option<Described> {
    let d = ffi::describe_molecule(smiles, radius, bits).ok()?;
    Some(Described {
        properties: d.properties.try_into().ok()?,
        fingerprint: d.fingerprint,
        scaffold: (d.scaffold.smiles, d.scaffold.rings),
    })
}

/// [`describe`]'s answer.
pub(super) struct Described {
    pub fingerprint: Vec<u64>,
    pub scaffold: (String, u32),
    pub properties: [f64; 5],
}
