//! The layering of the library (ARCHITECTURE.md "The house"), checked on every test run.
//!
//! Reads every `src/**/*.rs`, finds each path that starts at the crate root (`crate::x`, also
//! inside `use crate::{x::…, y}` groups, and `super::` chains that climb to the root) and checks
//! that module `x` sits on a lower layer than the file's own top-level module. Comments are
//! skipped, so doc links do not count. A test rather than a Cargo workspace: the crate stays one
//! compile unit (one `cargo test`, no `pub` widening for crate-internal items), and the table
//! below is the single place that states the direction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level modules by layer: a module may import modules of any lower layer, never one of
/// its own layer or above.
const LAYERS: &[(&str, u8)] = &[
    ("main", 7),
    ("lib", 7),
    ("cli", 6),
    ("gateway", 5),
    ("authz", 4),
    ("upstream", 4),
    ("walk", 4),
    ("probe", 4),
    ("mock", 4),
    ("templates", 4),
    ("server_handler", 4),
    ("policies", 4),
    ("custom", 4),
    ("validate", 3),
    ("oauth", 3),
    ("mcp", 3),
    ("config", 2),
    ("store", 2),
    ("web", 2),
    ("diag", 1),
    ("net", 0),
    ("crypto", 1),
    ("clock", 1),
    ("client_metadata", 1),
    ("secret", 0),
];

/// The one-way exceptions between modules of one layer, each with its reason
/// (ARCHITECTURE.md names them too).
const EXCEPTIONS: &[(&str, &str, &str)] = &[(
    "authz",
    "upstream",
    "the consent page shows which upstreams still need a Connect (upstream::pending, §3.10)",
)];

/// What the tools may not use although it sits below them: they speak the protocols, they do
/// not share the gateway's state or rules (a test double must not share code with what it tests).
const TOOL_BANS: &[(&str, &[&str])] = &[
    ("mock", &["store", "validate", "config", "mcp"]),
    ("walk", &["store", "validate", "config"]),
    ("probe", &["store", "validate"]),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and string contents (a string may mention `crate::`).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r' && matches!(b.get(i + 1), Some(b'"') | Some(b'#')) {
            // raw string r"…" or r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' {
            // a char literal ('x', '\n', '"') or a lifetime ('a)
            let lit_end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|p| i + 2 + p)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(i + 2)
            } else {
                None
            };
            match lit_end {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = text[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The top-level module names a `crate::…` path starting at `rest` names.
fn roots_after_crate(rest: &str, out: &mut Vec<String>) {
    paths_after_crate(rest, 1, out)
}

/// The first `depth` segments of each path a `crate::…` (or `super::…`) path starting at
/// `rest` names, joined with `::`.
fn paths_after_crate(rest: &str, depth: usize, out: &mut Vec<String>) {
    let path_depth = depth;
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        // names at depth 0 of the group
        let mut depth = 0;
        let mut expecting = true;
        let mut chars = group.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => expecting = true,
                c if expecting && depth == 0 && is_ident(c) => {
                    let end = group[i..]
                        .find(|c: char| !is_ident(c))
                        .map_or(group.len(), |e| i + e);
                    out.push(leading_segments(&group[i..], path_depth));
                    expecting = false;
                    while chars.peek().is_some_and(|(j, _)| *j < end) {
                        chars.next();
                    }
                }
                _ => {}
            }
        }
    } else {
        out.push(leading_segments(rest, depth));
        out.retain(|p| !p.is_empty());
    }
}

/// Up to `depth` `::`-separated identifiers at the start of `rest`.
fn leading_segments(rest: &str, depth: usize) -> String {
    let mut segments = Vec::new();
    let mut tail = rest;
    while segments.len() < depth {
        let end = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
        if end == 0 {
            break;
        }
        segments.push(&tail[..end]);
        match tail[end..].strip_prefix("::") {
            Some(next) if next.starts_with(is_ident) => tail = next,
            _ => break,
        }
    }
    segments.join("::")
}

struct Import {
    file: String,
    from: String,
    to: String,
}

fn imports() -> Vec<Import> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).expect("under src");
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        let from = parts[0].clone();
        // how many `super`s reach the crate root from this file's module
        let depth = if parts.last().is_some_and(|p| p == "mod") {
            parts.len() - 1
        } else {
            parts.len()
        };
        let text = std::fs::read_to_string(&path).expect("source is readable");
        let code = code_only(&text);
        let mut targets = Vec::new();
        for (i, _) in code.match_indices("crate::") {
            if i > 0 && code[..i].ends_with(|c: char| is_ident(c) || c == '$') {
                continue; // `$crate::` in a macro, or a longer identifier
            }
            roots_after_crate(&code[i + "crate::".len()..], &mut targets);
        }
        if depth >= 1 {
            let climb = "super::".repeat(depth);
            for (i, _) in code.match_indices(&climb) {
                if i > 0 && code[..i].ends_with(':') {
                    continue; // part of a longer chain, counted at its start
                }
                roots_after_crate(&code[i + climb.len()..], &mut targets);
            }
        }
        for to in targets {
            if to != from && to != "self" {
                found.push(Import {
                    file: rel.display().to_string(),
                    from: from.clone(),
                    to,
                });
            }
        }
    }
    found
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src/") {
        let p = entry.expect("entry").path();
        let name = p
            .file_name()
            .expect("name")
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if layer(&name).is_none() {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "give these modules a layer in tests/layers.rs and ARCHITECTURE.md: {missing:?}"
    );
}

#[test]
fn imports_point_down_the_layers() {
    let mut wrong: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let all = imports();
    assert!(
        all.len() > 100,
        "the scanner found only {} cross-module imports: it is broken",
        all.len()
    );
    for i in &all {
        let (Some(from), Some(to)) = (layer(&i.from), layer(&i.to)) else {
            // an extern crate path such as `crate::` inside a macro of a dependency: not ours
            continue;
        };
        let excepted = EXCEPTIONS
            .iter()
            .any(|(a, b, _)| *a == i.from && *b == i.to);
        let banned = TOOL_BANS
            .iter()
            .any(|(tool, bans)| *tool == i.from && bans.contains(&i.to.as_str()));
        if (to >= from && !excepted) || banned {
            wrong
                .entry((i.from.clone(), i.to.clone()))
                .or_default()
                .push(i.file.clone());
        }
    }
    let report: Vec<String> = wrong
        .iter()
        .map(|((from, to), files)| {
            let mut files = files.clone();
            files.dedup();
            format!("{from} -> {to}: {}", files.join(", "))
        })
        .collect();
    assert!(
        report.is_empty(),
        "imports that point the wrong way (see ARCHITECTURE.md):\n{}",
        report.join("\n")
    );
}

/// The second-level modules (`gateway::proxy`, `authz::token`, …) and what each imports among
/// them: `crate::a::b` paths, and `super::b` from a file directly inside `a/`.
fn module_graph() -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(&src).expect("under src");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        let is_mod = parts.last().is_some_and(|p| p == "mod");
        if is_mod {
            parts.pop();
        }
        if parts.len() < 2 {
            continue; // a top-level file or folder root: its imports are checked by layer
        }
        let from = format!("{}::{}", parts[0], parts[1]);
        let code = code_only(&std::fs::read_to_string(&path).expect("readable"));
        let mut targets = Vec::new();
        for (i, _) in code.match_indices("crate::") {
            if i > 0 && code[..i].ends_with(|c: char| is_ident(c) || c == '$') {
                continue;
            }
            paths_after_crate(&code[i + "crate::".len()..], 2, &mut targets);
        }
        if parts.len() == 2 && !is_mod {
            for (i, _) in code.match_indices("super::") {
                if i > 0 && code[..i].ends_with(|c: char| is_ident(c) || c == ':') {
                    continue;
                }
                let mut local = Vec::new();
                paths_after_crate(&code[i + "super::".len()..], 1, &mut local);
                targets.extend(local.into_iter().map(|t| format!("{}::{t}", parts[0])));
            }
        }
        let entry = graph.entry(from.clone()).or_default();
        for t in targets {
            if t.contains("::") && t != from {
                entry.insert(t);
            }
        }
    }
    graph
}

#[test]
fn no_import_cycles_between_second_level_modules() {
    let graph = module_graph();
    assert!(
        graph.len() > 50,
        "the graph has only {} modules",
        graph.len()
    );
    // a cycle is an edge a -> b with a path back from b to a
    let reaches = |from: &str, to: &str| {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            if m == to {
                return true;
            }
            if seen.insert(m.clone())
                && let Some(next) = graph.get(&m)
            {
                todo.extend(next.iter().cloned());
            }
        }
        false
    };
    let mut cycles = Vec::new();
    for (a, targets) in &graph {
        for b in targets {
            if a < b && reaches(b, a) {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import each other (directly or through others):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn architecture_md_and_lib_rs_show_the_same_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let arch = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut documented = Vec::new();
    for line in arch.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(layer) = cells.get(1).and_then(|c| c.parse::<u8>().ok()) else {
            continue;
        };
        for m in cells.get(2).unwrap_or(&"").split(',') {
            documented.push((m.trim().trim_matches('`').to_string(), layer));
        }
    }
    let mut expected: Vec<(String, u8)> = LAYERS
        .iter()
        .filter(|(m, _)| !matches!(*m, "main" | "lib"))
        .map(|(m, l)| (m.to_string(), *l))
        .collect();
    expected.sort();
    documented.sort();
    assert_eq!(
        documented, expected,
        "the layer table in ARCHITECTURE.md and LAYERS in tests/layers.rs disagree"
    );
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    for (m, _) in &expected {
        assert!(
            lib.contains(&format!("[`{m}`]")) && lib.contains(&format!("pub mod {m};")),
            "src/lib.rs's module map does not describe `{m}`"
        );
    }
}

#[test]
fn the_scanner_reads_groups_chains_and_skips_comments_and_strings() {
    let mut out = Vec::new();
    roots_after_crate("{a::b, c, d::{e, f}, g as h}", &mut out);
    assert_eq!(out, ["a", "c", "d", "g"]);
    let mut two = Vec::new();
    paths_after_crate("{a::b::C, c, d::{e, f}}", 2, &mut two);
    assert_eq!(two, ["a::b", "c", "d"]);
    let code = code_only("// crate::x\nlet s = \"crate::y\"; let c = '\"'; crate::z::w");
    assert!(!code.contains("crate::x") && !code.contains("crate::y"));
    assert!(code.contains("crate::z::w"));
}
