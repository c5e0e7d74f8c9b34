//! The evaluation's computation: generated sequences against real ones, every statistic beside
//! the real-vs-real floor, as an [`Evaluation`] value. Each part of the value has its own
//! computation (k-mer spectra and per-set figures, novelty, chemistry, the model's bound, the
//! label-by-label comparison, motif hit rates); [`super::render`] formats the value.

mod chemistry;
mod labels;
mod model;
mod motifs;
mod per_sequence;
mod sets;

pub use self::per_sequence::{
    per_sequence, per_sequence_csv, PerSequence, PerSequenceOptions, SequenceFigures,
};

use std::path::{Path, PathBuf};

use rand::{rngs::ChaCha8Rng, SeedableRng};

use super::{evaluation::Evaluation, RealFloor};
use crate::{
    alphabet::{Alphabet, TokenId, TokenizerKind},
    data::{encode_records, grow_vocabulary, UnknownPolicy},
    io::SequenceFile,
    motif::Motif,
    run::TrainedModel,
    Error, Result, Setting,
};

/// Real-vs-real draws averaged into the k-mer floor (docs/design.md, eq. (58)).
pub const FLOOR_DRAWS: usize = 4;

/// Motifs to scan every set with, and the file they came from (named in the report).
#[derive(Debug, Clone)]
pub struct MotifSet {
    /// The motifs.
    pub motifs: Vec<Motif>,
    /// Their file.
    pub source: PathBuf,
}

impl MotifSet {
    /// The motifs of a JASPAR or MEME file.
    pub fn read(path: &Path) -> Result<MotifSet> {
        let motifs = crate::motif::read_motifs(path)?;
        Ok(MotifSet {
            motifs,
            source: path.to_path_buf(),
        })
    }
}

/// The k-mer sizes of `text`: one k, or a range `a..b` (`a..=b`), with 1 <= a <= b <= 12.
///
/// ```
/// use seddbio::eval::kmer_sizes;
///
/// assert_eq!(kmer_sizes("1..6").unwrap(), vec![1, 2, 3, 4, 5, 6]);
/// assert_eq!(kmer_sizes("3").unwrap(), vec![3]);
/// assert!(kmer_sizes("0..4").is_err() && kmer_sizes("5..2").is_err() && kmer_sizes("x").is_err());
/// ```
pub fn kmer_sizes(text: &str) -> Result<Vec<usize>> {
    let bad = || Error::Setting {
        setting: Setting::KmerSizes,
        message: format!("--k {text}: expected k or a range a..b with 1 <= a <= b <= 12"),
    };
    let number = |t: &str| t.trim().parse::<usize>().map_err(|_| bad());
    let range = match text.split_once("..") {
        Some((a, b)) => number(a)?..=number(b.trim().trim_start_matches('='))?,
        None => number(text).map(|k| k..=k)?,
    };
    if range.is_empty() || *range.start() == 0 || *range.end() > 12 {
        return Err(bad());
    }
    Ok(range.collect())
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

impl ReportOptions {
    /// Checks the motif options before any work: a relative score in [0, 1], a p-value in
    /// (0, 1], and a motif to profile that the motif set holds. [`evaluate`] checks them too.
    pub fn check(&self) -> Result<()> {
        if let (Some(id), Some(set)) = (&self.motif_profile, &self.motifs) {
            if !set.motifs.iter().any(|m| &m.id == id) {
                return Err(Error::MissingMotif {
                    file: set.source.clone(),
                    id: id.clone(),
                });
            }
        }
        let bad = |message: String| Error::Setting {
            setting: Setting::MotifThreshold,
            message,
        };
        if !(0.0..=1.0).contains(&self.motif_threshold) {
            return Err(bad(format!(
                "--motif-threshold must be in [0, 1], got {}",
                self.motif_threshold
            )));
        }
        match self.motif_p_value {
            Some(p) if !(p > 0.0 && p <= 1.0) => {
                Err(bad(format!("--motif-p-value must be in (0, 1], got {p}")))
            }
            _ => Ok(()),
        }
    }
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

/// Compares `generated_file` with `reference_file` (and `train_file`: novelty, and the floor
/// from training subsets) in `alphabet` (grown by the sets' tokens for SMILES), with the
/// options' extras and the bound under `model`.
///
/// The parts are computed in a fixed order, since two of them draw from one random stream
/// seeded by `options.seed` (the floor's draws, then the novelty's training subset): the same
/// inputs and seed give the same evaluation.
pub fn evaluate(
    mut alphabet: Alphabet,
    generated_file: &SequenceFile,
    reference_file: &SequenceFile,
    train_file: Option<&SequenceFile>,
    options: &ReportOptions,
    model: Option<&mut ModelCheck<'_>>,
) -> Result<Evaluation> {
    options.check()?;
    let complements = match options.canonical {
        true => Some(alphabet.complements().ok_or_else(|| Error::NoComplements {
            alphabet: alphabet.name().to_string(),
        })?),
        false => None,
    };
    let (generated, reference, train) = encode_sets(
        &mut alphabet,
        [generated_file, reference_file],
        train_file,
        options.on_unknown,
    )?;
    // The real-vs-real floor, matched to the generated set's size (eval::RealFloor says why).
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let floor = RealFloor::matched(
        generated.len(),
        &reference,
        train.as_deref(),
        FLOOR_DRAWS,
        &mut rng,
    );
    let kmers = sets::kmer_figures(
        &alphabet,
        options,
        complements.as_deref(),
        [&generated, &reference],
        &floor,
    );
    let set = |file: &SequenceFile, tokens: &[Vec<TokenId>]| {
        sets::set_figures(&alphabet, file, tokens, options.seed)
    };
    let (generated_figures, reference_figures) = (
        set(generated_file, &generated),
        set(reference_file, &reference),
    );
    let composition = (alphabet.name() == "protein")
        .then(|| sets::composition(&alphabet, &generated, &reference));
    let novelty = train
        .as_deref()
        .map(|train| sets::novelty_figures(&generated, &reference, train, &mut rng));
    let selfies = alphabet.tokenizer() == TokenizerKind::Selfies;
    let chemistry = (alphabet.tokenizer() == TokenizerKind::Smiles || selfies).then(|| {
        chemistry::chemistry(
            [generated_file, reference_file],
            train_file,
            selfies,
            options.seed,
        )
    });
    let model = model
        .map(|check| {
            model::model_bound(
                check,
                options.seed,
                [("generated", generated_file), ("reference", reference_file)],
            )
        })
        .transpose()?;
    // Scanners and thresholds (a p-value threshold is a dynamic programme per motif) once,
    // for the label-by-label rates and the pooled ones.
    let scanners = match &options.motifs {
        Some(set) => motifs::motif_scanners(set, options, &alphabet)?,
        None => Vec::new(),
    };
    let labels = match options.labelled {
        true => Some(labels::label_comparison(
            options,
            &alphabet,
            &scanners,
            (&generated, generated_file),
            (&reference, reference_file),
            complements.as_deref(),
        )?),
        false => None,
    };
    let motifs = options
        .motifs
        .as_ref()
        .map(|set| motifs::motif_figures(options, set, &scanners, &generated, &reference))
        .transpose()?;
    Ok(Evaluation {
        generated: generated_figures,
        reference: reference_figures,
        floor: floor.setup(),
        kmers,
        composition,
        novelty,
        chemistry,
        model,
        labels,
        motifs,
    })
}

/// One set's token sequences.
type Tokens = Vec<Vec<TokenId>>;

/// The `[generated, reference]` sets and the training set encoded in `alphabet`, grown first
/// by every token of all of them (SMILES: one vocabulary over every set, since evaluation has
/// no model to match). Needs a generated sequence and two reference sequences (the floor
/// splits the reference).
fn encode_sets(
    alphabet: &mut Alphabet,
    [generated, reference]: [&SequenceFile; 2],
    train: Option<&SequenceFile>,
    on_unknown: UnknownPolicy,
) -> Result<(Tokens, Tokens, Option<Tokens>)> {
    let all: Vec<_> = [generated, reference]
        .into_iter()
        .chain(train)
        .flat_map(|f| f.records.iter().cloned())
        .collect();
    grow_vocabulary(alphabet, &all);
    let encode = |file: &SequenceFile| -> Result<Tokens> {
        let (records, _) = encode_records(alphabet, file, on_unknown)?;
        Ok(records.into_iter().map(|r| r.tokens).collect())
    };
    let (generated, reference) = (encode(generated)?, encode(reference)?);
    let train = train.map(encode).transpose()?;
    if generated.is_empty() || reference.len() < 2 {
        return Err(Error::TooFewSequences);
    }
    Ok((generated, reference, train))
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;
    use crate::{
        eval::render,
        io::{Format, SequenceRecord},
    };

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
                split: None,
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
        let evaluation = evaluate(
            dna.clone(),
            &generated,
            &reference,
            None,
            &options(true),
            None,
        )
        .unwrap();
        let summary = render::summary(&evaluation);
        for k in 1..=3 {
            let row = summary
                .iter()
                .find(|m| m.name == format!("kmer_{k}_js_bits"))
                .unwrap();
            let (model, floor) = (row.generated.unwrap(), row.real.unwrap());
            assert!(model > 0.0 && floor > 0.0);
            assert!(model < 3.0 * floor, "k={k}: {row:?}");
        }
        assert!(summary.iter().any(|m| m.name == "mean_gc"));
        let table = render::table(&evaluation);
        assert!(table.contains("floor: 60 reference vs the other 340 (mean of 4 draws)"));
        assert!(table.contains("by label:"));
        let files = render::files(&evaluation);
        let names: Vec<&str> = files.0.iter().map(|(n, _)| n.as_str()).collect();
        for name in [
            "kmer.csv",
            "kmer_scatter_k3.svg",
            "lengths.svg",
            "sequences.csv",
            "labels.csv",
        ] {
            assert!(names.contains(&name), "{names:?}");
        }
        assert_eq!(names.last(), Some(&"summary.csv"));
        // summary.csv and JSON hold the summary's rows, the same numbers.
        let l1 = summary.iter().find(|m| m.name == "kmer_2_l1").unwrap();
        let (g, r) = (l1.generated.unwrap(), l1.real.unwrap());
        assert!(files
            .0
            .last()
            .unwrap()
            .1
            .contains(&format!("\nkmer_2_l1,{g},{r},\n")));
        let json = render::json(&evaluation, std::path::Path::new("out"));
        assert_eq!(json["report"], "out");
        assert_eq!(json["metrics"]["kmer_2_l1"]["generated_vs_reference"], g);
        assert_eq!(json["metrics"]["kmer_2_l1"]["real_vs_real_floor"], r);
        assert!(json["metrics"]["kmer_2_l1"]["published"].is_null());
        // The value serialises whole.
        let value = serde_json::to_value(&evaluation).unwrap();
        assert_eq!(value["generated"]["lengths"].as_array().unwrap().len(), 60);
        assert_eq!(value["labels"]["labels"][0]["label"], "a");

        // Written atomically, and never over an input.
        let dir = crate::test_dir::tempdir().unwrap();
        files.write(dir.path(), &[]).unwrap();
        assert!(dir.path().join("summary.csv").exists());
        let input = dir.path().join("kmer.csv");
        let error = files.write(dir.path(), &[&input]).unwrap_err().to_string();
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
