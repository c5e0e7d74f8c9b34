//! Position weight matrices from JASPAR and MEME files, and scanning sequences with them.

use std::path::Path;

use crate::{
    alphabet::{Alphabet, TokenId},
    error::{Error, Result},
};

/// Total pseudocount spread over the four bases when turning counts into probabilities
/// (the TFBSTools / JASPAR default, 0.8), so that unseen bases are unlikely but possible.
pub const PSEUDOCOUNT: f64 = 0.8;

/// A DNA motif: counts (or weighted probabilities) of A, C, G, T at each position.
#[derive(Debug, Clone, PartialEq)]
pub struct Motif {
    /// Matrix id, e.g. `MA0108.3`.
    pub id: String,
    /// Factor name, e.g. `TBP`.
    pub name: String,
    /// Per position, counts of A, C, G, T.
    pub counts: Vec<[f64; 4]>,
}

impl Motif {
    /// Width in bases.
    pub fn width(&self) -> usize {
        self.counts.len()
    }

    /// The most frequent base at each position.
    ///
    /// ```
    /// use seddbio::motif::Motif;
    ///
    /// let m = Motif { id: "x".into(), name: "x".into(), counts: vec![[0.0, 0.0, 0.0, 9.0], [9.0, 1.0, 0.0, 0.0]] };
    /// assert_eq!(m.consensus(), "TA");
    /// ```
    pub fn consensus(&self) -> String {
        self.counts
            .iter()
            .map(|column| {
                let best = (0..4)
                    .max_by(|&a, &b| column[a].total_cmp(&column[b]))
                    .unwrap_or(0);
                ['A', 'C', 'G', 'T'][best]
            })
            .collect()
    }
}

/// Reads every motif of a JASPAR (`.jaspar`, count matrices) or MEME (letter-probability
/// matrices) file; the format is told from the content.
pub fn read_motifs(path: &Path) -> Result<Vec<Motif>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let motifs = if text.lines().any(|l| l.starts_with("MEME version")) {
        parse_meme(&text)
    } else {
        parse_jaspar(&text)
    }
    .map_err(|(line, message)| Error::Format {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    })?;
    if motifs.is_empty() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: "no motifs (expected JASPAR '>ID NAME' blocks or MEME 'MOTIF' blocks)".into(),
        });
    }
    Ok(motifs)
}

type ParseResult<T> = std::result::Result<T, (usize, String)>;

/// The widest motif accepted: JASPAR's widest matrices have about 35 columns; a width beyond
/// this is a corrupt header, not a motif.
pub const MAX_MOTIF_WIDTH: usize = 1000;

/// A count or probability of a matrix: a finite number, not negative.
fn count(line: usize, text: &str) -> ParseResult<f64> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err((
            line,
            format!(
                "'{}' is not a count or probability (a finite number >= 0)",
                text.escape_debug()
            ),
        )),
    }
}

fn parse_jaspar(text: &str) -> ParseResult<Vec<Motif>> {
    let mut motifs: Vec<Motif> = Vec::new();
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut header: Option<(usize, String, String)> = None;
    let finish = |header: Option<(usize, String, String)>,
                  rows: &mut Vec<Vec<f64>>,
                  motifs: &mut Vec<Motif>|
     -> ParseResult<()> {
        if let Some((line, id, name)) = header {
            if rows.len() != 4
                || rows.iter().any(|r| r.len() != rows[0].len())
                || rows[0].is_empty()
                || rows[0].len() > MAX_MOTIF_WIDTH
            {
                return Err((
                    line,
                    format!("motif {id}: expected four rows A, C, G, T of equal length (1 to {MAX_MOTIF_WIDTH} columns)"),
                ));
            }
            let counts = (0..rows[0].len())
                .map(|j| [rows[0][j], rows[1][j], rows[2][j], rows[3][j]])
                .collect();
            motifs.push(Motif { id, name, counts });
        }
        rows.clear();
        Ok(())
    };
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('>') {
            finish(header.take(), &mut rows, &mut motifs)?;
            let mut fields = rest.split_whitespace();
            let id = fields
                .next()
                .ok_or((number, "header without a matrix id".to_string()))?;
            header = Some((number, id.to_string(), fields.collect::<Vec<_>>().join(" ")));
            continue;
        }
        if header.is_none() {
            return Err((number, "expected a '>ID NAME' header line".into()));
        }
        let expected = ["A", "C", "G", "T"][rows.len().min(3)];
        let values = line
            .strip_prefix(expected)
            .ok_or((number, format!("expected the {expected} row")))?
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let row = values
            .split_whitespace()
            .map(|v| count(number, v))
            .collect::<ParseResult<Vec<f64>>>()?;
        rows.push(row);
    }
    finish(header, &mut rows, &mut motifs)?;
    Ok(motifs)
}

fn parse_meme(text: &str) -> ParseResult<Vec<Motif>> {
    let mut motifs = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        let Some(rest) = line.trim().strip_prefix("MOTIF") else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let id = fields
            .next()
            .ok_or((index + 1, "MOTIF without an id".to_string()))?
            .to_string();
        let name = fields.collect::<Vec<_>>().join(" ");
        // Find the letter-probability header, then read `w` rows.
        let (header_index, header) = loop {
            match lines.next() {
                Some((i, l)) if l.trim_start().starts_with("letter-probability matrix") => {
                    break (i, l)
                }
                Some((_, l)) if l.trim_start().starts_with("MOTIF") => {
                    return Err((
                        index + 1,
                        format!("motif {id} has no letter-probability matrix"),
                    ))
                }
                Some(_) => {}
                None => {
                    return Err((
                        index + 1,
                        format!("motif {id} has no letter-probability matrix"),
                    ))
                }
            }
        };
        let field = |key: &str| -> Option<f64> {
            let after = header.split(key).nth(1)?;
            after.split_whitespace().next()?.parse().ok()
        };
        let width = field("w=")
            .filter(|w| w.fract() == 0.0 && (1.0..=MAX_MOTIF_WIDTH as f64).contains(w))
            .ok_or((
                header_index + 1,
                format!(
                    "'w=' must give the motif's width, a whole number from 1 to {MAX_MOTIF_WIDTH}"
                ),
            ))? as usize;
        let nsites = field("nsites=")
            .filter(|&n| n > 0.0 && n.is_finite())
            .unwrap_or(100.0);
        let mut counts = Vec::with_capacity(width);
        while counts.len() < width {
            let (i, l) = lines.next().ok_or((
                header_index + 1,
                format!("motif {id}: fewer than {width} rows"),
            ))?;
            if l.trim().is_empty() {
                continue;
            }
            let values = l
                .split_whitespace()
                .map(|v| count(i + 1, v))
                .collect::<ParseResult<Vec<f64>>>()?;
            if values.len() != 4 {
                return Err((
                    i + 1,
                    format!("motif {id}: expected 4 probabilities (A C G T)"),
                ));
            }
            counts.push([
                values[0] * nsites,
                values[1] * nsites,
                values[2] * nsites,
                values[3] * nsites,
            ]);
        }
        motifs.push(Motif { id, name, counts });
    }
    Ok(motifs)
}

/// Bits per step of the score grid [`PwmScanner::relative_threshold_for_p_value`] works on.
pub const PVALUE_RESOLUTION: f64 = 0.01;

/// A log-odds scoring matrix for one motif over an alphabet's token ids, both strands.
#[derive(Debug, Clone)]
pub struct PwmScanner {
    /// The motif's id.
    pub id: String,
    forward: Vec<Vec<f64>>,
    reverse: Option<Vec<Vec<f64>>>,
    min: f64,
    max: f64,
}

/// One motif occurrence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotifHit {
    /// 0-based start on the forward strand.
    pub start: usize,
    /// Whether the site is on the reverse strand.
    pub reverse: bool,
    /// Relative score in [0, 1]: (score - min) / (max - min).
    pub relative_score: f64,
}

impl PwmScanner {
    /// Log2-odds of the motif's probabilities (counts plus [`PSEUDOCOUNT`]) against a
    /// uniform background, laid out over `alphabet`'s token ids (A, C, G and T or U). Scans
    /// both strands when the alphabet has complements.
    ///
    /// ```
    /// use seddbio::{alphabet::Alphabet, motif::{Motif, PwmScanner}};
    ///
    /// let dna = Alphabet::builtin("dna").unwrap();
    /// let tata = Motif { id: "t".into(), name: "t".into(), counts: vec![[0.0, 0.0, 0.0, 10.0], [10.0, 0.0, 0.0, 0.0]] };
    /// let scanner = PwmScanner::new(&tata, &dna).unwrap();
    /// // GTAC: TA on the forward strand at 1; GT = reverse complement of AC: no; TA reads TA on
    /// // the reverse strand too (TA is its own reverse complement).
    /// let hits = scanner.scan(&[2, 3, 0, 1], 0.99);
    /// assert_eq!(hits.len(), 2);
    /// assert_eq!(hits[0].start, 1);
    /// ```
    pub fn new(motif: &Motif, alphabet: &Alphabet) -> Result<PwmScanner> {
        let letters: Vec<TokenId> = ["A", "C", "G", "T"]
            .iter()
            .map(|&l| {
                alphabet
                    .id(l)
                    .or_else(|| if l == "T" { alphabet.id("U") } else { None })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::MotifAlphabet {
                motif: motif.id.clone(),
                alphabet: alphabet.name().to_string(),
            })?;
        let n = alphabet.len();
        let forward: Vec<Vec<f64>> = motif
            .counts
            .iter()
            .map(|column| {
                let total: f64 = column.iter().sum::<f64>() + PSEUDOCOUNT;
                let mut row = vec![f64::NEG_INFINITY; n];
                for (base, &id) in letters.iter().enumerate() {
                    let p = (column[base] + PSEUDOCOUNT / 4.0) / total;
                    row[id as usize] = (p / 0.25).log2();
                }
                row
            })
            .collect();
        let reverse = alphabet.complements().map(|complement| {
            forward
                .iter()
                .rev()
                .map(|row| {
                    (0..n)
                        .map(|t| {
                            if t < complement.len() {
                                row[complement[t] as usize]
                            } else {
                                f64::NEG_INFINITY
                            }
                        })
                        .collect()
                })
                .collect()
        });
        let extreme = |pick: fn(f64, f64) -> f64, start: f64| -> f64 {
            forward
                .iter()
                .map(|row| letters.iter().map(|&id| row[id as usize]).fold(start, pick))
                .sum()
        };
        Ok(PwmScanner {
            id: motif.id.clone(),
            min: extreme(f64::min, f64::INFINITY),
            max: extreme(f64::max, f64::NEG_INFINITY),
            forward,
            reverse,
        })
    }

    /// Motif width.
    pub fn width(&self) -> usize {
        self.forward.len()
    }

    /// The relative score at or above which a random site has probability at most `p_value`
    /// (one strand, i.i.d. uniform bases: the scoring background), the threshold FIMO-style
    /// p-values stand for.
    ///
    /// The distribution of the site score is computed exactly by convolving the columns,
    /// with each column score rounded to [`PVALUE_RESOLUTION`] bits, so the threshold is
    /// exact up to that rounding.
    ///
    /// ```
    /// use seddbio::{alphabet::Alphabet, motif::{Motif, PwmScanner}};
    ///
    /// let dna = Alphabet::builtin("dna").unwrap();
    /// let ta = Motif { id: "t".into(), name: "t".into(), counts: vec![[0.0, 0.0, 0.0, 10.0], [10.0, 0.0, 0.0, 0.0]] };
    /// let scanner = PwmScanner::new(&ta, &dna).unwrap();
    /// // Only TA, 1 site in 16, reaches p <= 1/16: the threshold is the top score.
    /// assert!((scanner.relative_threshold_for_p_value(1.0 / 16.0) - 1.0).abs() < 2e-3);
    /// // p = 1 admits every site, the weakest ones (relative score 0) included.
    /// let all = scanner.relative_threshold_for_p_value(1.0);
    /// assert_eq!(scanner.scan(&[1, 1], all).len(), 2); // CC: relative score 0 on both strands
    /// ```
    pub fn relative_threshold_for_p_value(&self, p_value: f64) -> f64 {
        // Each column as its lowest grid score and every letter's offset above it.
        let columns: Vec<(i64, Vec<usize>)> = self
            .forward
            .iter()
            .map(|row| {
                let grid: Vec<i64> = row
                    .iter()
                    .filter(|v| v.is_finite())
                    .map(|v| (v / PVALUE_RESOLUTION).round() as i64)
                    .collect();
                let lowest = grid.iter().min().copied().unwrap_or(0);
                (
                    lowest,
                    grid.iter().map(|&g| (g - lowest) as usize).collect(),
                )
            })
            .collect();
        let low: i64 = columns.iter().map(|(lowest, _)| lowest).sum();
        // probability[k] = P(rounded score = low + k), one column convolved in at a time.
        let mut probability = vec![1.0f64];
        for (_, offsets) in &columns {
            let widest = offsets.iter().max().copied().unwrap_or(0);
            let mut next = vec![0.0f64; probability.len() + widest];
            for (k, &p) in probability.iter().enumerate().filter(|(_, &p)| p > 0.0) {
                for &offset in offsets {
                    next[k + offset] += p / offsets.len() as f64;
                }
            }
            probability = next;
        }
        let span = probability.len() - 1;
        let high = low + span as i64;
        // The lowest score a site can have whose upper tail is still <= p_value (the weakest
        // admitted site, not an empty grid cell below it).
        let mut tail = 0.0;
        let mut threshold = high + 1;
        for k in (0..=span).rev() {
            tail += probability[k];
            if tail > p_value * (1.0 + 1e-12) {
                break;
            }
            if probability[k] > 0.0 {
                threshold = low + k as i64;
            }
        }
        if threshold > high {
            return f64::INFINITY;
        }
        if threshold == low {
            // Every site, the weakest included (whatever the rounding did to the bottom cell).
            return -1e-9;
        }
        // Back to bits: the boundary between the grid cells below and at the threshold. A
        // site's rounded sum can be off by up to width x resolution / 2, so sites that close
        // to the threshold may fall on either side.
        let bits = (threshold as f64 - 0.5) * PVALUE_RESOLUTION;
        ((bits - self.min) / (self.max - self.min)).max(0.0)
    }

    /// Every site with a relative score of at least `threshold`, both strands, by start.
    pub fn scan(&self, sequence: &[TokenId], threshold: f64) -> Vec<MotifHit> {
        let w = self.width();
        let mut hits = Vec::new();
        if sequence.len() < w {
            return hits;
        }
        let relative = |matrix: &Vec<Vec<f64>>, start: usize| -> f64 {
            let score: f64 = matrix
                .iter()
                .zip(&sequence[start..start + w])
                .map(|(row, &t)| row.get(t as usize).copied().unwrap_or(f64::NEG_INFINITY))
                .sum();
            (score - self.min) / (self.max - self.min)
        };
        for start in 0..=sequence.len() - w {
            let score = relative(&self.forward, start);
            if score >= threshold {
                hits.push(MotifHit {
                    start,
                    reverse: false,
                    relative_score: score,
                });
            }
            if let Some(reverse) = &self.reverse {
                let score = relative(reverse, start);
                if score >= threshold {
                    hits.push(MotifHit {
                        start,
                        reverse: true,
                        relative_score: score,
                    });
                }
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JASPAR: &str =
        ">MA0108.3\tTBP\nA  [ 1 10  0 ]\nC  [ 2  0  0 ]\nG  [ 3  0  0 ]\nT  [ 4  0 10 ]\n";

    #[test]
    fn jaspar_and_meme_parse_to_the_same_counts() {
        let dir = crate::test_dir::tempdir().unwrap();
        let jaspar = dir.path().join("m.jaspar");
        std::fs::write(&jaspar, JASPAR).unwrap();
        let meme = dir.path().join("m.meme");
        std::fs::write(&meme, "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF MA0108.3 TBP\nletter-probability matrix: alength= 4 w= 3 nsites= 10 E= 0\n 0.1 0.2 0.3 0.4\n 1 0 0 0\n 0 0 0 1\n").unwrap();
        let a = read_motifs(&jaspar).unwrap();
        let b = read_motifs(&meme).unwrap();
        assert_eq!(a[0].id, "MA0108.3");
        assert_eq!(a[0].name, "TBP");
        for (x, y) in a[0]
            .counts
            .iter()
            .flatten()
            .zip(b[0].counts.iter().flatten())
        {
            assert!((x - y).abs() < 1e-12);
        }
        assert_eq!(a[0].consensus(), "TAT");
    }

    #[test]
    fn the_score_of_a_known_site_by_hand() {
        let motif = parse_jaspar(JASPAR).unwrap().remove(0);
        let dna = Alphabet::builtin("dna").unwrap();
        let scanner = PwmScanner::new(&motif, &dna).unwrap();
        // Site TAT: T at position 1 has (4 + 0.2) / 10.8, A at 2 (10 + 0.2) / 10.8, T at 3 the same.
        let p = |c: f64| ((c + 0.2) / 10.8 / 0.25f64).log2();
        let score = p(4.0) + p(10.0) + p(10.0);
        let min = p(1.0) + p(0.0) + p(0.0);
        let max = score;
        let hits = scanner.scan(&[3, 0, 3], 0.0);
        let forward = hits.iter().find(|h| !h.reverse).unwrap();
        assert!((forward.relative_score - (score - min) / (max - min)).abs() < 1e-12);
        assert!((forward.relative_score - 1.0).abs() < 1e-12);
        // The reverse strand of TAT is ATA: A(1) T(0) A(0).
        let reverse = hits.iter().find(|h| h.reverse).unwrap();
        let expected = (p(1.0) + p(0.0) + p(0.0) - min) / (max - min);
        assert!((reverse.relative_score - expected).abs() < 1e-12);
    }

    #[test]
    fn malformed_motif_files_name_the_line() {
        let dir = crate::test_dir::tempdir().unwrap();
        let path = dir.path().join("bad.jaspar");
        std::fs::write(&path, ">M1 x\nA [ 1 2 ]\nC [ 1 x ]\n").unwrap();
        let err = read_motifs(&path).unwrap_err().to_string();
        assert!(
            err.contains("bad.jaspar: line 3: 'x' is not a count or probability"),
            "{err}"
        );
        std::fs::write(&path, ">M1 x\nA [ 1 2 ]\nC [ 1 2 ]\n").unwrap();
        let err = read_motifs(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 1: motif M1: expected four rows"),
            "{err}"
        );
    }

    /// Against brute force: every site of a width-4 motif enumerated (256 sites), its exact
    /// upper-tail probability compared with the p-value threshold.
    #[test]
    fn p_value_thresholds_match_an_enumeration_of_all_sites() {
        let dna = Alphabet::builtin("dna").unwrap();
        let motif = Motif {
            id: "m".into(),
            name: "m".into(),
            counts: vec![
                [7.0, 1.0, 1.0, 1.0],
                [1.0, 2.0, 6.0, 1.0],
                [3.0, 3.0, 1.0, 3.0],
                [0.0, 1.0, 1.0, 8.0],
            ],
        };
        let scanner = PwmScanner::new(&motif, &dna).unwrap();
        let relative = |site: &[TokenId]| -> f64 {
            let score: f64 = scanner
                .forward
                .iter()
                .zip(site)
                .map(|(row, &t)| row[t as usize])
                .sum();
            (score - scanner.min) / (scanner.max - scanner.min)
        };
        let sites: Vec<[TokenId; 4]> = (0..256u32)
            .map(|i| std::array::from_fn(|j| ((i >> (2 * j)) & 3) as TokenId))
            .collect();
        let scores: Vec<f64> = sites.iter().map(|s| relative(s)).collect();
        let tail = |x: f64| scores.iter().filter(|&&y| y >= x - 1e-12).count() as f64 / 256.0;
        for p in [1.0 / 256.0, 3.0 / 256.0, 0.01, 0.05, 0.2, 0.5] {
            let threshold = scanner.relative_threshold_for_p_value(p);
            let slack = 4.0 * PVALUE_RESOLUTION / (scanner.max - scanner.min);
            for &score in &scores {
                // Admitted sites have a tail <= p, rejected ones a tail > p, except within the
                // rounding slack of the score grid around the threshold.
                if (score - threshold).abs() <= slack {
                    continue;
                }
                if score >= threshold {
                    assert!(
                        tail(score) <= p + 1e-12,
                        "p {p}: admitted {score} tail {}",
                        tail(score)
                    );
                } else {
                    assert!(
                        tail(score) > p,
                        "p {p}: rejected {score} tail {}",
                        tail(score)
                    );
                }
            }
        }
    }

    /// A motif file in JASPAR format, as `read_motifs` reads it back.
    fn to_jaspar(motifs: &[Motif]) -> String {
        let mut text = String::new();
        for motif in motifs {
            text.push_str(&format!(">{} {}\n", motif.id, motif.name));
            for (row, base) in ["A", "C", "G", "T"].iter().enumerate() {
                let values: Vec<String> = motif.counts.iter().map(|c| c[row].to_string()).collect();
                text.push_str(&format!("{base} [ {} ]\n", values.join(" ")));
            }
        }
        text
    }

    #[test]
    fn random_and_mutated_motif_files_never_panic_and_jaspar_round_trips() {
        let dir = crate::test_dir::tempdir().unwrap();
        let path = dir.path().join("m.txt");
        let meme = "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF MA0108.3 TBP\nletter-probability matrix: alength= 4 w= 3 nsites= 10 E= 0\n 0.1 0.2 0.3 0.4\n 1 0 0 0\n 0 0 0 1\n";
        let pieces: &[&[u8]] = &[
            b">",
            b"MA0108.3",
            b" TBP",
            b"\n",
            b"A",
            b"C",
            b"G",
            b"T",
            b" [",
            b" ]",
            b" 1",
            b" 0.5",
            b" -1",
            b" nan",
            b" 1e308",
            b"MOTIF",
            b"letter-probability matrix: ",
            b"w= ",
            b"3",
            b"1e30",
            b"nsites= ",
            b"MEME version 4\n",
        ];
        let mut inputs = crate::fuzz::Inputs::new(41);
        let mut parsed = 0;
        for case in 0..3000 {
            let input = match case % 3 {
                0 => inputs.grammar(pieces, 40),
                1 => inputs.mutate(JASPAR.as_bytes()),
                _ => inputs.mutate(meme.as_bytes()),
            };
            std::fs::write(&path, &input).unwrap();
            let Ok(motifs) = crate::fuzz::must_return("read_motifs", &input, || read_motifs(&path))
            else {
                continue;
            };
            parsed += 1;
            for motif in &motifs {
                assert!((1..=MAX_MOTIF_WIDTH).contains(&motif.width()), "{input:?}");
                assert!(motif
                    .counts
                    .iter()
                    .flatten()
                    .all(|c| c.is_finite() && *c >= 0.0));
            }
            // What was read is written as JASPAR and read back the same (names without
            // line breaks; a MEME motif's name is the rest of its MOTIF line).
            std::fs::write(&path, to_jaspar(&motifs)).unwrap();
            assert_eq!(read_motifs(&path).unwrap(), motifs, "{input:?}");
        }
        assert!(parsed > 100, "{parsed} of 3000 parsed");
    }
}
