//! The outbound policies of a route (SPEC §16.11, D21): `set-headers-outbound`,
//! `remove-headers-outbound` and `secret-masking-outbound` (§16.9, §16.10).
//!
//! Owns: when the stage runs (after the handler, never after an inbound policy answered; for
//! every status from compatibilityDate 2024-01-15 on, `runOutboundPoliciesOnHandlerOnAllStatuses`,
//! else only for 2xx), the list order (each policy receives the previous one's response), and
//! what each policy does to the response. Whatever else is listed under `policies.outbound`
//! refuses the route up front (`pipeline::unsupported`, 501), so nothing here is skipped.
//!
//! Streaming: header-level policies change the head of the response and leave its body a
//! stream (SSE stays SSE). Only `secret-masking-outbound` reads the body, whole, up to
//! [`BODY_LIMIT`], with the proxy's bounded reader; an answer it cannot read whole (too large,
//! broken off, content-encoded) or cannot scan is refused with a 500 problem, never passed on
//! with its secrets unmasked. So that the upstream sends a body the policy can read, a route
//! with that policy forwards no `Accept-Encoding` ([`prepare`]; 7.6.4's `fetch` decodes).
//!
//! Order on an MCP proxy route: the answer leaves the handler with the capability filter and
//! the icons of §6.7 already applied (they rewrite the upstream's answer, `proxy`), so the
//! route's outbound policies see, and may mask, exactly what the client would get. On an
//! `mcpServerHandler` route a tool route's outbound policies see the tool route's HTTP answer
//! (before it becomes a tool result) and the MCP route's see the JSON-RPC answer (§16.11).

use super::custom;
use super::pipeline::{self, Inbound};
use super::proxy::{self, Buffered};
use super::state::{AppState, Served};
use crate::config::policies::PolicyConfig;
use crate::config::policies::secret_masking::SecretMasking;
use crate::custom::protocol::{WireRequest, WireResponse};
use crate::custom::{BodyOutcome, CallBodies, GatewayCalls, PendingBody, Target};
use crate::web::problem::GatewayError;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use std::time::Duration;

/// The largest answer `secret-masking-outbound` reads; a larger one is refused (500).
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The first compatibilityDate with `runOutboundPoliciesOnHandlerOnAllStatuses` (§1.3).
const ALL_STATUSES_FROM: &str = "2024-01-15";

/// The route's outbound policies with their index and name, in list order. Names that do not
/// resolve were refused before the handler ([`pipeline::unsupported`]).
fn policies(served: &Served, route: usize) -> Vec<(usize, &str, &PolicyConfig)> {
    let project = &served.report.project;
    project.routes[route]
        .outbound
        .iter()
        .filter_map(|n| project.policy_position(&n.value))
        .map(|i| {
            (
                i,
                project.policies[i].name.value.as_str(),
                &served.report.model.policies[i],
            )
        })
        .collect()
}

/// What the outbound stage knows of the request besides the response.
pub struct Stage<'a> {
    pub path: &'a str,
    pub request_id: &'a str,
    /// The request as custom outbound policies get it ([`custom_request`]).
    pub request: Option<&'a WireRequest>,
    pub calls: &'a dyn GatewayCalls,
}

/// Before the handler, for a route with custom outbound policies: the request as they get it
/// (`(response, request, …)`, §17.1). Its body is the one policies read, when one did; a
/// streamed body is not held back for them.
pub fn custom_request(served: &Served, route: usize, inbound: &Inbound) -> Option<WireRequest> {
    let project = &served.report.project;
    policies(served, route)
        .iter()
        .any(|(i, _, _)| project.policies[*i].handler.is_custom_module())
        .then(|| {
            custom::wire_request(custom::RequestParts {
                method: &inbound.method,
                path: &inbound.path,
                query: inbound.query.as_deref(),
                headers: &inbound.headers,
                body: inbound.buffered.as_deref().unwrap_or_default(),
                params: &inbound.params,
                user: inbound.user.as_ref(),
            })
        })
}

/// Before the handler: a route whose outbound policies read the body asks for an answer that
/// is not content-encoded (mcpgw's client does not decode, and a policy cannot mask what it
/// cannot read).
pub fn prepare(served: &Served, route: usize, inbound: &mut Inbound) {
    let project = &served.report.project;
    if policies(served, route)
        .iter()
        .any(|(i, _, p)| reads_body(p) || project.policies[*i].handler.is_custom_module())
    {
        inbound.headers.remove(header::ACCEPT_ENCODING);
    }
}

fn reads_body(p: &PolicyConfig) -> bool {
    matches!(p, PolicyConfig::SecretMasking(_))
}

/// Whether outbound policies run for every status: compatibilityDate 2024-01-15 or later. A
/// project without a date gets Zuplo's flags of "none" (all off, §1.2): 2xx only.
fn on_all_statuses(served: &Served) -> bool {
    served
        .report
        .project
        .zuplo
        .as_ref()
        .and_then(|z| z.get("compatibilityDate"))
        .and_then(|d| d.as_str())
        // the known dates are ISO dates, so text order is date order
        .is_some_and(|d| d >= ALL_STATUSES_FROM)
}

/// After the handler (only then): the route's outbound policies in order, each on the
/// previous one's response.
pub async fn run(
    state: &AppState,
    served: &Served,
    route: usize,
    mut resp: Response,
    stage: Stage<'_>,
) -> Response {
    let chain = policies(served, route);
    if chain.is_empty() || !(resp.status().is_success() || on_all_statuses(served)) {
        return resp;
    }
    for (i, _, _) in chain {
        resp = run_one(state, served, route, i, resp, &stage).await;
    }
    resp
}

/// One outbound policy (index `policy` of policies.json) on `resp`: the response that goes on.
/// The chain of [`run`] and `context.invokeOutboundPolicy` (§17.2) both run policies here.
pub(super) async fn run_one(
    state: &AppState,
    served: &Served,
    route: usize,
    i: usize,
    mut resp: Response,
    stage: &Stage<'_>,
) -> Response {
    let (path, request_id) = (stage.path, stage.request_id);
    let idle = Duration::from_secs(state.upstream_idle_timeout_secs);
    let name = served.report.project.policies[i].name.value.as_str();
    if served.report.project.policies[i].handler.is_custom_module() {
        return custom_outbound(state, served, route, i, resp, stage, idle).await;
    }
    match &served.report.model.policies[i] {
        PolicyConfig::SetHeadersOutbound(s) => {
            for h in &s.headers {
                pipeline::set_header(resp.headers_mut(), h);
            }
            resp
        }
        PolicyConfig::RemoveHeadersOutbound(r) => {
            for h in &r.headers {
                resp.headers_mut().remove(h.as_str());
            }
            resp
        }
        PolicyConfig::SecretMasking(m) => {
            match mask_response(m, name, resp, idle, path, request_id).await {
                Ok(r) | Err(r) => r,
            }
        }
        // refused before the handler by pipeline::unsupported; never skipped silently
        _ => GatewayError::NotImplemented(format!(
            "mcpgw dev cannot run the outbound policy {name:?}"
        ))
        .at(path, request_id)
        .into_response(),
    }
}

/// A custom outbound policy (`custom-code-outbound`, §17.1): the response goes to the worker
/// without its body (`bodyPending`), read whole (up to [`BODY_LIMIT`]) only when the policy
/// reads it; the response it returns goes on, with the original body still streaming when it
/// handed back the same response unread (`bodyUnchanged`).
async fn custom_outbound(
    state: &AppState,
    served: &Served,
    route: usize,
    policy: usize,
    resp: Response,
    stage: &Stage<'_>,
    idle: Duration,
) -> Response {
    let report = &served.report;
    let name = report.project.policies[policy].name.value.as_str();
    let piece = format!("the custom outbound policy {name:?}");
    let fail = |e| custom::error_response(&piece, e, stage.path, stage.request_id);
    let code = match state.custom.code(report).await {
        Ok(c) => c.clone(),
        Err(e) => return fail(e),
    };
    let (parts, body) = resp.into_parts();
    let response = WireResponse {
        status: parts.status.as_u16(),
        headers: custom::wire_headers(&parts.headers),
        body_b64: None,
        body_pending: true,
        body_unchanged: false,
    };
    let bodies = CallBodies {
        request: None,
        response: Some(PendingBody::new(
            body,
            Box::new(move |b| {
                Box::pin(async move {
                    match proxy::read_limited(b.into_data_stream(), BODY_LIMIT, idle).await {
                        Ok(Buffered::Whole(bytes)) => Ok(bytes),
                        Ok(Buffered::TooLarge(_)) => Err(format!(
                            "the answer is larger than the {BODY_LIMIT} bytes mcpgw reads"
                        )),
                        Err(broken) => Err(broken.to_string()),
                    }
                })
            }),
        )),
    };
    let request = stage.request.cloned().unwrap_or_else(|| WireRequest {
        method: "GET".into(),
        url: format!("http://localhost{}", stage.path),
        headers: Vec::new(),
        body_b64: None,
        body_pending: false,
        body_unchanged: false,
        params: Default::default(),
        user: None,
    });
    let context = custom::wire_context(report, route, stage.request_id, None);
    let (module, export) = custom::module_and_export(report, policy);
    let options = custom::policy_options(report, policy);
    let target = Target {
        module: &module,
        export: &export,
    };
    let result = code
        .call_outbound(
            target,
            name,
            options,
            response,
            request,
            context,
            stage.calls,
            &bodies,
        )
        .await;
    // the answer's body as the policy left it: untouched (still streaming), or read
    let kept = match bodies.response.map(PendingBody::into_outcome) {
        Some(BodyOutcome::Unread(b)) => b,
        Some(BodyOutcome::Read(bytes)) => Body::from(bytes),
        Some(BodyOutcome::Failed(why)) => {
            let mut r = GatewayError::OutboundPolicyFailed {
                policy: name.to_string(),
                why,
            }
            .at(stage.path, stage.request_id)
            .into_response();
            *r.extensions_mut() = parts.extensions;
            return r;
        }
        None => Body::empty(),
    };
    match result {
        Ok(w) => {
            let unchanged = w.body_unchanged;
            match custom::response_from_wire(w) {
                Ok(mut r) => {
                    if unchanged {
                        *r.body_mut() = kept;
                    }
                    // the access log still names the upstream's status
                    *r.extensions_mut() = parts.extensions;
                    r
                }
                Err(e) => fail(e),
            }
        }
        Err(e) => fail(e),
    }
}

/// `secret-masking-outbound`: the body read whole as text, every match of every pattern
/// replaced by the mask; same status and headers, `content-length` recomputed. An unchanged
/// body goes on byte for byte. `Err` is the refusal that replaces the answer.
async fn mask_response(
    m: &SecretMasking,
    policy: &str,
    resp: Response,
    idle: Duration,
    path: &str,
    request_id: &str,
) -> Result<Response, Response> {
    let (mut parts, body) = resp.into_parts();
    let refuse = |why: String, extensions: axum::http::Extensions| {
        let mut r = GatewayError::OutboundPolicyFailed {
            policy: policy.to_string(),
            why,
        }
        .at(path, request_id)
        .into_response();
        // the access log still names the upstream's status
        *r.extensions_mut() = extensions;
        r
    };
    if let Some(encoding) = parts
        .headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .filter(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        return Err(refuse(
            format!("the answer is {encoding}-encoded and mcpgw does not decode it"),
            parts.extensions,
        ));
    }
    let bytes = match proxy::read_limited(body.into_data_stream(), BODY_LIMIT, idle).await {
        Ok(Buffered::Whole(b)) => b,
        Ok(Buffered::TooLarge(_)) => {
            return Err(refuse(
                format!("the answer is larger than the {BODY_LIMIT} bytes mcpgw reads"),
                parts.extensions,
            ));
        }
        Err(broken) => {
            tracing::warn!(error = %broken, "an answer broke off while an outbound policy read it");
            let mut r = GatewayError::from(broken)
                .at(path, request_id)
                .into_response();
            *r.extensions_mut() = parts.extensions;
            return Err(r);
        }
    };
    let masked = match mask(m, &bytes) {
        Ok(Some(text)) => Bytes::from(text),
        // untouched, head included (a HEAD answer's content-length is not its empty body's)
        Ok(None) => return Ok(Response::from_parts(parts, Body::from(bytes))),
        Err(e) => {
            return Err(refuse(
                format!("a pattern could not be matched ({e})"),
                parts.extensions,
            ));
        }
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(masked.len()));
    Ok(Response::from_parts(parts, Body::from(masked)))
}

/// The body with every match of every pattern replaced, in pattern order (as 7.6.4 chains
/// `String.replace`), or `None` when nothing matched. The body is text as `Response.text()`
/// reads it (invalid UTF-8 becomes U+FFFD); the mask is inserted literally.
pub fn mask(m: &SecretMasking, body: &[u8]) -> Result<Option<String>, fancy_regex::Error> {
    let text = String::from_utf8_lossy(body);
    let mut current: Cow<'_, str> = Cow::Borrowed(&text);
    let mut changed = false;
    for re in &m.patterns {
        let replaced = re.try_replacen(&current, 0, fancy_regex::NoExpand(&m.mask))?;
        if let Cow::Owned(new) = replaced {
            current = Cow::Owned(new);
            changed = true;
        }
    }
    Ok(changed.then(|| current.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policies::secret_masking::BUILT_IN_PATTERNS;
    use fancy_regex::Regex;

    fn masking(extra: &[&str], mask: &str) -> SecretMasking {
        SecretMasking {
            mask: mask.to_string(),
            patterns: BUILT_IN_PATTERNS
                .iter()
                .chain(extra)
                .map(|p| Regex::new(p).unwrap())
                .collect(),
        }
    }

    #[test]
    fn built_in_patterns_mask_keys_tokens_and_pem_blocks() {
        let zpka = format!("zpka_{}", "a1B2_".repeat(9));
        let ghp = format!("ghp_{}", "x".repeat(36));
        let pat = format!("github_pat_{}", "Y_".repeat(11));
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\nabc\n-----END RSA PRIVATE KEY-----";
        let body = format!("k={zpka} g={ghp} p={pat} pem={pem} end");
        let out = mask(&masking(&[], "[REDACTED]"), body.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            "k=[REDACTED] g=[REDACTED] p=[REDACTED] pem=[REDACTED] end"
        );
    }

    #[test]
    fn short_lookalikes_and_clean_bodies_are_left_alone() {
        let body = format!("zpka_{} ghp_short", "a".repeat(41));
        assert_eq!(mask(&masking(&[], "X"), body.as_bytes()).unwrap(), None);
    }

    #[test]
    fn additional_look_behind_pattern_and_literal_mask() {
        let m = masking(&[r#"(?<="secret":\s*")[^"]+"#], "$1$&");
        let out = mask(&m, br#"{"secret": "hunter2", "other": "x"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(out, r#"{"secret": "$1$&", "other": "x"}"#);
    }
}
