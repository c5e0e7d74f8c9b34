//! The fidelity-diversity sweep (docs/sampling.md, "The controls"): samples of one model under a
//! list of sampler settings, each evaluated as `seddbio eval` evaluates samples, one table row
//! per setting and a plot of the samples' bits under the model against their diversity.
//!
//! Every setting samples with the same seed, so that the settings differ by their controls and
//! not by their random streams (common random numbers).

use std::{fmt::Write as _, path::Path, time::Instant};

use super::{
    evaluate,
    render::{self, cell, Metric},
    ModelCheck, MotifFigures, ReportOptions,
};
use crate::{
    alphabet::Alphabet,
    diffusion::GraphKind,
    io::{read_sequences, write_sequences, ReadOptions, SequenceFile},
    plot::labelled_points_svg,
    run::TrainedModel,
    sample::{generate, Generation, Guidance, SamplerKind, SamplerSettings, UnmaskOrder},
    Error, Result,
};

/// Steps of a sweep point that does not name its own.
pub const SWEEP_STEPS: usize = 128;

/// One setting of a sweep: a name (as the user wrote it) and what it samples with.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    name: String,
    sampler: SamplerSettings,
    label: Option<String>,
    guidance: f64,
}

impl SweepPoint {
    /// Parses `key=value` words separated by commas, over the default sampler of a model of
    /// this graph at [`SWEEP_STEPS`] steps: `sampler`, `steps`, `temperature` (or `t`), `top-p`, `order`,
    /// `remask-cap`, `label`, `guidance`. An empty text (or `model`) is the model's own
    /// process.
    ///
    /// ```
    /// use seddbio::{diffusion::GraphKind, eval::SweepPoint};
    ///
    /// let point = SweepPoint::parse("t=0.8, top-p=0.95", GraphKind::Absorb)?;
    /// assert_eq!(point.name(), "t=0.8,top-p=0.95");
    /// assert_eq!(point.sampler().temperature(), 0.8);
    /// assert!(SweepPoint::parse("t=0", GraphKind::Absorb).is_err());
    /// assert!(SweepPoint::parse("heat=2", GraphKind::Absorb).is_err());
    /// # Ok::<(), seddbio::Error>(())
    /// ```
    pub fn parse(text: &str, graph: GraphKind) -> Result<SweepPoint> {
        let words: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty() && *w != "model")
            .collect();
        let bad = |message: String| Error::SweepSetting {
            setting: text.to_string(),
            message,
        };
        let mut kind = None;
        let mut steps = SWEEP_STEPS;
        let mut controls: Vec<(&str, &str)> = Vec::new();
        let (mut label, mut guidance) = (None, 0.0);
        let mut order = UnmaskOrder::Random;
        for word in &words {
            let (key, value) = word
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| bad(format!("'{word}' is not key=value")))?;
            let number = || number_of(key, value).map_err(bad);
            match key {
                "sampler" => kind = Some(value.parse().map_err(bad)?),
                "steps" => {
                    steps = value
                        .parse()
                        .map_err(|_| bad(format!("steps: '{value}' is not a count")))?
                }
                "order" => order = value.parse().map_err(bad)?,
                "temperature" | "t" | "top-p" | "top_p" | "remask-cap" => {
                    controls.push((key, value))
                }
                "label" => label = Some(value.to_string()),
                "guidance" => guidance = number()?,
                _ => return Err(bad(format!(
                    "unknown key '{key}' (expected sampler, steps, temperature, top-p, order, remask-cap, label or guidance)"
                ))),
            }
        }
        if !(guidance.is_finite() && guidance >= 0.0) {
            return Err(bad(format!("guidance {guidance} must be a number >= 0")));
        }
        // As on the command line: confidence order without a sampler means first-hitting.
        let kind = kind.unwrap_or_else(|| SamplerKind::default_for_order(graph, order));
        let mut sampler = SamplerSettings::new(kind, steps)?.with_order(order);
        for (key, value) in controls {
            let number = || number_of(key, value).map_err(bad);
            sampler = match key {
                "temperature" | "t" => sampler.with_temperature(number()?)?,
                "top-p" | "top_p" => sampler.with_top_p(number()?)?,
                _ => sampler.with_remask_cap(number()?)?,
            };
        }
        sampler.check_graph(graph)?;
        Ok(SweepPoint {
            name: match words.is_empty() {
                true => "model".into(),
                false => words.join(","),
            },
            sampler,
            label,
            guidance,
        })
    }

    /// The settings `--sweep standard` runs: the model's default sampler at temperature 1,
    /// temperatures 0.9 to 0.5, nucleus 0.95 and 0.9, and for absorbing models first-hitting
    /// in confidence order (alone and at temperature 0.8) and remasking.
    pub fn standard(graph: GraphKind) -> Result<Vec<SweepPoint>> {
        let mut texts = vec![
            "model",
            "t=0.9",
            "t=0.8",
            "t=0.7",
            "t=0.5",
            "top-p=0.95",
            "top-p=0.9",
        ];
        if graph == GraphKind::Absorb {
            texts.extend([
                "sampler=first-hitting,order=confidence",
                "sampler=first-hitting,order=confidence,t=0.8",
                "sampler=remask",
            ]);
        }
        texts
            .into_iter()
            .map(|t| SweepPoint::parse(t, graph))
            .collect()
    }

    /// The setting as written (normalised: words trimmed, joined by commas).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sampler and its controls.
    pub fn sampler(&self) -> &SamplerSettings {
        &self.sampler
    }
}

/// What a sweep samples from, how much, and what it evaluates the samples against.
pub struct SweepRun<'a> {
    /// The model.
    pub trained: &'a TrainedModel,
    /// The alphabet the evaluation reads the sets in (grown by their tokens for SMILES).
    pub alphabet: &'a Alphabet,
    /// The held-out real sequences.
    pub reference: &'a SequenceFile,
    /// The training sequences (novelty, and the floor from training subsets).
    pub train: Option<&'a SequenceFile>,
    /// The evaluation's options (k-mers, motifs, seed of the floor).
    pub options: &'a ReportOptions,
    /// Its name in records and reports (the run directory as given).
    pub model_name: String,
    /// Samples per setting.
    pub samples: usize,
    /// Sequences per network call.
    pub batch_size: usize,
    /// The seed of every setting's samples and of the evaluation.
    pub seed: u64,
    /// Times per sequence of the model's bound.
    pub num_t: usize,
    /// At most this many sequences of each set are scored under the model.
    pub max_scored: usize,
}

/// One row of a sweep.
#[derive(Debug, Clone)]
pub struct SweepRow {
    /// The setting's name.
    pub point: String,
    /// The sampler in words.
    pub sampler: String,
    /// Mean network calls per sequence.
    pub nfe_per_sequence: f64,
    /// Sequences per second of the sampling alone.
    pub sequences_per_second: f64,
    /// The evaluation's figures: `summary.csv`'s rows (the samples' value, and the real
    /// side's: the floor for divergences, the reference set otherwise), then a hit-rate pair
    /// per motif of a small motif set.
    pub metrics: Vec<Metric>,
}

impl SweepRow {
    /// The samples' value of `metric` (the real side's, with `real`), if the row has one.
    pub fn value(&self, metric: &str, real: bool) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == metric)
            .and_then(|m| if real { m.real } else { m.generated })
    }
}

/// A finished sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// One row per setting, in the order given.
    pub rows: Vec<SweepRow>,
}

/// Progress of a sweep, for a front end to show.
#[derive(Debug, Clone, Copy)]
pub enum SweepProgress<'a> {
    /// Setting `index` (0-based) of `total` starts.
    Point {
        /// Its position.
        index: usize,
        /// How many settings there are.
        total: usize,
        /// What it samples with.
        description: &'a str,
    },
    /// Sequences sampled or scored.
    Sequences(usize),
}

/// Samples `run.samples` sequences under every point, writes them and their evaluation into
/// `out/NN_name/` (`samples.fasta` and the files of `seddbio eval`), refusing to write over
/// `inputs`, and returns one row per point.
pub fn sweep(
    run: &SweepRun<'_>,
    points: &[SweepPoint],
    out: &Path,
    inputs: &[&Path],
    progress: &mut dyn FnMut(SweepProgress<'_>),
) -> Result<Sweep> {
    if points.is_empty() || run.samples == 0 {
        return Err(Error::EmptySweep);
    }
    let spec = &run.trained.spec;
    let mut rows = Vec::with_capacity(points.len());
    for (index, point) in points.iter().enumerate() {
        let description = point_description(point);
        progress(SweepProgress::Point {
            index,
            total: points.len(),
            description: &description,
        });
        let guidance = Guidance {
            label: point
                .label
                .as_deref()
                .map(|l| spec.label_index(l))
                .transpose()?,
            weight: point.guidance,
        };
        let mut metadata = Vec::new();
        if let Some(label) = &point.label {
            metadata.push(("label".to_string(), label.clone()));
            metadata.push(("guidance".to_string(), point.guidance.to_string()));
        }
        let settings = Generation {
            model_name: run.model_name.clone(),
            sampler: point.sampler,
            batch_size: run.batch_size.max(1),
            seed: run.seed,
            guidance,
            metadata,
            id_prefix: "sample".into(),
            selfies_draws: 1,
        };
        let start = Instant::now();
        let generated = generate(run.trained, 0..run.samples, None, &settings, &mut |n, _| {
            progress(SweepProgress::Sequences(n))
        })?;
        let seconds = start.elapsed().as_secs_f64();
        let dir = out.join(format!("{:02}_{}", index + 1, slug(&point.name)));
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let samples_path = dir.join("samples.fasta");
        crate::io::refuse_overwriting_inputs(&samples_path, inputs)?;
        write_sequences(&samples_path, None, &generated.records)?;
        let samples = read_sequences(&samples_path, &ReadOptions::default(), None)?;
        let mut check = ModelCheck {
            trained: run.trained,
            name: run.model_name.clone(),
            num_t: run.num_t,
            max_sequences: run.max_scored,
            progress: &mut |n| progress(SweepProgress::Sequences(n)),
        };
        let evaluation = evaluate(
            run.alphabet.clone(),
            &samples,
            run.reference,
            run.train,
            run.options,
            Some(&mut check),
        )?;
        render::files(&evaluation).write(&dir, inputs)?;
        let mut metrics = render::summary(&evaluation);
        metrics.extend(motif_rates(evaluation.motifs.as_ref()));
        let records = generated.records.len().max(1) as f64;
        rows.push(SweepRow {
            point: point.name.clone(),
            sampler: description,
            nfe_per_sequence: generated.nfe_total as f64 / records,
            sequences_per_second: records / seconds.max(1e-9),
            metrics,
        });
    }
    Ok(Sweep { rows })
}

impl Sweep {
    /// `sweep.csv` and `sweep.svg`, for [`super::Files::write`].
    pub fn files(&self) -> super::Files {
        super::Files(vec![
            ("sweep.csv".into(), self.csv()),
            ("sweep.svg".into(), self.svg()),
        ])
    }

    /// `sweep.csv`: setting, sampler, NFE and speed, then every evaluation figure as two
    /// columns (`NAME` for the samples, `NAME_real` for the floor or the reference) and, for
    /// every k-mer size, `kmer_K_js_over_floor`.
    pub fn csv(&self) -> String {
        let mut names: Vec<&str> = Vec::new();
        for row in &self.rows {
            for metric in &row.metrics {
                if !names.contains(&metric.name.as_str()) {
                    names.push(&metric.name);
                }
            }
        }
        let ratios: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| n.starts_with("kmer_") && n.ends_with("_js_bits"))
            .collect();
        let mut csv = String::from("setting,sampler,nfe_per_sequence,sequences_per_second");
        for name in &names {
            let _ = write!(csv, ",{name},{name}_real");
        }
        for name in &ratios {
            let _ = write!(csv, ",{}_over_floor", name.trim_end_matches("_bits"));
        }
        csv.push('\n');
        for row in &self.rows {
            let _ = write!(
                csv,
                "{},{},{:.2},{:.3}",
                quote(&row.point),
                quote(&row.sampler),
                row.nfe_per_sequence,
                row.sequences_per_second
            );
            for name in &names {
                let (g, r) = (row.value(name, false), row.value(name, true));
                let _ = write!(csv, ",{},{}", cell(g), cell(r));
            }
            for name in &ratios {
                match (row.value(name, false), row.value(name, true)) {
                    (Some(g), Some(f)) if f > 0.0 => {
                        let _ = write!(csv, ",{:.3}", g / f);
                    }
                    _ => csv.push(','),
                }
            }
            csv.push('\n');
        }
        csv
    }

    /// `sweep.svg`: every setting's samples, bits per token under the model (fidelity: lower
    /// is likelier) against their mean pairwise identity (diversity: lower is more diverse),
    /// with the real held-out sequences as the mark to reach.
    pub fn svg(&self) -> String {
        let (bits, identity) = ("model_elbo_bits_per_token", "mean_pairwise_identity");
        let mut points: Vec<(f64, f64, String)> = self
            .rows
            .iter()
            .filter_map(|row| {
                Some((
                    row.value(identity, false)?,
                    row.value(bits, false)?,
                    row.point.clone(),
                ))
            })
            .collect();
        if let Some(real) = self
            .rows
            .first()
            .and_then(|row| Some((row.value(identity, true)?, row.value(bits, true)?)))
        {
            points.push((real.0, real.1, "real (held out)".into()));
        }
        let labelled: Vec<(f64, f64, &str)> = points
            .iter()
            .map(|(x, y, l)| (*x, *y, l.as_str()))
            .collect();
        labelled_points_svg(
            &labelled,
            "Fidelity against diversity",
            "mean pairwise identity of the samples (lower: more diverse)",
            "bits/token under the model (lower: likelier)",
        )
    }
}

/// A setting's number, or what is wrong with it.
fn number_of(key: &str, value: &str) -> std::result::Result<f64, String> {
    value
        .parse()
        .map_err(|_| format!("{key}: '{value}' is not a number"))
}

/// The sampler and the condition of a point in words.
fn point_description(point: &SweepPoint) -> String {
    let mut text = point.sampler.describe();
    if let Some(label) = &point.label {
        let _ = write!(text, ", label {label}, guidance {}", point.guidance);
    }
    text
}

/// At most this many motifs get a hit-rate column pair in the table (a sweep over a whole
/// JASPAR collection would have thousands; its reports still hold every rate).
const MAX_MOTIF_COLUMNS: usize = 20;

/// `motif_ID_NAME_hit_rate` metrics (samples, reference), one per motif, when the evaluation
/// scanned at most [`MAX_MOTIF_COLUMNS`] motifs.
fn motif_rates(motifs: Option<&MotifFigures>) -> Vec<Metric> {
    let Some(motifs) = motifs else {
        return Vec::new();
    };
    if motifs.motifs.len() > MAX_MOTIF_COLUMNS {
        return Vec::new();
    }
    motifs
        .motifs
        .iter()
        .map(|m| Metric {
            name: format!("motif_{}_{}_hit_rate", m.motif.id, slug(&m.motif.name)),
            generated: Some(m.rates.generated),
            real: Some(m.rates.reference),
            published: None,
        })
        .collect()
}

/// A folder-name form of a setting: letters, digits, `.` and `-` kept, the rest `_`.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' => c,
            _ => '_',
        })
        .collect()
}

fn quote(text: &str) -> String {
    match text.contains([',', '"']) {
        true => format!("\"{}\"", text.replace('"', "\"\"")),
        false => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points parse to the settings they name; the standard grid is valid for both graphs
    /// (confidence order and remasking only for absorbing models).
    #[test]
    fn points_parse_and_the_standard_grids_are_valid() {
        let point = SweepPoint::parse(
            "sampler=remask, remask-cap=0.05, steps=64, t=0.9",
            GraphKind::Absorb,
        )
        .unwrap();
        assert_eq!(point.sampler().remask_cap(), 0.05);
        assert_eq!(point.sampler().steps(), 64);
        assert_eq!(point.sampler().temperature(), 0.9);
        let model = SweepPoint::parse("", GraphKind::Uniform).unwrap();
        assert!(model.sampler().is_model_process());
        assert_eq!(model.name(), "model");
        assert!(SweepPoint::parse("order=confidence", GraphKind::Uniform).is_err());
        // Confidence order without a sampler is first-hitting's; with another, an error.
        let confident = SweepPoint::parse("order=confidence", GraphKind::Absorb).unwrap();
        assert_eq!(confident.sampler().kind(), SamplerKind::FirstHitting);
        assert!(SweepPoint::parse("order=confidence,sampler=remask", GraphKind::Absorb).is_err());
        let confident =
            SweepPoint::parse("sampler=first-hitting,order=confidence", GraphKind::Absorb);
        assert!(confident.is_ok());
        assert!(SweepPoint::parse("guidance=-1", GraphKind::Absorb).is_err());
        assert!(SweepPoint::parse("t", GraphKind::Absorb).is_err());
        assert_eq!(SweepPoint::standard(GraphKind::Absorb).unwrap().len(), 10);
        assert_eq!(SweepPoint::standard(GraphKind::Uniform).unwrap().len(), 7);
    }

    /// An evaluation's motif rates become a hit-rate pair per motif, names made column-safe;
    /// a large motif collection adds none.
    #[test]
    fn motif_rates_become_columns_for_small_motif_sets() {
        let figures = |count: usize| MotifFigures {
            source: "motifs.jaspar".into(),
            rule: crate::eval::SiteRule::RelativeScore(0.85),
            correlation: 0.5,
            motifs: (0..count)
                .map(|i| crate::eval::MotifRates {
                    motif: crate::eval::MotifName {
                        id: format!("MA0140.{i}"),
                        name: "GATA1::TAL1".into(),
                    },
                    consensus: "TTATCT".into(),
                    rates: crate::eval::HitRates {
                        generated: 0.04,
                        reference: 0.33,
                    },
                })
                .collect(),
            profiles: Vec::new(),
        };
        assert_eq!(
            motif_rates(Some(&figures(1))),
            [Metric {
                name: "motif_MA0140.0_GATA1__TAL1_hit_rate".into(),
                generated: Some(0.04),
                real: Some(0.33),
                published: None,
            }]
        );
        assert!(motif_rates(Some(&figures(30))).is_empty());
        assert!(motif_rates(None).is_empty());
    }

    /// The table's columns follow the metrics; the JS ratio is the samples' divergence over the
    /// floor's.
    #[test]
    fn the_table_has_a_column_pair_per_figure_and_the_floor_ratios() {
        let metric = |name: &str, generated: f64, real: f64| Metric {
            name: name.into(),
            generated: Some(generated),
            real: Some(real),
            published: None,
        };
        let row = |point: &str, js: f64| SweepRow {
            point: point.into(),
            sampler: "first-hitting sampler, 128 steps".into(),
            nfe_per_sequence: 10.0,
            sequences_per_second: 2.0,
            metrics: vec![
                metric("kmer_3_js_bits", js, 0.01),
                metric("mean_pairwise_identity", 0.3, 0.28),
                metric("model_elbo_bits_per_token", 1.95, 1.90),
            ],
        };
        let sweep = Sweep {
            rows: vec![row("model", 0.02), row("t=0.8,top-p=0.9", 0.015)],
        };
        let csv = sweep.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "setting,sampler,nfe_per_sequence,sequences_per_second,kmer_3_js_bits,kmer_3_js_bits_real,mean_pairwise_identity,mean_pairwise_identity_real,model_elbo_bits_per_token,model_elbo_bits_per_token_real,kmer_3_js_over_floor");
        assert!(lines[1].ends_with(",2.000"), "{}", lines[1]);
        assert!(lines[2].starts_with("\"t=0.8,top-p=0.9\","), "{}", lines[2]);
        assert!(lines[2].ends_with(",1.500"), "{}", lines[2]);
        assert!(
            lines[1].contains(",0.02,0.01,0.3,0.28,1.95,1.9,"),
            "{}",
            lines[1]
        );
        let svg = sweep.svg();
        assert!(svg.contains("real (held out)") && svg.contains("t=0.8,top-p=0.9"));
    }
}
