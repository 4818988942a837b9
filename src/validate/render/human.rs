//! `--format human`: compiler-style reports with the source line and a caret under the value.

use crate::diag::diagnostic::{Diagnostic, Severity};
use crate::validate::Report;
use colored::Colorize;

#[derive(Debug, Clone, Copy, Default)]
pub struct HumanStyle {
    pub color: bool,
}

impl HumanStyle {
    fn paint(&self, s: &str, f: impl Fn(&str) -> colored::ColoredString) -> String {
        if self.color {
            f(s).to_string()
        } else {
            s.to_string()
        }
    }
}

pub fn human(report: &Report, style: HumanStyle) -> String {
    let mut out = String::new();
    for d in &report.diagnostics {
        render_one(report, d, style, &mut out);
    }
    out.push_str(&summary(report, style));
    out
}

fn render_one(report: &Report, d: &Diagnostic, style: HumanStyle, out: &mut String) {
    let sources = &report.project.sources;
    let file = sources.get(d.span.file);
    let (line, col) = file.line_col(d.span.start as usize);
    let head = match d.severity {
        Severity::Error => style.paint(&format!("error[{}]", d.rule.code), |s| s.red().bold()),
        Severity::Warning => {
            style.paint(&format!("warning[{}]", d.rule.code), |s| s.yellow().bold())
        }
        Severity::Note => style.paint(&format!("note[{}]", d.rule.code), |s| s.cyan().bold()),
    };
    out.push_str(&format!(
        "{head}: {} {}\n",
        style.paint(&d.message, |s| s.bold()),
        style.paint(&format!("({})", d.rule.name), |s| s.dimmed())
    ));
    let gutter_width = line.to_string().len();
    let pad = " ".repeat(gutter_width);
    let bar = style.paint("|", |s| s.blue().bold());
    out.push_str(&format!(
        "{pad}{} {}:{line}:{col}\n",
        style.paint("-->", |s| s.blue().bold()),
        file.path
    ));
    let text = file.line_text(line);
    let nothing_to_show = file.placeholder || (text.is_empty() && d.span.start == d.span.end);
    if !nothing_to_show {
        let (shown, caret_at, caret_len) =
            caret_geometry(text, col, span_chars_on_line(report, d, text, col));
        out.push_str(&format!("{pad} {bar}\n"));
        out.push_str(&format!(
            "{} {bar} {shown}\n",
            style.paint(&line.to_string(), |s| s.blue().bold())
        ));
        let carets = "^".repeat(caret_len.max(1));
        let carets = match d.severity {
            Severity::Error => style.paint(&carets, |s| s.red().bold()),
            Severity::Warning => style.paint(&carets, |s| s.yellow().bold()),
            Severity::Note => style.paint(&carets, |s| s.cyan().bold()),
        };
        out.push_str(&format!("{pad} {bar} {}{carets}\n", " ".repeat(caret_at)));
    }
    out.push_str(&format!(
        "{pad} {} {} {}\n\n",
        style.paint("=", |s| s.blue().bold()),
        style.paint("help:", |s| s.green().bold()),
        d.help()
    ));
}

/// How many characters of the span lie on its first line.
fn span_chars_on_line(report: &Report, d: &Diagnostic, line_text: &str, col: usize) -> usize {
    let covered = report.project.sources.text(d.span);
    let on_line = covered.split('\n').next().unwrap_or("");
    let rest_of_line = line_text.chars().count().saturating_sub(col - 1);
    on_line
        .trim_end_matches('\r')
        .chars()
        .count()
        .min(rest_of_line.max(1))
}

/// The line with tabs expanded, and where the caret goes (in display columns).
fn caret_geometry(text: &str, col: usize, len: usize) -> (String, usize, usize) {
    let mut shown = String::with_capacity(text.len());
    let mut caret_at = 0;
    let mut caret_len = 0;
    for (i, c) in text.chars().enumerate() {
        let w = if c == '\t' { 4 } else { 1 };
        if i + 1 < col {
            caret_at += w;
        } else if i + 1 < col + len {
            caret_len += w;
        }
        if c == '\t' {
            shown.push_str("    ")
        } else {
            shown.push(c)
        }
    }
    (shown, caret_at, caret_len)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn summary(report: &Report, style: HumanStyle) -> String {
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let notes = report.count(Severity::Note);
    let files = super::files_read(report);
    let counts = format!(
        "{}, {}, {} in {}",
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(notes, "note"),
        plural(files, "file")
    );
    if errors > 0 {
        format!(
            "{} {counts}\n",
            style.paint("✗ invalid:", |s| s.red().bold())
        )
    } else if warnings > 0 {
        format!(
            "{} {counts}\n",
            style.paint("✓ valid with warnings:", |s| s.yellow().bold())
        )
    } else {
        format!(
            "{} {counts}\n",
            style.paint("✓ valid:", |s| s.green().bold())
        )
    }
}
