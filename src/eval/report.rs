//! The evaluation report: generated sequences against real ones, every statistic beside the
//! real-vs-real floor, rendered as a table (what `seddbio eval` prints), `summary.csv` (one row
//! per statistic: generated, then reference or floor) and the files of the report folder
//! (k-mer frequencies, per-sequence figures, motif rates, plots).

use std::{fmt::Write as _, path::PathBuf};

use rand::{rngs::ChaCha8Rng, seq::SliceRandom, SeedableRng};

use super::{
    diversity, gc_fraction, hit_rate, novelty, pearson, Enrichment, KmerSpectrum, RealFloor,
};
use crate::{
    alphabet::{Alphabet, TokenId, TokenizerKind},
    chem::{default_checker, molecule_metrics},
    data::{encode_records, grow_vocabulary, LengthStats, UnknownPolicy},
    io::{csv_field, SequenceFile},
    model::pooled_bits_per_token,
    motif::{Motif, PwmScanner},
    plot::{histogram_svg, lines_svg, scatter_log_svg},
    run::TrainedModel,
    Error, Result,
};

/// Real-vs-real draws averaged into the k-mer floor.
pub const FLOOR_DRAWS: usize = 4;

/// Nearest-neighbour identities compare with at most this many training sequences.
const MAX_NEIGHBOURS: usize = 20_000;
/// Pairs used for the mean pairwise identity within a set.
const MAX_PAIRS: usize = 20_000;

/// Motifs to scan every set with, and the file they came from (named in the report).
#[derive(Debug, Clone)]
pub struct MotifSet {
    /// The motifs.
    pub motifs: Vec<Motif>,
    /// Their file.
    pub source: PathBuf,
}

/// What the report computes beyond k-mers, lengths, GC, novelty and diversity.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// k-mer sizes.
    pub ks: Vec<usize>,
    /// Count a k-mer and its reverse complement as one.
    pub canonical: bool,
    /// Motifs to scan with (hit rates, their correlation, per-label enrichment).
    pub motifs: Option<MotifSet>,
    /// Relative PWM score (0-1) a site needs, unless `motif_p_value` is given.
    pub motif_threshold: f64,
    /// The p-value a site needs instead (per site and strand, against uniform bases).
    pub motif_p_value: Option<f64>,
    /// A motif whose hits are profiled by position.
    pub motif_profile: Option<String>,
    /// Compare label by label (the records' labels, as read).
    pub labelled: bool,
    /// Seed of the floor's draws and of the model's ELBO estimate.
    pub seed: u64,
    /// How unknown symbols were handled when encoding (labels need `Error`).
    pub on_unknown: UnknownPolicy,
}

/// The bound of each set under a trained model, as part of the report.
pub struct ModelCheck<'a> {
    /// The model.
    pub trained: &'a TrainedModel,
    /// How the report names it (its run directory).
    pub name: String,
    /// Times per sequence.
    pub num_t: usize,
    /// Sequences of each set to score.
    pub max_sequences: usize,
    /// Called with the sequences scored so far.
    pub progress: &'a mut dyn FnMut(usize),
}

/// Files of the report folder, by name, with their contents.
#[derive(Debug, Clone, Default)]
pub struct Files(pub Vec<(String, String)>);

impl Files {
    fn file(&mut self, name: &str, text: &str) {
        self.0.push((name.to_string(), text.to_string()));
    }

    /// Writes every file into `dir` (created if need be), each atomically; refuses to write
    /// over any of `inputs` (a reference set kept in the report folder under a report file's
    /// name would be destroyed).
    pub fn write(&self, dir: &std::path::Path, inputs: &[&std::path::Path]) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        for (name, text) in &self.0 {
            let path = dir.join(name);
            crate::io::refuse_overwriting_inputs(&path, inputs)?;
            crate::io::write_atomically(&path, |w| {
                use std::io::Write;
                Ok(w.write_all(text.as_bytes())?)
            })?;
        }
        Ok(())
    }
}

/// A finished report.
#[derive(Debug, Clone)]
pub struct Report {
    /// The table `seddbio eval` prints.
    pub table: String,
    /// `summary.csv`: `metric,generated_vs_reference,real_vs_real_floor`.
    pub summary: String,
    /// The other files of the report folder (CSV tables and SVG plots).
    pub files: Files,
}

impl Report {
    /// Writes the report folder `dir` as [`Files::write`] does: every file, then
    /// `summary.csv`.
    pub fn write(&self, dir: &std::path::Path, inputs: &[&std::path::Path]) -> Result<()> {
        self.files.write(dir, inputs)?;
        Files(vec![("summary.csv".into(), self.summary.clone())]).write(dir, inputs)
    }
}

/// Compares `generated_file` with `reference_file` (and `train_file`: novelty, and the floor
/// from training subsets) in `alphabet` (grown by the sets' tokens for SMILES), with the
/// options' extras and the bound under `model`.
pub fn evaluate(
    mut alphabet: Alphabet,
    generated_file: &SequenceFile,
    reference_file: &SequenceFile,
    train_file: Option<&SequenceFile>,
    options: &ReportOptions,
    model: Option<&mut ModelCheck<'_>>,
) -> Result<Report> {
    let labelled = options.labelled;
    let mut out = Files::default();
    let complements = match options.canonical {
        true => Some(alphabet.complements().ok_or_else(|| {
            Error::Options(format!(
                "canonical k-mers need an alphabet with complements; {} has none",
                alphabet.name()
            ))
        })?),
        false => None,
    };
    // SMILES: one vocabulary over every set, since evaluation has no model to match.
    let all: Vec<_> = [generated_file, reference_file]
        .into_iter()
        .chain(train_file)
        .flat_map(|f| f.records.iter().cloned())
        .collect();
    grow_vocabulary(&mut alphabet, &all);
    let encode = |file: &SequenceFile| -> Result<Vec<Vec<TokenId>>> {
        let (records, _) = encode_records(&alphabet, file, options.on_unknown)?;
        Ok(records.into_iter().map(|r| r.tokens).collect())
    };
    let generated = encode(generated_file)?;
    let reference = encode(reference_file)?;
    let train = train_file.map(encode).transpose()?;
    if generated.is_empty() || reference.len() < 2 {
        return Err(Error::Options(
            "need at least one generated and two reference sequences".into(),
        ));
    }

    // The real-vs-real floor, matched to the generated set's size (eval::RealFloor says why).
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let floor_sets = RealFloor::matched(
        generated.len(),
        &reference,
        train.as_deref(),
        FLOOR_DRAWS,
        &mut rng,
    );
    let floor_name = floor_sets.description().to_string();

    let mut table = String::new();
    let mut summary = String::from("metric,generated_vs_reference,real_vs_real_floor\n");
    let _ = writeln!(
        table,
        "generated {} sequences ({}), reference {} ({}), floor: {floor_name}",
        generated.len(),
        generated_file.path.display(),
        reference.len(),
        reference_file.path.display()
    );
    let _ = writeln!(
        table,
        "\n{:<8}{:>12}{:>12}{:>10}{:>10}{:>9}{:>9}",
        "k-mers", "JS bits", "floor", "L1", "floor", "r", "floor"
    );
    let mut kmer_csv = String::from("k,canonical,kmer,generated_frequency,reference_frequency\n");
    let n = alphabet.num_symbols();
    for &k in &options.ks {
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
                options.canonical,
                csv_field(&kmer)
            );
        }
        if k == *options.ks.last().unwrap_or(&k) {
            let points: Vec<(f64, f64)> = pairs.iter().map(|&(_, gf, rf)| (rf, gf)).collect();
            let title = format!(
                "{k}-mer frequencies (JS {:.4} bits, floor {:.4})",
                model.js_bits, floor.js_bits
            );
            out.file(
                &format!("kmer_scatter_k{k}.svg"),
                &scatter_log_svg(&points, &title, "reference", "generated"),
            );
        }
    }
    out.file("kmer.csv", &kmer_csv);

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
    out.file(
        "lengths.svg",
        &histogram_svg(
            &[("generated", &glf), ("reference", &rlf)],
            30,
            "Sequence lengths",
            "tokens",
        ),
    );
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
        out.file(
            "gc.svg",
            &histogram_svg(
                &[("generated", &ggc), ("reference", &rgc)],
                25,
                "GC content per sequence",
                "GC fraction",
            ),
        );
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
    out.file("sequences.csv", &sequence_csv);
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
    let (g_distinct, g_identity) = diversity(&generated, MAX_PAIRS, options.seed);
    let (r_distinct, r_identity) = diversity(&reference, MAX_PAIRS, options.seed);
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
        out.file(
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
        );
    }

    if alphabet.tokenizer() == TokenizerKind::Smiles {
        chemistry_report(
            generated_file,
            train_file,
            &mut table,
            &mut summary,
            &mut out,
        );
    }
    if let Some(model) = model {
        model_report(
            model,
            options.seed,
            [("generated", generated_file), ("reference", reference_file)],
            &mut table,
            &mut summary,
        )?;
    }
    // Scanners and thresholds (a p-value threshold is a dynamic programme per motif) once,
    // for the label-by-label rates and the pooled ones.
    let scanners = match &options.motifs {
        Some(set) => motif_scanners(set, options, &alphabet)?,
        None => Vec::new(),
    };
    if labelled {
        let labels_of = |file: &SequenceFile| -> Vec<Option<String>> {
            file.records.iter().map(|r| r.label.clone()).collect()
        };
        if options.on_unknown != UnknownPolicy::Error {
            return Err(Error::Options(
                "labels need unknown symbols to be errors (records must stay one to one with their labels)".into(),
            ));
        }
        label_report(
            options,
            &alphabet,
            &scanners,
            (&generated, &labels_of(generated_file)),
            (&reference, &labels_of(reference_file)),
            complements.as_deref(),
            &mut table,
            &mut summary,
            &mut out,
        )?;
    }
    if let Some(motifs) = &options.motifs {
        motif_report(
            options,
            motifs,
            &scanners,
            &generated,
            &reference,
            &mut table,
            &mut summary,
            &mut out,
        )?;
    }
    Ok(Report {
        table,
        summary,
        files: out,
    })
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

/// The label-by-label comparison: k-mer spectra against a size-matched floor and motif hit
/// rates per label, and (two labels or more, with --motifs) the motif enrichment between the
/// first two labels, generated against real. Writes `labels.csv` and `enrichment.csv`.
#[allow(clippy::too_many_arguments)]
fn label_report(
    options: &ReportOptions,
    alphabet: &Alphabet,
    motifs: &[ScannedMotif<'_>],
    generated: (&[Vec<TokenId>], &[Option<String>]),
    reference: (&[Vec<TokenId>], &[Option<String>]),
    complements: Option<&[TokenId]>,
    table: &mut String,
    summary: &mut String,
    out: &mut Files,
) -> Result<()> {
    let ks = &options.ks;
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
        return Err(Error::Options(
            "no label occurs in both the generated and the reference sequences".into(),
        ));
    }
    let mut csv = String::from("label,statistic,generated,reference,floor\n");
    let _ = writeln!(table, "\nby label:");
    let mut rates: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut sizes = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
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
        out.file("enrichment.csv", &enrichment_csv);
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
    out.file("labels.csv", &csv);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn motif_report(
    options: &ReportOptions,
    set: &MotifSet,
    scanners: &[ScannedMotif<'_>],
    generated: &[Vec<TokenId>],
    reference: &[Vec<TokenId>],
    table: &mut String,
    summary: &mut String,
    out: &mut Files,
) -> Result<()> {
    let (motifs, path) = (&set.motifs, &set.source);
    if let Some(id) = &options.motif_profile {
        if !motifs.iter().any(|m| &m.id == id) {
            return Err(Error::Options(format!(
                "{}: no motif {id} to profile",
                path.display()
            )));
        }
    }
    let mut csv = String::from("motif,name,consensus,generated_hit_rate,reference_hit_rate\n");
    let mut rates = Vec::with_capacity(motifs.len());
    for &(motif, ref scanner, threshold) in scanners {
        let (g, r) = (
            hit_rate(scanner, threshold, generated),
            hit_rate(scanner, threshold, reference),
        );
        let _ = writeln!(
            csv,
            "{},{},{},{g},{r}",
            motif.id,
            csv_field(&motif.name),
            motif.consensus()
        );
        rates.push((motif, g, r));
        if options.motif_profile.as_deref() == Some(motif.id.as_str()) {
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
            out.file(&format!("motif_profile_{}.csv", motif.id), &profile_csv);
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
            out.file(
                &format!("motif_profile_{}.svg", motif.id),
                &lines_svg(
                    &[("generated", &gpts), ("reference", &rpts)],
                    &title,
                    "0-based start",
                    "hits per sequence",
                ),
            );
        }
    }
    out.file("motifs.csv", &csv);
    let g: Vec<f64> = rates.iter().map(|x| x.1).collect();
    let r: Vec<f64> = rates.iter().map(|x| x.2).collect();
    let correlation = pearson(&g, &r);
    let rule = match options.motif_p_value {
        Some(p) => format!("p <= {p} per site and strand"),
        None => format!("relative score >= {}", options.motif_threshold),
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

/// A motif with its scanner and the relative score a site needs.
type ScannedMotif<'a> = (&'a Motif, PwmScanner, f64);

/// Every motif of `set` ready to scan: `options.motif_p_value` converted to each motif's own
/// relative threshold, else `options.motif_threshold`.
fn motif_scanners<'a>(
    set: &'a MotifSet,
    options: &ReportOptions,
    alphabet: &Alphabet,
) -> Result<Vec<ScannedMotif<'a>>> {
    set.motifs
        .iter()
        .map(|motif| {
            let scanner = PwmScanner::new(motif, alphabet)?;
            let threshold = match options.motif_p_value {
                Some(p) => scanner.relative_threshold_for_p_value(p),
                None => options.motif_threshold,
            };
            Ok((motif, scanner, threshold))
        })
        .collect()
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
    generated: &SequenceFile,
    train: Option<&SequenceFile>,
    table: &mut String,
    summary: &mut String,
    out: &mut Files,
) {
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
            let _ = writeln!(table, "{name:<40}{:>12}{charrnn:>16.3}", "(training set)");
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
    out.file("molecules.csv", &csv);
}

/// The ELBO bound of each set under a trained model, encoded with the model's own vocabulary.
fn model_report(
    check: &mut ModelCheck<'_>,
    seed: u64,
    sets: [(&str, &SequenceFile); 2],
    table: &mut String,
    summary: &mut String,
) -> Result<()> {
    if check.num_t == 0 || check.max_sequences == 0 {
        return Err(Error::Options(
            "the model's bound needs at least one time and one sequence".into(),
        ));
    }
    let trained = check.trained;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut bits = Vec::new();
    for (name, file) in sets {
        let (records, _) =
            encode_records(&trained.alphabet, file, UnknownPolicy::Error).map_err(|e| {
                Error::Options(format!(
                    "encoding the {name} set with the vocabulary of {}: {e}",
                    check.name
                ))
            })?;
        let tokens: Vec<&[TokenId]> = records
            .iter()
            .take(check.max_sequences)
            .map(|r| r.tokens.as_slice())
            .filter(|t| t.len() <= trained.spec.seq_len)
            .collect();
        if tokens.is_empty() {
            return Err(Error::Options(format!(
                "{}: no sequence fits the {} positions of the model at {}",
                file.path.display(),
                trained.spec.seq_len,
                check.name
            )));
        }
        let estimates = trained.elbo_estimates(
            &tokens,
            None,
            check.num_t,
            64,
            &mut rng,
            &mut *check.progress,
        )?;
        bits.push((pooled_bits_per_token(&estimates), estimates.len()));
    }
    let ((g, g_se), g_n) = bits[0];
    let ((r, r_se), r_n) = bits[1];
    let _ = writeln!(
        table,
        "\nmodel {} (step {}), ELBO bound, {} times/sequence:\n{:<32}{:>18}{:>18}\n{:<32}{:>18}{:>18}",
        check.name,
        trained.step,
        check.num_t,
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
    use rand::RngExt;

    use super::*;
    use crate::io::{Format, SequenceRecord};

    /// Random DNA records of length 40, alternately labelled `a` and `b`.
    fn file(name: &str, count: usize, seed: u64) -> SequenceFile {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let records = (0..count)
            .map(|i| SequenceRecord {
                number: i + 1,
                line: None,
                id: format!("{name}{i}"),
                sequence: (0..40).map(|_| b"ACGT"[rng.random_range(0..4)]).collect(),
                label: Some(["a", "b"][i % 2].to_string()),
                source: None,
            })
            .collect();
        SequenceFile {
            path: format!("{name}.fa").into(),
            format: Format::Fasta,
            records,
            empty: Vec::new(),
            low_quality: 0,
        }
    }

    fn options(labelled: bool) -> ReportOptions {
        ReportOptions {
            ks: vec![1, 2, 3],
            canonical: false,
            motifs: None,
            motif_threshold: 0.85,
            motif_p_value: None,
            motif_profile: None,
            labelled,
            seed: 0,
            on_unknown: UnknownPolicy::Error,
        }
    }

    /// Every k gets a summary row with the generated figure and its floor; the table, the
    /// per-label rows and the files are there; two sets from one source sit near the floor.
    #[test]
    fn the_report_has_a_row_per_statistic_and_its_files() {
        let dna = Alphabet::builtin("dna").unwrap();
        let (generated, reference) = (file("g", 60, 1), file("r", 400, 2));
        let report = evaluate(
            dna.clone(),
            &generated,
            &reference,
            None,
            &options(true),
            None,
        )
        .unwrap();
        for k in 1..=3 {
            let row = report
                .summary
                .lines()
                .find(|l| l.starts_with(&format!("kmer_{k}_js_bits,")))
                .unwrap();
            let cells: Vec<f64> = row.split(',').skip(1).map(|c| c.parse().unwrap()).collect();
            assert!(cells[0] > 0.0 && cells[1] > 0.0);
            assert!(cells[0] < 3.0 * cells[1], "k={k}: {row}");
        }
        assert!(report.summary.contains("\nmean_gc,"));
        assert!(report
            .table
            .contains("floor: 60 reference vs the other 340 (mean of 4 draws)"));
        assert!(report.table.contains("by label:"));
        let names: Vec<&str> = report.files.0.iter().map(|(n, _)| n.as_str()).collect();
        for name in [
            "kmer.csv",
            "kmer_scatter_k3.svg",
            "lengths.svg",
            "sequences.csv",
            "labels.csv",
        ] {
            assert!(names.contains(&name), "{names:?}");
        }

        // Written atomically, and never over an input.
        let dir = crate::test_dir::tempdir().unwrap();
        report.write(dir.path(), &[]).unwrap();
        assert!(dir.path().join("summary.csv").exists());
        let input = dir.path().join("kmer.csv");
        let error = report.write(dir.path(), &[&input]).unwrap_err().to_string();
        assert!(error.contains("this output is the input"), "{error}");

        // Without labels in common, a labelled report is an error, not an empty section.
        let mut other = file("o", 10, 3);
        other
            .records
            .iter_mut()
            .for_each(|r| r.label = Some("c".into()));
        assert!(evaluate(dna, &other, &reference, None, &options(true), None).is_err());
    }
}
