//! The layout rules ARCHITECTURE.md states, checked on the source text:
//! the engine stays pure (no other module of the crate, no async runtime,
//! no HTTP types), `config` stays a leaf, and no two top-level modules
//! import each other through any path.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file of a module: `src/NAME.rs` or everything under
/// `src/NAME/`.
fn files(src: &Path, module: &str) -> Vec<PathBuf> {
    let file = src.join(format!("{module}.rs"));
    if file.exists() {
        return vec![file];
    }
    let mut out = Vec::new();
    let mut stack = vec![src.join(module)];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// Code lines of a module (comment lines left out: doc links are not
/// imports).
fn code_lines(src: &Path, module: &str) -> Vec<String> {
    files(src, module)
        .iter()
        .flat_map(|f| fs::read_to_string(f).unwrap().lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect()
}

/// The top-level modules a module names as `crate::NAME`.
fn imports(src: &Path, module: &str, all: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code_lines(src, module) {
        let mut rest = line.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String =
                rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if name != module && all.contains(&name) {
                out.insert(name);
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: BTreeSet<String> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_string())
        .filter(|m| m != "lib" && m != "main")
        .collect();
    modules.iter().map(|m| (m.clone(), imports(&src, m, &modules))).collect()
}

#[test]
fn detect_is_pure() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph();
    assert!(g["detect"].is_empty(), "detect imports {:?}", g["detect"]);
    for line in code_lines(&src, "detect") {
        for forbidden in ["tokio", "hyper", "http::", "http_body", "std::net", "std::fs"] {
            assert!(!line.contains(forbidden), "detect uses {forbidden}: {line}");
        }
    }
}

#[test]
fn config_is_a_leaf() {
    let g = graph();
    assert!(g["config"].is_empty(), "config imports {:?}", g["config"]);
}

#[test]
fn no_import_cycles() {
    let g = graph();
    // Depth-first search with colours; a grey node reached again closes a
    // cycle, which the message spells out.
    fn visit<'a>(
        g: &'a BTreeMap<String, BTreeSet<String>>,
        m: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(i) = path.iter().position(|p| *p == m) {
            panic!("import cycle: {} -> {m}", path[i..].join(" -> "));
        }
        path.push(m);
        for d in &g[m] {
            visit(g, d, path, done);
        }
        path.pop();
        done.insert(m);
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        visit(&g, m, &mut Vec::new(), &mut done);
    }
}
