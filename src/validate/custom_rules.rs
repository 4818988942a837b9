//! Custom code rules (SPEC §17, D23, D25 c): each `$import(./modules/…)` reference resolves
//! to a file (MCP115) that exports the named function (MCP116) with no more parameters than
//! Zuplo passes (MCP117), read statically by `config::modules`; and one note per project
//! (MCP118) listing the custom pieces, which run under `mcpgw dev` only with Node.js 22.6+.

use super::Model;
use crate::config::modules::{self, ModuleError, ModuleExports, Params};
use crate::config::policies::PolicyConfig;
use crate::config::policies::basic::RateLimitBy;
use crate::config::policies::capability_filter::AccessControl;
use crate::config::project::{HandlerRef, PolicyDecl, Project};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::diag::source::Span;
use std::collections::HashMap;

/// The `runtimeInit` members that only a worker can run (D25 c).
const RUNTIME_HOOKS: [&str; 6] = [
    "addRequestHook",
    "addPreRoutingHook",
    "addResponseSendingHook",
    "addResponseSendingFinalHook",
    "problemResponseFormat",
    "notFoundHandler",
];

/// What the gateway calls a custom function as, which fixes its signature (§17.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Handler,
    Inbound,
    Outbound,
    RateLimit,
    /// A capability-filter resolver (§7.2): no arity rule.
    Resolver,
}

impl Role {
    /// The parameters Zuplo passes, when the signature is fixed.
    fn signature(self) -> Option<&'static [&'static str]> {
        match self {
            Role::Handler => Some(&["request", "context"]),
            Role::Inbound => Some(&["request", "context", "options", "policyName"]),
            Role::Outbound => Some(&["response", "request", "context", "options", "policyName"]),
            Role::RateLimit => Some(&["request", "context", "policyName"]),
            Role::Resolver => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::Handler => "handler",
            Role::Inbound => "inbound policy function",
            Role::Outbound => "outbound policy function",
            Role::RateLimit => "rate-limit function",
            Role::Resolver => "capability-filter resolver",
        }
    }
}

/// One reference to custom code in the config.
struct Piece<'p> {
    /// Who uses it, e.g. `route /hello` or `policy "audit"`.
    owner: String,
    role: Role,
    module: &'p str,
    export: &'p str,
    module_span: Span,
    export_span: Span,
}

pub fn check(project: &Project, model: &Model, findings: &mut Findings) {
    let pieces = pieces(project, model);
    let mut cache: HashMap<&str, Result<ModuleExports, ModuleError>> = HashMap::new();
    for piece in &pieces {
        let Some(spec) = modules::import_spec(piece.module) else {
            continue;
        };
        let module = cache
            .entry(spec)
            .or_insert_with(|| modules::read_module(&project.root, spec));
        match module {
            Err(e) => not_found(piece, e, findings),
            Ok(m) => exported(piece, m, findings),
        }
    }
    needs_node(project, &pieces, findings);
}

fn pieces<'p>(project: &'p Project, model: &'p Model) -> Vec<Piece<'p>> {
    let mut out = Vec::new();
    let reference = |h: &'p HandlerRef, owner: String, role: Role| {
        h.is_custom_module().then(|| Piece {
            owner,
            role,
            module: h.module(),
            export: h.export(),
            module_span: h.module.as_ref().map_or(h.span, |m| m.span),
            export_span: h.export.as_ref().map_or(h.span, |e| e.span),
        })
    };
    for route in &project.routes {
        if let Some(h) = &route.handler {
            out.extend(reference(
                h,
                format!("route {}", route.path.value),
                Role::Handler,
            ));
        }
    }
    for (i, p) in project.policies.iter().enumerate() {
        let owner = format!("policy {:?}", p.name.value);
        let role = if p.policy_type.value.ends_with("-outbound") {
            Role::Outbound
        } else {
            Role::Inbound
        };
        out.extend(reference(&p.handler, owner.clone(), role));
        let function = match model.policies.get(i) {
            Some(PolicyConfig::RateLimit(r)) => match &r.by {
                RateLimitBy::Function { module, export } => {
                    Some((Role::RateLimit, module, export, "/identifier"))
                }
                _ => None,
            },
            Some(PolicyConfig::CapabilityFilter(c)) => match &c.access {
                AccessControl::Function { module, export } => {
                    Some((Role::Resolver, module, export, "/accessControl/identifier"))
                }
                _ => None,
            },
            _ => None,
        };
        if let Some((role, module, export, at)) = function {
            let span = |key: &str| option_span(p, &format!("{at}/{key}"));
            out.push(Piece {
                owner,
                role,
                module,
                export,
                module_span: span("module"),
                export_span: span("export"),
            });
        }
    }
    out
}

/// The span of the option at `pointer` (e.g. `/identifier/module`), else the policy type.
fn option_span(p: &PolicyDecl, pointer: &str) -> Span {
    let mut node = p.handler.options.as_ref();
    for key in pointer.split('/').filter(|k| !k.is_empty()) {
        node = node.and_then(|n| n.get(key));
    }
    node.map_or(p.policy_type.span, |n| n.span)
}

fn not_found(piece: &Piece<'_>, e: &ModuleError, findings: &mut Findings) {
    let (message, help) = match e {
        ModuleError::NotFound { tried } => (
            format!(
                "{}: {} module {} not found (tried {})",
                piece.owner,
                piece.role.name(),
                piece.module,
                tried.join(", ")
            ),
            format!(
                "create {} with {}, or fix the path after $import( (relative to the project root)",
                tried.first().map_or("the module", String::as_str),
                export_phrase(piece.export)
            ),
        ),
        ModuleError::Unreadable { path, reason } => (
            format!(
                "{}: {} module {}: {path} {reason}",
                piece.owner,
                piece.role.name(),
                piece.module
            ),
            format!("make {path} a readable UTF-8 text file"),
        ),
    };
    findings.push_with_help(
        &rules::CUSTOM_MODULE_NOT_FOUND,
        piece.module_span,
        message,
        help,
    );
}

fn export_phrase(export: &str) -> String {
    if export == "default" {
        "a default export (export default …)".to_string()
    } else {
        format!("an export named {export}")
    }
}

fn exported(piece: &Piece<'_>, m: &ModuleExports, findings: &mut Findings) {
    if piece.export.is_empty() {
        return;
    }
    let Some(export) = m.get(piece.export) else {
        if m.complete {
            export_missing(piece, m, findings);
        }
        return;
    };
    if let Some(params) = export.params {
        arity(piece, m, params, findings);
    }
}

fn export_missing(piece: &Piece<'_>, m: &ModuleExports, findings: &mut Findings) {
    let names = m.names();
    let has = if names.is_empty() {
        "it exports nothing".to_string()
    } else {
        format!("it exports {}", names.join(", "))
    };
    let message = if piece.export == "default" {
        format!(
            "{}: {} module {} has no default export ({has})",
            piece.owner,
            piece.role.name(),
            m.path
        )
    } else {
        format!(
            "{}: {} module {} does not export {:?} ({has})",
            piece.owner,
            piece.role.name(),
            m.path,
            piece.export
        )
    };
    let help = match names.as_slice() {
        [] => format!("add {} to {}", export_phrase(piece.export), m.path),
        [one] => format!(
            "set export to \"{one}\", or add {} to {}",
            export_phrase(piece.export),
            m.path
        ),
        _ => format!(
            "set export to one of {}, or add {} to {}",
            names.join(", "),
            export_phrase(piece.export),
            m.path
        ),
    };
    findings.push_with_help(
        &rules::CUSTOM_EXPORT_MISSING,
        piece.export_span,
        message,
        help,
    );
}

/// MCP117, conservative: only a count that is surely too large, or an outbound function that
/// takes nothing (it never sees the response it is given).
fn arity(piece: &Piece<'_>, m: &ModuleExports, params: Params, findings: &mut Findings) {
    let Some(signature) = piece.role.signature() else {
        return;
    };
    let passes = format!(
        "Zuplo passes {} ({})",
        signature.len(),
        signature.join(", ")
    );
    let message = if params.count > signature.len() {
        format!(
            "{}: {} {} of {} declares {} parameters; {passes}, so the extra ones are always undefined",
            piece.owner,
            piece.role.name(),
            piece.export,
            m.path,
            params.count
        )
    } else if piece.role == Role::Outbound && params.count == 0 && !params.rest {
        format!(
            "{}: {} {} of {} declares no parameters, so it never sees the response; {passes}",
            piece.owner,
            piece.role.name(),
            piece.export,
            m.path
        )
    } else {
        return;
    };
    findings.push_with_help(
        &rules::CUSTOM_FUNCTION_ARITY,
        piece.export_span,
        message,
        format!("declare it as ({})", signature.join(", ")),
    );
}

/// MCP118: one note for the whole project (D25 c: `validate` says it once).
fn needs_node(project: &Project, pieces: &[Piece<'_>], findings: &mut Findings) {
    let mut listed: Vec<String> = pieces
        .iter()
        .map(|p| {
            format!(
                "{} of {} ({})",
                p.role.name(),
                p.owner,
                p.module
                    .trim_start_matches("$import(")
                    .trim_end_matches(')')
            )
        })
        .collect();
    let runtime = project.plugin.file;
    if let Some(file) = runtime {
        let ids = modules::identifiers(&project.sources.get(file).text);
        let hooks: Vec<&str> = RUNTIME_HOOKS
            .into_iter()
            .filter(|h| ids.contains(h))
            .collect();
        if !hooks.is_empty() {
            listed.push(format!(
                "runtimeInit of {} ({})",
                project.sources.get(file).path,
                hooks.join(", ")
            ));
        }
    }
    let hooks_listed = listed.len() > pieces.len();
    let span = match (pieces.first(), runtime) {
        (Some(p), _) => p.module_span,
        (None, Some(file)) => Span::file_start(file),
        (None, None) => return,
    };
    if listed.is_empty() {
        return;
    }
    findings.push(
        &rules::CUSTOM_CODE_NEEDS_NODE,
        span,
        format!(
            "custom code runs under mcpgw dev in a Node.js worker, which needs Node.js 22.6 or later (without it, {}): {}",
            if hooks_listed {
                "every route answers 501, as runtimeInit registers hooks"
            } else {
                "the routes that use these pieces answer 501"
            },
            listed.join("; ")
        ),
    );
}
