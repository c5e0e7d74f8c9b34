"""Reference pairs for seddbio's SELFIES encoder and decoder, made with the `selfies` package.

    pip install selfies==2.1.1
    python3 tests/data/make_selfies_pairs.py moses_test.csv.gz > tests/data/selfies_pairs.tsv

(moses_test.csv.gz: the MOSES test split, `moses/dataset/data/test.csv.gz` of the PyPI wheel
`molsets==0.3.1`.) Columns: kind, smiles, selfies, decoded. kind `moses`: the first 3,000
molecules of the MOSES test split, `selfies = encoder(smiles)`; `drug`: hand-picked molecules
with stereo, charges, isotopes and several fragments, encoded the same way; `random`: random
strings of SELFIES symbols (smiles empty). decoded = decoder(selfies) for every row.
"""
import csv, gzip, random, sys
import selfies as sf

random.seed(20261206)
rows = []
with gzip.open(sys.argv[1], "rt") as f:
    smiles = [r["SMILES"] for r in csv.DictReader(f)]
for s in smiles[:3000]:
    rows.append(("moses", s, sf.encoder(s)))
drugs = [
    "CC(=O)Oc1ccccc1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O",
    "C[C@H](N)C(=O)O", "N[C@@H](Cc1c[nH]c2ccccc12)C(=O)O", "F/C=C/F", "F/C=C\\F",
    "C/C=C/C=C/C", "[NH4+].[Cl-]", "[Na+].[O-]C(=O)c1ccccc1", "[13CH4]", "[2H]C([2H])([2H])O",
    "C1CC[C@H]2CCCC[C@@H]2C1", "O=C([O-])C[N+](C)(C)C", "c1ccc2c(c1)[nH]c1ccccc12",
    "c1ccncc1", "c1cc[nH]c1", "c1ccoc1", "c1ccsc1", "O=[N+]([O-])c1ccccc1", "C#N", "C=C=O",
    "OC[C@H]1O[C@@H](O)[C@H](O)[C@@H](O)[C@@H]1O", "CC[C@H](C)[C@@H](C(=O)O)N",
    "C1=CC=CC=C1", "c1ccc(-c2ccccc2)cc1", "Cc1ccc2nc(S(=O)Cc3ncc(C)c(OC)c3C)[nH]c2c1",
    "O=S(=O)(O)O", "P(=O)(O)(O)O", "[O-][n+]1ccccc1", "C%10CCCCC%10", "c1cc2ccc3cccc4ccc(c1)c2c34",
    "C[Si](C)(C)C", "[Se]", "B(O)(O)c1ccccc1", "ClC(Cl)(Cl)Cl", "BrCCBr", "ICI",
    "C1CC1.C1CC1", "[C@@H]1(O)CCCC1", "N1C=CC=C1",
]
for s in drugs:
    rows.append(("drug", s, sf.encoder(s)))
alphabet = sorted(sf.get_semantic_robust_alphabet()) + [
    "[=O+1]", "[NH1+1]", "[O-1]", "[N+1]", "[C@@H1]", "[C@H1]", "[/C]", "[\\C]", "[13C]",
    "[Na]", "[Se]", "[NH3+1]", "[CH4]", "[-/Ring1]", "[\\/Ring2]", "[/-Ring1]", "[epsilon]",
    "[nop]", "[#Branch3]", "[Ring3]", "[S-1]", "[P+1]", "[2H]", "[Cl]", "[Br]", "[I]",
]
for _ in range(2000):
    n = random.randint(1, 40)
    text = "".join(random.choice(alphabet) for _ in range(n))
    if random.random() < 0.1:
        text += "." + "".join(random.choice(alphabet) for _ in range(random.randint(1, 8)))
    rows.append(("random", "", text))
print("kind\tsmiles\tselfies\tdecoded")
for kind, s, enc in rows:
    print(f"{kind}\t{s}\t{enc}\t{sf.decoder(enc)}")
