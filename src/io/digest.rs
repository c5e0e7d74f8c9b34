//! FNV-1a 64: a fast digest that is the same on every run and platform.

/// FNV-1a 64 over the bytes fed to it: enough to tell a truncated or altered file, or other
/// data, from the original (checkpoints, data digests), and to key k-mers deterministically
/// (cluster splits). Not a cryptographic hash.
///
/// ```
/// use seddbio::io::Fnv1a;
///
/// let mut hash = Fnv1a::new();
/// hash.update(b"ACGT");
/// assert_eq!(hash.value(), Fnv1a::of(b"ACGT"));
/// assert_eq!(Fnv1a::of(b""), 0xcbf2_9ce4_8422_2325);
/// assert_eq!(format!("{hash}").len(), 16);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Fnv1a {
    /// The digest of no bytes (FNV's offset basis).
    pub fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The digest so far.
    pub fn value(&self) -> u64 {
        self.0
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> u64 {
        let mut hash = Fnv1a::new();
        hash.update(bytes);
        hash.value()
    }
}

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a::new()
    }
}

/// Sixteen lowercase hex digits, as checkpoints record it.
impl std::fmt::Display for Fnv1a {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}
