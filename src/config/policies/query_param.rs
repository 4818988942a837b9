//! Options of `query-param-to-header-inbound` (SPEC §16.5, rules 94 and 95, D24).
//!
//! Owns: the typed options and their checks. The three names are required (rule 94); a missing
//! `removeFromUrl` is read as 7.6.4 reads it — false — and noted, because the docs promise
//! `true` (rule 95). `removeFromUrl` is JavaScript-truthy at run time, so any value counts.
//! Unknown keys are warnings: the runtime reads the keys it knows (§16.0).

use super::reader::ObjReader;
use crate::config::jsonc::{Node, Value};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;

#[derive(Debug, Clone, PartialEq)]
pub struct QueryParamToHeader {
    pub query_param: String,
    pub header_name: String,
    /// A template: its first `{value}` becomes the parameter's value.
    pub header_value: String,
    pub remove_from_url: bool,
}

const KNOWN: &[&str] = &["queryParam", "headerName", "headerValue", "removeFromUrl"];

/// JavaScript truthiness of an option value (`if (options.removeFromUrl)`).
fn truthy(node: &Node) -> bool {
    match &node.value {
        Value::Null | Value::Unset => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.value != 0.0 && !n.value.is_nan(),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

pub fn parse(name: &str, options: &Node, findings: &mut Findings) -> Option<QueryParamToHeader> {
    let mut r = ObjReader::policy(
        name,
        options,
        &rules::QUERY_PARAM_TO_HEADER_OPTIONS,
        findings,
    )?;
    r.lenient(KNOWN);
    let query_param = r.req_nonempty("queryParam");
    let header_name = r.req_nonempty("headerName");
    let header_value = if r.has("headerValue") {
        // an empty template is a value (the header is then sent empty)
        r.opt_str("headerValue")
    } else {
        r.missing("headerValue", &rules::QUERY_PARAM_TO_HEADER_OPTIONS);
        None
    };
    if let Some(h) = &header_name
        && !super::basic::header_name_ok(&h.value)
    {
        r.err(
            &rules::POLICY_OPTIONS,
            h.span,
            format!("{}: {:?} is not a valid header name", r.ctx, h.value),
        );
        return None;
    }
    let remove_from_url = match r.get("removeFromUrl") {
        Some(node) => truthy(node),
        None => {
            let span = r.span();
            r.err(
                &rules::QUERY_PARAM_REMOVE_FROM_URL,
                span,
                format!(
                    "{}: `removeFromUrl` is not set, so the parameter stays in the URL the upstream sees (7.6.4 and mcpgw read it as false; the docs' default is true){}",
                    r.ctx,
                    r.unset_note("removeFromUrl")
                ),
            );
            false
        }
    };
    Some(QueryParamToHeader {
        query_param: query_param?.value,
        header_name: header_name?.value,
        header_value: header_value?.value,
        remove_from_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policies::testing;

    fn run(text: &str) -> (Option<QueryParamToHeader>, Vec<(String, String)>) {
        let (out, findings) = testing::parsed(text, |n, f| parse("qp", n, f));
        (out, testing::codes(&findings))
    }

    #[test]
    fn reads_the_options() {
        let (q, f) = run(
            r#"{"queryParam":"key","headerName":"Authorization","headerValue":"Bearer {value}","removeFromUrl":true}"#,
        );
        assert!(f.is_empty(), "{f:?}");
        let q = q.unwrap();
        assert_eq!(q.query_param, "key");
        assert_eq!(q.header_value, "Bearer {value}");
        assert!(q.remove_from_url);
    }

    #[test]
    fn each_missing_name_is_rule_94() {
        let (q, f) = run(r#"{"removeFromUrl":false}"#);
        assert!(q.is_none());
        let codes: Vec<&str> = f.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(codes, ["MCP094", "MCP094", "MCP094"], "{f:?}");
        assert!(f[2].1.contains("`headerValue` is required"));
    }

    #[test]
    fn a_missing_remove_from_url_is_rule_95_and_reads_false() {
        let (q, f) = run(r#"{"queryParam":"k","headerName":"x-key","headerValue":"{value}"}"#);
        assert!(!q.unwrap().remove_from_url);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, "MCP095");
    }

    #[test]
    fn remove_from_url_is_javascript_truthy() {
        for (v, want) in [
            ("\"yes\"", true),
            ("\"\"", false),
            ("0", false),
            ("1", true),
            ("null", false),
        ] {
            let (q, f) = run(&format!(
                r#"{{"queryParam":"k","headerName":"x","headerValue":"v","removeFromUrl":{v}}}"#
            ));
            assert!(f.is_empty(), "{f:?}");
            assert_eq!(q.unwrap().remove_from_url, want, "{v}");
        }
    }

    #[test]
    fn unknown_keys_warn_and_bad_header_names_are_errors() {
        let (q, f) = run(
            r#"{"queryParam":"k","headerName":"x","headerValue":"v","removeFromUrl":true,"extra":1}"#,
        );
        assert!(q.is_some());
        assert_eq!(f[0].0, "MCP110");
        let (q, f) = run(
            r#"{"queryParam":"k","headerName":"bad name","headerValue":"v","removeFromUrl":true}"#,
        );
        assert!(q.is_none());
        assert!(f[0].1.contains("not a valid header name"), "{f:?}");
    }
}
