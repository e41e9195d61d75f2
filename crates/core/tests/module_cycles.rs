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

/// Every `crate::…` path in `text` (outside its test module), use groups
/// expanded: `crate::{a::b, c::{d, e}}` gives `a::b`, `c::d`, `c::e`.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        use_tree(rest, Vec::new(), &mut paths);
    }
    paths
}

/// Parses one use tree at the start of `text` below `prefix`.
fn use_tree(text: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    let mut at = 0;
    loop {
        let rest = &text[at..];
        if let Some(group) = rest.strip_prefix('{') {
            at += 1;
            let mut inner = 0;
            loop {
                let item = &group[inner..];
                let skipped = item.len() - item.trim_start().len();
                inner += skipped;
                match group[inner..].chars().next() {
                    Some('}') | None => {
                        inner += 1;
                        break;
                    }
                    Some(',') => inner += 1,
                    Some(_) => inner += use_tree(&group[inner..], path.clone(), out),
                }
            }
            return at + inner;
        }
        let name = ident_at(rest);
        if name.is_empty() {
            out.push(path);
            return at;
        }
        path.push(name.to_owned());
        at += name.len();
        if text[at..].starts_with("::") {
            at += 2;
        } else {
            // `as x`, `;`, `,`, `}` or anything else ends the path.
            let end = text[at..].find([',', '}', ';']).unwrap_or(text.len() - at);
            out.push(path);
            return at + end;
        }
    }
}

/// The top-level modules `text` refers to.
fn references(text: &str) -> BTreeSet<String> {
    crate_paths(text)
        .into_iter()
        .filter_map(|p| p.into_iter().next())
        .collect()
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
    assert!(graph.len() >= 8, "found the modules: {graph:?}");
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "module cycles in core (dependencies must point one way):\n{}",
        found.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// Inside each folder module (`local/`, `remote/`…): its children (files
/// and folders) form no cycle either.
#[test]
fn no_folder_has_a_module_cycle_inside() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let folder = entry.path();
        if !folder.is_dir() {
            continue;
        }
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let mut children: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        for child in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = child.path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if stem == "mod" {
                continue;
            }
            if path.is_dir() {
                rust_files(&path, children.entry(stem).or_default());
            } else {
                children.entry(stem).or_default().push(path);
            }
        }
        let graph: Graph = children
            .iter()
            .map(|(child, files)| {
                let uses = files
                    .iter()
                    .flat_map(|f| crate_paths(&std::fs::read_to_string(f).unwrap()))
                    .filter(|p| p.len() > 1 && p[0] == name)
                    .map(|p| p[1].clone())
                    .filter(|m| m != child && children.contains_key(m))
                    .collect();
                (child.clone(), uses)
            })
            .collect();
        let found = cycles(&graph);
        assert!(
            found.is_empty(),
            "module cycles in core's {name}/: {found:?}"
        );
        checked += 1;
    }
    assert!(checked >= 4, "checked {checked} folders");
}

#[test]
fn use_trees_are_expanded() {
    let text = "use crate::{local::{ledger::Ledger, lock}, format::name::BackupName as N};";
    let paths: Vec<String> = crate_paths(text).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        paths,
        [
            "local::ledger::Ledger",
            "local::lock",
            "format::name::BackupName"
        ]
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
