//! SMILES to SELFIES (docs/design.md, §14): the SMILES is read into a molecular graph that
//! keeps its atom and bond order, aromatic rings are kekulized (a perfect matching on the
//! delocalized atoms that can take a double bond), and the graph is written out along the
//! SMILES's own traversal: branches as `[BranchL]` with their length, ring closures as
//! `[RingL]` with their distance, both in base-16 index symbols. Every choice is the reference
//! implementation's, so the SELFIES are the ones the `selfies` package writes.

use std::{cmp::Reverse, collections::BinaryHeap};

use super::{Atom, SelfiesError, Unit, ELEMENTS, INDEX_ALPHABET, ORGANIC_SUBSET};

/// The SELFIES of a SMILES string.
///
/// ```
/// use seddbio::alphabet::selfies::{decode, encode};
///
/// assert_eq!(encode("C=CF").unwrap(), "[C][=C][F]");
/// assert_eq!(encode("c1ccccc1O").unwrap(), "[C][=C][C][=C][C][=C][Ring1][=Branch1][O]");
/// assert_eq!(decode(&encode("CC(=O)Nc1ccc(O)cc1").unwrap()).unwrap(), "CC(=O)NC1=CC=C(O)C=C1");
/// assert!(encode("C1CC").is_err());
/// ```
pub fn encode(smiles: &str) -> Result<String, SelfiesError> {
    let mut mol = parse(smiles)?;
    if !mol.kekulize() {
        return Err(smiles_error(0, "the aromatic rings cannot be kekulized"));
    }
    for (i, atom) in mol.atoms.iter().enumerate() {
        let bonds = mol.bond_counts[i];
        let capacity = atom.raw_capacity();
        if bonds > 2 * capacity {
            return Err(error(
                i + 1,
                format!(
                    "atom {} ({}) makes {} bonds, more than the {capacity} SELFIES allows it",
                    i + 1,
                    atom.smiles(),
                    bonds / 2
                ),
            ));
        }
    }
    for i in 0..mol.atoms.len() {
        if mol.atoms[i].chirality.is_some() && mol.ring_flags[i] && mol.inverts_chirality(i) {
            let chirality = mol.atoms[i].chirality.as_deref();
            mol.atoms[i].chirality = Some(match chirality {
                Some("@") => "@@".to_string(),
                _ => "@".to_string(),
            });
        }
    }
    let fragments: Vec<String> = mol
        .roots
        .iter()
        .map(|&root| mol.fragment(None, root).concat())
        .collect();
    Ok(fragments.join("."))
}

fn error(atom: usize, message: String) -> SelfiesError {
    SelfiesError::new(Unit::Atom, atom, message)
}

/// A bond in writing order; orders in half bonds (3 is aromatic).
#[derive(Debug, Clone)]
struct Bond {
    from: usize,
    to: usize,
    halves: i32,
    stereo: Option<char>,
    ring: bool,
}

/// The molecule as the SMILES wrote it.
#[derive(Debug, Default)]
struct Graph {
    atoms: Vec<Atom>,
    aromatic: Vec<bool>,
    roots: Vec<usize>,
    /// Each atom's bonds out, in writing order (`None`: a ring bond not yet closed).
    out: Vec<Vec<Option<Bond>>>,
    /// Bonds made, in half bonds.
    bond_counts: Vec<i32>,
    ring_flags: Vec<bool>,
    /// The delocalized subgraph: aromatic atoms and the atoms of aromatic bonds, with their
    /// aromatic neighbours, in the order the bonds were made (`None`: not in it).
    delocalized: Vec<Option<Vec<usize>>>,
}

impl Graph {
    fn add_atom(&mut self, atom: Atom, aromatic: bool, root: bool) -> usize {
        let index = self.atoms.len();
        self.atoms.push(atom);
        self.aromatic.push(aromatic);
        self.out.push(Vec::new());
        self.bond_counts.push(0);
        self.ring_flags.push(false);
        self.delocalized.push(aromatic.then(Vec::new));
        if root {
            self.roots.push(index);
        }
        index
    }

    fn delocalize(&mut self, a: usize, b: usize) {
        self.delocalized[a].get_or_insert_with(Vec::new).push(b);
        self.delocalized[b].get_or_insert_with(Vec::new).push(a);
    }

    fn add_bond(&mut self, from: usize, to: usize, halves: i32, stereo: Option<char>) {
        self.out[from].push(Some(Bond {
            from,
            to,
            halves,
            stereo,
            ring: false,
        }));
        self.bond_counts[from] += halves;
        self.bond_counts[to] += halves;
        if halves == 3 {
            self.delocalize(from, to);
        }
    }

    fn has_bond(&self, a: usize, b: usize) -> bool {
        let (a, b) = (a.min(b), a.max(b));
        self.out[a].iter().flatten().any(|bond| bond.to == b)
    }

    #[allow(clippy::too_many_arguments)]
    fn add_ring_bond(
        &mut self,
        a: usize,
        a_stereo: Option<char>,
        a_position: usize,
        b: usize,
        b_stereo: Option<char>,
        halves: i32,
    ) {
        let bond = |from, to, stereo| Bond {
            from,
            to,
            halves,
            stereo,
            ring: true,
        };
        // The placeholder the ring opening left.
        let slot = &mut self.out[a];
        match slot.get(a_position) {
            Some(None) => slot[a_position] = Some(bond(a, b, a_stereo)),
            Some(Some(_)) => slot.insert(a_position, Some(bond(a, b, a_stereo))),
            None => slot.push(Some(bond(a, b, a_stereo))),
        }
        self.out[b].push(Some(bond(b, a, b_stereo)));
        self.bond_counts[a] += halves;
        self.bond_counts[b] += halves;
        self.ring_flags[a] = true;
        self.ring_flags[b] = true;
        if halves == 3 {
            self.delocalize(a, b);
        }
    }

    /// Sets the order of the bond between `a` and `b` (both directions of a ring bond).
    fn set_order(&mut self, a: usize, b: usize, halves: i32) {
        let (a, b) = (a.min(b), a.max(b));
        let mut old = None;
        for (from, to) in [(a, b), (b, a)] {
            for bond in self.out[from].iter_mut().flatten() {
                if bond.to == to && (from == a || bond.ring) {
                    old = Some(bond.halves);
                    bond.halves = halves;
                }
            }
        }
        if let Some(old) = old {
            self.bond_counts[a] += halves - old;
            self.bond_counts[b] += halves - old;
        }
    }

    /// Kekulizes the aromatic bonds: a perfect matching on the delocalized atoms that can
    /// take a double bond; false when there is none.
    fn kekulize(&mut self) -> bool {
        let nodes: Vec<usize> = (0..self.atoms.len())
            .filter(|&i| self.delocalized[i].is_some())
            .collect();
        if nodes.is_empty() {
            return true;
        }
        let kept: Vec<usize> = nodes.iter().copied().filter(|&i| !self.pruned(i)).collect();
        let label = |node: usize| kept.iter().position(|&k| k == node);
        let graph: Vec<Vec<usize>> = kept
            .iter()
            .map(|&node| {
                self.delocalized[node]
                    .iter()
                    .flatten()
                    .filter_map(|&adj| label(adj))
                    .collect()
            })
            .collect();
        let Some(matching) = perfect_matching(&graph) else {
            return false;
        };
        for &node in &nodes {
            let neighbours = self.delocalized[node].clone().unwrap_or_default();
            for adj in neighbours {
                self.set_order(node, adj, 2);
            }
            self.aromatic[node] = false;
            // Whole bonds only from here on (the reference truncates its float count).
            self.bond_counts[node] -= self.bond_counts[node] % 2;
        }
        for (i, &mate) in matching.iter().enumerate() {
            self.set_order(kept[i], kept[mate], 4);
        }
        for slot in &mut self.delocalized {
            *slot = None;
        }
        true
    }

    /// Whether a delocalized atom takes no double bond (the reference's `_prune_from_ds`).
    fn pruned(&self, node: usize) -> bool {
        let adjacent = self.delocalized[node].as_ref().map_or(0, Vec::len);
        if adjacent == 0 {
            return true;
        }
        let atom = &self.atoms[node];
        let valences: &[i32] = match atom.element.as_str() {
            "B" | "Al" => &[3],
            "C" | "Si" => &[4],
            "N" | "P" | "As" => &[3, 5],
            "O" | "S" | "Se" | "Te" => &[2, 4],
            _ => &[],
        };
        // Bond counts are in half bonds; the reference's are floats.
        let counts = self.bond_counts[node];
        let used = (counts - adjacent as i32) / 2;
        match atom.hydrogens {
            None => valences.contains(&used),
            Some(hydrogens) => {
                let (charge, hydrogens) = (atom.charge, hydrogens as i32);
                let valence = valences.last().copied().unwrap_or(0) - charge;
                let used = used + hydrogens;
                let bound = charge.max(0) + hydrogens + counts / 2 + 2 * (counts % 2) / 2;
                let valence_electrons = match valences.first() {
                    Some(3) if atom.element == "B" || atom.element == "Al" => 3,
                    Some(4) => 4,
                    Some(3) => 5,
                    Some(2) => 6,
                    _ => 0,
                };
                let radical = (valence_electrons - bound).max(0) % 2;
                let free = valence - used - radical;
                if valences.iter().any(|v| used == v - charge) {
                    true
                } else {
                    !(free >= 0 && free % 2 != 0)
                }
            }
        }
    }

    /// Whether writing atom `i`'s bonds in SELFIES order reverses its chirality: an odd
    /// permutation from ring closures, ring openings (by partner) and other bonds.
    fn inverts_chirality(&self, i: usize) -> bool {
        let bonds: Vec<&Bond> = self.out[i].iter().flatten().collect();
        let mut closing = Vec::new();
        let mut opening = Vec::new();
        let mut other = Vec::new();
        for (k, bond) in bonds.iter().enumerate() {
            match (bond.ring, bond.from < bond.to) {
                (false, _) => other.push(k),
                (true, true) => opening.push(k),
                (true, false) => closing.push(k),
            }
        }
        opening.sort_by_key(|&k| bonds[k].to);
        let order: Vec<usize> = closing.into_iter().chain(opening).chain(other).collect();
        let mut inversions = 0;
        for a in 0..order.len() {
            for b in a + 1..order.len() {
                if order[a] > order[b] {
                    inversions += 1;
                }
            }
        }
        inversions % 2 == 1
    }

    /// The symbols of the fragment that starts at `root`, entered by `into`.
    fn fragment(&self, into: Option<&Bond>, root: usize) -> Vec<String> {
        let mut derived = Vec::new();
        let (mut into, mut current) = (into.cloned(), root);
        loop {
            derived.push(format!(
                "[{}{}]",
                into.as_ref().map_or("", |b| bond_text(b, true)),
                self.atoms[current].text(false)
            ));
            let bonds: Vec<&Bond> = self.out[current].iter().flatten().collect();
            let mut next = None;
            for (i, bond) in bonds.iter().enumerate() {
                if bond.ring {
                    if bond.from < bond.to {
                        continue;
                    }
                    let reverse = self.out[bond.to]
                        .iter()
                        .flatten()
                        .find(|b| b.ring && b.to == bond.from);
                    let digits = index_symbols(bond.from - bond.to - 1);
                    derived.push(format!(
                        "[{}Ring{}]",
                        ring_text(reverse.unwrap_or(bond), bond),
                        digits.len()
                    ));
                    derived.extend(digits.into_iter().map(String::from));
                } else if i == bonds.len() - 1 {
                    next = Some((*bond).clone());
                } else {
                    let branch = self.fragment(Some(bond), bond.to);
                    let digits = index_symbols(branch.len() - 1);
                    derived.push(format!(
                        "[{}Branch{}]",
                        bond_text(bond, false),
                        digits.len()
                    ));
                    derived.extend(digits.into_iter().map(String::from));
                    derived.extend(branch);
                }
            }
            match (bonds.last(), next) {
                (Some(last), Some(bond)) if !last.ring => {
                    current = bond.to;
                    into = Some(bond);
                }
                _ => break,
            }
        }
        derived
    }
}

/// A bond as SELFIES writes it before an atom or a branch (stereo marks only where asked).
fn bond_text(bond: &Bond, stereo: bool) -> &'static str {
    match (bond.halves, bond.stereo) {
        (4, _) => "=",
        (6, _) => "#",
        (_, Some('/')) if stereo => "/",
        (_, Some('\\')) if stereo => "\\",
        _ => "",
    }
}

/// The bond marks of a ring symbol: its order, or the stereo marks of both ends.
fn ring_text(left: &Bond, right: &Bond) -> String {
    if left.halves != 2 || (left.stereo.is_none() && right.stereo.is_none()) {
        return bond_text(left, false).to_string();
    }
    let mark = |b: &Bond| b.stereo.unwrap_or('-');
    format!("{}{}", mark(left), mark(right))
}

/// `index` as base-16 digits in [`INDEX_ALPHABET`], most significant first.
fn index_symbols(mut index: usize) -> Vec<&'static str> {
    if index == 0 {
        return vec![INDEX_ALPHABET[0]];
    }
    let mut digits = Vec::new();
    while index > 0 {
        digits.push(INDEX_ALPHABET[index % INDEX_ALPHABET.len()]);
        index /= INDEX_ALPHABET.len();
    }
    digits.reverse();
    digits
}

/// A perfect matching of `graph` (adjacency lists), as the reference finds it: greedily from
/// the atoms with the fewest free neighbours, then along augmenting paths.
fn perfect_matching(graph: &[Vec<usize>]) -> Option<Vec<usize>> {
    let n = graph.len();
    let mut matching: Vec<Option<usize>> = vec![None; n];
    let mut free: Vec<usize> = graph.iter().map(Vec::len).collect();
    let mut queue: BinaryHeap<Reverse<(usize, usize)>> =
        (0..n).map(|i| Reverse((free[i], i))).collect();
    while let Some(Reverse((_, node))) = queue.pop() {
        if matching[node].is_some() || free[node] == 0 {
            continue;
        }
        let mate = graph[node]
            .iter()
            .copied()
            .find(|&i| matching[i].is_none())?;
        matching[node] = Some(mate);
        matching[mate] = Some(node);
        for &adj in graph[node].iter().chain(&graph[mate]) {
            free[adj] -= 1;
            if matching[adj].is_none() && free[adj] > 0 {
                queue.push(Reverse((free[adj], adj)));
            }
        }
    }
    let mut unmatched = python_int_set((0..n).filter(|&i| matching[i].is_none()).collect());
    while let Some(root) = unmatched.pop() {
        let path = augmenting_path(graph, root, &matching)?;
        for pair in path.chunks(2) {
            matching[pair[0]] = Some(pair[1]);
            matching[pair[1]] = Some(pair[0]);
        }
        unmatched.discard(path[0]);
        unmatched.discard(path[path.len() - 1]);
    }
    matching.into_iter().collect()
}

fn augmenting_path(
    graph: &[Vec<usize>],
    root: usize,
    matching: &[Option<usize>],
) -> Option<Vec<usize>> {
    let mut parents: Vec<Option<(Option<usize>, Option<usize>)>> = vec![None; graph.len()];
    parents[root] = Some((None, None));
    let mut queue = std::collections::VecDeque::from([root]);
    let mut end = None;
    'search: while let Some(node) = queue.pop_front() {
        for &adj in &graph[node] {
            match matching[adj] {
                None => {
                    if adj != root {
                        parents[adj] = Some((Some(node), Some(adj)));
                        end = Some(adj);
                        break 'search;
                    }
                }
                Some(mate) => {
                    if parents[mate].is_none() {
                        parents[mate] = Some((Some(node), Some(adj)));
                        queue.push_back(mate);
                    }
                }
            }
        }
    }
    let mut node = end?;
    let mut path = Vec::new();
    while node != root {
        let (parent, via) = parents[node]?;
        path.push(via?);
        path.push(parent?);
        node = parent?;
    }
    Some(path)
}

/// A set of small integers that pops in the order CPython's `set` does (its hash table, a
/// moving finger), so that augmenting paths are tried in the reference's order.
struct PythonIntSet {
    table: Vec<Option<usize>>,
    finger: usize,
}

/// Builds the set as `set(iterable)` does: inserted one by one into a table of 8 slots that
/// grows to four times its entries when three fifths full.
fn python_int_set(items: Vec<usize>) -> PythonIntSet {
    let mut set = PythonIntSet {
        table: vec![None; 8],
        finger: 0,
    };
    let mut used = 0;
    for item in items {
        set.insert(item);
        used += 1;
        let mask = set.table.len() - 1;
        if used * 5 >= mask * 3 {
            let mut size = 8;
            while size <= used * 4 {
                size <<= 1;
            }
            let old: Vec<usize> = set.table.iter().flatten().copied().collect();
            set.table = vec![None; size];
            for v in old {
                set.insert(v);
            }
        }
    }
    set
}

impl PythonIntSet {
    fn insert(&mut self, value: usize) {
        let mask = self.table.len() - 1;
        let mut perturb = value;
        let mut i = value & mask;
        loop {
            // Linear probes within the table, then CPython's perturbed jump.
            let probes = if i + 9 <= mask { 9 } else { 0 };
            for j in i..=i + probes {
                match self.table[j] {
                    None => {
                        self.table[j] = Some(value);
                        return;
                    }
                    Some(v) if v == value => return,
                    _ => {}
                }
            }
            perturb >>= 5;
            i = (i * 5 + 1 + perturb) & mask;
        }
    }

    fn pop(&mut self) -> Option<usize> {
        let n = self.table.len();
        for step in 0..n {
            let i = (self.finger + step) % n;
            if let Some(v) = self.table[i].take() {
                self.finger = i + 1;
                return Some(v);
            }
        }
        None
    }

    fn discard(&mut self, value: usize) {
        for slot in &mut self.table {
            if *slot == Some(value) {
                *slot = None;
            }
        }
    }
}

/// Reads a SMILES string into a [`Graph`] (the reference's `smiles_to_mol`).
fn parse(smiles: &str) -> Result<Graph, SelfiesError> {
    if smiles.is_empty() {
        return Err(smiles_error(0, "empty SMILES"));
    }
    let tokens = tokenize(smiles)?;
    let mut mol = Graph::default();
    let mut next = 0;
    while next < tokens.len() {
        next = parse_fragment(&mut mol, smiles, &tokens, next)?;
    }
    Ok(mol)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Atom,
    Branch,
    Ring,
    Dot,
}

#[derive(Debug, Clone)]
struct Token<'a> {
    bond: Option<char>,
    start: usize,
    kind: Kind,
    text: &'a str,
}

/// An error at the 0-based character `position` of the SMILES.
fn smiles_error(position: usize, message: impl Into<String>) -> SelfiesError {
    SelfiesError::new(Unit::Character, position + 1, message)
}

fn tokenize(smiles: &str) -> Result<Vec<Token<'_>>, SelfiesError> {
    let bytes = smiles.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'.' {
            tokens.push(Token {
                bond: None,
                start: i,
                kind: Kind::Dot,
                text: ".",
            });
            i += 1;
            continue;
        }
        let bond = match bytes[i] {
            b'-' | b'/' | b'\\' | b':' | b'=' | b'#' => {
                i += 1;
                Some(bytes[i - 1] as char)
            }
            _ => None,
        };
        if i == bytes.len() {
            return Err(smiles_error(i - 1, "hanging bond"));
        }
        let (kind, end) = match bytes[i] {
            b if b.is_ascii_alphabetic() => {
                let two = matches!(&bytes[i..(i + 2).min(bytes.len())], b"Br" | b"Cl");
                (Kind::Atom, i + if two { 2 } else { 1 })
            }
            b'[' => match bytes[i + 1..].iter().position(|&b| b == b']') {
                Some(r) => (Kind::Atom, i + 1 + r + 1),
                None => return Err(smiles_error(i, "hanging bracket [")),
            },
            b'(' | b')' => {
                if bond.is_some() {
                    return Err(smiles_error(i - 1, "hanging bond"));
                }
                (Kind::Branch, i + 1)
            }
            b if b.is_ascii_digit() => (Kind::Ring, i + 1),
            b'%' => {
                let digits = &bytes[i + 1..(i + 3).min(bytes.len())];
                if digits.len() != 2 || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(smiles_error(i, "invalid ring number after '%'"));
                }
                (Kind::Ring, i + 3)
            }
            _ => {
                let c = smiles[i..].chars().next().unwrap_or('?');
                return Err(smiles_error(i, format!("unrecognized symbol '{c}'")));
            }
        };
        tokens.push(Token {
            bond,
            start: i,
            kind,
            text: &smiles[i..end],
        });
        i = end;
    }
    Ok(tokens)
}

/// One fragment (up to a `.`); returns the index of the token after it.
fn parse_fragment(
    mol: &mut Graph,
    smiles: &str,
    tokens: &[Token<'_>],
    mut next: usize,
) -> Result<usize, SelfiesError> {
    let first_atom = mol.atoms.len();
    let mut previous: Vec<Option<usize>> = vec![None];
    let mut branches: Vec<usize> = Vec::new();
    // Open ring numbers: the token, its atom and the placeholder's position.
    let mut rings: Vec<(&str, usize, usize, usize)> = Vec::new();
    let mut chain_start = true;
    let mut last_start = smiles.len();
    while next < tokens.len() {
        let token = &tokens[next];
        next += 1;
        last_start = token.start;
        let prev = previous.last().copied().flatten();
        match token.kind {
            Kind::Dot => break,
            Kind::Atom => {
                let (atom, aromatic) = read_atom(token.text).ok_or_else(|| {
                    smiles_error(token.start, format!("invalid atom symbol '{}'", token.text))
                })?;
                let index = mol.add_atom(atom, aromatic, prev.is_none());
                if let Some(prev) = prev {
                    let (mut halves, stereo) = bond_halves(token.bond);
                    if mol.aromatic[prev] && aromatic && token.bond.is_none() {
                        halves = 3;
                    }
                    mol.add_bond(prev, index, halves, stereo);
                }
                if let Some(top) = previous.last_mut() {
                    *top = Some(index);
                }
                chain_start = false;
            }
            _ if chain_start => {
                return Err(smiles_error(
                    token.start,
                    "SMILES chain begins with non-atom",
                ))
            }
            Kind::Branch if token.text == "(" => {
                branches.push(token.start);
                previous.push(prev);
                chain_start = true;
            }
            Kind::Branch => {
                if branches.pop().is_none() {
                    return Err(smiles_error(token.start, "hanging ')' bracket"));
                }
                previous.pop();
            }
            Kind::Ring => {
                let atom = prev.unwrap_or(0);
                match rings.iter().position(|(number, ..)| *number == token.text) {
                    None => {
                        mol.out[atom].push(None);
                        let position = mol.out[atom].len() - 1;
                        rings.push((token.text, next - 1, atom, position));
                    }
                    Some(at) => {
                        let (_, opened, left, position) = rings.remove(at);
                        close_ring(mol, &tokens[opened], left, position, token, atom)?;
                    }
                }
            }
        }
    }
    if mol.atoms.len() == first_atom {
        return Err(smiles_error(
            last_start.saturating_sub(1),
            "empty SMILES fragment",
        ));
    }
    if let Some(&at) = branches.last() {
        return Err(smiles_error(at, "hanging '(' bracket"));
    }
    if let Some((number, opened, ..)) = rings.last() {
        return Err(smiles_error(
            tokens[*opened].start,
            format!("hanging ring number '{number}'"),
        ));
    }
    Ok(next)
}

fn close_ring(
    mol: &mut Graph,
    open: &Token<'_>,
    left: usize,
    position: usize,
    close: &Token<'_>,
    right: usize,
) -> Result<(), SelfiesError> {
    if mol.has_bond(left, right) {
        return Err(smiles_error(
            open.start,
            "ring bond specified between already-bonded atoms",
        ));
    }
    let stereo = |c: Option<char>| matches!(c, Some('/' | '\\'));
    let (a, b) = match open.bond {
        None => (close.bond, None),
        some => (some, close.bond),
    };
    if !(a == b || b.is_none() || (stereo(a) && stereo(b))) {
        return Err(smiles_error(open.start, "mismatched ring bonds"));
    }
    let (mut left_halves, left_stereo) = bond_halves(open.bond);
    let (mut right_halves, right_stereo) = bond_halves(close.bond);
    if mol.aromatic[left] && mol.aromatic[right] && open.bond.is_none() && close.bond.is_none() {
        left_halves = 3;
        right_halves = 3;
    }
    mol.add_ring_bond(
        left,
        left_stereo,
        position,
        right,
        right_stereo,
        left_halves.max(right_halves),
    );
    Ok(())
}

/// A SMILES bond character's order in half bonds and its stereo mark.
fn bond_halves(bond: Option<char>) -> (i32, Option<char>) {
    match bond {
        Some(':') => (3, None),
        Some('=') => (4, None),
        Some('#') => (6, None),
        Some(c @ ('/' | '\\')) => (2, Some(c)),
        _ => (2, None),
    }
}

/// A SMILES atom and whether it is aromatic (the reference's `smiles_to_atom`).
fn read_atom(text: &str) -> Option<(Atom, bool)> {
    let plain = |element: &str| Atom {
        element: element.to_string(),
        isotope: None,
        chirality: None,
        hydrogens: None,
        charge: 0,
    };
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        if ORGANIC_SUBSET.contains(&text) {
            return Some((plain(text), false));
        }
        return matches!(text, "b" | "c" | "n" | "o" | "p" | "s")
            .then(|| (plain(&text.to_ascii_uppercase()), true));
    };
    let isotope_len = inner.bytes().take_while(u8::is_ascii_digit).count();
    let (isotope, rest) = inner.split_at(isotope_len);
    rest.chars().next().filter(char::is_ascii_alphabetic)?;
    let element_len = match rest[1..].chars().next() {
        Some(c) if c.is_ascii_lowercase() => 2,
        _ => 1,
    };
    let (mut element, rest) = rest.split_at(element_len);
    let chirality_len = rest.bytes().take_while(|b| *b == b'@').count();
    if chirality_len > 2 {
        return None;
    }
    let (chirality, rest) = rest.split_at(chirality_len);
    let (hydrogens, rest) = match rest.strip_prefix('H') {
        Some(after) => match after.as_bytes().first() {
            Some(d) if d.is_ascii_digit() => (u32::from(d - b'0'), &after[1..]),
            _ => (1, after),
        },
        None => (0, rest),
    };
    // Charge: +, ++, -, --, +2, -1; then an atom class (:12), which is dropped.
    let class_at = rest.find(':').unwrap_or(rest.len());
    let (charge_text, class) = rest.split_at(class_at);
    let class_ok =
        class.is_empty() || (class.len() > 1 && class[1..].bytes().all(|b| b.is_ascii_digit()));
    if !class_ok {
        return None;
    }
    let charge = match charge_text {
        "" => 0,
        t if t.bytes().all(|b| b == b'+') => t.len() as i32,
        t if t.bytes().all(|b| b == b'-') => -(t.len() as i32),
        t => {
            let sign = match t.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if t.len() < 2 || !t[1..].bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            sign * t[1..].parse::<i32>().ok()?
        }
    };
    let aromatic_names = ["b", "al", "c", "si", "n", "p", "as", "o", "s", "se", "te"];
    let aromatic =
        element.chars().all(|c| c.is_ascii_lowercase()) && aromatic_names.contains(&element);
    let capitalized;
    if element
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase())
    {
        let mut chars = element.chars();
        capitalized = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect::<String>();
        element = &capitalized;
    }
    if !ELEMENTS.contains(&element) {
        return None;
    }
    Some((
        Atom {
            element: element.to_string(),
            isotope: match isotope {
                "" => None,
                digits => Some(digits.parse().ok()?),
            },
            chirality: (!chirality.is_empty()).then(|| chirality.to_string()),
            hydrogens: Some(hydrogens),
            charge,
        },
        aromatic,
    ))
}
