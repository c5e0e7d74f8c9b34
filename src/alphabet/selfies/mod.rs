//! SELFIES (Krenn et al. 2020, <https://doi.org/10.1088/2632-2153/aba947>): a string form of
//! molecules in which every string of symbols decodes to a valid molecule. The decoder follows
//! the SELFIES 2.x grammar (docs/design.md, §14): atoms are derived one after another with bond
//! orders cut to what the previous atom has left under the default semantic constraints
//! (bonding capacities per element and charge), `[BranchL]` and `[RingL]` take their length or
//! distance from the next `L` symbols read as base-16 digits, and rings are closed after the
//! whole string is read, where both ends still have room. The SMILES it writes is the one the
//! reference implementation (the `selfies` package) writes for the same string, character for
//! character (tested against pairs it made).

use std::fmt;

mod encode;

pub use self::encode::encode;

/// A SELFIES string that cannot be read (a bracket that never closes, a symbol that is no
/// SELFIES symbol), or a SMILES string that cannot be written as SELFIES.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfiesError {
    /// What `position` counts.
    pub unit: Unit,
    /// 1-based position of what was wrong.
    pub position: usize,
    /// What was wrong.
    pub message: String,
}

/// What a [`SelfiesError`]'s position counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// SELFIES symbols.
    Symbol,
    /// Characters (bytes) of the text.
    Character,
    /// Atoms of the molecule, in SMILES order.
    Atom,
}

impl SelfiesError {
    fn new(unit: Unit, position: usize, message: impl Into<String>) -> SelfiesError {
        SelfiesError {
            unit,
            position,
            message: message.into(),
        }
    }
}

impl fmt::Display for SelfiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Symbol => "symbol",
            Unit::Character => "position",
            Unit::Atom => "atom",
        };
        write!(f, "{unit} {}: {}", self.position, self.message)
    }
}

impl std::error::Error for SelfiesError {}

/// The symbols of a SELFIES string, `.` between molecules kept as a symbol of its own;
/// characters outside brackets are skipped, as the reference implementation skips them.
///
/// ```
/// use seddbio::alphabet::selfies::split_symbols;
///
/// assert_eq!(split_symbols("[C][=C][F].[C]").unwrap(), ["[C]", "[=C]", "[F]", ".", "[C]"]);
/// assert!(split_symbols("[C][=C").is_err());
/// ```
pub fn split_symbols(text: &str) -> Result<Vec<&str>, SelfiesError> {
    let bytes = text.as_bytes();
    let mut symbols = Vec::new();
    let Some(mut left) = text.find('[') else {
        return Ok(symbols);
    };
    // As the reference implementation reads: from the first '[', each symbol runs to the
    // next ']', whatever stands between (a symbol such as `C[C]` is then refused as no atom).
    while left < bytes.len() {
        let Some(right) = bytes[left + 1..]
            .iter()
            .position(|&b| b == b']')
            .map(|i| left + 1 + i)
        else {
            return Err(SelfiesError::new(
                Unit::Symbol,
                symbols.len() + 1,
                "a '[' is never closed by ']'",
            ));
        };
        symbols.push(&text[left..=right]);
        left = right + 1;
        if bytes.get(left) == Some(&b'.') {
            symbols.push(".");
            left += 1;
        }
    }
    Ok(symbols)
}

/// The byte ranges of the symbols of a SELFIES string, `.` included; every character must be
/// in a bracketed symbol or be a `.` (the strict reading a vocabulary needs: `CC[C]` is
/// refused, where [`split_symbols`] would read past the `CC`).
///
/// ```
/// use seddbio::alphabet::selfies::symbol_spans;
///
/// assert_eq!(symbol_spans("[C][=O].[N]").unwrap(), [0..3, 3..7, 7..8, 8..11]);
/// let error = symbol_spans("CC[C]").unwrap_err();
/// assert_eq!(error.to_string().split(" (").next(), Some("position 1: 'C' is in no SELFIES symbol"));
/// ```
pub fn symbol_spans(text: &str) -> Result<Vec<std::ops::Range<usize>>, SelfiesError> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'.' => {
                spans.push(at..at + 1);
                at += 1;
            }
            b'[' => {
                let Some(close) = bytes[at..].iter().position(|&b| b == b']') else {
                    return Err(SelfiesError::new(
                        Unit::Character,
                        at + 1,
                        "a '[' is never closed by ']'",
                    ));
                };
                spans.push(at..at + close + 1);
                at += close + 1;
            }
            _ => {
                let c = text[at..].chars().next().unwrap_or('?');
                return Err(SelfiesError::new(
                    Unit::Character,
                    at + 1,
                    format!(
                        "'{}' is in no SELFIES symbol (SELFIES is written in symbols such as [C] and [=O])",
                        c.escape_debug()
                    ),
                ));
            }
        }
    }
    Ok(spans)
}

/// `text` as SELFIES: itself when it is a SELFIES string (symbols only, and it decodes),
/// else its encoding as SMILES.
///
/// ```
/// use seddbio::alphabet::selfies::to_selfies;
///
/// assert_eq!(to_selfies("[C][=O]").unwrap(), "[C][=O]");
/// assert_eq!(to_selfies("C=O").unwrap(), "[C][=O]");
/// assert!(to_selfies("C1CC").is_err());
/// ```
pub fn to_selfies(text: &str) -> Result<String, SelfiesError> {
    let is_selfies = text.starts_with('[') && symbol_spans(text).is_ok() && decode(text).is_ok();
    match is_selfies {
        true => Ok(text.to_string()),
        false => encode(text),
    }
}

/// Whether every symbol of `selfies` ends up in the molecule it decodes to, i.e. the molecule
/// written back as SELFIES has at least as many symbols. A derivation cut short (an atom with
/// no bond left ends it), a ring whose ends have no room and a branch that forms nothing all
/// lose symbols; the encoding of a real molecule, such as every training string, loses none
/// (docs/design.md, §14, "Complete strings"). A string that cannot be read is not complete.
///
/// ```
/// use seddbio::alphabet::selfies::is_complete;
///
/// assert!(is_complete("[C][=C][F]"));
/// // F has one bond: it ends the derivation, and the last [C] is lost.
/// assert!(!is_complete("[C][F][C]"));
/// assert!(!is_complete("[C][=C"));
/// ```
pub fn is_complete(selfies: &str) -> bool {
    let Ok(symbols) = split_symbols(selfies) else {
        return false;
    };
    let written_back = decode(selfies).ok().and_then(|smiles| encode(&smiles).ok());
    written_back
        .and_then(|back| split_symbols(&back).ok().map(|b| b.len()))
        .is_some_and(|n| n >= symbols.len())
}

/// The SMILES of a SELFIES string, as the reference implementation writes it.
///
/// ```
/// use seddbio::alphabet::selfies::decode;
///
/// assert_eq!(decode("[C][=C][F]").unwrap(), "C=CF");
/// // Bond orders are cut to what the atoms have left: O has two bonds, so no triple bond.
/// assert_eq!(decode("[C][O][#C]").unwrap(), "COC");
/// // A six-membered ring: [Ring1] with index [=Branch1] (4) closes to the atom 5 back.
/// assert_eq!(decode("[C][C][C][C][C][C][Ring1][=Branch1]").unwrap(), "C1CCCCC1");
/// ```
pub fn decode(selfies: &str) -> Result<String, SelfiesError> {
    let mut mol = Molecule::default();
    let mut rings = Vec::new();
    let mut offset = 0;
    for fragment in selfies.split('.') {
        let symbols: Vec<&str> = split_symbols(fragment)
            .map_err(|e| SelfiesError {
                position: offset + e.position,
                ..e
            })?
            .into_iter()
            .filter(|s| *s != "[nop]")
            .collect();
        let mut reader = Reader {
            symbols: &symbols,
            next: 0,
            offset,
        };
        derive(&mut reader, &mut mol, usize::MAX, 0, None, &mut rings)?;
        offset += symbols.len() + 1;
    }
    mol.close_rings(&rings);
    Ok(mol.to_smiles())
}

/// The symbols of one fragment, read in order.
struct Reader<'a> {
    symbols: &'a [&'a str],
    next: usize,
    /// Symbols of the fragments before, for error positions.
    offset: usize,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let symbol = self.symbols.get(self.next).copied();
        self.next += 1;
        symbol
    }

    /// The number the next `n` symbols spell in base 16 (docs/design.md, eq. (63); digits:
    /// [`INDEX_ALPHABET`]; other symbols, and symbols past the end, count 0).
    fn index(&mut self, n: usize) -> usize {
        (0..n).fold(0, |index, _| {
            let digit = self
                .next()
                .and_then(|s| INDEX_ALPHABET.iter().position(|d| *d == s))
                .unwrap_or(0);
            index * INDEX_ALPHABET.len() + digit
        })
    }

    fn error(&self, message: String) -> SelfiesError {
        SelfiesError::new(Unit::Symbol, self.offset + self.next, message)
    }
}

/// The symbols whose position in this list is their value as a digit of a branch length or
/// ring distance.
pub const INDEX_ALPHABET: [&str; 16] = [
    "[C]",
    "[Ring1]",
    "[Ring2]",
    "[Branch1]",
    "[=Branch1]",
    "[#Branch1]",
    "[Branch2]",
    "[=Branch2]",
    "[#Branch2]",
    "[O]",
    "[N]",
    "[=N]",
    "[=C]",
    "[#C]",
    "[S]",
    "[P]",
];

/// A ring to close once the whole string is read: its two atoms, bond order and the stereo
/// marks of each end.
type Ring = (usize, usize, u8, StereoMarks);

/// The stereo marks (`/`, `\`) of a ring bond's two ends.
type StereoMarks = (Option<char>, Option<char>);

/// Derives atoms from `reader` into `mol` until the state has no bonds left or `max` symbols
/// are used (a branch's length); returns the symbols used. `state` is the number of bonds the
/// previous atom (`root`) can still make; 0 starts a new molecule.
fn derive(
    reader: &mut Reader<'_>,
    mol: &mut Molecule,
    max: usize,
    mut state: u8,
    root: Option<usize>,
    rings: &mut Vec<Ring>,
) -> Result<usize, SelfiesError> {
    let mut used = 0;
    let mut previous = root;
    let mut stopped = false;
    while !stopped && used < max {
        let Some(symbol) = reader.next() else { break };
        used += 1;
        let next_state: Option<u8>;
        if let Some((order, digits)) = branch_symbol(symbol) {
            if state <= 1 {
                next_state = Some(state);
            } else {
                let branch_state = (state - 1).min(order);
                next_state = Some(state - branch_state);
                let length = reader.index(digits);
                used += digits;
                used += derive(reader, mol, length + 1, branch_state, previous, rings)?;
            }
        } else if let Some((order, digits, stereo)) = ring_symbol(symbol) {
            if state == 0 {
                next_state = Some(state);
            } else {
                let bond = order.min(state);
                next_state = (state > bond).then_some(state - bond);
                let distance = reader.index(digits);
                used += digits;
                // `previous` exists: the state is not 0.
                let right = previous.unwrap_or(0);
                let left = right.saturating_sub(distance + 1);
                rings.push((left, right, bond, stereo));
            }
        } else if symbol.contains("eps") {
            next_state = (state == 0).then_some(0);
        } else {
            let (order, stereo, atom) = atom_symbol(symbol)
                .ok_or_else(|| reader.error(format!("'{symbol}' is not a SELFIES symbol")))?;
            // docs/design.md, eq. (62).
            let capacity = atom.capacity();
            let bond = match state {
                0 => 0,
                _ => order.min(state).min(capacity),
            };
            next_state = (capacity > bond).then_some(capacity - bond);
            if bond == 0 {
                if state == 0 {
                    previous = Some(mol.add_atom(atom, true));
                }
                // An atom that cannot bond is left out (and the derivation stops: it has
                // no bonds left).
            } else {
                let index = mol.add_atom(atom, false);
                // `previous` exists: the state is not 0.
                mol.add_bond(previous.unwrap_or(0), index, bond, stereo);
                previous = Some(index);
            }
        }
        match next_state {
            Some(next) => state = next,
            None => stopped = true,
        }
    }
    // A branch uses its length whatever it derived.
    while used < max && reader.next().is_some() {
        used += 1;
    }
    Ok(used)
}

/// `[BranchL]`, `[=BranchL]`, `[#BranchL]`: the bond order and `L`.
fn branch_symbol(symbol: &str) -> Option<(u8, usize)> {
    let inner = symbol.strip_prefix('[')?.strip_suffix(']')?;
    let (order, rest) = match inner.as_bytes().first() {
        Some(b'=') => (2, &inner[1..]),
        Some(b'#') => (3, &inner[1..]),
        _ => (1, inner),
    };
    let digits = rest.strip_prefix("Branch")?;
    match digits {
        "1" | "2" | "3" => Some((order, digits.parse().ok()?)),
        _ => None,
    }
}

/// `[RingL]` and its bond forms (`[=RingL]`, `[#RingL]`, stereo `[-/RingL]`, ...): the bond
/// order, `L` and the stereo marks of the two ends.
fn ring_symbol(symbol: &str) -> Option<(u8, usize, StereoMarks)> {
    let inner = symbol.strip_prefix('[')?.strip_suffix(']')?;
    let at = inner.find("Ring")?;
    let digits: usize = match &inner[at + 4..] {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        _ => return None,
    };
    let marks: Vec<char> = inner[..at].chars().collect();
    let stereo = |c: char| matches!(c, '/' | '\\').then_some(c);
    match marks[..] {
        [] => Some((1, digits, (None, None))),
        ['='] => Some((2, digits, (None, None))),
        ['#'] => Some((3, digits, (None, None))),
        [l, r] if "-/\\".contains(l) && "-/\\".contains(r) && !(l == '-' && r == '-') => {
            Some((1, digits, (stereo(l), stereo(r))))
        }
        _ => None,
    }
}

/// A bond character at the start of a symbol's inside (`=`, `#`, `/`, `\`): its order and the
/// rest.
fn bond_prefix(inner: &str) -> (u8, &str) {
    match inner.chars().next() {
        Some('=') => (2, &inner[1..]),
        Some('#') => (3, &inner[1..]),
        Some('/' | '\\') => (1, &inner[1..]),
        _ => (1, inner),
    }
}

/// An atom symbol: `[`, a bond character, isotope, element, chirality (`@`, `@@`), hydrogens
/// (`H1`), charge (`+1`, `-2`), `]`; the bond order, its stereo mark and the atom.
fn atom_symbol(symbol: &str) -> Option<(u8, Option<char>, Atom)> {
    let inner = symbol.strip_prefix('[')?.strip_suffix(']')?;
    let stereo = inner.chars().next().filter(|c| matches!(c, '/' | '\\'));
    let (order, rest) = bond_prefix(inner);
    let (order, rest) = match inner.chars().next() {
        Some('/' | '\\') => (1, &inner[1..]),
        _ => (order, rest),
    };
    let isotope_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (isotope, rest) = rest.split_at(isotope_len);
    let mut chars = rest.char_indices();
    let (_, first) = chars.next()?;
    if !first.is_ascii_uppercase() {
        return None;
    }
    let element_len = match rest[1..].chars().next() {
        Some(c) if c.is_ascii_lowercase() => 2,
        _ => 1,
    };
    let (element, rest) = rest.split_at(element_len);
    let chirality_len = rest.bytes().take_while(|b| *b == b'@').count();
    if chirality_len > 2 {
        return None;
    }
    let (chirality, rest) = rest.split_at(chirality_len);
    let (hydrogens, rest) = match rest.strip_prefix('H') {
        Some(after) => match after.as_bytes().first() {
            Some(d) if d.is_ascii_digit() => (Some(u32::from(d - b'0')), &after[1..]),
            _ => return None,
        },
        None => (None, rest),
    };
    let charge = match rest {
        "" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits = &rest[1..];
            if digits.is_empty() || !digits.bytes().all(|b| (b'1'..=b'9').contains(&b)) {
                return None;
            }
            sign * digits.parse::<i32>().ok()?
        }
    };
    let plain = isotope.is_empty()
        && chirality.is_empty()
        && hydrogens.is_none()
        && charge == 0
        && ORGANIC_SUBSET.contains(&element);
    if !plain && !ELEMENTS.contains(&element) {
        return None;
    }
    let atom = Atom {
        element: element.to_string(),
        isotope: match isotope {
            "" => None,
            digits => Some(digits.parse().ok()?),
        },
        chirality: (!chirality.is_empty()).then(|| chirality.to_string()),
        // Bracket atoms say their hydrogens (none when the symbol says none).
        hydrogens: match plain {
            true => None,
            false => Some(hydrogens.unwrap_or(0)),
        },
        charge,
    };
    // Too many hydrogens for the element (`[CH9]`) is no atom.
    if atom.raw_capacity() < 0 {
        return None;
    }
    Some((order, stereo, atom))
}

/// Elements a SELFIES atom may name.
const ELEMENTS: [&str; 114] = [
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl",
    "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In",
    "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg",
    "Cn", "Fl", "Lv", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm",
    "Yb", "Lu", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No",
    "Lr",
];

/// Elements SMILES writes without brackets.
const ORGANIC_SUBSET: [&str; 10] = ["B", "C", "N", "O", "S", "P", "F", "Cl", "Br", "I"];

/// The default semantic constraints: bonds an atom of an element and charge can make (8 for
/// what is not listed; docs/design.md, eq. (61)).
fn constraint(element: &str, charge: i32) -> i32 {
    match (element, charge) {
        ("H" | "F" | "Cl" | "Br" | "I", 0) => 1,
        ("B", 0) => 3,
        ("B", 1) => 2,
        ("B", -1) => 4,
        ("O", 0) => 2,
        ("O", 1) => 3,
        ("O", -1) => 1,
        ("N", 0) => 3,
        ("N", 1) => 4,
        ("N", -1) => 2,
        ("C", 0) => 4,
        ("C", 1) | ("C", -1) => 3,
        ("P", 0) => 5,
        ("P", 1) => 4,
        ("P", -1) => 6,
        ("S", 0) => 6,
        ("S", 1) | ("S", -1) => 5,
        _ => 8,
    }
}

#[derive(Debug, Clone)]
struct Atom {
    element: String,
    isotope: Option<u64>,
    chirality: Option<String>,
    /// `None` for an organic-subset atom without brackets (implicit hydrogens).
    hydrogens: Option<u32>,
    charge: i32,
}

impl Atom {
    fn raw_capacity(&self) -> i32 {
        constraint(&self.element, self.charge) - self.hydrogens.map_or(0, |h| h as i32)
    }

    fn capacity(&self) -> u8 {
        self.raw_capacity().clamp(0, 8) as u8
    }

    /// The atom as SMILES writes it.
    fn smiles(&self) -> String {
        self.text(true)
    }

    /// The atom's text, inside brackets when `brackets` and it needs them (the reference
    /// implementation's `atom_to_smiles`).
    fn text(&self, brackets: bool) -> String {
        if self.hydrogens.is_none()
            && self.isotope.is_none()
            && self.chirality.is_none()
            && self.charge == 0
        {
            return self.element.clone();
        }
        let mut text = String::new();
        if brackets {
            text.push('[');
        }
        if let Some(isotope) = self.isotope {
            text.push_str(&isotope.to_string());
        }
        text.push_str(&self.element);
        if let Some(chirality) = &self.chirality {
            text.push_str(chirality);
        }
        match self.hydrogens {
            Some(0) | None => {
                let bare = self.isotope.is_none() && self.chirality.is_none() && self.charge == 0;
                if bare && ORGANIC_SUBSET.contains(&self.element.as_str()) {
                    text.push_str("H0");
                }
            }
            Some(h) => text.push_str(&format!("H{h}")),
        }
        if self.charge != 0 {
            text.push_str(&format!("{:+}", self.charge));
        }
        if brackets {
            text.push(']');
        }
        text
    }
}

/// A bond as written from `from` (the atom it leaves in the SMILES).
#[derive(Debug, Clone)]
struct Bond {
    to: usize,
    order: u8,
    stereo: Option<char>,
    ring: bool,
}

/// The molecule being derived: atoms in order, each with its bonds in writing order.
#[derive(Debug, Default)]
struct Molecule {
    atoms: Vec<Atom>,
    roots: Vec<usize>,
    out: Vec<Vec<Bond>>,
    bond_counts: Vec<u8>,
}

impl Molecule {
    fn add_atom(&mut self, atom: Atom, root: bool) -> usize {
        let index = self.atoms.len();
        self.atoms.push(atom);
        self.out.push(Vec::new());
        self.bond_counts.push(0);
        if root {
            self.roots.push(index);
        }
        index
    }

    fn add_bond(&mut self, from: usize, to: usize, order: u8, stereo: Option<char>) {
        self.out[from].push(Bond {
            to,
            order,
            stereo,
            ring: false,
        });
        self.bond_counts[from] += order;
        self.bond_counts[to] += order;
    }

    /// The bond between `a` and `b` (`a < b`) in the direction it is written, if any.
    fn bond_mut(&mut self, a: usize, b: usize) -> Option<&mut Bond> {
        self.out[a].iter_mut().find(|bond| bond.to == b)
    }

    /// Closes `rings` in order, each where both atoms still have room, raising the order of a
    /// bond that is already there (at most triple).
    fn close_rings(&mut self, rings: &[Ring]) {
        let mut made = vec![0usize; self.atoms.len()];
        for &(left, right, order, (left_stereo, right_stereo)) in rings {
            if left == right {
                continue;
            }
            let free = |mol: &Molecule, i: usize| {
                i32::from(mol.atoms[i].capacity()) - i32::from(mol.bond_counts[i])
            };
            let (left_free, right_free) = (free(self, left), free(self, right));
            if left_free <= 0 || right_free <= 0 {
                continue;
            }
            let order = i32::from(order).min(left_free).min(right_free) as u8;
            if let Some(bond) = self.bond_mut(left, right) {
                let new_order = (order + bond.order).min(3);
                let old_order = bond.order;
                if new_order != old_order {
                    bond.order = new_order;
                    if bond.ring {
                        if let Some(back) = self.bond_mut(right, left) {
                            back.order = new_order;
                        }
                    }
                    self.bond_counts[left] += new_order - old_order;
                    self.bond_counts[right] += new_order - old_order;
                }
                continue;
            }
            let place = |list: &mut Vec<Bond>, at: usize, bond: Bond| {
                let at = at.min(list.len());
                list.insert(at, bond);
            };
            place(
                &mut self.out[left],
                made[left],
                Bond {
                    to: right,
                    order,
                    stereo: left_stereo,
                    ring: true,
                },
            );
            place(
                &mut self.out[right],
                made[right],
                Bond {
                    to: left,
                    order,
                    stereo: right_stereo,
                    ring: true,
                },
            );
            self.bond_counts[left] += order;
            self.bond_counts[right] += order;
            made[left] += 1;
            made[right] += 1;
        }
    }

    /// The SMILES: each molecule from its root, bonds in writing order, ring bonds as ring
    /// closure numbers (never reused), other bonds but the last in parentheses.
    fn to_smiles(&self) -> String {
        let mut ring_numbers: Vec<((usize, usize), usize)> = Vec::new();
        let mut fragments = Vec::new();
        for &root in &self.roots {
            let mut text = String::new();
            // (atom, next bond to write, close a parenthesis when done)
            let mut stack = vec![(root, 0usize, false)];
            while let Some(&(atom, next, closes)) = stack.last() {
                if next == 0 {
                    text.push_str(&self.atoms[atom].smiles());
                }
                let bonds = &self.out[atom];
                if next < bonds.len() {
                    let bond = &bonds[next];
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    let symbol = bond_smiles(bond);
                    if bond.ring {
                        text.push_str(symbol);
                        let ends = (atom.min(bond.to), atom.max(bond.to));
                        let number = match ring_numbers.iter().find(|(e, _)| *e == ends) {
                            Some((_, n)) => *n,
                            None => {
                                let n = ring_numbers.len() + 1;
                                ring_numbers.push((ends, n));
                                n
                            }
                        };
                        if number >= 10 {
                            text.push('%');
                        }
                        text.push_str(&number.to_string());
                    } else {
                        let branch = next < bonds.len() - 1;
                        if branch {
                            text.push('(');
                        }
                        text.push_str(symbol);
                        stack.push((bond.to, 0, branch));
                    }
                } else {
                    stack.pop();
                    if closes {
                        text.push(')');
                    }
                }
            }
            fragments.push(text);
        }
        fragments.join(".")
    }
}

fn bond_smiles(bond: &Bond) -> &'static str {
    match (bond.order, bond.stereo) {
        (2, _) => "=",
        (3, _) => "#",
        (_, Some('/')) => "/",
        (_, Some('\\')) => "\\",
        _ => "",
    }
}
