//! Misuse that must not compile: comparing, cloning or printing secrets, calling a transition
//! in the wrong state or twice, building an engine without its parts, forging a state or a
//! payment. Each case in `tests/compile_fail/` names the error code it must fail with, and a
//! legal twin in `tests/compile_pass/` must compile, so that no case fails for a mistake in its
//! setup.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// Builds `source` as the `main.rs` of a small crate that depends on this one; returns whether
/// it compiled, and the compiler's messages.
fn build(name: &str, source: &Path) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target").join("compile-cases").join(name);
    fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"case-{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\nbuyster = {{ path = {:?} }}\n\n[workspace]\n",
        name.replace('_', "-"),
        root
    );
    fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    fs::copy(source, dir.join("src").join("main.rs")).unwrap();
    let output = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env(
            "CARGO_TARGET_DIR",
            root.join("target").join("compile-cases-target"),
        )
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn cases(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(folder);
    let mut cases: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    cases
}

#[test]
fn misuse_does_not_compile() {
    let (ok, errors) = build("legal_calls", &cases("compile_pass")[0]);
    assert!(ok, "the legal twin must compile:\n{errors}");

    let cases = cases("compile_fail");
    assert!(cases.len() >= 10);
    for case in cases {
        let source = fs::read_to_string(&case).unwrap();
        let code = source
            .lines()
            .find_map(|line| line.strip_prefix("//! error: "))
            .unwrap_or_else(|| panic!("{case:?} names no error code"));
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let (ok, errors) = build(&name, &case);
        assert!(!ok, "{name} compiled, but must not");
        assert!(
            errors.contains(&format!("error[{code}]")),
            "{name} must fail with {code}, got:\n{errors}"
        );
    }
}
