//! Environment variables for a project, and `$env(NAME)` substitution (SPEC §1.4).
//!
//! Owns: reading `.env` and `.env.zuplo` (each variable remembers the line that defined it),
//! `--env-file` files, falling back to the process environment, then, with `--env-example`,
//! to the names of `.env.example` as "set by the deployment", and replacing `$env(NAME)`
//! inside a [`Node`] tree.
//! It does not decide *where* substitution is allowed; `config::project` asks it only for the
//! places §1.4 permits and reports the others.

use super::jsonc::{EnvOrigin, EnvVarUse, Node, Value};
use crate::diag::source::{FileId, SourceFile, Span};
use std::collections::HashMap;
use std::path::PathBuf;

/// Where a project's variables come from besides its own `.env` and `.env.zuplo`.
#[derive(Debug, Clone, Default)]
pub struct EnvSources {
    /// Let `$env(NAME)` fall back to the process environment (the CLI does; fixtures do not).
    pub process_env: bool,
    /// `--env-file`: more `.env`-style files, read after `.env` and `.env.zuplo`.
    pub files: Vec<PathBuf>,
    /// `--env-example`: a name listed in `.env.example` counts as set by the deployment (its
    /// value there is only a placeholder, so findings about the value are not reported).
    pub example: bool,
}

/// One variable's value and where it came from.
#[derive(Debug, Clone)]
pub struct EnvVar {
    pub value: String,
    /// The `.env` line that defined it; `None` when it came from the process environment.
    pub defined_in: Option<Span>,
    /// Named by `.env.example` under `--env-example`: the deployment sets it, the value here
    /// is a placeholder.
    pub from_deployment: bool,
}

/// The variables visible to a project: `.env`, then `.env.zuplo`, then the process environment.
#[derive(Debug, Clone, Default)]
pub struct EnvVars {
    file_vars: HashMap<String, EnvVar>,
    use_process_env: bool,
    /// `--env-example`: looked up last.
    deployment_vars: HashMap<String, EnvVar>,
}

impl EnvVars {
    /// Variables from the given `.env`-style files only (tests use this for determinism).
    pub fn from_files(files: &[(FileId, &SourceFile)]) -> Self {
        let mut file_vars = HashMap::new();
        for (id, file) in files {
            for (name, value, span) in parse_dotenv(*id, &file.text) {
                file_vars.entry(name).or_insert(EnvVar {
                    value,
                    defined_in: Some(span),
                    from_deployment: false,
                });
            }
        }
        EnvVars {
            file_vars,
            use_process_env: false,
            deployment_vars: HashMap::new(),
        }
    }

    /// The names of a `.env.example` as set by the deployment, after every other source.
    pub fn with_deployment_names(mut self, id: FileId, example: &SourceFile) -> Self {
        for (name, value, span) in parse_dotenv(id, &example.text) {
            self.deployment_vars.entry(name).or_insert(EnvVar {
                value,
                defined_in: Some(span),
                from_deployment: true,
            });
        }
        self
    }

    /// Also look variables up in the process environment when the files lack them.
    pub fn with_process_env(mut self) -> Self {
        self.use_process_env = true;
        self
    }

    pub fn get(&self, name: &str) -> Option<EnvVar> {
        if let Some(v) = self.file_vars.get(name) {
            return Some(v.clone());
        }
        if self.use_process_env
            && let Ok(value) = std::env::var(name)
        {
            return Some(EnvVar {
                value,
                defined_in: None,
                from_deployment: false,
            });
        }
        self.deployment_vars.get(name).cloned()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.file_vars.keys().map(String::as_str)
    }
}

/// Parses `.env` text: `NAME=value`, optional `export `, `#` comments, single or double quotes.
pub fn parse_dotenv(file: FileId, text: &str) -> Vec<(String, String, Span)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let Some((name, raw)) = body.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let raw = raw.trim();
        let value = if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            inner.replace("\\n", "\n").replace("\\\"", "\"")
        } else if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            inner.to_string()
        } else {
            // an unquoted value ends at ` #`
            match raw.find(" #") {
                Some(i) => raw[..i].trim_end().to_string(),
                None => raw.to_string(),
            }
        };
        let name_at = start + line.find(name).unwrap_or(0);
        out.push((
            name.to_string(),
            value,
            Span::new(file, name_at, name_at + name.len()),
        ));
    }
    out
}

/// One `$env(...)` reference inside a string.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvRef {
    pub name: String,
    /// Byte range of `$env(NAME)` inside the string's value.
    pub range: std::ops::Range<usize>,
}

/// Finds `$env(...)` references: the name is read up to the first `)`.
pub fn find_env_refs(s: &str) -> Vec<EnvRef> {
    let mut refs = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("$env(") {
        let start = from + i;
        let name_start = start + 5;
        match s[name_start..].find(')') {
            Some(j) => {
                let end = name_start + j + 1;
                refs.push(EnvRef {
                    name: s[name_start..name_start + j].to_string(),
                    range: start..end,
                });
                from = end;
            }
            None => break,
        }
    }
    refs
}

/// Whether a variable name is one §1.4 accepts: letters, digits, underscore.
pub fn is_valid_env_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Prefixes reserved by the platform (§1.4). `ZUPLO_PUBLIC_` and `ZUDOKU_PUBLIC_` are the
/// exception: they are how variables are exposed to the developer portal.
pub fn reserved_prefix(name: &str) -> Option<&'static str> {
    if name.starts_with("ZUPLO_PUBLIC_") || name.starts_with("ZUDOKU_PUBLIC_") {
        return None;
    }
    ["ZUPLO_", "__ZUPLO", "ZUDOKU_"]
        .into_iter()
        .find(|p| name.starts_with(p))
}

/// Replaces `$env(NAME)` in every string of `node`, recording the origin on each changed node.
/// A standalone reference to an unset variable becomes [`Value::Unset`]; inside other text an
/// unset variable becomes the empty string.
pub fn substitute(node: &mut Node, vars: &EnvVars) {
    match &mut node.value {
        Value::String(s) => {
            let refs = find_env_refs(s);
            if refs.is_empty() {
                return;
            }
            let written = s.clone();
            let uses: Vec<EnvVarUse> = refs
                .iter()
                .map(|r| {
                    let var = vars.get(&r.name);
                    EnvVarUse {
                        name: r.name.clone(),
                        defined_in: var.as_ref().and_then(|v| v.defined_in),
                        set: var.is_some(),
                        from_deployment: var.as_ref().is_some_and(|v| v.from_deployment),
                    }
                })
                .collect();
            let standalone = refs.len() == 1 && refs[0].range == (0..written.len());
            node.value = if standalone {
                match vars.get(&refs[0].name) {
                    Some(v) => Value::String(v.value),
                    None => Value::Unset,
                }
            } else {
                let mut out = String::with_capacity(written.len());
                let mut last = 0;
                for r in &refs {
                    out.push_str(&written[last..r.range.start]);
                    if let Some(v) = vars.get(&r.name) {
                        out.push_str(&v.value);
                    }
                    last = r.range.end;
                }
                out.push_str(&written[last..]);
                Value::String(out)
            };
            node.env = Some(EnvOrigin {
                written,
                vars: uses,
            });
        }
        Value::Array(items) => items.iter_mut().for_each(|n| substitute(n, vars)),
        Value::Object(members) => members
            .iter_mut()
            .for_each(|m| substitute(&mut m.node, vars)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jsonc;

    fn vars(text: &str) -> EnvVars {
        let file = SourceFile::new(".env", text.to_string());
        EnvVars::from_files(&[(FileId(1), &file)])
    }

    #[test]
    fn dotenv_lines() {
        let parsed = parse_dotenv(
            FileId(0),
            "# c\nA=1\nexport B=\"two words\"\nC='x' \nD=v # note\nbad line\n",
        );
        let names: Vec<_> = parsed
            .iter()
            .map(|(n, v, _)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            names,
            [("A", "1"), ("B", "two words"), ("C", "x"), ("D", "v")]
        );
        assert_eq!(parsed[0].2.start, 4);
    }

    #[test]
    fn reserved_prefixes_except_portal_public() {
        assert_eq!(reserved_prefix("ZUPLO_KEY"), Some("ZUPLO_"));
        assert_eq!(reserved_prefix("__ZUPLO_X"), Some("__ZUPLO"));
        assert_eq!(reserved_prefix("ZUDOKU_X"), Some("ZUDOKU_"));
        assert_eq!(reserved_prefix("ZUPLO_PUBLIC_URL"), None);
        assert_eq!(reserved_prefix("ZUDOKU_PUBLIC_KEY"), None);
        assert_eq!(reserved_prefix("MY_ZUPLO_KEY"), None);
    }

    #[test]
    fn standalone_and_interpolated() {
        let v = vars("KEY=abc\n");
        let mut node = jsonc::parse(
            FileId(0),
            r#"{"a":"$env(KEY)","b":"Bearer $env(KEY)!","c":"$env(NOPE)","d":"x$env(NOPE)y"}"#,
        )
        .unwrap()
        .unwrap();
        substitute(&mut node, &v);
        assert_eq!(node.get("a").unwrap().as_str(), Some("abc"));
        assert_eq!(node.get("b").unwrap().as_str(), Some("Bearer abc!"));
        assert_eq!(node.get("c").unwrap().value, Value::Unset);
        assert_eq!(node.get("d").unwrap().as_str(), Some("xy"));
        let origin = node.get("a").unwrap().env.clone().unwrap();
        assert_eq!(origin.written, "$env(KEY)");
        assert!(origin.vars[0].set && origin.vars[0].defined_in.is_some());
    }
}
