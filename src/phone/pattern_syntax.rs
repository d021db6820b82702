//! The syntax of the metadata's regular expressions, read into a tree (see `pattern.rs`).

/// Groups nested deeper than this are refused (the metadata nests 6 deep at most).
const MAX_DEPTH: usize = 32;
/// Counted repetitions above this are refused (the metadata counts to 17 at most).
const MAX_COUNT: u32 = 32;
/// Every digit.
const ANY_DIGIT: u16 = 0b11_1111_1111;

/// A piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    /// One digit of the set (bit `d` for the digit `d`).
    Digits(u16),
    /// `$`.
    End,
    /// A group, capturing (with its number, from 1) or not, of alternative sequences.
    Group {
        capture: Option<usize>,
        alternatives: Vec<Vec<Node>>,
    },
    /// A quantified piece; `max` is `None` when unbounded.
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

/// The tree of `pattern`, as one non-capturing group, and its number of capturing groups;
/// `None` for syntax outside the subset the metadata uses.
pub(super) fn parse(pattern: &str) -> Option<(Node, usize)> {
    let mut parser = Parser {
        bytes: pattern.as_bytes(),
        at: 0,
        groups: 0,
    };
    let alternatives = parser.alternation(0)?;
    let root = Node::Group {
        capture: None,
        alternatives,
    };
    parser.peek().is_none().then_some((root, parser.groups))
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    groups: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at = self.at.checked_add(1)?;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.peek() == Some(byte) && self.bump().is_some()
    }

    fn alternation(&mut self, depth: usize) -> Option<Vec<Vec<Node>>> {
        let mut alternatives = vec![self.sequence(depth)?];
        while self.eat(b'|') {
            alternatives.push(self.sequence(depth)?);
        }
        Some(alternatives)
    }

    fn sequence(&mut self, depth: usize) -> Option<Vec<Node>> {
        let mut nodes = Vec::new();
        while let Some(byte) = self.peek() {
            if byte == b'|' || byte == b')' {
                break;
            }
            let atom = self.atom(depth)?;
            nodes.push(self.quantified(atom)?);
        }
        Some(nodes)
    }

    fn atom(&mut self, depth: usize) -> Option<Node> {
        match self.bump()? {
            digit @ b'0'..=b'9' => Some(Node::Digits(digit_bit(digit.wrapping_sub(b'0')))),
            b'\\' => (self.bump()? == b'd').then_some(Node::Digits(ANY_DIGIT)),
            b'[' => self.class(),
            b'(' => self.group(depth),
            b'$' => Some(Node::End),
            _ => None,
        }
    }

    fn group(&mut self, depth: usize) -> Option<Node> {
        let depth = depth.checked_add(1).filter(|d| *d <= MAX_DEPTH)?;
        let capture = if self.eat(b'?') {
            self.eat(b':').then_some(None)?
        } else {
            self.groups = self.groups.checked_add(1)?;
            Some(self.groups)
        };
        let alternatives = self.alternation(depth)?;
        self.eat(b')').then_some(Node::Group {
            capture,
            alternatives,
        })
    }

    /// `[0-57-9]`, `[\d]`: digits and ranges of digits.
    fn class(&mut self) -> Option<Node> {
        let mut set = 0_u16;
        loop {
            let low = match self.bump()? {
                b']' if set != 0 => return Some(Node::Digits(set)),
                b'\\' => {
                    (self.bump()? == b'd').then_some(())?;
                    set |= ANY_DIGIT;
                    continue;
                }
                byte => digit(byte)?,
            };
            let high = if self.peek() == Some(b'-')
                && self.bytes.get(self.at.checked_add(1)?) != Some(&b']')
            {
                self.bump()?;
                digit(self.bump()?).filter(|high| *high >= low)?
            } else {
                low
            };
            for d in low..=high {
                set |= digit_bit(d);
            }
        }
    }

    /// The quantifier after `node`, if any. Lazy and possessive forms (`??`, `?+`) are refused.
    fn quantified(&mut self, node: Node) -> Option<Node> {
        let (min, max) = match self.peek() {
            Some(b'?') => (0, Some(1)),
            Some(b'*') => (0, None),
            Some(b'+') => (1, None),
            Some(b'{') => {
                self.bump()?;
                return self.counted(node);
            }
            _ => return Some(node),
        };
        self.bump()?;
        self.repeat(node, min, max)
    }

    /// `{n}`, `{n,}`, `{n,m}` after the `{`.
    fn counted(&mut self, node: Node) -> Option<Node> {
        let min = self.number()?;
        let max = if self.eat(b',') {
            if self.peek() == Some(b'}') {
                None
            } else {
                Some(self.number()?)
            }
        } else {
            Some(min)
        };
        self.eat(b'}').then_some(())?;
        self.repeat(node, min, max)
    }

    fn repeat(&mut self, node: Node, min: u32, max: Option<u32>) -> Option<Node> {
        let next = self.peek();
        let sane = min <= MAX_COUNT && max.is_none_or(|max| min <= max && max <= MAX_COUNT);
        (sane && !matches!(next, Some(b'?' | b'+' | b'*' | b'{'))).then(|| Node::Repeat {
            node: Box::new(node),
            min,
            max,
        })
    }

    fn number(&mut self) -> Option<u32> {
        let mut value = u32::from(digit(self.bump()?)?);
        while let Some(d) = self.peek().and_then(digit) {
            self.bump()?;
            value = value.checked_mul(10)?.checked_add(u32::from(d))?;
        }
        Some(value)
    }
}

fn digit(byte: u8) -> Option<u8> {
    byte.is_ascii_digit().then(|| byte.wrapping_sub(b'0'))
}

/// The bit of digit `d` (0 to 9) in a digit set.
pub(super) fn digit_bit(d: u8) -> u16 {
    1_u16.rotate_left(u32::from(d))
}
