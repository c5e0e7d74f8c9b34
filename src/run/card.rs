//! `RUN/MODEL.md`: a model card in the style of the Hugging Face Hub's (YAML front matter for
//! tools, then prose for people), written at the end of every finished run.

use super::RunSpec;
use crate::alphabet::TokenizerKind;

/// What a card says beyond the run's specification: figures measured at the end of the run.
#[derive(Debug, Clone, Default)]
pub struct CardFacts {
    /// Run directory, as given.
    pub run: String,
    /// Trainable parameters.
    pub parameters: usize,
    /// Steps trained.
    pub steps: u64,
    /// Held-out ELBO bound, bits per token, its standard error, and how many held-out
    /// sequences it used.
    pub held_out: Option<(f64, f64, usize)>,
    /// Times per sequence of that bound (1 for the training curve's last point, 16 for the
    /// end-of-run report's).
    pub held_out_times: usize,
    /// The best Markov chain on the same split: order, bits per token on the same held-out
    /// sequences as the model's bound, and the orders scanned.
    pub markov: Option<(usize, f64, String)>,
    /// The sampler the end-of-run report used, its steps and controls, in words.
    pub sampler: String,
    /// The `sample` flags that ask for the report's sampler controls (empty for the model's
    /// own process), e.g. ` --temperature 0.8`.
    pub sampler_flags: String,
    /// The command line that made the run.
    pub command: String,
    /// An infilling template for the model's alphabet and length (`Template::example`).
    pub template: String,
    /// How the alphabet splits text: molecules (SMILES, SELFIES) get a chemist's intended use,
    /// `.smi` example files and, for SELFIES, the sampler that completes its strings, whatever
    /// the alphabet is named.
    pub tokenizer: TokenizerKind,
}

/// Quotes a YAML scalar when it could be read as something else.
fn yaml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The card: YAML front matter (alphabet, sizes, data and digest, steps, bounds, baseline,
/// sampler) and the same in prose, with the commands to use the model.
///
/// ```
/// use seddbio::run::{model_card, CardFacts, RunSpec, TrainConfig};
/// # use seddbio::{data::LayoutKind, diffusion::{GraphKind, NoiseSchedule}};
/// # let spec = RunSpec {
/// #     seddbio_version: "0.1.0".into(), alphabet: "dna".into(), num_symbols: 4,
/// #     graph: GraphKind::Absorb, noise: NoiseSchedule::log_linear(), seed: 0, seq_len: 200,
/// #     layout: LayoutKind::Windows, train_file: "dhs.tsv".into(), length_counts: vec![],
/// #     config: TrainConfig::resolve("tiny").unwrap(), threads: 2, data_digest: None,
/// #     init_from: None,
/// #     labels: Vec::new(), reweight: None,
/// # };
/// let card = model_card(&spec, &CardFacts {
///     run: "runs/x".into(),
///     held_out: Some((1.90, 0.01, 256)),
///     held_out_times: 16,
///     markov: Some((6, 1.91, "0..8".into())),
///     ..CardFacts::default()
/// });
/// assert!(card.starts_with("---\nlibrary_name: seddbio\n"));
/// assert!(card.contains("held_out_bits_per_token: 1.9000"));
/// assert!(card.contains("beats the best Markov chain"));
/// ```
pub fn model_card(spec: &RunSpec, facts: &CardFacts) -> String {
    let model = &spec.config.model;
    let training = &spec.config.training;
    let digest = spec.data_digest.as_deref().unwrap_or("not recorded");
    let mut text = front_matter(spec, facts);
    text.push_str(&format!(
        "# {}\n\nA Score Entropy Discrete Diffusion model ([Lou, Meng and Ermon, 2024](https://arxiv.org/abs/2310.16834)) \
         of {} sequences, trained with seddbio {}.\n\n",
        facts.run, spec.alphabet, spec.seddbio_version
    ));
    text.push_str(&format!(
        "## Model\n\n- {} parameters: {} DiT blocks of width {}, {} heads, time conditioning of width {}{}\n\
         - {} forward process, {} noise schedule, {} tokens (`alphabet.toml`)\n\
         - {} positions per sequence ({} layout), {} positions\n{}\n",
        facts.parameters,
        model.num_blocks,
        model.d_model,
        model.num_heads,
        model.cond_dim,
        match model.conv_kernel {
            0 => String::new(),
            taps => format!(
                "; q, k and v convolved over {taps} positions before the attention (`conv_kernel`)"
            ),
        },
        spec.graph,
        spec.noise,
        spec.num_symbols,
        spec.seq_len,
        spec.layout,
        model.position,
        match spec.labels.is_empty() {
            true => String::new(),
            false => format!(
                "- conditional on {} labels ({}) through a class embedding into the adaLN conditioning; \
                 label dropout {} (the null label, for classifier-free guidance: `sample --label L --guidance W`)\n",
                spec.labels.len(),
                spec.labels.join(", "),
                training.label_dropout
            ),
        }
    ));
    text.push_str(&intended_use(spec, facts.tokenizer));
    text.push_str(&format!(
        "## Training data\n\n- `{}` (FNV-1a digest of the prepared examples: `{digest}`), \
         read with the `{}` alphabet into {} positions per sequence ({} layout){}\n\n",
        spec.train_file,
        spec.alphabet,
        spec.seq_len,
        spec.layout,
        match spec.labels.is_empty() {
            true => String::new(),
            false => format!("; labels {}", spec.labels.join(", ")),
        }
    ));
    text.push_str(&format!(
        "## Training procedure\n\n- {} steps of {} sequences, AdamW at learning rate {} ({} after a \
         warm-up of {} steps), weight decay {}, gradient norm clipped to {}, EMA of the weights \
         with decay {}, seed {}\n\
         - loss: the diffusion weighted denoising score entropy (DSE), one time per sequence\n",
        facts.steps,
        training.batch_size,
        training.lr,
        training.lr_schedule,
        training.warmup_steps,
        training.weight_decay,
        training.grad_clip,
        training.ema_decay,
        spec.seed
    ));
    if let Some(source) = &spec.init_from {
        text.push_str(&format!(
            "- fine-tuned from `{}` (its step {})\n",
            source.run, source.step
        ));
    }
    text.push_str("\n## Evaluation\n\n");
    text.push_str(&results_section(facts));
    let run = &facts.run;
    let ext = match is_chemical(facts.tokenizer) {
        // A SELFIES model writes SMILES too.
        true => "smi",
        false => "fasta",
    };
    // A conditional model's examples sample under its first label.
    let label = spec
        .labels
        .first()
        .map(|label| format!(" --label {label}"))
        .unwrap_or_default();
    // A SELFIES string cut short by valence loses its last symbols; drawing again until every
    // symbol is in the molecule brings the samples nearer the data (docs/design.md, §14): the
    // best sampler measured for SELFIES models.
    let complete = match facts.tokenizer {
        TokenizerKind::Selfies => format!(
            "seddbio sample --model {run}{label} -n 100 --sampler first-hitting --selfies-draws 32 \
             -o complete.{ext}   # each sample drawn again until its SELFIES string is complete\n"
        ),
        _ => String::new(),
    };
    text.push_str(&format!(
        "\nThe end-of-run report, if made, is in `report/` (samples against held-out data: k-mer \
         spectra beside their floor, lengths, composition, novelty).\n\n\
         ## Use\n\n```sh\nseddbio sample --model {run}{label} -n 100{} -o samples.{ext}   # {}\n{complete}\
         seddbio infill --model {run}{label} --template '{}' -n 10 -o infilled.{ext}\n\
         seddbio score --model {run} sequences.{ext} -o scores.csv\n\
         seddbio weights export --model {run} -o model.safetensors\n```\n\n\
         The last writes the weights for NumPy, PyTorch or the Hugging Face Hub (tensor names in \
         seddbio's guide, \"Weights as safetensors\").\n\n\
         ## Citation\n\n```bibtex\n{CITATION}```\n\n\
         ## Made by\n\n```sh\n{}\n```\n",
        facts.sampler_flags,
        facts.sampler,
        facts.template,
        facts.command,
    ));
    text
}

/// The card's YAML front matter, the fields model hubs index.
fn front_matter(spec: &RunSpec, facts: &CardFacts) -> String {
    let model = &spec.config.model;
    let training = &spec.config.training;
    let digest = spec.data_digest.as_deref().unwrap_or("not recorded");
    let mut yaml = String::from("---\nlibrary_name: seddbio\n");
    let mut line = |key: &str, value: String| yaml.push_str(&format!("{key}: {value}\n"));
    // The weights derive from the training data, whose terms seddbio cannot know.
    line("license", "other".into());
    line(
        "license_name",
        yaml_string("unspecified: the training data's terms apply; state them before sharing"),
    );
    line(
        "datasets",
        format!("[{}]", yaml_string(&file_name(&spec.train_file))),
    );
    if let Some(source) = &spec.init_from {
        line("base_model", yaml_string(&source.run));
    }
    line(
        "tags",
        format!(
            "[discrete-diffusion, score-entropy, sedd, {}]",
            spec.alphabet
        ),
    );
    line("seddbio_version", yaml_string(&spec.seddbio_version));
    line("alphabet", yaml_string(&spec.alphabet));
    line("vocabulary_size", spec.num_symbols.to_string());
    line("graph", spec.graph.to_string());
    line("noise", yaml_string(&spec.noise.to_string()));
    line("parameters", facts.parameters.to_string());
    line(
        "model",
        format!(
            "{{d_model: {}, num_blocks: {}, num_heads: {}, cond_dim: {}, dropout: {}, conv_kernel: {}}}",
            model.d_model,
            model.num_blocks,
            model.num_heads,
            model.cond_dim,
            model.dropout,
            model.conv_kernel
        ),
    );
    line("seq_len", spec.seq_len.to_string());
    line("layout", spec.layout.to_string());
    line("position", model.position.to_string());
    if !spec.labels.is_empty() {
        let labels: Vec<String> = spec.labels.iter().map(|l| yaml_string(l)).collect();
        line("labels", format!("[{}]", labels.join(", ")));
        line("label_dropout", training.label_dropout.to_string());
    }
    line("training_data", yaml_string(&spec.train_file));
    line("training_data_digest", yaml_string(digest));
    if let Some(source) = &spec.init_from {
        line(
            "init_from",
            format!(
                "{{run: {}, step: {}}}",
                yaml_string(&source.run),
                source.step
            ),
        );
    }
    line("steps", facts.steps.to_string());
    line("batch_size", training.batch_size.to_string());
    line("seed", spec.seed.to_string());
    if let Some((bits, se, n)) = facts.held_out {
        line("held_out_bits_per_token", format!("{bits:.4}"));
        line("held_out_bits_per_token_se", format!("{se:.4}"));
        line("held_out_sequences", n.to_string());
        line(
            "held_out_times_per_sequence",
            facts.held_out_times.to_string(),
        );
    }
    if let Some((order, bits, _)) = &facts.markov {
        line(
            "markov_baseline",
            format!("{{order: {order}, bits_per_token: {bits:.4}}}"),
        );
    }
    line("sampler", yaml_string(&facts.sampler));
    if let Some((bits, _, _)) = facts.held_out {
        // The Hub's evaluation results: one task, the held-out bound (and the Markov chain's
        // on the same sequences, for comparison).
        yaml.push_str(&format!(
            "model-index:\n- name: {}\n  results:\n  - task:\n      type: sequence-generation\n      \
             name: {} sequence generation\n    dataset:\n      type: {}\n      name: {}\n      \
             split: validation\n    metrics:\n    - type: bits_per_token\n      value: {bits:.4}\n      \
             name: held-out ELBO bound (bits/token, EMA weights)\n",
            yaml_string(&facts.run),
            spec.alphabet,
            yaml_string(&file_name(&spec.train_file)),
            yaml_string(&file_name(&spec.train_file)),
        ));
        if let Some((order, markov, _)) = &facts.markov {
            yaml.push_str(&format!(
                "    - type: bits_per_token\n      value: {markov:.4}\n      \
                 name: best Markov chain (order {order}) on the same sequences\n"
            ));
        }
    }
    yaml.push_str("---\n\n");
    yaml
}

/// The last component of `path` (the data set's name for the card).
fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// BibTeX of the method.
const CITATION: &str = "@inproceedings{lou2024discrete,\n  title = {Discrete Diffusion Modeling by Estimating the Ratios of the Data Distribution},\n  author = {Lou, Aaron and Meng, Chenlin and Ermon, Stefano},\n  booktitle = {Proceedings of the 41st International Conference on Machine Learning},\n  year = {2024}\n}\n";

/// Whether the alphabet's sequences are molecules (SMILES, SELFIES) rather than biological
/// sequences.
fn is_chemical(tokenizer: TokenizerKind) -> bool {
    matches!(tokenizer, TokenizerKind::Smiles | TokenizerKind::Selfies)
}

/// The card's intended use, limitations and biosecurity note, in the alphabet's terms.
fn intended_use(spec: &RunSpec, tokenizer: TokenizerKind) -> String {
    let (things, check) = match is_chemical(tokenizer) {
        true => (
            "molecules",
            "validity, uniqueness, novelty and the MOSES metrics (`seddbio eval`)",
        ),
        false => (
            "sequences",
            "k-mer spectra, composition, motif rates per label and nearest-training identity (`seddbio eval`)",
        ),
    };
    let conditional = match spec.labels.is_empty() {
        true => String::new(),
        false => format!(" under one of its labels ({})", spec.labels.join(", ")),
    };
    let screen = match is_chemical(tokenizer) {
        true => {
            "Generated molecules are unscreened: before making one, check it against \
                 controlled-substance and chemical-weapons precursor lists (e.g. the Chemical \
                 Weapons Convention schedules) and for toxicity."
        }
        false => {
            "Generated sequences are unscreened: before synthesising one, screen it for \
                  sequences of concern as DNA synthesis providers do (the IGSC Harmonized \
                  Screening Protocol, the HHS Screening Framework Guidance). Do not train or \
                  fine-tune on pathogen or toxin sequences to generate more of them."
        }
    };
    format!(
        "## Intended use\n\nResearch: sampling {alphabet} {things} that resemble the training \
         data{conditional}, filling in templates around fixed symbols or motifs (`infill`), and \
         scoring sequences by their ELBO bound (`score`: likelihoods, variant effects). Samples \
         are hypotheses to test, not designs ready for use.\n\n\
         ## Limitations\n\n- The model knows its training data only: {len} positions per \
         sequence, one data set; sequences longer than {len} cannot be scored or sampled, and \
         {things} unlike the data get bounds and samples of little meaning.\n\
         - The held-out bound is an upper bound on the bits per token; it says how well the model \
         fits held-out data, not whether samples are useful. Check samples with what users look \
         at: {check}.\n\
         - No safety, function or synthesisability filter is applied to what it generates.\n\n\
         ## Biosecurity\n\n{screen}\n\n",
        alphabet = spec.alphabet,
        len = spec.seq_len,
    )
}

/// The card's results: the held-out bound beside the best Markov chain.
fn results_section(facts: &CardFacts) -> String {
    match (facts.held_out, &facts.markov) {
        (Some((bits, se, n)), Some((order, markov, orders))) => {
            let verdict = if bits < *markov {
                "beats the best Markov chain"
            } else {
                "does not beat the best Markov chain: it has not learned what a chain of that order knows"
            };
            format!(
                "- held-out ELBO bound: **{bits:.4} ± {se:.4} bits/token** ({n} validation sequences, {} times each, EMA weights)\n\
                 - best Markov chain on the same split (orders {orders}, chosen on all held-out sequences): order {order}, {markov:.4} bits/token on the same sequences\n\
                 - the model {verdict} by {:.4} bits/token\n",
                facts.held_out_times,
                (markov - bits).abs()
            )
        }
        (Some((bits, se, n)), None) => format!(
            "- held-out ELBO bound: **{bits:.4} ± {se:.4} bits/token** ({n} validation sequences, {} times each); \
             no Markov baseline was computed (the end-of-run report was skipped)\n",
            facts.held_out_times
        ),
        _ => String::from("- no held-out data: nothing measured\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        data::LayoutKind,
        diffusion::{GraphKind, NoiseSchedule},
        run::TrainConfig,
    };

    fn spec(alphabet: &str) -> RunSpec {
        RunSpec {
            seddbio_version: "0.1.0".into(),
            alphabet: alphabet.into(),
            num_symbols: 40,
            graph: GraphKind::Absorb,
            noise: NoiseSchedule::log_linear(),
            seed: 0,
            seq_len: 64,
            layout: LayoutKind::Padded,
            train_file: "molecules.smi".into(),
            length_counts: vec![],
            config: TrainConfig::resolve("tiny").expect("the tiny preset"),
            threads: 1,
            data_digest: None,
            init_from: None,
            labels: Vec::new(),
            reweight: None,
        }
    }

    #[test]
    fn a_card_reads_molecules_from_the_tokenizer_not_the_alphabets_name() {
        // A user's alphabet file with the SELFIES tokenizer, under a name of its own.
        let facts = CardFacts {
            run: "runs/mine".into(),
            tokenizer: TokenizerKind::Selfies,
            ..CardFacts::default()
        };
        let card = model_card(&spec("my-selfies"), &facts);
        assert!(card.contains("--selfies-draws 32"), "{card}");
        assert!(card.contains("-o samples.smi"), "{card}");
        assert!(
            card.contains("Generated molecules are unscreened"),
            "{card}"
        );

        let card = model_card(
            &spec("my-smiles"),
            &CardFacts {
                tokenizer: TokenizerKind::Smiles,
                ..facts.clone()
            },
        );
        assert!(!card.contains("--selfies-draws"), "{card}");
        assert!(card.contains("-o samples.smi"), "{card}");

        let card = model_card(
            &spec("dna"),
            &CardFacts {
                tokenizer: TokenizerKind::Char,
                ..facts
            },
        );
        assert!(!card.contains("--selfies-draws"), "{card}");
        assert!(card.contains("-o samples.fasta"), "{card}");
        assert!(
            card.contains("Generated sequences are unscreened"),
            "{card}"
        );
    }

    #[test]
    fn a_card_names_the_convolution_of_q_k_and_v() {
        let mut plain = spec("dna");
        plain.config = TrainConfig::resolve("tiny-plain").expect("tiny-plain");
        let card = model_card(&plain, &CardFacts::default());
        assert!(card.contains("dropout: 0, conv_kernel: 0}"), "{card}");
        assert!(!card.contains("convolved"), "{card}");
        // tiny has nine taps: the front matter and the model section say so.
        let card = model_card(&spec("dna"), &CardFacts::default());
        assert!(card.contains("dropout: 0, conv_kernel: 9}"), "{card}");
        assert!(
            card.contains("width 64; q, k and v convolved over 9 positions before the attention"),
            "{card}"
        );
    }
}
