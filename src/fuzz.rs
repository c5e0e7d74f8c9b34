//! Property tests for the parsers: random and mutated inputs, seeded, for the unit tests.
//!
//! Each parser's tests build inputs from two sources: pieces of its grammar strung together
//! at random (so most inputs get deep into the parser), and valid examples mutated a few times
//! (bytes flipped, inserted, deleted, duplicated, the end cut off). The property checked for
//! every input is the same: the parser returns, it does not panic, and an error is one line
//! that says where the problem is; what a valid result must satisfy (round trips) is checked
//! by each test. No crate is used for this (`proptest` would bring its own `rand` and feature
//! changes to crates burn and polars share; see `test_dir.rs`), and a failing case prints the
//! input itself, which is what shrinking would approximate.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};

/// Inputs for one parser, from one seed.
pub struct Inputs {
    rng: ChaCha8Rng,
}

impl Inputs {
    /// A generator seeded with `seed` (each test its own, so a failure reproduces).
    pub fn new(seed: u64) -> Inputs {
        Inputs {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The generator's random numbers, for choices a test makes itself.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// Up to `max_pieces` pieces drawn from `pieces`, with a random byte now and then.
    pub fn grammar(&mut self, pieces: &[&[u8]], max_pieces: usize) -> Vec<u8> {
        let count = self.rng.random_range(0..=max_pieces);
        let mut out = Vec::new();
        for _ in 0..count {
            if self.rng.random_bool(0.03) {
                out.push(self.byte());
            } else {
                out.extend_from_slice(pieces[self.rng.random_range(0..pieces.len())]);
            }
        }
        out
    }

    /// `valid` after one to four random edits.
    pub fn mutate(&mut self, valid: &[u8]) -> Vec<u8> {
        let mut out = valid.to_vec();
        for _ in 0..self.rng.random_range(1..=4) {
            let len = out.len();
            let at = self.rng.random_range(0..=len);
            match self.rng.random_range(0..6) {
                0 if at < len => out[at] = self.byte(),
                1 => {
                    let byte = self.byte();
                    out.insert(at, byte)
                }
                2 if at < len => {
                    let end = self.rng.random_range(at..=len.min(at + 8));
                    out.drain(at..end);
                }
                3 if at < len => {
                    let end = self.rng.random_range(at..=len.min(at + 16));
                    let copy = out[at..end].to_vec();
                    out.splice(at..at, copy);
                }
                4 => out.truncate(at),
                _ => out.insert(at, b"\n\r\t >;,[]{}=:-#"[self.rng.random_range(0..15)]),
            }
        }
        out
    }

    /// A byte: mostly printable ASCII, sometimes a control character or a byte >= 0x80
    /// (invalid UTF-8 on its own).
    fn byte(&mut self) -> u8 {
        match self.rng.random_range(0..10) {
            0 => self.rng.random_range(0..0x20),
            1 => self.rng.random_range(0x80..=0xff),
            _ => self.rng.random_range(0x20..0x7f),
        }
    }
}

/// Runs `parse` on `input`; fails the test, showing the input, if it panics or returns an
/// error that is not a single non-empty line. Returns the parser's result.
pub fn must_return<T, E: std::fmt::Display>(
    what: &str,
    input: &[u8],
    parse: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let result = catch_unwind(AssertUnwindSafe(parse)).unwrap_or_else(|_| {
        panic!(
            "{what} panicked on the input {:?}",
            String::from_utf8_lossy(input)
        )
    });
    if let Err(error) = &result {
        let message = error.to_string();
        assert!(
            !message.trim().is_empty() && !message.trim_end().contains('\n'),
            "{what}: the error for {:?} is not one line: {message:?}",
            String::from_utf8_lossy(input)
        );
    }
    result
}
