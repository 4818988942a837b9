//! Options of the general-purpose policies mcpgw runs (D12, D21): `set-headers-inbound` and
//! `set-headers-outbound` (one reading), `set-upstream-api-key-inbound`,
//! `remove-headers-inbound` and `remove-headers-outbound` (one reading),
//! `request-size-limit-inbound`, `rate-limit-inbound`.
//!
//! Owns: their typed options with the documented defaults and the shape checks (rule MCP110;
//! MCP099 and MCP113 for set-headers, SPEC §16.14 rules 99 and 100).
//! Unknown keys are warnings: these schemas are not strict, and mcpgw ignores what it does not use.

use super::reader::ObjReader;
use crate::config::jsonc::Node;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;

#[derive(Debug, Clone, PartialEq)]
pub struct HeaderSetting {
    pub name: String,
    pub value: String,
    pub overwrite: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetHeaders {
    pub headers: Vec<HeaderSetting>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetUpstreamApiKey {
    pub header: HeaderSetting,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoveHeaders {
    pub headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestSizeLimit {
    pub max_size_in_bytes: u64,
    pub trust_content_length_header: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RateLimitBy {
    User,
    Ip,
    All,
    /// A TypeScript function: validated, but mcpgw cannot run it (D11).
    Function {
        module: String,
        export: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    pub by: RateLimitBy,
    pub requests_allowed: u64,
    /// Minutes; a fraction breaks the published schema but works on 7.6.4 (issue #15), so it
    /// is kept as written.
    pub time_window_minutes: f64,
    /// `retry-after` (default) or `none`.
    pub retry_after_header: bool,
}

fn reader<'n, 'f>(
    name: &str,
    options: &'n Node,
    findings: &'f mut Findings,
) -> Option<ObjReader<'n, 'f>> {
    ObjReader::policy(name, options, &rules::POLICY_OPTIONS, findings)
}

pub(crate) fn header_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn read_header(
    r: &mut ObjReader<'_, '_>,
    name_key: &str,
    default_name: Option<&str>,
) -> Option<HeaderSetting> {
    let name = match (r.has(name_key), default_name) {
        (false, Some(d)) => d.to_string(),
        _ => r.req_nonempty(name_key)?.value,
    };
    if !header_name_ok(&name) {
        let span = r.node.get(name_key).map_or(r.span(), |n| n.span);
        r.err(
            &rules::POLICY_OPTIONS,
            span,
            format!("{}: {name:?} is not a valid header name", r.ctx),
        );
        return None;
    }
    let value = if r.has("value") {
        r.opt_str("value")?.value
    } else {
        r.missing("value", &rules::POLICY_OPTIONS);
        return None;
    };
    let overwrite = r.opt_bool("overwrite").is_none_or(|b| b.value);
    Some(HeaderSetting {
        name,
        value,
        overwrite,
    })
}

pub fn parse_set_headers(
    name: &str,
    options: &Node,
    findings: &mut Findings,
) -> Option<SetHeaders> {
    let mut r = reader(name, options, findings)?;
    r.lenient(&["headers"]);
    if !r.has("headers") {
        r.missing("headers", &rules::POLICY_OPTIONS);
        return None;
    }
    let node = r.get("headers")?;
    let Some(items) = node.as_array() else {
        r.err(
            &rules::POLICY_OPTIONS,
            node.span,
            format!("{}: `headers` must be an array", r.ctx),
        );
        return None;
    };
    if items.is_empty() {
        r.err(
            &rules::SET_HEADERS_ENTRIES,
            node.span,
            format!("{}: `headers` is empty, so the policy sets nothing", r.ctx),
        );
        return None;
    }
    let mut headers = Vec::new();
    let mut ok = true;
    for item in items {
        let mut hr = ObjReader::new(
            item,
            format!("policy `{name}`: headers[]"),
            &rules::POLICY_OPTIONS,
            r.findings,
        )?;
        hr.lenient(&["name", "value", "overwrite"]);
        // absent or blank (a name of another type is read_header's type error)
        let nameless = hr
            .get("name")
            .is_none_or(|n| n.as_str().is_some_and(|s| s.trim().is_empty()));
        if nameless {
            let note = hr.unset_note("name");
            let span = hr.value_span("name");
            hr.err(
                &rules::SET_HEADERS_ENTRIES,
                span,
                format!("{}: an entry without `name`{note}", hr.ctx),
            );
            ok = false;
            continue;
        }
        match read_header(&mut hr, "name", None) {
            Some(h) => {
                runtime_template_note(&mut hr, &h.value);
                headers.push(h);
            }
            None => ok = false,
        }
    }
    ok.then_some(SetHeaders { headers })
}

/// Rule 100 (MCP113): set-headers values are literal; `${...}` is not a runtime template here.
fn runtime_template_note(r: &mut ObjReader<'_, '_>, value: &str) {
    let Some(start) = value.find("${") else {
        return;
    };
    if !value[start..].contains('}') {
        return;
    }
    let span = r.value_span("value");
    r.err(
        &rules::SET_HEADERS_TEMPLATE_VERBATIM,
        span,
        format!(
            "{}: the value {value:?} is sent verbatim: set-headers does not evaluate ${{...}} templates",
            r.ctx
        ),
    );
}

pub fn parse_set_upstream_api_key(
    name: &str,
    options: &Node,
    findings: &mut Findings,
) -> Option<SetUpstreamApiKey> {
    let mut r = reader(name, options, findings)?;
    r.lenient(&["header", "value", "overwrite"]);
    let header = read_header(&mut r, "header", Some("Authorization"))?;
    Some(SetUpstreamApiKey { header })
}

pub fn parse_remove_headers(
    name: &str,
    options: &Node,
    findings: &mut Findings,
) -> Option<RemoveHeaders> {
    let mut r = reader(name, options, findings)?;
    r.lenient(&["headers"]);
    if !r.has("headers") {
        r.missing("headers", &rules::POLICY_OPTIONS);
        return None;
    }
    let headers = r.opt_str_list_with("headers", &rules::POLICY_OPTIONS, false)?;
    Some(RemoveHeaders {
        headers: headers.into_iter().map(|s| s.value).collect(),
    })
}

pub fn parse_request_size_limit(
    name: &str,
    options: &Node,
    findings: &mut Findings,
) -> Option<RequestSizeLimit> {
    let mut r = reader(name, options, findings)?;
    r.lenient(&["maxSizeInBytes", "trustContentLengthHeader"]);
    if !r.has("maxSizeInBytes") {
        r.missing("maxSizeInBytes", &rules::POLICY_OPTIONS);
        return None;
    }
    let max = r.opt_pos_int("maxSizeInBytes")?;
    let trust = r
        .opt_bool("trustContentLengthHeader")
        .is_some_and(|b| b.value);
    Some(RequestSizeLimit {
        max_size_in_bytes: max.value,
        trust_content_length_header: trust,
    })
}

pub fn parse_rate_limit(name: &str, options: &Node, findings: &mut Findings) -> Option<RateLimit> {
    let mut r = reader(name, options, findings)?;
    r.lenient(&[
        "rateLimitBy",
        "requestsAllowed",
        "timeWindowMinutes",
        "identifier",
        "headerMode",
        "mode",
        "throwOnFailure",
    ]);
    let by = if r.has("rateLimitBy") {
        r.opt_enum_with(
            "rateLimitBy",
            &["user", "ip", "all", "function"],
            &rules::POLICY_OPTIONS,
        )?
    } else {
        r.missing("rateLimitBy", &rules::POLICY_OPTIONS);
        return None;
    };
    let by = match by.value.as_str() {
        "user" => RateLimitBy::User,
        "ip" => RateLimitBy::Ip,
        "all" => RateLimitBy::All,
        _ => {
            if !r.has("identifier") {
                r.missing("identifier", &rules::POLICY_OPTIONS);
                return None;
            }
            let mut id = r.child("identifier", &rules::POLICY_OPTIONS)?;
            let module = id.req_nonempty("module");
            let export = id.req_nonempty("export");
            RateLimitBy::Function {
                module: module?.value,
                export: export?.value,
            }
        }
    };
    // `function` mode may return the limits itself; the others need them here.
    let needs_limits = !matches!(by, RateLimitBy::Function { .. });
    let limit = |r: &mut ObjReader<'_, '_>, key: &str| {
        if !r.has(key) {
            if needs_limits {
                r.missing(key, &rules::POLICY_OPTIONS);
            }
            return None;
        }
        r.opt_pos_int(key).map(|v| v.value)
    };
    let requests_allowed = limit(&mut r, "requestsAllowed");
    let time_window_minutes = window_minutes(&mut r, needs_limits);
    let header_mode = match r.get("headerMode") {
        Some(_) => {
            r.opt_enum_with(
                "headerMode",
                &["none", "retry-after"],
                &rules::POLICY_OPTIONS,
            )?
            .value
        }
        None => "retry-after".to_string(),
    };
    if needs_limits && (requests_allowed.is_none() || time_window_minutes.is_none()) {
        return None;
    }
    Some(RateLimit {
        by,
        requests_allowed: requests_allowed.unwrap_or(0),
        time_window_minutes: time_window_minutes.unwrap_or(0.0),
        retry_after_header: header_mode == "retry-after",
    })
}

/// `timeWindowMinutes`: a positive number. The schema asks for an integer, but 7.6.4 computes
/// the window from whatever number it gets, and a public project uses a fraction, so a fraction
/// is a warning (an error would stop the whole project under D10) and works.
fn window_minutes(r: &mut ObjReader<'_, '_>, needed: bool) -> Option<f64> {
    let key = "timeWindowMinutes";
    let Some(node) = r.get(key) else {
        if needed {
            r.missing(key, &rules::POLICY_OPTIONS);
        }
        return None;
    };
    match &node.value {
        crate::config::jsonc::Value::Number(n) if n.value > 0.0 && n.value.is_finite() => {
            if n.value.fract() != 0.0 {
                r.findings.push_as(
                    &rules::POLICY_OPTIONS,
                    crate::diag::diagnostic::Severity::Warning,
                    node.span,
                    format!(
                        "{}: `{key}` is {}, not a whole number as the policy's schema asks; 7.6.4 and mcpgw use it as written ({} s)",
                        r.ctx,
                        n.raw,
                        n.value * 60.0
                    ),
                );
            }
            Some(n.value)
        }
        _ => {
            // the integer reading reports the wrong value
            r.opt_pos_int(key);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policies::testing;

    fn rate(text: &str) -> (Option<RateLimit>, Vec<String>) {
        let (out, findings) = testing::parsed(text, |n, f| parse_rate_limit("rl", n, f));
        (out, testing::lines(&findings))
    }

    #[test]
    fn a_fractional_time_window_is_a_warning_and_works() {
        let (l, f) = rate(r#"{"rateLimitBy":"ip","requestsAllowed":2,"timeWindowMinutes":0.5}"#);
        assert_eq!(l.unwrap().time_window_minutes, 0.5);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].starts_with("MCP110 warning"), "{f:?}");
        assert!(f[0].contains("30 s"), "{f:?}");
        let (l, f) = rate(r#"{"rateLimitBy":"ip","requestsAllowed":2,"timeWindowMinutes":1}"#);
        assert_eq!(l.unwrap().time_window_minutes, 1.0);
        assert!(f.is_empty());
    }

    #[test]
    fn a_window_that_is_no_positive_number_is_an_error() {
        for bad in ["0", "-1", "\"1\""] {
            let (l, f) = rate(&format!(
                r#"{{"rateLimitBy":"ip","requestsAllowed":2,"timeWindowMinutes":{bad}}}"#
            ));
            assert!(l.is_none(), "{bad}");
            assert!(f[0].starts_with("MCP110 error"), "{f:?}");
        }
    }
}
