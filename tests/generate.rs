//! `sample`, `infill` and `score` end to end with small models trained here on committed data.

mod common;

use std::path::Path;

use common::{fails, ok, summary_values};

const DNA: &str = "datasets/dna/tiny_ecoli_64x300.fa";
const MOTIFS: &str = "datasets/motifs/tiny_JASPAR2024_12motifs.jaspar";

fn fasta_sequences(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for block in text.split('>').skip(1) {
        let mut lines = block.lines();
        let header = lines.next().unwrap().to_string();
        out.push((header, lines.collect::<String>()));
    }
    out
}

#[test]
fn dna_model_samples_infills_and_scores() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("run");
    let run = run.to_str().unwrap();
    let trained = ok(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--seq-len",
        "60",
        "--steps",
        "20",
        "--batch-size",
        "8",
        "--report-samples",
        "12",
        "--out",
        run,
    ]);
    // The main job ends with samples and their evaluation against the validation examples.
    assert!(
        trained.contains("k=6") && trained.contains("bits/token"),
        "{trained}"
    );
    let run_dir = Path::new(run);
    assert_eq!(fasta_sequences(&run_dir.join("samples.fasta")).len(), 12);
    let summary = std::fs::read_to_string(run_dir.join("report/summary.csv")).unwrap();
    let model_bits = summary_values(&summary, "model_elbo_bits_per_token");
    // A 20-step model is near uniform guessing (2 bits/base) on both sets, and a bound on
    // -log p can never be below 0.
    assert!(
        model_bits[..2]
            .iter()
            .all(|b| b.is_some_and(|b| (1.5..4.0).contains(&b))),
        "{summary}"
    );
    assert_eq!(model_bits[2], None, "no published figure: {summary}");
    assert!(run_dir.join("report/kmer_scatter_k6.svg").exists());

    // Unconditional samples from every sampler, with ids and metadata.
    for sampler in ["euler", "analytic", "first-hitting", "remask"] {
        let out = dir.path().join(format!("{sampler}.fa"));
        let printed = ok(&[
            "sample",
            "--model",
            run,
            "-n",
            "5",
            "--steps",
            "16",
            "--sampler",
            sampler,
            "--seed",
            "3",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(printed.contains("5 sequences written"), "{printed}");
        let records = fasta_sequences(&out);
        assert_eq!(records.len(), 5);
        for (header, sequence) in &records {
            assert_eq!(sequence.len(), 60);
            assert!(sequence.bytes().all(|b| b"ACGT".contains(&b)), "{sequence}");
            assert!(
                header.contains(&format!("sampler={sampler}")) && header.contains("seed=3"),
                "{header}"
            );
        }
        if sampler == "first-hitting" {
            for (header, _) in &records {
                let nfe: usize = header
                    .split("nfe=")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(nfe <= 16, "{header}");
                assert!(header.contains("path_bits="), "{header}");
            }
        }
    }
    // Without --sampler an absorbing model samples with remasking at a cap of 0.1 (its
    // default), and so does the end-of-training report.
    let out = dir.path().join("default.fa");
    ok(&[
        "sample",
        "--model",
        run,
        "-n",
        "2",
        "--steps",
        "16",
        "-o",
        out.to_str().unwrap(),
    ]);
    for (header, _) in fasta_sequences(&out) {
        assert!(
            header.contains("sampler=remask") && header.contains("remask_cap=0.1"),
            "{header}"
        );
    }
    for (header, _) in fasta_sequences(&run_dir.join("samples.fasta")) {
        assert!(header.contains("sampler=remask"), "{header}");
    }

    // The sampler controls reach every record's metadata and the summary line; values out
    // of range are one error line naming the option, before anything is written.
    let out = dir.path().join("controlled.fa");
    let printed = ok(&[
        "sample",
        "--model",
        run,
        "-n",
        "4",
        "--steps",
        "16",
        "--temperature",
        "0.5",
        "--top-p",
        "0.9",
        "--order",
        "confidence",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        printed.contains("temperature 0.5, top-p 0.9, confidence order"),
        "{printed}"
    );
    for (header, _) in fasta_sequences(&out) {
        for word in ["temperature=0.5", "top_p=0.9", "order=confidence"] {
            assert!(header.contains(word), "{header}");
        }
    }
    let refused = dir.path().join("refused.fa");
    for (flags, option) in [
        (&["--temperature", "0"][..], "--temperature"),
        (&["--temperature=-1"], "--temperature"),
        (&["--top-p", "0"], "--top-p"),
        (&["--top-p", "1.5"], "--top-p"),
        (&["--sampler", "euler", "--order", "confidence"], "--order"),
        (&["--sampler", "remask", "--order", "confidence"], "--order"),
        (
            &["--sampler", "remask", "--remask-cap", "2"],
            "--remask-cap",
        ),
    ] {
        let mut args = vec!["sample", "--model", run, "-n", "2", "-o"];
        args.push(refused.to_str().unwrap());
        args.extend_from_slice(flags);
        let err = fails(&args);
        assert_eq!(err.trim().lines().count(), 1, "{flags:?}: {err}");
        assert!(err.contains(option), "{flags:?}: {err}");
        assert!(!refused.exists());
    }

    // NaN is refused where the option is parsed: a usage error naming it.
    let output = common::seddbio(&["sample", "--model", run, "--temperature", "nan"]);
    assert_eq!(output.status.code(), Some(2));
    let err = common::stderr(&output);
    assert!(
        err.contains("'--temperature <TEMPERATURE>': 'nan' is not a finite number"),
        "{err}"
    );

    // The sweep: a row per setting in sweep.csv, the plot, and each setting's samples and
    // report in a folder of its own; a setting it cannot parse is one error line.
    let sweep = dir.path().join("sweep");
    // The run's own held-out windows (60 bp), as the report compared them.
    let held_out = run_dir.join("valid.fasta");
    let held_out = held_out.to_str().unwrap();
    let printed = ok(&[
        "eval",
        "--sweep",
        "model;t=0.5,top-p=0.9",
        "--model",
        run,
        "--reference",
        held_out,
        "-a",
        "dna",
        "--k",
        "1..3",
        "--sweep-samples",
        "6",
        "--num-t",
        "2",
        "-o",
        sweep.to_str().unwrap(),
    ]);
    assert!(printed.contains("sweep of 2 settings"), "{printed}");
    let table = std::fs::read_to_string(sweep.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for column in [
        "setting",
        "nfe_per_sequence",
        "model_elbo_bits_per_token,model_elbo_bits_per_token_real",
        "kmer_3_js_over_floor",
        "mean_pairwise_identity",
    ] {
        assert!(lines[0].contains(column), "{column}: {}", lines[0]);
    }
    assert!(lines[1].starts_with("model,") && lines[2].starts_with("\"t=0.5,top-p=0.9\","));
    assert!(std::fs::read_to_string(sweep.join("sweep.svg"))
        .unwrap()
        .contains("real (held out)"));
    let second = fasta_sequences(&sweep.join("02_t_0.5_top-p_0.9/samples.fasta"));
    assert_eq!(second.len(), 6);
    assert!(second[0].0.contains("temperature=0.5") && second[0].0.contains("top_p=0.9"));
    assert!(sweep.join("01_model/summary.csv").exists());
    let err = fails(&[
        "eval",
        "--sweep",
        "heat=2",
        "--model",
        run,
        "--reference",
        DNA,
        "-a",
        "dna",
        "-o",
        sweep.to_str().unwrap(),
    ]);
    assert!(
        err.contains("heat") && err.trim().lines().count() == 1,
        "{err}"
    );

    // The same seed gives the same sequences.
    let a = dir.path().join("a.fa");
    let b = dir.path().join("b.fa");
    for out in [&a, &b] {
        ok(&[
            "sample",
            "--model",
            run,
            "-n",
            "3",
            "--steps",
            "8",
            "-o",
            out.to_str().unwrap(),
            "--seed",
            "9",
        ]);
    }
    assert_eq!(fasta_sequences(&a), fasta_sequences(&b));

    // Infill: fixed symbols, IUPAC sets and a motif stay as asked.
    let out = dir.path().join("infill.csv");
    let template = "ACGT[MASK:20]RY{motif:MA0108.3}[MASK:10]NNNN";
    ok(&[
        "infill",
        "--model",
        run,
        "--template",
        template,
        "--motifs",
        MOTIFS,
        "-n",
        "6",
        "--steps",
        "16",
        "-o",
        out.to_str().unwrap(),
    ]);
    let motifs = seddbio::motif::read_motifs(Path::new(MOTIFS)).unwrap();
    let tbp = motifs.iter().find(|m| m.id == "MA0108.3").unwrap();
    let width = tbp.width();
    let csv = std::fs::read_to_string(&out).unwrap();
    let sequences: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(sequences.len(), 6);
    for s in sequences {
        assert_eq!(s.len(), 4 + 20 + 2 + width + 10 + 4, "{s}");
        assert!(s.starts_with("ACGT"), "{s}");
        assert!(
            b"AG".contains(&s.as_bytes()[24]) && b"CT".contains(&s.as_bytes()[25]),
            "{s}"
        );
        assert_eq!(&s[26..26 + width], tbp.consensus(), "{s}");
    }
    // A template longer than the model and an unknown motif are refused.
    let long = format!("[MASK:{}]", 61);
    let error = fails(&[
        "infill",
        "--model",
        run,
        "--template",
        &long,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        error.contains("61 positions") && error.contains("60"),
        "{error}"
    );
    let error = fails(&[
        "infill",
        "--model",
        run,
        "--template",
        "A{motif:MA9.1}",
        "--motifs",
        MOTIFS,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        error.contains("position 2") && error.contains("MA9.1"),
        "{error}"
    );
    // The output may not be the template file (a FASTA-named one) or the motif file.
    let template_file = dir.path().join("template.fa");
    std::fs::write(&template_file, "ACG[MASK:4]T\n").unwrap();
    let template_path = template_file.to_str().unwrap();
    for (input, out) in [("--template-file", template_path), ("--motifs", MOTIFS)] {
        let mut args = vec!["infill", "--model", run, "-o", out];
        match input {
            "--motifs" => args.extend(["--template", "ACG[MASK]", "--motifs", MOTIFS]),
            _ => args.extend(["--template-file", template_path]),
        }
        let error = fails(&args);
        assert!(error.contains("would destroy the input"), "{error}");
    }
    assert_eq!(
        std::fs::read_to_string(&template_file).unwrap(),
        "ACG[MASK:4]T\n"
    );
    // Templates from standard input, samples to standard output.
    let (fasta, _) = common::with_stdin(
        &[
            "infill",
            "--model",
            run,
            "--template-file",
            "-",
            "-n",
            "2",
            "--steps",
            "8",
            "-o",
            "-",
        ],
        b">t1\nACG[MASK:4]T\n",
    );
    assert_eq!(fasta.matches('>').count(), 2, "{fasta}");
    let sequences: Vec<&str> = fasta.lines().filter(|l| !l.starts_with('>')).collect();
    assert!(
        sequences
            .iter()
            .all(|s| s.len() == 8 && s.starts_with("ACG") && s.ends_with('T')),
        "{fasta}"
    );
    // Non-ASCII text and absurd mask counts: one error line, no panic, no huge allocation.
    for (template, reason) in [
        ("ACGTé[MASK:5]", "position 5"),
        ("AC[MASK:4000000000]", "more than 1048576 positions"),
    ] {
        let error = fails(&[
            "infill",
            "--model",
            run,
            "--template",
            template,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(error.contains(reason), "{template}: {error}");
    }

    // Score: one row per sequence with a finite bound near 2 bits/base for an untrained-ish model.
    let scores = dir.path().join("scores.csv");
    let input = a.to_string_lossy();
    let score_args = ["score", "--model", run, &input, "--num-t", "8", "-o"];
    let mut to_file = score_args.to_vec();
    to_file.push(scores.to_str().unwrap());
    let printed = ok(&to_file);
    assert!(printed.contains("3 sequences scored"), "{printed}");
    // The same scores as CSV on stdout, the summary as JSON (on stderr, beside the data).
    let mut piped = score_args.to_vec();
    piped.extend(["-", "--json"]);
    let output = common::seddbio(&piped);
    assert!(output.status.success(), "{}", common::stderr(&output));
    assert_eq!(
        common::stdout(&output),
        std::fs::read_to_string(&scores).unwrap()
    );
    let summary: serde_json::Value = serde_json::from_str(&common::stderr(&output)).unwrap();
    assert_eq!(summary["sequences"], 3);
    let pooled = summary["bits_per_token"].as_f64().unwrap();
    assert!(
        printed.contains(&format!("{pooled:.4} ±")),
        "{printed} vs {pooled}"
    );
    // Scoring a file into itself is refused and leaves it intact.
    let before = std::fs::read(&a).unwrap();
    let error = fails(&[
        "score",
        "--model",
        run,
        &a.to_string_lossy(),
        "-o",
        &a.to_string_lossy(),
    ]);
    assert!(error.contains("would destroy the input"), "{error}");
    assert_eq!(std::fs::read(&a).unwrap(), before);
    let rows: Vec<String> = std::fs::read_to_string(&scores)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        rows[0],
        "id,length,elbo_nats,elbo_se_nats,bits_per_token,bits_per_token_se"
    );
    for row in &rows[1..] {
        let bits: f64 = row.split(',').nth(4).unwrap().parse().unwrap();
        assert!(bits > 1.0 && bits < 4.0, "{row}");
    }
}

/// A padded (protein) model samples with remasking unless told otherwise (the default the
/// sweeps of docs/sampling.md chose), in the end-of-run report as in `sample`, pads fixed
/// after each drawn length; the flags still choose any other sampler.
#[test]
fn protein_models_default_to_remasking() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("run");
    let run = run.to_str().unwrap();
    ok(&[
        "train",
        "datasets/protein/tiny_uniprot_128.fasta",
        "-a",
        "protein",
        "--on-unknown",
        "skip",
        "--seq-len",
        "48",
        "--too-long",
        "window",
        "--steps",
        "5",
        "--batch-size",
        "8",
        "--report-samples",
        "3",
        "--out",
        run,
    ]);
    for (header, _) in fasta_sequences(&Path::new(run).join("samples.fasta")) {
        assert!(
            header.contains("sampler=remask") && header.contains("remask_cap=0.1"),
            "{header}"
        );
    }
    for (flags, sampler) in [
        (&[][..], "remask"),
        (&["--sampler", "first-hitting"], "first-hitting"),
    ] {
        let out = dir.path().join(format!("{sampler}.fa"));
        let mut args = vec!["sample", "--model", run, "-n", "2", "--steps", "8", "-o"];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(flags);
        ok(&args);
        for (header, sequence) in fasta_sequences(&out) {
            assert!(header.contains(&format!("sampler={sampler}")), "{header}");
            assert!(
                !sequence.is_empty() && !sequence.contains('<'),
                "{sequence}"
            );
        }
    }
}
