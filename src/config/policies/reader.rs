//! Reading option objects strictly, with findings at the exact value.
//!
//! Owns: [`ObjReader`], the small toolkit every policy family uses to read its options: typed
//! getters that report wrong types at the value, required keys at the object, and unknown keys
//! at the key (strict objects). `$env(...)` that resolved to nothing counts as absent, and the
//! message says which variable was unset.

use crate::config::jsonc::{Member, Node, Value};
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::rules::{self, Rule};
use crate::diag::source::{Span, Spanned};

/// Reads one JSON object's members for a named owner (e.g. "policy `mcp-oauth`: browserLogin").
pub struct ObjReader<'n, 'f> {
    pub node: &'n Node,
    pub ctx: String,
    pub findings: &'f mut Findings,
    /// The rule for type errors and missing keys unless a call names another.
    pub rule: &'static Rule,
}

/// Why a value reads as absent: an `$env(NAME)` that was not set, for the message.
fn unset_note(node: &Node) -> String {
    match &node.env {
        Some(origin) => {
            let names: Vec<&str> = origin
                .vars
                .iter()
                .filter(|v| !v.set)
                .map(|v| v.name.as_str())
                .collect();
            if names.is_empty() {
                String::new()
            } else {
                format!(" ($env({}) is not set)", names.join("), $env("))
            }
        }
        None => String::new(),
    }
}

impl<'n, 'f> ObjReader<'n, 'f> {
    /// `None` (with a finding) unless `node` is an object.
    pub fn new(
        node: &'n Node,
        ctx: impl Into<String>,
        rule: &'static Rule,
        findings: &'f mut Findings,
    ) -> Option<Self> {
        let ctx = ctx.into();
        if node.as_object().is_none() {
            findings.push(
                rule,
                node.span,
                format!("{ctx} must be an object, found {}", node.kind_name()),
            );
            return None;
        }
        Some(ObjReader {
            node,
            ctx,
            findings,
            rule,
        })
    }

    pub fn members(&self) -> &'n [Member] {
        self.node.as_object().unwrap_or_default()
    }

    /// The raw member value, treating an unset `$env()` as absent.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.node.get(key).filter(|n| n.value != Value::Unset)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn span(&self) -> Span {
        self.node.span
    }

    /// ` ($env(NAME) is not set)` when `key` is an `$env()` that resolved to nothing, else "".
    pub fn unset_note(&self, key: &str) -> String {
        self.node.get(key).map(unset_note).unwrap_or_default()
    }

    /// Where `key` was written: its value when present (even an unset `$env()`), else the object.
    pub fn value_span(&self, key: &str) -> Span {
        self.node.get(key).map_or(self.node.span, |n| n.span)
    }

    pub fn key_span(&self, key: &str) -> Span {
        self.node.member(key).map_or(self.node.span, |m| m.key_span)
    }

    pub fn err(&mut self, rule: &'static Rule, span: Span, message: impl Into<String>) {
        self.findings.push(rule, span, message);
    }

    /// Unknown keys are errors at the key (strict object).
    pub fn strict(&mut self, allowed: &[&str], rule: &'static Rule) {
        for m in self.members() {
            if !allowed.contains(&m.key.as_str()) {
                self.findings.push(
                    rule,
                    m.key_span,
                    format!(
                        "{}: unknown option `{}` (allowed: {})",
                        self.ctx,
                        m.key,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// The options object of policy `name`: `policy `name` options` in messages; a non-object
    /// is reported under `rule`.
    pub fn policy(
        name: &str,
        options: &'n Node,
        rule: &'static Rule,
        findings: &'f mut Findings,
    ) -> Option<Self> {
        ObjReader::new(options, format!("policy `{name}` options"), rule, findings)
    }

    /// Unknown keys are warnings (MCP110), for policies whose runtime reads the keys it knows and
    /// ignores the rest (§16.0).
    pub fn lenient(&mut self, allowed: &[&str]) {
        for m in self.members() {
            if !allowed.contains(&m.key.as_str()) {
                self.findings.push_as(
                    &rules::POLICY_OPTIONS,
                    Severity::Warning,
                    m.key_span,
                    format!(
                        "{}: unknown option `{}` is ignored (known: {})",
                        self.ctx,
                        m.key,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// A required key is missing: the finding points at the object.
    pub fn missing(&mut self, key: &str, rule: &'static Rule) {
        let note = self.node.get(key).map(unset_note).unwrap_or_default();
        let span = self.node.get(key).map_or(self.node.span, |n| n.span);
        self.findings.push(
            rule,
            span,
            format!("{}: `{key}` is required{note}", self.ctx),
        );
    }

    /// A string, present or not; other types are findings.
    pub fn opt_str_with(&mut self, key: &str, rule: &'static Rule) -> Option<Spanned<String>> {
        let node = self.get(key)?;
        match node.as_str() {
            Some(s) => Some(Spanned::new(s.to_string(), node.span)),
            None => {
                self.findings.push(
                    rule,
                    node.span,
                    format!(
                        "{}: `{key}` must be a string, found {}",
                        self.ctx,
                        node.kind_name()
                    ),
                );
                None
            }
        }
    }

    pub fn opt_str(&mut self, key: &str) -> Option<Spanned<String>> {
        let rule = self.rule;
        self.opt_str_with(key, rule)
    }

    /// A string that must be non-empty after trimming when present.
    pub fn opt_nonempty_with(&mut self, key: &str, rule: &'static Rule) -> Option<Spanned<String>> {
        let s = self.opt_str_with(key, rule)?;
        if s.value.trim().is_empty() {
            self.findings.push(
                rule,
                s.span,
                format!(
                    "{}: `{key}` must not be empty{}",
                    self.ctx,
                    self.get(key).map(unset_note).unwrap_or_default()
                ),
            );
            return None;
        }
        Some(s)
    }

    pub fn opt_nonempty(&mut self, key: &str) -> Option<Spanned<String>> {
        let rule = self.rule;
        self.opt_nonempty_with(key, rule)
    }

    /// A required non-empty string.
    pub fn req_nonempty_with(&mut self, key: &str, rule: &'static Rule) -> Option<Spanned<String>> {
        if !self.has(key) {
            self.missing(key, rule);
            return None;
        }
        self.opt_nonempty_with(key, rule)
    }

    pub fn req_nonempty(&mut self, key: &str) -> Option<Spanned<String>> {
        let rule = self.rule;
        self.req_nonempty_with(key, rule)
    }

    pub fn opt_bool_with(&mut self, key: &str, rule: &'static Rule) -> Option<Spanned<bool>> {
        let node = self.get(key)?;
        match node.as_bool() {
            Some(b) => Some(Spanned::new(b, node.span)),
            None => {
                self.findings.push(
                    rule,
                    node.span,
                    format!(
                        "{}: `{key}` must be a boolean, found {}",
                        self.ctx,
                        node.kind_name()
                    ),
                );
                None
            }
        }
    }

    pub fn opt_bool(&mut self, key: &str) -> Option<Spanned<bool>> {
        let rule = self.rule;
        self.opt_bool_with(key, rule)
    }

    /// A positive integer given as a JSON number; with `coerce`, a numeric string is accepted
    /// too (the generic OAuth policy coerces, the wrappers do not).
    pub fn opt_pos_int_with(
        &mut self,
        key: &str,
        rule: &'static Rule,
        coerce: bool,
    ) -> Option<Spanned<u64>> {
        let node = self.get(key)?;
        let parsed = match &node.value {
            Value::Number(n)
                if n.value.fract() == 0.0
                    && n.value >= 1.0
                    && n.value <= 9.007_199_254_740_991e15 =>
            {
                Some(n.value as u64)
            }
            Value::String(s) if coerce => s.trim().parse::<u64>().ok().filter(|v| *v >= 1),
            _ => None,
        };
        match parsed {
            Some(v) => Some(Spanned::new(v, node.span)),
            None => {
                let shown = match &node.value {
                    Value::Number(n) => n.raw.clone(),
                    Value::String(s) => format!("{s:?}"),
                    _ => node.kind_name().to_string(),
                };
                self.findings.push(
                    rule,
                    node.span,
                    format!(
                        "{}: `{key}` must be a positive integer, found {shown}",
                        self.ctx
                    ),
                );
                None
            }
        }
    }

    pub fn opt_pos_int(&mut self, key: &str) -> Option<Spanned<u64>> {
        let rule = self.rule;
        self.opt_pos_int_with(key, rule, false)
    }

    /// An array of non-empty strings; wrong items are reported one by one.
    pub fn opt_str_list_with(
        &mut self,
        key: &str,
        rule: &'static Rule,
        allow_empty_items: bool,
    ) -> Option<Vec<Spanned<String>>> {
        let node = self.get(key)?;
        let Some(items) = node.as_array() else {
            self.findings.push(
                rule,
                node.span,
                format!(
                    "{}: `{key}` must be an array of strings, found {}",
                    self.ctx,
                    node.kind_name()
                ),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item.as_str() {
                Some(s) if allow_empty_items || !s.trim().is_empty() => {
                    out.push(Spanned::new(s.to_string(), item.span))
                }
                Some(_) => self.findings.push(
                    rule,
                    item.span,
                    format!("{}: `{key}` items must not be empty", self.ctx),
                ),
                None => self.findings.push(
                    rule,
                    item.span,
                    format!(
                        "{}: `{key}` items must be strings, found {}",
                        self.ctx,
                        item.kind_name()
                    ),
                ),
            }
        }
        Some(out)
    }

    /// A nested object reader for `key`, when present.
    pub fn child(&mut self, key: &str, rule: &'static Rule) -> Option<ObjReader<'n, '_>> {
        let node = self.get(key)?;
        let ctx = format!("{}.{key}", self.ctx);
        ObjReader::new(node, ctx, rule, self.findings)
    }

    /// A string that must be one of `allowed` when present.
    pub fn opt_enum_with(
        &mut self,
        key: &str,
        allowed: &[&str],
        rule: &'static Rule,
    ) -> Option<Spanned<String>> {
        let s = self.opt_str_with(key, rule)?;
        if allowed.contains(&s.value.as_str()) {
            Some(s)
        } else {
            self.findings.push(
                rule,
                s.span,
                format!(
                    "{}: `{key}` is {:?}; expected one of {}",
                    self.ctx,
                    s.value,
                    allowed.join(", ")
                ),
            );
            None
        }
    }
}

/// Whether `s` parses as an absolute URL (WHATWG rules, as `new URL()` does).
pub fn parse_url(s: &str) -> Option<url::Url> {
    url::Url::parse(s).ok()
}

/// Whether a string is a UUID in its canonical 8-4-4-4-12 hex form.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}
