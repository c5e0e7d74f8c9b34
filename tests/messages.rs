//! Error messages say each cause once and where it is, and the pipeline conveniences hold:
//! regression tests for the cases a bad-input matrix found (docs/guide.md, "Reliability").

mod common;

use std::{fs, path::Path};

use common::{fails, ok, seddbio, stderr, stdout};

const DNA: &str = "datasets/dna/tiny_ecoli_64x300.fa";

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

fn gzip(content: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(content).unwrap();
    encoder.finish().unwrap()
}

/// No phrase of at least `words` words appears twice in `line` (a cause said twice).
fn says_each_cause_once(line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    for n in [3, 4, 5] {
        for window in words.windows(n) {
            let phrase = window.join(" ");
            assert!(
                line.matches(&phrase).count() == 1,
                "'{phrase}' twice in: {line}"
            );
        }
    }
}

#[test]
fn read_errors_say_their_cause_once_with_the_record() {
    let dir = common::tempdir().unwrap();
    let d = dir.path();
    let missing = d.join("missing.fa");
    let error = fails(&["data", "inspect", missing.to_str().unwrap(), "-a", "dna"]);
    assert!(error.contains("missing.fa: No such file"), "{error}");
    says_each_cause_once(&error);

    let fasta = b">a\nACGTACGTAC\n>b\nACGTACGTAC\n>c\nACGTAC\n";
    let truncated = gzip(fasta);
    let truncated = write(d, "cut.fa.gz", &truncated[..truncated.len() - 12]);
    let error = fails(&["data", "inspect", &truncated, "-a", "dna"]);
    assert!(error.contains("truncated or corrupt gzip data"), "{error}");
    says_each_cause_once(&error);

    let fastq = write(d, "cut.fq", b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n");
    let error = fails(&["data", "inspect", &fastq, "-a", "dna"]);
    assert!(
        error.contains("cut.fq: read 2: the file ends inside this read"),
        "{error}"
    );
    says_each_cause_once(&error);

    // Bytes that are not UTF-8: shown as bytes, once, at their position.
    let bad = write(
        d,
        "bytes.fa",
        b">a\nAC\xc3\xc3\xffGT\n>b\nACGTAAAA\n>c\nACGTAAAA\n",
    );
    let error = fails(&[
        "data",
        "inspect",
        &bad,
        "-a",
        "dna",
        "--valid-fraction",
        "0.4",
    ]);
    assert!(
        error.contains("record 1 (a): position 3: '\\xc3\\xc3\\xff' is not UTF-8 text"),
        "{error}"
    );
    let summary = ok(&[
        "data",
        "inspect",
        &bad,
        "-a",
        "dna",
        "--valid-fraction",
        "0.4",
        "--on-unknown",
        "strip",
    ]);
    assert!(summary.contains("\\xc3\\xc3\\xff x1"), "{summary}");
    assert!(!summary.contains('\u{fffd}'), "{summary}");
    // A table row that is not one: its line and why, not polars' advice.
    let table = write(d, "ragged.csv", b"id,sequence\nr1,ACGT,x\nr2,ACGT\n");
    let error = fails(&["data", "inspect", &table, "-a", "dna"]);
    assert!(
        error.contains("ragged.csv: line 2: 3 fields, but the header names 2"),
        "{error}"
    );
    let table = write(d, "quote.csv", b"id,sequence\nr1,ACGT\nr2,\"ACG\nr3,ACGT\n");
    let error = fails(&["data", "inspect", &table, "-a", "dna"]);
    assert!(
        error.contains("quote.csv: line 3: a quote opens a field that never closes"),
        "{error}"
    );
    // A character beyond ASCII is one symbol, shown as itself.
    let accent = write(
        d,
        "accent.fa",
        ">a\nACéGT\n>b\nACGTAAAA\n>c\nACGT\n".as_bytes(),
    );
    let error = fails(&[
        "data",
        "inspect",
        &accent,
        "-a",
        "dna",
        "--valid-fraction",
        "0.4",
    ]);
    assert!(
        error.contains("position 3: 'é' is not in the dna alphabet"),
        "{error}"
    );
}

#[test]
fn template_errors_name_the_template_once() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let run = model.to_str().unwrap().to_string();
    let out = dir.path().join("out.fa");
    let out = out.to_str().unwrap();
    let infill = |extra: &[&str]| {
        let mut args = vec!["infill", "--model", &run, "-o", out];
        args.extend_from_slice(extra);
        fails(&args)
    };
    let error = infill(&["--template", "AC[MASK"]);
    assert_eq!(
        error.trim(),
        "error: template 'AC[MASK': position 3: '[MASK' has no closing ']'"
    );
    let error = infill(&["--template", "ACXX"]);
    assert_eq!(
        error.trim(),
        "error: template 'ACXX': position 3: 'X' is not a symbol of the dna alphabet"
    );
    let error = infill(&["--template", "AC-T"]);
    assert!(error.ends_with("alphabet (an alignment gap)\n"), "{error}");
    let file = write(
        dir.path(),
        "templates.fa",
        b">first\nACGT\n>second\nAC[MASK\n",
    );
    let error = infill(&["--template-file", &file]);
    assert!(
        error.contains("templates.fa: record 2 (second): template 'AC[MASK': position 3"),
        "{error}"
    );
    says_each_cause_once(&error);
}

#[test]
fn a_time_budget_needs_its_unit_and_no_validation_writes_no_nan() {
    let dir = common::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    let output = seddbio(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--time-budget",
        "1.5",
        "--out",
        out,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("expected a duration with its unit (s, m, h)"),
        "{}",
        stderr(&output)
    );
    let output = seddbio(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--seq-len",
        "24",
        "--batch-size",
        "4",
        "--steps",
        "2",
        "--valid-fraction",
        "0",
        "--report-samples",
        "0",
        "--out",
        out,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let said = format!("{}{}", stdout(&output), stderr(&output));
    assert!(!said.contains("NaN"), "{said}");
    let metrics = fs::read_to_string(Path::new(out).join("metrics.csv")).unwrap();
    assert!(!metrics.to_lowercase().contains("nan"), "{metrics}");
    assert!(metrics.lines().nth(1).unwrap().ends_with(",,"), "{metrics}");
}

#[test]
fn outputs_default_to_standard_output() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let run = model.to_str().unwrap().to_string();
    let sampled = ok(&["sample", "--model", &run, "-n", "2", "--steps", "4"]);
    assert_eq!(sampled.matches("\n>").count() + 1, 2, "{sampled}");
    assert!(sampled.starts_with(">sample_1 "), "{sampled}");
    let filled = ok(&[
        "infill",
        "--model",
        &run,
        "--template",
        "ACGT[MASK:5]",
        "-n",
        "1",
        "--steps",
        "4",
    ]);
    assert!(filled.starts_with(">template_1_sample_1 "), "{filled}");
    assert!(
        filled.lines().nth(1).unwrap().starts_with("ACGT"),
        "{filled}"
    );
    let to_score = write(dir.path(), "s.fa", b">a\nACGTACGTAAC\n>b\nACGTTTGACCA\n");
    let scores = ok(&["score", &to_score, "--model", &run, "--num-t", "2"]);
    assert!(scores.starts_with("id,length,elbo_nats"), "{scores}");
    assert_eq!(scores.lines().count(), 3, "{scores}");
    // --json alone: one JSON document, the scores inside.
    let json = ok(&[
        "score", &to_score, "--model", &run, "--num-t", "2", "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["sequences"], 2);
    assert_eq!(json["scores"][1]["id"], "b");
    assert!(json["scores"][0]["bits_per_token"].as_f64().unwrap() > 0.0);
    let exported = ok(&[
        "data",
        "export",
        &to_score,
        "-a",
        "dna",
        "--valid-fraction",
        "0.5",
    ]);
    assert!(exported.starts_with(">train_1 split=train"), "{exported}");
}

#[test]
fn resources_and_floats_are_bounded() {
    let output = seddbio(&["--threads", "10000", "data", "inspect", DNA, "-a", "dna"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("10000 threads is more than"),
        "{}",
        stderr(&output)
    );
    let output = seddbio(&[
        "data",
        "inspect",
        "datasets/dna/illumina_s_1_256reads.fq",
        "-a",
        "dna",
        "--min-mean-quality=nan",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("'nan' is not a finite number"),
        "{}",
        stderr(&output)
    );
}

/// A run stopped before its first checkpoint (here: only its run.toml was written) is said to
/// be one, not reported by the file it lacks.
#[test]
fn resuming_a_run_without_a_checkpoint_says_so() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let partial = dir.path().join("partial");
    fs::create_dir(&partial).unwrap();
    fs::copy(model.join("run.toml"), partial.join("run.toml")).unwrap();
    let error = fails(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--seq-len",
        "24",
        "--out",
        partial.to_str().unwrap(),
        "--resume",
    ]);
    assert!(
        error.contains("partial: no checkpoint was ever written"),
        "{error}"
    );
    assert!(!error.contains("alphabet.toml"), "{error}");
}

/// `--id-prefix` names the records; `[MASK:a-b]` draws a gap length per sample, says it in
/// the record and keeps the fixed symbols around it.
#[test]
fn id_prefixes_and_gaps_drawn_per_sample() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let run = model.to_str().unwrap();
    let sampled = ok(&[
        "sample",
        "--model",
        run,
        "-n",
        "2",
        "--steps",
        "2",
        "--id-prefix",
        "k562",
    ]);
    assert!(
        sampled.starts_with(">k562_1 ") && sampled.contains("\n>k562_2 "),
        "{sampled}"
    );
    let output = seddbio(&["sample", "--model", run, "--id-prefix", "a b"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    // Gaps of 2 to 9 around fixed ends, in batches of 5 that mix lengths.
    let filled = ok(&[
        "infill",
        "--model",
        run,
        "--template",
        "ACG[MASK:2-9]TT",
        "-n",
        "40",
        "--steps",
        "4",
        "--batch-size",
        "5",
        "--id-prefix",
        "x",
    ]);
    let mut lengths = std::collections::BTreeSet::new();
    let lines: Vec<&str> = filled.lines().collect();
    assert_eq!(lines.len(), 80, "{filled}");
    for (n, pair) in lines.chunks(2).enumerate() {
        let (header, sequence) = (pair[0], pair[1]);
        assert!(
            header.starts_with(&format!(">template_1_x_{} ", n + 1)),
            "{header}"
        );
        let gap: usize = header
            .split_whitespace()
            .find_map(|w| w.strip_prefix("gaps="))
            .unwrap_or_else(|| panic!("{header}"))
            .parse()
            .unwrap();
        assert!((2..=9).contains(&gap), "{header}");
        assert_eq!(sequence.len(), 3 + gap + 2, "{header}\n{sequence}");
        assert!(
            sequence.starts_with("ACG") && sequence.ends_with("TT"),
            "{sequence}"
        );
        lengths.insert(gap);
    }
    // Forty uniform draws from eight lengths miss one with probability below 0.005 each.
    assert!(lengths.len() >= 6, "{lengths:?}");
    let error = fails(&["infill", "--model", run, "--template", "A[MASK:9-3]"]);
    assert!(error.contains("[MASK:a-b] with 1 <= a <= b"), "{error}");
    let error = fails(&["infill", "--model", run, "--template", "A[MASK:3-30]"]);
    assert!(error.contains("has up to 31 positions"), "{error}");
}

/// `--split-column` takes the split from a table; `data inspect -T` prints a row per file.
#[test]
fn a_split_column_and_a_table_of_files() {
    let dir = common::tempdir().unwrap();
    let table = write(
        dir.path(),
        "sets.csv",
        b"id,sequence,set\nr1,ACGTACGTAC,train\nr2,ACGTTTGACC,train\nr3,GGGCCCAATT,valid\nr4,ACGTAAAACC,test\n",
    );
    let base = [
        "data",
        "inspect",
        &table,
        "-a",
        "dna",
        "--split-column",
        "set",
    ];
    let summary = ok(&[&base[..], &["--skip-value", "test"]].concat());
    assert!(
        summary.contains("column set: train trains, valid validates; 1 rows of test left out"),
        "{summary}"
    );
    assert!(summary.contains("train             2 records"), "{summary}");
    assert!(summary.contains("validation        1 records"), "{summary}");
    let error = fails(&base);
    assert!(
        error.contains(
            "sets.csv: line 5 (record 4, record_4): column 'set' says 'test', which is neither"
        ) && error.contains("--skip-value"),
        "{error}"
    );
    let error = fails(&[&base[..], &["--skip-value", "test", "--valid-value", "dev"]].concat());
    assert!(error.contains("column 'set' says 'valid'"), "{error}");
    let error = fails(&["data", "inspect", DNA, "-a", "dna", "--split-column", "set"]);
    assert!(
        error.contains("a split column needs CSV or TSV input"),
        "{error}"
    );

    let rows = ok(&["data", "inspect", "-T", DNA, &table, "-a", "dna"]);
    let rows: Vec<Vec<&str>> = rows.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows[0],
        ["file", "format", "type", "num_seqs", "sum_len", "min_len", "avg_len", "max_len"]
    );
    assert_eq!(
        rows[1][1..],
        ["fasta", "dna", "64", "19200", "300", "300.0", "300"]
    );
    assert_eq!(rows[2][1..], ["csv", "dna", "4", "40", "10", "10.0", "10"]);
}
