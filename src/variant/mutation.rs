//! Mutation strings (`H24A`, `H24A:P25G`) and the mutant sequences they make of a wild type.

use std::fmt;

/// One substitution: the wild-type letter at a 0-based position of the wild type and the
/// letter that replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Substitution {
    position: usize,
    wild: char,
    mutant: char,
}

impl Substitution {
    /// The 0-based position in the wild type.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The wild-type letter the mutation string names.
    pub fn wild(&self) -> char {
        self.wild
    }

    /// The letter that replaces it.
    pub fn mutant(&self) -> char {
        self.mutant
    }
}

/// A variant of a wild type: one or more substitutions at distinct positions, with the text it
/// was written as.
///
/// ```
/// use seddbio::variant::Variant;
///
/// // TEM-1 numbering starts at residue 24 in a wild type that starts there: offset 24.
/// let v = Variant::parse("H24A:P25G", 24).unwrap();
/// assert_eq!(v.substitutions().iter().map(|s| s.position()).collect::<Vec<_>>(), [0, 1]);
/// assert_eq!(v.apply("HPETLVK").unwrap(), "AGETLVK");
/// assert_eq!(
///     v.apply("HAETLVK").unwrap_err().to_string(),
///     "position 25 is A in the wild type, not P"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    name: String,
    offset: i64,
    substitutions: Vec<Substitution>,
}

/// What is wrong with a mutation string, or with it against the wild type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MutationError {
    /// Not `<letter><position><letter>` (joined by `:`).
    #[error("'{text}' is not a mutation like H24A or H24A:P25G ({reason})")]
    Malformed {
        /// The offending part.
        text: String,
        /// What was expected there.
        reason: &'static str,
    },
    /// Two substitutions at one position.
    #[error("position {position} is mutated twice")]
    Repeated {
        /// The position, in the file's numbering.
        position: i64,
    },
    /// The wild type has another letter at the position.
    #[error("position {position} is {found} in the wild type, not {named}")]
    Mismatch {
        /// The position, in the file's numbering.
        position: i64,
        /// The letter the mutation names.
        named: char,
        /// The wild type's letter.
        found: char,
    },
    /// The position comes before the wild type's first residue.
    #[error("position {position} comes before the wild type, whose first residue is numbered {first} (the offset)")]
    BeforeStart {
        /// The position, in the file's numbering.
        position: i64,
        /// The file's number of the wild type's first residue.
        first: i64,
    },
    /// The new letter is not in the model's alphabet.
    #[error("'{letter}' is not in the model's alphabet")]
    NotInAlphabet {
        /// The letter.
        letter: char,
    },
    /// The position lies past the wild type's end.
    #[error("position {position} is past the wild type's end (its residues are {first}..{last})")]
    OutOfRange {
        /// The position, in the file's numbering.
        position: i64,
        /// The file's number of the wild type's first residue.
        first: i64,
        /// Its number of the last one.
        last: i64,
    },
    /// The residue lies in an insertion relative to an alignment, or outside the part of
    /// the wild type the alignment covers.
    #[error("position {position} is on no match column of the alignment (the wild type's residues {first}..{last} are placed on it)")]
    OffAlignment {
        /// The position, in the file's numbering.
        position: i64,
        /// The file's number of the first residue on a match column.
        first: i64,
        /// Its number of the last one.
        last: i64,
    },
}

impl MutationError {
    /// Whether the error is a position outside the wild type, or outside what an alignment
    /// covers of it (which a flag may skip).
    pub fn is_out_of_range(&self) -> bool {
        matches!(
            self,
            MutationError::OutOfRange { .. }
                | MutationError::BeforeStart { .. }
                | MutationError::OffAlignment { .. }
        )
    }
}

impl Variant {
    /// Parses `H24A` or `H24A:P25G` (also `;` or `,` between substitutions, as some scan
    /// tables write them), where position `offset` is the wild type's first residue (1 when
    /// the numbering starts at the wild type).
    pub fn parse(text: &str, offset: i64) -> Result<Variant, MutationError> {
        let name = text.trim();
        let malformed = |part: &str, reason| MutationError::Malformed {
            text: part.to_string(),
            reason,
        };
        let mut substitutions: Vec<Substitution> = Vec::new();
        for part in name.split([':', ';', ',']).map(str::trim) {
            let mut chars = part.chars();
            let (Some(wild), Some(mutant)) = (chars.next(), chars.next_back()) else {
                return Err(malformed(part, "too short"));
            };
            let digits = chars.as_str();
            if !wild.is_ascii_alphabetic() || !(mutant.is_ascii_alphabetic() || mutant == '*') {
                return Err(malformed(part, "a letter, a position, a letter"));
            }
            let number: i64 = match digits.parse() {
                Ok(n) if !digits.starts_with(['+', '-']) => n,
                _ => return Err(malformed(part, "the position is not a whole number")),
            };
            let position =
                usize::try_from(number - offset).map_err(|_| MutationError::BeforeStart {
                    position: number,
                    first: offset,
                })?;
            if substitutions.iter().any(|s| s.position == position) {
                return Err(MutationError::Repeated { position: number });
            }
            substitutions.push(Substitution {
                position,
                wild: wild.to_ascii_uppercase(),
                mutant: mutant.to_ascii_uppercase(),
            });
        }
        substitutions.sort();
        Ok(Variant {
            name: name.to_string(),
            offset,
            substitutions,
        })
    }

    /// The text it was written as.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's number of the wild type's first residue.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// Its substitutions, by position.
    pub fn substitutions(&self) -> &[Substitution] {
        &self.substitutions
    }

    /// The mutant: `wild` with every substitution made, after checking that each position
    /// lies in it and holds the named letter (case aside).
    pub fn apply(&self, wild: &str) -> Result<String, MutationError> {
        let mut letters: Vec<char> = wild.chars().collect();
        for s in &self.substitutions {
            let number = s.position as i64 + self.offset;
            let found = letters
                .get(s.position)
                .ok_or(MutationError::OutOfRange {
                    position: number,
                    first: self.offset,
                    last: self.offset + letters.len() as i64 - 1,
                })?
                .to_ascii_uppercase();
            if found != s.wild {
                return Err(MutationError::Mismatch {
                    position: number,
                    named: s.wild,
                    found,
                });
            }
            letters[s.position] = s.mutant;
        }
        Ok(letters.into_iter().collect())
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_strings_are_refused_with_the_reason() {
        let message = |text: &str| Variant::parse(text, 1).unwrap_err().to_string();
        assert_eq!(
            message("H2"),
            "'H2' is not a mutation like H24A or H24A:P25G (a letter, a position, a letter)"
        );
        assert_eq!(
            message("HxA"),
            "'HxA' is not a mutation like H24A or H24A:P25G (the position is not a whole number)"
        );
        assert_eq!(
            message("H"),
            "'H' is not a mutation like H24A or H24A:P25G (too short)"
        );
        assert_eq!(
            message("H-3A"),
            "'H-3A' is not a mutation like H24A or H24A:P25G (the position is not a whole number)"
        );
        assert_eq!(message("H2A:H2C"), "position 2 is mutated twice");
        assert_eq!(
            message("H0A"),
            "position 0 comes before the wild type, whose first residue is numbered 1 (the offset)"
        );
        assert!(Variant::parse("H0A", 1).unwrap_err().is_out_of_range());
    }

    #[test]
    fn positions_follow_the_offset_and_are_checked_against_the_wild_type() {
        let wild = "MKTAYIA";
        assert_eq!(
            Variant::parse("k2r", 1).unwrap().apply(wild).unwrap(),
            "MRTAYIA"
        );
        assert_eq!(
            Variant::parse("A13G", 10).unwrap().apply(wild).unwrap(),
            "MKTGYIA"
        );
        let far = Variant::parse("A8G", 1).unwrap().apply(wild).unwrap_err();
        assert!(far.is_out_of_range());
        assert_eq!(
            far.to_string(),
            "position 8 is past the wild type's end (its residues are 1..7)"
        );
        let wrong = Variant::parse("K3R", 1).unwrap().apply(wild).unwrap_err();
        assert_eq!(wrong.to_string(), "position 3 is T in the wild type, not K");
        assert!(!wrong.is_out_of_range());
        // A stop codon as the new letter parses (the model's alphabet decides whether it
        // can be scored).
        assert_eq!(
            Variant::parse("M1*", 1).unwrap().substitutions()[0].mutant(),
            '*'
        );
    }
}
