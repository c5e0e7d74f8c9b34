//! Shards: one deterministic part of a job, so that the outputs of N machines, concatenated in
//! shard order, are the output of one run (docs/design.md, §17 "Shards").
//!
//! Two things make that hold. A shard is a contiguous range of the job's items (sequences to
//! sample, records to score, variants), the same range whatever machine computes it. And every
//! random choice about an item comes from the item's own stream ([`item_stream`]), derived from
//! the seed and the item's global index, never from what was drawn for the items before it.
//!
//! ```
//! use seddbio::shard::Shard;
//!
//! let shards: Vec<Shard> = ["0/3", "1/3", "2/3"].iter().map(|s| s.parse().unwrap()).collect();
//! let ranges: Vec<_> = shards.iter().map(|s| s.range(10)).collect();
//! assert_eq!(ranges, [0..3, 3..6, 6..10]);
//! assert_eq!(Shard::WHOLE.range(10), 0..10);
//! assert!("3/3".parse::<Shard>().is_err() && "0/0".parse::<Shard>().is_err());
//! ```

use std::{ops::Range, str::FromStr};

use rand::{rngs::ChaCha8Rng, Rng, SeedableRng};

use crate::{Error, Result, Setting};

/// Shard `index` of `count` (0-based: `0/3`, `1/3`, `2/3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// The whole job: shard 0 of 1.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        let bad = |message: String| {
            Err(Error::Setting {
                setting: Setting::Shard,
                message,
            })
        };
        match (index, count) {
            (_, 0) => bad("a job cannot be cut into 0 shards".into()),
            (k, n) if k >= n => bad(format!(
                "shard {k}/{n}: shards count from 0, so K/N needs K below N (0/{n} to {}/{n})",
                n - 1
            )),
            (index, count) => Ok(Shard { index, count }),
        }
    }

    /// The shard's index, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many shards the job is cut into.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether this is the whole job.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// The items of a job of `items` this shard does: `[K items / N, (K + 1) items / N)`, so
    /// the ranges of shards 0..N tile `0..items` in order and differ in size by at most one
    /// (empty when there are more shards than items).
    pub fn range(&self, items: usize) -> Range<usize> {
        let bound = |k: usize| (k as u128 * items as u128 / self.count as u128) as usize;
        bound(self.index)..bound(self.index + 1)
    }

    /// `K/N`, as the option takes it (for records' metadata and messages).
    pub fn describe(&self) -> String {
        format!("{}/{}", self.index, self.count)
    }
}

impl Default for Shard {
    fn default() -> Shard {
        Shard::WHOLE
    }
}

impl FromStr for Shard {
    type Err = Error;

    /// `K/N`.
    fn from_str(text: &str) -> Result<Shard> {
        let number = |t: &str| t.trim().parse::<usize>().ok();
        match text.split_once('/').map(|(k, n)| (number(k), number(n))) {
            Some((Some(index), Some(count))) => Shard::new(index, count),
            _ => Err(Error::Setting {
                setting: Setting::Shard,
                message: format!("'{text}' is not K/N (e.g. 0/4, the first of four shards)"),
            }),
        }
    }
}

/// The random stream of item `index` of a job seeded with `seed`: ChaCha8 keyed by the seed,
/// on stream `index + 1` (stream 0 is the seed's plain generator, which other choices of a run
/// use). Streams of different items never overlap, and an item's stream does not depend on
/// which items were drawn before it, so any shard draws it alike.
///
/// ```
/// use rand::RngExt;
/// use seddbio::shard::item_stream;
///
/// let a: u64 = item_stream(7, 3).random();
/// assert_eq!(a, item_stream(7, 3).random::<u64>());
/// assert_ne!(a, item_stream(7, 4).random::<u64>());
/// assert_ne!(a, item_stream(8, 3).random::<u64>());
/// ```
pub fn item_stream(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64 + 1);
    rng
}

/// Where each item of a batch draws its random numbers: one generator shared by the whole
/// batch in order ([`SharedStream`]), or one per item (a slice of generators, e.g. from
/// [`item_stream`]).
pub trait Streams {
    /// The generator type.
    type Rng: Rng + ?Sized;

    /// The generator of item `item` of the batch.
    fn stream(&mut self, item: usize) -> &mut Self::Rng;
}

/// One generator for every item of a batch: draws happen in the order the caller makes them.
#[derive(Debug)]
pub struct SharedStream<'a, R: ?Sized>(pub &'a mut R);

impl<R: Rng + ?Sized> Streams for SharedStream<'_, R> {
    type Rng = R;

    fn stream(&mut self, _item: usize) -> &mut R {
        self.0
    }
}

impl<R: Rng> Streams for [R] {
    type Rng = R;

    fn stream(&mut self, item: usize) -> &mut R {
        &mut self[item]
    }
}

/// The streams of some items of a larger batch: item `j` here is item `items[j]` there.
#[derive(Debug)]
pub struct PickedStreams<'a, S: ?Sized> {
    streams: &'a mut S,
    items: &'a [usize],
}

impl<'a, S: Streams + ?Sized> PickedStreams<'a, S> {
    /// Items `items` of `streams`, renumbered from 0.
    pub fn new(streams: &'a mut S, items: &'a [usize]) -> PickedStreams<'a, S> {
        PickedStreams { streams, items }
    }
}

impl<S: Streams + ?Sized> Streams for PickedStreams<'_, S> {
    type Rng = S::Rng;

    fn stream(&mut self, item: usize) -> &mut S::Rng {
        self.streams.stream(self.items[item])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranges of every shard count tile the items in order, with sizes within one of each
    /// other, for item counts below, at and above the shard count.
    #[test]
    fn shard_ranges_tile_the_items() {
        for items in [0, 1, 2, 5, 10, 101] {
            for count in [1, 2, 3, 7, 12] {
                let ranges: Vec<Range<usize>> = (0..count)
                    .map(|k| Shard::new(k, count).unwrap().range(items))
                    .collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[count - 1].end, items);
                for pair in ranges.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start, "{items} items, {count} shards");
                }
                let sizes: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "{sizes:?}");
            }
        }
    }

    /// Bad values are one error naming the option.
    #[test]
    fn bad_shards_are_refused() {
        for text in ["3/3", "0/0", "5/2", "1", "a/b", "-1/2", "1/2/3"] {
            let message = text.parse::<Shard>().unwrap_err().to_string();
            assert!(
                message.contains("K/N") || message.contains("0 shards"),
                "{text}: {message}"
            );
        }
        assert_eq!(
            " 2 / 5 ".trim().parse::<Shard>().unwrap(),
            Shard::new(2, 5).unwrap()
        );
    }

    /// A shared stream hands out the one generator; picked streams renumber.
    #[test]
    fn picked_streams_follow_their_items() {
        use rand::RngExt;
        let mut streams: Vec<ChaCha8Rng> = (0..4).map(|i| item_stream(1, i)).collect();
        let expected: u64 = item_stream(1, 3).random();
        let items = [3, 0];
        let mut picked = PickedStreams::new(streams.as_mut_slice(), &items);
        assert_eq!(picked.stream(0).random::<u64>(), expected);
    }
}
