//! Infilling templates: which positions are fixed, constrained or free.
//!
//! Grammar (also in docs/guide.md, "Infilling", and `seddbio infill --help`):
//! - a symbol of the alphabet is fixed (`ACGT`; protein letters; SMILES tokens such as `Cl` or
//!   `[nH]`);
//! - `[MASK]` is one free position, `[MASK:20]` a run of 20, `[MASK:50-80]` a run whose length
//!   is drawn for each sample, uniformly from 50 to 80 (scaffolding a motif at a distance that
//!   varies);
//! - an ambiguity code of the alphabet (DNA IUPAC `R Y S W K M B D H V N`) allows its set at
//!   that position, so `N` is free;
//! - `{motif:MA0108.3}` places a motif from `--motifs FILE`, as its consensus or as an
//!   instance drawn from its frequency matrix for each sample.

use rand::{Rng, RngExt};

use super::Slot;
use crate::{
    alphabet::{Alphabet, Symbol, TokenId, TokenizerKind},
    motif::Motif,
    Error, Result,
};

/// How a `{motif:ID}` becomes bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MotifMode {
    /// The most frequent base of each column, the same in every sample.
    #[default]
    Consensus,
    /// A fresh instance per sample, each base drawn from its column's frequencies.
    Sample,
}

crate::choices::named_choices!(MotifMode, "motif mode", {
    Consensus => "consensus",
    Sample => "sample",
});

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Slot(Slot),
    /// A run of free positions whose length is drawn for each sample, uniformly in
    /// `min..=max` (`min < max`).
    Gap {
        min: usize,
        max: usize,
    },
    /// Token ids of A, C, G, T and the column frequencies.
    Motif {
        bases: [TokenId; 4],
        columns: Vec<[f64; 4]>,
    },
}

/// A parsed template.
///
/// ```
/// use seddbio::{alphabet::Alphabet, sample::{MotifMode, Slot, Template}};
///
/// let dna = Alphabet::builtin("dna").unwrap();
/// let template = Template::parse("AC[MASK:2]R", &dna, &[]).unwrap();
/// assert_eq!(template.len(), 5);
/// let mut rng = rand::rngs::ChaCha8Rng::from_seed([0; 32]);
/// # use rand::SeedableRng;
/// let slots = template.slots(MotifMode::Consensus, &mut rng);
/// assert_eq!(slots[0], Slot::Fixed(0));
/// assert_eq!(slots[2], Slot::Free);
/// assert_eq!(slots[4], Slot::OneOf(vec![0, 2]));
/// assert!(Template::parse("AC[MASK", &dna, &[]).unwrap_err().to_string().contains("position 3"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// The most positions a template may expand to: far beyond any model's length, small enough
/// that a typo such as `[MASK:4000000000]` is an error rather than an allocation of gigabytes.
pub const MAX_TEMPLATE_POSITIONS: usize = 1 << 20;

/// The most positions `pieces` can expand to.
fn longest(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Slot(_) => 1,
            Piece::Gap { max, .. } => *max,
            Piece::Motif { columns, .. } => columns.len(),
        })
        .sum()
}

/// The shortest and longest run `MASK`, `MASK:n` or `MASK:a-b` (what is inside the brackets)
/// asks for; `None` unless `1 <= a <= b`.
fn mask_run(inner: &str) -> Option<(usize, usize)> {
    let rest = inner.strip_prefix("MASK")?;
    if rest.is_empty() {
        return Some((1, 1));
    }
    let count = rest.strip_prefix(':')?;
    let (min, max) = match count.split_once('-') {
        Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
        None => {
            let n = count.parse::<usize>().ok()?;
            (n, n)
        }
    };
    (min >= 1 && min <= max).then_some((min, max))
}

fn fail(text: &str, position: usize, why: impl std::fmt::Display) -> Error {
    // The template is shown escaped: one from a file may hold line breaks, and the error is
    // one line.
    Error::Template {
        template: text.to_string(),
        message: format!("position {position}: {why}"),
        needs_motifs: false,
    }
}

impl Template {
    /// A short template for examples (a model card's), valid for `alphabet` and sequences of
    /// `length` positions: up to four of the alphabet's letters (one atom, `C` where there is
    /// one, for SMILES; `[C]` for SELFIES), then a run of at most 20 free positions.
    ///
    /// ```
    /// use seddbio::{alphabet::Alphabet, sample::Template};
    ///
    /// let rna = Alphabet::builtin("rna").unwrap();
    /// assert_eq!(Template::example(&rna, 200), "ACGU[MASK:20]");
    /// assert!(Template::parse(&Template::example(&rna, 6), &rna, &[]).unwrap().len() <= 6);
    /// ```
    pub fn example(alphabet: &Alphabet, length: usize) -> String {
        let letters: Vec<&str> = (0..alphabet.num_symbols())
            .filter_map(|id| alphabet.token(id as TokenId))
            .filter(|t| t.len() == 1 && t.bytes().all(|b| b.is_ascii_alphabetic()))
            .collect();
        let most = length.saturating_sub(1);
        let fixed: Vec<&str> = match alphabet.tokenizer() {
            TokenizerKind::Smiles => letters
                .iter()
                .find(|t| **t == "C")
                .or(letters.first())
                .into_iter()
                .copied()
                .take(most)
                .collect(),
            TokenizerKind::Char => letters.into_iter().take(4.min(most)).collect(),
            // One carbon atom, as a SELFIES symbol.
            TokenizerKind::Selfies => (0..alphabet.num_symbols())
                .filter_map(|id| alphabet.token(id as TokenId))
                .find(|t| *t == "[C]")
                .into_iter()
                .take(most)
                .collect(),
        };
        let free = length.saturating_sub(fixed.len()).clamp(1, 20);
        format!("{}[MASK:{free}]", fixed.concat())
    }

    /// Parses `text` for `alphabet`; `motifs` are what `{motif:ID}` may name. Errors give the
    /// 1-based character position and the reason.
    pub fn parse(text: &str, alphabet: &Alphabet, motifs: &[Motif]) -> Result<Template> {
        // Every alphabet symbol and every piece of the grammar is ASCII; checking first keeps
        // the byte offsets below on character boundaries.
        if let Some((index, c)) = text.chars().enumerate().find(|(_, c)| !c.is_ascii()) {
            return Err(fail(
                text,
                index + 1,
                format!(
                    "{c:?} (U+{:04X}) is not ASCII; a template holds alphabet symbols, [MASK], [MASK:n] and {{motif:ID}}",
                    u32::from(c)
                ),
            ));
        }
        let bytes = text.as_bytes();
        let mut pieces = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let position = i + 1;
            match bytes[i] {
                b'[' if text[i..].starts_with("[MASK") => {
                    let close = text[i..]
                        .find(']')
                        .ok_or_else(|| fail(text, position, "'[MASK' has no closing ']'"))?;
                    let inner = &text[i + 1..i + close];
                    let (min, max) = mask_run(inner).ok_or_else(|| {
                        fail(
                            text,
                            position,
                            format!(
                                "'[{}]' is not [MASK], [MASK:n] or [MASK:a-b] with 1 <= a <= b",
                                inner.escape_debug()
                            ),
                        )
                    })?;
                    if longest(&pieces).saturating_add(max) > MAX_TEMPLATE_POSITIONS {
                        return Err(fail(
                            text,
                            position,
                            format!(
                                "the template would have more than {MAX_TEMPLATE_POSITIONS} positions"
                            ),
                        ));
                    }
                    match min == max {
                        true => pieces.extend(std::iter::repeat_n(Piece::Slot(Slot::Free), max)),
                        false => pieces.push(Piece::Gap { min, max }),
                    }
                    i += close + 1;
                }
                b'{' => {
                    let close = text[i..]
                        .find('}')
                        .ok_or_else(|| fail(text, position, "'{' has no closing '}'"))?;
                    let inner = &text[i + 1..i + close];
                    let id = inner.strip_prefix("motif:").ok_or_else(|| {
                        fail(
                            text,
                            position,
                            format!("'{{{}}}' is not {{motif:ID}}", inner.escape_debug()),
                        )
                    })?;
                    pieces.push(motif_piece(text, position, id, alphabet, motifs)?);
                    i += close + 1;
                }
                b'}' => return Err(fail(text, position, "unbalanced '}'")),
                b']' if alphabet.tokenizer() == TokenizerKind::Char => {
                    return Err(fail(
                        text,
                        position,
                        format!("unbalanced '{}'", bytes[i] as char),
                    ));
                }
                b'[' if alphabet.tokenizer() == TokenizerKind::Char => {
                    return Err(fail(
                        text,
                        position,
                        "'[' starts neither [MASK] nor [MASK:n]",
                    ));
                }
                _ => {
                    // A run of literal symbols up to the next bracket ([MASK or { for SMILES,
                    // whose bracket atoms are literal).
                    let special: &[u8] = match alphabet.tokenizer() {
                        TokenizerKind::Char => b"[]{}",
                        TokenizerKind::Smiles | TokenizerKind::Selfies => b"{}",
                    };
                    let end = [
                        text[i..].find("[MASK"),
                        bytes[i..].iter().position(|b| special.contains(b)),
                    ]
                    .into_iter()
                    .flatten()
                    .min()
                    .map_or(bytes.len(), |offset| i + offset);
                    pieces.extend(literal_pieces(text, i, &text[i..end], alphabet)?);
                    i = end;
                }
            }
        }
        if pieces.is_empty() {
            return Err(Error::Template {
                template: text.to_string(),
                message: "empty".into(),
                needs_motifs: false,
            });
        }
        Ok(Template { pieces })
    }

    /// Positions; the most a sample can have when a gap's length is drawn.
    pub fn len(&self) -> usize {
        longest(&self.pieces)
    }

    /// Whether a gap's length is drawn for each sample (`[MASK:a-b]`), so that samples differ
    /// in length.
    pub fn varies(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Gap { .. }))
    }

    /// Whether it has no positions (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slots of one sample (motif instances drawn anew in [`MotifMode::Sample`], gap
    /// lengths drawn anew always).
    pub fn slots<R: Rng + ?Sized>(&self, mode: MotifMode, rng: &mut R) -> Vec<Slot> {
        self.draw(mode, rng).0
    }

    /// The slots of one sample and the length drawn for each `[MASK:a-b]` gap, in order.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// use seddbio::{alphabet::Alphabet, sample::{MotifMode, Template}};
    ///
    /// let dna = Alphabet::builtin("dna").unwrap();
    /// let template = Template::parse("AC[MASK:3-6]T", &dna, &[]).unwrap();
    /// assert_eq!(template.len(), 9);
    /// let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
    /// let (slots, gaps) = template.draw(MotifMode::Consensus, &mut rng);
    /// assert!((3..=6).contains(&gaps[0]));
    /// assert_eq!(slots.len(), 3 + gaps[0]);
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, mode: MotifMode, rng: &mut R) -> (Vec<Slot>, Vec<usize>) {
        let mut slots = Vec::with_capacity(self.len());
        let mut gaps = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Slot(slot) => slots.push(slot.clone()),
                Piece::Gap { min, max } => {
                    let length = rng.random_range(*min..=*max);
                    slots.extend(std::iter::repeat_n(Slot::Free, length));
                    gaps.push(length);
                }
                Piece::Motif { bases, columns } => {
                    for column in columns {
                        let base = match mode {
                            MotifMode::Consensus => (0..4)
                                .max_by(|&a, &b| column[a].total_cmp(&column[b]))
                                .unwrap_or(0),
                            MotifMode::Sample => {
                                let total: f64 = column.iter().sum();
                                let mut u = rng.random::<f64>() * total;
                                (0..4)
                                    .find(|&b| {
                                        u -= column[b];
                                        u < 0.0
                                    })
                                    .unwrap_or(3)
                            }
                        };
                        slots.push(Slot::Fixed(bases[base]));
                    }
                }
            }
        }
        (slots, gaps)
    }
}

fn motif_piece(
    text: &str,
    position: usize,
    id: &str,
    alphabet: &Alphabet,
    motifs: &[Motif],
) -> Result<Piece> {
    if motifs.is_empty() {
        return Err(Error::Template {
            template: text.to_string(),
            message: format!(
                "position {position}: {{motif:{id}}} needs a motif file (JASPAR or MEME)"
            ),
            needs_motifs: true,
        });
    }
    let motif = motifs.iter().find(|m| m.id == id).ok_or_else(|| {
        let stem = id.split('.').next().unwrap_or(id);
        let similar: Vec<&str> = motifs
            .iter()
            .filter(|m| m.id.starts_with(stem) || m.name.eq_ignore_ascii_case(id))
            .map(|m| m.id.as_str())
            .take(5)
            .collect();
        let hint = if similar.is_empty() {
            String::new()
        } else {
            format!("; similar: {}", similar.join(", "))
        };
        fail(
            text,
            position,
            format!(
                "motif '{}' is not among the {} motifs of the motif file{hint}",
                id.escape_debug(),
                motifs.len()
            ),
        )
    })?;
    let base = |symbols: &[&str]| symbols.iter().find_map(|s| alphabet.id(s));
    let bases = match (base(&["A"]), base(&["C"]), base(&["G"]), base(&["T", "U"])) {
        (Some(a), Some(c), Some(g), Some(t)) => [a, c, g, t],
        _ => {
            return Err(fail(
                text,
                position,
                format!(
                    "motifs need a nucleotide alphabet, not '{}'",
                    alphabet.name()
                ),
            ));
        }
    };
    Ok(Piece::Motif {
        bases,
        columns: motif.counts.clone(),
    })
}

fn literal_pieces(text: &str, start: usize, run: &str, alphabet: &Alphabet) -> Result<Vec<Piece>> {
    let symbols = alphabet
        .symbols_of(run.as_bytes())
        .map_err(|e| fail(text, start + e.offset + 1, e.message))?;
    let ambiguity = &alphabet.spec().ambiguity;
    symbols
        .into_iter()
        .map(|symbol| match symbol {
            Symbol::Known(id) => Ok(Piece::Slot(Slot::Fixed(id))),
            Symbol::Unknown { offset, len } => {
                let found = &run[offset..offset + len];
                let key = if alphabet.spec().case_sensitive {
                    found.to_string()
                } else {
                    found.to_ascii_uppercase()
                };
                match ambiguity.get(&key) {
                    Some(set) => Ok(Piece::Slot(Slot::OneOf(
                        set.iter().filter_map(|s| alphabet.id(s)).collect(),
                    ))),
                    None => {
                        // What the alphabet knows of the symbol, without repeating that it is
                        // not in the alphabet.
                        let not_in = format!("not in the {} alphabet", alphabet.name());
                        let what = alphabet.describe_unknown(found);
                        let what = match what.strip_suffix(&format!(", {not_in}")) {
                            Some(known) => format!(" ({known})"),
                            None if what == not_in => String::new(),
                            None => format!(" ({what})"),
                        };
                        Err(fail(
                            text,
                            start + offset + 1,
                            format!(
                                "'{}' is not a symbol of the {} alphabet{what}",
                                found.escape_debug(),
                                alphabet.name(),
                            ),
                        ))
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn dna() -> Alphabet {
        Alphabet::builtin("dna").unwrap()
    }

    fn tbp() -> Motif {
        Motif {
            id: "MA0108.3".into(),
            name: "TBP".into(),
            counts: vec![
                [0.0, 0.0, 0.0, 10.0],
                [10.0, 0.0, 0.0, 0.0],
                [6.0, 0.0, 0.0, 4.0],
            ],
        }
    }

    #[test]
    fn every_piece_of_the_grammar() {
        let template =
            Template::parse("acN[MASK:3]{motif:MA0108.3}[MASK]", &dna(), &[tbp()]).unwrap();
        assert_eq!(template.len(), 3 + 3 + 3 + 1);
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
        let slots = template.slots(MotifMode::Consensus, &mut rng);
        assert_eq!(
            slots[..3],
            [
                Slot::Fixed(0),
                Slot::Fixed(1),
                Slot::OneOf(vec![0, 1, 2, 3])
            ]
        );
        assert_eq!(
            slots[6..9],
            [Slot::Fixed(3), Slot::Fixed(0), Slot::Fixed(0)]
        );
        // Sampled instances follow the column frequencies: the last column is A or T.
        let mut seen = [0; 4];
        for _ in 0..200 {
            if let Slot::Fixed(t) = template.slots(MotifMode::Sample, &mut rng)[8] {
                seen[usize::from(t)] += 1;
            }
        }
        assert!(
            seen[0] > 60 && seen[3] > 60 && seen[1] + seen[2] == 0,
            "{seen:?}"
        );
    }

    #[test]
    fn smiles_templates_use_smiles_tokens() {
        let smiles = Alphabet::builtin("smiles").unwrap();
        let template = Template::parse("c1cc[nH]c1[MASK:4]Cl", &smiles, &[]).unwrap();
        // c 1 c c [nH] c 1, four masks, Cl.
        assert_eq!(template.len(), 7 + 4 + 1);
    }

    #[test]
    fn errors_name_the_position_and_the_reason() {
        let cases = [
            ("ACGX", "position 4", "'X'"),
            ("AC[MASK:0]", "position 3", "[MASK:n]"),
            ("AC[MASK:3", "position 3", "no closing"),
            ("AC{motif:MA0108.3", "position 3", "no closing"),
            ("ACG]", "position 4", "unbalanced"),
            ("A{motif:MA9999.1}", "position 2", "not among"),
            ("A{motif:MA0108.2}", "position 2", "similar: MA0108.3"),
            ("A[N]", "position 2", "neither"),
            // Non-ASCII text: once a panic at a character boundary.
            ("ACGTé[MASK:5]", "position 5", "not ASCII"),
            ("🧬ACG", "position 1", "U+1F9EC"),
            ("AC\u{FFFE}", "position 3", "not ASCII"),
            // Once an attempt to allocate 224 GB.
            (
                "AC[MASK:4000000000]",
                "position 3",
                "more than 1048576 positions",
            ),
            ("[MASK:1048576][MASK]", "position 15", "more than"),
        ];
        for (text, position, reason) in cases {
            let error = Template::parse(text, &dna(), &[tbp()])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(position) && error.contains(reason),
                "{text}: {error}"
            );
        }
        let error = Template::parse("A{motif:MA0108.3}", &dna(), &[]).unwrap_err();
        assert!(
            matches!(
                error,
                Error::Template {
                    needs_motifs: true,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("needs a motif file"), "{error}");
    }

    #[test]
    fn random_and_mutated_templates_parse_or_fail_on_one_line() {
        let pieces: &[&[u8]] = &[
            b"A",
            b"C",
            b"G",
            b"T",
            b"ACGT",
            b"N",
            b"[MASK]",
            b"[MASK:",
            b"3",
            b"0",
            b"]",
            b"[MASK:12]",
            b"{motif:",
            b"MA0108.3",
            b"}",
            b"{",
            b"[",
            b"\n",
            b" ",
            b"CCO",
            b"[nH]",
            b"c1",
            b"99999999999999999999",
        ];
        let well_formed: &[&[u8]] = &[b"A", b"C", b"[MASK]", b"[MASK:7]", b"{motif:MA0108.3}"];
        let valid = b"ACG[MASK:5]{motif:MA0108.3}[MASK]TT";
        let mut inputs = crate::fuzz::Inputs::new(31);
        let motifs = [tbp()];
        let alphabets = [
            dna(),
            Alphabet::builtin("protein").unwrap(),
            Alphabet::builtin("smiles").unwrap(),
        ];
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
        let mut parsed = 0;
        for case in 0..3000 {
            let input = match case % 3 {
                0 => inputs.grammar(pieces, 20),
                1 => inputs.grammar(well_formed, 10),
                _ => inputs.mutate(valid),
            };
            let text = String::from_utf8_lossy(&input);
            let alphabet = &alphabets[case / 3 % 3];
            let result = crate::fuzz::must_return("Template::parse", &input, || {
                Template::parse(&text, alphabet, &motifs)
            });
            if let Ok(template) = result {
                parsed += 1;
                assert!(!template.is_empty() && template.len() <= MAX_TEMPLATE_POSITIONS);
                for mode in [MotifMode::Consensus, MotifMode::Sample] {
                    assert_eq!(
                        template.slots(mode, &mut rng).len(),
                        template.len(),
                        "{text}"
                    );
                }
            }
        }
        // The inputs reach the parser's accepting paths, not only its first error.
        assert!(parsed > 600, "{parsed} of 3000 parsed");
    }
}
