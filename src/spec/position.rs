//! Maps a field path (`tables.cruddur-messages.capacity.read`) to its line and column in the
//! YAML source, so that every error can name the place a user has to edit.
//!
//! serde_yaml does not expose positions of nodes, so the file is read a second time with
//! yaml-rust2's event parser, which reports a marker for every event.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Default, Clone)]
pub struct PositionIndex {
    map: HashMap<Vec<String>, Pos>,
}

enum Frame {
    Map { key: Option<String> },
    Seq { index: usize },
}

struct Builder {
    stack: Vec<Frame>,
    path: Vec<String>,
    map: HashMap<Vec<String>, Pos>,
}

impl Builder {
    fn pos(mark: Marker) -> Pos {
        Pos { line: mark.line(), column: mark.col() + 1 }
    }

    /// Called when a value node (scalar, alias, or the start of a collection) begins.
    /// Returns the path segment under which the value lives, if any.
    fn begin_value(&mut self, mark: Marker) -> Option<String> {
        match self.stack.last_mut() {
            Some(Frame::Map { key }) => key.take(),
            Some(Frame::Seq { index }) => {
                let seg = index.to_string();
                *index += 1;
                let mut p = self.path.clone();
                p.push(seg.clone());
                self.map.entry(p).or_insert(Self::pos(mark));
                Some(seg)
            }
            None => None,
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map { key }) = self.stack.last_mut() {
                    if key.is_none() {
                        // This scalar is a key: remember where it is written.
                        let mut p = self.path.clone();
                        p.push(value.clone());
                        self.map.insert(p, Self::pos(mark));
                        *key = Some(value);
                        return;
                    }
                }
                self.begin_value(mark);
            }
            Event::Alias(_) => {
                self.begin_value(mark);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let seg = self.begin_value(mark);
                if let Some(seg) = seg {
                    self.path.push(seg);
                } else if !self.stack.is_empty() {
                    // A complex mapping key: give it a placeholder segment.
                    self.path.push("?".into());
                } else {
                    // The root node.
                    self.map.entry(Vec::new()).or_insert(Self::pos(mark));
                }
                let frame = if matches!(ev, Event::MappingStart(..)) { Frame::Map { key: None } } else { Frame::Seq { index: 0 } };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                if !self.stack.is_empty() {
                    self.path.pop();
                }
            }
            _ => {}
        }
    }
}

impl PositionIndex {
    /// Builds the index. A file that the event parser cannot read gives an empty index:
    /// serde_yaml reports the syntax error with its own position.
    pub fn build(source: &str) -> Self {
        let mut b = Builder { stack: Vec::new(), path: Vec::new(), map: HashMap::new() };
        let mut parser = Parser::new_from_str(source);
        if parser.load(&mut b, false).is_err() {
            return Self::default();
        }
        Self { map: b.map }
    }

    /// The position of the longest prefix of `path` that exists in the file, and how many
    /// segments of the path matched.
    pub fn lookup(&self, path: &[String]) -> (usize, Option<Pos>) {
        for n in (0..=path.len()).rev() {
            if let Some(p) = self.map.get(&path[..n]) {
                return (n, Some(*p));
            }
        }
        (0, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(String::from).collect()
    }

    #[test]
    fn finds_keys_nested_maps_and_sequence_items() {
        let src = "a:\n  b: 1\n  c:\n    - x\n    - { d: 2 }\ne: [1, 2]\n";
        let idx = PositionIndex::build(src);
        assert_eq!(idx.lookup(&p("a.b")), (2, Some(Pos { line: 2, column: 3 })));
        assert_eq!(idx.lookup(&p("a.c.1.d")).1, Some(Pos { line: 5, column: 9 }));
        assert_eq!(idx.lookup(&p("a.c.0")).1, Some(Pos { line: 4, column: 7 }));
        assert_eq!(idx.lookup(&p("e")).1, Some(Pos { line: 6, column: 1 }));
        // A missing leaf falls back to its parent.
        assert_eq!(idx.lookup(&p("a.zzz")), (1, Some(Pos { line: 1, column: 1 })));
    }
}
