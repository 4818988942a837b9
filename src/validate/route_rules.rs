//! Route rules: policy references (11), MCP routes (14–27), their handler (28–31 via
//! `config::policies::handlers`, 108) and built-in handlers mcpgw cannot run (D11).

use super::{Model, is_mcp_oauth_policy, is_token_exchange_policy};
use crate::config::policies::PolicyKind;
use crate::config::policies::handlers::{HandlerConfig, MCP_GATEWAY_MODULE};
use crate::config::project::{Project, Route};
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::rules;
use crate::diag::source::Spanned;
use std::collections::HashMap;

pub fn check(project: &Project, model: &Model, findings: &mut Findings) {
    for (i, route) in project.routes.iter().enumerate() {
        unknown_references(project, route, findings);
        wrong_direction(project, route, findings);
        handler(project, model, i, route, findings);
    }
    for &i in &model.mcp_routes {
        mcp_route(project, &project.routes[i], findings);
    }
    mcp_route_uniqueness(project, model, findings);
    oauth_singleton(project, model, findings);
}

fn unknown_references(project: &Project, route: &Route, findings: &mut Findings) {
    // without a readable policies.json every name would be "unknown": rule 6 already says why
    if !project.policies_readable {
        return;
    }
    for name in route.inbound.iter().chain(&route.outbound) {
        if project.policy(&name.value).is_none()
            && !project.incomplete_policies.contains(&name.value)
        {
            let near = closest(
                &name.value,
                project.policies.iter().map(|p| p.name.value.as_str()),
            );
            let help = match near {
                Some(n) => format!(
                    "did you mean {n:?}? Otherwise add a policy named {:?} to config/policies.json",
                    name.value
                ),
                None => format!(
                    "add a policy named {:?} to config/policies.json",
                    name.value
                ),
            };
            findings.push_with_help(
                &rules::UNKNOWN_POLICY_REFERENCE,
                name.span,
                format!(
                    "route {} references policy {:?}, which policies.json does not define",
                    route.path.value, name.value
                ),
                help,
            );
        }
    }
}

/// A built-in policy listed in the other direction (an `-outbound` type under `inbound`, an
/// `-inbound` one under `outbound`): Zuplo would call it with the other signature, and mcpgw
/// dev refuses the route with 501 (`gateway::pipeline::unsupported`).
fn wrong_direction(project: &Project, route: &Route, findings: &mut Findings) {
    let lists = [
        ("inbound", &route.inbound, "-outbound"),
        ("outbound", &route.outbound, "-inbound"),
    ];
    for (list, names, wrong_suffix) in lists {
        for name in names {
            let Some(p) = project.policy(&name.value) else {
                continue;
            };
            // a custom module's direction is its own signature (custom_rules, §17.1)
            if p.handler.is_custom_module() || !p.policy_type.value.ends_with(wrong_suffix) {
                continue;
            }
            findings.push_with_help(
                &rules::UNSUPPORTED_IN_DEV,
                name.span,
                format!(
                    "route {} lists the {} policy {:?} under policies.{list}; it answers 501 under mcpgw dev",
                    route.path.value,
                    p.policy_type.value,
                    name.value
                ),
                format!(
                    "move {:?} to policies.{}",
                    name.value,
                    if list == "inbound" { "outbound" } else { "inbound" }
                ),
            );
        }
    }
}

/// The most similar name, for "did you mean" hints.
fn closest<'a>(target: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    names
        .map(|n| (edit_distance(target, n), n))
        .filter(|(d, n)| *d <= 3.max(n.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn handler(project: &Project, model: &Model, i: usize, route: &Route, findings: &mut Findings) {
    let Some(h) = &route.handler else { return };
    let export_span = h.export.as_ref().map_or(h.span, |e| e.span);
    if h.export() == "McpProxyHandler" && !h.is_custom_module() && h.module() != MCP_GATEWAY_MODULE
    {
        let span = h.module.as_ref().map_or(h.span, |m| m.span);
        findings.push(
            &rules::MCP_HANDLER_MODULE,
            span,
            format!(
                "route {}: McpProxyHandler is imported from {:?}; the gateway only recognises it from {MCP_GATEWAY_MODULE}",
                route.path.value,
                h.module()
            ),
        );
    }
    // custom handlers run in the Node worker: `custom_rules` checks them (MCP115–MCP118)
    if let Some(Some(HandlerConfig::Unsupported { export, module })) = model.handlers.get(i)
        && !h.is_custom_module()
    {
        findings.push(
            &rules::UNSUPPORTED_IN_DEV,
            export_span,
            format!(
                "route {}: mcpgw dev cannot run the handler {export} from {module}; the route answers 501 under mcpgw dev",
                route.path.value
            ),
        );
    }
    // rule 20: a proxy route without the OAuth policy (only when every listed policy is known:
    // an unknown or broken one may be the OAuth policy, and is reported already)
    if h.export() == "McpProxyHandler" && project.route_policies_resolved(route) {
        let policies: Vec<_> = route
            .inbound
            .iter()
            .filter_map(|n| project.policy(&n.value))
            .collect();
        let has_oauth = policies.iter().any(|p| is_mcp_oauth_policy(p));
        if !has_oauth {
            let gateway_policy = policies.iter().any(|p| {
                matches!(
                    PolicyKind::of(&p.policy_type.value),
                    PolicyKind::TokenExchange | PolicyKind::CapabilityFilter
                )
            });
            let severity = if gateway_policy {
                Severity::Error
            } else {
                Severity::Warning
            };
            findings.push_as(
                &rules::MCP_ROUTE_WITHOUT_OAUTH,
                severity,
                route.span(),
                format!(
                    "route {} uses McpProxyHandler without an MCP OAuth policy: clients reach the upstream without gateway authentication{}",
                    route.path.value,
                    if gateway_policy { ", and its token-exchange/capability-filter policies need the authenticated user" } else { "" }
                ),
            );
        }
    }
}

fn mcp_route(project: &Project, route: &Route, findings: &mut Findings) {
    let path = &route.path.value;
    // 14
    match &route.operation_id {
        Some(id) if !id.value.trim().is_empty() => {}
        Some(id) => findings.push(
            &rules::MCP_ROUTE_OPERATION_ID,
            id.span,
            format!("MCP route {path} must declare a non-empty operationId"),
        ),
        None => findings.push(
            &rules::MCP_ROUTE_OPERATION_ID,
            route.span(),
            format!(
                "MCP route {path} must declare operationId in {}",
                project.sources.get(route.file).path
            ),
        ),
    }

    let oauth: Vec<(usize, &Spanned<String>)> = route
        .inbound
        .iter()
        .enumerate()
        .filter(|(_, n)| project.policy(&n.value).is_some_and(is_mcp_oauth_policy))
        .collect();
    let exchange: Vec<(usize, &Spanned<String>)> = route
        .inbound
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            project
                .policy(&n.value)
                .is_some_and(is_token_exchange_policy)
        })
        .collect();
    // 17, 18
    if oauth.len() > 1 {
        let names: Vec<&str> = oauth.iter().map(|(_, n)| n.value.as_str()).collect();
        findings.push(
            &rules::ONE_OAUTH_POLICY_PER_ROUTE,
            oauth[1].1.span,
            format!(
                "MCP route {path} must bind at most one MCP OAuth policy; found {}",
                names.join(", ")
            ),
        );
    }
    if exchange.len() > 1 {
        findings.push(
            &rules::ONE_TOKEN_EXCHANGE_PER_ROUTE,
            exchange[1].1.span,
            format!(
                "MCP route {path} must bind at most one MCP token exchange policy; found {}.",
                exchange.len()
            ),
        );
    }
    // 27, 21
    if let Some((ti, tname)) = exchange.first() {
        match oauth.first() {
            // an unknown or broken policy in the list may be the OAuth policy (rule 11 / MCP106)
            None if !project.route_policies_resolved(route) => {}
            None => findings.push(
                &rules::TOKEN_EXCHANGE_WITHOUT_OAUTH,
                tname.span,
                format!("MCP route {path}: token-exchange policy {:?} has no MCP OAuth policy before it, so the user cannot be resolved (identity_context_missing)", tname.value),
            ),
            Some((oi, oname)) if oi > ti => findings.push(
                &rules::OAUTH_BEFORE_TOKEN_EXCHANGE,
                oname.span,
                format!("MCP route {path}: MCP OAuth policy {:?} must come before token-exchange policy {:?}", oname.value, tname.value),
            ),
            _ => {}
        }
        // 25 (a route without any handler is MCP107's finding)
        if let Some(h) = &route.handler
            && h.export() != "McpProxyHandler"
        {
            let span = h.export.as_ref().map_or(h.span, |e| e.span);
            findings.push(
                &rules::TOKEN_EXCHANGE_NEEDS_PROXY,
                span,
                format!("MCP route {path} uses token exchange but its handler is not McpProxyHandler: MCP route must configure handler.options.rewritePattern"),
            );
        }
    }
    // 22
    let last = route.inbound.len().saturating_sub(1);
    for (i, n) in route.inbound.iter().enumerate() {
        let is_filter = project
            .policy(&n.value)
            .is_some_and(|p| PolicyKind::of(&p.policy_type.value) == PolicyKind::CapabilityFilter);
        if is_filter && i != last {
            findings.push(
                &rules::CAPABILITY_FILTER_LAST,
                n.span,
                format!("MCP route {path}: capability filter {:?} should be the last inbound policy (after token exchange and any policy that answers)", n.value),
            );
        }
    }
    // 23
    if let Some(cors) = &route.cors_policy
        && cors.value != "none"
    {
        findings.push(
            &rules::MCP_ROUTE_CORS,
            cors.span,
            format!(
                "MCP route {path} sets corsPolicy {:?}; MCP routes use \"none\"",
                cors.value
            ),
        );
    }
    // 24 (an mcpServerHandler route is POST only: rule 78 replaces the get,post advice)
    let mut methods = route.methods.clone();
    methods.sort();
    methods.dedup();
    let server_handler = route
        .handler
        .as_ref()
        .is_some_and(|h| h.export() == "mcpServerHandler");
    if !server_handler && methods != ["get", "post"] && methods != ["post"] {
        findings.push(
            &rules::MCP_ROUTE_METHODS,
            route.method_key.span,
            format!("MCP route {path} uses methods {:?}; use \"get,post\" (GET answers 405, POST carries MCP)", route.method_key.value),
        );
    }
}

fn mcp_route_uniqueness(project: &Project, model: &Model, findings: &mut Findings) {
    let mut ids: HashMap<&str, &Route> = HashMap::new();
    let mut paths: HashMap<&str, &Route> = HashMap::new();
    for route in project
        .routes
        .iter()
        .enumerate()
        .filter(|(i, _)| model.is_mcp_route(*i))
        .map(|(_, r)| r)
    {
        if let Some(id) = route
            .operation_id
            .as_ref()
            .filter(|id| !id.value.trim().is_empty())
            && let Some(first) = ids.insert(&id.value, route)
        {
            let (file, line, _) = project.sources.locate(first.span());
            findings.push(
                &rules::DUPLICATE_MCP_OPERATION_ID,
                id.span,
                format!(
                    "duplicate MCP route operationId {} across routes (also {} at {file}:{line})",
                    id.value, first.path.value
                ),
            );
            ids.insert(&id.value, first);
        }
        if let Some(first) = paths.insert(&route.path.value, route) {
            let (file, line, _) = project.sources.locate(first.span());
            findings.push(
                &rules::DUPLICATE_MCP_PATH,
                route.method_key.span,
                format!(
                    "duplicate MCP route path {} across routes (first at {file}:{line})",
                    route.path.value
                ),
            );
            paths.insert(&route.path.value, first);
        }
        // 26
        if route.path.value.contains('{') {
            findings.push(
                &rules::MCP_ROUTE_PATH_PARAMETER,
                route.path.span,
                format!(
                    "MCP route {} has a path parameter and is left out of the MCP server registry",
                    route.path.value
                ),
            );
        }
    }
    // 26 also for standalone MCP server routes (registry only)
    for (i, route) in project.routes.iter().enumerate() {
        let standalone = !model.is_mcp_route(i)
            && route
                .handler
                .as_ref()
                .is_some_and(|h| h.export() == "McpProxyHandler");
        if standalone && route.path.value.contains('{') {
            findings.push(
                &rules::MCP_ROUTE_PATH_PARAMETER,
                route.path.span,
                format!("MCP server route {} has a path parameter and is left out of the MCP server registry", route.path.value),
            );
        }
    }
}

/// Rule 19: one MCP OAuth policy for the whole project.
fn oauth_singleton(project: &Project, model: &Model, findings: &mut Findings) {
    let mut attached: Vec<&str> = Vec::new();
    for &i in &model.mcp_routes {
        let route = &project.routes[i];
        for n in &route.inbound {
            if project.policy(&n.value).is_some_and(is_mcp_oauth_policy) {
                if attached.is_empty() || attached.contains(&n.value.as_str()) {
                    if attached.is_empty() {
                        attached.push(&n.value);
                    }
                } else {
                    attached.push(&n.value);
                    findings.push(
                        &rules::OAUTH_POLICY_SINGLETON,
                        n.span,
                        format!(
                            "MCP gateway found multiple attached OAuth policies: {} (route {} attaches {:?}); one MCP OAuth policy serves every MCP route",
                            attached.join(", "),
                            route.path.value,
                            n.value
                        ),
                    );
                }
            }
        }
    }
    let declared: Vec<_> = project
        .policies
        .iter()
        .enumerate()
        .filter(|(_, p)| is_mcp_oauth_policy(p))
        .collect();
    if declared.len() > 1 {
        for (_, p) in &declared {
            if !attached.contains(&p.name.value.as_str()) {
                findings.push_as(
                    &rules::OAUTH_POLICY_SINGLETON,
                    Severity::Warning,
                    p.name.span,
                    format!(
                        "MCP OAuth policy {:?} is declared but not attached; only one MCP OAuth policy may be attached per project ({} declared)",
                        p.name.value,
                        declared.len()
                    ),
                );
            }
        }
    }
}
