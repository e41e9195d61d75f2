//! Dependencies inside core point one way: no top-level module (a file or a
//! folder of `src/`) may reach, directly or through others, back to itself.
//! Reads the sources (`crate::x` paths and `use crate::{x, …}` groups; test
//! modules may reach anywhere) and fails naming each cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn ident_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules `text` refers to.
fn references(text: &str) -> BTreeSet<String> {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c, d::{e, f}}`: the first name of each item.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        found.insert(ident_at(&group[i..]).to_owned());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident_at(rest).to_owned());
        }
    }
    found
}

/// Top-level module → the top-level modules it uses.
fn graph(src: &Path) -> Graph {
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut files = Vec::new();
            rust_files(&path, &mut files);
            modules.entry(name).or_default().extend(files);
        } else if name != "lib" {
            modules.entry(name).or_default().push(path);
        }
    }
    modules
        .iter()
        .map(|(module, files)| {
            let uses = files
                .iter()
                .flat_map(|file| references(&std::fs::read_to_string(file).unwrap()))
                .filter(|m| m != module && modules.contains_key(m))
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

fn reaches(graph: &Graph, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = graph[from].iter().map(String::as_str).collect();
    while let Some(m) = todo.pop() {
        if m == to {
            return true;
        }
        if seen.insert(m) {
            todo.extend(graph[m].iter().map(String::as_str));
        }
    }
    false
}

/// Each cycle as its members, `a <-> b <-> c`.
fn cycles(graph: &Graph) -> BTreeSet<String> {
    graph
        .keys()
        .filter(|m| reaches(graph, m, m))
        .map(|m| {
            graph
                .keys()
                .filter(|o| *o == m || (reaches(graph, m, o) && reaches(graph, o, m)))
                .cloned()
                .collect::<Vec<_>>()
                .join(" <-> ")
        })
        .collect()
}

#[test]
fn core_has_no_module_cycle() {
    let graph = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() > 10, "found the modules: {graph:?}");
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "module cycles in core (dependencies must point one way):\n{}",
        found.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn references_are_read_from_paths_and_use_groups() {
    let text = "use crate::{layout::DataDir, ledger, remote::{a, b}};\nfn f() { crate::lock::x(); }\n#[cfg(test)]\nmod tests {\n use crate::target;\n}";
    let found: Vec<String> = references(text).into_iter().collect();
    assert_eq!(found, ["layout", "ledger", "lock", "remote"]);
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut graph = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        graph.entry(from.into()).or_default().insert(to.into());
        graph.entry(to.into()).or_default();
    }
    assert_eq!(
        cycles(&graph).into_iter().collect::<Vec<_>>(),
        ["a <-> b <-> c"]
    );
}
