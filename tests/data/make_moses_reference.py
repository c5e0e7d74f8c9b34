"""Reference figures for seddbio's MOSES metrics, made with RDKit from PyPI the way MOSES
(molsets 0.3.1, moses/metrics/utils.py) computes them.

    pip install rdkit==2026.9.1
    python3 tests/data/make_moses_reference.py moses_test.csv.gz > tests/data/moses_reference.tsv

(moses_test.csv.gz: the MOSES test split, `moses/dataset/data/test.csv.gz` of the PyPI wheel
`molsets==0.3.1`.) One row per molecule, kind `molecule`: the SMILES, its Bemis-Murcko
scaffold (`MurckoScaffold.GetScaffoldForMol`, then `MolToSmiles`), the scaffold's ring count,
and the on-bits of its Morgan fingerprint (`GetMorganFingerprintAsBitVect(mol, 2, nBits=1024)`).
The first 600 MOSES test molecules, then hand-picked ones (an aromatic N that loses its
substituent, exocyclic double bonds, linkers, spiro and fused rings, no ring). Then rows of
kind `metric`: IntDiv1, IntDiv2 of G (the first 200 molecules), SNN of G against R (the next
400) and Scaf of G against R (MOSES's cosine of scaffold counts, scaffolds of >= 2 rings),
each from RDKit's Tanimoto.
"""
import csv, gzip, math, sys
from collections import Counter
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import AllChem
from rdkit.Chem.Scaffolds import MurckoScaffold

RDLogger.DisableLog("rdApp.*")

with gzip.open(sys.argv[1], "rt") as f:
    smiles = [r["SMILES"] for r in csv.DictReader(f)][:600]
smiles += [
    "Cn1ccc2ccccc21", "CC(=O)c1ccc2[nH]ccc2c1", "O=C1CCC(c2ccccc2)CC1", "C=C1CCC(CCc2ccccc2)C1",
    "c1ccccc1CCOc1ccccc1", "CC1(C)CC2(CCNCC2)C1", "CCO", "Cc1ccccc1", "OC(=O)c1ccccc1-c1ccccc1",
    "C[N+](C)(C)Cc1ccc(-c2ccccc2)cc1", "O=S(=O)(c1ccccc1)N1CCCC1", "c1ccc2c(c1)ccc1ccccc12",
]


def scaffold(s):
    mol = Chem.MolFromSmiles(s)
    scaf = MurckoScaffold.GetScaffoldForMol(mol)
    return Chem.MolToSmiles(scaf), scaf.GetRingInfo().NumRings()


def fingerprint(s):
    return AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(s), 2, nBits=1024)


out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
out.writerow(["kind", "smiles", "scaffold", "rings", "morgan_r2_1024_on_bits"])
for s in smiles:
    scaf, rings = scaffold(s)
    bits = " ".join(str(b) for b in fingerprint(s).GetOnBits())
    out.writerow(["molecule", s, scaf, rings, bits])

g, r = smiles[:200], smiles[200:600]
gf, rf = [fingerprint(s) for s in g], [fingerprint(s) for s in r]
for p in (1, 2):
    per = [(sum(t ** p for t in DataStructs.BulkTanimotoSimilarity(a, gf)) / len(gf)) ** (1 / p) for a in gf]
    out.writerow(["metric", f"IntDiv{p}", "", "", repr(1 - sum(per) / len(per))])
snn = sum(max(DataStructs.BulkTanimotoSimilarity(a, rf)) for a in gf) / len(gf)
out.writerow(["metric", "SNN", "", "", repr(snn)])


def counts(set_):
    c = Counter()
    for s in set_:
        scaf, rings = scaffold(s)
        if scaf != "" and rings >= 2:
            c[scaf] += 1
    return c


cg, cr = counts(g), counts(r)
dot = sum(cg[k] * cr[k] for k in cg)
scaf = dot / math.sqrt(sum(v * v for v in cg.values())) / math.sqrt(sum(v * v for v in cr.values()))
out.writerow(["metric", "Scaf", "", "", repr(scaf)])
