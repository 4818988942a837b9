//! The capability filter (SPEC §7.2): allow-lists applied to MCP requests and list responses.
//!
//! Owns: who the caller is for the filter ([`Caller`], from `request.user.data` claims), the
//! request-side check of direct calls (`tools/call`, `prompts/get`, `resources/read`) with the
//! "Method not found" answer, and the response-side rewrite of list results (removal of items
//! the caller may not see, projection overlay of the kept ones, `cacheScope: "private"` on a
//! 2026-07-28 answer, D27). Pure functions over bytes and typed options: reading bodies and
//! headers, and when to call these, is the proxy's job. On an MCP route the method and name
//! are the gateway's one reading of the body ([`McpRequest`], D27), never a header.

use crate::config::policies::capability_filter::{
    AccessControl, CapabilityEntry, CapabilityFilter, CapabilityType,
};
use crate::mcp::McpRequest;
use serde_json::{Map, Value};

/// The identity the filter judges, from the claims of `request.user.data` (§7.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    /// `function` mode: what the resolver allowed, by [`CapabilityType`] (empty: nothing).
    pub resolved: [Vec<String>; 4],
}

impl Caller {
    /// Reads roles and groups from `request.user.data` with the claims of `access`
    /// (`rolesAndGroups`: `roleClaim`/`groupClaim`, defaults `roles`/`groups`). Other modes
    /// judge nobody by claims, so the caller is empty.
    pub fn from_user_data(data: &Value, access: &AccessControl) -> Caller {
        match access {
            AccessControl::RolesAndGroups {
                role_claim,
                group_claim,
            } => Caller {
                roles: claim_values(data, role_claim),
                groups: claim_values(data, group_claim),
                resolved: Default::default(),
            },
            AccessControl::AllPublic | AccessControl::Function { .. } => Caller::default(),
        }
    }
}

/// The values of one claim: the literal key first, then a dot path; a string is split on
/// whitespace, an array contributes its strings; anything else is no value.
fn claim_values(data: &Value, claim: &str) -> Vec<String> {
    let found = data.get(claim).or_else(|| {
        claim
            .split('.')
            .try_fold(data, |node, segment| node.get(segment))
    });
    match found {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// What to do with a POST body.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestVerdict {
    /// Answer at once with HTTP 200 and this JSON-RPC error body; nothing is forwarded.
    Block(Vec<u8>),
    /// Forward the body unchanged; filter the response as the plan says.
    Forward(ResponsePlan),
}

/// Which responses to filter: the list requests of the body, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponsePlan {
    batch: bool,
    /// Configured list requests with an id, in body order.
    lists: Vec<(Value, CapabilityType)>,
    /// A 2026-07-28 request: its filtered answer is per caller, so `cacheScope: "private"`.
    private: bool,
}

impl ResponsePlan {
    /// True when no response needs filtering: the proxy may stream it through.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Whether the request body was a JSON-RPC batch.
    pub fn is_batch(&self) -> bool {
        self.batch
    }

    /// The list type a response with this id answers, if any.
    fn list_for(&self, id: Option<&Value>) -> Option<CapabilityType> {
        let id = id?;
        self.lists.iter().find(|(i, _)| i == id).map(|(_, t)| *t)
    }
}

/// The direct method of a capability type and the parameter naming its target.
fn direct_call(method: &str) -> Option<(CapabilityType, &'static str)> {
    match method {
        "tools/call" => Some((CapabilityType::Tools, "name")),
        "prompts/get" => Some((CapabilityType::Prompts, "name")),
        // Resource templates have no direct method: reads are checked against `resources` only.
        "resources/read" => Some((CapabilityType::Resources, "uri")),
        _ => None,
    }
}

/// The list method of a capability type.
fn list_call(method: &str) -> Option<CapabilityType> {
    match method {
        "tools/list" => Some(CapabilityType::Tools),
        "prompts/list" => Some(CapabilityType::Prompts),
        "resources/list" => Some(CapabilityType::Resources),
        "resources/templates/list" => Some(CapabilityType::ResourceTemplates),
        _ => None,
    }
}

/// The field of a list result that holds the items.
fn result_field(t: CapabilityType) -> &'static str {
    match t {
        CapabilityType::Tools => "tools",
        CapabilityType::Prompts => "prompts",
        CapabilityType::Resources => "resources",
        CapabilityType::ResourceTemplates => "resourceTemplates",
    }
}

/// Whether `caller` may use `entry` (of type `t`) under the filter's access control.
fn allowed(
    access: &AccessControl,
    t: CapabilityType,
    entry: &CapabilityEntry,
    caller: &Caller,
) -> bool {
    match access {
        AccessControl::AllPublic => true,
        AccessControl::RolesAndGroups { .. } => {
            entry.public
                || entry.roles.iter().any(|r| caller.roles.contains(r))
                || entry.groups.iter().any(|g| caller.groups.contains(g))
        }
        // the resolver's answer (gateway::pipeline), clamped to the configured list: only
        // configured entries reach here; a failed resolver allowed nothing
        AccessControl::Function { .. } => caller.resolved[t as usize].contains(&entry.key),
    }
}

/// The entry of `list` that `caller` may use under this key, if any.
fn allowed_entry<'a>(
    filter: &CapabilityFilter,
    t: CapabilityType,
    list: &'a [CapabilityEntry],
    key: &str,
    caller: &Caller,
) -> Option<&'a CapabilityEntry> {
    list.iter()
        .find(|e| e.key == key && allowed(&filter.access, t, e, caller))
}

/// One JSON-RPC message as the filter judges it.
struct Message<'a> {
    id: Option<&'a Value>,
    method: Option<&'a str>,
    /// The direct call's target (`params.name`, or `params.uri` of `resources/read`).
    target: Option<&'a str>,
}

impl<'a> Message<'a> {
    /// A message the filter reads itself (batch items, bodies of non-MCP routes).
    fn of(message: &'a Value) -> Self {
        let method = message.get("method").and_then(Value::as_str);
        let target = method.and_then(direct_call).and_then(|(_, param)| {
            message
                .get("params")
                .and_then(|p| p.get(param))
                .and_then(Value::as_str)
        });
        Message {
            id: message.get("id"),
            method,
            target,
        }
    }

    /// The gateway's reading of a single MCP request (D27).
    fn read(read: &'a McpRequest) -> Self {
        Message {
            id: read.id.as_ref(),
            method: read.method.as_deref(),
            target: read.name.as_deref(),
        }
    }
}

/// The request side of §7.2: blocks a body with a direct call the caller may not make, else
/// says which responses to filter. A body that is not JSON is forwarded untouched.
pub fn inspect_request(filter: &CapabilityFilter, body: &[u8], caller: &Caller) -> RequestVerdict {
    let Ok(parsed) = serde_json::from_slice::<Value>(body) else {
        return RequestVerdict::Forward(ResponsePlan::default());
    };
    match &parsed {
        Value::Array(items) => inspect(filter, true, false, items.iter().map(Message::of), caller),
        single => inspect(filter, false, false, [Message::of(single)], caller),
    }
}

/// [`inspect_request`] on an MCP route: a single message is judged by the gateway's reading
/// of it (`read`, after the 2026-07-28 rules passed), never by a header; the items of a batch
/// (session era only) are read here.
pub fn inspect_mcp_request(
    filter: &CapabilityFilter,
    read: &McpRequest,
    body: &[u8],
    caller: &Caller,
) -> RequestVerdict {
    let batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if batch {
        return inspect_request(filter, body, caller);
    }
    inspect(
        filter,
        false,
        read.is_modern(),
        [Message::read(read)],
        caller,
    )
}

fn inspect<'a>(
    filter: &CapabilityFilter,
    batch: bool,
    private: bool,
    messages: impl IntoIterator<Item = Message<'a>>,
    caller: &Caller,
) -> RequestVerdict {
    let mut plan = ResponsePlan {
        batch,
        lists: Vec::new(),
        private,
    };
    for message in messages {
        let Some(method) = message.method else {
            continue;
        };
        if let Some((t, _)) = direct_call(method) {
            let Some(list) = filter.list(t) else {
                continue;
            };
            let permitted = message
                .target
                .is_some_and(|key| allowed_entry(filter, t, list, key, caller).is_some());
            if !permitted {
                let id = message.id.cloned().unwrap_or(Value::Null);
                return RequestVerdict::Block(method_not_found(id));
            }
        } else if let Some(t) = list_call(method)
            && filter.list(t).is_some()
            && let Some(id) = message.id
        {
            plan.lists.push((id.clone(), t));
        }
    }
    RequestVerdict::Forward(plan)
}

/// `{"jsonrpc":"2.0","id":…,"error":{"code":-32601,"message":"Method not found"}}`.
fn method_not_found(id: Value) -> Vec<u8> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": -32601, "message": "Method not found"},
    });
    // Serialising a Value built from Values cannot fail; an empty body would still be a 200.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The response side of §7.2: the filtered body, or `None` when the response is left as it
/// is (not JSON, SSE, not a list answer, or nothing to remove or overlay). When it returns a
/// body the caller drops `content-length`.
pub fn filter_response(
    filter: &CapabilityFilter,
    plan: &ResponsePlan,
    caller: &Caller,
    content_type: &str,
    body: &[u8],
) -> Option<Vec<u8>> {
    if plan.is_empty() || !content_type.to_ascii_lowercase().contains("json") {
        return None;
    }
    let mut parsed = serde_json::from_slice::<Value>(body).ok()?;
    let changed = match &mut parsed {
        Value::Array(items) => {
            let mut changed = false;
            for item in items.iter_mut() {
                if let Some(t) = plan.list_for(item.get("id")) {
                    changed |= filter_item(filter, t, caller, plan.private, item);
                }
            }
            changed
        }
        single => {
            // A single list request is answered by one response; in a batch only ids tell.
            let t = if plan.batch {
                plan.list_for(single.get("id"))
            } else {
                plan.lists.first().map(|(_, t)| *t)
            };
            match t {
                Some(t) => filter_item(filter, t, caller, plan.private, single),
                None => false,
            }
        }
    };
    if !changed {
        return None;
    }
    serde_json::to_vec(&parsed).ok()
}

/// Filters one JSON-RPC response answering a list of type `t`; true when it changed. A
/// `private` (2026-07-28) answer gets `cacheScope: "private"`: what it lists depends on who asked.
fn filter_item(
    filter: &CapabilityFilter,
    t: CapabilityType,
    caller: &Caller,
    private: bool,
    response: &mut Value,
) -> bool {
    let Some(list) = filter.list(t) else {
        return false;
    };
    if response.get("error").is_some() {
        return false;
    }
    let Some(items) = response
        .get_mut("result")
        .and_then(|r| r.get_mut(result_field(t)))
        .and_then(Value::as_array_mut)
    else {
        return false;
    };
    let key_field = t.key();
    // Only a list whose every item carries a string key is filtered (§7.2).
    if !items
        .iter()
        .all(|i| i.get(key_field).is_some_and(Value::is_string))
    {
        return false;
    }
    let before = items.len();
    let mut changed = false;
    let kept: Vec<Value> = std::mem::take(items)
        .into_iter()
        .filter_map(|mut item| {
            let key = item.get(key_field).and_then(Value::as_str)?;
            let entry = allowed_entry(filter, t, list, key, caller)?;
            if let Value::Object(fields) = &mut item {
                changed |= overlay(fields, &entry.overlay, key_field);
            }
            Some(item)
        })
        .collect();
    changed |= kept.len() != before;
    *items = kept;
    if private
        && let Some(Value::Object(result)) = response.get_mut("result")
        && result.get("cacheScope") != Some(&Value::from("private"))
    {
        result.insert("cacheScope".into(), "private".into());
        changed = true;
    }
    changed
}

/// Fields an overlay never touches: the item's schemas.
const SCHEMA_FIELDS: [&str; 2] = ["inputSchema", "outputSchema"];
/// Fields merged one level deep rather than replaced.
const DEEP_FIELDS: [&str; 2] = ["annotations", "_meta"];

/// The projection overlay: a shallow merge where the overlay wins, with `annotations` and
/// `_meta` merged one level deep; schemas and the key stay as the upstream sent them.
/// True when the item changed.
fn overlay(item: &mut Map<String, Value>, over: &Map<String, Value>, key_field: &str) -> bool {
    let mut changed = false;
    for (k, v) in over {
        if k == key_field || SCHEMA_FIELDS.contains(&k.as_str()) {
            continue;
        }
        if DEEP_FIELDS.contains(&k.as_str())
            && let (Some(Value::Object(inner)), Value::Object(over_inner)) = (item.get_mut(k), v)
        {
            for (ik, iv) in over_inner {
                if inner.get(ik) != Some(iv) {
                    inner.insert(ik.clone(), iv.clone());
                    changed = true;
                }
            }
            continue;
        }
        if item.get(k) != Some(v) {
            item.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::source::{FileId, Span};
    use serde_json::json;

    fn entry(key: &str) -> CapabilityEntry {
        CapabilityEntry {
            key: key.to_string(),
            overlay: Map::new(),
            roles: Vec::new(),
            groups: Vec::new(),
            public: false,
            span: Span::file_start(FileId(0)),
        }
    }

    fn with_overlay(key: &str, over: Value) -> CapabilityEntry {
        let mut e = entry(key);
        if let Value::Object(m) = over {
            e.overlay = m;
        }
        e
    }

    fn marked(key: &str, roles: &[&str], groups: &[&str], public: bool) -> CapabilityEntry {
        let mut e = entry(key);
        e.roles = roles.iter().map(|s| s.to_string()).collect();
        e.groups = groups.iter().map(|s| s.to_string()).collect();
        e.public = public;
        e
    }

    fn filter(
        tools: Option<Vec<CapabilityEntry>>,
        prompts: Option<Vec<CapabilityEntry>>,
        resources: Option<Vec<CapabilityEntry>>,
        templates: Option<Vec<CapabilityEntry>>,
        access: AccessControl,
    ) -> CapabilityFilter {
        CapabilityFilter {
            lists: [tools, prompts, resources, templates],
            access,
        }
    }

    fn tools_only(tools: Vec<CapabilityEntry>) -> CapabilityFilter {
        filter(Some(tools), None, None, None, AccessControl::AllPublic)
    }

    fn rag() -> AccessControl {
        AccessControl::RolesAndGroups {
            role_claim: "roles".into(),
            group_claim: "groups".into(),
        }
    }

    fn caller(roles: &[&str], groups: &[&str]) -> Caller {
        Caller {
            roles: roles.iter().map(|s| s.to_string()).collect(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            resolved: Default::default(),
        }
    }

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap_or_default()
    }

    fn inspect(f: &CapabilityFilter, body: Value, c: &Caller) -> RequestVerdict {
        inspect_request(f, &bytes(&body), c)
    }

    fn plan_of(f: &CapabilityFilter, body: Value, c: &Caller) -> ResponsePlan {
        match inspect(f, body, c) {
            RequestVerdict::Forward(p) => p,
            RequestVerdict::Block(b) => panic!("blocked: {}", String::from_utf8_lossy(&b)),
        }
    }

    fn blocked(v: RequestVerdict) -> Value {
        match v {
            RequestVerdict::Block(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
            RequestVerdict::Forward(p) => panic!("forwarded: {p:?}"),
        }
    }

    fn call(id: Value, method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    }

    fn not_found(id: Value) -> Value {
        json!({"jsonrpc":"2.0","id":id,"error":{"code":-32601,"message":"Method not found"}})
    }

    /// Filters `response` for a single `tools/list` request; `None` when untouched.
    fn filter_tools(f: &CapabilityFilter, c: &Caller, response: Value) -> Option<Value> {
        let plan = plan_of(f, call(json!(1), "tools/list", json!({})), c);
        filter_response(f, &plan, c, "application/json", &bytes(&response))
            .map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    fn tools_result(tools: Value) -> Value {
        json!({"jsonrpc":"2.0","id":1,"result":{"tools": tools}})
    }

    // ---- caller claims

    #[test]
    fn caller_reads_default_claims_arrays_and_strings() {
        let data = json!({"roles": ["a", "b", 3], "groups": "g1  g2\tg3"});
        let c = Caller::from_user_data(&data, &rag());
        assert_eq!(c, caller(&["a", "b"], &["g1", "g2", "g3"]));
    }

    #[test]
    fn caller_literal_key_wins_over_dot_path() {
        let access = AccessControl::RolesAndGroups {
            role_claim: "app.roles".into(),
            group_claim: "org.teams".into(),
        };
        let data = json!({
            "app.roles": "literal",
            "app": {"roles": ["nested"]},
            "org": {"teams": ["t1"]},
        });
        let c = Caller::from_user_data(&data, &access);
        assert_eq!(c, caller(&["literal"], &["t1"]));
    }

    #[test]
    fn caller_missing_or_odd_claims_are_empty() {
        let access = AccessControl::RolesAndGroups {
            role_claim: "a.b.c".into(),
            group_claim: "groups".into(),
        };
        for data in [
            json!(null),
            json!("x"),
            json!({"a": {"b": 3}}),
            json!({"a": [1], "groups": {"x": 1}}),
            json!({"groups": 7}),
        ] {
            assert_eq!(Caller::from_user_data(&data, &access), Caller::default());
        }
    }

    #[test]
    fn caller_is_empty_outside_roles_and_groups() {
        let data = json!({"roles": ["admin"]});
        assert_eq!(
            Caller::from_user_data(&data, &AccessControl::AllPublic),
            Caller::default()
        );
        let function = AccessControl::Function {
            module: "$import(./modules/f)".into(),
            export: "default".into(),
        };
        assert_eq!(Caller::from_user_data(&data, &function), Caller::default());
    }

    #[test]
    fn dev_login_identity_reaches_role_entries() {
        // D8: the dev identity carries role mcp_user in request.user.data.roles
        let f = filter(
            Some(vec![marked("t", &["mcp_user"], &[], false)]),
            None,
            None,
            None,
            rag(),
        );
        let c = Caller::from_user_data(&json!({"roles": ["mcp_user"], "sub": "dev"}), &rag());
        let v = inspect(&f, call(json!(1), "tools/call", json!({"name": "t"})), &c);
        assert!(matches!(v, RequestVerdict::Forward(_)));
    }

    // ---- request side

    #[test]
    fn allowed_direct_calls_are_forwarded() {
        let f = filter(
            Some(vec![entry("search")]),
            Some(vec![entry("greet")]),
            Some(vec![entry("file:///a")]),
            None,
            AccessControl::AllPublic,
        );
        let c = Caller::default();
        for body in [
            call(json!(1), "tools/call", json!({"name": "search"})),
            call(json!(2), "prompts/get", json!({"name": "greet"})),
            call(json!(3), "resources/read", json!({"uri": "file:///a"})),
        ] {
            assert_eq!(
                inspect(&f, body, &c),
                RequestVerdict::Forward(ResponsePlan::default())
            );
        }
    }

    #[test]
    fn each_direct_method_is_blocked_with_its_id() {
        let f = filter(
            Some(vec![entry("search")]),
            Some(vec![entry("greet")]),
            Some(vec![entry("file:///a")]),
            None,
            AccessControl::AllPublic,
        );
        let c = Caller::default();
        let v = inspect(&f, call(json!(7), "tools/call", json!({"name": "rm"})), &c);
        assert_eq!(blocked(v), not_found(json!(7)));
        let v = inspect(
            &f,
            call(json!("p-1"), "prompts/get", json!({"name": "x"})),
            &c,
        );
        assert_eq!(blocked(v), not_found(json!("p-1")));
        let v = inspect(
            &f,
            call(json!(0), "resources/read", json!({"uri": "file:///b"})),
            &c,
        );
        assert_eq!(blocked(v), not_found(json!(0)));
    }

    #[test]
    fn block_body_is_exact() {
        let f = tools_only(vec![]);
        let v = inspect_request(
            &f,
            br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x"}}"#,
            &Caller::default(),
        );
        assert_eq!(
            v,
            RequestVerdict::Block(
                br#"{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"Method not found"}}"#
                    .to_vec()
            )
        );
    }

    #[test]
    fn matching_is_exact_and_case_sensitive() {
        let f = tools_only(vec![entry("Search")]);
        let c = Caller::default();
        for name in ["search", "Search ", " Search", "Searc"] {
            let v = inspect(&f, call(json!(1), "tools/call", json!({"name": name})), &c);
            assert!(matches!(v, RequestVerdict::Block(_)), "{name}");
        }
    }

    #[test]
    fn omitted_option_passes_through_and_empty_list_hides_all() {
        let f = filter(None, Some(vec![]), None, None, AccessControl::AllPublic);
        let c = Caller::default();
        let v = inspect(&f, call(json!(1), "tools/call", json!({"name": "any"})), &c);
        assert!(matches!(v, RequestVerdict::Forward(_)));
        let v = inspect(
            &f,
            call(json!(2), "prompts/get", json!({"name": "any"})),
            &c,
        );
        assert_eq!(blocked(v), not_found(json!(2)));
    }

    #[test]
    fn missing_or_non_string_target_is_blocked() {
        let f = tools_only(vec![entry("t")]);
        let c = Caller::default();
        for params in [json!({}), json!({"name": 3}), json!(null), json!(["t"])] {
            let v = inspect(&f, call(json!(1), "tools/call", params.clone()), &c);
            assert!(matches!(v, RequestVerdict::Block(_)), "{params}");
        }
        let v = inspect(
            &f,
            json!({"jsonrpc":"2.0","id":1,"method":"tools/call"}),
            &c,
        );
        assert!(matches!(v, RequestVerdict::Block(_)));
    }

    #[test]
    fn resources_read_ignores_resource_templates() {
        // A template on the allow-list does not allow a read; only `resources` counts.
        let f = filter(
            None,
            None,
            None,
            Some(vec![entry("file:///{path}")]),
            AccessControl::AllPublic,
        );
        let c = Caller::default();
        let v = inspect(
            &f,
            call(json!(1), "resources/read", json!({"uri": "file:///x"})),
            &c,
        );
        assert!(matches!(v, RequestVerdict::Forward(_)));
        let f = filter(
            None,
            None,
            Some(vec![entry("file:///a")]),
            Some(vec![entry("file:///x")]),
            AccessControl::AllPublic,
        );
        let v = inspect(
            &f,
            call(json!(1), "resources/read", json!({"uri": "file:///x"})),
            &c,
        );
        assert!(matches!(v, RequestVerdict::Block(_)));
    }

    #[test]
    fn notification_direct_call_is_blocked_with_null_id() {
        let f = tools_only(vec![]);
        let body = json!({"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}});
        assert_eq!(
            blocked(inspect(&f, body, &Caller::default())),
            not_found(Value::Null)
        );
    }

    #[test]
    fn batch_with_one_blocked_item_blocks_whole_batch_with_single_error() {
        let f = tools_only(vec![entry("ok")]);
        let c = Caller::default();
        let body = json!([
            call(json!(1), "tools/list", json!({})),
            call(json!(2), "tools/call", json!({"name": "ok"})),
            call(json!("three"), "tools/call", json!({"name": "nope"})),
            call(json!(4), "tools/call", json!({"name": "nope2"})),
        ]);
        let out = blocked(inspect(&f, body, &c));
        assert!(out.is_object());
        assert_eq!(out, not_found(json!("three")));
    }

    #[test]
    fn batch_plan_records_configured_list_ids() {
        let f = filter(
            Some(vec![entry("a")]),
            None,
            Some(vec![]),
            Some(vec![]),
            AccessControl::AllPublic,
        );
        let c = Caller::default();
        let body = json!([
            call(json!(1), "tools/list", json!({})),
            call(json!("p"), "prompts/list", json!({})),
            call(json!("r"), "resources/list", json!({})),
            call(json!(9), "resources/templates/list", json!({})),
            {"jsonrpc":"2.0","method":"tools/list"},
            {"jsonrpc":"2.0","method":"notifications/initialized"},
            {"jsonrpc":"2.0","id":10,"method":"initialize","params":{}},
            "garbage",
            42,
        ]);
        let plan = plan_of(&f, body, &c);
        assert!(plan.is_batch());
        assert_eq!(
            plan.lists,
            vec![
                (json!(1), CapabilityType::Tools),
                (json!("r"), CapabilityType::Resources),
                (json!(9), CapabilityType::ResourceTemplates),
            ]
        );
    }

    #[test]
    fn unparseable_or_non_rpc_bodies_are_forwarded_untouched() {
        let f = tools_only(vec![]);
        let c = Caller::default();
        for body in [
            &b""[..],
            b"{",
            b"not json",
            b"[]",
            b"null",
            b"\"tools/call\"",
            b"{\"method\":5}",
        ] {
            match inspect_request(&f, body, &c) {
                RequestVerdict::Forward(plan) => assert!(plan.is_empty()),
                RequestVerdict::Block(_) => panic!("blocked {body:?}"),
            }
        }
    }

    /// A rolesAndGroups filter: one tool per role, one per group, one public, one for nobody.
    fn tools_by_role_and_group() -> CapabilityFilter {
        filter(
            Some(vec![
                marked("admin_tool", &["admin"], &[], false),
                marked("team_tool", &[], &["eng"], false),
                marked("open_tool", &[], &[], true),
                marked("nobody_tool", &[], &[], false),
            ]),
            None,
            None,
            None,
            rag(),
        )
    }

    #[test]
    fn roles_and_groups_on_direct_calls() {
        let f = tools_by_role_and_group();
        let try_call = |c: &Caller, name: &str| {
            matches!(
                inspect(&f, call(json!(1), "tools/call", json!({"name": name})), c),
                RequestVerdict::Forward(_)
            )
        };
        let anon = Caller::default();
        let admin = caller(&["admin"], &[]);
        let eng = caller(&[], &["eng"]);
        // A role never matches a group of the same name, nor the other way round.
        let crossed = caller(&["eng"], &["admin"]);
        assert!(try_call(&anon, "open_tool"));
        assert!(!try_call(&anon, "admin_tool"));
        assert!(try_call(&admin, "admin_tool"));
        assert!(!try_call(&admin, "team_tool"));
        assert!(try_call(&eng, "team_tool"));
        assert!(!try_call(&crossed, "admin_tool"));
        assert!(!try_call(&crossed, "team_tool"));
        assert!(!try_call(&admin, "nobody_tool"));
        assert!(!try_call(&caller(&["admin"], &["eng"]), "nobody_tool"));
    }

    #[test]
    fn function_mode_denies_configured_types_only() {
        let f = filter(
            Some(vec![entry("t")]),
            None,
            None,
            None,
            AccessControl::Function {
                module: "$import(./modules/f)".into(),
                export: "default".into(),
            },
        );
        let c = caller(&["admin"], &[]);
        let v = inspect(&f, call(json!(1), "tools/call", json!({"name": "t"})), &c);
        assert!(matches!(v, RequestVerdict::Block(_)));
        let v = inspect(&f, call(json!(1), "prompts/get", json!({"name": "p"})), &c);
        assert!(matches!(v, RequestVerdict::Forward(_)));
        let out = filter_tools(&f, &c, tools_result(json!([{"name": "t"}])));
        assert_eq!(out, Some(tools_result(json!([]))));
    }

    #[test]
    fn function_mode_allows_what_the_resolver_returned_within_the_configured_list() {
        let f = filter(
            Some(vec![entry("t"), entry("u")]),
            None,
            None,
            None,
            AccessControl::Function {
                module: "$import(./modules/f)".into(),
                export: "default".into(),
            },
        );
        let mut c = Caller::default();
        // "x" is not configured: clamped away; "t" allowed as a tool only
        c.resolved[CapabilityType::Tools as usize] = vec!["t".into(), "x".into()];
        c.resolved[CapabilityType::Prompts as usize] = vec!["u".into()];
        let v = inspect(&f, call(json!(1), "tools/call", json!({"name": "t"})), &c);
        assert!(matches!(v, RequestVerdict::Forward(_)));
        let v = inspect(&f, call(json!(1), "tools/call", json!({"name": "u"})), &c);
        assert!(matches!(v, RequestVerdict::Block(_)));
        let out = filter_tools(
            &f,
            &c,
            tools_result(json!([{"name": "t"}, {"name": "u"}, {"name": "x"}])),
        );
        assert_eq!(out, Some(tools_result(json!([{"name": "t"}]))));
    }

    // ---- MCP routes: the gateway's reading, 2026-07-28 answers

    fn read(era: crate::mcp::Era, method: &str, name: Option<&str>) -> McpRequest {
        McpRequest {
            era: Some(era),
            id: Some(json!(1)),
            method: Some(method.to_string()),
            name: name.map(str::to_string),
            protocol_version: None,
        }
    }

    #[test]
    fn mcp_routes_judge_the_gateways_reading_of_the_body() {
        use crate::mcp::Era;
        let f = tools_only(vec![entry("search")]);
        let c = Caller::default();
        let body = bytes(&call(json!(1), "tools/call", json!({"name": "search"})));
        let v = inspect_mcp_request(
            &f,
            &read(Era::Modern, "tools/call", Some("delete")),
            &body,
            &c,
        );
        assert_eq!(blocked(v), not_found(json!(1)));
        let v = inspect_mcp_request(
            &f,
            &read(Era::Session, "tools/call", Some("search")),
            &body,
            &c,
        );
        assert!(matches!(v, RequestVerdict::Forward(p) if p.is_empty()));
        // a batch is read item by item
        let batch = bytes(&json!([call(json!(2), "tools/call", json!({"name": "x"}))]));
        let v = inspect_mcp_request(&f, &McpRequest::default(), &batch, &c);
        assert_eq!(blocked(v), not_found(json!(2)));
    }

    #[test]
    fn filtered_2026_07_28_lists_are_private() {
        use crate::mcp::Era;
        let f = tools_only(vec![entry("search")]);
        let c = Caller::default();
        let body = bytes(&call(json!(1), "tools/list", json!({})));
        let answer = json!({"jsonrpc":"2.0","id":1,"result":{
            "tools":[{"name":"search"},{"name":"delete"}],
            "resultType":"complete","ttlMs":60000,"cacheScope":"public"}});
        let filtered = |era| {
            let RequestVerdict::Forward(plan) =
                inspect_mcp_request(&f, &read(era, "tools/list", None), &body, &c)
            else {
                panic!("blocked")
            };
            filter_response(&f, &plan, &c, "application/json", &bytes(&answer))
                .map(|b| serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null))
        };
        let modern = filtered(Era::Modern).expect("changed");
        assert_eq!(modern["result"]["cacheScope"], "private");
        assert_eq!(modern["result"]["tools"], json!([{"name":"search"}]));
        assert_eq!(modern["result"]["ttlMs"], 60000);
        // the session era has no cache hints to set
        let session = filtered(Era::Session).expect("changed");
        assert_eq!(session["result"]["cacheScope"], "public");
        // nothing removed: still per caller, so still private
        let all = json!({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search"}],"cacheScope":"public"}});
        let RequestVerdict::Forward(plan) =
            inspect_mcp_request(&f, &read(Era::Modern, "tools/list", None), &body, &c)
        else {
            panic!("blocked")
        };
        let out =
            filter_response(&f, &plan, &c, "application/json", &bytes(&all)).expect("changed");
        let out: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        assert_eq!(out["result"]["cacheScope"], "private");
    }

    // ---- response side

    #[test]
    fn list_removes_items_not_allowed_and_keeps_order_and_unknown_fields() {
        let f = tools_only(vec![entry("b"), entry("a")]);
        let c = Caller::default();
        let response = json!({
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "tools": [
                    {"name": "a", "x-custom": {"deep": [1, 2]}, "inputSchema": {"type": "object"}},
                    {"name": "hidden"},
                    {"name": "b", "description": "B"},
                ],
                "nextCursor": "c2",
                "_meta": {"m": 1},
            },
            "extra": true,
        });
        let out = filter_tools(&f, &c, response);
        let expected = json!({
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "tools": [
                    {"name": "a", "x-custom": {"deep": [1, 2]}, "inputSchema": {"type": "object"}},
                    {"name": "b", "description": "B"},
                ],
                "nextCursor": "c2",
                "_meta": {"m": 1},
            },
            "extra": true,
        });
        assert_eq!(out, Some(expected.clone()));
        // key order survives the rewrite
        let plan = plan_of(&f, call(json!(1), "tools/list", json!({})), &c);
        let raw = br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","z":1,"b":2},{"name":"gone"}],"nextCursor":"c"}}"#;
        let out = filter_response(&f, &plan, &c, "application/json", raw).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","z":1,"b":2}],"nextCursor":"c"}}"#
        );
    }

    #[test]
    fn nothing_changed_returns_none() {
        let f = tools_only(vec![entry("a"), entry("b")]);
        let c = Caller::default();
        let out = filter_tools(&f, &c, tools_result(json!([{"name": "a"}, {"name": "b"}])));
        assert_eq!(out, None);
        // an overlay equal to what the upstream sent changes nothing either
        let f = tools_only(vec![with_overlay(
            "a",
            json!({"name": "a", "description": "same", "annotations": {"readOnlyHint": true}}),
        )]);
        let out = filter_tools(
            &f,
            &c,
            tools_result(json!([
                {"name": "a", "description": "same", "annotations": {"readOnlyHint": true, "x": 1}}
            ])),
        );
        assert_eq!(out, None);
    }

    #[test]
    fn empty_list_option_hides_every_item() {
        let f = tools_only(vec![]);
        let out = filter_tools(
            &f,
            &Caller::default(),
            tools_result(json!([{"name": "a"}, {"name": "b"}])),
        );
        assert_eq!(out, Some(tools_result(json!([]))));
    }

    #[test]
    fn list_with_a_non_string_key_is_left_alone() {
        let f = tools_only(vec![entry("a")]);
        let c = Caller::default();
        for tools in [
            json!([{"name": "a"}, {"name": 3}]),
            json!([{"name": "a"}, {"title": "no name"}]),
            json!([{"name": "a"}, "b"]),
            json!([{"name": "a"}, null]),
        ] {
            assert_eq!(filter_tools(&f, &c, tools_result(tools.clone())), None);
        }
        // not an array, or absent
        assert_eq!(
            filter_tools(&f, &c, tools_result(json!({"name": "x"}))),
            None
        );
        assert_eq!(
            filter_tools(&f, &c, json!({"jsonrpc":"2.0","id":1,"result":{}})),
            None
        );
        assert_eq!(
            filter_tools(&f, &c, json!({"jsonrpc":"2.0","id":1,"result":null})),
            None
        );
    }

    #[test]
    fn error_responses_are_untouched() {
        let f = tools_only(vec![]);
        let c = Caller::default();
        let response = json!({
            "jsonrpc":"2.0","id":1,
            "error":{"code":-32000,"message":"x"},
            "result":{"tools":[{"name":"a"}]},
        });
        assert_eq!(filter_tools(&f, &c, response), None);
    }

    #[test]
    fn each_list_type_uses_its_field_and_key() {
        let f = filter(
            Some(vec![entry("t")]),
            Some(vec![entry("p")]),
            Some(vec![entry("file:///r")]),
            Some(vec![entry("file:///{x}")]),
            AccessControl::AllPublic,
        );
        let c = Caller::default();
        let cases = [
            (
                "tools/list",
                json!({"tools":[{"name":"t"},{"name":"u"}]}),
                json!({"tools":[{"name":"t"}]}),
            ),
            (
                "prompts/list",
                json!({"prompts":[{"name":"q"},{"name":"p"}]}),
                json!({"prompts":[{"name":"p"}]}),
            ),
            (
                "resources/list",
                json!({"resources":[{"uri":"file:///r","name":"r"},{"uri":"file:///s","name":"s"}]}),
                json!({"resources":[{"uri":"file:///r","name":"r"}]}),
            ),
            (
                "resources/templates/list",
                json!({"resourceTemplates":[{"uriTemplate":"file:///{x}"},{"uriTemplate":"file:///{y}"}]}),
                json!({"resourceTemplates":[{"uriTemplate":"file:///{x}"}]}),
            ),
        ];
        for (method, result, expected) in cases {
            let plan = plan_of(&f, call(json!(1), method, json!({})), &c);
            let response = json!({"jsonrpc":"2.0","id":1,"result":result});
            let out = filter_response(&f, &plan, &c, "application/json", &bytes(&response))
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            assert_eq!(
                out,
                Some(json!({"jsonrpc":"2.0","id":1,"result":expected})),
                "{method}"
            );
        }
    }

    #[test]
    fn projection_overlay_depth() {
        let f = tools_only(vec![with_overlay(
            "t",
            json!({
                "name": "t",
                "description": "overlay wins",
                "title": "New title",
                "annotations": {"readOnlyHint": true, "title": "A"},
                "_meta": {"k": {"replaced": true}},
                "inputSchema": {"type": "string"},
                "outputSchema": {"type": "string"},
            }),
        )]);
        let upstream = json!([{
            "name": "t",
            "description": "upstream",
            "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}},
            "outputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": false, "destructiveHint": false},
            "_meta": {"k": {"kept": true}, "other": 1},
            "icons": [],
        }]);
        let out = filter_tools(&f, &Caller::default(), tools_result(upstream));
        let expected = json!([{
            "name": "t",
            "description": "overlay wins",
            "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}},
            "outputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": true, "destructiveHint": false, "title": "A"},
            // one level deep: the nested object under `k` is replaced, not merged
            "_meta": {"k": {"replaced": true}, "other": 1},
            "icons": [],
            "title": "New title",
        }]);
        assert_eq!(out, Some(tools_result(expected)));
    }

    #[test]
    fn overlay_replaces_non_object_annotations_and_adds_missing_ones() {
        let f = tools_only(vec![
            with_overlay("a", json!({"annotations": {"x": 1}})),
            with_overlay("b", json!({"_meta": {"y": 2}})),
        ]);
        let out = filter_tools(
            &f,
            &Caller::default(),
            tools_result(json!([{"name":"a","annotations":"odd"},{"name":"b"}])),
        );
        assert_eq!(
            out,
            Some(tools_result(json!([
                {"name":"a","annotations":{"x":1}},
                {"name":"b","_meta":{"y":2}},
            ])))
        );
    }

    #[test]
    fn roles_and_groups_on_lists() {
        let f = tools_by_role_and_group();
        let upstream = tools_result(json!([
            {"name":"admin_tool"},{"name":"team_tool"},{"name":"open_tool"},
            {"name":"nobody_tool"},{"name":"unlisted"},
        ]));
        let names = |c: &Caller| -> Vec<String> {
            let out = filter_tools(&f, c, upstream.clone()).unwrap_or(Value::Null);
            out.pointer("/result/tools")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(names(&Caller::default()), vec!["open_tool"]);
        assert_eq!(
            names(&caller(&["admin"], &[])),
            vec!["admin_tool", "open_tool"]
        );
        assert_eq!(
            names(&caller(&["admin"], &["eng"])),
            vec!["admin_tool", "team_tool", "open_tool"]
        );
    }

    #[test]
    fn all_public_allows_every_listed_entry() {
        let f = tools_only(vec![entry("a"), entry("c")]);
        let out = filter_tools(
            &f,
            &caller(&[], &[]),
            tools_result(json!([{"name":"a"},{"name":"b"},{"name":"c"}])),
        );
        assert_eq!(out, Some(tools_result(json!([{"name":"a"},{"name":"c"}]))));
    }

    #[test]
    fn batch_responses_are_filtered_by_id() {
        let f = filter(
            Some(vec![entry("a")]),
            Some(vec![]),
            None,
            None,
            AccessControl::AllPublic,
        );
        let c = Caller::default();
        let request = json!([
            call(json!("t"), "tools/list", json!({})),
            call(json!(2), "prompts/list", json!({})),
            call(json!(3), "resources/list", json!({})),
            call(json!(4), "tools/call", json!({"name":"a"})),
            call(json!(5), "tools/list", json!({})),
        ]);
        let plan = plan_of(&f, request, &c);
        let response = json!([
            {"jsonrpc":"2.0","id":2,"result":{"prompts":[{"name":"p"}]}},
            {"jsonrpc":"2.0","id":"t","result":{"tools":[{"name":"a"},{"name":"b"}]}},
            {"jsonrpc":"2.0","id":3,"result":{"resources":[{"uri":"file:///x"}]}},
            {"jsonrpc":"2.0","id":4,"result":{"content":[],"isError":true}},
            {"jsonrpc":"2.0","id":5,"error":{"code":-1,"message":"no"}},
            {"jsonrpc":"2.0","id":99,"result":{"tools":[{"name":"b"}]}},
            "odd",
        ]);
        let out = filter_response(&f, &plan, &c, "application/json", &bytes(&response))
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let expected = json!([
            {"jsonrpc":"2.0","id":2,"result":{"prompts":[]}},
            {"jsonrpc":"2.0","id":"t","result":{"tools":[{"name":"a"}]}},
            {"jsonrpc":"2.0","id":3,"result":{"resources":[{"uri":"file:///x"}]}},
            {"jsonrpc":"2.0","id":4,"result":{"content":[],"isError":true}},
            {"jsonrpc":"2.0","id":5,"error":{"code":-1,"message":"no"}},
            {"jsonrpc":"2.0","id":99,"result":{"tools":[{"name":"b"}]}},
            "odd",
        ]);
        assert_eq!(out, Some(expected));
    }

    #[test]
    fn ids_match_by_type_number_is_not_string() {
        let f = tools_only(vec![]);
        let c = Caller::default();
        let plan = plan_of(&f, json!([call(json!(1), "tools/list", json!({}))]), &c);
        let response = json!([{"jsonrpc":"2.0","id":"1","result":{"tools":[{"name":"a"}]}}]);
        assert_eq!(
            filter_response(&f, &plan, &c, "application/json", &bytes(&response)),
            None
        );
        let response = json!([{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}}]);
        assert!(filter_response(&f, &plan, &c, "application/json", &bytes(&response)).is_some());
    }

    #[test]
    fn single_response_to_a_batch_is_matched_by_id() {
        let f = tools_only(vec![]);
        let c = Caller::default();
        let plan = plan_of(&f, json!([call(json!(1), "tools/list", json!({}))]), &c);
        let hit = json!({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}});
        let miss = json!({"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"a"}]}});
        assert!(filter_response(&f, &plan, &c, "application/json", &bytes(&hit)).is_some());
        assert_eq!(
            filter_response(&f, &plan, &c, "application/json", &bytes(&miss)),
            None
        );
    }

    #[test]
    fn non_list_requests_leave_responses_alone() {
        let f = tools_only(vec![entry("a")]);
        let c = Caller::default();
        // tools/call with isError: a result, not a list
        let plan = plan_of(&f, call(json!(1), "tools/call", json!({"name":"a"})), &c);
        assert!(plan.is_empty());
        let response = json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"x"}],"isError":true,"tools":[{"name":"z"}]}});
        assert_eq!(
            filter_response(&f, &plan, &c, "application/json", &bytes(&response)),
            None
        );
        // a list of a type that is not configured is not planned
        let plan = plan_of(&f, call(json!(1), "prompts/list", json!({})), &c);
        assert!(plan.is_empty());
        // a list notification (no id) expects no response
        let plan = plan_of(&f, json!({"jsonrpc":"2.0","method":"tools/list"}), &c);
        assert!(plan.is_empty());
    }

    #[test]
    fn only_json_content_types_are_filtered() {
        let f = tools_only(vec![]);
        let c = Caller::default();
        let plan = plan_of(&f, call(json!(1), "tools/list", json!({})), &c);
        let body = bytes(&tools_result(json!([{"name":"a"}])));
        for ct in [
            "text/event-stream",
            "text/plain",
            "",
            "application/octet-stream",
        ] {
            assert_eq!(filter_response(&f, &plan, &c, ct, &body), None, "{ct}");
        }
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/vnd.api+json",
        ] {
            assert!(filter_response(&f, &plan, &c, ct, &body).is_some(), "{ct}");
        }
        // SSE bytes labelled as SSE are never parsed
        let sse = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\"}]}}\n\n";
        assert_eq!(
            filter_response(&f, &plan, &c, "text/event-stream", sse),
            None
        );
    }

    #[test]
    fn malformed_response_bodies_are_left_alone() {
        let f = tools_only(vec![]);
        let c = Caller::default();
        let plan = plan_of(&f, call(json!(1), "tools/list", json!({})), &c);
        for body in [&b""[..], b"{", b"[1,2", b"null", b"42", b"[]", b"\xff\xfe"] {
            assert_eq!(
                filter_response(&f, &plan, &c, "application/json", body),
                None
            );
        }
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn filters() -> Vec<CapabilityFilter> {
            vec![
                tools_only(vec![]),
                filter(
                    Some(vec![with_overlay("a", json!({"annotations": {"x": 1}}))]),
                    Some(vec![entry("p")]),
                    Some(vec![entry("r")]),
                    Some(vec![]),
                    rag(),
                ),
                filter(None, None, None, None, AccessControl::AllPublic),
            ]
        }

        proptest! {
            #[test]
            fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
                let c = caller(&["admin"], &["eng"]);
                for f in filters() {
                    let _ = inspect_request(&f, &body, &c);
                    let plan = ResponsePlan {
                        batch: body.first().is_some_and(|b| b % 2 == 0),
                        lists: vec![(json!(1), CapabilityType::Tools)],
                        private: body.len() % 2 == 0,
                    };
                    let _ = filter_response(&f, &plan, &c, "application/json", &body);
                }
            }

            #[test]
            fn json_rpc_shaped_text_never_panics(
                method in prop::sample::select(vec![
                    "tools/call", "tools/list", "prompts/get", "prompts/list",
                    "resources/read", "resources/list", "resources/templates/list", "x",
                ]),
                id in prop::sample::select(vec!["1", "\"a\"", "null", "{}", "[1]", "1.5"]),
                params in prop::sample::select(vec![
                    "{\"name\":\"a\"}", "{\"uri\":\"r\"}", "[]", "null", "{\"name\":{}}", "3",
                ]),
                batch in any::<bool>(),
                items in prop::sample::select(vec![
                    "[{\"name\":\"a\",\"annotations\":1}]", "[{\"uri\":\"r\"}]", "{}",
                    "[{\"uriTemplate\":\"t\",\"_meta\":{}}]", "[null]", "\"x\"",
                ]),
            ) {
                let c = caller(&["admin"], &[]);
                let message = format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#
                );
                let body = if batch { format!("[{message},{message}]") } else { message };
                let result = format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"result":{{"tools":{items},"prompts":{items},"resources":{items},"resourceTemplates":{items}}}}}"#
                );
                let response = if batch { format!("[{result},{result}]") } else { result };
                for f in filters() {
                    if let RequestVerdict::Forward(plan) = inspect_request(&f, body.as_bytes(), &c) {
                        let _ = filter_response(&f, &plan, &c, "application/json", response.as_bytes());
                    }
                }
            }
        }
    }
}
