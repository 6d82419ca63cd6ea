//! Maps a dotted path (`ecs.scaling.scale_out[1].from`) to where it is written in a YAML text, so
//! that every diagnostic names a line and column. Pure.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};

/// Where a node is written: its key (for mapping entries) and its value, 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub key: (usize, usize),
    pub value: (usize, usize),
}

enum Frame {
    Map { path: String, key: Option<(String, (usize, usize))>, seen_key: bool },
    Seq { path: String, next: usize },
}

/// Every path in the document and where it is written. A text that does not parse yields what
/// was read before the error (the caller reports the syntax error itself).
pub fn index(source: &str) -> HashMap<String, Place> {
    let mut places: HashMap<String, Place> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(source);
    while let Ok((event, mark)) = parser.next_token() {
        let at = (mark.line(), mark.col() + 1);
        // A node starts here: find the path it takes in its parent, or record it as a key.
        let starts_node = matches!(event, Event::Scalar(..) | Event::MappingStart(..) | Event::SequenceStart(..) | Event::Alias(..));
        let mut node_path = None;
        if starts_node {
            match stack.last_mut() {
                Some(Frame::Map { path, key, seen_key }) => match key.take() {
                    None => {
                        if let Event::Scalar(name, ..) = &event {
                            // The scanner marks a block mapping's start after its first key:
                            // the first key is where the mapping really begins.
                            if !std::mem::replace(seen_key, true) {
                                if let Some(place) = places.get_mut(path.as_str()) {
                                    if place.value > at {
                                        // Nodes without a key of their own (the root, sequence
                                        // items) carry their start as their key too.
                                        if place.key == place.value {
                                            place.key = at;
                                        }
                                        place.value = at;
                                    }
                                }
                            }
                            *key = Some((name.clone(), at));
                            continue;
                        }
                        // Complex keys are not part of the contract: index nothing under them.
                        node_path = Some(String::from("\u{0}"));
                    }
                    Some((name, key_at)) => {
                        let p = join(path, &name);
                        places.insert(p.clone(), Place { key: key_at, value: at });
                        node_path = Some(p);
                    }
                },
                Some(Frame::Seq { path, next }) => {
                    let p = format!("{path}[{next}]");
                    *next += 1;
                    places.insert(p.clone(), Place { key: at, value: at });
                    node_path = Some(p);
                }
                None => {
                    places.insert(String::new(), Place { key: at, value: at });
                    node_path = Some(String::new());
                }
            }
        }
        match event {
            Event::MappingStart(..) => stack.push(Frame::Map { path: node_path.unwrap_or_default(), key: None, seen_key: false }),
            Event::SequenceStart(..) => stack.push(Frame::Seq { path: node_path.unwrap_or_default(), next: 0 }),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            Event::StreamEnd => break,
            _ => {}
        }
    }
    places
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The place of `path`, or of its nearest written ancestor (a default left out of the file is
/// reported where its parent is).
pub fn find(places: &HashMap<String, Place>, path: &str) -> Option<Place> {
    let mut p = path;
    loop {
        if let Some(place) = places.get(p) {
            return Some(*place);
        }
        if p.is_empty() {
            return None;
        }
        p = &p[..p.rfind(['.', '[']).unwrap_or(0)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "service: a\necs:\n  cpu: 256\n  scaling:\n    scale_out:\n      - { from: 1, add: 1 }\n      - from: 100\n        add: 5\n";

    #[test]
    fn finds_keys_values_and_sequence_items() {
        let places = index(DOC);
        assert_eq!(places["service"], Place { key: (1, 1), value: (1, 10) });
        assert_eq!(places["ecs.cpu"], Place { key: (3, 3), value: (3, 8) });
        assert_eq!(places["ecs.scaling.scale_out[0].add"].value, (6, 25));
        assert_eq!(places["ecs.scaling.scale_out[1]"].value, (7, 9));
        assert_eq!(places["ecs.scaling.scale_out[1].add"], Place { key: (8, 9), value: (8, 14) });
    }

    #[test]
    fn falls_back_to_the_nearest_written_ancestor() {
        let places = index(DOC);
        assert_eq!(find(&places, "ecs.memory").unwrap().key, (2, 1));
        assert_eq!(find(&places, "ecs.scaling.scale_out[1].from.x").unwrap().value, (7, 15));
        assert_eq!(find(&places, "lambda.timeout").unwrap().key, (1, 1));
    }
}
