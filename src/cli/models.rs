//! `seddbio models`: the bundled models, by name, with what they were trained on and their
//! held-out figures; `seddbio models NAME` prints one's model card.

use anyhow::{bail, Context, Result};
use clap::Args;
use seddbio::data::thousands;
use seddbio::run::{bundled_models, models_dir, MODELS_ENV};

use super::print_stdout;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Print this model's card (MODEL.md) instead of the list.
    pub name: Option<String>,
}

pub fn run(args: ModelsArgs) -> Result<()> {
    let models = bundled_models()?;
    let dir = models_dir();
    if let Some(name) = &args.name {
        let Some(model) = models.iter().find(|m| m.name() == name) else {
            bail!(
                "no bundled model '{name}' in {} (bundled: {})",
                dir.display(),
                models
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let card = std::fs::read_to_string(model.card())
            .with_context(|| format!("reading {}", model.card().display()))?;
        return print_stdout(&card);
    }
    if models.is_empty() {
        return print_stdout(&format!(
            "no bundled models in {} (set {MODELS_ENV} to the folder that holds them)\n",
            dir.display()
        ));
    }
    let mut text = String::new();
    for model in &models {
        let (facts, weights) = (model.facts(), model.weights());
        let held_out = &facts.held_out;
        text.push_str(&format!(
            "{}  {}, {} parameters, {:.1} MB, {} positions{}\n  {}\n  data: {}\n  trained: {} ({} step{})\n  \
             held out: {:.4} ± {:.4} bits/token against {:.4} for the order-{} Markov chain ({})\n\n",
            model.name(),
            weights.alphabet,
            weights.parameters,
            model.bytes() as f64 / 1e6,
            weights.seq_len,
            match weights.labels.is_empty() {
                true => String::new(),
                false => format!(", labels {}", weights.labels.join(", ")),
            },
            facts.description,
            facts.data,
            facts.training,
            thousands(weights.step),
            if weights.step == 1 { "" } else { "s" },
            held_out.bits_per_token,
            held_out.standard_error,
            held_out.markov_bits_per_token,
            held_out.markov_order,
            held_out.split,
        ));
    }
    text.push_str(&format!(
        "from {}; use one with --model NAME (sample, infill, score, eval, weights export) or \
         train --init-from NAME\n",
        dir.display()
    ));
    print_stdout(&text)
}
