//! Matching a request to a route of the project's OpenAPI files (SPEC §1.5, §3.17).
//!
//! Owns: path patterns with `{param}` segments, multi-method keys (`get,post`), the choice
//! between several matching routes (literal segments beat parameters, then file order), and
//! the 404/405 decision with its `Allow` list. It knows nothing about policies or handlers.

use crate::config::project::Route;
use crate::web::encoding::decode_component;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug, Clone)]
struct Entry {
    route: usize,
    segments: Vec<Segment>,
    methods: Vec<String>,
    /// Number of literal segments: more specific routes win.
    literals: usize,
}

/// The routes of a project, ready for matching.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    entries: Vec<Entry>,
}

/// The outcome of matching one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Match {
    /// Index into `Project::routes`, with the path parameters.
    Found {
        route: usize,
        params: Vec<(String, String)>,
    },
    /// The path exists but not for this method.
    MethodNotAllowed {
        allow: Vec<String>,
    },
    NotFound,
}

fn parse_path(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect()
}

impl RouteTable {
    /// Only operations with an `x-zuplo-route` handler are served.
    pub fn new(routes: &[Route]) -> Self {
        let mut entries: Vec<Entry> = routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.handler.is_some())
            .map(|(i, r)| {
                let segments = parse_path(&r.path.value);
                let literals = segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count();
                Entry {
                    route: i,
                    segments,
                    methods: r.methods.clone(),
                    literals,
                }
            })
            .collect();
        // most literal segments first; stable, so file order breaks ties
        entries.sort_by_key(|e| std::cmp::Reverse(e.literals));
        RouteTable { entries }
    }

    pub fn lookup(&self, method: &str, path: &str) -> Match {
        let method = method.to_ascii_lowercase();
        let request: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut allow = BTreeSet::new();
        for e in &self.entries {
            let Some(params) = match_segments(&e.segments, &request) else {
                continue;
            };
            if e.methods.contains(&method)
                || (method == "head" && e.methods.iter().any(|m| m == "get"))
            {
                return Match::Found {
                    route: e.route,
                    params,
                };
            }
            allow.extend(e.methods.iter().map(|m| m.to_ascii_uppercase()));
        }
        if allow.is_empty() {
            Match::NotFound
        } else {
            Match::MethodNotAllowed {
                allow: allow.into_iter().collect(),
            }
        }
    }
}

fn match_segments(pattern: &[Segment], request: &[&str]) -> Option<Vec<(String, String)>> {
    if pattern.len() != request.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, r) in pattern.iter().zip(request) {
        match p {
            Segment::Literal(l) if l == r => {}
            Segment::Literal(_) => return None,
            Segment::Param(_) if r.is_empty() => return None,
            Segment::Param(name) => {
                params.push((name.clone(), decode_component(r)));
            }
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{Options, validate_path};

    fn table(paths: &[(&str, &str)]) -> (RouteTable, Vec<Route>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("zuplo.jsonc"), "{}").unwrap();
        let mut ops = serde_json::Map::new();
        for (path, methods) in paths {
            let entry = ops
                .entry(path.to_string())
                .or_insert_with(|| serde_json::json!({}));
            entry[*methods] = serde_json::json!({"operationId": format!("{path}{methods}"), "x-zuplo-route": {"handler": {"export": "urlForwardHandler", "module": "$import(@zuplo/runtime)", "options": {"baseUrl": "http://127.0.0.1:1"}}}});
        }
        let doc = serde_json::json!({"openapi": "3.1.0", "paths": ops});
        std::fs::write(dir.path().join("config/routes.oas.json"), doc.to_string()).unwrap();
        std::fs::write(
            dir.path().join("config/policies.json"),
            r#"{"policies":[]}"#,
        )
        .unwrap();
        let report = validate_path(dir.path(), &Options::default()).unwrap();
        (
            RouteTable::new(&report.project.routes),
            report.project.routes,
        )
    }

    #[test]
    fn methods_params_and_specificity() {
        let (t, routes) = table(&[
            ("/mcp/{id}", "post"),
            ("/mcp/linear-v1", "get,post"),
            ("/x", "delete"),
        ]);
        let found = |m: &str, p: &str| match t.lookup(m, p) {
            Match::Found { route, params } => Some((routes[route].path.value.clone(), params)),
            _ => None,
        };
        assert_eq!(found("POST", "/mcp/linear-v1").unwrap().0, "/mcp/linear-v1");
        assert_eq!(found("GET", "/mcp/linear-v1").unwrap().0, "/mcp/linear-v1");
        assert_eq!(
            found("post", "/mcp/other%20x").unwrap(),
            (
                "/mcp/{id}".to_string(),
                vec![("id".to_string(), "other x".to_string())]
            )
        );
        assert_eq!(
            t.lookup("GET", "/mcp/other"),
            Match::MethodNotAllowed {
                allow: vec!["POST".into()]
            }
        );
        assert_eq!(
            t.lookup("PUT", "/mcp/linear-v1"),
            Match::MethodNotAllowed {
                allow: vec!["GET".into(), "POST".into()]
            }
        );
        assert_eq!(t.lookup("GET", "/nope"), Match::NotFound);
        assert_eq!(t.lookup("POST", "/mcp/"), Match::NotFound);
        assert!(found("HEAD", "/mcp/linear-v1").is_some());
        assert_eq!(
            found("post", "/mcp/a%2Fb&c+d").unwrap().1,
            vec![("id".to_string(), "a/b&c+d".to_string())]
        );
    }
}
