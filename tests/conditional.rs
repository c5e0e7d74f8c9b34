//! Conditional models end to end: labels in (a TSV column, FASTA `KEY=value` words), sampling
//! and infilling under a label with guidance, the conditional bound and the likelihood
//! classifier, and the refusals.

mod common;

use std::path::Path;

use common::{fails, ok};

/// A two-label toy: `first` sequences use only A and C, `second` ones only G and T (24 bases,
/// a seeded linear congruential generator picks each base).
fn toy_rows(count: usize) -> Vec<(String, &'static str, String)> {
    let mut state: u64 = 12345;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) & 1 == 1
    };
    (0..count)
        .map(|i| {
            let (label, pair) = match i % 2 {
                0 => ("first", [b'A', b'C']),
                _ => ("second", [b'G', b'T']),
            };
            let sequence: String = (0..24).map(|_| pair[usize::from(next())] as char).collect();
            (format!("r{i}"), label, sequence)
        })
        .collect()
}

/// `rows` as the toy's table: id, group (the label) and sequence columns.
fn toy_table(rows: &[&(String, &'static str, String)]) -> String {
    let mut text = String::from("id\tgroup\tsequence\n");
    for (id, label, sequence) in rows {
        text.push_str(&format!("{id}\t{label}\t{sequence}\n"));
    }
    text
}

/// `train` on the toy table `file` (its label and id columns) into `out` without the report,
/// then `extra`.
fn toy_training<'a>(file: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let options = ["-a", "dna", "--label-column", "group", "--id-column", "id"];
    common::train_args(file, &options, out, extra)
}

/// FASTA records as (header, sequence).
fn fasta(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split('>')
        .skip(1)
        .map(|block| {
            let mut lines = block.lines();
            let header = lines.next().unwrap().to_string();
            (header, lines.collect())
        })
        .collect()
}

/// The fraction of bases drawn from `allowed` over all sequences.
fn fraction_in(records: &[(String, String)], allowed: &str) -> f64 {
    let bases: String = records.iter().map(|(_, s)| s.as_str()).collect();
    bases.chars().filter(|c| allowed.contains(*c)).count() as f64 / bases.len() as f64
}

#[test]
fn a_two_label_toy_is_learned_and_sampled_under_each_label() {
    let dir = common::tempdir().unwrap();
    let rows = toy_rows(300);
    let table = dir.path().join("toy.tsv");
    std::fs::write(&table, toy_table(&rows.iter().collect::<Vec<_>>())).unwrap();
    let run = dir.path().join("run");
    let run = run.to_str().unwrap();
    let trained = ok(&toy_training(
        table.to_str().unwrap(),
        run,
        &[
            "--steps",
            "150",
            "--batch-size",
            "16",
            // More null-label examples than the default 0.1, for the null label's check below.
            "--label-dropout",
            "0.3",
        ],
    ));
    assert!(
        trained.contains("conditional: 2 labels (first, second)"),
        "{trained}"
    );
    let spec = std::fs::read_to_string(Path::new(run).join("run.toml")).unwrap();
    assert!(spec.contains(r#"labels = ["first", "second"]"#), "{spec}");
    assert!(spec.contains("label_dropout = 0.3"), "{spec}");

    // Each label's samples keep to its two bases; the null label mixes both groups.
    for (label, allowed) in [("first", "AC"), ("second", "GT")] {
        let out = dir.path().join(format!("{label}.fa"));
        ok(&[
            "sample",
            "--model",
            run,
            "-n",
            "20",
            "--label",
            label,
            "--seed",
            "4",
            "-o",
            out.to_str().unwrap(),
        ]);
        let records = fasta(&out);
        assert_eq!(records.len(), 20);
        assert!(records
            .iter()
            .all(|(h, _)| h.contains(&format!("label={label} guidance=0"))));
        let inside = fraction_in(&records, allowed);
        assert!(inside > 0.95, "{label}: {inside} of the bases in {allowed}");
    }
    // eval label by label: the samples' labels from their FASTA words, the real ones from
    // the table's column.
    let both = dir.path().join("both.fa");
    let joined: String = ["first", "second"]
        .iter()
        .map(|l| std::fs::read_to_string(dir.path().join(format!("{l}.fa"))).unwrap())
        .collect();
    std::fs::write(&both, joined).unwrap();
    let report = dir.path().join("report");
    let printed = ok(&[
        "eval",
        "--generated",
        both.to_str().unwrap(),
        "--reference",
        table.to_str().unwrap(),
        "-a",
        "dna",
        "--k",
        "1..2",
        "--label-key",
        "label",
        "--label-column",
        "group",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(
        printed.contains("first        20 generated, 150 reference;"),
        "{printed}"
    );
    let labels = std::fs::read_to_string(report.join("labels.csv")).unwrap();
    for label in ["first", "second"] {
        let row = labels
            .lines()
            .find(|l| l.starts_with(&format!("{label},kmer_1_js_bits,")))
            .unwrap_or_else(|| panic!("{labels}"));
        // Each label's composition is its own: near its real sequences' (within 0.05 bits).
        let js: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
        assert!(js < 0.05, "{row}");
    }
    let mixed = dir.path().join("null.fa");
    ok(&[
        "sample",
        "--model",
        run,
        "-n",
        "40",
        "-o",
        mixed.to_str().unwrap(),
    ]);
    // Under the null label each sample still keeps to one group, and both groups occur.
    let records = fasta(&mixed);
    assert!(records
        .iter()
        .all(|(h, _)| h.ends_with("label=null guidance=0")));
    let groups: Vec<f64> = records
        .iter()
        .map(|r| fraction_in(std::slice::from_ref(r), "AC"))
        .collect();
    let (ac, gt) = (
        groups.iter().filter(|&&f| f > 0.9).count(),
        groups.iter().filter(|&&f| f < 0.1).count(),
    );
    assert!(
        ac >= 4 && gt >= 4 && ac + gt >= 36,
        "null label: {groups:?}"
    );

    // Guidance 0 is conditional sampling exactly; guidance 3 is another draw, still on label.
    let draw = |extra: &[&str], name: &str| {
        let out = dir.path().join(name);
        let mut args = vec![
            "sample",
            "--model",
            run,
            "-n",
            "10",
            "--label",
            "second",
            "--seed",
            "9",
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ok(&args);
        fasta(&out)
    };
    let plain = draw(&[], "plain.fa");
    assert_eq!(draw(&["--guidance", "0"], "zero.fa"), plain);
    let guided = draw(&["--guidance", "3"], "three.fa");
    assert!(guided.iter().all(|(h, _)| h.contains("guidance=3")));
    assert!(fraction_in(&guided, "GT") > 0.95);

    // Infilling under a label: fixed positions stay, the free ones follow the label.
    let infilled = dir.path().join("infill.fa");
    ok(&[
        "infill",
        "--model",
        run,
        "--template",
        "GG[MASK:22]",
        "--label",
        "second",
        "--guidance",
        "1",
        "-n",
        "10",
        "-o",
        infilled.to_str().unwrap(),
    ]);
    let records = fasta(&infilled);
    assert!(records
        .iter()
        .all(|(h, s)| s.starts_with("GG") && h.contains("label=second guidance=1")));
    assert!(fraction_in(&records, "GT") > 0.95);

    // The likelihood classifier gets the toy right; the conditional bound under the true
    // label is far below the one under the other label.
    let classified = dir.path().join("classes.csv");
    let printed = ok(&[
        "score",
        "--model",
        run,
        table.to_str().unwrap(),
        "--classify",
        "--label-column",
        "group",
        "--id-column",
        "id",
        "--num-t",
        "4",
        "-o",
        classified.to_str().unwrap(),
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert!(json["accuracy"].as_f64().unwrap() > 0.95, "{printed}");
    let csv = std::fs::read_to_string(&classified).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "id,length,label,predicted,posterior_first,posterior_second,bits_per_token_first,bits_per_token_second"
    );
    let first_row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(first_row[..4], ["r0", "24", "first", "first"]);
    let (under_first, under_second): (f64, f64) =
        (first_row[6].parse().unwrap(), first_row[7].parse().unwrap());
    assert!(
        under_first < 1.5 && under_second > under_first + 1.0,
        "{first_row:?}"
    );
    let under = |label: &str| {
        let printed = ok(&[
            "score",
            "--model",
            run,
            table.to_str().unwrap(),
            "--label",
            label,
            "--num-t",
            "4",
            "-o",
            "-",
            "--json",
            "-q",
        ]);
        printed
    };
    assert!(under("first").contains("bits_per_token"));

    // A fine-tuning run must keep the source's labels.
    let error = fails(&[
        "train",
        table.to_str().unwrap(),
        "-a",
        "dna",
        "--steps",
        "1",
        "--report-samples",
        "0",
        "--init-from",
        run,
        "--out",
        dir.path().join("tuned").to_str().unwrap(),
    ]);
    assert!(
        error.contains("its labels [first, second] are not the new run's []"),
        "{error}"
    );
    // Data with one of its labels fine-tune it under that label, keeping both (and resume);
    // a label it lacks is named with its record.
    let first_only = dir.path().join("first.tsv");
    let text = toy_table(
        &rows
            .iter()
            .filter(|(_, l, _)| *l == "first")
            .collect::<Vec<_>>(),
    );
    std::fs::write(&first_only, &text).unwrap();
    let third = dir.path().join("third.tsv");
    std::fs::write(&third, text.replacen("\tfirst\t", "\tthird\t", 1)).unwrap();
    let tuned = dir.path().join("tuned_first");
    let (first_only, tuned) = (first_only.to_str().unwrap(), tuned.to_str().unwrap());
    ok(&toy_training(
        first_only,
        tuned,
        &["--steps", "2", "--init-from", run],
    ));
    ok(&toy_training(
        first_only,
        tuned,
        &["--steps", "3", "--resume"],
    ));
    let spec = std::fs::read_to_string(Path::new(tuned).join("run.toml")).unwrap();
    assert!(spec.contains(r#"labels = ["first", "second"]"#), "{spec}");
    let samples = dir.path().join("tuned_second.fa");
    ok(&[
        "sample",
        "--model",
        tuned,
        "-n",
        "2",
        "--label",
        "second",
        "-o",
        samples.to_str().unwrap(),
    ]);
    let tuned_third = dir.path().join("tuned_third");
    let error = fails(&toy_training(
        third.to_str().unwrap(),
        tuned_third.to_str().unwrap(),
        &["--steps", "1", "--init-from", run],
    ));
    assert!(
        error.contains("label 'third' is not one of the model's labels (first, second)"),
        "{error}"
    );

    // Refusals: an unknown label, a label without --label, and a model without labels.
    let error = fails(&[
        "sample", "--model", run, "-n", "1", "--label", "third", "-o", "x.fa",
    ]);
    assert!(
        error.contains("label 'third' is not one of the model's labels: first, second"),
        "{error}"
    );
    // (--guidance without --label is a usage error, which clap reports with its exit code 2.)
    let output = common::seddbio(&[
        "sample",
        "--model",
        run,
        "-n",
        "1",
        "--guidance",
        "2",
        "-o",
        "x.fa",
    ]);
    let error = common::stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{error}");
    assert!(error.contains("--label <LABEL>"), "{error}");
}

#[test]
fn labels_come_from_fasta_descriptions_and_unlabelled_models_refuse_them() {
    let dir = common::tempdir().unwrap();
    let fasta_in = dir.path().join("labelled.fa");
    let mut text = String::new();
    for (id, label, sequence) in toy_rows(40) {
        text.push_str(&format!(">{id} source=toy cell_type={label}\n{sequence}\n"));
    }
    std::fs::write(&fasta_in, &text).unwrap();
    let printed = ok(&[
        "data",
        "inspect",
        fasta_in.to_str().unwrap(),
        "-a",
        "dna",
        "--label-key",
        "cell_type",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let labels = json["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0]["label"], "first");
    let counted: u64 = labels
        .iter()
        .map(|l| l["train_examples"].as_u64().unwrap() + l["valid_examples"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 40);

    // A record without the key is an error naming it.
    let broken = dir.path().join("broken.fa");
    std::fs::write(&broken, text.replacen("cell_type=second", "kind=second", 1)).unwrap();
    let error = fails(&[
        "data",
        "inspect",
        broken.to_str().unwrap(),
        "-a",
        "dna",
        "--label-key",
        "cell_type",
    ]);
    assert!(
        error.contains("record 2 (r1): no label: its description has no 'cell_type=value' word"),
        "{error}"
    );
    // A missing label column is named with the columns there are.
    let table = dir.path().join("t.csv");
    std::fs::write(&table, "sequence,kind\nACGT,a\n").unwrap();
    let error = fails(&[
        "data",
        "inspect",
        table.to_str().unwrap(),
        "-a",
        "dna",
        "--label-column",
        "cell_type",
    ]);
    assert!(error.contains("cell_type"), "{error}");

    // A file per class: the file names are the labels, errors name the file they are in.
    let (ac, gt) = (dir.path().join("AC_rich.fa"), dir.path().join("GT_rich.fa"));
    let per_label = |label: &str| -> String {
        toy_rows(40)
            .into_iter()
            .filter(|(_, l, _)| *l == label)
            .map(|(id, _, s)| format!(">{id}\n{s}\n"))
            .collect()
    };
    std::fs::write(&ac, per_label("first")).unwrap();
    std::fs::write(&gt, per_label("second")).unwrap();
    let run_files = dir.path().join("files");
    let printed = ok(&[
        "train",
        ac.to_str().unwrap(),
        gt.to_str().unwrap(),
        "--label-per-file",
        "-a",
        "dna",
        "--steps",
        "2",
        "--report-samples",
        "0",
        "--out",
        run_files.to_str().unwrap(),
    ]);
    assert!(
        printed.contains("conditional: 2 labels (AC_rich, GT_rich)"),
        "{printed}"
    );
    let spec = std::fs::read_to_string(run_files.join("run.toml")).unwrap();
    assert!(
        spec.contains(r#"labels = ["AC_rich", "GT_rich"]"#),
        "{spec}"
    );
    // The card's examples sample and infill under a label of the model's.
    let card = std::fs::read_to_string(run_files.join("MODEL.md")).unwrap();
    for command in ["seddbio sample", "seddbio infill"] {
        let line = card.lines().find(|l| l.starts_with(command)).unwrap();
        assert!(line.contains(" --label AC_rich "), "{line}");
    }
    std::fs::write(&gt, ">bad\nACGTN\n").unwrap();
    let error = fails(&[
        "data",
        "inspect",
        ac.to_str().unwrap(),
        gt.to_str().unwrap(),
        "--label-per-file",
        "-a",
        "dna",
    ]);
    assert!(
        error.contains("GT_rich.fa: record 1 (bad): position 5"),
        "{error}"
    );

    // A model trained without labels refuses --label and --classify.
    let run = dir.path().join("plain");
    let run = run.to_str().unwrap();
    ok(&[
        "train",
        fasta_in.to_str().unwrap(),
        "-a",
        "dna",
        "--steps",
        "2",
        "--report-samples",
        "0",
        "--out",
        run,
    ]);
    let error = fails(&[
        "sample", "--model", run, "-n", "1", "--label", "first", "-o", "x.fa",
    ]);
    assert!(
        error.contains("the model was trained without labels"),
        "{error}"
    );
    let error = fails(&[
        "score",
        "--model",
        run,
        fasta_in.to_str().unwrap(),
        "--classify",
        "-o",
        "x.csv",
    ]);
    assert!(error.contains("trained without labels"), "{error}");
}
