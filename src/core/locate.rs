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
    Map {
        path: String,
        key: Option<(String, (usize, usize))>,
        seen_key: bool,
        /// The keys written so far and where, to find one written twice.
        keys: HashMap<String, (usize, usize)>,
        anchored: Option<(usize, u64)>,
    },
    Seq {
        path: String,
        next: usize,
        anchored: Option<(usize, u64)>,
    },
}

/// What a YAML text may hold before it is read into values: how deep it nests, and how many
/// nodes it holds once its aliases are expanded (an alias bomb holds billions).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub depth: usize,
    pub nodes: u64,
}

/// Why a YAML text is refused before it is read into values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Collections nest deeper than the limit; `at` is where the limit is passed.
    TooDeep { limit: usize, at: (usize, usize) },
    /// More nodes than the limit once aliases are expanded; `at` is where the limit is passed,
    /// `alias` whether an alias passed it.
    TooManyNodes {
        limit: u64,
        at: (usize, usize),
        alias: bool,
    },
    /// A mapping key written twice: the path of the second, where the first and second are.
    DuplicateKey {
        path: String,
        key: String,
        first: (usize, usize),
        at: (usize, usize),
    },
    /// A second document (`---`) in the text.
    MoreThanOneDocument { at: (usize, usize) },
}

/// Where every path is written, and the first problem found, if any.
#[derive(Debug, Default)]
pub struct Scan {
    pub places: HashMap<String, Place>,
    pub problem: Option<Problem>,
}

/// Every path in the document and where it is written. A text that does not parse yields what
/// was read before the error (the caller reports the syntax error itself).
pub fn index(source: &str) -> HashMap<String, Place> {
    scan(
        source,
        Limits {
            depth: usize::MAX,
            nodes: u64::MAX,
        },
    )
    .places
}

/// [`index`], and the first problem that should stop the text from being read into values: too
/// deep, too many nodes with the aliases expanded, a key written twice, more than one document.
/// One pass over the parser's events, linear in the text; nothing is expanded.
pub fn scan(source: &str, limits: Limits) -> Scan {
    let mut places: HashMap<String, Place> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(source);
    // Nodes so far with aliases expanded, and each anchor's size the same way.
    let mut nodes: u64 = 0;
    let mut anchor_size: HashMap<usize, u64> = HashMap::new();
    let mut documents = 0;
    let problem = loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(e) => {
                // The scanner refuses flow collections nested past 255 levels itself.
                if e.info().contains("recursion limit") {
                    let at = flow_too_deep(source, limits.depth)
                        .unwrap_or((e.marker().line(), e.marker().col() + 1));
                    break Some(Problem::TooDeep {
                        limit: limits.depth,
                        at,
                    });
                }
                break None;
            }
        };
        let at = (mark.line(), mark.col() + 1);
        // A node starts here: find the path it takes in its parent, or record it as a key.
        let starts_node = matches!(
            event,
            Event::Scalar(..)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
                | Event::Alias(..)
        );
        let mut node_path = None;
        if starts_node {
            let added = match &event {
                Event::Alias(id) => anchor_size.get(id).copied().unwrap_or(1),
                _ => 1,
            };
            nodes = nodes.saturating_add(added);
            if nodes > limits.nodes {
                break Some(Problem::TooManyNodes {
                    limit: limits.nodes,
                    at,
                    alias: matches!(event, Event::Alias(..)),
                });
            }
            match stack.last_mut() {
                Some(Frame::Map {
                    path,
                    key,
                    seen_key,
                    keys,
                    ..
                }) => match key.take() {
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
                            if let Some(first) = keys.insert(name.clone(), at) {
                                break Some(Problem::DuplicateKey {
                                    path: join(path, name),
                                    key: name.clone(),
                                    first,
                                    at,
                                });
                            }
                            *key = Some((name.clone(), at));
                            if let Event::Scalar(_, _, anchor, _) = &event {
                                if *anchor > 0 {
                                    anchor_size.insert(*anchor, 1);
                                }
                            }
                            continue;
                        }
                        // Complex keys are not part of the contract: index nothing under them,
                        // and take the node after it as its value.
                        *key = Some((String::from("\u{0}"), at));
                        node_path = Some(String::from("\u{0}"));
                    }
                    Some((name, key_at)) => {
                        let p = join(path, &name);
                        places.insert(
                            p.clone(),
                            Place {
                                key: key_at,
                                value: at,
                            },
                        );
                        node_path = Some(p);
                    }
                },
                Some(Frame::Seq { path, next, .. }) => {
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
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if stack.len() >= limits.depth {
                    break Some(Problem::TooDeep {
                        limit: limits.depth,
                        at,
                    });
                }
                // Its own node is already counted: its size starts at 1.
                let anchored = (anchor > 0).then(|| (anchor, nodes - 1));
                let path = node_path.unwrap_or_default();
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        path,
                        key: None,
                        seen_key: false,
                        keys: HashMap::new(),
                        anchored,
                    }
                } else {
                    Frame::Seq {
                        path,
                        next: 0,
                        anchored,
                    }
                });
            }
            Event::Scalar(_, _, anchor, _) if anchor > 0 => {
                anchor_size.insert(anchor, 1);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(
                    Frame::Map {
                        anchored: Some((id, start)),
                        ..
                    }
                    | Frame::Seq {
                        anchored: Some((id, start)),
                        ..
                    },
                ) = stack.pop()
                {
                    anchor_size.insert(id, nodes - start);
                }
            }
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    break Some(Problem::MoreThanOneDocument { at });
                }
            }
            Event::StreamEnd => break None,
            _ => {}
        }
    };
    Scan { places, problem }
}

/// Where flow brackets (`[`, `{`) first nest past `limit`, skipping quotes and comments.
fn flow_too_deep(source: &str, limit: usize) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let (mut quote, mut comment, mut previous) = (None, false, '\n');
    for c in source.chars() {
        column += 1;
        match (quote, c) {
            (_, '\n') => {
                (line, column, comment) = (line + 1, 0, false);
            }
            _ if comment => {}
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if previous.is_whitespace() => comment = true,
            (None, '[' | '{') => {
                depth += 1;
                if depth > limit {
                    return Some((line, column));
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = c;
    }
    None
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
        assert_eq!(
            places["service"],
            Place {
                key: (1, 1),
                value: (1, 10)
            }
        );
        assert_eq!(
            places["ecs.cpu"],
            Place {
                key: (3, 3),
                value: (3, 8)
            }
        );
        assert_eq!(places["ecs.scaling.scale_out[0].add"].value, (6, 25));
        assert_eq!(places["ecs.scaling.scale_out[1]"].value, (7, 9));
        assert_eq!(
            places["ecs.scaling.scale_out[1].add"],
            Place {
                key: (8, 9),
                value: (8, 14)
            }
        );
    }

    #[test]
    fn falls_back_to_the_nearest_written_ancestor() {
        let places = index(DOC);
        assert_eq!(find(&places, "ecs.memory").unwrap().key, (2, 1));
        assert_eq!(
            find(&places, "ecs.scaling.scale_out[1].from.x")
                .unwrap()
                .value,
            (7, 15)
        );
        assert_eq!(find(&places, "lambda.timeout").unwrap().key, (1, 1));
    }

    const LIMITS: Limits = Limits {
        depth: 8,
        nodes: 1_000,
    };

    #[test]
    fn scan_refuses_depth_aliases_duplicates_and_documents() {
        let deep = format!("a: {}{}", "[".repeat(20), "]".repeat(20));
        assert!(matches!(
            scan(&deep, LIMITS).problem,
            Some(Problem::TooDeep {
                limit: 8,
                at: (1, _)
            })
        ));
        let very_deep = "[".repeat(100_000);
        assert!(matches!(
            scan(&very_deep, LIMITS).problem,
            Some(Problem::TooDeep { .. })
        ));
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
        assert_eq!(
            scan(bomb, LIMITS).problem,
            Some(Problem::TooManyNodes {
                limit: 1_000,
                at: (3, 33),
                alias: true
            })
        );
        let twice = "ecs:\n  cpu: 1\n  cpu: 2\n";
        assert_eq!(
            scan(twice, LIMITS).problem,
            Some(Problem::DuplicateKey {
                path: "ecs.cpu".into(),
                key: "cpu".into(),
                first: (2, 3),
                at: (3, 3)
            })
        );
        assert!(matches!(
            scan("a: 1\n---\nb: 2\n", LIMITS).problem,
            Some(Problem::MoreThanOneDocument { at: (2, 1) })
        ));
        // The same key in two mappings, and complex keys, are fine.
        assert_eq!(
            scan("a: {x: 1}\nb: {x: 1}\n? [k]\n: x\n? [j]\n: x\n", LIMITS).problem,
            None
        );
        assert_eq!(scan(DOC, LIMITS).problem, None);
    }
}
