//! `--shard K/N`: for sample, infill, score (plain, --classify, --variants) and eval's
//! per-sequence table, the N outputs concatenated in shard order (CSV: one header) are
//! byte-identical to one run with the same seed, for N = 1, 3 and more shards than items.

mod common;

use std::path::Path;

use common::{ok, one_step_model, one_step_run, tempdir};

/// Shard counts every command is checked with: one, three, and more than the items.
const SHARD_COUNTS: [usize; 3] = [1, 3, 12];

/// Batch sizes of the whole run and of the shards.
const BATCH_4: [&str; 2] = ["--batch-size", "4"];
const BATCH_3: [&str; 2] = ["--batch-size", "3"];

/// The concatenation of files in order: FASTA as `cat` does, CSV as
/// `awk 'FNR > 1 || NR == 1'` does (the first header only; an empty file adds nothing).
fn gather(paths: &[std::path::PathBuf], csv: bool) -> String {
    let mut out = String::new();
    for path in paths {
        let text = std::fs::read_to_string(path).unwrap();
        let skip = usize::from(csv && !out.is_empty());
        out.extend(text.split_inclusive('\n').skip(skip));
    }
    out
}

/// Runs `args` once whole (with `whole_extra`) into `dir/whole.EXT` and, for each shard
/// count, once per shard (with `shard_extra`, e.g. another batch size) into `dir/N_K.EXT`;
/// asserts that the gathered shards equal the whole run. Returns the whole output.
fn check_shards(
    dir: &Path,
    args: &[&str],
    whole_extra: &[&str],
    extension: &str,
    shard_extra: &[&str],
) -> String {
    let csv = extension == "csv";
    let whole_path = dir.join(format!("whole.{extension}"));
    let mut whole_args = args.to_vec();
    whole_args.extend(whole_extra);
    whole_args.extend(["-o", whole_path.to_str().unwrap()]);
    ok(&whole_args);
    let whole = std::fs::read_to_string(&whole_path).unwrap();
    for count in SHARD_COUNTS {
        let paths: Vec<std::path::PathBuf> = (0..count)
            .map(|k| {
                let path = dir.join(format!("{count}_{k}.{extension}"));
                let shard = format!("{k}/{count}");
                let mut shard_args = args.to_vec();
                shard_args.extend(shard_extra);
                shard_args.extend(["--shard", &shard, "-o", path.to_str().unwrap()]);
                ok(&shard_args);
                path
            })
            .collect();
        assert_eq!(gather(&paths, csv), whole, "{args:?} in {count} shards");
    }
    whole
}

#[test]
fn sampled_shards_add_up_to_one_run() {
    let dir = tempdir().unwrap();
    let model = one_step_model(dir.path());
    let model = model.to_str().unwrap();
    for sampler in ["remask", "first-hitting", "euler"] {
        let sub = dir.path().join(sampler);
        std::fs::create_dir(&sub).unwrap();
        let args = [
            "sample",
            "--model",
            model,
            "-n",
            "10",
            "--steps",
            "16",
            "--seed",
            "5",
            "--sampler",
            sampler,
        ];
        // The shards sample in batches of 3, the whole run in 4: a sequence is the same in any
        // batch.
        let whole = check_shards(&sub, &args, &BATCH_4, "fasta", &BATCH_3);
        let ids: Vec<&str> = whole.lines().filter(|l| l.starts_with('>')).collect();
        assert_eq!(ids.len(), 10);
        assert!(ids[9].starts_with(">sample_10 "), "{}", ids[9]);
    }
    // CSV output, with a header per shard.
    let sub = dir.path().join("csv");
    std::fs::create_dir(&sub).unwrap();
    let args = [
        "sample", "--model", model, "-n", "5", "--steps", "8", "--seed", "2",
    ];
    check_shards(&sub, &args, &[], "csv", &[]);
}

#[test]
fn padded_models_draw_the_same_lengths_in_every_shard() {
    let dir = tempdir().unwrap();
    let run = one_step_run(
        dir.path(),
        "datasets/protein/tiny_uniprot_128.fasta",
        &[
            "-a",
            "protein",
            "--on-unknown",
            "skip",
            "--seq-len",
            "64",
            "--too-long",
            "window",
        ],
    );
    let args = [
        "sample",
        "--model",
        run.to_str().unwrap(),
        "-n",
        "7",
        "--steps",
        "8",
        "--seed",
        "3",
        "--sampler",
        "first-hitting",
    ];
    let whole = check_shards(dir.path(), &args, &BATCH_4, "fasta", &["--batch-size", "2"]);
    let lengths: std::collections::BTreeSet<usize> = whole
        .lines()
        .filter(|l| !l.starts_with('>'))
        .map(str::len)
        .collect();
    assert!(lengths.len() > 1, "lengths drawn per sequence: {lengths:?}");
}

#[test]
fn infilled_shards_add_up_to_one_run_across_templates() {
    let dir = tempdir().unwrap();
    let model = one_step_model(dir.path());
    let templates = dir.path().join("templates.fa");
    std::fs::write(
        &templates,
        ">first\nACG[MASK:3-6]TT[MASK:4]\n>second\n[MASK:2]RYN[MASK:5-8]\n",
    )
    .unwrap();
    let args = [
        "infill",
        "--model",
        model.to_str().unwrap(),
        "--template-file",
        templates.to_str().unwrap(),
        "-n",
        "4",
        "--steps",
        "8",
        "--seed",
        "9",
    ];
    let whole = check_shards(dir.path(), &args, &[], "fasta", &BATCH_3);
    let ids: Vec<&str> = whole
        .lines()
        .filter_map(|l| l.strip_prefix('>'))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "first_sample_1",
            "first_sample_2",
            "first_sample_3",
            "first_sample_4",
            "second_sample_1",
            "second_sample_2",
            "second_sample_3",
            "second_sample_4"
        ]
    );
}

#[test]
fn scored_shards_add_up_to_one_run() {
    let dir = tempdir().unwrap();
    let model = one_step_model(dir.path());
    let model = model.to_str().unwrap();
    // Ten records of three lengths: the scores group them by length.
    let records = dir.path().join("records.fa");
    let mut fasta = String::new();
    for i in 0..10 {
        let length = [24, 17, 9][i % 3];
        let sequence: String = (0..length)
            .map(|j| b"ACGT"[(i * 7 + j * 3) % 4] as char)
            .collect();
        fasta.push_str(&format!(">r{i}\n{sequence}\n"));
    }
    std::fs::write(&records, fasta).unwrap();
    let args = [
        "score",
        "--model",
        model,
        records.to_str().unwrap(),
        "--num-t",
        "4",
        "--seed",
        "11",
    ];
    let whole = check_shards(dir.path(), &args, &[], "csv", &["--batch-size", "5"]);
    assert_eq!(whole.lines().count(), 11, "{whole}");

    // Variants: every variant is scored with the same times and noise.
    let variants = dir.path().join("variants.txt");
    let wild = "ACGTACGTACGTACGTACGT";
    let mut lines = String::new();
    for i in 0..wild.len() {
        let base = wild.as_bytes()[i] as char;
        let to = if base == 'A' { 'C' } else { 'A' };
        lines.push_str(&format!("{base}{}{to}\n", i + 1));
    }
    std::fs::write(&variants, lines).unwrap();
    for estimator in ["masked-marginal", "elbo-difference"] {
        let sub = dir.path().join(estimator);
        std::fs::create_dir(&sub).unwrap();
        let args = [
            "score",
            "--model",
            model,
            "--wild-type",
            wild,
            "--variants",
            variants.to_str().unwrap(),
            "--estimator",
            estimator,
            "--num-t",
            "4",
        ];
        check_shards(&sub, &args, &[], "csv", &["--batch-size", "7"]);
    }
}

#[test]
fn classified_shards_add_up_to_one_run() {
    let dir = tempdir().unwrap();
    let data = dir.path().join("labelled.fa");
    let mut fasta = String::new();
    for i in 0..24 {
        let label = ["a", "b"][i % 2];
        let sequence: String = (0..16)
            .map(|j| b"ACGT"[(i + j * (i % 3 + 1)) % 4] as char)
            .collect();
        fasta.push_str(&format!(">s{i} label={label}\n{sequence}\n"));
    }
    std::fs::write(&data, fasta).unwrap();
    let run = one_step_run(
        dir.path(),
        data.to_str().unwrap(),
        &["-a", "dna", "--label-key", "label", "--seq-len", "16"],
    );
    let args = [
        "score",
        "--model",
        run.to_str().unwrap(),
        data.to_str().unwrap(),
        "--classify",
        "--label-key",
        "label",
        "--num-t",
        "3",
    ];
    let whole = check_shards(dir.path(), &args, &[], "csv", &["--batch-size", "5"]);
    assert_eq!(whole.lines().count(), 25, "{whole}");
}

#[test]
fn per_sequence_evaluations_add_up_to_one_run() {
    let dir = tempdir().unwrap();
    let model = one_step_model(dir.path());
    let generated = dir.path().join("generated.fa");
    ok(&[
        "sample",
        "--model",
        model.to_str().unwrap(),
        "-n",
        "10",
        "--steps",
        "8",
        "-o",
        generated.to_str().unwrap(),
    ]);
    let args = [
        "eval",
        "--generated",
        generated.to_str().unwrap(),
        "-a",
        "dna",
        "--model",
        model.to_str().unwrap(),
        "--num-t",
        "4",
        "--train",
        "datasets/dna/tiny_ecoli_64x300.fa",
    ];
    // The whole run is the table of `--shard 0/1`.
    let whole = check_shards(dir.path(), &args, &["--shard", "0/1"], "csv", &[]);
    let header = whole.lines().next().unwrap();
    assert_eq!(
        header,
        "index,id,length,gc,bits_per_token,bits_per_token_se,in_training,nearest_training_identity"
    );
    assert_eq!(whole.lines().count(), 11);
}

#[test]
fn bad_shards_are_one_clear_error() {
    let dir = tempdir().unwrap();
    let model = one_step_model(dir.path());
    let out = dir.path().join("x.fa");
    for (shard, expected) in [
        ("3/3", "shards count from 0"),
        ("0/0", "0 shards"),
        ("x", "is not K/N"),
    ] {
        let output = common::seddbio(&[
            "sample",
            "--model",
            model.to_str().unwrap(),
            "--shard",
            shard,
            "-o",
            out.to_str().unwrap(),
        ]);
        let error = common::stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{error}");
        assert!(error.contains("--shard <K/N>"), "{error}");
        assert!(error.contains(expected), "{shard}: {error}");
    }
}
