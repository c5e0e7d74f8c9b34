//! Where a wild type sits on an alignment: each of its residues on a match column or in an
//! insertion, found by aligning it to the alignment's consensus with rust-bio's affine-gap
//! semiglobal aligner (docs/design.md, §16).

use bio::alignment::{pairwise::Aligner, AlignmentOperation};

/// BLAST's default gap costs for BLOSUM62: opening a gap of length k costs 11 + k.
const GAP_OPEN: i32 = -11;
const GAP_EXTEND: i32 = -1;

/// The match column of each wild-type residue.
///
/// ```
/// use seddbio::variant::Placement;
///
/// // The wild type overhangs the consensus by one residue at each end and has a `W` that
/// // the alignment lacks (an insertion).
/// let placement = Placement::align(b"MACDWEFGHIKLMN", b"ACDEFGHIKLM", true);
/// assert_eq!(placement.column(0), None);
/// assert_eq!(placement.column(1), Some(0));
/// assert_eq!(placement.column(4), None);
/// assert_eq!(placement.column(5), Some(3));
/// assert_eq!(placement.span(), Some((1, 12)));
/// assert_eq!(placement.identical(), 11);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    columns: Vec<Option<usize>>,
    identical: usize,
}

impl Placement {
    /// Aligns `wild` to `consensus` (the letters of each match column), the consensus from end
    /// to end and the wild type locally (its ends may overhang): BLOSUM62 for proteins
    /// (`protein`), +5/-4 (NUC.4.4) for nucleotides, gaps as BLAST's. Case is ignored.
    pub fn align(wild: &[u8], consensus: &[u8], protein: bool) -> Placement {
        let (x, y) = (consensus.to_ascii_uppercase(), wild.to_ascii_uppercase());
        let nucleotide = |a: u8, b: u8| if a == b { 5 } else { -4 };
        let alignment = if protein {
            Aligner::with_capacity(
                x.len(),
                y.len(),
                GAP_OPEN,
                GAP_EXTEND,
                bio::scores::blosum62,
            )
            .semiglobal(&x, &y)
        } else {
            Aligner::with_capacity(x.len(), y.len(), GAP_OPEN, GAP_EXTEND, nucleotide)
                .semiglobal(&x, &y)
        };
        let mut placement = Placement {
            columns: vec![None; y.len()],
            identical: 0,
        };
        let (mut column, mut residue) = (alignment.xstart, alignment.ystart);
        for operation in &alignment.operations {
            match *operation {
                AlignmentOperation::Match | AlignmentOperation::Subst => {
                    placement.columns[residue] = Some(column);
                    placement.identical += usize::from(x[column] == y[residue]);
                    column += 1;
                    residue += 1;
                }
                // A column with no residue of the wild type.
                AlignmentOperation::Ins => column += 1,
                // A residue in an insertion relative to the alignment.
                AlignmentOperation::Del => residue += 1,
                AlignmentOperation::Xclip(n) => column += n,
                AlignmentOperation::Yclip(n) => residue += n,
            }
        }
        placement
    }

    /// The match column of the wild type's residue `residue` (0-based), if it has one.
    pub fn column(&self, residue: usize) -> Option<usize> {
        self.columns.get(residue).copied().flatten()
    }

    /// The first and last residues (0-based) that sit on a match column.
    pub fn span(&self) -> Option<(usize, usize)> {
        let first = self.columns.iter().position(Option::is_some)?;
        let last = self.columns.iter().rposition(Option::is_some)?;
        Some((first, last))
    }

    /// Residues on a match column.
    pub fn placed(&self) -> usize {
        self.columns.iter().flatten().count()
    }

    /// Residues identical to the consensus letter of their column.
    pub fn identical(&self) -> usize {
        self.identical
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insertions_and_deletions_are_placed_as_an_alignment_places_them() {
        // The wild type has two extra residues (WW) inside, and lacks the consensus's `H`.
        let consensus = b"MKTAYIAKQRQISFVKSHFSRQ";
        let wild = b"GGMKTAYIAKWWQRQISFVKSFSRQGG";
        let placement = Placement::align(wild, consensus, true);
        assert_eq!(placement.span(), Some((2, 24)));
        // MKTAYIAK on columns 0-7, WW in an insertion, QRQISFVKS on 8-16, FSRQ on 18-21.
        assert_eq!(placement.column(2), Some(0));
        assert_eq!(placement.column(9), Some(7));
        assert_eq!(placement.column(10), None);
        assert_eq!(placement.column(11), None);
        assert_eq!(placement.column(12), Some(8));
        assert_eq!(placement.column(20), Some(16));
        assert_eq!(placement.column(21), Some(18));
        assert_eq!(placement.placed(), 21);
        assert_eq!(placement.identical(), 21);
        assert_eq!(placement.column(99), None);
    }

    #[test]
    fn nucleotides_are_placed_too() {
        let placement = Placement::align(b"ttACGTACGTAAcc", b"ACGTACGTAA", false);
        assert_eq!(placement.span(), Some((2, 11)));
        assert_eq!(placement.identical(), 10);
    }
}
