//! The regular expressions of libphonenumber's metadata, matched against digits.
//!
//! The metadata uses a small subset of Java's syntax: digits, `\d`, classes of digits with ranges
//! (`[0-57-9]`), capturing and non-capturing groups (`(…)`, `(?:…)`), `|`, the quantifiers `?`,
//! `*`, `+`, `{n}`, `{n,}`, `{n,m}`, and `$`. A pattern is compiled to a short program, which a
//! backtracking machine runs the way Java's engine does (greedy quantifiers, left alternative
//! first), so that a prefix match ends where Java's `lookingAt()` ends and captures what it
//! captures. The machine remembers every (instruction, position) pair it has tried: a pair that
//! failed once fails again, so no pair is tried twice and the work is bounded by the program's
//! length times the input's (the bounded backtracking of RE2's `BitState`).
//!
//! A pattern outside the subset compiles to nothing and matches nothing; the plan's tests compile
//! every pattern of the checked-in tables.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use super::pattern_syntax::{Node, digit_bit, parse};

/// The most instructions a compiled pattern may have (the longest of the metadata needs 796).
const MAX_PROGRAM: usize = 1 << 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inst {
    /// One digit of the set: bit `d` stands for the digit `d`.
    Digit(u16),
    /// Try the first target, then the second.
    Split(usize, usize),
    /// Go on at the target.
    Jump(usize),
    /// Record the position in a capture slot (group `g` has slots `2g` and `2g + 1`).
    Save(usize),
    /// The end of the input (`$`).
    End,
    /// A match.
    Match,
}

/// What a prefix match found: where it ends and what each group captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Captures {
    /// The length of the matched prefix.
    pub(super) end: usize,
    /// Slot pairs per group, group 0 unused.
    slots: Vec<Option<usize>>,
}

impl Captures {
    /// The number of capturing groups of the pattern (Java's `groupCount()`).
    pub(super) fn group_count(&self) -> usize {
        (self.slots.len() / 2).saturating_sub(1)
    }

    /// What group `index` captured in `input`, or `None` if it took no part in the match.
    pub(super) fn group<'a>(&self, input: &'a str, index: usize) -> Option<&'a str> {
        let start = (*self.slots.get(index.checked_mul(2)?)?)?;
        let end = (*self.slots.get(index.checked_mul(2)?.checked_add(1)?)?)?;
        input.get(start..end)
    }
}

/// Whether `pattern` matches the whole of `input` (Java's `matches()`).
pub(super) fn matches(pattern: &'static str, input: &str) -> bool {
    program(pattern).is_some_and(|program| program.run(input, Mode::Whole).is_some())
}

/// The match of `pattern` at the start of `input`, if any (Java's `lookingAt()`).
pub(super) fn looking_at(pattern: &'static str, input: &str) -> Option<Captures> {
    program(pattern)?.run(input, Mode::Prefix)
}

/// Whether `input` is the start of a longer string that `pattern` could match: some path of the
/// pattern reads every digit of `input` and asks for more.
pub(super) fn could_continue(pattern: &'static str, input: &str) -> bool {
    program(pattern).is_some_and(|program| program.run(input, Mode::Continues).is_some())
}

/// Compiled programs, by the address and length of their pattern in the plan's tables: a
/// pattern is compiled once per process, the first time a number needs it (all 1,400 patterns
/// of the plan would take about 1.2 MB; a French mobile needs 12). `None` for a pattern outside
/// the subset.
type Programs = RwLock<HashMap<(usize, usize), Option<Arc<Program>>>>;

static PROGRAMS: OnceLock<Programs> = OnceLock::new();

fn program(pattern: &'static str) -> Option<Arc<Program>> {
    let key = (pattern.as_ptr() as usize, pattern.len());
    let programs = PROGRAMS.get_or_init(Programs::default);
    if let Some(known) = programs.read().ok().and_then(|map| map.get(&key).cloned()) {
        return known;
    }
    let compiled = Program::compile(pattern).map(Arc::new);
    if let Ok(mut map) = programs.write() {
        map.insert(key, compiled.clone());
    }
    compiled
}

/// Whether `pattern` is in the subset this module reads.
#[cfg(test)]
pub(super) fn compiles(pattern: &str) -> bool {
    Program::compile(pattern).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A match must end at the end of the input.
    Whole,
    /// A match may end anywhere.
    Prefix,
    /// Succeeds when a path reaches the end of the input wanting another digit.
    Continues,
}

#[derive(Debug)]
struct Program {
    insts: Vec<Inst>,
    groups: usize,
}

/// A step of the backtracking machine.
enum Job {
    Explore { pc: usize, at: usize },
    Restore { slot: usize, old: Option<usize> },
}

impl Program {
    fn compile(pattern: &str) -> Option<Self> {
        let (root, groups) = parse(pattern)?;
        let mut program = Self {
            insts: Vec::new(),
            groups,
        };
        program.node(&root)?;
        program.emit(Inst::Match)?;
        Some(program)
    }

    fn emit(&mut self, inst: Inst) -> Option<usize> {
        let at = self.insts.len();
        (at < MAX_PROGRAM).then(|| self.insts.push(inst))?;
        Some(at)
    }

    fn patch(&mut self, at: usize, inst: Inst) -> Option<()> {
        *self.insts.get_mut(at)? = inst;
        Some(())
    }

    fn node(&mut self, node: &Node) -> Option<()> {
        match node {
            Node::Digits(set) => self.emit(Inst::Digit(*set)).map(drop),
            Node::End => self.emit(Inst::End).map(drop),
            Node::Group {
                capture,
                alternatives,
            } => {
                let slot = match capture {
                    Some(group) => Some(group.checked_mul(2)?),
                    None => None,
                };
                if let Some(slot) = slot {
                    self.emit(Inst::Save(slot))?;
                }
                self.alternatives(alternatives)?;
                if let Some(slot) = slot {
                    self.emit(Inst::Save(slot.checked_add(1)?))?;
                }
                Some(())
            }
            Node::Repeat { node, min, max } => self.repeat(node, *min, *max),
        }
    }

    /// `a|b|c`: `Split(a, next)`, `a`, `Jump(end)`, `next: Split(b, next')`, … , `c`, `end:`.
    fn alternatives(&mut self, alternatives: &[Vec<Node>]) -> Option<()> {
        let mut jumps = Vec::new();
        let mut rest = alternatives.iter().peekable();
        while let Some(sequence) = rest.next() {
            if rest.peek().is_none() {
                self.sequence(sequence)?;
                break;
            }
            let split = self.emit(Inst::Split(0, 0))?;
            self.sequence(sequence)?;
            jumps.push(self.emit(Inst::Jump(0))?);
            let next = self.insts.len();
            self.patch(split, Inst::Split(split.checked_add(1)?, next))?;
        }
        let end = self.insts.len();
        for jump in jumps {
            self.patch(jump, Inst::Jump(end))?;
        }
        Some(())
    }

    fn sequence(&mut self, sequence: &[Node]) -> Option<()> {
        sequence.iter().try_for_each(|node| self.node(node))
    }

    /// `x{2,4}` is `x x (?:x(?:x)?)?`; `x{2,}` is `x x x*`; greedy, as Java's are.
    fn repeat(&mut self, node: &Node, min: u32, max: Option<u32>) -> Option<()> {
        for _ in 0..min {
            self.node(node)?;
        }
        match max {
            Some(max) => {
                let mut splits = Vec::new();
                for _ in min..max {
                    splits.push(self.emit(Inst::Split(0, 0))?);
                    self.node(node)?;
                }
                let end = self.insts.len();
                for split in splits {
                    self.patch(split, Inst::Split(split.checked_add(1)?, end))?;
                }
            }
            None => {
                let split = self.emit(Inst::Split(0, 0))?;
                self.node(node)?;
                self.emit(Inst::Jump(split))?;
                let end = self.insts.len();
                self.patch(split, Inst::Split(split.checked_add(1)?, end))?;
            }
        }
        Some(())
    }

    /// Runs the machine over `input`; `Some` on success, with the captures of the first match
    /// found (for [`Mode::Continues`], an empty one).
    fn run(&self, input: &str, mode: Mode) -> Option<Captures> {
        let digits = input.as_bytes();
        let width = digits.len().checked_add(1)?;
        let mut visited = Visited::new(self.insts.len().checked_mul(width)?);
        let mut slots = vec![None; self.groups.checked_add(1)?.checked_mul(2)?];
        let mut jobs = vec![Job::Explore { pc: 0, at: 0 }];
        while let Some(job) = jobs.pop() {
            let (mut pc, mut at) = match job {
                Job::Explore { pc, at } => (pc, at),
                Job::Restore { slot, old } => {
                    *slots.get_mut(slot)? = old;
                    continue;
                }
            };
            loop {
                if !visited.insert(pc.checked_mul(width)?.checked_add(at)?) {
                    break;
                }
                match *self.insts.get(pc)? {
                    Inst::Digit(set) => match digits.get(at) {
                        Some(&byte) if in_set(set, byte) => at = at.checked_add(1)?,
                        None if mode == Mode::Continues => return Some(empty(slots)),
                        _ => break,
                    },
                    Inst::Split(first, second) => {
                        jobs.push(Job::Explore { pc: second, at });
                        pc = first;
                        continue;
                    }
                    Inst::Jump(target) => {
                        pc = target;
                        continue;
                    }
                    Inst::Save(slot) => {
                        let old = slots.get_mut(slot)?.replace(at);
                        jobs.push(Job::Restore { slot, old });
                    }
                    Inst::End if at == digits.len() => {}
                    Inst::End => break,
                    Inst::Match => match mode {
                        Mode::Prefix => return Some(Captures { end: at, slots }),
                        Mode::Whole if at == digits.len() => {
                            return Some(Captures { end: at, slots });
                        }
                        Mode::Whole | Mode::Continues => break,
                    },
                }
                pc = pc.checked_add(1)?;
            }
        }
        None
    }
}

fn empty(slots: Vec<Option<usize>>) -> Captures {
    Captures { end: 0, slots }
}

fn in_set(set: u16, byte: u8) -> bool {
    byte.is_ascii_digit() && set & digit_bit(byte.wrapping_sub(b'0')) != 0
}

/// The (instruction, position) pairs already tried.
struct Visited {
    bits: Vec<u64>,
}

impl Visited {
    fn new(pairs: usize) -> Self {
        Self {
            bits: vec![0; pairs.div_ceil(64)],
        }
    }

    /// Marks `pair`; `false` if it was marked already (or is out of range).
    fn insert(&mut self, pair: usize) -> bool {
        let [low, ..] = pair.to_le_bytes();
        let bit = 1_u64.rotate_left(u32::from(low % 64));
        match self.bits.get_mut(pair / 64) {
            Some(word) if *word & bit == 0 => {
                *word |= bit;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(pattern: &'static str, input: &str) -> Option<usize> {
        looking_at(pattern, input).map(|captures| captures.end)
    }

    #[test]
    fn whole_matches_follow_the_syntax() {
        let pattern = r"(?:6(?:[0-24-8]\d|3[0-8]|9[589])|7[3-9]\d)\d{6}";
        for yes in ["612345678", "638123456", "695123456", "790000000"] {
            assert!(matches(pattern, yes), "{yes}");
        }
        for no in [
            "639123456",
            "692123456",
            "700123456",
            "61234567",
            "6123456789",
            "",
        ] {
            assert!(!matches(pattern, no), "{no}");
        }
        assert!(matches(r"\d{2,4}", "123") && !matches(r"\d{2,4}", "12345"));
        assert!(matches(r"1\d{2,}", "1234567") && !matches(r"1\d{2,}", "12"));
        assert!(matches("12?3", "13") && matches("12?3", "123"));
        assert!(matches("1*2+", "1112") && !matches("1*2+", "111"));
        assert!(matches("[13-5]", "4") && !matches("[13-5]", "2"));
        assert!(matches(r"[\d]", "0") && matches("(?:)", ""));
        assert!(matches("1$", "1") && !matches("1$2", "12"));
    }

    #[test]
    fn prefix_matches_end_where_java_ends() {
        // Greedy: as many repetitions as possible, the left alternative first.
        assert_eq!(prefix(r"\d{2,4}", "123456"), Some(4));
        assert_eq!(prefix("0|00", "0012"), Some(1));
        assert_eq!(prefix("00|0", "0012"), Some(2));
        assert_eq!(prefix("0(?:0|1[0-9])?", "0112"), Some(3));
        assert_eq!(prefix("1", "2"), None);
        // `$` ties a branch to the end of the input.
        assert_eq!(prefix(r"([457]\d{6})$|1", "4123456"), Some(7));
        assert_eq!(prefix(r"([457]\d{6})$|1", "14123456"), Some(1));
        assert_eq!(prefix(r"([457]\d{6})$|1", "41234567"), None);
    }

    #[test]
    fn groups_capture_what_java_captures() {
        let input = "0111512345678";
        let rule = r"0?(?:(11|2(?:2(?:02?|[13]))|3[2-9])15)?";
        let captures = looking_at(rule, input).unwrap();
        assert_eq!(captures.end, 5);
        assert_eq!(captures.group_count(), 1);
        assert_eq!(captures.group(input, 1), Some("11"));
        let captures = looking_at(rule, "0612345678").unwrap();
        assert_eq!((captures.end, captures.group("0612345678", 1)), (1, None));
        let brazil = r"(?:0|90)(?:(1[245]|2[1-35])(\d{10,11}))?";
        let input = "01411987654321";
        let captures = looking_at(brazil, input).unwrap();
        assert_eq!(captures.group_count(), 2);
        assert_eq!(captures.group(input, 2), Some("11987654321"));
        assert_eq!(captures.group(input, 3), None);
    }

    #[test]
    fn continuation_means_more_digits_could_match() {
        let mobile = r"7(?:[1-57-9]\d{8}|624\d{6})";
        assert!(could_continue(mobile, "792412345"));
        assert!(!could_continue(mobile, "7924123456"));
        assert!(!could_continue(mobile, "70"));
        assert!(could_continue(mobile, ""));
    }

    #[test]
    fn syntax_outside_the_subset_matches_nothing() {
        for odd in [
            "1)", "(1", "[1", "[]", "[a]", "[5-3]", "a", r"\w", "1{2", "1{3,2}", "1{99}", "1??",
            "1?+", "(?=1)", "1{2}{3}", "^1",
        ] {
            assert!(Program::compile(odd).is_none(), "{odd}");
            assert!(
                !matches(odd, "1") && looking_at(odd, "1").is_none(),
                "{odd}"
            );
        }
        assert!(Program::compile(&"(".repeat(40)).is_none());
    }

    #[test]
    fn work_is_bounded_by_program_and_input() {
        // Exponential for a naive backtracker: every split point tried at every position.
        let nested = r"(?:(?:\d?){17}){17}9";
        let input = "1".repeat(40);
        assert!(!matches(nested, &input));
        assert!(looking_at(nested, &input).is_none());
        assert!(!matches(r"(?:\d*)*9", &input));
        // A program over the size limit is refused rather than built.
        assert!(Program::compile(r"(?:(?:(?:\d{32}){32}){32})").is_none());
    }
}
