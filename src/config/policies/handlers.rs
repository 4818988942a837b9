//! Route handler options: `McpProxyHandler` (SPEC §2.4, rules 28–31), `urlForwardHandler`,
//! `urlRewriteHandler`, and which spelling of `mcpServerHandler` exists (rule 79).
//!
//! Owns: the typed forwarding target of a route and its options with defaults, including the
//! whole-value `${env.NAME}` form of `rewritePattern` (rule 30). Custom TypeScript handlers are
//! recognised here and reported by `validate` (D11).

use super::reader::{ObjReader, parse_url};
use crate::config::env::EnvVars;
use crate::config::jsonc::Node;
use crate::config::project::HandlerRef;
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::rules;

pub const MCP_GATEWAY_MODULE: &str = "$import(@zuplo/runtime/mcp-gateway)";
pub const RUNTIME_MODULE: &str = "$import(@zuplo/runtime)";

/// Where a proxy sends requests.
#[derive(Debug, Clone, PartialEq)]
pub enum ProxyTarget {
    Url(url::Url),
    /// `${env.NAME}`, resolved at load time (rule 30).
    Env {
        name: String,
        url: url::Url,
    },
}

impl ProxyTarget {
    pub fn url(&self) -> &url::Url {
        match self {
            ProxyTarget::Url(u) | ProxyTarget::Env { url: u, .. } => u,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProxyOptions {
    pub target: ProxyTarget,
    /// Append the inbound query string (default true).
    pub forward_search: bool,
    /// Follow upstream redirects (default false: returned as-is).
    pub follow_redirects: bool,
    pub mtls_certificate: Option<String>,
    pub request_timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HandlerConfig {
    McpProxy(ProxyOptions),
    /// `urlForwardHandler`: `baseUrl` + the request path.
    UrlForward {
        base_url: String,
        forward_search: bool,
        follow_redirects: bool,
    },
    /// `urlRewriteHandler`: `rewritePattern` (request templates allowed).
    UrlRewrite {
        rewrite_pattern: String,
        forward_search: bool,
        follow_redirects: bool,
    },
    /// `mcpServerHandler` (§15): the route is an MCP server built from the project's own
    /// routes; its tools, prompts and resources are `Model::mcp_servers`.
    McpServer,
    /// `$import(./modules/...)` or a built-in handler mcpgw does not run (D11).
    Unsupported {
        export: String,
        module: String,
    },
    /// The options did not pass; findings say why.
    Invalid,
}

/// Reads a route's handler. `is_mcp` routes report McpProxyHandler problems by their rules.
pub fn parse(
    route: &str,
    handler: &HandlerRef,
    env: &EnvVars,
    findings: &mut Findings,
) -> HandlerConfig {
    let empty = Node {
        span: handler.span,
        value: crate::config::jsonc::Value::Object(Vec::new()),
        env: None,
    };
    let options = handler.options.as_ref().unwrap_or(&empty);
    match handler.export() {
        "McpProxyHandler" if !handler.is_custom_module() => {
            match parse_proxy(route, options, env, findings) {
                Some(p) => HandlerConfig::McpProxy(p),
                None => HandlerConfig::Invalid,
            }
        }
        "urlForwardHandler" if handler.module() == RUNTIME_MODULE => {
            match read_url_handler(route, options, "baseUrl", findings) {
                Some((base_url, forward_search, follow_redirects)) => HandlerConfig::UrlForward {
                    base_url,
                    forward_search,
                    follow_redirects,
                },
                None => HandlerConfig::Invalid,
            }
        }
        "urlRewriteHandler" if handler.module() == RUNTIME_MODULE => {
            match read_url_handler(route, options, "rewritePattern", findings) {
                Some((rewrite_pattern, forward_search, follow_redirects)) => {
                    HandlerConfig::UrlRewrite {
                        rewrite_pattern,
                        forward_search,
                        follow_redirects,
                    }
                }
                None => HandlerConfig::Invalid,
            }
        }
        "mcpServerHandler" if handler.module() == RUNTIME_MODULE => HandlerConfig::McpServer,
        // rule 79: `McpServerHandler` and other spellings exist in no version of the runtime
        export
            if handler.module() == RUNTIME_MODULE
                && export.eq_ignore_ascii_case("mcpServerHandler") =>
        {
            let span = handler.export.as_ref().map_or(handler.span, |e| e.span);
            findings.push(
                &rules::MCP_SERVER_EXPORT,
                span,
                format!(
                    "route {route}: {RUNTIME_MODULE} has no export {export:?}; the MCP Server handler is \"mcpServerHandler\""
                ),
            );
            HandlerConfig::Invalid
        }
        export => HandlerConfig::Unsupported {
            export: export.to_string(),
            module: handler.module().to_string(),
        },
    }
}

/// `(target, forwardSearch, followRedirects)` of the URL forward/rewrite handlers.
fn read_url_handler(
    route: &str,
    options: &Node,
    target_key: &str,
    findings: &mut Findings,
) -> Option<(String, bool, bool)> {
    let mut r = ObjReader::new(
        options,
        format!("route {route}: handler.options"),
        &rules::ROUTE_SHAPE,
        findings,
    )?;
    let target = r.req_nonempty(target_key);
    let forward_search = r.opt_bool("forwardSearch").is_none_or(|b| b.value);
    let follow_redirects = r.opt_bool("followRedirects").is_some_and(|b| b.value);
    Some((target?.value, forward_search, follow_redirects))
}

fn parse_proxy(
    route: &str,
    options: &Node,
    env: &EnvVars,
    findings: &mut Findings,
) -> Option<ProxyOptions> {
    let ctx = format!("route {route}: McpProxyHandler options");
    let mut r = ObjReader::new(options, ctx, &rules::PROXY_OPTION_TYPES, findings)?;
    for m in r.members() {
        if ![
            "rewritePattern",
            "forwardSearch",
            "followRedirects",
            "mtlsCertificate",
            "requestTimeoutSeconds",
        ]
        .contains(&m.key.as_str())
        {
            r.findings.push_as(
                &rules::PROXY_OPTION_TYPES,
                Severity::Warning,
                m.key_span,
                format!("{}: unknown option `{}` is ignored", r.ctx, m.key),
            );
        }
    }
    let forward_search = r.opt_bool("forwardSearch").is_none_or(|b| b.value);
    let follow_redirects = r.opt_bool("followRedirects").is_some_and(|b| b.value);
    let mtls_certificate = r.opt_str("mtlsCertificate").map(|s| s.value);
    let request_timeout_seconds = r.opt_pos_int("requestTimeoutSeconds").map(|s| s.value);

    if !r.has("rewritePattern") {
        r.missing("rewritePattern", &rules::REWRITE_PATTERN_REQUIRED);
        return None;
    }
    let pattern = r.opt_str_with("rewritePattern", &rules::REWRITE_PATTERN_REQUIRED)?;
    if pattern.value.trim().is_empty() {
        r.err(
            &rules::REWRITE_PATTERN_REQUIRED,
            pattern.span,
            format!("{}: rewritePattern must not be empty", r.ctx),
        );
        return None;
    }
    let target = if pattern.value.contains("${") {
        let Some(name) = whole_env_template(&pattern.value) else {
            r.err(
                &rules::REWRITE_PATTERN_TEMPLATE,
                pattern.span,
                format!(
                    "{}: {:?} is a dynamic rewrite pattern; MCP token exchange requires a static rewritePattern (only a whole-value ${{env.NAME}} is allowed)",
                    r.ctx, pattern.value
                ),
            );
            return None;
        };
        let Some(var) = env.get(name) else {
            r.err(
                &rules::REWRITE_PATTERN_TEMPLATE,
                pattern.span,
                format!(
                    "{}: ${{env.{name}}} is not set in .env or the environment",
                    r.ctx
                ),
            );
            return None;
        };
        // `--env-example`: the deployment sets it; `.env.example` holds only a placeholder
        let deployment_placeholder = || {
            var.from_deployment
                .then(|| parse_url("https://set-by-the-deployment.invalid/"))
                .flatten()
        };
        match parse_url(&var.value)
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .or_else(deployment_placeholder)
        {
            Some(url) => ProxyTarget::Env {
                name: name.to_string(),
                url,
            },
            None => {
                r.err(
                    &rules::REWRITE_PATTERN_TEMPLATE,
                    pattern.span,
                    format!(
                        "{}: ${{env.{name}}} is {:?}, which is not an http(s) URL",
                        r.ctx, var.value
                    ),
                );
                return None;
            }
        }
    } else {
        match parse_url(&pattern.value) {
            None => {
                r.err(
                    &rules::REWRITE_PATTERN_URL,
                    pattern.span,
                    format!(
                        "{}: rewritePattern {:?} must be an absolute URL",
                        r.ctx, pattern.value
                    ),
                );
                return None;
            }
            Some(u) if !matches!(u.scheme(), "http" | "https") => {
                r.err(
                    &rules::REWRITE_PATTERN_URL,
                    pattern.span,
                    format!(
                        "{}: rewritePattern {:?} must be an HTTP(S) URL",
                        r.ctx, pattern.value
                    ),
                );
                return None;
            }
            Some(u) => ProxyTarget::Url(u),
        }
    };
    Some(ProxyOptions {
        target,
        forward_search,
        follow_redirects,
        mtls_certificate,
        request_timeout_seconds,
    })
}

/// `NAME` when `s` is exactly `${env.NAME}` with `NAME` = `[A-Za-z_][A-Za-z0-9_]*`.
pub fn whole_env_template(s: &str) -> Option<&str> {
    let name = s.strip_prefix("${env.")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::whole_env_template;

    #[test]
    fn env_template_forms() {
        assert_eq!(
            whole_env_template("${env.UPSTREAM_URL}"),
            Some("UPSTREAM_URL")
        );
        assert_eq!(whole_env_template("${env.A}/mcp"), None);
        assert_eq!(whole_env_template("https://x/${params.id}"), None);
        assert_eq!(whole_env_template("${env.1A}"), None);
    }
}
