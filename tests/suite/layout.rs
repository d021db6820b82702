//! The layers of `ARCHITECTURE.md`, checked on the source: every module of `src/` has its row
//! in the table, and no module's code (its unit tests aside) names a module of a layer above
//! its own. `crate::Error`, through the crate root, is the one arrow allowed to run up.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Each top-level module of the table, with its layer's rank from the bottom (0).
fn layers(architecture: &str) -> BTreeMap<String, usize> {
    let table = architecture
        .split("## Layers")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("ARCHITECTURE.md has a Layers section");
    let rows = table
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| layer"));
    let mut modules = BTreeMap::new();
    for (rank, row) in rows.enumerate() {
        let cell = row.split('|').nth(2).expect("a row names its modules");
        for name in cell.split('`').skip(1).step_by(2) {
            modules.insert(name.trim_end_matches('/').to_owned(), rank);
        }
    }
    modules
}

/// The `.rs` files under `dir`, each with the top-level module it belongs to.
fn sources(dir: &Path, top: Option<&str>, out: &mut Vec<(String, PathBuf)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let module = top.map_or(name.clone(), str::to_owned);
        if path.is_dir() {
            sources(&path, Some(&module), out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push((module, path));
        }
    }
}

/// The code of a file without its unit tests: a `tests.rs` file is all tests, and a
/// `#[cfg(test)] mod tests` runs to the file's end.
fn code_of(path: &Path) -> String {
    if path.file_name().is_some_and(|name| name == "tests.rs") {
        return String::new();
    }
    let text = fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The top-level modules `code` names as `crate::name`.
fn named(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .map(|(at, prefix)| {
            code[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn every_module_has_its_layer_and_imports_none_above_it() {
    let architecture = fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let layers = layers(&architecture);
    assert!(layers.len() > 20, "the table was not read: {layers:?}");
    let mut files = Vec::new();
    sources(&root().join("src"), None, &mut files);
    let mut unplaced = Vec::new();
    let mut upward = Vec::new();
    for (module, path) in &files {
        if module == "lib" {
            continue;
        }
        let Some(&rank) = layers.get(module) else {
            unplaced.push(module.clone());
            continue;
        };
        for name in named(&code_of(path)) {
            if layers.get(&name).is_some_and(|&above| above > rank) {
                upward.push(format!("{} imports crate::{name}", path.display()));
            }
        }
    }
    unplaced.dedup();
    assert!(unplaced.is_empty(), "modules without a row: {unplaced:?}");
    upward.sort();
    upward.dedup();
    assert!(
        upward.is_empty(),
        "imports running up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_check_sees_an_import_running_up() {
    let layers = layers(
        "## Layers\n\n| layer | modules |\n|---|---|\n| low | `a`, `b/` |\n| high | `c` |\n\n## Next\n",
    );
    assert_eq!(layers.get("b"), Some(&0));
    assert_eq!(layers.get("c"), Some(&1));
    let code = "use crate::Error;\nuse crate::c::Thing;\nfn f() { crate::b::g() }";
    assert_eq!(named(code), ["c", "b"].map(String::from));
}
