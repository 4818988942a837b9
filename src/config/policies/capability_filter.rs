//! `mcp-capability-filter-inbound` options (SPEC §2.6 rules 47–55, §7.2).
//!
//! Owns: the typed allow-lists (tools, prompts, resources, resource templates), each entry's
//! projection overlay and its roles/groups/public marks, and the access-control mode. Applying
//! the filter to traffic is the gateway's job.

use super::reader::ObjReader;
use crate::config::jsonc::{Node, Value};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::diag::source::Span;
use std::collections::HashSet;

/// The four capability types and the key that identifies an entry of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapabilityType {
    Tools,
    Prompts,
    Resources,
    ResourceTemplates,
}

impl CapabilityType {
    pub const ALL: [CapabilityType; 4] = [
        CapabilityType::Tools,
        CapabilityType::Prompts,
        CapabilityType::Resources,
        CapabilityType::ResourceTemplates,
    ];

    pub fn option(self) -> &'static str {
        match self {
            CapabilityType::Tools => "tools",
            CapabilityType::Prompts => "prompts",
            CapabilityType::Resources => "resources",
            CapabilityType::ResourceTemplates => "resourceTemplates",
        }
    }

    /// The field that identifies an item: `name`, `uri` or `uriTemplate`.
    pub fn key(self) -> &'static str {
        match self {
            CapabilityType::Tools | CapabilityType::Prompts => "name",
            CapabilityType::Resources => "uri",
            CapabilityType::ResourceTemplates => "uriTemplate",
        }
    }

    /// Fields an object entry may carry besides its key and the access marks. Resources and
    /// templates pass other MCP fields through (`…` in rule 48).
    fn fields(self) -> Option<&'static [&'static str]> {
        match self {
            CapabilityType::Tools => Some(&["description", "annotations", "_meta", "title"]),
            CapabilityType::Prompts => Some(&["description", "_meta", "title"]),
            CapabilityType::Resources | CapabilityType::ResourceTemplates => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CapabilityEntry {
    pub key: String,
    /// Fields merged over the upstream's item (§7.2 projection overlay).
    pub overlay: serde_json::Map<String, serde_json::Value>,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub public: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AccessControl {
    AllPublic,
    RolesAndGroups {
        role_claim: String,
        group_claim: String,
    },
    /// A TypeScript resolver: validated, but mcpgw cannot run it (D11).
    Function {
        module: String,
        export: String,
    },
}

#[derive(Debug, Clone)]
pub struct CapabilityFilter {
    /// `None`: pass-through; `Some(vec![])`: hide all of that type.
    pub lists: [Option<Vec<CapabilityEntry>>; 4],
    pub access: AccessControl,
}

impl CapabilityFilter {
    pub fn list(&self, t: CapabilityType) -> Option<&[CapabilityEntry]> {
        self.lists[t as usize].as_deref()
    }
}

pub fn parse(name: &str, options: &Node, findings: &mut Findings) -> Option<CapabilityFilter> {
    let before = findings.len();
    let ctx = format!("policy `{name}` options");
    let mut r = ObjReader::new(
        options,
        ctx,
        &rules::CAPABILITY_FILTER_UNKNOWN_OPTION,
        findings,
    )?;
    r.strict(
        &[
            "tools",
            "prompts",
            "resources",
            "resourceTemplates",
            "accessControl",
        ],
        &rules::CAPABILITY_FILTER_UNKNOWN_OPTION,
    );

    let access = match r.get("accessControl") {
        None => Some(AccessControl::AllPublic),
        Some(n) => parse_access(name, n, r.findings),
    };
    let mode = access.clone().unwrap_or(AccessControl::AllPublic);

    let mut lists: [Option<Vec<CapabilityEntry>>; 4] = Default::default();
    for t in CapabilityType::ALL {
        let Some(node) = r.get(t.option()) else {
            continue;
        };
        lists[t as usize] = parse_list(name, t, node, &mode, r.findings);
    }

    // Warnings (53–55) leave the policy usable; only errors make it invalid.
    let errors = findings.items[before..]
        .iter()
        .any(|d| d.severity == crate::diag::diagnostic::Severity::Error);
    if errors {
        return None;
    }
    Some(CapabilityFilter {
        lists,
        access: access?,
    })
}

fn parse_access(name: &str, node: &Node, findings: &mut Findings) -> Option<AccessControl> {
    let rule = &rules::CAPABILITY_FILTER_MODE;
    let mut r = ObjReader::new(
        node,
        format!("policy `{name}`: accessControl"),
        rule,
        findings,
    )?;
    r.strict(
        &["mode", "roleClaim", "groupClaim", "identifier"],
        &rules::CAPABILITY_FILTER_UNKNOWN_OPTION,
    );
    let mode = match r.get("mode") {
        None => "allPublic".to_string(),
        Some(_) => {
            r.opt_enum_with("mode", &["allPublic", "rolesAndGroups", "function"], rule)?
                .value
        }
    };
    let role_claim = r
        .opt_nonempty("roleClaim")
        .map_or_else(|| "roles".to_string(), |s| s.value);
    let group_claim = r
        .opt_nonempty("groupClaim")
        .map_or_else(|| "groups".to_string(), |s| s.value);
    match mode.as_str() {
        "rolesAndGroups" => Some(AccessControl::RolesAndGroups {
            role_claim,
            group_claim,
        }),
        "function" => {
            let frule = &rules::CAPABILITY_FILTER_FUNCTION;
            if !r.has("identifier") {
                r.missing("identifier", frule);
                return None;
            }
            let mut id = r.child("identifier", frule)?;
            id.strict(&["module", "export"], frule);
            let module = id.req_nonempty_with("module", frule);
            let export = id.req_nonempty_with("export", frule);
            if let Some(m) = &module
                && !m.value.starts_with("$import(")
            {
                let msg = format!(
                    "{}: `module` {:?} must be a $import(./modules/...) reference",
                    id.ctx, m.value
                );
                id.err(frule, m.span, msg);
                return None;
            }
            Some(AccessControl::Function {
                module: module?.value,
                export: export?.value,
            })
        }
        _ => Some(AccessControl::AllPublic),
    }
}

fn parse_list(
    name: &str,
    t: CapabilityType,
    node: &Node,
    mode: &AccessControl,
    findings: &mut Findings,
) -> Option<Vec<CapabilityEntry>> {
    let item_rule = &rules::CAPABILITY_FILTER_ITEM;
    let opt = t.option();
    let Some(items) = node.as_array() else {
        findings.push(
            item_rule,
            node.span,
            format!(
                "policy `{name}`: `{opt}` must be an array, found {}",
                node.kind_name()
            ),
        );
        return None;
    };
    if items.is_empty() {
        findings.push(
            &rules::CAPABILITY_FILTER_EMPTY_LIST,
            node.span,
            format!("policy `{name}`: `{opt}: []` hides every {} of the upstream (did you mean to omit it?)", singular(t)),
        );
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(entry) = parse_entry(name, t, item, mode, findings) else {
            continue;
        };
        if entry.key.trim() != entry.key {
            findings.push(
                &rules::CAPABILITY_FILTER_DUPLICATE,
                entry.span,
                format!("policy `{name}`: {opt} entry {:?} has surrounding whitespace; matching is exact", entry.key),
            );
        }
        if !seen.insert(entry.key.clone()) {
            findings.push(
                &rules::CAPABILITY_FILTER_DUPLICATE,
                entry.span,
                format!("policy `{name}`: {opt} lists {:?} twice", entry.key),
            );
        }
        out.push(entry);
    }
    Some(out)
}

fn singular(t: CapabilityType) -> &'static str {
    match t {
        CapabilityType::Tools => "tool",
        CapabilityType::Prompts => "prompt",
        CapabilityType::Resources => "resource",
        CapabilityType::ResourceTemplates => "resource template",
    }
}

fn parse_entry(
    name: &str,
    t: CapabilityType,
    item: &Node,
    mode: &AccessControl,
    findings: &mut Findings,
) -> Option<CapabilityEntry> {
    let rule = &rules::CAPABILITY_FILTER_ITEM;
    let opt = t.option();
    let key_field = t.key();
    if let Value::String(s) = &item.value {
        if s.is_empty() {
            findings.push(
                rule,
                item.span,
                format!("policy `{name}`: {opt} entries must not be empty"),
            );
            return None;
        }
        let entry = CapabilityEntry {
            key: s.clone(),
            overlay: Default::default(),
            roles: Vec::new(),
            groups: Vec::new(),
            public: false,
            span: item.span,
        };
        check_marks(name, t, &entry, mode, findings);
        return Some(entry);
    }
    let before = findings.len();
    let mut r = ObjReader::new(
        item,
        format!("policy `{name}`: {opt} entry"),
        rule,
        findings,
    )?;
    if let Some(fields) = t.fields() {
        let mut allowed = vec![key_field, "roles", "groups", "public"];
        allowed.extend_from_slice(fields);
        r.strict(&allowed, rule);
    }
    let key = r.req_nonempty(key_field)?;
    for obj_field in ["annotations", "_meta"] {
        if let Some(n) = r.get(obj_field)
            && n.as_object().is_none()
        {
            r.err(
                rule,
                n.span,
                format!("policy `{name}`: `{obj_field}` must be an object"),
            );
        }
    }
    let roles = list_marks(&mut r, "roles");
    let groups = list_marks(&mut r, "groups");
    let public = r.opt_bool("public").is_some_and(|b| b.value);
    let mut overlay = serde_json::Map::new();
    for m in r.members() {
        if !["roles", "groups", "public"].contains(&m.key.as_str()) {
            overlay.insert(m.key.clone(), m.node.to_json());
        }
    }
    let entry = CapabilityEntry {
        key: key.value,
        overlay,
        roles,
        groups,
        public,
        span: item.span,
    };
    // `public: false` written explicitly also counts as a mark under allPublic (rule 50).
    // An entry whose marks are malformed (e.g. `roles: []`) was reported already; judging
    // who may use it would report the same mistake again.
    let explicit_public = item.get("public").is_some();
    let entry_errors = findings.items[before..]
        .iter()
        .any(|d| d.severity == crate::diag::diagnostic::Severity::Error);
    if !entry_errors {
        check_marks_with(name, t, &entry, explicit_public, mode, findings);
    }
    Some(entry)
}

fn list_marks(r: &mut ObjReader<'_, '_>, key: &str) -> Vec<String> {
    let Some(node) = r.get(key) else {
        return Vec::new();
    };
    let items = r
        .opt_str_list_with(key, &rules::CAPABILITY_FILTER_ITEM, false)
        .unwrap_or_default();
    if node.as_array().is_some_and(|a| a.is_empty()) {
        r.err(
            &rules::CAPABILITY_FILTER_ITEM,
            node.span,
            format!("{}: `{key}` must not be empty", r.ctx),
        );
    }
    items.into_iter().map(|s| s.value).collect()
}

fn check_marks(
    name: &str,
    t: CapabilityType,
    e: &CapabilityEntry,
    mode: &AccessControl,
    findings: &mut Findings,
) {
    check_marks_with(name, t, e, false, mode, findings)
}

fn check_marks_with(
    name: &str,
    t: CapabilityType,
    e: &CapabilityEntry,
    explicit_public: bool,
    mode: &AccessControl,
    findings: &mut Findings,
) {
    let marked = !e.roles.is_empty() || !e.groups.is_empty();
    match mode {
        AccessControl::AllPublic if marked || explicit_public => findings.push(
            &rules::CAPABILITY_FILTER_ALL_PUBLIC_MARKS,
            e.span,
            format!(
                "policy `{name}`: {} {:?} has roles/groups/public, but accessControl.mode is allPublic",
                singular(t),
                e.key
            ),
        ),
        AccessControl::RolesAndGroups { .. } if e.public && marked => findings.push(
            &rules::CAPABILITY_FILTER_PUBLIC_AND_ROLES,
            e.span,
            format!("policy `{name}`: {} {:?} is public and also has roles/groups", singular(t), e.key),
        ),
        AccessControl::RolesAndGroups { .. } if !e.public && !marked => findings.push(
            &rules::CAPABILITY_FILTER_UNREACHABLE,
            e.span,
            format!("policy `{name}`: {} {:?} has no roles, groups or public: no caller can use it", singular(t), e.key),
        ),
        _ => {}
    }
}
