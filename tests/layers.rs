//! The house's walls (ARCHITECTURE.md): which room of `src/` may import which. A room is a top-level
//! module (`src/x.rs` or `src/x/`); an arrow is any `crate::x` path in a room's code. These tests fail
//! when an arrow runs up the layer list or closes a ring of rooms (naming the file and line), or when
//! `crate::` paths close a ring of files anywhere but inside `api/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top first. A room may import rooms of its own layer or below, never above.
const LAYERS: &[&[&str]] = &[
    &["main", "lib"],
    &["cli", "server"],
    &["api"],
    &["state", "maintenance", "connections"],
    &["services"],
    &["envelope"],
    &["dispatch", "exotel"],
    &["store", "throttle"],
    &["batch", "config", "telemetry"],
    &["crypto", "domain"],
];

/// Rooms that may import no other room at all: the vocabulary everything else speaks.
const LEAVES: &[&str] = &["domain", "batch"];

fn layer_of(room: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&room))
        .unwrap_or_else(|| panic!("room {room:?} is in no layer: add it to LAYERS and to ARCHITECTURE.md"))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The room of a file: `src/store/apps.rs` → `store`, `src/server.rs` → `server`.
fn room_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative.components().next().expect("a component").as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// (room it imports, line number, line) for each `crate::room` path in `text`, comments skipped.
fn arrows(text: &str) -> Vec<(String, usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.push((name, number + 1, line.trim().to_string()));
            }
            rest = after;
        }
    }
    found
}

struct Arrow {
    from: String,
    to: String,
    at: String,
}

fn all_arrows() -> Vec<Arrow> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut all = Vec::new();
    for file in files {
        let from = room_of(&src, &file);
        let text = std::fs::read_to_string(&file).expect("readable");
        for (to, line, code) in arrows(&text) {
            if to != from {
                let at = format!("{}:{line}: {code}", file.strip_prefix(&src).unwrap().display());
                all.push(Arrow { from: from.clone(), to, at });
            }
        }
    }
    all
}

#[test]
fn no_room_imports_a_room_above_it() {
    let upward: Vec<String> = all_arrows()
        .into_iter()
        .filter(|a| layer_of(&a.to) < layer_of(&a.from))
        .map(|a| format!("{} → {} at {}", a.from, a.to, a.at))
        .collect();
    assert!(upward.is_empty(), "arrows running up the layers:\n{}", upward.join("\n"));
}

#[test]
fn the_leaves_import_no_other_room() {
    let out: Vec<String> = all_arrows()
        .into_iter()
        .filter(|a| LEAVES.contains(&a.from.as_str()))
        .map(|a| format!("{} → {} at {}", a.from, a.to, a.at))
        .collect();
    assert!(out.is_empty(), "leaf rooms importing others:\n{}", out.join("\n"));
}

#[test]
fn no_two_rooms_import_each_other_through_any_ring() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for arrow in all_arrows() {
        edges.entry(arrow.from).or_default().insert(arrow.to);
    }
    // A ring exists when a room reaches itself.
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((room, path)) = stack.pop() {
            for next in edges.get(&room).into_iter().flatten() {
                if next == start {
                    panic!("an import ring: {} → {start}", path.join(" → "));
                }
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
}

/// The file a `crate::a::b::…` path names: the deepest module file along it (`src/a/b.rs`,
/// `src/a/b/mod.rs`, `src/a.rs`, `src/a/mod.rs`), or `None` for a path into `lib.rs` itself.
fn file_of(src: &Path, path: &str) -> Option<PathBuf> {
    let mut dir = src.to_path_buf();
    let mut found = None;
    for segment in path.split("::") {
        let file = dir.join(format!("{segment}.rs"));
        let folder = dir.join(segment);
        if file.is_file() {
            found = Some(file);
        } else if folder.join("mod.rs").is_file() {
            found = Some(folder.join("mod.rs"));
        } else {
            break;
        }
        dir = folder;
    }
    found
}

/// (file, files it names by `crate::` paths) for every file of `src/`.
fn file_arrows() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let mut targets = BTreeSet::new();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                let after = &rest[at + "crate::".len()..];
                let path: String =
                    after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
                if let Some(target) = file_of(&src, path.trim_end_matches(':')) {
                    if target != file {
                        targets.insert(target.strip_prefix(&src).unwrap().to_path_buf());
                    }
                }
                rest = after;
            }
        }
        edges.insert(file.strip_prefix(&src).unwrap().to_path_buf(), targets);
    }
    edges
}

#[test]
fn no_import_ring_among_files_outside_api() {
    let edges = file_arrows();
    let in_api = |file: &Path| file.starts_with("api");
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(PathBuf, Vec<PathBuf>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((file, path)) = stack.pop() {
            for next in edges.get(&file).into_iter().flatten() {
                if next == start && !path.iter().all(|f| in_api(f)) {
                    let ring: Vec<String> = path.iter().map(|f| f.display().to_string()).collect();
                    panic!("an import ring: {} → {}", ring.join(" → "), start.display());
                }
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
}

#[test]
fn the_scanner_sees_paths_in_use_lines_and_in_code_but_not_in_comments() {
    let text = "use crate::store::Store;\n// crate::api is only mentioned\nlet x = crate::domain::time::now_ms();";
    let rooms: Vec<String> = arrows(text).into_iter().map(|(room, _, _)| room).collect();
    assert_eq!(rooms, ["store", "domain"]);
}
