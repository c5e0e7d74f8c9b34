// See rdkit_ffi.h. Errors are C++ exceptions, which the bridge turns into Rust `Err`s.
#include "seddbio/src/chem/rdkit_ffi.h"

#include <DataStructs/ExplicitBitVect.h>
#include <GraphMol/ChemTransforms/ChemTransforms.h>
#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/Lipinski.h>
#include <GraphMol/Descriptors/MolDescriptors.h>
#include <GraphMol/Descriptors/MolSurf.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "seddbio/src/chem/rdkit_ffi.rs.h"

namespace seddbio {
namespace {
// Parses and sanitises as RDKit's MolFromSmiles does; throws when RDKit refuses the string.
std::unique_ptr<RDKit::ROMol> parse(rust::Str smiles) {
  std::unique_ptr<RDKit::ROMol> mol(RDKit::SmilesToMol(std::string(smiles)));
  if (!mol) {
    throw std::invalid_argument("not a molecule RDKit accepts");
  }
  return mol;
}
}  // namespace

namespace {
// RDKit's MurckoScaffold.GetScaffoldForMol followed by MOSES's ring count and SMILES: the
// scaffold's properties recomputed, its smallest set of smallest rings perceived, its
// canonical SMILES written.
MurckoScaffold scaffold_of(const RDKit::ROMol &mol) {
  std::unique_ptr<RDKit::ROMol> scaffold(RDKit::MurckoDecompose(mol));
  if (!scaffold) {
    throw std::runtime_error("RDKit found no scaffold");
  }
  scaffold->clearComputedProps();
  scaffold->updatePropertyCache();
  RDKit::VECT_INT_VECT rings;
  RDKit::MolOps::symmetrizeSSSR(*scaffold, rings);
  MurckoScaffold result;
  result.smiles = RDKit::MolToSmiles(*scaffold);
  result.rings = scaffold->getRingInfo()->numRings();
  return result;
}

// AllChem.GetMorganFingerprintAsBitVect(mol, radius, nBits=bits), as 64-bit words with bit
// i of the fingerprint at bit i % 64 of word i / 64.
rust::Vec<uint64_t> fingerprint_of(const RDKit::ROMol &mol, uint32_t radius, uint32_t bits) {
  std::unique_ptr<ExplicitBitVect> fingerprint(
      RDKit::MorganFingerprints::getFingerprintAsBitVect(mol, radius, bits));
  rust::Vec<uint64_t> words;
  for (uint32_t i = 0; i < (bits + 63) / 64; ++i) {
    words.push_back(0);
  }
  std::vector<int> on;
  fingerprint->getOnBits(on);
  for (int bit : on) {
    words[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  return words;
}

// The descriptors of chem::PROPERTIES, each as RDKit's descriptor registry computes it
// (amw, CrippenClogP, tpsa, NumRotatableBonds, NumRings): the registry's compute-all spent
// minutes on the 176,074 MOSES test molecules.
rust::Vec<double> properties_of(const RDKit::ROMol &mol) {
  rust::Vec<double> values;
  values.push_back(RDKit::Descriptors::calcAMW(mol));
  values.push_back(RDKit::Descriptors::calcClogP(mol));
  values.push_back(RDKit::Descriptors::calcTPSA(mol));
  values.push_back(static_cast<double>(RDKit::Descriptors::calcNumRotatableBonds(mol)));
  values.push_back(static_cast<double>(RDKit::Descriptors::calcNumRings(mol)));
  return values;
}
}  // namespace

MurckoScaffold murcko_scaffold(rust::Str smiles) { return scaffold_of(*parse(smiles)); }

rust::Vec<uint64_t> morgan_fingerprint_words(rust::Str smiles, uint32_t radius,
                                             uint32_t bits) {
  return fingerprint_of(*parse(smiles), radius, bits);
}

rust::Vec<double> property_values(rust::Str smiles) { return properties_of(*parse(smiles)); }

// All three from one parse: what eval needs of every molecule.
MoleculeDescription describe_molecule(rust::Str smiles, uint32_t radius, uint32_t bits) {
  auto mol = parse(smiles);
  MoleculeDescription description;
  description.fingerprint = fingerprint_of(*mol, radius, bits);
  description.scaffold = scaffold_of(*mol);
  description.properties = properties_of(*mol);
  return description;
}
}  // namespace seddbio
