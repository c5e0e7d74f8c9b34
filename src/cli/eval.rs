//! `seddbio eval`: generated versus reference sequences, beside the real-vs-real floor.

use std::{
    fmt::Write as _,
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use clap::Args;
use rand::{rngs::ChaCha8Rng, seq::SliceRandom, SeedableRng};
use seddbio::{
    alphabet::{Alphabet, TokenId, TokenizerKind},
    chem::{default_checker, molecule_metrics},
    data::{encode_records, grow_vocabulary, LengthStats, UnknownPolicy},
    eval::{
        diversity, gc_fraction, hit_rate, novelty, pearson, Enrichment, KmerSpectrum, RealFloor,
    },
    io::{
        csv_field, read_sequences, write_atomically, Format, LabelSource, ReadOptions, SequenceFile,
    },
    model::{pooled_bits_per_token, ComputeDevice},
    motif::{read_motifs, PwmScanner},
    plot::{histogram_svg, lines_svg, scatter_log_svg},
    train::{RunDir, TrainedModel, Weights},
};

use super::{choice, data::print_stdout, score::elbo_estimates};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Generated sequences (FASTA, CSV, TSV or SMILES; gzip allowed).
    #[arg(long)]
    pub generated: PathBuf,
    /// Reference (held-out real) sequences.
    #[arg(long)]
    pub reference: PathBuf,
    /// Training sequences: novelty, and the floor (training subsets as large as the generated
    /// set vs the reference) instead of reference subsets vs the rest of the reference.
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Alphabet: dna, rna, protein, smiles, or a TOML file.
    #[arg(long, short = 'a')]
    pub alphabet: String,
    /// k-mer sizes: a range such as 1..6, or one k.
    #[arg(long, default_value = "1..6")]
    pub k: String,
    /// Count a k-mer and its reverse complement as one (DNA, RNA).
    #[arg(long)]
    pub canonical: bool,
    /// Motif file (JASPAR .jaspar or MEME) to scan every set with, both strands.
    #[arg(long)]
    pub motifs: Option<PathBuf>,
    /// Relative PWM score (0-1) a site needs to count as a hit.
    #[arg(long, default_value_t = 0.85)]
    pub motif_threshold: f64,
    /// Instead of --motif-threshold: the p-value a site needs (per site and strand, against
    /// uniform i.i.d. bases), e.g. 1e-4; converted to each motif's own score threshold.
    #[arg(long)]
    pub motif_p_value: Option<f64>,
    /// Motif whose hits per position are profiled and plotted, e.g. MA0108.3.
    #[arg(long)]
    pub motif_profile: Option<String>,
    /// Sequence column of CSV/TSV inputs [default: sequence, seq or smiles].
    #[arg(long)]
    pub column: Option<String>,
    /// Input format of all files [default: from each extension].
    #[arg(long, value_parser = choice::<Format>())]
    pub format: Option<Format>,
    /// Symbols outside the alphabet: error, skip, split or strip.
    #[arg(long, default_value = "error", value_parser = choice::<UnknownPolicy>())]
    pub on_unknown: UnknownPolicy,
    /// Run directory of a trained model: adds the ELBO bound (bits/token) of the reference
    /// (held-out bits/token) and of the generated set under it.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With --model: times per sequence of the stratified ELBO estimate.
    #[arg(long, default_value_t = 16)]
    pub num_t: usize,
    /// With --model: score at most this many sequences of each set (the first ones).
    #[arg(long, default_value_t = 500)]
    pub model_sequences: usize,
    /// Labelled sets (conditional models): the label of each FASTA/FASTQ record, from its
    /// KEY=value word (seddbio's samples carry label=...); adds a label-by-label comparison.
    #[arg(long, value_name = "KEY")]
    pub label_key: Option<String>,
    /// Labelled sets: the label of each CSV/TSV row, from this column (e.g. cell_type); may
    /// be given with --label-key, each file then uses what fits its format.
    #[arg(long, value_name = "COLUMN")]
    pub label_column: Option<String>,
    /// Seed of the floor's random subsets and of --model's ELBO estimate.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report directory: summary.csv, kmer.csv, motifs.csv, sequences.csv and SVG plots.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Print summary.csv's figures as one JSON object (for pipelines) instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// summary.csv as JSON: `{"report": DIR, "metrics": {NAME: {COLUMN: value}}}`, numbers as
/// numbers, empty cells as null.
fn summary_json(out: &Path, summary: &str) -> serde_json::Value {
    let mut lines = summary.lines();
    let columns: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .skip(1)
        .collect();
    let mut metrics = serde_json::Map::new();
    for line in lines {
        let mut cells = line.split(',');
        let Some(name) = cells.next() else { continue };
        let values: serde_json::Map<String, serde_json::Value> = columns
            .iter()
            .zip(cells)
            .map(|(column, cell)| {
                let value = match cell.parse::<f64>() {
                    Ok(v) if v.is_finite() => v.into(),
                    _ if cell.is_empty() => serde_json::Value::Null,
                    _ => cell.into(),
                };
                (column.to_string(), value)
            })
            .collect();
        metrics.insert(name.to_string(), values.into());
    }
    serde_json::json!({ "report": out.display().to_string(), "metrics": metrics })
}

/// Nearest-neighbour identities compare with at most this many training sequences.
const MAX_NEIGHBOURS: usize = 20_000;
/// Pairs used for the mean pairwise identity within a set.
const MAX_PAIRS: usize = 20_000;

fn parse_k(text: &str) -> Result<Vec<usize>> {
    let range = match text.split_once("..") {
        Some((a, b)) => {
            a.trim().parse::<usize>()?..=b.trim().trim_start_matches('=').parse::<usize>()?
        }
        None => {
            let k = text.trim().parse::<usize>()?;
            k..=k
        }
    };
    if range.is_empty() || *range.start() == 0 || *range.end() > 12 {
        bail!("--k {text}: expected k or a range a..b with 1 <= a <= b <= 12");
    }
    Ok(range.collect())
}

/// One statistic of the generated and the reference set: a table row and a summary.csv line.
fn side_by_side(
    table: &mut String,
    summary: &mut String,
    label: &str,
    key: &str,
    generated: f64,
    reference: f64,
) {
    let _ = writeln!(table, "{label:<44}{generated:>12.4}{reference:>12.4}");
    let _ = writeln!(summary, "{key},{generated},{reference}");
}

/// Writes `name` into the report folder, unless that file is one of the inputs (a
/// reference set kept in the report folder under a report file's name would be destroyed).
fn write_text(args: &EvalArgs, name: &str, text: &str) -> Result<()> {
    let path = args.out.join(name);
    let mut inputs = vec![args.generated.as_path(), args.reference.as_path()];
    inputs.extend(args.train.as_deref());
    inputs.extend(args.motifs.as_deref());
    inputs.push(Path::new(&args.alphabet));
    seddbio::io::refuse_overwriting_inputs(&path, &inputs)?;
    write_atomically(&path, |w| Ok(w.write_all(text.as_bytes())?))?;
    Ok(())
}

/// Real-vs-real draws averaged into the k-mer floor.
const FLOOR_DRAWS: usize = 4;

pub fn run(args: EvalArgs) -> Result<()> {
    let ks = parse_k(&args.k).with_context(|| format!("--k {}", args.k))?;
    if !(0.0..=1.0).contains(&args.motif_threshold) {
        bail!(
            "--motif-threshold must be in [0, 1], got {}",
            args.motif_threshold
        );
    }
    if let Some(p) = args.motif_p_value {
        if !(p > 0.0 && p <= 1.0) {
            bail!("--motif-p-value must be in (0, 1], got {p}");
        }
    }
    let mut alphabet = Alphabet::resolve(&args.alphabet)?;
    let options = ReadOptions {
        format: args.format,
        column: args.column.clone(),
        ..ReadOptions::default()
    };
    // Labels by format: KEY=value words in FASTA/FASTQ, a column in CSV/TSV.
    let labelled = args.label_key.is_some() || args.label_column.is_some();
    let read = |path: &Path| {
        let format = args.format.or_else(|| Format::from_path(path));
        let label = match format {
            Some(Format::Csv | Format::Tsv) => args.label_column.clone().map(LabelSource::Column),
            Some(Format::Fasta | Format::Fastq) => args.label_key.clone().map(LabelSource::Key),
            _ => None,
        };
        let options = ReadOptions {
            label,
            ..options.clone()
        };
        read_sequences(path, &options, None)
    };
    let generated_file = read(&args.generated)?;
    let reference_file = read(&args.reference)?;
    let train_file = args.train.as_deref().map(read).transpose()?;
    let complements = if args.canonical {
        Some(alphabet.complements().with_context(|| {
            format!(
                "--canonical needs an alphabet with complements; {} has none",
                alphabet.name()
            )
        })?)
    } else {
        None
    };
    // SMILES: one vocabulary over every set, since evaluation has no model to match.
    let all: Vec<_> = [&generated_file, &reference_file]
        .into_iter()
        .chain(train_file.as_ref())
        .flat_map(|f| f.records.iter().cloned())
        .collect();
    grow_vocabulary(&mut alphabet, &all);
    let encode = |file: &SequenceFile| -> Result<Vec<Vec<TokenId>>> {
        let (records, _) = encode_records(&alphabet, file, args.on_unknown)?;
        Ok(records.into_iter().map(|r| r.tokens).collect())
    };
    let generated = encode(&generated_file)?;
    let reference = encode(&reference_file)?;
    let train = train_file.as_ref().map(encode).transpose()?;
    if generated.is_empty() || reference.len() < 2 {
        bail!("need at least one generated and two reference sequences");
    }

    // The real-vs-real floor, matched to the generated set's size (eval::RealFloor says why).
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let floor_sets = RealFloor::matched(
        generated.len(),
        &reference,
        train.as_deref(),
        FLOOR_DRAWS,
        &mut rng,
    );
    let floor_name = floor_sets.description().to_string();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut table = String::new();
    let mut summary = String::from("metric,generated_vs_reference,real_vs_real_floor\n");
    let _ = writeln!(
        table,
        "generated {} sequences ({}), reference {} ({}), floor: {floor_name}",
        generated.len(),
        args.generated.display(),
        reference.len(),
        args.reference.display()
    );
    let _ = writeln!(
        table,
        "\n{:<8}{:>12}{:>12}{:>10}{:>10}{:>9}{:>9}",
        "k-mers", "JS bits", "floor", "L1", "floor", "r", "floor"
    );
    let mut kmer_csv = String::from("k,canonical,kmer,generated_frequency,reference_frequency\n");
    let n = alphabet.num_symbols();
    for &k in &ks {
        let spectrum =
            |set: &[Vec<TokenId>]| KmerSpectrum::count(set, k, n, complements.as_deref());
        let (g, r) = (spectrum(&generated), spectrum(&reference));
        let model = g.compare(&r);
        let floor = floor_sets.kmer(k, n, complements.as_deref());
        let _ = writeln!(
            table,
            "k={k:<6}{:>12.5}{:>12.5}{:>10.4}{:>10.4}{:>9.4}{:>9.4}",
            model.js_bits, floor.js_bits, model.l1, floor.l1, model.pearson, floor.pearson
        );
        for (name, a, b) in [
            ("js_bits", model.js_bits, floor.js_bits),
            ("l1", model.l1, floor.l1),
            ("pearson", model.pearson, floor.pearson),
        ] {
            let _ = writeln!(summary, "kmer_{k}_{name},{a},{b}");
        }
        let pairs = g.paired_frequencies(&r);
        for &(code, gf, rf) in &pairs {
            let kmer = alphabet.decode(&g.decode(code));
            let _ = writeln!(
                kmer_csv,
                "{k},{},{},{gf},{rf}",
                args.canonical,
                csv_field(&kmer)
            );
        }
        if k == *ks.last().unwrap_or(&k) {
            let points: Vec<(f64, f64)> = pairs.iter().map(|&(_, gf, rf)| (rf, gf)).collect();
            let title = format!(
                "{k}-mer frequencies (JS {:.4} bits, floor {:.4})",
                model.js_bits, floor.js_bits
            );
            write_text(
                &args,
                &format!("kmer_scatter_k{k}.svg"),
                &scatter_log_svg(&points, &title, "reference", "generated"),
            )?;
        }
    }
    write_text(&args, "kmer.csv", &kmer_csv)?;

    // Lengths, GC content, composition.
    let lengths = |set: &[Vec<TokenId>]| set.iter().map(Vec::len).collect::<Vec<_>>();
    let (gl, rl) = (
        LengthStats::new(&lengths(&generated)),
        LengthStats::new(&lengths(&reference)),
    );
    let _ = writeln!(table, "\n{:<44}{:>12}{:>12}", "", "generated", "reference");
    side_by_side(
        &mut table,
        &mut summary,
        "mean length",
        "mean_length",
        gl.mean,
        rl.mean,
    );
    let _ = writeln!(
        table,
        "{:<44}{:>12}{:>12}",
        "length min-max",
        format!("{}-{}", gl.min, gl.max),
        format!("{}-{}", rl.min, rl.max)
    );
    let as_f64 = |v: Vec<usize>| v.into_iter().map(|x| x as f64).collect::<Vec<f64>>();
    let (glf, rlf) = (as_f64(lengths(&generated)), as_f64(lengths(&reference)));
    write_text(
        &args,
        "lengths.svg",
        &histogram_svg(
            &[("generated", &glf), ("reference", &rlf)],
            30,
            "Sequence lengths",
            "tokens",
        ),
    )?;
    let gc_ids: Vec<TokenId> = ["G", "C"].iter().filter_map(|s| alphabet.id(s)).collect();
    let is_nucleotide =
        alphabet.tokenizer() == TokenizerKind::Char && alphabet.complements().is_some();
    let gc = |set: &[Vec<TokenId>]| {
        set.iter()
            .filter_map(|s| gc_fraction(s, &gc_ids))
            .collect::<Vec<f64>>()
    };
    let mut sequence_csv = String::from("set,index,length,gc\n");
    if is_nucleotide {
        let (ggc, rgc) = (gc(&generated), gc(&reference));
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        side_by_side(
            &mut table,
            &mut summary,
            "mean GC fraction",
            "mean_gc",
            mean(&ggc),
            mean(&rgc),
        );
        write_text(
            &args,
            "gc.svg",
            &histogram_svg(
                &[("generated", &ggc), ("reference", &rgc)],
                25,
                "GC content per sequence",
                "GC fraction",
            ),
        )?;
    }
    for (name, set) in [("generated", &generated), ("reference", &reference)] {
        for (i, s) in set.iter().enumerate() {
            let gc_text = if is_nucleotide {
                gc_fraction(s, &gc_ids)
                    .map(|g| g.to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let _ = writeln!(sequence_csv, "{name},{},{},{gc_text}", i + 1, s.len());
        }
    }
    write_text(&args, "sequences.csv", &sequence_csv)?;
    if alphabet.name() == "protein" {
        let composition = |set: &[Vec<TokenId>]| {
            let mut counts = vec![0.0; n];
            let mut total = 0.0;
            for &t in set.iter().flatten() {
                counts[t as usize] += 1.0;
                total += 1.0;
            }
            counts
                .into_iter()
                .map(|c| c / f64::max(total, 1.0))
                .collect::<Vec<f64>>()
        };
        let (gc_, rc) = (composition(&generated), composition(&reference));
        let mut row = String::new();
        for id in 0..n {
            let _ = write!(
                row,
                " {}{:+.1}",
                alphabet.token(id as TokenId).unwrap_or("?"),
                100.0 * (gc_[id] - rc[id])
            );
        }
        let _ = writeln!(
            table,
            "amino-acid composition, generated - reference (percentage points):\n {row}"
        );
    }

    // Novelty and diversity.
    let (g_distinct, g_identity) = diversity(&generated, MAX_PAIRS, args.seed);
    let (r_distinct, r_identity) = diversity(&reference, MAX_PAIRS, args.seed);
    side_by_side(
        &mut table,
        &mut summary,
        "distinct fraction",
        "distinct_fraction",
        g_distinct,
        r_distinct,
    );
    side_by_side(
        &mut table,
        &mut summary,
        "mean pairwise identity",
        "mean_pairwise_identity",
        g_identity,
        r_identity,
    );
    if let Some(train) = &train {
        let mut neighbours = train.clone();
        if neighbours.len() > MAX_NEIGHBOURS {
            neighbours.shuffle(&mut rng);
            neighbours.truncate(MAX_NEIGHBOURS);
        }
        let g = novelty(&generated, train, &neighbours);
        let r = novelty(&reference, train, &neighbours);
        let median = |v: &[f64]| {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            s.get(s.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
        };
        side_by_side(
            &mut table,
            &mut summary,
            "copies of training seqs",
            "copied_fraction",
            g.copied_fraction,
            r.copied_fraction,
        );
        let label = format!(
            "median nearest identity ({} training seqs)",
            neighbours.len()
        );
        side_by_side(
            &mut table,
            &mut summary,
            &label,
            "median_nearest_train_identity",
            median(&g.nearest_identity),
            median(&r.nearest_identity),
        );
        write_text(
            &args,
            "nearest_identity.svg",
            &histogram_svg(
                &[
                    ("generated", &g.nearest_identity),
                    ("reference", &r.nearest_identity),
                ],
                25,
                "Identity to the nearest training sequence",
                "identity",
            ),
        )?;
    }

    if alphabet.tokenizer() == TokenizerKind::Smiles {
        chemistry_report(
            &args,
            &generated_file,
            train_file.as_ref(),
            &mut table,
            &mut summary,
        )?;
    }
    if let Some(model) = &args.model {
        model_report(
            &args,
            model,
            [
                ("generated", &generated_file),
                ("reference", &reference_file),
            ],
            &mut table,
            &mut summary,
        )?;
    }
    if labelled {
        let labels_of = |file: &SequenceFile| -> Vec<Option<String>> {
            file.records.iter().map(|r| r.label.clone()).collect()
        };
        if args.on_unknown != UnknownPolicy::Error {
            bail!("--label-key/--label-column need --on-unknown error (records must stay one to one with their labels)");
        }
        label_report(
            &args,
            &alphabet,
            (&generated, &labels_of(&generated_file)),
            (&reference, &labels_of(&reference_file)),
            complements.as_deref(),
            &ks,
            &mut table,
            &mut summary,
        )?;
    }
    if let Some(motif_path) = &args.motifs {
        motif_report(
            &args,
            motif_path,
            &alphabet,
            &generated,
            &reference,
            &mut table,
            &mut summary,
        )?;
    }
    write_text(&args, "summary.csv", &summary)?;
    if args.json {
        return print_stdout(&format!("{:#}\n", summary_json(&args.out, &summary)));
    }
    let _ = writeln!(table, "\nreport written to {}", args.out.display());
    print_stdout(&table)
}

/// The label-by-label comparison: k-mer spectra against a size-matched floor and motif hit
/// rates per label, and (two labels or more, with --motifs) the motif enrichment between the
/// first two labels, generated against real. Writes `labels.csv` and `enrichment.csv`.
#[allow(clippy::too_many_arguments)]
fn label_report(
    args: &EvalArgs,
    alphabet: &Alphabet,
    generated: (&[Vec<TokenId>], &[Option<String>]),
    reference: (&[Vec<TokenId>], &[Option<String>]),
    complements: Option<&[TokenId]>,
    ks: &[usize],
    table: &mut String,
    summary: &mut String,
) -> Result<()> {
    let subset = |(set, labels): (&[Vec<TokenId>], &[Option<String>]), label: &str| {
        set.iter()
            .zip(labels)
            .filter(|(_, l)| l.as_deref() == Some(label))
            .map(|(s, _)| s.clone())
            .collect::<Vec<_>>()
    };
    let names = |labels: &[Option<String>]| {
        labels
            .iter()
            .flatten()
            .cloned()
            .collect::<std::collections::BTreeSet<String>>()
    };
    let labels: Vec<String> = names(generated.1)
        .intersection(&names(reference.1))
        .cloned()
        .collect();
    if labels.is_empty() {
        bail!("--label-key/--label-column: no label occurs in both the generated and the reference sequences");
    }
    let motifs = match &args.motifs {
        Some(path) => {
            let mut scanners = Vec::new();
            for motif in read_motifs(path)? {
                let scanner = PwmScanner::new(&motif, alphabet)?;
                let threshold = match args.motif_p_value {
                    Some(p) => scanner.relative_threshold_for_p_value(p),
                    None => args.motif_threshold,
                };
                scanners.push((motif, scanner, threshold));
            }
            scanners
        }
        None => Vec::new(),
    };
    let mut csv = String::from("label,statistic,generated,reference,floor\n");
    let _ = writeln!(table, "\nby label:");
    let mut rates: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut sizes = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    for label in &labels {
        let (g, r) = (subset(generated, label), subset(reference, label));
        let floor = RealFloor::matched(g.len(), &r, None, FLOOR_DRAWS, &mut rng);
        let mut line = format!("{label:<12} {} generated, {} reference;", g.len(), r.len());
        for &k in ks {
            let spectrum = |set: &[Vec<TokenId>]| {
                KmerSpectrum::count(set, k, alphabet.num_symbols(), complements)
            };
            let model = spectrum(&g).compare(&spectrum(&r));
            let floor = floor.kmer(k, alphabet.num_symbols(), complements);
            let _ = write!(
                line,
                " {k}-mer JS {:.5} (floor {:.5})",
                model.js_bits, floor.js_bits
            );
            let _ = writeln!(
                csv,
                "{},kmer_{k}_js_bits,{},,{}",
                csv_field(label),
                model.js_bits,
                floor.js_bits
            );
            let _ = writeln!(
                summary,
                "label_{}_kmer_{k}_js_bits,{},{}",
                csv_field(label),
                model.js_bits,
                floor.js_bits
            );
        }
        let _ = writeln!(table, "{line}");
        let per_motif: Vec<(f64, f64)> = motifs
            .iter()
            .map(|(_, scanner, threshold)| {
                (
                    hit_rate(scanner, *threshold, &g),
                    hit_rate(scanner, *threshold, &r),
                )
            })
            .collect();
        for ((motif, _, _), (gr, rr)) in motifs.iter().zip(&per_motif) {
            let _ = writeln!(csv, "{},hit_rate_{},{gr},{rr},", csv_field(label), motif.id);
        }
        rates.push(per_motif);
        sizes.push((g.len(), r.len()));
    }
    if !motifs.is_empty() {
        // The motifs that tell the labels apart most in the real sequences.
        let _ = writeln!(
            table,
            "{:<12}{:<14}{}",
            "motif",
            "name",
            labels
                .iter()
                .map(|l| format!("{:>22}", format!("{l} gen / real")))
                .collect::<String>()
        );
        let mut order: Vec<usize> = (0..motifs.len()).collect();
        let spread = |m: usize| {
            let real: Vec<f64> = rates.iter().map(|r| r[m].1).collect();
            real.iter().copied().fold(f64::MIN, f64::max)
                - real.iter().copied().fold(f64::MAX, f64::min)
        };
        order.sort_by(|&a, &b| spread(b).total_cmp(&spread(a)));
        for &m in order.iter().take(10) {
            let (motif, _, _) = &motifs[m];
            let cells: String = rates
                .iter()
                .map(|r| {
                    format!(
                        "{:>22}",
                        format!("{:.1}% / {:.1}%", 100.0 * r[m].0, 100.0 * r[m].1)
                    )
                })
                .collect();
            let _ = writeln!(table, "{:<12}{:<14}{cells}", motif.id, motif.name);
        }
    }
    if labels.len() >= 2 && !motifs.is_empty() {
        let (a, b) = (0, 1);
        let four: Vec<(f64, f64, f64, f64)> = (0..motifs.len())
            .map(|m| (rates[a][m].0, rates[b][m].0, rates[a][m].1, rates[b][m].1))
            .collect();
        let enrichment =
            Enrichment::from_rates(&four, [sizes[a].0, sizes[b].0, sizes[a].1, sizes[b].1]);
        let mut enrichment_csv =
            String::from("motif,name,generated_log2_ratio,reference_log2_ratio\n");
        for ((motif, _, _), (g, r)) in motifs
            .iter()
            .zip(enrichment.generated.iter().zip(&enrichment.reference))
        {
            let _ = writeln!(
                enrichment_csv,
                "{},{},{g},{r}",
                motif.id,
                csv_field(&motif.name)
            );
        }
        write_text(args, "enrichment.csv", &enrichment_csv)?;
        let _ = writeln!(
            table,
            "motif enrichment {} vs {} (log2 hit-rate ratio), generated against real over {} motifs: r = {:.4}",
            labels[a],
            labels[b],
            motifs.len(),
            enrichment.correlation
        );
        let _ = writeln!(
            summary,
            "label_enrichment_correlation,{},",
            enrichment.correlation
        );
    }
    write_text(args, "labels.csv", &csv)
}

fn motif_report(
    args: &EvalArgs,
    path: &Path,
    alphabet: &Alphabet,
    generated: &[Vec<TokenId>],
    reference: &[Vec<TokenId>],
    table: &mut String,
    summary: &mut String,
) -> Result<()> {
    let motifs = read_motifs(path)?;
    if let Some(id) = &args.motif_profile {
        if !motifs.iter().any(|m| &m.id == id) {
            bail!("{}: no motif {id} (--motif-profile)", path.display());
        }
    }
    let mut csv = String::from("motif,name,consensus,generated_hit_rate,reference_hit_rate\n");
    let mut rates = Vec::with_capacity(motifs.len());
    for motif in &motifs {
        let scanner = PwmScanner::new(motif, alphabet)?;
        let threshold = match args.motif_p_value {
            Some(p) => scanner.relative_threshold_for_p_value(p),
            None => args.motif_threshold,
        };
        let rate = |set: &[Vec<TokenId>]| {
            set.iter()
                .filter(|s| !scanner.scan(s, threshold).is_empty())
                .count() as f64
                / set.len() as f64
        };
        let (g, r) = (rate(generated), rate(reference));
        let _ = writeln!(
            csv,
            "{},{},{},{g},{r}",
            motif.id,
            csv_field(&motif.name),
            motif.consensus()
        );
        rates.push((motif, g, r));
        if args.motif_profile.as_deref() == Some(motif.id.as_str()) {
            let longest = generated
                .iter()
                .chain(reference)
                .map(Vec::len)
                .max()
                .unwrap_or(0);
            let profile = |set: &[Vec<TokenId>]| {
                let mut counts = vec![0.0; longest];
                for s in set {
                    for hit in scanner.scan(s, threshold) {
                        counts[hit.start] += 1.0 / set.len() as f64;
                    }
                }
                counts
            };
            let (gp, rp) = (profile(generated), profile(reference));
            let mut profile_csv =
                String::from("position,generated_hits_per_sequence,reference_hits_per_sequence\n");
            for (i, (a, b)) in gp.iter().zip(&rp).enumerate() {
                let _ = writeln!(profile_csv, "{i},{a},{b}");
            }
            write_text(
                args,
                &format!("motif_profile_{}.csv", motif.id),
                &profile_csv,
            )?;
            let points = |v: &[f64]| {
                v.iter()
                    .enumerate()
                    .map(|(i, &y)| (i as f64, y))
                    .collect::<Vec<_>>()
            };
            let (gpts, rpts) = (points(&gp), points(&rp));
            let title = format!(
                "{} {} hits by start position (relative score >= {threshold:.3})",
                motif.id, motif.name
            );
            write_text(
                args,
                &format!("motif_profile_{}.svg", motif.id),
                &lines_svg(
                    &[("generated", &gpts), ("reference", &rpts)],
                    &title,
                    "0-based start",
                    "hits per sequence",
                ),
            )?;
        }
    }
    write_text(args, "motifs.csv", &csv)?;
    let g: Vec<f64> = rates.iter().map(|x| x.1).collect();
    let r: Vec<f64> = rates.iter().map(|x| x.2).collect();
    let correlation = pearson(&g, &r);
    let rule = match args.motif_p_value {
        Some(p) => format!("p <= {p} per site and strand"),
        None => format!("relative score >= {}", args.motif_threshold),
    };
    let _ = writeln!(table, "\nmotifs: {} from {}, {rule}; hit-rate correlation generated vs reference r = {correlation:.4}", motifs.len(), path.display());
    let _ = writeln!(summary, "motif_hit_rate_correlation,{correlation},");
    rates.sort_by(|a, b| b.2.total_cmp(&a.2));
    let _ = writeln!(
        table,
        "{:<12}{:<12}{:>16}{:>16}",
        "motif", "name", "generated hits", "reference hits"
    );
    for (motif, g, r) in rates.iter().take(12) {
        let _ = writeln!(
            table,
            "{:<12}{:<12}{:>15.1}%{:>15.1}%",
            motif.id,
            motif.name,
            100.0 * g,
            100.0 * r
        );
    }
    Ok(())
}

/// MOSES CharRNN on its test split (Polykovskiy et al. 2020, Table 2), printed beside ours.
const MOSES_CHARRNN: [(&str, f64); 3] = [
    ("validity", 0.975),
    ("uniqueness", 0.999),
    ("novelty", 0.842),
];

/// SMILES: validity, uniqueness and novelty (RDKit when built with it), beside MOSES CharRNN;
/// molecules.csv holds each generated string with its canonical form.
fn chemistry_report(
    args: &EvalArgs,
    generated: &SequenceFile,
    train: Option<&SequenceFile>,
    table: &mut String,
    summary: &mut String,
) -> Result<()> {
    let text = |file: &SequenceFile| -> Vec<String> {
        file.records
            .iter()
            .map(|r| String::from_utf8_lossy(&r.sequence).into_owned())
            .collect()
    };
    let generated_smiles = text(generated);
    let train_smiles = train.map(text);
    let checker = default_checker();
    let metrics = molecule_metrics(&generated_smiles, train_smiles.as_deref(), &*checker);
    let _ = writeln!(
        table,
        "\nmolecules, checked by {}:\n{:<40}{:>12}{:>16}",
        checker.describe(),
        "",
        "generated",
        "MOSES CharRNN"
    );
    let ours = [
        metrics.validity(),
        metrics.uniqueness(),
        if train.is_some() {
            metrics.novelty()
        } else {
            f64::NAN
        },
    ];
    for ((name, charrnn), value) in MOSES_CHARRNN.iter().zip(ours) {
        if value.is_nan() {
            let _ = writeln!(table, "{name:<40}{:>12}{charrnn:>16.3}", "(--train)");
            continue;
        }
        let _ = writeln!(table, "{name:<40}{value:>12.4}{charrnn:>16.3}");
        let key = if checker.is_chemistry() {
            format!("molecule_{name}")
        } else {
            format!("smiles_syntax_{name}")
        };
        let _ = writeln!(summary, "{key},{value},{charrnn}");
    }
    let mut csv = String::from("index,smiles,valid,canonical_smiles\n");
    for (i, (smiles, canonical)) in generated_smiles.iter().zip(&metrics.canonical).enumerate() {
        let _ = writeln!(
            csv,
            "{},{},{},{}",
            i + 1,
            csv_field(smiles),
            canonical.is_some(),
            csv_field(canonical.as_deref().unwrap_or(""))
        );
    }
    write_text(args, "molecules.csv", &csv)
}

/// The ELBO bound of each set under a trained model, encoded with the model's own vocabulary.
fn model_report(
    args: &EvalArgs,
    model: &Path,
    sets: [(&str, &SequenceFile); 2],
    table: &mut String,
    summary: &mut String,
) -> Result<()> {
    if args.num_t == 0 || args.model_sequences == 0 {
        bail!("--num-t and --model-sequences must be at least 1");
    }
    let trained = TrainedModel::load(
        &RunDir::new(model),
        ComputeDevice::Cpu.device()?,
        Weights::Ema,
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut bits = Vec::new();
    for (name, file) in sets {
        let (records, _) = encode_records(&trained.alphabet, file, UnknownPolicy::Error)
            .with_context(|| {
                format!(
                    "encoding the {name} set with the vocabulary of {}",
                    model.display()
                )
            })?;
        let tokens: Vec<&[TokenId]> = records
            .iter()
            .take(args.model_sequences)
            .map(|r| r.tokens.as_slice())
            .filter(|t| t.len() <= trained.spec.seq_len)
            .collect();
        if tokens.is_empty() {
            bail!(
                "{}: no sequence fits the {} positions of the model at {}",
                file.path.display(),
                trained.spec.seq_len,
                model.display()
            );
        }
        let estimates = elbo_estimates(&trained, &tokens, None, args.num_t, 64, &mut rng)?;
        bits.push((pooled_bits_per_token(&estimates), estimates.len()));
    }
    let ((g, g_se), g_n) = bits[0];
    let ((r, r_se), r_n) = bits[1];
    let _ = writeln!(
        table,
        "\nmodel {} (step {}), ELBO bound, {} times/sequence:\n{:<32}{:>18}{:>18}\n{:<32}{:>18}{:>18}",
        model.display(),
        trained.step,
        args.num_t,
        "",
        format!("generated ({g_n})"),
        format!("reference ({r_n})"),
        "bits/token",
        format!("{g:.4}±{g_se:.4}"),
        format!("{r:.4}±{r_se:.4}")
    );
    let _ = writeln!(summary, "model_elbo_bits_per_token,{g},{r}");
    let _ = writeln!(summary, "model_elbo_bits_per_token_se,{g_se},{r_se}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_ranges() {
        assert_eq!(parse_k("1..6").unwrap(), [1, 2, 3, 4, 5, 6]);
        assert_eq!(parse_k("3").unwrap(), [3]);
        assert!(parse_k("0..2").is_err());
        assert!(parse_k("5..2").is_err());
    }
}
