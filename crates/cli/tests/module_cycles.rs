//! Every crate's modules depend on each other without cycles: every
//! `crate::` and `super::` path in a crate's `src/` is an edge from the
//! file's module to the module it names, and no module reaches itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The workspace's crates' source directories.
fn crates() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("read crates/")
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Module path (`oops::stall`, `` for the crate root) → source text, test
/// modules cut off.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let src = src.to_owned();
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path.strip_prefix(&src).expect("under src");
            let rel = rel.to_string_lossy().replace('\\', "/");
            let Some(stem) = rel.strip_suffix(".rs") else {
                continue;
            };
            let module = match stem {
                "lib" => String::new(),
                s => s.trim_end_matches("/mod").replace('/', "::"),
            };
            let text = std::fs::read_to_string(&path).expect("read source");
            // Unit tests reach their own module through `super::*`; a
            // comment's link to another module is no dependency.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let text: String = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .map(|l| format!("{l}\n"))
                .collect();
            found.insert(module, text);
        }
    }
    found
}

/// The module a path's segments name: the longest prefix that is one.
fn resolve(segments: &[&str], known: &BTreeSet<String>) -> Option<String> {
    (0..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|m| known.contains(m))
}

/// Every module `module`'s text refers to, itself left out.
fn edges(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent: Vec<&str> = match module.rsplit_once("::") {
        Some((p, _)) => p.split("::").collect(),
        None => Vec::new(),
    };
    let mut out = BTreeSet::new();
    for (at, _) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        let before = text[..at].chars().last().unwrap_or(' ');
        if before.is_alphanumeric() || before == '_' {
            continue;
        }
        let path: String = text[at..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let base: Vec<&str> = if segments.first() == Some(&"super") {
            segments.remove(0);
            parent.clone()
        } else {
            segments.remove(0);
            Vec::new()
        };
        let full: Vec<&str> = base.into_iter().chain(segments).collect();
        if let Some(target) = resolve(&full, known).filter(|t| t != module) {
            out.insert(target);
        }
    }
    out
}

/// A cycle through `start`, if any, as the modules along it.
fn cycle_from(start: &str, graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

/// A crate's module graph.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(m, text)| (m.clone(), edges(m, text, &known)))
        .collect()
}

#[test]
fn no_module_reaches_itself() {
    let crates = crates();
    assert!(crates.len() >= 9, "{crates:?}");
    // The edges are read: a module known to use another is seen to.
    let report = graph(crates.iter().find(|c| c.ends_with("report/src")).unwrap());
    assert!(
        report["oops::extract"].contains("oops::trace"),
        "{report:?}"
    );
    let mut cycles = Vec::new();
    for src in &crates {
        let graph = graph(src);
        cycles.extend(
            graph
                .keys()
                .filter_map(|m| cycle_from(m, &graph))
                .map(|c| format!("{}: {}", src.display(), c.join(" -> "))),
        );
    }
    assert!(cycles.is_empty(), "module cycles: {cycles:#?}");
}

#[test]
fn the_checker_sees_a_cycle() {
    let known: BTreeSet<String> = ["", "a", "b"].iter().map(|s| s.to_string()).collect();
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), edges("a", "use super::b::f;", &known));
    graph.insert("b".to_string(), edges("b", "crate::a::g()", &known));
    assert_eq!(
        cycle_from("a", &graph),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}
