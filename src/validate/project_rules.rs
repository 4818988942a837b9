//! Project-wide rules: zuplo.jsonc (2–5), policy names (7), secrets in git (10), the plugin
//! (12, 13).

use crate::config::jsonc::{Node, Value};
use crate::config::plugin::route_prefix_problem;
use crate::config::policies::PolicyKind;
use crate::config::project::Project;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::diag::source::Span;
use std::collections::HashMap;

pub const KNOWN_DATES: [&str; 6] = [
    "2023-03-14",
    "2024-01-15",
    "2024-03-14",
    "2024-09-02",
    "2025-02-06",
    "2026-03-01",
];
pub const MCP_DATE: &str = "2026-03-01";

pub fn check(project: &Project, findings: &mut Findings) {
    zuplo_config(project, findings);
    duplicate_policy_names(project, findings);
    secrets(project, findings);
    plugin(project, findings);
}

/// Whether the project uses MCP gateway features: a McpProxyHandler route or an `mcp-*-inbound`
/// policy referenced by a route (rule 4, rule 12).
pub fn uses_mcp_features(project: &Project) -> Option<Span> {
    for route in &project.routes {
        if let Some(h) = &route.handler
            && h.export() == "McpProxyHandler"
        {
            return Some(h.export.as_ref().map_or(h.span, |e| e.span));
        }
        for name in &route.inbound {
            if let Some(p) = project.policy(&name.value) {
                let t = &p.policy_type.value;
                if t.starts_with("mcp-") && t.ends_with("-inbound") {
                    return Some(name.span);
                }
            }
        }
    }
    None
}

fn zuplo_config(project: &Project, findings: &mut Findings) {
    let Some(root) = &project.zuplo else { return };

    if let Some(v) = root.get("version")
        && v.as_f64() != Some(1.0)
    {
        findings.push(
            &rules::ZUPLO_VERSION,
            v.span,
            format!(
                "invalid version set in zuplo.jsonc file: {} (must be 1)",
                v.to_json()
            ),
        );
    }

    let date = root.get("compatibilityDate");
    let mut date_ok = false;
    if let Some(d) = date {
        match d.as_str() {
            Some(s) if KNOWN_DATES.contains(&s) => date_ok = true,
            _ => findings.push(
                &rules::COMPATIBILITY_DATE_UNKNOWN,
                d.span,
                format!(
                    "compatibilityDate {} is not a known date; valid dates are {}",
                    d.to_json(),
                    KNOWN_DATES.join(", ")
                ),
            ),
        }
    }
    if let Some(used_at) = uses_mcp_features(project) {
        let (path, line, _) = project.sources.locate(used_at);
        let where_used = format!("{path}:{line}");
        match date {
            None => findings.push(
                &rules::COMPATIBILITY_DATE_MCP,
                root.span,
                format!(
                    "MCP gateway features are used ({where_used}) but compatibilityDate is not set; they need {MCP_DATE}, without it an upstream 401 reaches the client instead of being refreshed and retried"
                ),
            ),
            Some(d) if date_ok && d.as_str() != Some(MCP_DATE) => findings.push(
                &rules::COMPATIBILITY_DATE_MCP,
                d.span,
                format!(
                    "MCP gateway features are used ({where_used}) but compatibilityDate is {}; they need {MCP_DATE}: without chained response hooks the token-exchange 401 retry is lost and the upstream 401 reaches the client",
                    d.to_json()
                ),
            ),
            _ => {}
        }
    }

    for key in ["allowDuplicateRoutes", "allowHostHeaderOverride"] {
        if let Some(v) = root.get(key)
            && v.as_bool().is_none()
        {
            findings.push(
                &rules::ZUPLO_CONFIG_TYPES,
                v.span,
                format!("`{key}` must be a boolean, found {}", v.kind_name()),
            );
        }
    }
    if let Some(portal) = root.get("devPortal")
        && let Some(v) = portal.get("serverSideRendering")
        && v.as_bool().is_none()
    {
        findings.push(
            &rules::ZUPLO_CONFIG_TYPES,
            v.span,
            format!(
                "`devPortal.serverSideRendering` must be a boolean, found {}",
                v.kind_name()
            ),
        );
    }
    if let Some(v) = root.get("projectType") {
        let ok = matches!(
            v.as_str(),
            Some("managed-edge" | "managed-dedicated" | "self-hosted")
        );
        if !ok {
            findings.push(
                &rules::PROJECT_TYPE,
                v.span,
                format!(
                    "projectType {} is not managed-edge, managed-dedicated or self-hosted",
                    v.to_json()
                ),
            );
        }
    }
}

fn duplicate_policy_names(project: &Project, findings: &mut Findings) {
    let mut first: HashMap<&str, Span> = HashMap::new();
    for p in &project.policies {
        if let Some(prev) = first.get(p.name.value.as_str()) {
            let (_, line, _) = project.sources.locate(*prev);
            findings.push(
                &rules::DUPLICATE_POLICY_NAME,
                p.name.span,
                format!(
                    "duplicate policy name {:?} in policies.json (first defined on line {line})",
                    p.name.value
                ),
            );
        } else {
            first.insert(&p.name.value, p.name.span);
        }
    }
}

fn secrets(project: &Project, findings: &mut Findings) {
    let s = &project.secrets;
    if s.env_exists
        && !s.env_ignored
        && let Some((id, _)) = project.sources.iter().find(|(_, f)| f.path == ".env")
    {
        findings.push(
            &rules::SECRETS_NOT_IGNORED,
            Span::file_start(id),
            ".env is not git-ignored: its secrets would be committed",
        );
    }
    if s.local_exists && !s.local_ignored {
        let span = project.zuplo_file.map(Span::file_start);
        if let Some(span) = span {
            findings.push(&rules::SECRETS_NOT_IGNORED, span, ".zuplo-local/ is not git-ignored: local certificates and secrets would be committed");
        }
    }
}

fn plugin(project: &Project, findings: &mut Findings) {
    let uses_mcp = uses_mcp_features(project).is_some()
        || project.policies.iter().any(|p| {
            matches!(
                PolicyKind::of(&p.policy_type.value),
                PolicyKind::OAuth(_) | PolicyKind::TokenExchange
            )
        });
    if uses_mcp && !project.plugin.is_registered() {
        let span = project
            .plugin
            .file
            .or(project.zuplo_file)
            .map(Span::file_start);
        if let Some(span) = span {
            let what = if project.plugin.file.is_some() {
                "modules/zuplo.runtime.ts does not register McpGatewayPlugin"
            } else {
                "modules/zuplo.runtime.ts is missing, so McpGatewayPlugin is not registered"
            };
            findings.push(
                &rules::PLUGIN_NOT_REGISTERED,
                span,
                format!("{what}: the OAuth endpoints are absent and the first MCP request fails (\"MCP gateway connection registry has not been initialized\")"),
            );
        }
    }

    let Some(options) = &project.plugin.options else {
        return;
    };
    let rule = &rules::PLUGIN_OPTIONS_INVALID;
    let Some(members) = options.as_object() else {
        findings.push(
            rule,
            options.span,
            "McpGatewayPlugin options must be an object",
        );
        return;
    };
    for m in members {
        if !["basePath", "registry"].contains(&m.key.as_str()) {
            findings.push(
                rule,
                m.key_span,
                format!(
                    "McpGatewayPlugin: unknown option `{}` (allowed: basePath, registry)",
                    m.key
                ),
            );
        }
    }
    let mut base = "/__zuplo".to_string();
    if let Some(b) = options.get("basePath") {
        match b.as_str() {
            Some(s) => match route_prefix_problem(s) {
                Some(problem) => findings.push(
                    rule,
                    b.span,
                    format!("McpGatewayPlugin basePath {s:?}: {problem}"),
                ),
                None => base = s.to_string(),
            },
            None => findings.push(rule, b.span, "McpGatewayPlugin basePath must be a string"),
        }
    }
    let Some(reg) = options.get("registry") else {
        return;
    };
    let Some(reg_members) = reg.as_object() else {
        findings.push(
            rule,
            reg.span,
            "McpGatewayPlugin registry must be an object",
        );
        return;
    };
    for m in reg_members {
        if !["enabled", "path"].contains(&m.key.as_str()) {
            findings.push(
                rule,
                m.key_span,
                format!(
                    "McpGatewayPlugin registry: unknown option `{}` (allowed: enabled, path)",
                    m.key
                ),
            );
        }
    }
    let mut enabled = true;
    if let Some(e) = reg.get("enabled") {
        match e.value {
            Value::Bool(b) => enabled = b,
            _ => findings.push(
                rule,
                e.span,
                "McpGatewayPlugin registry.enabled must be a boolean",
            ),
        }
    }
    if let Some(p) = reg.get("path") {
        check_registry_path(p, &base, enabled, findings);
    }
}

fn check_registry_path(p: &Node, base: &str, enabled: bool, findings: &mut Findings) {
    let rule = &rules::PLUGIN_OPTIONS_INVALID;
    let Some(s) = p.as_str() else {
        findings.push(
            rule,
            p.span,
            "McpGatewayPlugin registry.path must be a string",
        );
        return;
    };
    if let Some(problem) = route_prefix_problem(s) {
        findings.push(
            rule,
            p.span,
            format!("McpGatewayPlugin registry.path {s:?}: {problem}"),
        );
        return;
    }
    if !enabled {
        return;
    }
    let prefix = if base == "/" { "" } else { base };
    let authorize = format!("{prefix}/oauth/authorize");
    for reserved in ["/.well-known", authorize.as_str()] {
        if s == reserved || s.starts_with(&format!("{reserved}/")) {
            findings.push(
                rule,
                p.span,
                format!("McpGatewayPlugin registry.path {s:?} must not be or sit under {reserved}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::plugin::route_prefix_problem;

    #[test]
    fn base_path_rules() {
        for ok in ["/", "/__zuplo", "/a/b.c~d-e"] {
            assert_eq!(route_prefix_problem(ok), None, "{ok}");
        }
        for bad in [
            " /a", "a", "//a", "/a?", "/a/", "/a//b", "/:id", "/a/..", "/é",
        ] {
            assert!(route_prefix_problem(bad).is_some(), "{bad}");
        }
    }
}
