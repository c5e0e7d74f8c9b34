//! SELFIES against the reference implementation: `tests/data/selfies_pairs.tsv` holds 3,000
//! MOSES test molecules and 41 hand-picked ones (stereo, charges, isotopes, fragments) with
//! their SELFIES, and 2,000 random symbol strings, each with what the `selfies` package (2.1.1)
//! decodes it to (made by `tests/data/make_selfies_pairs.py`, the command in its header).

use seddbio::alphabet::selfies::{decode, encode, is_complete, split_symbols};

struct Pair<'a> {
    kind: &'a str,
    smiles: &'a str,
    selfies: &'a str,
    decoded: &'a str,
}

fn pairs() -> Vec<Pair<'static>> {
    include_str!("data/selfies_pairs.tsv")
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            Pair {
                kind: fields[0],
                smiles: fields[1],
                selfies: fields[2],
                decoded: fields.get(3).copied().unwrap_or(""),
            }
        })
        .collect()
}

/// Up to eight of `wrong`, for the failure message.
fn some(wrong: &[String]) -> String {
    wrong[..wrong.len().min(8)].join("\n")
}

#[test]
fn decodes_as_the_reference_implementation_does() {
    let pairs = pairs();
    let wrong: Vec<String> = pairs
        .iter()
        .filter_map(|p| match decode(p.selfies) {
            Ok(decoded) if decoded == p.decoded => None,
            other => Some(format!("{}: {other:?}, expected {}", p.selfies, p.decoded)),
        })
        .collect();
    assert_eq!(pairs.len(), 5041);
    assert!(
        wrong.is_empty(),
        "{} of {} differ:\n{}",
        wrong.len(),
        pairs.len(),
        some(&wrong)
    );
}

#[test]
fn encodes_as_the_reference_implementation_does() {
    let pairs: Vec<Pair> = pairs().into_iter().filter(|p| p.kind != "random").collect();
    let wrong: Vec<String> = pairs
        .iter()
        .filter_map(|p| match encode(p.smiles) {
            Ok(selfies) if selfies == p.selfies => None,
            other => Some(format!("{}: {other:?}, expected {}", p.smiles, p.selfies)),
        })
        .collect();
    assert_eq!(pairs.len(), 3041);
    assert!(
        wrong.is_empty(),
        "{} of {} differ:\n{}",
        wrong.len(),
        pairs.len(),
        some(&wrong)
    );
}

#[test]
fn bad_strings_are_one_clear_error() {
    let error = decode("[C][=C").unwrap_err();
    assert_eq!(error.to_string(), "symbol 2: a '[' is never closed by ']'");
    let error = decode("[C][Xy][C]").unwrap_err();
    assert_eq!(
        error.to_string(),
        "symbol 2: '[Xy]' is not a SELFIES symbol"
    );
    assert!(decode("[C][CH9]").is_err());
    assert!(decode("[C][Branch4]").is_err());
    assert_eq!(split_symbols("").unwrap(), Vec::<&str>::new());
    for smiles in ["", "C1CC", "CC(C", "C)C", "C=", "CX", "c1cccc1", "[Xx]"] {
        assert!(encode(smiles).is_err(), "{smiles}");
    }
}

/// SELFIES symbols a random string is drawn from: every atom the default constraints list
/// with each bond it can take, branches, rings and their stereo forms, bracket atoms with
/// hydrogens, chirality or isotopes, `[nop]` and `[epsilon]`.
fn symbol_pool() -> Vec<String> {
    let atoms = [
        ("H", 1),
        ("F", 1),
        ("Cl", 1),
        ("Br", 1),
        ("I", 1),
        ("B", 3),
        ("B+1", 2),
        ("B-1", 4),
        ("O", 2),
        ("O+1", 3),
        ("O-1", 1),
        ("N", 3),
        ("N+1", 4),
        ("N-1", 2),
        ("C", 4),
        ("C+1", 3),
        ("C-1", 3),
        ("P", 5),
        ("P+1", 4),
        ("P-1", 6),
        ("S", 6),
        ("S+1", 5),
        ("S-1", 5),
    ];
    let mut pool = Vec::new();
    for (atom, capacity) in atoms {
        for (bond, order) in [("", 1), ("=", 2), ("#", 3)] {
            if order <= capacity {
                pool.push(format!("[{bond}{atom}]"));
            }
        }
    }
    for l in 1..=3 {
        for bond in ["", "=", "#"] {
            pool.push(format!("[{bond}Branch{l}]"));
            pool.push(format!("[{bond}Ring{l}]"));
        }
        pool.push(format!("[-/Ring{l}]"));
        pool.push(format!("[\\/Ring{l}]"));
    }
    // Atoms the constraints do not list ([Na], [Se]: any 8 bonds) are left out: SELFIES
    // guarantees valence only for the constrained ones.
    for extra in [
        "[C@@H1]",
        "[C@H1]",
        "[/C]",
        "[\\C]",
        "[13C]",
        "[NH1+1]",
        "[nop]",
        "[epsilon]",
        "[CH4]",
    ] {
        pool.push(extra.to_string());
    }
    pool
}

/// Random strings of symbols with at least one atom, `count` of them, from `seed`.
fn random_strings(count: usize, seed: u64) -> Vec<String> {
    use rand::{RngExt, SeedableRng};
    let pool = symbol_pool();
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let n = rng.random_range(1..40);
            let mut text = String::from("[C]");
            for _ in 0..n {
                text.push_str(&pool[rng.random_range(0..pool.len())]);
            }
            text
        })
        .collect()
}

/// Decoding is a fixed point after one round: what a string decodes to encodes to a string
/// that decodes to the same SMILES.
#[test]
fn a_decoded_molecule_encodes_and_decodes_to_itself() {
    for selfies in random_strings(3000, 7) {
        let smiles = decode(&selfies).unwrap();
        let again = encode(&smiles).unwrap_or_else(|e| panic!("{selfies} -> {smiles}: {e}"));
        assert_eq!(
            decode(&again).unwrap(),
            smiles,
            "{selfies} -> {smiles} -> {again}"
        );
    }
}

/// With RDKit: every random string of symbols is a molecule RDKit accepts, and a SMILES taken
/// through SELFIES and back is the same molecule (canonical SMILES) for the committed MOSES
/// test molecules.
#[cfg(feature = "rdkit")]
#[test]
fn every_string_is_a_molecule_and_round_trips_keep_it() {
    use seddbio::chem::{MoleculeChecker, RdkitChecker};

    let rejected: Vec<String> = random_strings(5000, 11)
        .into_iter()
        .filter_map(|s| {
            let smiles = decode(&s).unwrap();
            RdkitChecker
                .canonical(&smiles)
                .is_none()
                .then(|| format!("{s} -> {smiles}"))
        })
        .collect();
    assert!(
        rejected.is_empty(),
        "{} rejected:\n{}",
        rejected.len(),
        some(&rejected)
    );

    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&include_bytes!("../datasets/smiles/moses_test_2k.csv.gz")[..])
        .read_to_string(&mut text)
        .unwrap();
    let molecules: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(molecules.len(), 2000);
    let changed: Vec<String> = molecules
        .iter()
        .filter_map(|&smiles| {
            let back = decode(&encode(smiles).ok()?).ok()?;
            (RdkitChecker.canonical(&back) != RdkitChecker.canonical(smiles))
                .then(|| format!("{smiles} -> {back}"))
        })
        .collect();
    assert!(
        changed.is_empty(),
        "{} changed:\n{}",
        changed.len(),
        some(&changed)
    );
}

/// With RDKit and the data sets beside the checkout (docs/results.md, "Data"): the whole
/// MOSES test split through SELFIES and back keeps >= 99.9 % of the molecules (canonical
/// SMILES).
#[cfg(feature = "rdkit")]
#[test]
fn the_moses_test_split_round_trips() {
    use std::io::Read;

    use seddbio::chem::{MoleculeChecker, RdkitChecker};

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/datasets/smiles/moses_test.csv.gz");
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("skipped: {} is absent", path.display());
        return;
    };
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    let molecules: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(molecules.len(), 176_074);
    use rayon::prelude::*;
    let kept = molecules
        .par_iter()
        .filter(|&&smiles| {
            let back = encode(smiles).ok().and_then(|s| decode(&s).ok());
            back.is_some_and(|back| RdkitChecker.canonical(&back) == RdkitChecker.canonical(smiles))
        })
        .count();
    let share = kept as f64 / molecules.len() as f64;
    eprintln!(
        "MOSES test: {kept} of {} round-trip ({:.4} %)",
        molecules.len(),
        100.0 * share
    );
    assert!(share >= 0.999, "{kept} of {}", molecules.len());
}

mod common;

/// `--alphabet selfies` end to end: SMILES training data converted when read (a molecule with
/// no SELFIES is one error naming it, or skipped and counted), samples written as SMILES with
/// their SELFIES beside them, templates in SELFIES symbols, SMILES templates refused.
#[test]
fn a_selfies_model_trains_on_smiles_and_writes_smiles() {
    let dir = common::tempdir().unwrap();
    let data = dir.path().join("molecules.smi");
    let mut text = std::fs::read_to_string("datasets/smiles/moses_tiny_train.smi").unwrap();
    std::fs::write(&data, &text).unwrap();
    let run = dir.path().join("run");
    let (data_s, run_s) = (data.to_str().unwrap(), run.to_str().unwrap());
    let summary = common::ok(&["data", "inspect", data_s, "-a", "selfies"]);
    assert!(summary.contains("alphabet          selfies ("), "{summary}");
    assert!(summary.contains("[=C]"), "{summary}");

    // A ring that never closes has no SELFIES: one error naming the record, or skipped.
    text.push_str("C1CC\tbroken\n");
    let broken = dir.path().join("broken.smi");
    std::fs::write(&broken, &text).unwrap();
    let error = common::fails(&["data", "inspect", broken.to_str().unwrap(), "-a", "selfies"]);
    assert!(
        error.contains("line 1001 (record 1001, broken): this SMILES cannot be written as SELFIES: position 2: hanging ring number '1'"),
        "{error}"
    );
    let summary = common::ok(&[
        "data",
        "inspect",
        broken.to_str().unwrap(),
        "-a",
        "selfies",
        "--on-unknown",
        "skip",
    ]);
    assert!(summary.contains("(SMILES with no SELFIES) x1"), "{summary}");

    common::ok(&[
        "train",
        data_s,
        "-a",
        "selfies",
        "--steps",
        "2",
        "--batch-size",
        "8",
        "--report-samples",
        "0",
        "--out",
        run_s,
    ]);
    let sampled = common::ok(&["sample", "--model", run_s, "-n", "8", "--steps", "8"]);
    let lines: Vec<&str> = sampled.lines().collect();
    assert_eq!(lines.len(), 16, "{sampled}");
    for pair in lines.chunks(2) {
        let selfies = pair[0]
            .split_whitespace()
            .find_map(|w| w.strip_prefix("selfies="))
            .unwrap_or_else(|| panic!("{}", pair[0]));
        let smiles = decode(selfies).unwrap();
        // The SMILES is the SELFIES decoded (canonical where RDKit is built in).
        #[cfg(feature = "rdkit")]
        {
            use seddbio::chem::{MoleculeChecker, RdkitChecker};
            assert_eq!(RdkitChecker.canonical(&smiles).as_deref(), Some(pair[1]));
        }
        #[cfg(not(feature = "rdkit"))]
        assert_eq!(smiles, pair[1]);
    }
    let filled = common::ok(&[
        "infill",
        "--model",
        run_s,
        "--template",
        "[C][=C][MASK:6]",
        "-n",
        "2",
        "--steps",
        "4",
    ]);
    for pair in filled.lines().collect::<Vec<_>>().chunks(2) {
        assert!(pair[0].contains(" selfies=[C][=C]"), "{}", pair[0]);
    }
    let error = common::fails(&["infill", "--model", run_s, "--template", "CC[MASK:3]"]);
    assert!(
        error.contains("template 'CC[MASK:3]': position 1: 'C' is in no SELFIES symbol"),
        "{error}"
    );

    // --selfies-draws: a sample is drawn again until it is complete, at most N times, and says
    // how many draws it took and whether the one kept is complete.
    let sampled = common::ok(&[
        "sample",
        "--model",
        run_s,
        "-n",
        "12",
        "--steps",
        "8",
        "--sampler",
        "first-hitting",
        "--selfies-draws",
        "6",
        "--seed",
        "4",
    ]);
    let mut redrawn = 0;
    for header in sampled.lines().filter(|l| l.starts_with('>')) {
        let value = |key: &str| {
            header
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {header}"))
        };
        let draws: usize = value("draws=").parse().unwrap();
        let complete = value("complete=") == "true";
        assert_eq!(complete, is_complete(value("selfies=")), "{header}");
        assert!(
            (1..=6).contains(&draws) && (complete || draws == 6),
            "{header}"
        );
        redrawn += usize::from(draws > 1);
    }
    assert!(
        redrawn > 0,
        "a two-step model writes incomplete strings: {sampled}"
    );
    let error = common::fails(&[
        "sample",
        "--model",
        run_s,
        "-n",
        "1",
        "--selfies-draws",
        "0",
    ]);
    assert!(
        error.contains("--selfies-draws 0: give 1 or more"),
        "{error}"
    );
}

/// The SELFIES of real molecules lose no symbol when decoded: every MOSES molecule of the
/// reference pairs is complete, so complete strings are the training data's kind.
#[test]
fn encodings_of_real_molecules_are_complete() {
    let molecules: Vec<Pair> = pairs().into_iter().filter(|p| p.kind == "moses").collect();
    assert!(molecules.len() >= 3000);
    let incomplete: Vec<String> = molecules
        .iter()
        .filter(|p| !is_complete(p.selfies))
        .map(|p| format!("{} {}", p.smiles, p.selfies))
        .collect();
    assert!(incomplete.is_empty(), "{}", some(&incomplete));
    // A derivation cut short: [O] after [F] has no bond to attach to.
    assert!(!is_complete("[C][F][O]"));
    assert!(is_complete("[C][O][F]"));
}
