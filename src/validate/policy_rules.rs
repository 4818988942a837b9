//! Policy rules across the project: export classes (109), upstream ids (35), upstreams known
//! to need scopes (43), and the built-in policies mcpgw cannot run (D11).

use super::Model;
use crate::config::policies::handlers::HandlerConfig;
use crate::config::policies::token_exchange::AuthMode;
use crate::config::policies::{PolicyConfig, PolicyKind};
use crate::config::project::Project;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use std::collections::HashMap;

pub fn check(project: &Project, model: &Model, findings: &mut Findings) {
    exports(project, findings);
    upstream_ids(project, model, findings);
    scopes_needed(project, model, findings);
    unsupported(project, model, findings);
}

fn exports(project: &Project, findings: &mut Findings) {
    for p in &project.policies {
        let kind = PolicyKind::of(&p.policy_type.value);
        let Some(expected) = kind.export() else {
            continue;
        };
        if p.handler.is_custom_module() || p.handler.export.is_none() {
            continue;
        }
        if p.handler.export() != expected {
            let span = p.handler.export.as_ref().map_or(p.span, |e| e.span);
            let consequence = match kind {
                PolicyKind::OAuth(_) => {
                    ": the gateway will not treat it as an MCP OAuth policy, so routes using it are not MCP routes"
                }
                _ => "",
            };
            findings.push_with_help(
                &rules::POLICY_EXPORT_MISMATCH,
                span,
                format!(
                    "policy {:?} of type {} exports {:?}{consequence}",
                    p.name.value,
                    p.policy_type.value,
                    p.handler.export()
                ),
                format!("set handler.export to \"{expected}\""),
            );
        }
    }
}

fn upstream_ids(project: &Project, model: &Model, findings: &mut Findings) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (p, cfg) in project.policies.iter().zip(&model.policies) {
        let PolicyConfig::TokenExchange(t) = cfg else {
            continue;
        };
        if let Some(first) = seen.insert(&t.upstream_id.value, &p.name.value) {
            findings.push(
                &rules::DUPLICATE_UPSTREAM_ID,
                t.upstream_id.span,
                format!(
                    "duplicate upstream MCP connection id {:?} in policies.json (policies {:?} and {:?})",
                    t.upstream_id.value, first, p.name.value
                ),
            );
        }
    }
}

/// Hosts of upstreams whose docs say scopes must be listed (rule 43).
const NEEDS_SCOPES: &[(&str, &str)] = &[
    ("microsoft.com", "Microsoft 365"),
    ("office.com", "Microsoft 365"),
    ("office365.com", "Microsoft 365"),
    ("sharepoint.com", "Microsoft 365"),
    ("slack.com", "Slack"),
    ("posthog.com", "PostHog"),
    ("stripe.com", "Stripe"),
    ("grafana.net", "Grafana Cloud"),
    ("grafana.com", "Grafana Cloud"),
];

fn scopes_needed(project: &Project, model: &Model, findings: &mut Findings) {
    let mut reported = std::collections::HashSet::new();
    for (ri, route) in project.routes.iter().enumerate() {
        let Some(Some(HandlerConfig::McpProxy(proxy))) = model.handlers.get(ri) else {
            continue;
        };
        let Some(host) = proxy.target.url().host_str() else {
            continue;
        };
        let Some((_, vendor)) = NEEDS_SCOPES
            .iter()
            .find(|(h, _)| host == *h || host.ends_with(&format!(".{h}")))
        else {
            continue;
        };
        for n in &route.inbound {
            let Some(pi) = project.policy_position(&n.value) else {
                continue;
            };
            let PolicyConfig::TokenExchange(t) = &model.policies[pi] else {
                continue;
            };
            if t.auth_mode == AuthMode::IdJag
                || t.scopes.as_ref().is_some_and(|s| !s.is_empty())
                || !reported.insert(pi)
            {
                continue;
            }
            let p = &project.policies[pi];
            let span = p
                .handler
                .options
                .as_ref()
                .and_then(|o| o.member("scopes").map(|m| m.key_span))
                .unwrap_or(p.name.span);
            findings.push(
                &rules::SCOPES_REQUIRED_UPSTREAM,
                span,
                format!(
                    "policy {:?} sends no scopes, but {vendor} ({host}) needs explicit scopes",
                    p.name.value
                ),
            );
        }
    }
}

/// Built-in policies and modes mcpgw does not run (D11). Custom code (`$import(./modules/…)`,
/// rate-limit and capability-filter functions) runs in the Node worker: `custom_rules`.
fn unsupported(project: &Project, model: &Model, findings: &mut Findings) {
    for (p, cfg) in project.policies.iter().zip(&model.policies) {
        if p.handler.is_custom_module() {
            continue;
        }
        let what = match cfg {
            PolicyConfig::Other => Some(format!(
                "policy type {} (policy {:?})",
                p.policy_type.value, p.name.value
            )),
            PolicyConfig::TokenExchange(t) if t.auth_mode == AuthMode::IdJag => Some(format!(
                "authMode id-jag of policy {:?} (ID-JAG comes in a later version)",
                p.name.value
            )),
            PolicyConfig::OAuth(o) if o.id_jag.enabled => Some(format!(
                "idJag of policy {:?} (downstream ID-JAG comes in a later version)",
                p.name.value
            )),
            _ => None,
        };
        if let Some(what) = what {
            findings.push(
                &rules::UNSUPPORTED_IN_DEV,
                p.policy_type.span,
                format!(
                    "mcpgw dev cannot run the {what}; routes that use it answer 501 under mcpgw dev"
                ),
            );
        }
    }
}
