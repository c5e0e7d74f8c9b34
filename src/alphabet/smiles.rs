//! Regex-level SMILES tokenizer.
//!
//! Splits a SMILES string into the tokens of the "atom-level" scheme used by most SMILES
//! language models (e.g. Schwaller et al. 2019, Molecular Transformer): bracket atoms such as
//! `[nH]`, `[C@@H]`, `[O-]` or `[NH3+]` are one token; so are the two-letter organic atoms `Br`
//! and `Cl` and the two-digit ring closures `%10`..`%99`. Every other character (organic-subset
//! atoms, bonds `- = # $ : / \`, branches `( )`, ring digits and the `.` of salts) is a token of
//! its own. Concatenating the tokens gives back the input exactly.
//!
//! ```
//! use seddbio::alphabet::smiles::{detokenize, tokenize};
//!
//! let tokens = tokenize("C[C@@H](Cl)c1ccc%10cc1.[Na+]").unwrap();
//! assert_eq!(tokens[1], "[C@@H]");
//! assert!(tokens.contains(&"Cl") && tokens.contains(&"%10") && tokens.contains(&"[Na+]"));
//! assert_eq!(detokenize(&tokens), "C[C@@H](Cl)c1ccc%10cc1.[Na+]");
//! ```

use std::{fmt, ops::Range};

/// A SMILES string that cannot be split into tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmilesSyntaxError {
    /// 0-based byte offset of the offending character.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for SmilesSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "position {}: {}", self.offset + 1, self.message)
    }
}

impl std::error::Error for SmilesSyntaxError {}

/// Splits `smiles` into tokens; see the module documentation for the token classes.
pub fn tokenize(smiles: &str) -> Result<Vec<&str>, SmilesSyntaxError> {
    Ok(token_spans(smiles.as_bytes())?
        .into_iter()
        .map(|span| &smiles[span])
        .collect())
}

/// Joins tokens back into a SMILES string; the inverse of [`tokenize`].
pub fn detokenize<S: AsRef<str>>(tokens: &[S]) -> String {
    tokens.iter().map(AsRef::as_ref).collect()
}

/// Byte ranges of the tokens of `smiles`.
///
/// Works on bytes so that non-UTF-8 input is reported with its offset rather than refused
/// wholesale; every accepted token is ASCII.
pub fn token_spans(smiles: &[u8]) -> Result<Vec<Range<usize>>, SmilesSyntaxError> {
    let mut spans = Vec::with_capacity(smiles.len());
    let mut i = 0;
    while i < smiles.len() {
        let len = token_len(smiles, i)?;
        spans.push(i..i + len);
        i += len;
    }
    Ok(spans)
}

fn token_len(s: &[u8], i: usize) -> Result<usize, SmilesSyntaxError> {
    let error = |offset: usize, message: String| SmilesSyntaxError { offset, message };
    match s[i] {
        b'[' => {
            // A bracket atom runs to the next ']' and holds no '[' of its own.
            let rest = &s[i + 1..];
            match rest.iter().position(|&b| b == b']' || b == b'[') {
                Some(0) if rest[0] == b']' => Err(error(i, "empty bracket atom '[]'".into())),
                Some(j) if rest[j] == b']' => {
                    if let Some(k) = rest[..j].iter().position(|b| !b.is_ascii_graphic()) {
                        return Err(error(
                            i + 1 + k,
                            format!(
                                "unexpected {} inside a bracket atom",
                                crate::error::quote_symbol(&rest[k..=k])
                            ),
                        ));
                    }
                    Ok(j + 2)
                }
                _ => Err(error(i, "'[' is never closed by ']'".into())),
            }
        }
        b']' => Err(error(i, "']' without an opening '['".into())),
        b'B' if s.get(i + 1) == Some(&b'r') => Ok(2),
        b'C' if s.get(i + 1) == Some(&b'l') => Ok(2),
        b'%' => {
            if s.get(i + 1) == Some(&b'(') {
                // OpenSMILES extension: %(nnn) for ring-closure numbers above 99.
                let digits = s[i + 2..].iter().take_while(|b| b.is_ascii_digit()).count();
                if digits > 0 && s.get(i + 2 + digits) == Some(&b')') {
                    return Ok(digits + 3);
                }
                return Err(error(i, "'%(' must be followed by digits and ')'".into()));
            }
            match (s.get(i + 1), s.get(i + 2)) {
                (Some(a), Some(b)) if a.is_ascii_digit() && b.is_ascii_digit() => Ok(3),
                _ => Err(error(
                    i,
                    "'%' must be followed by a two-digit ring-closure number".into(),
                )),
            }
        }
        b'B' | b'C' | b'N' | b'O' | b'P' | b'S' | b'F' | b'I' | b'b' | b'c' | b'n' | b'o'
        | b'p' | b's' | b'*' => Ok(1),
        b'-' | b'=' | b'#' | b'$' | b':' | b'/' | b'\\' | b'.' | b'(' | b')' => Ok(1),
        b'0'..=b'9' => Ok(1),
        _ => Err(error(
            i,
            format!(
                "unexpected {} (not a SMILES atom, bond, branch or ring closure)",
                crate::error::quote_symbol(&s[i..=i])
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracket_atoms_halogens_and_closures_are_single_tokens() {
        let s = "CC(=O)[O-].[NH3+]C[C@@H]1CCc2c[nH]c3ccc%12cc%12c3Br.Cl/C=C\\F";
        let tokens = tokenize(s).unwrap();
        for expected in [
            "[O-]", "[NH3+]", "[C@@H]", "[nH]", "%12", "Br", "Cl", "/", "\\", ".",
        ] {
            assert!(
                tokens.contains(&expected),
                "{expected} missing from {tokens:?}"
            );
        }
        assert_eq!(detokenize(&tokens), s);
        assert_eq!(tokenize("c1ccccc1").unwrap().len(), 8);
    }

    #[test]
    fn two_letter_atoms_only_when_followed_by_their_letter() {
        assert_eq!(tokenize("CBr").unwrap(), ["C", "Br"]);
        assert_eq!(tokenize("BC").unwrap(), ["B", "C"]);
        assert_eq!(tokenize("CCl").unwrap(), ["C", "Cl"]);
        assert_eq!(tokenize("C%(123)C").unwrap(), ["C", "%(123)", "C"]);
    }

    #[test]
    fn malformed_input_reports_the_offset() {
        let err = tokenize("CC[NH3+").unwrap_err();
        assert_eq!(err.offset, 2);
        assert!(err.message.contains("never closed"));
        assert_eq!(tokenize("C%1C").unwrap_err().offset, 1);
        assert_eq!(tokenize("C[]").unwrap_err().offset, 1);
        assert_eq!(tokenize("CC]").unwrap_err().offset, 2);
        let err = tokenize("CC X").unwrap_err();
        assert_eq!(err.offset, 2);
        assert!(err.to_string().contains("position 3"));
        assert!(token_spans(b"C\xffC")
            .unwrap_err()
            .message
            .contains("\\xff"));
    }

    #[test]
    fn random_and_mutated_smiles_split_into_spans_that_rejoin_or_fail_in_range() {
        let pieces: &[&[u8]] = &[
            b"C", b"c", b"N", b"O", b"Cl", b"Br", b"B", b"[", b"]", b"[nH]", b"[C@@H]", b"@", b"+",
            b"-", b"=", b"#", b"(", b")", b"1", b"%", b"%1", b"%12", b".", b"/", b"\\", b" ", b"H",
        ];
        let valid = b"CC(=O)[O-].[NH3+]C[C@@H]1CCc2c[nH]c3ccc%12cc%12c3Br.Cl/C=C\\F";
        let mut inputs = crate::fuzz::Inputs::new(21);
        for case in 0..4000 {
            let input = match case % 2 {
                0 => inputs.grammar(pieces, 30),
                _ => inputs.mutate(valid),
            };
            match crate::fuzz::must_return("token_spans", &input, || token_spans(&input)) {
                Ok(spans) => {
                    // Spans tile the input, each an accepted ASCII token.
                    let mut end = 0;
                    for span in &spans {
                        assert_eq!(span.start, end, "{input:?}");
                        assert!(span.end > span.start && input[span.clone()].is_ascii());
                        end = span.end;
                    }
                    assert_eq!(end, input.len(), "{input:?}");
                    let text = std::str::from_utf8(&input).unwrap();
                    assert_eq!(detokenize(&tokenize(text).unwrap()), text);
                }
                Err(error) => assert!(error.offset < input.len(), "{input:?}: {error}"),
            }
        }
    }
}
