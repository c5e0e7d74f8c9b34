//! Deterministic train/validation splits.

use std::collections::HashMap;

use rand::{rngs::ChaCha8Rng, seq::SliceRandom, SeedableRng};

use crate::{
    error::{Error, Result},
    io::{Fnv1a, SequenceRecord},
};

/// How records are divided between training and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitMode {
    /// A random subset of records, drawn from the seed.
    #[default]
    Random,
    /// The last records of the file, in file order.
    Last,
    /// The last part of every record (a contiguous held-out region; for genomes).
    Region,
    /// Random whole clusters of records that share an exact k-mer (homologs, fragments and
    /// duplicates stay on one side; for protein families and other redundant collections).
    Cluster,
}

crate::choices::named_choices!(SplitMode, "split", {
    Random => "random",
    Last => "last",
    Region => "region",
    Cluster => "cluster",
});

/// The split taken from a column of a table: which value trains, which validates, and which
/// rows are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitColumn {
    /// The column (CSV/TSV).
    pub column: String,
    /// The value of the training rows.
    pub train: String,
    /// The value of the validation rows.
    pub valid: String,
    /// Values whose rows are left out (counted in the data summary).
    pub skip: Vec<String>,
}

impl SplitColumn {
    /// `records` (read with [`SplitColumn::column`] into [`SequenceRecord::split`]) as
    /// training and validation records, and how many were left out; any value not named is an
    /// error naming the record, and so is a side left empty.
    ///
    /// ```
    /// use seddbio::{data::SplitColumn, io::SequenceRecord};
    ///
    /// let record = |n: usize, split: &str| SequenceRecord {
    ///     number: n, line: None, id: format!("r{n}"), sequence: b"ACGT".to_vec(),
    ///     label: None, split: Some(split.into()), source: None,
    /// };
    /// let by = SplitColumn { column: "set".into(), train: "train".into(), valid: "valid".into(), skip: vec!["test".into()] };
    /// let (train, valid, skipped) =
    ///     by.split("t.csv".as_ref(), vec![record(1, "train"), record(2, "valid"), record(3, "test"), record(4, "train")]).unwrap();
    /// assert_eq!((train.len(), valid.len(), skipped), (2, 1, 1));
    /// assert!(by.split("t.csv".as_ref(), vec![record(1, "train"), record(2, "dev")]).is_err());
    /// ```
    pub fn split(
        &self,
        path: &std::path::Path,
        records: Vec<SequenceRecord>,
    ) -> Result<(Vec<SequenceRecord>, Vec<SequenceRecord>, usize)> {
        let (mut train, mut valid, mut skipped) = (Vec::new(), Vec::new(), 0);
        for record in records {
            let value = record.split.as_deref().unwrap_or_default();
            if value == self.train {
                train.push(record);
            } else if value == self.valid {
                valid.push(record);
            } else if self.skip.iter().any(|s| s == value) {
                skipped += 1;
            } else {
                return Err(Error::SplitValue {
                    value: value.to_string(),
                    location: Box::new(crate::error::RecordLocation {
                        path: path.to_path_buf(),
                        number: record.number,
                        line: record.line,
                        id: record.id,
                    }),
                    column: self.column.clone(),
                    sides: Box::new((self.train.clone(), self.valid.clone())),
                });
            }
        }
        for (side, records, value) in [
            ("training", &train, &self.train),
            ("validation", &valid, &self.valid),
        ] {
            if records.is_empty() {
                return Err(Error::Setting {
                    setting: crate::Setting::EmptySplit,
                    message: format!(
                        "{}: no row of column '{}' has the {side} value '{value}'",
                        path.display(),
                        self.column
                    ),
                });
            }
        }
        Ok((train, valid, skipped))
    }
}

/// Splits records into (train, validation): `fraction` of the records (or, for
/// [`SplitMode::Region`], of every record's length) goes to validation. The same seed, fraction
/// and input always give the same split. [`SplitMode::Cluster`] holds out whole
/// [`RecordClusters`] (shortest k-mer of [`RecordClusters::chance_free_k`]).
///
/// ```
/// use seddbio::{data::{split_records, SplitMode}, io::SequenceRecord};
///
/// let records: Vec<SequenceRecord> = (1..=10)
///     .map(|n| SequenceRecord { number: n, line: None, id: format!("r{n}"), sequence: b"ACGT".to_vec(), label: None, split: None, source: None })
///     .collect();
/// let (train, valid) = split_records(records.clone(), 0.2, SplitMode::Last, 0).unwrap();
/// assert_eq!((train.len(), valid[0].id.as_str()), (8, "r9"));
/// let (a, _) = split_records(records.clone(), 0.2, SplitMode::Random, 7).unwrap();
/// let (b, _) = split_records(records, 0.2, SplitMode::Random, 7).unwrap();
/// assert_eq!(a, b);
/// ```
pub fn split_records(
    records: Vec<SequenceRecord>,
    fraction: f64,
    mode: SplitMode,
    seed: u64,
) -> Result<(Vec<SequenceRecord>, Vec<SequenceRecord>)> {
    split_records_with_clusters(records, fraction, mode, seed)
        .map(|(train, valid, _)| (train, valid))
}

/// [`split_records`], with the clusters a [`SplitMode::Cluster`] split held out from (for the
/// data summary; `None` for the other modes).
pub fn split_records_with_clusters(
    records: Vec<SequenceRecord>,
    fraction: f64,
    mode: SplitMode,
    seed: u64,
) -> Result<(
    Vec<SequenceRecord>,
    Vec<SequenceRecord>,
    Option<RecordClusters>,
)> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::Setting {
            setting: crate::Setting::ValidFraction,
            message: format!("the validation fraction must be in [0, 1), got {fraction}"),
        });
    }
    if fraction == 0.0 {
        return Ok((records, Vec::new(), None));
    }
    let n = records.len();
    let n_valid = (fraction * n as f64).round() as usize;
    match mode {
        SplitMode::Region => {
            let (train, valid) = split_regions(records, fraction);
            Ok((train, valid, None))
        }
        _ if n_valid == 0 || n_valid == n => Err(Error::Setting {
            setting: crate::Setting::EmptySplit,
            message: format!(
                "a validation fraction of {fraction} of {n} record(s) leaves {} set empty",
                if n_valid == 0 {
                    "the validation"
                } else {
                    "the training"
                }
            ),
        }),
        SplitMode::Last => {
            let mut train = records;
            let valid = train.split_off(n - n_valid);
            Ok((train, valid, None))
        }
        SplitMode::Random => {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            let mut is_valid = vec![false; n];
            for &i in &order[..n_valid] {
                is_valid[i] = true;
            }
            let (train, valid) = partition(records, &is_valid);
            Ok((train, valid, None))
        }
        SplitMode::Cluster => {
            let k = RecordClusters::chance_free_k(&records);
            let clusters = RecordClusters::by_shared_kmers(&records, k);
            // hold_out holds out at least one cluster whenever there are two.
            if clusters.len() == 1 {
                return Err(Error::Setting {
                    setting: crate::Setting::EmptySplit,
                    message: format!(
                        "the {n} records form one cluster (records linked by shared {k}-mers): a cluster split would leave the validation set empty"
                    ),
                });
            }
            let (train, valid) = partition(records, &clusters.hold_out(n_valid, seed));
            Ok((train, valid, Some(clusters)))
        }
    }
}

/// (train, validation) by a flag per record; both keep file order.
fn partition(
    records: Vec<SequenceRecord>,
    is_valid: &[bool],
) -> (Vec<SequenceRecord>, Vec<SequenceRecord>) {
    let (valid, train): (Vec<_>, Vec<_>) = records
        .into_iter()
        .zip(is_valid.iter().copied())
        .partition(|(_, v)| *v);
    (
        train.into_iter().map(|(r, _)| r).collect(),
        valid.into_iter().map(|(r, _)| r).collect(),
    )
}

/// Single-linkage clusters of records: two records are linked when they share an exact
/// substring of `k` symbols, and a cluster is a connected set of links. This is the k-mer
/// prefilter that homology-aware splits use (MMseqs2's linclust links by shared k-mers too,
/// then aligns); with `k` long enough that chance matches are not expected
/// ([`Self::chance_free_k`]), a shared k-mer means shared descent, a fragment or a duplicate.
///
/// ```
/// use seddbio::{data::RecordClusters, io::SequenceRecord};
///
/// let record = |n: usize, s: &str| SequenceRecord {
///     number: n, line: None, id: format!("r{n}"), sequence: s.as_bytes().to_vec(), label: None, split: None, source: None,
/// };
/// let records = [record(1, "MKVLAAGIWQ"), record(2, "PPMKVLAAGS"), record(3, "WWCHEYRDNT")];
/// let clusters = RecordClusters::by_shared_kmers(&records, 6);
/// assert_eq!(clusters.len(), 2); // r1 and r2 share MKVLAA
/// assert_eq!(clusters.cluster_of(0), clusters.cluster_of(1));
/// assert_ne!(clusters.cluster_of(0), clusters.cluster_of(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordClusters {
    /// Cluster index of every record, numbered in order of first appearance.
    of_record: Vec<u32>,
    /// Records per cluster.
    sizes: Vec<usize>,
    /// The k-mer length that linked them.
    k: usize,
}

impl RecordClusters {
    /// Clusters `records` by shared exact k-mers (records shorter than `k` are clusters of
    /// their own).
    pub fn by_shared_kmers(records: &[SequenceRecord], k: usize) -> RecordClusters {
        let k = k.max(1);
        let mut parent: Vec<u32> = (0..records.len() as u32).collect();
        // The first record each k-mer was seen in, keyed by its FNV-1a hash (deterministic, as
        // the split must be; with a few hundred million k-mers a collision is expected about
        // once in a few hundred runs, and would merge two clusters, never split one).
        let mut first_seen: HashMap<u64, u32> = HashMap::new();
        for (i, record) in records.iter().enumerate() {
            for kmer in record.sequence.windows(k) {
                let seen = *first_seen.entry(Fnv1a::of(kmer)).or_insert(i as u32);
                if seen != i as u32 {
                    union(&mut parent, seen, i as u32);
                }
            }
        }
        // Clusters numbered in order of their first record.
        let mut of_record = Vec::with_capacity(records.len());
        let mut number_of_root = vec![u32::MAX; records.len()];
        let mut sizes: Vec<usize> = Vec::new();
        for i in 0..records.len() as u32 {
            let root = find(&mut parent, i) as usize;
            if number_of_root[root] == u32::MAX {
                number_of_root[root] = sizes.len() as u32;
                sizes.push(0);
            }
            sizes[number_of_root[root] as usize] += 1;
            of_record.push(number_of_root[root]);
        }
        RecordClusters {
            of_record,
            sizes,
            k,
        }
    }

    /// The shortest k at which fewer than one chance match is expected among all k-mers of
    /// `records`: with symbol frequencies p, two random k-mers agree with probability
    /// (sum p^2)^k, and the data hold about N^2 / 2 pairs of k-mers (N symbols in all), so
    /// k = ceil(log2(N^2 / 2) / H2) with H2 = -log2(sum p^2), the collision entropy. Protein
    /// collections of a few million residues get about 11, a bacterial genome about 23.
    /// Real sequences are less random than their symbol frequencies (low-complexity runs), so
    /// this is a floor; it is at least 4.
    pub fn chance_free_k(records: &[SequenceRecord]) -> usize {
        let mut counts = [0u64; 256];
        for record in records {
            for &b in &record.sequence {
                counts[b as usize] += 1;
            }
        }
        let n: u64 = counts.iter().sum();
        if n < 2 {
            return 4;
        }
        let collision: f64 = counts.iter().map(|&c| (c as f64 / n as f64).powi(2)).sum();
        let h2 = -collision.log2();
        if h2 <= 0.0 {
            // One symbol: every k-mer matches every other; no k separates records.
            return 4;
        }
        let pairs = (n as f64).powi(2) / 2.0;
        ((pairs.log2() / h2).ceil() as usize).max(4)
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// The cluster of record `index` (clusters numbered by their first record).
    pub fn cluster_of(&self, index: usize) -> usize {
        self.of_record[index] as usize
    }

    /// Records in the largest cluster.
    pub fn largest(&self) -> usize {
        self.sizes.iter().copied().max().unwrap_or(0)
    }

    /// The k-mer length that linked the records.
    pub fn k(&self) -> usize {
        self.k
    }

    /// A held-out flag per record: whole clusters in a seeded random order, each taken while it
    /// fits in the `target` records still wanted (a cluster larger than what is left is passed
    /// over, so a giant cluster stays in training and the held-out count stays close to the
    /// target). When no cluster fits at all, the smallest is held out (never the only one).
    pub fn hold_out(&self, target: usize, seed: u64) -> Vec<bool> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let mut chosen = vec![false; self.len()];
        let mut left = target;
        for &cluster in &order {
            if left == 0 {
                break;
            }
            if self.sizes[cluster] <= left {
                chosen[cluster] = true;
                left -= self.sizes[cluster];
            }
        }
        if target > 0 && left == target && self.len() > 1 {
            // The first of the smallest in the seeded order, so the seed still picks it.
            if let Some(&smallest) = order.iter().min_by_key(|&&c| self.sizes[c]) {
                chosen[smallest] = true;
            }
        }
        self.of_record.iter().map(|&c| chosen[c as usize]).collect()
    }
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        // Path halving.
        parent[i as usize] = parent[parent[i as usize] as usize];
        i = parent[i as usize];
    }
    i
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb) as usize] = ra.min(rb);
    }
}

/// Cuts every record at `(1 - fraction)` of its length: head for training, tail for validation,
/// with `id:start-end` coordinates (1-based, inclusive).
fn split_regions(
    records: Vec<SequenceRecord>,
    fraction: f64,
) -> (Vec<SequenceRecord>, Vec<SequenceRecord>) {
    let mut train = Vec::with_capacity(records.len());
    let mut valid = Vec::with_capacity(records.len());
    for mut record in records {
        let n = record.sequence.len();
        let cut = ((1.0 - fraction) * n as f64).round() as usize;
        let tail = record.sequence.split_off(cut);
        let id = record.id.clone();
        if !tail.is_empty() {
            valid.push(SequenceRecord {
                id: format!("{id}:{}-{n}", cut + 1),
                sequence: tail,
                ..record.clone()
            });
        }
        if cut > 0 {
            record.id = format!("{id}:1-{cut}");
            train.push(record);
        }
    }
    (train, valid)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn records(n: usize) -> Vec<SequenceRecord> {
        (1..=n)
            .map(|i| SequenceRecord {
                number: i,
                line: None,
                id: format!("r{i}"),
                sequence: b"ACGTACGTAC".to_vec(),
                label: None,
                split: None,
                source: None,
            })
            .collect()
    }

    #[test]
    fn random_split_depends_on_the_seed_only() {
        let ids = |seed| {
            let (_, valid) = split_records(records(100), 0.1, SplitMode::Random, seed).unwrap();
            valid.into_iter().map(|r| r.number).collect::<Vec<_>>()
        };
        assert_eq!(ids(1).len(), 10);
        assert_eq!(ids(1), ids(1));
        assert_ne!(ids(1), ids(2));
        assert!(ids(1).windows(2).all(|w| w[0] < w[1]), "file order kept");
    }

    #[test]
    fn region_split_keeps_coordinates() {
        let (train, valid) = split_records(records(1), 0.3, SplitMode::Region, 0).unwrap();
        assert_eq!(train[0].id, "r1:1-7");
        assert_eq!(valid[0].id, "r1:8-10");
        assert_eq!(valid[0].sequence, b"TAC");
    }

    fn record(number: usize, sequence: &[u8]) -> SequenceRecord {
        SequenceRecord {
            number,
            line: None,
            id: format!("r{number}"),
            sequence: sequence.to_vec(),
            label: None,
            split: None,
            source: None,
        }
    }

    /// Connected components by brute force: a link wherever two records share a k-mer,
    /// closed transitively by repeated relabelling.
    fn brute_force_clusters(records: &[SequenceRecord], k: usize) -> Vec<usize> {
        let kmers: Vec<HashSet<&[u8]>> = records
            .iter()
            .map(|r| r.sequence.windows(k).collect())
            .collect();
        let mut label: Vec<usize> = (0..records.len()).collect();
        loop {
            let mut changed = false;
            for i in 0..records.len() {
                for j in 0..records.len() {
                    if label[j] < label[i] && !kmers[i].is_disjoint(&kmers[j]) {
                        label[i] = label[j];
                        changed = true;
                    }
                }
            }
            if !changed {
                return label;
            }
        }
    }

    #[test]
    fn clusters_match_a_brute_force_closure() {
        // Random records over three letters, so that chains of shared 4-mers link some of them
        // through others.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let records: Vec<SequenceRecord> = (1..=60)
            .map(|n| {
                let len = rand::RngExt::random_range(&mut rng, 2..9);
                let seq: Vec<u8> = (0..len)
                    .map(|_| b"ACG"[rand::RngExt::random_range(&mut rng, 0..3)])
                    .collect();
                record(n, &seq)
            })
            .collect();
        let clusters = RecordClusters::by_shared_kmers(&records, 4);
        let expected = brute_force_clusters(&records, 4);
        for i in 0..records.len() {
            for j in 0..records.len() {
                assert_eq!(
                    clusters.cluster_of(i) == clusters.cluster_of(j),
                    expected[i] == expected[j],
                    "records {i} and {j}"
                );
            }
        }
        let distinct: HashSet<usize> = expected.iter().copied().collect();
        assert_eq!(clusters.len(), distinct.len());
        assert!(clusters.len() > 1 && clusters.largest() > 2, "{clusters:?}");
    }

    #[test]
    fn cluster_split_keeps_every_cluster_on_one_side() {
        // Ten families of five members: members share a 12-residue core, families share nothing.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let letters = b"ACDEFGHIKLMNPQRSTVWY";
        let mut random = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| letters[rand::RngExt::random_range(&mut rng, 0..20)])
                .collect()
        };
        let mut records = Vec::new();
        for family in 0..10 {
            let core = random(12);
            for member in 0..5 {
                let mut seq = random(20);
                seq.extend_from_slice(&core);
                seq.extend(random(20));
                records.push(record(family * 5 + member + 1, &seq));
            }
        }
        let k = RecordClusters::chance_free_k(&records);
        assert!((4..=12).contains(&k), "k = {k}");
        let family_of = |r: &SequenceRecord| (r.number - 1) / 5;
        let (train, valid) = split_records(records.clone(), 0.2, SplitMode::Cluster, 1).unwrap();
        assert_eq!(valid.len(), 10, "two whole families");
        let held: HashSet<usize> = valid.iter().map(family_of).collect();
        assert_eq!(held.len(), 2);
        assert!(train.iter().all(|r| !held.contains(&family_of(r))));
        let (_, other) = split_records(records, 0.2, SplitMode::Cluster, 2).unwrap();
        assert_ne!(valid, other, "the seed picks the families");
    }

    #[test]
    fn chance_free_k_follows_the_collision_entropy() {
        // Uniform DNA: H2 = 2 bits; 2^20 symbols make 2^39 pairs of k-mers: k = 39 / 2 -> 20.
        let records = [record(1, &b"ACGT".repeat(1 << 18))];
        assert_eq!(RecordClusters::chance_free_k(&records), 20);
        // One symbol only: no length separates chance from descent; the floor of 4.
        assert_eq!(RecordClusters::chance_free_k(&[record(1, b"AAAAAAAA")]), 4);
    }

    #[test]
    fn when_no_cluster_fits_the_smallest_is_held_out() {
        let records: Vec<SequenceRecord> = (1..=7)
            .map(|n| record(n, if n <= 4 { b"MKVLAAGIWQ" } else { b"WWCHEYRDNT" }))
            .collect();
        // A tenth of 7 records is 1; both clusters (4 and 3 records) are larger.
        let (train, valid) = split_records(records, 0.1, SplitMode::Cluster, 0).unwrap();
        assert_eq!((train.len(), valid.len()), (4, 3));
        assert!(valid.iter().all(|r| r.sequence == b"WWCHEYRDNT"));
    }

    #[test]
    fn one_cluster_cannot_be_split() {
        let records: Vec<SequenceRecord> = (1..=10).map(|n| record(n, b"MKVLAAGIWQ")).collect();
        let err = split_records(records, 0.2, SplitMode::Cluster, 0).unwrap_err();
        assert!(err.to_string().contains("form one cluster"), "{err}");
    }

    #[test]
    fn empty_sides_are_refused_with_a_way_out() {
        let err = split_records(records(1), 0.1, SplitMode::Random, 0).unwrap_err();
        // The way out (another split or a validation file) is the front end's to name.
        assert!(
            matches!(
                err,
                Error::Setting {
                    setting: crate::Setting::EmptySplit,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("leaves the validation set empty"),
            "{err}"
        );
        assert!(split_records(records(3), 1.0, SplitMode::Last, 0).is_err());
    }
}
