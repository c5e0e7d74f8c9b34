//! Variant scores against measured effects: Spearman's rank correlation with a measured
//! fitness column, and the AUROC against binary labels, each with a bootstrap confidence
//! interval (docs/design.md, §16).

use std::{collections::HashMap, path::Path};

use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};

use crate::{variant::MutationTable, Error, Result};

/// One column of a scan table by mutation: `(mutation, text)`.
fn column_by_mutation(table: &MutationTable, column: &str) -> Result<Vec<(String, String)>> {
    Ok(table
        .rows(Some(column))?
        .into_iter()
        .map(|row| (row.mutation, row.value.unwrap_or_default()))
        .collect())
}

/// Scores by mutation, one map per score column: every column of `path` but the mutation
/// column whose values are all numbers, standard errors (`*_se*`) left out; `score --variants`
/// tables have one (`score_nats`), a table joining several models has one per model.
pub fn read_score_columns(path: &Path) -> Result<Vec<(String, HashMap<String, f64>)>> {
    let table = MutationTable::open(path, None)?;
    let mut columns = Vec::new();
    for name in table
        .names()
        .iter()
        .filter(|n| *n != table.mutation_column() && !n.contains("_se"))
    {
        let values = column_by_mutation(&table, name)?;
        let numbers: Option<HashMap<String, f64>> = values
            .into_iter()
            .map(|(m, v)| v.trim().parse::<f64>().ok().map(|x| (m, x)))
            .collect();
        if let Some(numbers) = numbers.filter(|n| !n.is_empty()) {
            columns.push((name.clone(), numbers));
        }
    }
    if columns.is_empty() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: "no column of scores (numbers) beside the mutation column".into(),
        });
    }
    Ok(columns)
}

/// Keeps in every score column only the variants that all columns score, so that methods
/// which cover different parts of a wild type are compared on the same variants; returns
/// how many that is.
///
/// ```
/// use std::collections::HashMap;
/// use seddbio::eval::keep_shared_variants;
///
/// let column = |names: &[&str]| names.iter().map(|n| (n.to_string(), 0.0)).collect::<HashMap<_, _>>();
/// let mut columns = vec![("a".to_string(), column(&["K2R", "T3A"])), ("b".to_string(), column(&["T3A"]))];
/// assert_eq!(keep_shared_variants(&mut columns), 1);
/// assert!(columns[0].1.contains_key("T3A") && !columns[0].1.contains_key("K2R"));
/// ```
pub fn keep_shared_variants(columns: &mut [(String, HashMap<String, f64>)]) -> usize {
    let Some(((_, first), rest)) = columns.split_first() else {
        return 0;
    };
    let shared: std::collections::HashSet<String> = first
        .keys()
        .filter(|m| rest.iter().all(|(_, c)| c.contains_key(*m)))
        .cloned()
        .collect();
    for (_, column) in columns.iter_mut() {
        column.retain(|m, _| shared.contains(m.as_str()));
    }
    shared.len()
}

/// What was measured of each variant: a number (fitness), or a class.
#[derive(Debug, Clone, PartialEq)]
pub enum Measured {
    /// Measured effects (Spearman).
    Values(HashMap<String, f64>),
    /// Binary labels, `true` for the positive class (AUROC).
    Classes(HashMap<String, bool>),
}

/// The measured `column` of a labels table by mutation: numbers, or, with `positive`, a
/// class per row (`true` where the value is `positive`). Rows without a value are left out.
pub fn read_measured(path: &Path, column: &str, positive: Option<&str>) -> Result<Measured> {
    let rows = column_by_mutation(&MutationTable::open(path, None)?, column)?;
    let rows = rows.into_iter().filter(|(_, v)| {
        let v = v.trim();
        !v.is_empty() && !v.eq_ignore_ascii_case("nan") && !v.eq_ignore_ascii_case("na")
    });
    if let Some(positive) = positive {
        return Ok(Measured::Classes(
            rows.map(|(m, v)| (m, v.trim() == positive)).collect(),
        ));
    }
    let mut values = HashMap::new();
    for (m, v) in rows {
        let x = v.trim().parse::<f64>().map_err(|_| Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "{m}: '{v}' in column {column} is not a number (for class labels, name the positive class)"
            ),
        })?;
        values.insert(m, x);
    }
    Ok(Measured::Values(values))
}

/// Spearman's rank correlation (ties get their mean rank); 0 with fewer than 2 pairs or a
/// constant side.
///
/// ```
/// use seddbio::eval::spearman;
///
/// assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 30.0, 20.0]), 0.5);
/// assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
/// ```
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    super::kmer::pearson(&ra, &rb)
}

/// 1-based ranks, ties averaged.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        for &k in &order[i..=j] {
            ranks[k] = (i + j) as f64 / 2.0 + 1.0;
        }
        i = j + 1;
    }
    ranks
}

/// The area under the ROC curve of `scores` for the `positive` class: the chance that a
/// random positive scores above a random negative, ties counting half (Mann-Whitney); NaN
/// without both classes.
///
/// ```
/// use seddbio::eval::auroc;
///
/// assert_eq!(auroc(&[0.9, 0.8, 0.3, 0.1], &[true, false, true, false]), 0.75);
/// assert_eq!(auroc(&[1.0, 1.0], &[true, false]), 0.5);
/// ```
pub fn auroc(scores: &[f64], positive: &[bool]) -> f64 {
    let r = ranks(scores);
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return f64::NAN;
    }
    let rank_sum: f64 = r
        .iter()
        .zip(positive)
        .filter(|(_, &p)| p)
        .map(|(r, _)| r)
        .sum();
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// One score column against the measured effects.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EffectAgreement {
    /// The score column.
    pub column: String,
    /// Variants with both a score and a measurement.
    pub variants: usize,
    /// Spearman's rho (measured values) or the AUROC (classes).
    pub statistic: f64,
    /// Its 95 % bootstrap interval (2.5th and 97.5th percentiles).
    pub interval: (f64, f64),
    /// `spearman` or `auroc`.
    pub kind: &'static str,
}

/// Each score column against the measurements, over the variants both name, with `draws`
/// bootstrap resamples of those variants from `seed`.
pub fn agreement(
    columns: &[(String, HashMap<String, f64>)],
    measured: &Measured,
    draws: usize,
    seed: u64,
) -> Vec<EffectAgreement> {
    columns
        .iter()
        .map(|(name, scores)| column_draws(scores, measured, draws, seed).agreement(name))
        .collect()
}

/// [`agreement`]'s rows, then the first column's statistic minus each other's with a paired
/// bootstrap interval: every resample draws the same variants for both columns (the
/// resamples each row's interval comes from), so the interval is that of the difference
/// itself, narrower than the two columns' own intervals suggest. The columns must score the
/// same variants ([`keep_shared_variants`]); the difference rows' `kind` is
/// `spearman_difference` or `auroc_difference`.
pub fn agreement_with_differences(
    columns: &[(String, HashMap<String, f64>)],
    measured: &Measured,
    draws: usize,
    seed: u64,
) -> Vec<EffectAgreement> {
    let drawn: Vec<ColumnDraws> = columns
        .iter()
        .map(|(_, scores)| column_draws(scores, measured, draws, seed))
        .collect();
    let mut rows: Vec<EffectAgreement> = columns
        .iter()
        .zip(&drawn)
        .map(|((name, _), column)| column.agreement(name))
        .collect();
    if let (Some((first_name, _)), Some((first, rest))) = (columns.first(), drawn.split_first()) {
        for ((name, _), other) in columns[1..].iter().zip(rest) {
            let interval = match other.variants == first.variants {
                true => percentile_interval(
                    first
                        .resampled
                        .iter()
                        .zip(&other.resampled)
                        .map(|(a, b)| a - b)
                        .collect(),
                ),
                false => (f64::NAN, f64::NAN),
            };
            rows.push(EffectAgreement {
                column: format!("{first_name} - {name}"),
                variants: first.variants,
                statistic: first.statistic - other.statistic,
                interval,
                kind: match first.kind {
                    "spearman" => "spearman_difference",
                    _ => "auroc_difference",
                },
            });
        }
    }
    rows
}

/// One score column against the measurements: the statistic over all the variants both name,
/// and over each bootstrap resample of them.
struct ColumnDraws {
    kind: &'static str,
    variants: usize,
    statistic: f64,
    resampled: Vec<f64>,
}

impl ColumnDraws {
    /// The column's row: the statistic and its 95 % percentile interval.
    fn agreement(&self, column: &str) -> EffectAgreement {
        EffectAgreement {
            column: column.to_string(),
            variants: self.variants,
            statistic: self.statistic,
            interval: percentile_interval(self.resampled.clone()),
            kind: self.kind,
        }
    }
}

/// Spearman's rho against measured values, or the AUROC against classes, of `scores`, with
/// `draws` resamples from `seed`.
fn column_draws(
    scores: &HashMap<String, f64>,
    measured: &Measured,
    draws: usize,
    seed: u64,
) -> ColumnDraws {
    let (kind, variants, (statistic, resampled)) = match measured {
        Measured::Values(values) => {
            let pairs = paired(scores, values);
            (
                "spearman",
                pairs.len(),
                resamples(&pairs, spearman, draws, seed),
            )
        }
        Measured::Classes(classes) => {
            let pairs = paired(scores, classes);
            ("auroc", pairs.len(), resamples(&pairs, auroc, draws, seed))
        }
    };
    ColumnDraws {
        kind,
        variants,
        statistic,
        resampled,
    }
}

/// `(score, measurement)` of each variant both name, in mutation order, so that the bootstrap
/// draws the same pairs on every run.
fn paired<T: Copy>(scores: &HashMap<String, f64>, measured: &HashMap<String, T>) -> Vec<(f64, T)> {
    let mut names: Vec<&String> = scores.keys().collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|m| Some((scores[m], *measured.get(m)?)))
        .collect()
}

/// `statistic` of all the pairs, and of each of `draws` resamples (with replacement, from
/// `seed`). Lists of pairs of one length draw the same indices: the resamples of two score
/// columns over the same variants are paired.
fn resamples<T: Copy>(
    pairs: &[(f64, T)],
    statistic: fn(&[f64], &[T]) -> f64,
    draws: usize,
    seed: u64,
) -> (f64, Vec<f64>) {
    let of = |indices: &mut dyn Iterator<Item = usize>| {
        let (a, b): (Vec<f64>, Vec<T>) = indices.map(|i| pairs[i]).unzip();
        statistic(&a, &b)
    };
    let n = pairs.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let resampled = (0..draws)
        .map(|_| of(&mut (0..n).map(|_| rng.random_range(0..n))))
        .collect();
    (of(&mut (0..n)), resampled)
}

/// The 2.5th and 97.5th percentiles of the finite values (NaN without any).
fn percentile_interval(values: Vec<f64>) -> (f64, f64) {
    let mut values: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    values.sort_by(f64::total_cmp);
    let at = |q: f64| match values.len() {
        0 => f64::NAN,
        k => values[((q * (k - 1) as f64).round() as usize).min(k - 1)],
    };
    (at(0.025), at(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_and_auroc_by_hand_with_ties() {
        // Ranks of [1, 2, 2, 3]: 1, 2.5, 2.5, 4.
        assert_eq!(ranks(&[1.0, 2.0, 2.0, 3.0]), [1.0, 2.5, 2.5, 4.0]);
        assert!(
            (spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]) - 0.9486832980505138).abs()
                < 1e-12
        );
        // Positives 0.8 and 0.5 against negatives 0.5 and 0.1: pairs (0.8 > 0.5, 0.8 > 0.1,
        // 0.5 = 0.5, 0.5 > 0.1) = 3.5 of 4.
        assert_eq!(
            auroc(&[0.8, 0.5, 0.5, 0.1], &[true, true, false, false]),
            0.875
        );
        assert!(auroc(&[1.0, 2.0], &[true, true]).is_nan());
        assert_eq!(spearman(&[1.0], &[2.0]), 0.0);
    }

    #[test]
    fn the_bootstrap_interval_holds_the_statistic_and_narrows_with_more_variants() {
        let column = |n: usize| {
            let scores: HashMap<String, f64> = (0..n)
                .map(|i| (format!("A{i}C"), i as f64 + ((i * 37) % 101) as f64 * 4.0))
                .collect();
            let measured: HashMap<String, f64> =
                (0..n).map(|i| (format!("A{i}C"), i as f64)).collect();
            agreement(&[("s".into(), scores)], &Measured::Values(measured), 400, 1).remove(0)
        };
        let (small, large) = (column(20), column(400));
        for a in [&small, &large] {
            assert!(
                a.interval.0 <= a.statistic && a.statistic <= a.interval.1,
                "{a:?}"
            );
        }
        assert_eq!(large.variants, 400);
        assert!(large.interval.1 - large.interval.0 < small.interval.1 - small.interval.0);
    }

    #[test]
    fn a_paired_difference_is_the_difference_of_the_statistics_and_narrower_than_each() {
        // Two noisy scores of one effect: the second a little noisier.
        let n = 300;
        let measured: HashMap<String, f64> = (0..n).map(|i| (format!("A{i}C"), i as f64)).collect();
        let noisy = |scale: usize| -> HashMap<String, f64> {
            (0..n)
                .map(|i| (format!("A{i}C"), i as f64 + ((i * 37) % 101 * scale) as f64))
                .collect()
        };
        let columns = vec![("a".to_string(), noisy(2)), ("b".to_string(), noisy(3))];
        let measured = Measured::Values(measured);
        let mut rows = agreement_with_differences(&columns, &measured, 400, 7);
        let difference = rows.remove(2);
        let each = rows;
        assert_eq!(each.len(), 2);
        assert_eq!(
            each[0].interval,
            agreement(&columns, &measured, 400, 7)[0].interval
        );
        assert_eq!(difference.column, "a - b");
        assert_eq!(difference.kind, "spearman_difference");
        assert!((difference.statistic - (each[0].statistic - each[1].statistic)).abs() < 1e-12);
        let width = |i: (f64, f64)| i.1 - i.0;
        assert!(difference.interval.0 <= difference.statistic);
        assert!(difference.statistic <= difference.interval.1);
        assert!(width(difference.interval) < width(each[0].interval).min(width(each[1].interval)));
    }
}
