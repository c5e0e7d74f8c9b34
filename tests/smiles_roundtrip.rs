//! `detokenize(tokenize(s)) == s` for every SMILES in the committed fixtures and, when it sits
//! beside the checkout, in the MOSES train and test sets (1.76 M molecules; docs/results.md,
//! "Data").

use std::path::{Path, PathBuf};

use seddbio::{
    alphabet::smiles::{detokenize, tokenize},
    io::{read_sequences, ReadOptions},
};

fn round_trip_all(dir: &Path) -> usize {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("PROVENANCE.md"))
        .collect();
    files.sort();
    let mut checked = 0;
    for path in files {
        let file = read_sequences(&path, &ReadOptions::default(), None).unwrap();
        assert!(file.empty.is_empty(), "{}", path.display());
        for record in &file.records {
            let smiles = std::str::from_utf8(&record.sequence).unwrap();
            let tokens = tokenize(smiles)
                .unwrap_or_else(|e| panic!("{}: {}: {e}", path.display(), record.id));
            assert_eq!(
                detokenize(&tokens),
                smiles,
                "{}: {}",
                path.display(),
                record.id
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn committed_smiles_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/smiles");
    assert_eq!(round_trip_all(&dir), 1000 + 200 + 2000);
}

#[test]
fn shared_smiles_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/smiles");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let checked = round_trip_all(&dir);
    assert!(checked > 1_700_000, "{checked}");
    println!("{checked} SMILES round-tripped");
}
