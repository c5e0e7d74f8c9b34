//! `seddbio infill`: fill templates around fixed symbols, allowed sets and motifs.

use std::{path::PathBuf, time::Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use seddbio::{
    io::{read_sequences, write_sequences, Format, OutputRecord, ReadOptions},
    motif::read_motifs,
    sample::{decode_sampled, pad_to_model, sample_in_batches, MotifMode, Template},
};

use super::{choice, print_summary, ModelArgs};

/// Template grammar, shown by `--help`.
const GRAMMAR: &str = "Template grammar:
  ACGT...            symbols of the model's alphabet are fixed (protein letters, SMILES tokens)
  [MASK]             one free position
  [MASK:20]          a run of 20 free positions
  [MASK:50-80]       a run whose length is drawn per sample, uniformly from 50 to 80 (recorded
                     as gaps= in each record)
  R Y S W K M B D H V N
                     DNA IUPAC codes: the position may only take the bases the code stands for
                     (N is free); enforced at every sampling step
  {motif:MA0108.3}   a motif from --motifs FILE (JASPAR .jaspar or MEME), as its consensus, or
                     with --motif-mode sample as an instance drawn from its frequency matrix

Example: seddbio infill --model runs/epdnew --motifs JASPAR.jaspar -n 10 -o tata.fa \\
           --template '[MASK:219]{motif:MA0108.3}[MASK:66]'";

#[derive(Debug, Args)]
#[command(after_help = GRAMMAR)]
pub struct InfillArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Template (grammar below).
    #[arg(
        long,
        required_unless_present = "template_file",
        conflicts_with = "template_file"
    )]
    pub template: Option<String>,
    /// Many templates: a FASTA file whose sequences are templates (ids name the outputs);
    /// - reads them from standard input.
    #[arg(long)]
    pub template_file: Option<PathBuf>,
    /// Motif file (JASPAR .jaspar or MEME) for {motif:ID}.
    #[arg(long)]
    pub motifs: Option<PathBuf>,
    /// consensus, or sample (a fresh instance from the frequency matrix for each sample).
    #[arg(long, default_value = "consensus", value_parser = choice::<MotifMode>())]
    pub motif_mode: MotifMode,
    /// Samples per template.
    #[arg(short = 'n', long, default_value_t = 1)]
    pub num: usize,
    #[command(flatten)]
    pub sampling: super::SamplingArgs,
}

pub fn run(args: InfillArgs) -> Result<()> {
    if args.num == 0 || args.sampling.batch_size == 0 {
        bail!("-n and --batch-size must be at least 1");
    }
    let inputs: Vec<&std::path::Path> = [&args.template_file, &args.motifs]
        .into_iter()
        .flatten()
        .map(|p| p.as_path())
        .chain([args.model.model.as_path()])
        .collect();
    seddbio::io::refuse_overwriting_inputs(&args.sampling.out, &inputs)?;
    let trained = args.model.load()?;
    let spec = &trained.spec;
    let settings = args.sampling.generation(&trained, &args.model.model)?;
    let motifs = match &args.motifs {
        Some(path) => read_motifs(path)?,
        None => Vec::new(),
    };
    let texts: Vec<(String, String)> = match (&args.template, &args.template_file) {
        (Some(text), _) => vec![("template_1".to_string(), text.clone())],
        (None, Some(path)) => {
            // FASTA whatever the name says (and for -); gzip is recognised by its bytes.
            let options = ReadOptions {
                format: Some(Format::Fasta),
                ..ReadOptions::default()
            };
            read_sequences(path, &options, None)?
                .records
                .into_iter()
                .map(|r| (r.id, String::from_utf8_lossy(&r.sequence).into_owned()))
                .collect()
        }
        (None, None) => bail!("give --template or --template-file"),
    };
    let pad = trained.alphabet.pad_id();
    let mut templates = Vec::with_capacity(texts.len());
    for (index, (id, text)) in texts.iter().enumerate() {
        // The error names the template itself; a file's record is named before it.
        let template = match &args.template_file {
            Some(path) => Template::parse(text, &trained.alphabet, &motifs)
                .with_context(|| format!("{}: record {} ({id})", path.display(), index + 1))?,
            None => Template::parse(text, &trained.alphabet, &motifs)?,
        };
        if template.len() > spec.seq_len {
            bail!(
                "template {id} has {}{} positions; the model at {} was trained on {}",
                match template.varies() {
                    true => "up to ",
                    false => "",
                },
                template.len(),
                args.model.model.display(),
                spec.seq_len
            );
        }
        templates.push((id, text, template));
    }
    // The job's items are (template, sample) pairs in that order; item t * n + j is sample j
    // of template t, drawn from its own stream, so a shard may start inside a template.
    let items = args.sampling.shard.range(templates.len() * args.num);
    let bar = super::progress(
        Some(items.len() as u64),
        "{bar:30} {pos}/{len} sequences {per_sec} ETA {eta}",
    )?;
    let start = Instant::now();
    let mut records = Vec::new();
    let mut nfe_total = 0;
    for (t, (id, text, template)) in templates.iter().enumerate() {
        let own = t * args.num..(t + 1) * args.num;
        let mine = own.start.max(items.start)..own.end.min(items.end);
        if mine.is_empty() {
            continue;
        }
        let first = mine.start - own.start;
        // The gap lengths drawn for each sample, in the order the samples are drawn.
        let mut gaps = Vec::with_capacity(mine.len());
        let (drawn, _) = sample_in_batches(
            &trained,
            mine,
            &settings,
            &mut |_, stream| {
                let (slots, drawn_gaps) = template.draw(args.motif_mode, stream);
                gaps.push(drawn_gaps);
                pad_to_model(spec, pad, slots)
            },
            &mut |done, _| bar.inc(done as u64),
        )?;
        for (done, (d, gaps)) in drawn.into_iter().zip(&gaps).enumerate() {
            nfe_total += d.nfe;
            let mut metadata = vec![
                ("template_id".into(), id.to_string()),
                ("template".into(), text.to_string()),
                ("model".into(), settings.model_name.clone()),
            ];
            if !gaps.is_empty() {
                let lengths: Vec<String> = gaps.iter().map(usize::to_string).collect();
                metadata.push(("gaps".into(), lengths.join(",")));
            }
            metadata.extend(settings.sampler.metadata());
            metadata.extend([
                ("seed".into(), args.sampling.seed.to_string()),
                ("nfe".into(), d.nfe.to_string()),
            ]);
            metadata.extend(settings.metadata.iter().cloned());
            let decoded = decode_sampled(&trained, &d.tokens);
            d.add_draws(&mut metadata);
            decoded.add_selfies(&mut metadata);
            records.push(OutputRecord {
                id: format!("{id}_{}_{}", settings.id_prefix, first + done + 1),
                sequence: decoded.sequence,
                metadata,
            });
        }
    }
    bar.finish_and_clear();
    write_sequences(&args.sampling.out, args.sampling.out_format, &records)?;
    let seconds = start.elapsed().as_secs_f64();
    print_summary(&args.sampling.out, &format!(
        "{} sequences from {} template(s) written to {} ({}): {:.1} network calls per sequence, {:.1} s\n",
        records.len(),
        templates.len(),
        super::output_name(&args.sampling.out),
        settings.sampler.describe(),
        nfe_total as f64 / records.len().max(1) as f64,
        seconds
    ))
}
