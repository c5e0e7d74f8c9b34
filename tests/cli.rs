//! End-to-end tests of the `seddbio` binary: the committed datasets, and bad input of every
//! kind, which must give one clear error line and a non-zero exit, never a panic.

mod common;

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use common::{fails, ok, summary_values};

fn write(dir: &common::TempDir, name: &str, content: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

fn gzip(content: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(content).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn inspect_every_committed_dataset() {
    let out = ok(&[
        "data",
        "inspect",
        "datasets/dna/ecoli_k12_256x1kb.fa",
        "--alphabet",
        "dna",
        "--seq-len",
        "256",
    ]);
    assert!(out.contains("records           256"), "{out}");
    assert!(out.contains("windows of 256 tokens, stride 256"), "{out}");
    assert!(
        out.contains("train             230 records -> 690 examples, 176,640 tokens"),
        "{out}"
    );
    assert!(out.contains("GC content"), "{out}");

    let out = ok(&[
        "data",
        "inspect",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "dna",
    ]);
    assert!(out.contains("windows of 300 tokens"), "{out}");

    // The main job's data: Drosophila promoter windows, chromosome arm 3L held out.
    let out = ok(&[
        "data",
        "inspect",
        "datasets/dna/dm3_tss200_train.fa.gz",
        "-a",
        "dna",
        "--valid",
        "datasets/dna/dm3_tss200_chr3L.fa.gz",
    ]);
    assert!(
        out.contains("train             13,805 records -> 13,805 examples, 2,761,000 tokens")
            && out.contains("validation        3,417 records -> 3,417 examples, 683,400 tokens"),
        "{out}"
    );

    let out = ok(&[
        "data",
        "inspect",
        "datasets/protein/tiny_uniprot_128.fasta",
        "-a",
        "protein",
    ]);
    assert!(out.contains("min 8 / median"), "{out}");
    assert!(out.contains("records padded to 253 tokens"), "{out}");
    assert!(
        out.contains("protein (21 tokens: 20 symbols + pad)"),
        "{out}"
    );

    for file in [
        "datasets/smiles/moses_tiny_train.smi",
        "datasets/smiles/moses_tiny_test.smi",
        "datasets/smiles/moses_test_2k.csv.gz",
    ] {
        let out = ok(&["data", "inspect", file, "-a", "smiles"]);
        assert!(out.contains("unknown symbols   none"), "{file}: {out}");
    }
}

#[test]
fn export_writes_what_the_model_sees() {
    let dir = common::tempdir().unwrap();
    let out = dir.path().join("windows.csv");
    let text = ok(&[
        "data",
        "export",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "dna",
        "--seq-len",
        "100",
        "--stride",
        "50",
        "--split",
        "last",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("wrote 320 examples"), "{text}");
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,sequence,split,source,start,length");
    assert!(
        lines[2].starts_with("train_2,") && lines[2].ends_with(",train,K-12-MG1655:1-300,51,100"),
        "{}",
        lines[2]
    );
    assert!(
        lines.last().unwrap().contains(",valid,"),
        "last records are validation"
    );
    // The exported windows are exact substrings of the input.
    let fasta = std::fs::read_to_string("datasets/dna/tiny_ecoli_64x300.fa").unwrap();
    let first: String = fasta
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('>'))
        .collect();
    assert_eq!(lines[2].split(',').nth(1).unwrap(), &first[50..150]);
}

#[test]
fn unknown_symbols_under_each_policy() {
    let dir = common::tempdir().unwrap();
    let fa = write(
        &dir,
        "n.fa",
        b">chr1 soft-masked\nACGTacgtNNNNACGT\n>chr2\nAC-GT\n>chr3\nACGT\n",
    );
    let err = fails(&["data", "inspect", &fa, "-a", "dna", "--valid-fraction", "0"]);
    assert!(
        err.contains("n.fa: record 1 (chr1): position 9: 'N' is an ambiguity code for A/C/G/T"),
        "{err}"
    );

    let base = [
        "data",
        "inspect",
        &fa,
        "-a",
        "dna",
        "--valid-fraction",
        "0",
        "--seq-len",
        "2",
        "--on-unknown",
    ];
    let run = |policy: &str| ok(&[&base[..], &[policy]].concat());
    let out = run("skip");
    assert!(
        out.contains("- x1, N x4 (policy skip: 2 records skipped)"),
        "{out}"
    );
    let out = run("split");
    assert!(
        out.contains("2 records split into 4 fragments, 5 symbols removed"),
        "{out}"
    );
    assert!(out.contains("lowercase folded  4"), "{out}");
    let out = run("strip");
    assert!(out.contains("5 symbols stripped from 2 records"), "{out}");
    assert!(out.contains("train             3 records"), "{out}");
}

#[test]
fn bad_files_get_one_clear_line() {
    let dir = common::tempdir().unwrap();
    let empty = write(&dir, "empty.fa", b"");
    assert!(fails(&["data", "inspect", &empty, "-a", "dna"]).contains("empty.fa: no fasta records"));

    let binary = write(
        &dir,
        "reads.fa",
        &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0],
    );
    assert!(fails(&["data", "inspect", &binary, "-a", "dna"])
        .contains("not a text file (NUL byte at offset 7)"));

    let headerless = write(&dir, "plain.fasta", b"ACGTACGT\nACGT\n");
    assert!(fails(&["data", "inspect", &headerless, "-a", "dna"])
        .contains("plain.fasta: line 1 does not start with '>'"));

    let mut records = Vec::new();
    for i in 0..5000 {
        records.extend_from_slice(format!(">r{i}\nACGTTGCAACGTTTGACCA\n").as_bytes());
    }
    let gz = gzip(&records);
    let truncated = write(&dir, "cut.fa.gz", &gz[..gz.len() * 2 / 3]);
    let err = fails(&["data", "inspect", &truncated, "-a", "dna"]);
    assert!(
        err.contains("cut.fa.gz: truncated or corrupt gzip data after record"),
        "{err}"
    );

    let csv = write(&dir, "mols.csv", b"smiles_string,id\nCCO,1\n");
    let err = fails(&[
        "data", "inspect", &csv, "-a", "smiles", "--column", "SMILES",
    ]);
    assert!(
        err.contains("mols.csv: no column named 'SMILES' (columns: smiles_string, id)"),
        "{err}"
    );

    let unknown_ext = write(&dir, "seqs.dat", b">a\nAC\n");
    assert!(fails(&["data", "inspect", &unknown_ext, "-a", "dna"]).contains("--format"));
    ok(&[
        "data",
        "inspect",
        &unknown_ext,
        "-a",
        "dna",
        "--format",
        "fasta",
        "--valid-fraction",
        "0",
    ]);

    let single = write(&dir, "genome.fa", b">g\nACGTACGTACGTACGTACGT\n");
    assert!(fails(&["data", "inspect", &single, "-a", "dna"]).contains("--split region"));
    let out = ok(&[
        "data",
        "inspect",
        &single,
        "-a",
        "dna",
        "--split",
        "region",
        "--seq-len",
        "4",
    ]);
    assert!(
        out.contains("validation        1 records -> 0 examples"),
        "{out}"
    );

    // A cluster split keeps records that share a long exact substring together: four families
    // of five near-copies (one substitution each) are four clusters, and a fifth of the records
    // held out is one whole family.
    let families = [
        "MKVLAAGIWQRTEPLSDHFCNYK",
        "WWCHEYRDNTPLAGKMSVIFQEA",
        "PGSTRAVLEKHMNQIDWFYCAGT",
        "DNYHMWTAERPLKSQVGCIFEAR",
    ];
    let mut fasta = String::new();
    for (f, family) in families.iter().enumerate() {
        for member in 0..5 {
            let mut seq = family.as_bytes().to_vec();
            seq[member * 4] = b'A';
            fasta.push_str(&format!(
                ">f{f}m{member}\n{}\n",
                String::from_utf8(seq).unwrap()
            ));
        }
    }
    let fasta = write(&dir, "families.fa", fasta.as_bytes());
    let out = ok(&[
        "data",
        "inspect",
        &fasta,
        "-a",
        "protein",
        "--split",
        "cluster",
        "--valid-fraction",
        "0.2",
    ]);
    assert!(
        out.contains("; 4 clusters of records sharing an exact"),
        "{out}"
    );
    assert!(out.contains("the largest 5 records"), "{out}");
    assert!(out.contains("validation        5 records"), "{out}");

    assert!(fails(&["data", "inspect", "/no/such.fa", "-a", "dna"])
        .contains("/no/such.fa: No such file"));
    assert!(
        fails(&["data", "inspect", &single, "-a", "klingon"]).contains(
            "alphabet 'klingon': not a built-in (dna, rna, protein, smiles, selfies) and no such file"
        )
    );
    let bad_alphabet = write(
        &dir,
        "mine.toml",
        b"name = 'x'\ntokenizer = 'char'\nsymbols = ['A', 'A']\n",
    );
    assert!(fails(&["data", "inspect", &single, "-a", &bad_alphabet]).contains("listed twice"));
}

#[test]
fn smiles_with_charges_salts_and_two_digit_closures() {
    let dir = common::tempdir().unwrap();
    let smi = write(
        &dir,
        "hard.smi",
        b"CC(=O)[O-].[Na+] acetate\nC[N+](C)(C)C.[Cl-] tmac\nC1CC2CC3CC4CC5CC6CC7CC8CC9CC%10CC%11CC%12CC1C2C3C4C5C6C7C8C9%10%11%12 cage\nc1cc[nH]c1 pyrrole\nN[C@@H](C)C(=O)O ala\n",
    );
    let out = ok(&[
        "data",
        "inspect",
        &smi,
        "-a",
        "smiles",
        "--valid-fraction",
        "0",
    ]);
    for token in ["[O-]", "[Na+]", "[N+]", "[Cl-]", "%10", "%12", "[C@@H]"] {
        assert!(
            out.contains(token),
            "{token} should be added to the vocabulary: {out}"
        );
    }
    let csv = dir.path().join("hard.csv");
    ok(&[
        "data",
        "export",
        &smi,
        "-a",
        "smiles",
        "--valid-fraction",
        "0",
        "-o",
        csv.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("C1CC2CC3CC4CC5CC6CC7CC8CC9CC%10CC%11CC%12CC1C2C3C4C5C6C7C8C9%10%11%12"));
    // The grown vocabulary is written beside the examples and reads back as an alphabet.
    let stored = dir.path().join("hard.csv.alphabet.toml");
    let alphabet = seddbio::alphabet::Alphabet::from_path(&stored).unwrap();
    assert!(alphabet.id("[Na+]").is_some() && alphabet.id("%12").is_some());
    assert!(
        !alphabet.grows_vocabulary(),
        "stored vocabularies are frozen"
    );
    assert_eq!(alphabet.pad_id(), Some(alphabet.num_symbols() as u16));

    // A validation file may hold tokens the training data never had.
    let valid = write(&dir, "valid.smi", b"CC[K+]\n");
    let err = fails(&["data", "inspect", &smi, "-a", "smiles", "--valid", &valid]);
    assert!(err.contains("valid.smi: line 1 (record 1, record_1): position 3: '[K+]' is not in the smiles alphabet"), "{err}");
    let bad = write(&dir, "bad.smi", b"CCO\nCC[NH3+ broken\n");
    let err = fails(&[
        "data",
        "inspect",
        &bad,
        "-a",
        "smiles",
        "--valid-fraction",
        "0",
    ]);
    assert!(
        err.contains("bad.smi: line 2 (record 2, broken): position 3: '[' is never closed"),
        "{err}"
    );
}

#[test]
fn every_command_documents_itself() {
    for command in [
        "train", "sample", "infill", "eval", "score", "baseline", "bench", "weights",
    ] {
        let help = ok(&[command, "--help"]);
        assert!(help.contains("Usage: seddbio"), "{help}");
    }
    let infill = ok(&["infill", "--help"]);
    assert!(
        infill.contains("[MASK:20]") && infill.contains("{motif:MA0108.3}"),
        "{infill}"
    );
}

/// The uncommitted data sets of docs/results.md ("Data") sit beside the checkout on developer
/// machines and in CI (the test skips with a message without them); every DNA, protein and
/// SMILES file there must inspect cleanly (with the options its content needs).
#[test]
fn inspect_every_shared_dataset() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    if !shared.is_dir() {
        eprintln!("skipped: {} is absent", shared.display());
        return;
    }
    let mut files: Vec<PathBuf> = ["dna", "protein", "smiles"]
        .iter()
        .flat_map(|kind| std::fs::read_dir(shared.join(kind)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| !path.ends_with("PROVENANCE.md"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let kind = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let path = file.to_string_lossy().into_owned();
        let mut args = vec!["data", "inspect", &path, "--alphabet", &kind];
        if name.contains("_DMS") {
            // A deep mutational scan: a table of mutations and fitness, no sequence column,
            // refused in one line that lists its columns.
            let err = fails(&args);
            assert!(
                err.contains("no column named 'sequence'") && err.contains("mutant"),
                "{name}: {err}"
            );
            continue;
        }
        if name.starts_with("ecoli_K12") {
            args.extend(["--split", "region"]);
        }
        if name.contains("_aln") {
            args.extend(["--on-unknown", "strip"]); // alignment gaps, one X
        }
        if name.starts_with("mmseqs2") {
            args.extend(["--on-unknown", "skip"]); // rare X, B, Z
        }
        let out = ok(&args);
        assert!(out.contains("train "), "{name}: {out}");
        println!("== {name}\n{out}");
    }
}

/// The held-out bits/token that `baseline markov` prints (for its first order).
fn held_out_bits(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("order "))
        .find_map(|l| l.split("held-out ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no held-out figure in: {text}"))
}

#[test]
fn markov_baseline_fits_scores_and_samples() {
    let dir = common::tempdir().unwrap();
    let out = dir.path().join("markov.fa");
    let text = ok(&[
        "baseline",
        "markov",
        "datasets/dna/ecoli_k12_256x1kb.fa",
        "-a",
        "dna",
        "--seq-len",
        "200",
        "--order",
        "4",
        "-n",
        "25",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        text.contains("add-0.5 smoothing") && text.contains("\norder 4 "),
        "{text}"
    );
    let held_out = held_out_bits(&text);
    assert!(held_out > 1.85 && held_out < 2.0, "{held_out}");
    let fasta = std::fs::read_to_string(&out).unwrap();
    assert_eq!(fasta.matches('>').count(), 25);
    assert!(
        fasta.starts_with(">markov4_1 model=markov-order-4 seed=0\n"),
        "{fasta}"
    );

    let err = fails(&[
        "baseline",
        "markov",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "dna",
        "-n",
        "5",
    ]);
    assert!(err.contains("needs --out"), "{err}");

    // A scan of orders, as JSON: each order's figures, the best one named, and the same
    // figure the single-order report printed.
    let json = ok(&[
        "baseline",
        "markov",
        "datasets/dna/ecoli_k12_256x1kb.fa",
        "-a",
        "dna",
        "--seq-len",
        "200",
        "--order",
        "0..5",
        "--json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let orders = value["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 6);
    let valid: Vec<f64> = orders
        .iter()
        .map(|o| o["valid_bits_per_token"].as_f64().unwrap())
        .collect();
    let best = (0..6)
        .min_by(|&a, &b| valid[a].total_cmp(&valid[b]))
        .unwrap();
    assert_eq!(value["best_order"].as_u64(), Some(best as u64));
    assert!(
        (valid[4] - held_out).abs() < 5e-5,
        "{} vs {held_out}",
        valid[4]
    );

    // Protein: padded records, the pad token is part of the chain; samples end at the first pad.
    let out = dir.path().join("protein.fa");
    ok(&[
        "baseline",
        "markov",
        "datasets/protein/tiny_uniprot_128.fasta",
        "-a",
        "protein",
        "--order",
        "1",
        "-n",
        "10",
        "-o",
        out.to_str().unwrap(),
    ]);
    let fasta = std::fs::read_to_string(&out).unwrap();
    assert!(!fasta.contains("<pad>"), "{fasta}");
}

/// The figures the training issue quotes for the EPDnew split (first 90% train, last 10%
/// held out): order 3 gives 1.931 and order 6 1.914 bits/base.
#[test]
fn markov_baseline_reproduces_the_published_epdnew_figures() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/datasets/dna/epdnew_human_TATA_300bp.fa");
    if !path.is_file() {
        eprintln!("skipped: {} is absent", path.display());
        return;
    }
    let path = path.to_string_lossy().into_owned();
    for (order, expected) in [("3", "1.931"), ("6", "1.914")] {
        let text = ok(&[
            "baseline", "markov", &path, "-a", "dna", "--split", "last", "--order", order,
        ]);
        let value = held_out_bits(&text);
        assert_eq!(format!("{value:.3}"), expected, "{text}");
    }
}

#[test]
fn eval_reports_divergences_beside_the_floor_with_csv_and_plots() {
    let dir = common::tempdir().unwrap();
    let samples = dir.path().join("markov.fa");
    let report = dir.path().join("report");
    ok(&[
        "baseline",
        "markov",
        "datasets/dna/ecoli_k12_256x1kb.fa",
        "-a",
        "dna",
        "--seq-len",
        "300",
        "--order",
        "3",
        "-n",
        "64",
        "-o",
        samples.to_str().unwrap(),
    ]);
    let text = ok(&[
        "eval",
        "--generated",
        samples.to_str().unwrap(),
        "--reference",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "--train",
        "datasets/dna/ecoli_k12_256x1kb.fa",
        "-a",
        "dna",
        "--k",
        "1..4",
        "--canonical",
        "--motifs",
        "datasets/motifs/tiny_JASPAR2024_12motifs.meme",
        "--motif-profile",
        "MA0108.3",
        "-o",
        report.to_str().unwrap(),
    ]);
    for expected in [
        "k=1",
        "k=4",
        "mean GC",
        "copies of training seqs",
        "motifs: 12 from",
        "floor: 64 training vs the 64 reference (mean of 4 draws)",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    for file in [
        "summary.csv",
        "kmer.csv",
        "motifs.csv",
        "sequences.csv",
        "kmer_scatter_k4.svg",
        "lengths.svg",
        "gc.svg",
        "motif_profile_MA0108.3.svg",
        "nearest_identity.svg",
    ] {
        assert!(report.join(file).is_file(), "{file} missing");
    }
    let summary = std::fs::read_to_string(report.join("summary.csv")).unwrap();
    let js1: Vec<f64> = summary_values(&summary, "kmer_1_js_bits")[..2]
        .iter()
        .map(|v| v.expect("a value and its floor"))
        .collect();
    assert!(js1[0] >= 0.0 && js1[0] < 0.01 && js1[1] >= 0.0, "{summary}");
    // Canonical 4-mers: 136 classes at most.
    let kmers = std::fs::read_to_string(report.join("kmer.csv")).unwrap();
    assert!(kmers.lines().filter(|l| l.starts_with("4,true,")).count() <= 136);
    // --json: summary.csv's figures, the same numbers.
    let json = ok(&[
        "eval",
        "--generated",
        samples.to_str().unwrap(),
        "--reference",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "dna",
        "--k",
        "1..2",
        "--json",
        "-o",
        dir.path().join("json_report").to_str().unwrap(),
    ]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let summary = std::fs::read_to_string(dir.path().join("json_report/summary.csv")).unwrap();
    let js1: Vec<f64> = summary_values(&summary, "kmer_1_js_bits")[..2]
        .iter()
        .map(|v| v.expect("a value and its floor"))
        .collect();
    let metric = &value["metrics"]["kmer_1_js_bits"];
    // (serde_json's default float parser may be one unit in the last place off.)
    let close = |v: &serde_json::Value, x: f64| (v.as_f64().unwrap() - x).abs() <= 1e-14 * x.abs();
    assert!(close(&metric["generated_vs_reference"], js1[0]), "{json}");
    assert!(close(&metric["real_vs_real_floor"], js1[1]), "{json}");

    let err = fails(&[
        "eval",
        "--generated",
        samples.to_str().unwrap(),
        "--reference",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "protein",
        "--canonical",
        "-o",
        report.to_str().unwrap(),
    ]);
    assert!(
        err.contains("--canonical needs an alphabet with complements"),
        "{err}"
    );
    let err = fails(&[
        "eval",
        "--generated",
        samples.to_str().unwrap(),
        "--reference",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "dna",
        "--motifs",
        "datasets/motifs/tiny_JASPAR2024_12motifs.jaspar",
        "--motif-profile",
        "MA9999.1",
        "-o",
        report.to_str().unwrap(),
    ]);
    assert!(err.contains("no motif MA9999.1"), "{err}");
}

/// No command writes over one of its inputs, however the path is spelled; the input is left
/// as it was.
#[test]
fn outputs_never_overwrite_inputs() {
    let dir = common::tempdir().unwrap();
    let content = b">a\nACGTACGTAC\n>b\nTTGACCAGTA\n>c\nGGGCCCAATT\n";
    let input = write(&dir, "in.fa", content);
    let other_spelling = dir.path().join(".").join("in.fa");
    let other_spelling = other_spelling.to_str().unwrap();
    let reference_content = b"id,sequence\nr1,ACGTACGTAA\nr2,TTGACCAGTT\n";
    let reference = write(&dir, "sequences.csv", reference_content);
    for args in [
        vec![
            "data",
            "export",
            &input,
            "-a",
            "dna",
            "--out",
            other_spelling,
        ],
        vec![
            "baseline",
            "markov",
            &input,
            "-a",
            "dna",
            "--valid-fraction",
            "0.34",
            "-n",
            "2",
            "--out",
            &input,
        ],
        // A reference kept in the report folder under the name of a report file.
        vec![
            "eval",
            "--generated",
            &input,
            "--reference",
            &reference,
            "-a",
            "dna",
            "--k",
            "1..2",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    ] {
        let error = fails(&args);
        assert!(
            error.contains("would destroy the input"),
            "{args:?}: {error}"
        );
        assert_eq!(
            std::fs::read(&input).unwrap(),
            content,
            "{args:?} changed the input"
        );
    }
    assert_eq!(std::fs::read(&reference).unwrap(), reference_content);
}

/// Choices are listed in `--help` (clap's possible values) and completed by shells; a wrong
/// one is a usage error that names them.
#[test]
fn choices_completions_and_man_pages() {
    let help = ok(&["train", "--help"]);
    assert!(
        help.contains("[possible values: absorb, uniform]")
            && help.contains("[possible values: constant, cosine, linear]"),
        "{help}"
    );
    let wrong = common::seddbio(&["sample", "--model", "x", "--sampler", "eulr"]);
    assert_eq!(wrong.status.code(), Some(2));
    let err = common::stderr(&wrong);
    assert!(
        err.contains("invalid value 'eulr'") && err.contains("euler, analytic"),
        "{err}"
    );
    // Aliases still parse (`--format fa`).
    let dir = common::tempdir().unwrap();
    let fasta = write(&dir, "x.txt", b">a\nACGT\n");
    let printed = ok(&[
        "data",
        "inspect",
        &fasta,
        "-a",
        "dna",
        "--format",
        "fa",
        "--valid-fraction",
        "0",
    ]);
    assert!(printed.contains("records"), "{printed}");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = ok(&["completions", shell]);
        assert!(
            script.contains("seddbio") && script.contains("first-hitting"),
            "{shell}: {script}"
        );
    }
    let man = dir.path().join("man");
    let printed = ok(&["man", "--out", man.to_str().unwrap()]);
    assert!(printed.contains("man pages written"), "{printed}");
    let page = std::fs::read_to_string(man.join("seddbio-train.1")).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH seddbio-train"),
        "{page}"
    );
    assert!(page.contains("time\\-budget"), "{page}");
    let names: Vec<String> = std::fs::read_dir(&man)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n.ends_with(".1")) && names.contains(&"seddbio.1".to_string()),
        "{names:?}"
    );
}

/// `data inspect` of FASTA piped to standard input (every record kept for training).
fn inspect_fasta_on_stdin(fasta: &[u8]) -> String {
    let args = [
        "data",
        "inspect",
        "-",
        "-a",
        "dna",
        "--format",
        "fasta",
        "--valid-fraction",
        "0",
    ];
    common::with_stdin(&args, fasta).0
}

/// `-` reads standard input and writes standard output, so seddbio sits in a pipeline; the
/// summary lines then go to stderr, out of the data's way.
#[test]
fn a_dash_is_standard_input_or_output() {
    let fasta = b">a\nACGTACGTAC\n>b\nTTGACCAGTA\n>c\nGGGCCCAATT\n";
    let printed = inspect_fasta_on_stdin(fasta);
    assert!(printed.contains("records           3"), "{printed}");
    let error = fails(&["data", "inspect", "-", "-a", "dna"]);
    assert!(
        error.contains("standard input (-)") && error.contains("--format"),
        "{error}"
    );
    // stdin to stdout, CSV, with the summary on stderr.
    let (csv, summary) = common::with_stdin(
        &[
            "data",
            "export",
            "-",
            "-a",
            "dna",
            "--format",
            "fa",
            "--valid-fraction",
            "0",
            "-o",
            "-",
            "--out-format",
            "csv",
        ],
        fasta,
    );
    assert_eq!(
        csv.lines().next(),
        Some("id,sequence,split,source,start,length"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        summary.contains("wrote 3 examples to standard output"),
        "{summary}"
    );
    // Samples of a baseline to stdout as FASTA, read back by another seddbio.
    let (samples, report) = common::with_stdin(
        &[
            "baseline",
            "markov",
            "-",
            "-a",
            "dna",
            "--format",
            "fasta",
            "--valid-fraction",
            "0.34",
            "--order",
            "1",
            "-n",
            "4",
            "-o",
            "-",
        ],
        fasta,
    );
    assert_eq!(samples.matches('>').count(), 4, "{samples}");
    assert!(
        report.contains("held-out") || report.contains("train"),
        "{report}"
    );
    let printed = inspect_fasta_on_stdin(samples.as_bytes());
    assert!(printed.contains("records           4"), "{printed}");
    let json = ok(&[
        "data",
        "inspect",
        "datasets/dna/ecoli_k12_256x1kb.fa",
        "-a",
        "dna",
        "--seq-len",
        "256",
        "--json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["records"], 256);
    assert_eq!(value["train"]["examples"], 690);
    assert_eq!(value["train"]["tokens"], 176_640);
    let fractions: f64 = ["A", "C", "G", "T"]
        .iter()
        .map(|s| value["composition"][s].as_f64().unwrap())
        .sum();
    assert!((fractions - 1.0).abs() < 1e-9, "{json}");
}

/// `--quiet`: results on stdout, nothing on stderr but errors.
#[test]
fn quiet_leaves_only_results_and_errors() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("run");
    let output = common::seddbio(&[
        "train",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "dna",
        "--seq-len",
        "100",
        "--steps",
        "2",
        "--report-samples",
        "0",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert_eq!(common::stderr(&output), "");
    assert!(common::stdout(&output).contains("done: 2 steps"));
    // Without it, the same run reports its validations on stderr.
    let output = common::seddbio(&[
        "train",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "dna",
        "--seq-len",
        "100",
        "--steps",
        "2",
        "--report-samples",
        "0",
        "--out",
        dir.path().join("loud").to_str().unwrap(),
    ]);
    assert!(common::stderr(&output).contains("validation ELBO"));
    let error = fails(&["-q", "data", "inspect", "missing.fa", "-a", "dna"]);
    assert!(error.contains("missing.fa"), "{error}");
}

/// Illumina-like reads made from the committed E. coli windows, with honest qualities: each
/// base's Phred score falls along the read (Q38 to about Q12, with noise) and the base is
/// replaced by another with the probability that score states, 10^(-Q/10). Each read's profile
/// is shifted by up to 6 either way.
fn simulated_reads(count: usize, length: usize) -> Vec<u8> {
    use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};
    let genome: String = std::fs::read_to_string("datasets/dna/ecoli_k12_256x1kb.fa")
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('>'))
        .collect();
    let genome = genome.as_bytes();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut fastq = Vec::new();
    for read in 1..=count {
        let start = rng.random_range(0..genome.len() - length);
        // Runs and tiles differ: a per-read shift of the quality profile.
        let shift = rng.random_range(-6.0..6.0);
        let mut bases = genome[start..start + length].to_vec();
        let mut qualities = Vec::with_capacity(length);
        for (i, base) in bases.iter_mut().enumerate() {
            let q = (38.0 - 26.0 * i as f64 / length as f64 + shift + rng.random_range(-4.0..4.0))
                .clamp(2.0, 41.0)
                .round();
            if rng.random_bool(10f64.powf(-q / 10.0)) {
                let others: Vec<u8> = b"ACGT".iter().copied().filter(|b| b != base).collect();
                *base = others[rng.random_range(0..3)];
            }
            qualities.push(b'!' + q as u8);
        }
        fastq.extend_from_slice(format!("@read{read} pos={start}\n").as_bytes());
        fastq.extend_from_slice(&bases);
        fastq.extend_from_slice(b"\n+\n");
        fastq.extend_from_slice(&qualities);
        fastq.push(b'\n');
    }
    fastq
}

/// Real reads: 256 Illumina GA reads of 36 bp from Bioconductor's Biostrings (Debian
/// r-bioc-biostrings), Phred+64 qualities. Their mean qualities (computed independently, in
/// Python, when the file was added) run from 14.5 to 27.4, with 5 reads under 20.
#[test]
fn real_illumina_reads_with_their_quality_encoding() {
    let reads = "datasets/dna/illumina_s_1_256reads.fq";
    let printed = ok(&["data", "inspect", reads, "-a", "dna"]);
    assert!(printed.contains("records           256"), "{printed}");
    let printed = ok(&[
        "data",
        "inspect",
        reads,
        "-a",
        "dna",
        "--quality-offset",
        "64",
        "--min-mean-quality",
        "20",
    ]);
    assert!(
        printed.contains("records           251; 5 reads below the minimum mean quality left out"),
        "{printed}"
    );
    // Read as Phred+33 the same characters are 31 higher: nothing falls under 20.
    let printed = ok(&[
        "data",
        "inspect",
        reads,
        "-a",
        "dna",
        "--min-mean-quality",
        "20",
    ]);
    assert!(printed.contains("records           256\n"), "{printed}");
    let error = fails(&[
        "data",
        "inspect",
        reads,
        "-a",
        "dna",
        "--quality-offset",
        "64",
        "--min-mean-quality",
        "30",
    ]);
    assert!(
        error.contains("all 256 reads have a mean quality below 30"),
        "{error}"
    );
}

/// FASTQ(.gz) input: inspect, train and score read it (qualities ignored unless a minimum mean
/// quality is asked for); eval takes reads as the reference.
#[test]
fn fastq_reads_feed_every_command() {
    use std::io::Write;
    let dir = common::tempdir().unwrap();
    let reads = simulated_reads(200, 100);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&reads).unwrap();
    let path = dir.path().join("reads.fq.gz");
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let path = path.to_str().unwrap();
    let printed = ok(&["data", "inspect", path, "-a", "dna", "--seq-len", "100"]);
    assert!(
        printed.contains("(fastq)") && printed.contains("records           200"),
        "{printed}"
    );
    // Reads whose mean quality is under 26 (the simulated mean is about 25) are left out.
    let printed = ok(&[
        "data",
        "inspect",
        path,
        "-a",
        "dna",
        "--seq-len",
        "100",
        "--min-mean-quality",
        "26",
    ]);
    let kept: usize = printed
        .lines()
        .find(|l| l.starts_with("records"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.trim_end_matches(';').replace(',', "").parse().ok())
        .unwrap();
    assert!(kept > 0 && kept < 200, "{printed}");
    assert!(
        printed.contains(&format!(
            "; {} reads below the minimum mean quality left out",
            200 - kept
        )),
        "{printed}"
    );
    let run = dir.path().join("run");
    let printed = ok(&[
        "train",
        path,
        "-a",
        "dna",
        "--seq-len",
        "100",
        "--steps",
        "2",
        "--batch-size",
        "8",
        "--report-samples",
        "0",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(printed.contains("done: 2 steps"), "{printed}");
    let scores = dir.path().join("scores.csv");
    let printed = ok(&[
        "score",
        "--model",
        run.to_str().unwrap(),
        path,
        "--num-t",
        "2",
        "-o",
        scores.to_str().unwrap(),
    ]);
    assert!(printed.contains("200 sequences scored"), "{printed}");
    let fasta = dir.path().join("reads.fa");
    ok(&[
        "data",
        "export",
        path,
        "-a",
        "dna",
        "--seq-len",
        "100",
        "--valid-fraction",
        "0",
        "-o",
        fasta.to_str().unwrap(),
    ]);
    let report = dir.path().join("report");
    let printed = ok(&[
        "eval",
        "--generated",
        fasta.to_str().unwrap(),
        "--reference",
        path,
        "-a",
        "dna",
        "--k",
        "1..3",
        "-o",
        report.to_str().unwrap(),
    ]);
    assert!(printed.contains("k=3"), "{printed}");
}
