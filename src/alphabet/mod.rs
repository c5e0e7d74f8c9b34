//! Alphabets: symbols <-> token ids for DNA, RNA, protein and SMILES.
//!
//! One [`Alphabet`] type serves every kind of sequence. It is read from a TOML file (the
//! built-in ones live in `alphabets/` and are compiled in) and knows
//! - its symbols in id order, and how text splits into symbols ([`TokenizerKind`]);
//! - its pad token, which joins the vocabulary only when a dataset pads records to a common
//!   length (the diffusion MASK is not part of the alphabet: it belongs to the absorbing process);
//! - whether lowercase folds to uppercase (soft-masked genomes);
//! - what common symbols outside it are (IUPAC ambiguity codes, alignment gaps, stop codons),
//!   so that errors can say so; what happens to them is the user's [`UnknownPolicy`](crate::data::UnknownPolicy).
//!
//! ```
//! use seddbio::alphabet::{Alphabet, Symbol};
//!
//! let dna = Alphabet::builtin("dna").unwrap();
//! assert_eq!(dna.len(), 4);
//! let symbols = dna.symbols_of(b"acgN").unwrap();
//! assert_eq!(symbols[0], Symbol::Known(0));
//! assert!(matches!(symbols[3], Symbol::Unknown { offset: 3, .. }));
//! assert_eq!(dna.describe_unknown("N"), "an ambiguity code for A/C/G/T");
//! assert_eq!(dna.decode(&[3, 2, 1, 0]), "TGCA");
//! ```

pub mod selfies;
pub mod smiles;

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A token id. Vocabularies are small (tens to a few hundred tokens).
pub type TokenId = u16;

/// How text is split into symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenizerKind {
    /// Every character is one symbol (nucleotides, amino acids).
    #[default]
    Char,
    /// Regex-level SMILES tokens; see [`smiles`].
    Smiles,
    /// SELFIES symbols (`[C]`, `[=O]`, `[Ring1]`); SMILES records are converted when read
    /// (see [`selfies`]).
    Selfies,
}

/// What a record of this alphabet usually is: a stretch of something much longer (a genome, a
/// chromosome) or a whole unit (a protein, a molecule). The data layer lays records out from it
/// (windows over long records, padded whole ones; see `data::LayoutKind`).
///
/// Alphabet files written before this existed name a layout instead (`default_layout =
/// "windows"` or `"padded"`); those words are accepted as aliases of `long` and `whole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordExtent {
    /// Long records: genomes, chromosomes, contigs.
    #[default]
    #[serde(alias = "windows")]
    Long,
    /// Whole units: proteins, RNAs, molecules.
    #[serde(alias = "padded")]
    Whole,
}

/// The contents of an alphabet TOML file; see `alphabets/dna.toml` for a documented example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlphabetSpec {
    /// Short name, e.g. `dna`.
    pub name: String,
    /// One line for humans.
    #[serde(default)]
    pub description: String,
    /// How text splits into symbols.
    pub tokenizer: TokenizerKind,
    /// When false, lowercase input is folded to uppercase before lookup.
    #[serde(default = "default_true")]
    pub case_sensitive: bool,
    /// The symbols, in token-id order.
    pub symbols: Vec<String>,
    /// The pad token's text; never matched in input.
    #[serde(default = "default_pad")]
    pub pad: String,
    /// Whether the pad token is part of the vocabulary (id = number of symbols).
    #[serde(default)]
    pub padded: bool,
    /// What a record usually is (long or whole), from which the data layer picks its layout.
    #[serde(default, alias = "default_layout")]
    pub records: RecordExtent,
    /// Whether tokens seen in training data join the vocabulary (SMILES).
    #[serde(default)]
    pub grow_vocabulary: bool,
    /// Alignment gap symbols.
    #[serde(default)]
    pub gaps: Vec<String>,
    /// Ambiguity codes and the symbols each stands for.
    #[serde(default)]
    pub ambiguity: BTreeMap<String, Vec<String>>,
    /// Other known symbols outside the alphabet, with a description.
    #[serde(default)]
    pub other: BTreeMap<String, String>,
    /// Base pairing (nucleotides): each symbol's complement, for reverse complements.
    #[serde(default)]
    pub complement: BTreeMap<String, String>,
}

fn default_true() -> bool {
    true
}

fn default_pad() -> String {
    "<pad>".into()
}

/// The built-in alphabets, compiled in from `alphabets/`.
const BUILTIN: [(&str, &str); 5] = [
    ("dna", include_str!("../../alphabets/dna.toml")),
    ("rna", include_str!("../../alphabets/rna.toml")),
    ("protein", include_str!("../../alphabets/protein.toml")),
    ("smiles", include_str!("../../alphabets/smiles.toml")),
    ("selfies", include_str!("../../alphabets/selfies.toml")),
];

const NO_ID: TokenId = TokenId::MAX;

/// One symbol of a tokenised text: either a token id or a span outside the alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbol {
    /// A symbol of the alphabet.
    Known(TokenId),
    /// A symbol outside the alphabet at byte `offset`, `len` bytes long.
    Unknown {
        /// 0-based byte offset in the text.
        offset: usize,
        /// Length in bytes.
        len: usize,
    },
}

/// A validated alphabet: symbols <-> token ids. See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Alphabet {
    spec: AlphabetSpec,
    /// Token text -> id, for multi-character (SMILES) tokens.
    index: HashMap<String, TokenId>,
    /// Byte -> id for single-character alphabets, with case folding applied.
    byte_index: Vec<TokenId>,
}

impl Alphabet {
    /// Names of the built-in alphabets.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(name, _)| *name)
    }

    /// A built-in alphabet by name (`dna`, `rna`, `protein`, `smiles`).
    pub fn builtin(name: &str) -> Option<Alphabet> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        // The built-in files are tested to parse, so a failure here is a build defect.
        Self::from_toml_str(text, name).ok()
    }

    /// Resolves a `--alphabet` argument: a built-in name, or the path of a TOML file.
    pub fn resolve(arg: &str) -> Result<Alphabet> {
        if let Some(alphabet) = Self::builtin(arg) {
            return Ok(alphabet);
        }
        let path = Path::new(arg);
        if path.exists() {
            return Self::from_path(path);
        }
        Err(Error::Alphabet {
            origin: format!("'{arg}'"),
            message: format!(
                "not a built-in ({}) and no such file",
                Self::builtin_names().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// Reads an alphabet TOML file.
    pub fn from_path(path: &Path) -> Result<Alphabet> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses alphabet TOML; `origin` names the source in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Alphabet> {
        let spec: AlphabetSpec = toml::from_str(text).map_err(|e| Error::Alphabet {
            origin: origin.into(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        Self::from_spec(spec, origin)
    }

    /// Validates a spec and builds the lookup tables.
    pub fn from_spec(spec: AlphabetSpec, origin: &str) -> Result<Alphabet> {
        let fail = |message: String| Error::Alphabet {
            origin: origin.into(),
            message,
        };
        if spec.name.trim().is_empty() {
            return Err(fail("'name' is empty".into()));
        }
        if spec.symbols.is_empty() {
            return Err(fail("'symbols' is empty".into()));
        }
        if spec.symbols.len() + 1 >= NO_ID as usize {
            return Err(fail(format!(
                "{} symbols is more than supported",
                spec.symbols.len()
            )));
        }
        let fold = |s: &str| {
            if spec.case_sensitive {
                s.to_string()
            } else {
                s.to_ascii_uppercase()
            }
        };
        let mut index = HashMap::new();
        for (id, symbol) in spec.symbols.iter().enumerate() {
            match spec.tokenizer {
                TokenizerKind::Char => {
                    if symbol.len() != 1 || !symbol.as_bytes()[0].is_ascii_graphic() {
                        return Err(fail(format!(
                            "symbol {symbol:?} is not one printable ASCII character, as a 'char' tokenizer needs"
                        )));
                    }
                }
                TokenizerKind::Smiles => match smiles::tokenize(symbol) {
                    Ok(tokens) if tokens.len() == 1 => {}
                    _ => {
                        return Err(fail(format!(
                            "symbol {symbol:?} is not exactly one SMILES token"
                        )))
                    }
                },
                TokenizerKind::Selfies => match selfies::symbol_spans(symbol) {
                    Ok(spans) if spans.len() == 1 => {}
                    _ => {
                        return Err(fail(format!(
                            "symbol {symbol:?} is not exactly one SELFIES symbol"
                        )))
                    }
                },
            }
            if index.insert(fold(symbol), id as TokenId).is_some() {
                return Err(fail(format!("symbol {symbol:?} is listed twice")));
            }
        }
        if index.contains_key(&fold(&spec.pad)) || spec.pad.is_empty() {
            return Err(fail(format!(
                "pad token {:?} must be non-empty and not a symbol",
                spec.pad
            )));
        }
        for gap in &spec.gaps {
            if index.contains_key(&fold(gap)) {
                return Err(fail(format!("gap {gap:?} is also a symbol")));
            }
        }
        for (code, set) in &spec.ambiguity {
            if index.contains_key(&fold(code)) {
                return Err(fail(format!("ambiguity code {code:?} is also a symbol")));
            }
            if let Some(missing) = set.iter().find(|s| !index.contains_key(&fold(s))) {
                return Err(fail(format!(
                    "ambiguity code {code:?} stands for {missing:?}, which is not a symbol"
                )));
            }
        }
        if !spec.complement.is_empty() {
            for symbol in &spec.symbols {
                match spec.complement.get(symbol) {
                    Some(other) if index.contains_key(&fold(other)) => {}
                    Some(other) => {
                        return Err(fail(format!(
                            "the complement of {symbol:?} is {other:?}, which is not a symbol"
                        )))
                    }
                    None => return Err(fail(format!("symbol {symbol:?} has no complement"))),
                }
            }
        }
        let mut byte_index = vec![NO_ID; 256];
        if spec.tokenizer == TokenizerKind::Char {
            for (id, symbol) in spec.symbols.iter().enumerate() {
                let b = symbol.as_bytes()[0];
                byte_index[b as usize] = id as TokenId;
                if !spec.case_sensitive {
                    byte_index[b.to_ascii_lowercase() as usize] = id as TokenId;
                    byte_index[b.to_ascii_uppercase() as usize] = id as TokenId;
                }
            }
        }
        Ok(Alphabet {
            spec,
            index,
            byte_index,
        })
    }

    /// The validated spec; serialise it with [`Alphabet::to_toml`] to store with a model.
    pub fn spec(&self) -> &AlphabetSpec {
        &self.spec
    }

    /// The alphabet as TOML, including every symbol added from data and whether it pads.
    pub fn to_toml(&self) -> String {
        // Serialising a plain struct of strings, vectors and maps cannot fail.
        toml::to_string(&self.spec).unwrap_or_default()
    }

    /// Short name, e.g. `dna`.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The tokenizer kind.
    pub fn tokenizer(&self) -> TokenizerKind {
        self.spec.tokenizer
    }

    /// Number of real symbols, excluding the pad token.
    pub fn num_symbols(&self) -> usize {
        self.spec.symbols.len()
    }

    /// Vocabulary size: the symbols plus the pad token when padding is on.
    pub fn len(&self) -> usize {
        self.spec.symbols.len() + usize::from(self.spec.padded)
    }

    /// Always false: an alphabet has at least one symbol.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The pad token's id, when padding is on.
    pub fn pad_id(&self) -> Option<TokenId> {
        self.spec
            .padded
            .then_some(self.spec.symbols.len() as TokenId)
    }

    /// This alphabet with the pad token added to the vocabulary (after every symbol).
    pub fn with_pad(mut self) -> Alphabet {
        self.spec.padded = true;
        self
    }

    /// Whether training data may add tokens (SMILES).
    pub fn grows_vocabulary(&self) -> bool {
        self.spec.grow_vocabulary
    }

    /// Adds tokens seen in training data, in the given order, and freezes the vocabulary.
    /// Returns how many were new. Does nothing to alphabets that do not grow.
    pub fn extend_and_freeze<I, S>(&mut self, tokens: I) -> usize
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if !self.spec.grow_vocabulary {
            return 0;
        }
        let mut added = 0;
        for token in tokens {
            let token = token.into();
            if token == self.spec.pad || self.index.contains_key(&token) {
                continue;
            }
            self.index
                .insert(token.clone(), self.spec.symbols.len() as TokenId);
            self.spec.symbols.push(token);
            added += 1;
        }
        self.spec.grow_vocabulary = false;
        added
    }

    /// The text of a token id (the pad token's text for the pad id).
    pub fn token(&self, id: TokenId) -> Option<&str> {
        let id = id as usize;
        match self.spec.symbols.get(id) {
            Some(symbol) => Some(symbol),
            None if self.spec.padded && id == self.spec.symbols.len() => Some(&self.spec.pad),
            None => None,
        }
    }

    /// The id of a symbol, with case folding applied.
    pub fn id(&self, symbol: &str) -> Option<TokenId> {
        if self.spec.case_sensitive {
            self.index.get(symbol).copied()
        } else {
            self.index.get(&symbol.to_ascii_uppercase()).copied()
        }
    }

    /// Splits text into symbols. Fails only on SMILES (or SELFIES) text that cannot be
    /// tokenised.
    pub fn symbols_of(&self, text: &[u8]) -> Result<Vec<Symbol>, smiles::SmilesSyntaxError> {
        match self.spec.tokenizer {
            TokenizerKind::Char => {
                let mut symbols = Vec::with_capacity(text.len());
                let mut offset = 0;
                while offset < text.len() {
                    let symbol = match self.byte_index[text[offset] as usize] {
                        NO_ID => Symbol::Unknown {
                            offset,
                            len: unknown_len(&text[offset..]),
                        },
                        id => Symbol::Known(id),
                    };
                    offset += match symbol {
                        Symbol::Unknown { len, .. } => len,
                        Symbol::Known(_) => 1,
                    };
                    symbols.push(symbol);
                }
                Ok(symbols)
            }
            TokenizerKind::Smiles => Ok(self.lookup(text, smiles::token_spans(text)?)),
            TokenizerKind::Selfies => {
                let spans = std::str::from_utf8(text)
                    .map_err(|e| smiles::SmilesSyntaxError {
                        offset: e.valid_up_to(),
                        message: "not UTF-8 text".into(),
                    })
                    .and_then(|text| {
                        selfies::symbol_spans(text).map_err(|e| smiles::SmilesSyntaxError {
                            offset: e.position.saturating_sub(1),
                            message: e.message,
                        })
                    })?;
                Ok(self.lookup(text, spans))
            }
        }
    }

    /// The symbols of `text` cut at `spans` (multi-character tokens), known or not.
    fn lookup(&self, text: &[u8], spans: Vec<std::ops::Range<usize>>) -> Vec<Symbol> {
        spans
            .into_iter()
            .map(|span| {
                // Spans of accepted tokens are ASCII, so this is valid UTF-8.
                let token = std::str::from_utf8(&text[span.clone()]).unwrap_or_default();
                match self.index.get(token) {
                    Some(&id) => Symbol::Known(id),
                    None => Symbol::Unknown {
                        offset: span.start,
                        len: span.len(),
                    },
                }
            })
            .collect()
    }

    /// Token ids back to text; pad tokens are dropped.
    pub fn decode(&self, ids: &[TokenId]) -> String {
        ids.iter()
            .filter(|&&id| Some(id) != self.pad_id())
            .filter_map(|&id| self.token(id))
            .collect()
    }

    /// The complement of each symbol id (nucleotide alphabets), indexed by id.
    ///
    /// ```
    /// use seddbio::alphabet::Alphabet;
    ///
    /// let dna = Alphabet::builtin("dna").unwrap();
    /// assert_eq!(dna.complements(), Some(vec![3, 2, 1, 0]));
    /// assert_eq!(Alphabet::builtin("protein").unwrap().complements(), None);
    /// ```
    pub fn complements(&self) -> Option<Vec<TokenId>> {
        if self.spec.complement.is_empty() {
            return None;
        }
        self.spec
            .symbols
            .iter()
            .map(|s| self.spec.complement.get(s).and_then(|c| self.id(c)))
            .collect()
    }

    /// What a symbol outside the alphabet is, for messages ("an ambiguity code for A/C/G/T").
    pub fn describe_unknown(&self, symbol: &str) -> String {
        let key = if self.spec.case_sensitive {
            symbol.to_string()
        } else {
            symbol.to_ascii_uppercase()
        };
        if let Some(set) = self.spec.ambiguity.get(&key) {
            return format!("an ambiguity code for {}", set.join("/"));
        }
        if self.spec.gaps.contains(&key) {
            return "an alignment gap".into();
        }
        if let Some(description) = self.spec.other.get(&key) {
            return format!("{description}, not in the {} alphabet", self.spec.name);
        }
        format!("not in the {} alphabet", self.spec.name)
    }
}

/// Bytes of the unknown symbol that starts `text` (one-character alphabets): one byte, or a
/// whole UTF-8 character (`é` is one symbol, not two), or every byte of a run that is not
/// UTF-8 at all (reported once, as bytes).
fn unknown_len(text: &[u8]) -> usize {
    if text[0].is_ascii() {
        return 1;
    }
    let mut len = 0;
    while len < text.len() && !text[len].is_ascii() {
        match std::str::from_utf8(&text[len..]) {
            Ok(valid) => return len.max(valid.chars().next().map_or(1, char::len_utf8)),
            Err(e) if e.valid_up_to() > 0 => {
                // A character follows: it ends a run of bad bytes, or is the symbol itself.
                let first = std::str::from_utf8(&text[len..len + e.valid_up_to()])
                    .ok()
                    .and_then(|v| v.chars().next())
                    .map_or(1, char::len_utf8);
                return if len > 0 { len } else { first };
            }
            Err(e) => len += e.error_len().unwrap_or(text.len() - len),
        }
    }
    len.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_or_a_run_of_bad_bytes_is_one_unknown_symbol() {
        let dna = Alphabet::builtin("dna").unwrap();
        let unknown = |text: &[u8]| -> Vec<(usize, usize)> {
            dna.symbols_of(text)
                .unwrap()
                .into_iter()
                .filter_map(|s| match s {
                    Symbol::Unknown { offset, len } => Some((offset, len)),
                    Symbol::Known(_) => None,
                })
                .collect()
        };
        assert_eq!(unknown("ACéGT".as_bytes()), [(2, 2)]);
        assert_eq!(unknown("AéüC".as_bytes()), [(1, 2), (3, 2)]);
        assert_eq!(unknown(b"AC\xc3\xc3GT"), [(2, 2)]);
        assert_eq!(unknown(b"A\xff\xfe\xc3\xa9"), [(1, 2), (3, 2)]);
        assert_eq!(unknown(b"AXZ\xc3"), [(1, 1), (2, 1), (3, 1)]);
    }

    #[test]
    fn every_builtin_alphabet_parses() {
        for name in Alphabet::builtin_names() {
            let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).unwrap();
            let alphabet = Alphabet::from_toml_str(text, name).unwrap();
            assert_eq!(alphabet.name(), name);
        }
        assert_eq!(Alphabet::builtin("protein").unwrap().len(), 20);
        assert_eq!(Alphabet::builtin("rna").unwrap().id("u"), Some(3));
    }

    #[test]
    fn record_extent_reads_the_old_layout_key_too() {
        let file = |line: &str| {
            let text =
                format!("name = \"x\"\ntokenizer = \"char\"\nsymbols = [\"A\", \"C\"]\n{line}\n");
            Alphabet::from_toml_str(&text, "x.toml").map(|a| a.spec().records)
        };
        assert_eq!(file("records = \"whole\"").unwrap(), RecordExtent::Whole);
        assert_eq!(
            file("default_layout = \"padded\"").unwrap(),
            RecordExtent::Whole
        );
        assert_eq!(
            file("default_layout = \"windows\"").unwrap(),
            RecordExtent::Long
        );
        assert_eq!(file("").unwrap(), RecordExtent::Long);
        assert!(file("records = \"short\"").is_err());
        let protein = Alphabet::builtin("protein").unwrap();
        assert_eq!(protein.spec().records, RecordExtent::Whole);
    }

    #[test]
    fn case_folding_follows_the_alphabet() {
        let dna = Alphabet::builtin("dna").unwrap();
        assert_eq!(dna.id("g"), Some(2));
        let smiles = Alphabet::builtin("smiles").unwrap();
        assert_ne!(smiles.id("c"), smiles.id("C"));
    }

    #[test]
    fn pad_joins_the_vocabulary_only_when_asked() {
        let dna = Alphabet::builtin("dna").unwrap();
        assert_eq!(dna.pad_id(), None);
        let padded = dna.with_pad();
        assert_eq!(padded.len(), 5);
        assert_eq!(padded.pad_id(), Some(4));
        assert_eq!(padded.token(4), Some("<pad>"));
        assert_eq!(padded.decode(&[0, 1, 4, 4]), "AC");
    }

    #[test]
    fn smiles_vocabulary_grows_once_and_round_trips_through_toml() {
        let mut smiles = Alphabet::builtin("smiles").unwrap();
        let base = smiles.len();
        assert_eq!(smiles.extend_and_freeze(["[O-]", "C", "[Na+]"]), 2);
        assert_eq!(smiles.len(), base + 2);
        assert_eq!(smiles.id("[Na+]"), Some(base as TokenId + 1));
        assert_eq!(
            smiles.extend_and_freeze(["[K+]"]),
            0,
            "frozen after the first call"
        );
        let stored = Alphabet::from_toml_str(&smiles.to_toml(), "stored").unwrap();
        assert_eq!(stored, smiles);
        let symbols = stored.symbols_of(b"[K+]C").unwrap();
        assert_eq!(symbols[0], Symbol::Unknown { offset: 0, len: 4 });
    }

    #[test]
    fn unknown_symbols_are_described() {
        let protein = Alphabet::builtin("protein").unwrap();
        assert!(protein.describe_unknown("x").contains("ambiguity code"));
        assert_eq!(protein.describe_unknown("-"), "an alignment gap");
        assert!(protein.describe_unknown("U").starts_with("selenocysteine"));
        assert_eq!(protein.describe_unknown("1"), "not in the protein alphabet");
    }

    #[test]
    fn inconsistent_alphabet_files_are_refused() {
        let cases = [
            (
                "name = 'x'\ntokenizer = 'char'\nsymbols = []",
                "'symbols' is empty",
            ),
            (
                "name = 'x'\ntokenizer = 'char'\nsymbols = ['A', 'A']",
                "listed twice",
            ),
            (
                "name = 'x'\ntokenizer = 'char'\nsymbols = ['AB']",
                "one printable",
            ),
            (
                "name = 'x'\ntokenizer = 'char'\nsymbols = ['A']\n[ambiguity]\nN = ['A', 'Q']",
                "not a symbol",
            ),
            (
                "name = 'x'\ntokenizer = 'char'\nsymbols = ['A']\ncolour = 1",
                "unknown field",
            ),
            (
                "name = 'x'\ntokenizer = 'smiles'\nsymbols = ['CC']",
                "one SMILES token",
            ),
        ];
        for (text, expected) in cases {
            let err = Alphabet::from_toml_str(text, "mine.toml")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("alphabet mine.toml: "), "{err}");
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn random_and_mutated_alphabet_files_never_panic_and_round_trip() {
        let pieces: &[&[u8]] = &[
            b"name = \"x\"\n",
            b"tokenizer = \"char\"\n",
            b"tokenizer = \"smiles\"\n",
            b"symbols = [\"A\", \"C\"]\n",
            b"symbols = [\"[nH]\", \"Cl\"]\n",
            b"pad = \"<pad>\"\n",
            b"pad = \"A\"\n",
            b"case_sensitive = false\n",
            b"gaps = [\"-\"]\n",
            b"[complement]\n",
            b"A = \"C\"\n",
            b"C = \"A\"\n",
            b"[ambiguity]\n",
            b"N = [\"A\", \"C\"]\n",
            b"default_layout = \"padded\"\n",
            b"records = \"long\"\n",
            b"description = \"d\"\n",
            b"[other]\n",
        ];
        let mut inputs = crate::fuzz::Inputs::new(51);
        let mut parsed = 0;
        for case in 0..2000 {
            let input = match case % 2 {
                0 => inputs.grammar(pieces, 12),
                _ => inputs.mutate(BUILTIN[case / 2 % BUILTIN.len()].1.as_bytes()),
            };
            let text = String::from_utf8_lossy(&input);
            let result = crate::fuzz::must_return("Alphabet::from_toml_str", &input, || {
                Alphabet::from_toml_str(&text, "fuzz.toml")
            });
            if let Ok(alphabet) = result {
                parsed += 1;
                let again = Alphabet::from_toml_str(&alphabet.to_toml(), "again").unwrap();
                assert_eq!(again.to_toml(), alphabet.to_toml(), "{text}");
                assert_eq!(again.len(), alphabet.len());
                for id in 0..alphabet.num_symbols() as TokenId {
                    let token = alphabet.token(id).unwrap();
                    assert_eq!(alphabet.id(token), Some(id), "{text}");
                }
            }
        }
        assert!(parsed > 200, "{parsed} of 2000 parsed");
    }
}
