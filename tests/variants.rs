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
        error.contains("ragged.fa: record 41 (short): homolog reweighting needs aligned rows: this one has 5 match columns, the first 30"),
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
