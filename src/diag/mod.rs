//! Where things are and what is wrong with them: the bottom of the `validate` path.
//!
//! Owns: source files and byte spans mapped to `line:column` ([`source`]), findings with their
//! severity ([`diagnostic`]), and the rule catalogue with stable ids ([`rules`]). Loaders in
//! `config` and the rules in `validate` both push into [`Findings`]; nothing here knows what a
//! project is.

pub mod diagnostic;
pub mod rules;
pub mod source;

pub use diagnostic::{Diagnostic, Findings, Severity};
pub use rules::Rule;
pub use source::{FileId, SourceFile, SourceMap, Span, Spanned};
