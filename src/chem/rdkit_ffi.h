// The two RDKit computations the `rdkit` crate does not expose, as MOSES makes them
// (docs/design.md, §15): a molecule's Bemis-Murcko scaffold, a Morgan fingerprint of a
// chosen radius and length, and the five descriptors eval compares. Bound to Rust in rdkit_ffi.rs; compiled by src/build.rs.
#pragma once

#include "rust/cxx.h"

namespace seddbio {
struct MurckoScaffold;
struct MoleculeDescription;

MurckoScaffold murcko_scaffold(rust::Str smiles);
rust::Vec<uint64_t> morgan_fingerprint_words(rust::Str smiles, uint32_t radius,
                                             uint32_t bits);
rust::Vec<double> property_values(rust::Str smiles);
MoleculeDescription describe_molecule(rust::Str smiles, uint32_t radius, uint32_t bits);
}  // namespace seddbio
