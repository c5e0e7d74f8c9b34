//! Variant effects from the command line: `score --wild-type SEQ --variants FILE` with both
//! estimators against the exact log-likelihood ratios of the distribution a model was trained
//! on, and the errors a user meets (docs/design.md, §16).

mod common;

use std::path::Path;

use common::{fails, ok, tempdir};
use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};

const BASES: [char; 4] = ['A', 'C', 'G', 'T'];
const LEN: usize = 8;

/// A first-order Markov chain over ACGT with strong, unequal preferences: the start
/// distribution and the transition rows.
fn chain() -> ([f64; 4], [[f64; 4]; 4]) {
    (
        [0.55, 0.25, 0.15, 0.05],
        [
            [0.05, 0.70, 0.15, 0.10],
            [0.10, 0.05, 0.75, 0.10],
            [0.60, 0.10, 0.05, 0.25],
            [0.30, 0.30, 0.30, 0.10],
        ],
    )
}

/// `ln p(x)` under [`chain`]; its probabilities sum to 1 over all 4^8 sequences (checked).
fn log_p(x: &[usize]) -> f64 {
    let (start, step) = chain();
    start[x[0]].ln() + x.windows(2).map(|w| step[w[0]][w[1]].ln()).sum::<f64>()
}

fn draw(rng: &mut ChaCha8Rng) -> Vec<usize> {
    let (start, step) = chain();
    let pick = |p: &[f64; 4], rng: &mut ChaCha8Rng| {
        let u: f64 = rng.random();
        let mut total = 0.0;
        p.iter()
            .position(|&q| {
                total += q;
                u < total
            })
            .unwrap_or(3)
    };
    let mut x = vec![pick(&start, rng)];
    while x.len() < LEN {
        let last = x[x.len() - 1];
        x.push(pick(&step[last], rng));
    }
    x
}

fn text(x: &[usize]) -> String {
    x.iter().map(|&b| BASES[b]).collect()
}

/// Ranks with ties averaged, for Spearman's correlation.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        for &k in &order[i..=j] {
            r[k] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let mean = (a.len() as f64 - 1.0) / 2.0;
    let cov: f64 = ra
        .iter()
        .zip(&rb)
        .map(|(x, y)| (x - mean) * (y - mean))
        .sum();
    // Ties change a side's variance: each side has its own.
    let var = |r: &[f64]| r.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
    cov / (var(&ra) * var(&rb)).sqrt()
}

/// The score column of `score --variants`'s CSV, by mutation.
fn scores(csv: &str) -> Vec<(String, f64)> {
    csv.lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[0].to_string(), cells[1].parse().unwrap())
        })
        .collect()
}

/// A model trained on 4,000 draws of [`chain`] ranks all 24 single mutants of a likely wild
/// type as the exact ratios `ln p(mutant) - ln p(wild type)` do, under both estimators, and
/// agrees with their sign wherever the effect is larger than a nat.
#[test]
fn both_estimators_rank_mutants_as_the_exact_likelihood_ratio_does() {
    let total: f64 = (0..4usize.pow(LEN as u32))
        .map(|code| {
            let x: Vec<usize> = (0..LEN).map(|i| code >> (2 * i) & 3).collect();
            log_p(&x).exp()
        })
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");

    let dir = tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    let fasta: String = (0..4000)
        .map(|i| format!(">s{i}\n{}\n", text(&draw(&mut rng))))
        .collect();
    let data = dir.path().join("chain.fa");
    std::fs::write(&data, fasta).unwrap();
    let run = dir.path().join("model");
    ok(&[
        "train",
        data.to_str().unwrap(),
        "-a",
        "dna",
        "--seq-len",
        "8",
        "--batch-size",
        "128",
        "--steps",
        "600",
        "--lr",
        "3e-3",
        "--report-samples",
        "0",
        "--seed",
        "3",
        "--out",
        run.to_str().unwrap(),
    ]);

    // The chain's most likely path is A C G A C G A C; mutate every position to every base.
    let wild = [0, 1, 2, 0, 1, 2, 0, 1];
    let mut lines = String::new();
    let mut exact = Vec::new();
    for i in 0..LEN {
        for b in (0..4).filter(|&b| b != wild[i]) {
            lines.push_str(&format!("{}{}{}\n", BASES[wild[i]], i + 1, BASES[b]));
            let mut mutant = wild.to_vec();
            mutant[i] = b;
            exact.push(log_p(&mutant) - log_p(&wild));
        }
    }
    let variants = dir.path().join("variants.txt");
    std::fs::write(&variants, lines).unwrap();
    for estimator in ["masked-marginal", "elbo-difference"] {
        let csv = ok(&[
            "score",
            "--model",
            run.to_str().unwrap(),
            "--wild-type",
            &text(&wild),
            "--variants",
            variants.to_str().unwrap(),
            "--estimator",
            estimator,
            "--num-t",
            "512",
        ]);
        let named = scores(&csv);
        let estimated: Vec<f64> = named.iter().map(|(_, s)| *s).collect();
        assert_eq!(estimated.len(), 24);
        judge_with_eval(dir.path(), &csv, &named, &exact);
        let rho = spearman(&estimated, &exact);
        assert!(
            rho > 0.85,
            "{estimator}: Spearman {rho}\n{csv}\nexact {exact:.3?}"
        );
        for (e, x) in estimated.iter().zip(&exact) {
            if x.abs() > 1.0 {
                assert_eq!(
                    e.signum(),
                    x.signum(),
                    "{estimator}: {e} against exact {x}\n{csv}"
                );
            }
        }
    }
}

/// `eval --variants` on a score table against the exact effects as measurements: its
/// Spearman's rho is this file's, and its AUROC for the class of mild effects (exact > -2
/// nats) is the share of (mild, severe) pairs the scores order rightly.
fn judge_with_eval(dir: &Path, csv: &str, named: &[(String, f64)], exact: &[f64]) {
    let scores_path = write(dir, "scores.csv", csv);
    let mut labels = String::from("mutant,fitness,class\n");
    for ((name, _), x) in named.iter().zip(exact) {
        let class = if *x > -2.0 { "mild" } else { "severe" };
        labels.push_str(&format!("{name},{x},{class}\n"));
    }
    let labels_path = write(dir, "labels.csv", &labels);
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--variants", &scores_path, "--labels", &labels_path];
        args.extend(extra);
        ok(&args)
    };
    let estimated: Vec<f64> = named.iter().map(|(_, s)| *s).collect();
    let table = eval(&["--effect-column", "fitness"]);
    let row = table.lines().find(|l| l.starts_with("score_nats")).unwrap();
    let rho: f64 = row.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!((rho - spearman(&estimated, exact)).abs() < 1e-4, "{table}");
    let table = eval(&["--effect-column", "class", "--positive", "mild"]);
    let row = table.lines().find(|l| l.starts_with("score_nats")).unwrap();
    let auc: f64 = row.split_whitespace().nth(3).unwrap().parse().unwrap();
    let (mut right, mut pairs) = (0.0, 0.0);
    for (a, xa) in estimated.iter().zip(exact) {
        for (b, xb) in estimated.iter().zip(exact) {
            if *xa > -2.0 && *xb <= -2.0 {
                pairs += 1.0;
                right += if a > b {
                    1.0
                } else if a == b {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    assert!((auc - right / pairs).abs() < 1e-4, "{table}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn bad_variants_are_one_clear_error_each() {
    let dir = tempdir().unwrap();
    let run = common::one_step_model(dir.path());
    let run = run.to_str().unwrap();
    fn score<'a>(
        run: &'a str,
        wild: &'a str,
        variants: &'a str,
        extra: &[&'a str],
    ) -> Vec<&'a str> {
        let mut args = vec![
            "score",
            "--model",
            run,
            "--wild-type",
            wild,
            "--variants",
            variants,
        ];
        args.extend(extra);
        args
    }
    let list = write(dir.path(), "v.txt", "A1C\nG2A\n");
    // The wild type has C at position 2.
    let error = fails(&score(run, "ACGT", &list, &[]));
    assert!(
        error.contains("v.txt: line 2: G2A: position 2 is C in the wild type, not G"),
        "{error}"
    );
    let malformed = write(dir.path(), "m.txt", "A1C\nA2\n");
    let error = fails(&score(run, "ACGT", &malformed, &[]));
    assert!(
        error.contains("m.txt: line 2: A2: 'A2' is not a mutation like H24A or H24A:P25G"),
        "{error}"
    );
    // Positions past the end stop the run, or are counted and left out when asked.
    let far = write(dir.path(), "far.txt", "A1C\nT9A\n");
    let error = fails(&score(run, "ACGT", &far, &[]));
    assert!(
        error.contains(
            "far.txt: line 2: T9A: position 9 is past the wild type's end (its residues are 1..4)"
        ),
        "{error}"
    );
    let output = common::seddbio(&score(run, "ACGT", &far, &["--skip-out-of-range"]));
    assert!(output.status.success());
    let (out, err) = (common::stdout(&output), common::stderr(&output));
    assert_eq!(scores(&out).len(), 1, "{out}");
    assert!(err.contains("1 outside the wild type left out"), "{err}");
    // A scan table with an offset: residue 10 of the file is the wild type's first.
    let table = write(
        dir.path(),
        "dms.csv",
        "mutant,fitness\nA10C,0.5\nC11G:G12T,-1.2\n",
    );
    let out = ok(&score(run, "ACGT", &table, &["--offset", "10"]));
    let names: Vec<String> = scores(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["A10C", "C11G:G12T"]);
    // A wild type longer than the model's sequences.
    let long = "A".repeat(5000);
    let first = write(dir.path(), "first.txt", "A1C\n");
    let error = fails(&score(run, &long, &first, &[]));
    assert!(
        error.contains("the wild type has 5000 residues, more than the model's"),
        "{error}"
    );
    // The wild type's letters and the new letters must be the model's.
    let error = fails(&score(run, "ACGU", &list, &[]));
    assert!(
        error.contains("wild type: 'U' is not in the model's alphabet (dna)"),
        "{error}"
    );
    let stop = write(dir.path(), "stop.txt", "A1*\n");
    let error = fails(&score(run, "ACGT", &stop, &[]));
    assert!(
        error.contains("stop.txt: line 1: A1*: '*' is not in the model's alphabet"),
        "{error}"
    );
    // A table without a mutation column names the columns it has.
    let plain = write(dir.path(), "plain.csv", "name,fitness\nx,1\n");
    let error = fails(&score(run, "ACGT", &plain, &[]));
    assert!(
        error.contains("no column named 'mutant' (columns: name, fitness)"),
        "{error}"
    );
}

/// `--reweight`: 30 copies of one sequence count once beside 10 unrelated ones (11 effective
/// sequences), an alignment with a short row is refused naming it, and a run records its
/// weighting and refuses to resume without it.
#[test]
fn homolog_reweighting_counts_a_cluster_once() {
    let dir = tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let letters = b"ACDEFGHIKLMNPQRSTVWY";
    let mut random_row = || -> String {
        (0..30)
            .map(|_| letters[rng.random_range(0..20)] as char)
            .collect()
    };
    let common = random_row();
    let mut fasta: String = (0..30).map(|i| format!(">copy{i}\n{common}\n")).collect();
    for i in 0..10 {
        // Gaps and lowercase insertions (A2M) as a family alignment has them.
        let row = random_row();
        fasta.push_str(&format!(">other{i}\n{}-{}kl\n", &row[..10], &row[11..]));
    }
    let aligned = write(dir.path(), "family.a2m.fa", &fasta);
    fn inspect<'a>(path: &'a str, theta: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "data",
            "inspect",
            path,
            "-a",
            "protein",
            "--on-unknown",
            "strip",
        ];
        args.extend(["--reweight", theta]);
        args.extend(extra);
        args
    }
    let json = ok(&inspect(
        &aligned,
        "0.2",
        &["--valid-fraction", "0", "--json"],
    ));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["effective_sequences"], 11.0, "{json}");
    assert_eq!(value["reweight_theta"], 0.2);
    assert_eq!(value["insertions_dropped"], 0);
    assert_eq!(value["lengths"]["max"], 31, "the insertions kept: {json}");
    let json = ok(&inspect(
        &aligned,
        "0.2",
        &["--valid-fraction", "0", "--json", "--insertions", "drop"],
    ));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["insertions_dropped"], 20);
    assert_eq!(value["lengths"]["max"], 30, "match columns only: {json}");
    assert_eq!(value["effective_sequences"], 11.0);

    let ragged = write(dir.path(), "ragged.fa", &format!("{fasta}>short\nACDEF\n"));
    let error = fails(&inspect(&ragged, "0.2", &[]));
    assert!(
        error.contains("ragged.fa: record 41 (short): this row has 5 match columns, the first 30 (homolog reweighting needs aligned rows)"),
        "{error}"
    );
    let error = fails(&inspect(&aligned, "1", &[]));
    assert!(error.contains("theta 1: not in [0, 1)"), "{error}");

    let run = dir.path().join("run");
    let run = run.to_str().unwrap();
    fn train<'a>(aligned: &'a str, run: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "train",
            aligned,
            "-a",
            "protein",
            "--on-unknown",
            "strip",
            "--valid-fraction",
            "0",
            "--steps",
            "4",
            "--batch-size",
            "8",
            "--report-samples",
            "0",
            "--out",
            run,
        ];
        args.extend(extra);
        args
    }
    ok(&train(&aligned, run, &["--reweight", "0.2"]));
    let spec = std::fs::read_to_string(Path::new(run).join("run.toml")).unwrap();
    assert!(
        spec.contains("[reweight]\ntheta = 0.2\neffective_sequences = 11.0"),
        "{spec}"
    );
    let error = fails(&train(&aligned, run, &["--resume"]));
    assert!(
        error.contains("does not give the examples the run was trained on (another file, split, --valid or --reweight)"),
        "{error}"
    );
}

/// The site-independent baseline on an alignment whose rows are all far apart (weight 1 each),
/// so that every column probability is a count one can read off: `(n + 1) / (n_column + 20)`.
/// The wild type overhangs the alignment and has a residue (`W`) in an insertion.
#[test]
fn site_independent_baseline_scores_by_column_counts() {
    let dir = tempdir().unwrap();
    // Match columns ACDEFG / ACDKLM / ACNKLW / SC-EFG (the `q` is an A2M insertion).
    let alignment = write(
        dir.path(),
        "family.a2m",
        ">a\nACDEFG\n>b\nACDKLM\n>c\nACNKLW\n>d\nSC-EqFG\n",
    );
    let variants = write(dir.path(), "variants.txt", "A2S\nD4N\nE6K\nG8W\nA2S:G8W\n");
    // `baseline site-independent ALIGNMENT --wild-type MACDWEFGK --variants FILE ...`.
    fn site<'a>(alignment: &'a str, variants: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["baseline", "site-independent", alignment];
        args.extend(["--wild-type", "MACDWEFGK", "--variants", variants]);
        args.extend_from_slice(extra);
        args
    }
    let output = common::seddbio(&site(&alignment, &variants, &[]));
    assert!(output.status.success(), "{}", common::stderr(&output));
    let site_scores = scores(&common::stdout(&output));
    let ln = f64::ln;
    let expected = [
        ("A2S", ln(2.0 / 4.0)),
        ("D4N", ln(2.0 / 3.0)),
        ("E6K", 0.0),
        ("G8W", ln(2.0 / 3.0)),
        ("A2S:G8W", ln(2.0 / 4.0) + ln(2.0 / 3.0)),
    ];
    assert_eq!(site_scores.len(), expected.len());
    for ((name, score), (want_name, want)) in site_scores.iter().zip(expected) {
        assert_eq!(name, want_name);
        assert!(
            (score - want).abs() < 1e-6,
            "{name}: {score} against {want}"
        );
    }
    let summary = common::stderr(&output);
    assert!(
        summary.contains("family.a2m (4 rows, 4.0 effective at theta 0.2): residues 2..8 (the variants' numbering), 6 of them on a column, 6 identical to the consensus"),
        "{summary}"
    );

    // The inserted W and the overhanging M lie on no column.
    let off = write(dir.path(), "off.txt", "A2S\nW5A\nM1A\n");
    let error = fails(&site(&alignment, &off, &[]));
    assert!(
        error.contains("off.txt: line 2: W5A: position 5 is on no match column of the alignment (the wild type's residues 2..8 are placed on it)"),
        "{error}"
    );
    let output = common::seddbio(&site(&alignment, &off, &["--skip-out-of-range"]));
    assert!(output.status.success(), "{}", common::stderr(&output));
    assert_eq!(scores(&common::stdout(&output)).len(), 1);
    let summary = common::stderr(&output);
    assert!(
        summary.contains("2 outside the wild type or off the alignment left out"),
        "{summary}"
    );

    // A model of the family's sequences (gaps stripped) sees the wild type's residues on match
    // columns only, ACDEFG: under an order-0 chain of the four rows (A three times and S once
    // among their letters) A2S scores ln(1.5 / 3.5); the inserted W is off the alignment.
    let markov = |variants: &str| {
        common::seddbio(&[
            "baseline",
            "markov",
            &alignment,
            "-a",
            "protein",
            "--on-unknown",
            "strip",
            "--valid",
            &alignment,
            "--order",
            "0",
            "--wild-type",
            "MACDWEFGK",
            "--variants",
            variants,
            "--align-to",
            &alignment,
        ])
    };
    let output = markov(&variants);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let summary = common::stderr(&output);
    assert!(
        summary.contains("variants of a 6-residue wild type"),
        "{summary}"
    );
    let (name, score) = scores(&common::stdout(&output))[0].clone();
    assert_eq!(name, "A2S");
    assert!((score - f64::ln(1.5 / 3.5)).abs() < 1e-6, "{score}");
    let output = markov(&off);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        common::stderr(&output).contains("W5A: position 5 is on no match column"),
        "{}",
        common::stderr(&output)
    );

    let ragged = write(dir.path(), "ragged.fa", ">a\nACDEFG\n>b\nACD\n");
    let error = fails(&site(&ragged, &variants, &[]));
    assert!(
        error.contains("ragged.fa: record 2 (b): this row has 3 match columns, the first 6 (the site-independent model needs aligned rows)"),
        "{error}"
    );
}

/// `baseline markov --wild-type --variants`: under an order-0 chain a substitution scores the
/// log ratio of its letters' smoothed training counts, `(n_b + 0.5) / (n_a + 0.5)`.
#[test]
fn markov_baseline_scores_variants_by_its_counts() {
    let dir = tempdir().unwrap();
    // A 7, C 4, G 2, T 3 in training; the held-out file only picks no order here.
    let train = write(dir.path(), "train.fa", ">1\nAAAACCGT\n>2\nAAACCGTT\n");
    let valid = write(dir.path(), "valid.fa", ">v\nACGTACGT\n");
    let variants = write(dir.path(), "variants.txt", "A1C\nT4G\nA1C:T4G\n");
    let csv = ok(&[
        "baseline",
        "markov",
        &train,
        "-a",
        "dna",
        "--layout",
        "padded",
        "--valid",
        &valid,
        "--order",
        "0",
        "--wild-type",
        "ACGT",
        "--variants",
        &variants,
    ]);
    assert!(
        csv.lines()
            .all(|l| l.ends_with(",estimator") || l.ends_with(",markov-order-0")),
        "{csv}"
    );
    let ln = f64::ln;
    let expected = [ln(4.5 / 7.5), ln(2.5 / 3.5), ln(4.5 / 7.5) + ln(2.5 / 3.5)];
    for ((name, score), want) in scores(&csv).iter().zip(expected) {
        assert!(
            (score - want).abs() < 1e-6,
            "{name}: {score} against {want}"
        );
    }
    let error = fails(&[
        "baseline",
        "markov",
        &train,
        "-a",
        "dna",
        "--wild-type",
        "ACGT",
        "--variants",
        &variants,
        "-n",
        "3",
        "--out",
        "samples.fa",
    ]);
    assert!(error.contains("give one of them"), "{error}");
}

/// `eval --variants A --variants B` names each column after its file and compares them on the
/// variants both score.
#[test]
fn eval_compares_score_files_on_their_shared_variants() {
    let dir = tempdir().unwrap();
    let a = write(
        dir.path(),
        "model.csv",
        "mutation,score_nats\nK2R,0.5\nT3A,-1\nG4C,-2\nD5E,0.1\n",
    );
    let b = write(
        dir.path(),
        "site.csv",
        "mutation,score_nats\nT3A,-2\nG4C,-1\nD5E,3\n",
    );
    let labels = write(
        dir.path(),
        "labels.csv",
        "mutant,fitness\nK2R,1\nT3A,0.5\nG4C,-1\nD5E,0.8\n",
    );
    let table = ok(&[
        "eval",
        "--variants",
        &a,
        "--variants",
        &b,
        "--labels",
        &labels,
        "--effect-column",
        "fitness",
    ]);
    // Rows end `variants, statistic, value, [low, high]`.
    let rho = |column: &str| -> f64 {
        let row = table.lines().find(|l| l.starts_with(column)).unwrap();
        let mut cells = row.split_whitespace().rev().skip(2);
        let value = cells.next().unwrap().parse().unwrap();
        assert_eq!(cells.nth(1), Some("3"), "{table}");
        value
    };
    // On T3A, G4C, D5E: model -1, -2, 0.1 against 0.5, -1, 0.8 ranks alike (rho 1); the site
    // file -2, -1, 3 swaps the first two (rho 0.5).
    assert_eq!(rho("model"), 1.0);
    assert_eq!(rho("site"), 0.5);
    assert!(
        table.contains("paired differences, the first column minus each other"),
        "{table}"
    );
    assert_eq!(rho("model - site"), 0.5);
    assert!(
        table.contains("compared on the 3 variants every score column has"),
        "{table}"
    );
}
