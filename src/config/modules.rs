//! Custom code modules (`$import(./modules/…)`, SPEC §17) read without running them.
//!
//! Owns: where the Node worker finds a module's file (§17.4 resolution: extensionless → `.ts`,
//! then `/index.ts`; `.ts`/`.mts`/`.js`/`.mjs` as written), and which names that file exports,
//! with the parameter count of exported functions where the source shows it. It is a small
//! JavaScript/TypeScript tokenizer (comments, strings, template literals and regular
//! expressions skipped), not a parser: when a name might be exported in a way it does not
//! follow (`export *` from a package, a nested `export *`), the export list says it is
//! incomplete, so rules stay quiet rather than guess. Type-only exports (`export type`,
//! `export interface`, `export declare`) are not runtime exports and are left out.

use super::project::{self, LoadError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Extensions a module reference may carry; any other reference gets `.ts` or `/index.ts`.
pub const SOURCE_EXTENSIONS: [&str; 4] = [".ts", ".mts", ".js", ".mjs"];

/// At most this many `export * from` targets are read per module.
const MAX_STAR_FOLLOWS: usize = 16;

/// Forward scans that are not bracket matching (a type annotation, `<…>`) look at most this
/// many tokens, so that no input makes scanning quadratic.
const MAX_SCAN: usize = 256;

/// The relative path of a custom module reference: `$import(./modules/x)` → `./modules/x`.
/// `None` for package imports (`$import(@zuplo/runtime)`) and other values.
pub fn import_spec(module: &str) -> Option<&str> {
    let spec = module.strip_prefix("$import(")?.strip_suffix(')')?.trim();
    (spec.starts_with("./") || spec.starts_with("../")).then_some(spec)
}

/// The files the worker tries for `spec`, in order, each with its display path
/// (`base_display` joined with the spec, e.g. `modules/x.ts`).
pub fn candidates(base: &Path, base_display: &str, spec: &str) -> Vec<(PathBuf, String)> {
    let display = join_display(base_display, spec);
    if SOURCE_EXTENSIONS.iter().any(|e| spec.ends_with(e)) {
        return vec![(base.join(spec), display)];
    }
    let spec = spec.trim_end_matches('/');
    let display = display.trim_end_matches('/');
    vec![
        (base.join(format!("{spec}.ts")), format!("{display}.ts")),
        (
            base.join(format!("{spec}/index.ts")),
            format!("{display}/index.ts"),
        ),
    ]
}

/// `modules` + `./util` → `modules/util`; `modules/a` + `../b` → `modules/b`, as text (for
/// messages; the file system path is joined separately).
fn join_display(base: &str, spec: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for seg in spec.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let mut out = parts.join("/");
    if spec.ends_with('/') {
        out.push('/');
    }
    out
}

/// Why a module's exports could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModuleError {
    /// No candidate file exists; `tried` are display paths relative to the project root.
    #[error("no such file (tried {})", tried.join(", "))]
    NotFound { tried: Vec<String> },
    /// The file exists but cannot be read as project text.
    #[error("{path} {reason}")]
    Unreadable { path: String, reason: String },
}

/// A parameter list as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Declared parameters, a rest parameter included (`this:` of TypeScript excluded).
    pub count: usize,
    /// Whether the last one is `...rest`.
    pub rest: bool,
}

/// One runtime export of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    /// The parameters, when the export is visibly a function.
    pub params: Option<Params>,
}

/// What a module file exports, as far as its source shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleExports {
    /// The file read, relative to the project root (`modules/x.ts`).
    pub path: String,
    pub exports: Vec<Export>,
    /// False when some exports could not be followed (`export *` from a package or a file that
    /// is not there, a nested `export *`, `export =`): a name missing from `exports` may still
    /// exist.
    pub complete: bool,
}

impl ModuleExports {
    pub fn get(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.exports.iter().map(|e| e.name.as_str()).collect()
    }
}

/// Resolves `spec` (relative to the project root, as written after `$import(`) the way the
/// worker does and reads the exports of the file it finds, following `export * from` one
/// level for relative paths.
pub fn read_module(root: &Path, spec: &str) -> Result<ModuleExports, ModuleError> {
    let (path, display, text) = find_and_read(root, "", spec)?;
    let scanned = scan(&text);
    let mut exports = scanned.exports;
    let mut complete = scanned.complete;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir_display = display.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    for (n, star) in scanned.star_from.iter().enumerate() {
        let relative = star.starts_with("./") || star.starts_with("../");
        if !relative || n >= MAX_STAR_FOLLOWS {
            complete = false;
            continue;
        }
        let Ok((_, _, text)) = find_and_read(&dir, &dir_display, star) else {
            complete = false;
            continue;
        };
        let inner = scan(&text);
        complete &= inner.complete && inner.star_from.is_empty();
        // `export *` never re-exports `default`
        for e in inner.exports.into_iter().filter(|e| e.name != "default") {
            add(&mut exports, e);
        }
    }
    Ok(ModuleExports {
        path: display,
        exports,
        complete,
    })
}

fn find_and_read(
    base: &Path,
    base_display: &str,
    spec: &str,
) -> Result<(PathBuf, String, String), ModuleError> {
    let candidates = candidates(base, base_display, spec);
    for (path, display) in &candidates {
        let unreadable = |reason: String| ModuleError::Unreadable {
            path: display.clone(),
            reason,
        };
        match project::read_optional(path) {
            Ok(Some(text)) => return Ok((path.clone(), display.clone(), text)),
            Ok(None) => {}
            // a folder named like the module (`modules/x` for `./modules/x`) is not the module:
            // `modules/x.ts` / `modules/x/index.ts` are tried instead
            Err(LoadError::NotAFile {
                kind: "a folder", ..
            }) => {}
            Err(LoadError::NotAFile { kind, .. }) => {
                return Err(unreadable(format!("is {kind}, not a regular file")));
            }
            Err(LoadError::TooLarge { limit, .. }) => {
                return Err(unreadable(format!(
                    "is larger than {limit} bytes, the most mcpgw reads from one project file"
                )));
            }
            Err(LoadError::NotUtf8(_)) => return Err(unreadable("is not UTF-8 text".into())),
            Err(LoadError::Io { source, .. }) => {
                return Err(unreadable(format!("cannot be read: {source}")));
            }
            Err(e @ (LoadError::NotFound(_) | LoadError::NotAProject(_))) => {
                return Err(unreadable(format!("cannot be read: {e}")));
            }
        }
    }
    Err(ModuleError::NotFound {
        tried: candidates.into_iter().map(|(_, d)| d).collect(),
    })
}

/// Folder levels and files [`source_files`] looks at, at most.
const MAX_WATCH_DEPTH: usize = 8;
const MAX_WATCH_FILES: usize = 10_000;

/// The module source files under `<root>/modules` (`.ts`, `.mts`, `.js`, `.mjs`, sorted),
/// for a watcher that must notice when a module appears, changes or goes (a finding of
/// MCP115/MCP116 clears only when the project is read again). Hidden folders and
/// `node_modules` are skipped; depth and count are capped.
pub fn source_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![(root.join("modules"), 0usize)];
    while let Some((dir, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if out.len() >= MAX_WATCH_FILES {
                break;
            }
            let name = e.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                if depth < MAX_WATCH_DEPTH && !name.starts_with('.') && name != "node_modules" {
                    pending.push((e.path(), depth + 1));
                }
            } else if SOURCE_EXTENSIONS.iter().any(|x| name.ends_with(x)) {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn add(exports: &mut Vec<Export>, e: Export) {
    match exports.iter_mut().find(|x| x.name == e.name) {
        Some(x) => {
            if x.params.is_none() {
                x.params = e.params;
            }
        }
        None => exports.push(e),
    }
}

/// What one file's source says it exports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    pub exports: Vec<Export>,
    /// Specifiers of `export * from "…"` (without `as`), not yet followed.
    pub star_from: Vec<String>,
    /// False when an export form was seen that this scanner does not follow.
    pub complete: bool,
}

/// The identifiers in `text` outside comments, strings, template literals and regular
/// expressions (e.g. to see which runtime hooks `zuplo.runtime.ts` uses).
pub fn identifiers(text: &str) -> Vec<&str> {
    lex(text)
        .into_iter()
        .filter_map(|t| match t.tok {
            Tok::Ident(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// Scans one file's source for its runtime exports.
pub fn scan(text: &str) -> Scan {
    let toks = lex(text);
    let depths = depths(&toks);
    let mut out = Scan {
        complete: true,
        ..Scan::default()
    };
    // functions declared at the top level, for `export { f }` and `export default f`
    let mut locals: HashMap<&str, Params> = HashMap::new();
    // (exported name, local name) whose parameters come from `locals`
    let mut aliases: Vec<(String, String)> = Vec::new();
    let top = |i: usize| depths.get(i) == Some(&0);
    for i in 0..toks.len() {
        if !top(i) {
            continue;
        }
        if let Some((name, params)) = local_function(&toks, i) {
            locals.entry(name).or_insert(params);
        }
        let after_dot = i > 0 && toks.get(i - 1).is_some_and(|t| t.is_punct("."));
        if toks[i].is_ident("export") && !after_dot {
            export_statement(&toks, i + 1, &mut out, &mut aliases);
        }
    }
    for (exported, local) in aliases {
        if let Some(p) = locals.get(local.as_str())
            && let Some(e) = out.exports.iter_mut().find(|e| e.name == exported)
            && e.params.is_none()
        {
            e.params = Some(*p);
        }
    }
    out
}

/// `function NAME(` / `async function NAME(` / `const NAME = <function>` at `i`.
fn local_function<'a>(toks: &[Token<'a>], i: usize) -> Option<(&'a str, Params)> {
    let mut j = i;
    if tok_is_ident(toks, j, "async") {
        j += 1;
    }
    if tok_is_ident(toks, j, "function") {
        j += 1;
        if toks.get(j).is_some_and(|t| t.is_punct("*")) {
            j += 1;
        }
        let name = ident_at(toks, j)?;
        let (params, _) = params_from(toks, j + 1)?;
        return Some((name, params));
    }
    if j == i
        && ["const", "let", "var"]
            .iter()
            .any(|k| tok_is_ident(toks, i, k))
    {
        let name = ident_at(toks, i + 1)?;
        let init = initializer(toks, i + 2)?;
        return Some((name, function_params(toks, init)?));
    }
    None
}

/// One `export …` statement starting at `k` (the token after `export`).
fn export_statement(
    toks: &[Token<'_>],
    k: usize,
    out: &mut Scan,
    aliases: &mut Vec<(String, String)>,
) {
    let Some(first) = toks.get(k) else { return };
    let push = |out: &mut Scan, name: &str, params: Option<Params>| {
        add(
            &mut out.exports,
            Export {
                name: name.to_string(),
                params,
            },
        );
    };
    match &first.tok {
        Tok::Ident("default") => {
            // `export default interface X {}` is a type
            if tok_is_ident(toks, k + 1, "interface") {
                return;
            }
            let params = function_params(toks, k + 1);
            push(out, "default", params);
            // `export default handler;` takes the parameters of the local `handler`
            if params.is_none()
                && let Some(local) = ident_at(toks, k + 1)
                && toks
                    .get(k + 2)
                    .is_none_or(|t| t.is_punct(";") || t.nl_before)
            {
                aliases.push(("default".into(), local.into()));
            }
        }
        Tok::Ident("type" | "interface" | "declare") => {}
        Tok::Ident("async" | "function") => {
            if let Some((name, params)) = local_function(toks, k) {
                push(out, name, Some(params));
            } else if let Some(name) = declared_name(toks, k) {
                push(out, name, None);
            }
        }
        // `export const enum E {}` declares E
        Tok::Ident("const") if tok_is_ident(toks, k + 1, "enum") => {
            if let Some(name) = declared_name(toks, k) {
                push(out, name, None);
            }
        }
        Tok::Ident("const" | "let" | "var") => variable_exports(toks, k, out),
        Tok::Ident("class" | "abstract" | "enum" | "namespace" | "module" | "import") => {
            if let Some(name) = declared_name(toks, k) {
                push(out, name, None);
            }
        }
        Tok::Punct("{") => {
            let Some(close) = matching(toks, k) else {
                out.complete = false;
                return;
            };
            let from = tok_is_ident(toks, close + 1, "from");
            for item in toks[k + 1..close].split(|t| t.is_punct(",")) {
                let Some((exported, local)) = list_item(item) else {
                    continue;
                };
                push(out, &exported, None);
                if !from {
                    aliases.push((exported, local));
                }
            }
        }
        Tok::Punct("*") => {
            if tok_is_ident(toks, k + 1, "as") {
                if let Some(name) = name_at(toks, k + 2) {
                    push(out, &name, None);
                }
            } else if tok_is_ident(toks, k + 1, "from")
                && let Some(Tok::Str(spec)) = toks.get(k + 2).map(|t| &t.tok)
            {
                out.star_from.push(spec.clone());
            } else {
                out.complete = false;
            }
        }
        // `export = x` (CommonJS-style TypeScript) and anything unforeseen
        _ => out.complete = false,
    }
}

/// `export const a = …, b = …` and destructuring `export const { a, b: c } = …`.
fn variable_exports(toks: &[Token<'_>], k: usize, out: &mut Scan) {
    let mut j = k + 1;
    let Some(t) = toks.get(j) else { return };
    if t.is_punct("{") || t.is_punct("[") {
        // every identifier of the pattern counts: too many names only makes rules lenient
        if let Some(close) = matching(toks, j) {
            for t in &toks[j + 1..close] {
                if let Tok::Ident(name) = t.tok {
                    add(
                        &mut out.exports,
                        Export {
                            name: name.into(),
                            params: None,
                        },
                    );
                }
            }
        } else {
            out.complete = false;
        }
        return;
    }
    // declarators: NAME [: T] [= init] { , NAME [: T] [= init] } up to the statement's end
    loop {
        let Some(name) = ident_at(toks, j) else {
            return;
        };
        let params = initializer(toks, j + 1).and_then(|init| function_params(toks, init));
        add(
            &mut out.exports,
            Export {
                name: name.into(),
                params,
            },
        );
        match next_declarator(toks, j + 1) {
            Some(n) => j = n,
            None => return,
        }
    }
}

/// After a declarator's name at `from`: the index of the next declarator's name, if a
/// top-level `,` followed by `NAME =`, `NAME :`, `NAME ,` or `NAME ;` comes before the
/// statement ends. (A comma inside `Map<K, V>` may be taken for one: extra names only make the
/// rules more lenient.)
fn next_declarator(toks: &[Token<'_>], from: usize) -> Option<usize> {
    let mut j = from;
    while let Some(t) = toks.get(j) {
        // `export` at the top level always starts the next statement
        if j > from && (t.is_ident("export") || (t.nl_before && starts_statement(t))) {
            return None;
        }
        match &t.tok {
            // a bracketed part cannot end the declarator: skip it whole
            Tok::Punct("(" | "[" | "{") => {
                j = t.mate?;
            }
            Tok::Punct(")" | "]" | "}" | ";") => return None,
            Tok::Punct(",")
                if ident_at(toks, j + 1).is_some()
                    && toks.get(j + 2).is_none_or(|n| {
                        ["=", ":", ",", ";"].iter().any(|p| n.is_punct(p)) || n.nl_before
                    }) =>
            {
                return Some(j + 1);
            }
            _ => {}
        }
        j += 1;
    }
    None
}

fn starts_statement(t: &Token<'_>) -> bool {
    matches!(
        t.tok,
        Tok::Ident(
            "export"
                | "import"
                | "const"
                | "let"
                | "var"
                | "function"
                | "class"
                | "async"
                | "interface"
                | "type"
                | "enum"
                | "declare"
                | "if"
                | "for"
                | "while"
                | "return"
        )
    )
}

/// `a`, `a as b`, `default as b`, `"x" as y`, `type A` (skipped) → (exported, local).
fn list_item(item: &[Token<'_>]) -> Option<(String, String)> {
    let item = match item {
        [t, rest @ ..] if t.is_ident("type") && !rest.is_empty() && !rest[0].is_ident("as") => {
            return None;
        }
        i => i,
    };
    let local = name_at(item, 0)?;
    let exported = if tok_is_ident(item, 1, "as") {
        name_at(item, 2)?
    } else {
        local.clone()
    };
    Some((exported, local))
}

/// The name declared after `class`, `abstract class`, `enum`, `const enum`, `function`, ….
fn declared_name<'a>(toks: &[Token<'a>], k: usize) -> Option<&'a str> {
    const LEADING: [&str; 9] = [
        "abstract",
        "class",
        "enum",
        "const",
        "namespace",
        "module",
        "import",
        "async",
        "function",
    ];
    let mut j = k;
    while toks
        .get(j)
        .is_some_and(|t| LEADING.iter().any(|w| t.is_ident(w)) || t.is_punct("*"))
    {
        j += 1;
    }
    ident_at(toks, j)
}

/// After `NAME` of a declarator: skips `!` and a type annotation and returns the index of the
/// initializer (the token after `=`).
fn initializer(toks: &[Token<'_>], from: usize) -> Option<usize> {
    let mut j = from;
    if toks.get(j).is_some_and(|t| t.is_punct("!")) {
        j += 1;
    }
    if toks.get(j)?.is_punct("=") {
        return Some(j + 1);
    }
    if !toks.get(j)?.is_punct(":") {
        return None;
    }
    // the annotation ends at a top-level `=` that is not part of `=>`
    let mut angle = 0usize;
    j += 1;
    for _ in 0..MAX_SCAN {
        let t = toks.get(j)?;
        match &t.tok {
            // a bracketed part of the type is skipped whole
            Tok::Punct("(" | "[" | "{") => j = t.mate?,
            Tok::Punct(")" | "]" | "}") | Tok::Ident("export") => return None,
            Tok::Punct("<") => angle += 1,
            Tok::Punct(">") => angle = angle.checked_sub(1)?,
            Tok::Punct("=") if angle == 0 => return Some(j + 1),
            Tok::Punct(";" | ",") if angle == 0 => return None,
            _ => {}
        }
        j += 1;
    }
    None
}

/// The parameters of a function expression starting at `k`: `function [*] [NAME] (…)`,
/// `async …`, `(…) =>`, `(…): T =>`, `<T>(…) =>`, `x =>`.
fn function_params(toks: &[Token<'_>], k: usize) -> Option<Params> {
    let mut j = k;
    if tok_is_ident(toks, j, "async") && !toks.get(j + 1).is_some_and(|t| t.is_punct("=>")) {
        j += 1;
    }
    if tok_is_ident(toks, j, "function") {
        j += 1;
        if toks.get(j).is_some_and(|t| t.is_punct("*")) {
            j += 1;
        }
        if ident_at(toks, j).is_some() {
            j += 1;
        }
        return params_from(toks, j).map(|(p, _)| p);
    }
    // a single parameter without parentheses
    if ident_at(toks, j).is_some() && toks.get(j + 1).is_some_and(|t| t.is_punct("=>")) {
        return Some(Params {
            count: 1,
            rest: false,
        });
    }
    if toks.get(j).is_some_and(|t| t.is_punct("<")) {
        j = matching(toks, j)? + 1;
    }
    let (params, close) = params_from(toks, j)?;
    // an arrow function, not a parenthesised expression: `=>` follows, maybe after `: Type`
    let next = toks.get(close + 1)?;
    if next.is_punct("=>") {
        return Some(params);
    }
    if next.is_punct(":") {
        let mut depth = 0usize;
        for t in toks.get(close + 2..)?.iter().take(256) {
            match &t.tok {
                Tok::Punct("=>") if depth == 0 => return Some(params),
                Tok::Punct("(" | "[" | "{" | "<") => depth += 1,
                Tok::Punct(")" | "]" | "}" | ">") => depth = depth.checked_sub(1)?,
                Tok::Punct(";" | ",") if depth == 0 => return None,
                _ => {}
            }
        }
    }
    None
}

/// The parameter list opening at `open`: its parameters and the index of its `)`.
fn params_from(toks: &[Token<'_>], open: usize) -> Option<(Params, usize)> {
    if !toks.get(open)?.is_punct("(") {
        return None;
    }
    let close = matching(toks, open)?;
    let inner = &toks[open + 1..close];
    // commas at the top of the list separate parameters; `<…>` of type arguments nest, a `>`
    // with nothing open (a comparison in a default value) is ignored
    let mut depth = 0usize;
    let mut params: Vec<&[Token<'_>]> = Vec::new();
    let mut start = 0;
    for (n, t) in inner.iter().enumerate() {
        match &t.tok {
            Tok::Punct("(" | "[" | "{" | "<") => depth += 1,
            Tok::Punct(")" | "]" | "}" | ">") => depth = depth.saturating_sub(1),
            Tok::Punct(",") if depth == 0 => {
                params.push(&inner[start..n]);
                start = n + 1;
            }
            _ => {}
        }
    }
    params.push(&inner[start..]);
    params.retain(|p| !p.is_empty());
    // TypeScript's `this: T` declares the receiver, not a parameter
    if params
        .first()
        .is_some_and(|p| p[0].is_ident("this") && p.get(1).is_some_and(|t| t.is_punct(":")))
    {
        params.remove(0);
    }
    let rest = params.last().is_some_and(|p| p[0].is_punct("..."));
    Some((
        Params {
            count: params.len(),
            rest,
        },
        close,
    ))
}

/// The index of the token closing the bracket opened at `open` (`(`, `[`, `{` or `<`).
fn matching(toks: &[Token<'_>], open: usize) -> Option<usize> {
    let (o, c) = match toks.get(open)?.tok {
        Tok::Punct("(") => ("(", ")"),
        Tok::Punct("[") => ("[", "]"),
        Tok::Punct("{") => ("{", "}"),
        Tok::Punct("<") => ("<", ">"),
        _ => return None,
    };
    if o != "<" {
        return toks.get(open)?.mate;
    }
    // type parameters are short: a bounded scan keeps odd input linear
    let mut depth = 0usize;
    for (n, t) in toks.iter().enumerate().skip(open).take(MAX_SCAN) {
        if t.is_punct(o) {
            depth += 1;
        } else if t.is_punct(c) {
            depth -= 1;
            if depth == 0 {
                return Some(n);
            }
        }
    }
    None
}

fn tok_is_ident(toks: &[Token<'_>], i: usize, word: &str) -> bool {
    toks.get(i).is_some_and(|t| t.is_ident(word))
}

fn ident_at<'a>(toks: &[Token<'a>], i: usize) -> Option<&'a str> {
    match toks.get(i)?.tok {
        Tok::Ident(s) => Some(s),
        _ => None,
    }
}

/// An identifier or a string name (`export { x as "a-b" }`).
fn name_at(toks: &[Token<'_>], i: usize) -> Option<String> {
    match &toks.get(i)?.tok {
        Tok::Ident(s) => Some((*s).to_string()),
        Tok::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// For each token, the depth of `(`, `[` and `{` it sits at (a bracket sits at its outer depth).
fn depths(toks: &[Token<'_>]) -> Vec<usize> {
    let mut depth = 0usize;
    toks.iter()
        .map(|t| match t.tok {
            Tok::Punct("(" | "[" | "{") => {
                depth += 1;
                depth - 1
            }
            Tok::Punct(")" | "]" | "}") => {
                depth = depth.saturating_sub(1);
                depth
            }
            _ => depth,
        })
        .collect()
}

// --- the tokenizer -------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Ident(&'a str),
    /// One punctuation character, or `=>` / `...`.
    Punct(&'a str),
    /// A string literal's text between the quotes (escapes kept as written).
    Str(String),
    /// A number, template literal or regular expression: nothing the scanner looks into.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
struct Token<'a> {
    tok: Tok<'a>,
    /// A line break (in whitespace or a comment) comes before this token.
    nl_before: bool,
    /// For `(`, `[` and `{`: the index of the bracket closing it, when it is closed.
    mate: Option<usize>,
}

impl Token<'_> {
    fn is_ident(&self, word: &str) -> bool {
        self.tok == Tok::Ident(word)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.tok, Tok::Punct(q) if q == p)
    }
}

/// Keywords after which `/` starts a regular expression, not a division.
const REGEX_AFTER_WORDS: [&str; 14] = [
    "return",
    "typeof",
    "instanceof",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
];

fn lex<'a>(text: &'a str) -> Vec<Token<'a>> {
    let b = text.as_bytes();
    let mut out: Vec<Token<'a>> = Vec::new();
    // one entry per open `{`: true when it opened `${` of a template literal
    let mut braces: Vec<bool> = Vec::new();
    // how many entries of `braces` are true
    let mut in_template = 0usize;
    let mut nl = false;
    let mut i = 0;
    let ident_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let c = b[i];
        // inside `${…}` of a template nothing is emitted: it cannot hold a top-level export
        let quiet = in_template > 0;
        let emit = |tok: Tok<'a>, nl: &mut bool, out: &mut Vec<Token<'a>>| {
            if !quiet {
                out.push(Token {
                    tok,
                    nl_before: *nl,
                    mate: None,
                });
            }
            *nl = false;
        };
        match c {
            b'\n' => {
                nl = true;
                i += 1;
            }
            _ if c.is_ascii_whitespace() => i += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text
                    .get(i + 2..)
                    .and_then(|s| s.find("*/"))
                    .map_or(b.len(), |e| i + 2 + e + 2);
                if b[i..end].contains(&b'\n') {
                    nl = true;
                }
                i = end;
            }
            b'\'' | b'"' => {
                let start = i + 1;
                i = start;
                while i < b.len() && b[i] != c && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(b.len());
                let s = text.get(start..end).unwrap_or("").to_string();
                i = (i + 1).min(b.len());
                emit(Tok::Str(s), &mut nl, &mut out);
            }
            b'`' => {
                emit(Tok::Other, &mut nl, &mut out);
                i = template_rest(b, i + 1, &mut braces, &mut in_template);
            }
            b'}' if braces.last() == Some(&true) => {
                braces.pop();
                in_template -= 1;
                i = template_rest(b, i + 1, &mut braces, &mut in_template);
            }
            b'/' if regex_allowed(out.last(), quiet) => {
                i = regex_end(b, i + 1);
                emit(Tok::Other, &mut nl, &mut out);
            }
            _ if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                while i < b.len() && (ident_byte(b[i]) || b[i] == b'.') {
                    i += 1;
                }
                emit(Tok::Other, &mut nl, &mut out);
            }
            _ if ident_byte(c) => {
                let start = i;
                while i < b.len() && ident_byte(b[i]) {
                    i += 1;
                }
                emit(
                    Tok::Ident(text.get(start..i).unwrap_or("")),
                    &mut nl,
                    &mut out,
                );
            }
            _ => {
                let len = if text.get(i..).is_some_and(|s| s.starts_with("=>")) {
                    2
                } else if text.get(i..).is_some_and(|s| s.starts_with("...")) {
                    3
                } else {
                    1
                };
                match c {
                    b'{' => braces.push(false),
                    b'}' => {
                        braces.pop();
                    }
                    _ => {}
                }
                // ASCII punctuation only; any other byte was taken as an identifier byte
                let p = text.get(i..i + len).unwrap_or("");
                i += len;
                emit(Tok::Punct(p), &mut nl, &mut out);
            }
        }
    }
    pair_brackets(&mut out);
    out
}

/// Sets `mate` of each `(`, `[` and `{` to its closing bracket, in one pass; a closer that
/// does not match the innermost opener is left unpaired.
fn pair_brackets(toks: &mut [Token<'_>]) {
    let mut open: Vec<(usize, &'static str)> = Vec::new();
    for n in 0..toks.len() {
        match toks[n].tok {
            Tok::Punct("(") => open.push((n, ")")),
            Tok::Punct("[") => open.push((n, "]")),
            Tok::Punct("{") => open.push((n, "}")),
            Tok::Punct(c @ (")" | "]" | "}")) => {
                if let Some(&(o, want)) = open.last()
                    && want == c
                {
                    open.pop();
                    toks[o].mate = Some(n);
                }
            }
            _ => {}
        }
    }
}

/// Skips template text from `i` to the closing backquote (returns the index after it) or to
/// `${` (pushes a template brace and returns the index after it).
fn template_rest(b: &[u8], mut i: usize, braces: &mut Vec<bool>, in_template: &mut usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'`' => return i + 1,
            b'$' if b.get(i + 1) == Some(&b'{') => {
                braces.push(true);
                *in_template += 1;
                return i + 2;
            }
            _ => i += 1,
        }
    }
    b.len()
}

/// Whether `/` after `prev` starts a regular expression.
fn regex_allowed(prev: Option<&Token<'_>>, quiet: bool) -> bool {
    // inside a template expression the previous emitted token is not the previous token
    if quiet {
        return false;
    }
    match prev.map(|t| &t.tok) {
        None => true,
        Some(Tok::Ident(w)) => REGEX_AFTER_WORDS.contains(w),
        Some(Tok::Punct(p)) => !matches!(*p, ")" | "]" | "}"),
        Some(Tok::Str(_) | Tok::Other) => false,
    }
}

/// The index after a regular expression literal whose body starts at `i` (flags included).
fn regex_end(b: &[u8], mut i: usize) -> usize {
    let mut class = false;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'\n' => return i,
            b'[' => class = true,
            b']' => class = false,
            b'/' if !class => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                return i;
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        scan(text).exports.into_iter().map(|e| e.name).collect()
    }

    fn params(text: &str, name: &str) -> Option<(usize, bool)> {
        scan(text)
            .exports
            .into_iter()
            .find(|e| e.name == name)
            .and_then(|e| e.params)
            .map(|p| (p.count, p.rest))
    }

    #[test]
    fn import_spec_takes_relative_paths_only() {
        assert_eq!(import_spec("$import(./modules/x)"), Some("./modules/x"));
        assert_eq!(
            import_spec("$import(../shared/x.ts)"),
            Some("../shared/x.ts")
        );
        assert_eq!(import_spec("$import(@zuplo/runtime)"), None);
        assert_eq!(import_spec("./modules/x"), None);
    }

    #[test]
    fn candidates_follow_the_worker_resolution() {
        let c: Vec<String> = candidates(Path::new("/p"), "", "./modules/x")
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        assert_eq!(c, ["modules/x.ts", "modules/x/index.ts"]);
        for ext in ["ts", "mts", "js", "mjs"] {
            let c = candidates(Path::new("/p"), "", &format!("./modules/x.{ext}"));
            assert_eq!(c.len(), 1);
            assert_eq!(c[0].1, format!("modules/x.{ext}"));
            assert_eq!(c[0].0, Path::new("/p").join(format!("./modules/x.{ext}")));
        }
        // a dotted name without a known extension still gets `.ts`
        let c = candidates(Path::new("/p"), "modules", "../lib/my.handler");
        assert_eq!(c[0].1, "lib/my.handler.ts");
    }

    #[test]
    fn declarations_are_exports() {
        let src = r#"
            export function a(x) {}
            export async function b(x, y) {}
            export function* gen() {}
            export const c = 1, d = f(1, 2), e = 3;
            export let g;
            export var h = 2;
            export class K {}
            export abstract class L {}
            export enum M { A }
            export const enum N { B }
        "#;
        assert_eq!(
            names(src),
            ["a", "b", "gen", "c", "d", "e", "g", "h", "K", "L", "M", "N"]
        );
    }

    #[test]
    fn default_export_forms() {
        for src in [
            "export default function (a, b) {}",
            "export default async function named(a, b) {}",
            "export default async (a, b) => {}",
            "function h(a, b) {}\nexport default h;",
            "const h = async (a, b) => a;\nexport { h as default };",
        ] {
            assert_eq!(
                names(src).last().map(String::as_str),
                Some("default"),
                "{src}"
            );
            assert_eq!(params(src, "default"), Some((2, false)), "{src}");
        }
        assert_eq!(names("export default { a: 1 }"), ["default"]);
        assert_eq!(params("export default { a: 1 }", "default"), None);
        assert_eq!(
            names("export default interface X { a: string }"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn comments_strings_templates_and_regexes_hide_exports() {
        let src = r#"
            // export function no1() {}
            /* export const no2 = 1;
               export default 3 */
            const s = "export function no3() {}";
            const t = 'export { no4 }';
            const u = `export const no5 = ${ "x" + `export const no6 = ${1}` } export default`;
            const r = /export const no7 = `/g;
            const q = a / b; export const yes = 1; const z = c / d;
            export function after() {}
        "#;
        assert_eq!(names(src), ["yes", "after"]);
    }

    #[test]
    fn types_are_not_runtime_exports() {
        let src = r#"
            export type Options = { a: string };
            export interface Shape { export: string }
            export declare const ambient: number;
            export type { Other } from "./other";
            export type * from "./types";
            export { type OnlyType, value };
            const value = 1;
        "#;
        let s = scan(src);
        assert_eq!(names(src), ["value"]);
        assert!(s.star_from.is_empty());
        assert!(s.complete);
    }

    #[test]
    fn export_lists_and_re_exports() {
        let src = r#"
            const a = 1, b = 2;
            export { a, b as c, a as "d-e" };
            export { x, default as y } from "./y";
            export * as ns from "./ns";
            export * from "./star";
            export * from "some-package";
        "#;
        let s = scan(src);
        assert_eq!(names(src), ["a", "c", "d-e", "x", "y", "ns"]);
        assert_eq!(s.star_from, ["./star", "some-package"]);
        // nested code is not at the top level
        assert_eq!(
            names("namespace N { export const inner = 1 }\nfunction f() { const export_ = 1 }"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn destructuring_counts_every_name() {
        let n = names("export const { a, b: c, d = 1 } = obj, [e] = arr;");
        for x in ["a", "c", "d"] {
            assert!(n.contains(&x.to_string()), "{n:?}");
        }
    }

    #[test]
    fn arity_ignores_types_and_defaults() {
        let src = r#"
            export async function handler(request: ZuploRequest, context: ZuploContext) {}
            export const inbound = async (
                request: ZuploRequest,
                context: ZuploContext,
                options: Map<string, { a: number, b: [1, 2] }> = new Map<string, number>(),
                policyName = "x, y",
            ): Promise<ZuploRequest | Response> => request;
            export const single = r => r;
            export const asyncSingle = async r => r;
            export const typed: Handler = async (req) => req;
            export const generic = <T,>(a: T, b: T) => a;
            export function withThis(this: Window, a) {}
            export const rest = (a, ...more) => a;
            export const fnExpr = function (a, b, c) {};
            export const notAFunction = (a, b);
            export const callback = (cb: (x: number, y: number) => void) => cb;
            export function trailing(a, b,) {}
            export const cmp = (a = x > 1, b) => a;
        "#;
        assert_eq!(params(src, "handler"), Some((2, false)));
        assert_eq!(params(src, "inbound"), Some((4, false)));
        assert_eq!(params(src, "single"), Some((1, false)));
        assert_eq!(params(src, "asyncSingle"), Some((1, false)));
        assert_eq!(params(src, "typed"), Some((1, false)));
        assert_eq!(params(src, "generic"), Some((2, false)));
        assert_eq!(params(src, "withThis"), Some((1, false)));
        assert_eq!(params(src, "rest"), Some((2, true)));
        assert_eq!(params(src, "fnExpr"), Some((3, false)));
        assert_eq!(params(src, "notAFunction"), None);
        assert_eq!(params(src, "callback"), Some((1, false)));
        assert_eq!(params(src, "trailing"), Some((2, false)));
        assert_eq!(params(src, "cmp"), Some((2, false)));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for src in [
            "export",
            "export {",
            "export { a as",
            "export default",
            "export const",
            "export const x: Map<",
            "export * from",
            "`unterminated ${ export",
            "'unterminated\nexport const a = 1",
            "/* unterminated export const b = 2",
            "export function f(a, (b",
            "}}}))) export const c = 1",
            "export const é = 1; export const ü\u{2028}x = 2",
            "a = /[/]export/; export const d = 1",
        ] {
            let _ = scan(src);
        }
        assert_eq!(names("'unterminated\nexport const a = 1"), ["a"]);
        assert_eq!(names("a = /[/]export/; export const d = 1"), ["d"]);
        assert!(!scan("export = foo;").complete);
    }

    #[test]
    fn every_prefix_scans_and_odd_input_stays_linear() {
        let src = r#"export const a: Map<string, number> = new Map(), b = `x${`y${1}`}`;
            export default async function (r: Req, c = /[)}]/g) { return { r }; }
            export { a as "é", b as default } from './x'; /* ` */ export * from "./y";"#;
        for (n, _) in src.char_indices() {
            let _ = scan(&src[..n]);
        }
        // each of these would be quadratic with unbounded forward scans
        let started = std::time::Instant::now();
        for unit in [
            "export const a = x ",
            "export const a: ",
            "function f(",
            "export { ",
            "const a = <",
        ] {
            let big = unit.repeat(100_000);
            let _ = scan(&big);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn read_module_resolves_and_follows_star_one_level() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("modules");
        std::fs::create_dir_all(m.join("pkg")).unwrap();
        std::fs::write(
            m.join("pkg/index.ts"),
            "export * from '../util';\nexport default function (r, c) {}\n",
        )
        .unwrap();
        std::fs::write(
            m.join("util.ts"),
            "export const helper = (a) => a;\nexport default 1;\n",
        )
        .unwrap();
        let got = read_module(dir.path(), "./modules/pkg").unwrap();
        assert_eq!(got.path, "modules/pkg/index.ts");
        assert_eq!(got.names(), ["default", "helper"]);
        assert_eq!(got.get("helper").unwrap().params.unwrap().count, 1);
        assert!(got.complete);

        // a re-export that cannot be followed makes the list incomplete
        std::fs::write(m.join("b.mts"), "export * from './nowhere';\n").unwrap();
        let got = read_module(dir.path(), "./modules/b.mts").unwrap();
        assert!(!got.complete);

        assert_eq!(
            read_module(dir.path(), "./modules/missing"),
            Err(ModuleError::NotFound {
                tried: vec![
                    "modules/missing.ts".into(),
                    "modules/missing/index.ts".into()
                ]
            })
        );
        // a folder is skipped in favour of `/index.ts`; a folder without one is not found
        std::fs::create_dir_all(m.join("empty")).unwrap();
        assert!(matches!(
            read_module(dir.path(), "./modules/empty"),
            Err(ModuleError::NotFound { .. })
        ));
        std::fs::write(m.join("bin.ts"), [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(
            read_module(dir.path(), "./modules/bin"),
            Err(ModuleError::Unreadable { .. })
        ));
    }

    #[test]
    fn source_files_lists_module_sources_only() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("modules");
        for f in [
            "a.ts",
            "sub/index.ts",
            "b.mjs",
            "notes.md",
            "node_modules/x/y.js",
            ".cache/z.ts",
        ] {
            let p = m.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let got: Vec<String> = source_files(dir.path())
            .iter()
            .map(|p| {
                p.strip_prefix(&m)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        assert_eq!(got, ["a.ts", "b.mjs", "sub/index.ts"]);
        assert!(source_files(&dir.path().join("nowhere")).is_empty());
    }

    #[test]
    fn identifiers_skip_comments() {
        let ids = identifiers("// addRequestHook\nruntime.addResponseSendingHook(x)");
        assert_eq!(ids, ["runtime", "addResponseSendingHook", "x"]);
    }
}
