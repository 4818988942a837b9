//! Options of `secret-masking-outbound` (`SecretMaskingOutboundPolicy`, SPEC §16.9).
//!
//! Owns: the mask (default `[REDACTED]`), the built-in patterns (Zuplo API keys, GitHub tokens,
//! PEM private-key blocks) and the project's `additionalPatterns`, compiled once here. The
//! patterns are JavaScript regular expressions; look-behind is seen in public projects, so they
//! are compiled with `fancy-regex` (backtracking, look-around). An additional pattern that does
//! not compile is a warning (MCP114, SPEC rule 101) and is skipped, as 7.6.4 skips it.

use super::reader::ObjReader;
use crate::config::jsonc::Node;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use fancy_regex::Regex;

/// The mask when the options set none.
pub const DEFAULT_MASK: &str = "[REDACTED]";

/// What 7.6.4 always masks (§16.9): Zuplo API keys, GitHub tokens (classic and fine-grained),
/// PEM private-key blocks.
pub const BUILT_IN_PATTERNS: [&str; 4] = [
    r"zpka_[A-Za-z0-9_]{42,}",
    r"gh[opsru]_[A-Za-z0-9]{36,}",
    r"github_pat_[A-Za-z0-9_]{20,}",
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----",
];

#[derive(Debug, Clone)]
pub struct SecretMasking {
    pub mask: String,
    /// The built-in patterns, then the additional ones that compiled, in their order.
    pub patterns: Vec<Regex>,
}

pub fn parse(name: &str, options: &Node, findings: &mut Findings) -> Option<SecretMasking> {
    let mut r = ObjReader::policy(name, options, &rules::POLICY_OPTIONS, findings)?;
    r.lenient(&["mask", "additionalPatterns"]);
    let mask = match r.get("mask") {
        Some(_) => r.opt_str("mask")?.value,
        None => DEFAULT_MASK.to_string(),
    };
    let mut patterns: Vec<Regex> = BUILT_IN_PATTERNS
        .iter()
        .filter_map(|p| Regex::new(p).ok())
        .collect();
    let additional = match r.get("additionalPatterns") {
        Some(_) => r.opt_str_list_with("additionalPatterns", &rules::POLICY_OPTIONS, false)?,
        None => Vec::new(),
    };
    for p in additional {
        match Regex::new(&p.value) {
            Ok(re) => patterns.push(re),
            Err(e) => r.err(
                &rules::SECRET_MASKING_PATTERN_INVALID,
                p.span,
                format!(
                    "{}: additionalPatterns entry {:?} is not a valid regular expression ({e}); it is skipped",
                    r.ctx, p.value
                ),
            ),
        }
    }
    Some(SecretMasking { mask, patterns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_pattern_compiles() {
        for p in BUILT_IN_PATTERNS {
            assert!(Regex::new(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn look_behind_compiles_as_in_javascript() {
        let re = Regex::new(r"(?<=api_key=)[a-z0-9]+").unwrap();
        let masked = re.replace_all("x api_key=abc123 y", "[M]");
        assert_eq!(masked, "x api_key=[M] y");
    }
}
