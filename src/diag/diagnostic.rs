//! Findings: what a rule says about one spot of a project.
//!
//! Owns: [`Diagnostic`] (rule, severity, location, message, help), [`Severity`], and
//! [`Findings`], the sink that loaders and rules push into. Rendering lives in `validate::render`.

use super::rules::Rule;
pub use super::rules::Severity;
use crate::diag::source::Span;

/// One finding, located by a span into the project's source map.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub span: Span,
    pub message: String,
    /// Overrides the rule's generic fix hint when a more precise one is known.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn help(&self) -> &str {
        self.help.as_deref().unwrap_or(self.rule.help)
    }
}

/// Collects findings in the order they are found.
#[derive(Debug, Default)]
pub struct Findings {
    pub items: Vec<Diagnostic>,
}

impl Findings {
    /// A finding with the rule's own severity.
    pub fn push(&mut self, rule: &'static Rule, span: Span, message: impl Into<String>) {
        self.push_as(rule, rule.severity, span, message);
    }

    pub fn push_as(
        &mut self,
        rule: &'static Rule,
        severity: Severity,
        span: Span,
        message: impl Into<String>,
    ) {
        self.items.push(Diagnostic {
            rule,
            severity,
            span,
            message: message.into(),
            help: None,
        });
    }

    /// A finding with a fix hint specific to this spot.
    pub fn push_with_help(
        &mut self,
        rule: &'static Rule,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.items.push(Diagnostic {
            rule,
            severity: rule.severity,
            span,
            message: message.into(),
            help: Some(help.into()),
        });
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
