//! Options of `audit-log-inbound` (SPEC §16.7, D21).
//!
//! Owns: the typed options with the documented defaults. Nothing here can stop a request: the
//! runtime never rejects, and a missing bucket only matters on Zuplo, so mcpgw accepts the
//! policy with or without one. A `samplingRate` outside 0–1 still works on 7.6.4 (it is
//! compared with a random number), so it is a warning and is clamped. Unknown keys are
//! warnings (§16.0).

use super::reader::ObjReader;
use crate::config::jsonc::Node;
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::rules;

#[derive(Debug, Clone, PartialEq)]
pub struct AuditLog {
    /// The record's `type` is `<event_type_base>.request`.
    pub event_type_base: String,
    /// The bucket of the record's `source`; mcpgw needs none.
    pub bucket_id: Option<String>,
    /// 0–1: the share of requests that get a record.
    pub sampling_rate: f64,
    pub include: Include,
}

/// Which request details go into a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Include {
    pub query_params: bool,
    pub user: bool,
    pub ip_address: bool,
    pub geolocation: bool,
}

pub const DEFAULT_EVENT_TYPE_BASE: &str = "com.zuplo.api";

pub fn parse(name: &str, options: &Node, findings: &mut Findings) -> Option<AuditLog> {
    let mut r = ObjReader::policy(name, options, &rules::POLICY_OPTIONS, findings)?;
    r.lenient(&["eventTypeBase", "bucketId", "samplingRate", "include"]);
    let event_type_base = r
        .opt_nonempty("eventTypeBase")
        .map_or_else(|| DEFAULT_EVENT_TYPE_BASE.to_string(), |s| s.value);
    let bucket_id = r.opt_str("bucketId").map(|s| s.value);
    let sampling_rate = match r.get("samplingRate") {
        None => 1.0,
        Some(node) => match node.as_f64() {
            Some(v) if (0.0..=1.0).contains(&v) => v,
            Some(v) => {
                r.findings.push_as(
                    &rules::POLICY_OPTIONS,
                    Severity::Warning,
                    node.span,
                    format!(
                        "{}: `samplingRate` is {v}; it is a share between 0 and 1, so mcpgw uses {}",
                        r.ctx,
                        v.clamp(0.0, 1.0)
                    ),
                );
                v.clamp(0.0, 1.0)
            }
            None => {
                let found = node.kind_name();
                r.err(
                    &rules::POLICY_OPTIONS,
                    node.span,
                    format!("{}: `samplingRate` must be a number, found {found}", r.ctx),
                );
                return None;
            }
        },
    };
    let mut include = Include {
        query_params: true,
        user: true,
        ip_address: true,
        geolocation: true,
    };
    if r.has("include") {
        let mut inc = r.child("include", &rules::POLICY_OPTIONS)?;
        inc.lenient(&["queryParams", "user", "ipAddress", "geolocation"]);
        let mut flag = |key: &str, into: &mut bool| {
            if let Some(b) = inc.opt_bool(key) {
                *into = b.value;
            }
        };
        flag("queryParams", &mut include.query_params);
        flag("user", &mut include.user);
        flag("ipAddress", &mut include.ip_address);
        flag("geolocation", &mut include.geolocation);
    }
    Some(AuditLog {
        event_type_base,
        bucket_id,
        sampling_rate,
        include,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policies::testing;

    fn run(text: &str) -> (Option<AuditLog>, Vec<String>) {
        let (out, findings) = testing::parsed(text, |n, f| parse("audit", n, f));
        (out, testing::lines(&findings))
    }

    #[test]
    fn defaults() {
        let (a, f) = run("{}");
        assert!(f.is_empty());
        let a = a.unwrap();
        assert_eq!(a.event_type_base, "com.zuplo.api");
        assert_eq!(a.sampling_rate, 1.0);
        assert!(a.include.query_params && a.include.user && a.include.ip_address);
        assert_eq!(a.bucket_id, None);
    }

    #[test]
    fn reads_the_options() {
        let (a, f) = run(
            r#"{"eventTypeBase":"com.acme","bucketId":"b1","samplingRate":0.25,"include":{"queryParams":false,"user":false}}"#,
        );
        assert!(f.is_empty(), "{f:?}");
        let a = a.unwrap();
        assert_eq!(a.event_type_base, "com.acme");
        assert_eq!(a.bucket_id.as_deref(), Some("b1"));
        assert_eq!(a.sampling_rate, 0.25);
        assert!(!a.include.query_params && !a.include.user && a.include.ip_address);
    }

    #[test]
    fn an_out_of_range_rate_warns_and_is_clamped() {
        let (a, f) = run(r#"{"samplingRate":5}"#);
        assert_eq!(a.unwrap().sampling_rate, 1.0);
        assert!(f[0].starts_with("MCP110 warning"), "{f:?}");
        let (a, f) = run(r#"{"samplingRate":"half"}"#);
        assert!(a.is_none());
        assert!(f[0].starts_with("MCP110 error"), "{f:?}");
    }
}
