//! D13: policy types mcpgw does not know, checked against the JSON Schema that the project's
//! own installed `zuplo` package ships (`node_modules/zuplo/docs/policies/<type>/schema.json`).
//! mcpgw ships no copy of those schemas; without the folder it says once what it did not check.

use crate::config::jsonc::Node;
use crate::config::policies::PolicyKind;
use crate::config::project::{PolicyDecl, Project};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub fn check(project: &Project, findings: &mut Findings) {
    let others: Vec<&PolicyDecl> = project
        .policies
        .iter()
        .filter(|p| {
            PolicyKind::of(&p.policy_type.value) == PolicyKind::Other
                && !p.handler.is_custom_module()
        })
        .collect();
    if others.is_empty() {
        return;
    }
    let Some(docs) = &project.zuplo_policy_docs else {
        let mut types: Vec<&str> = others
            .iter()
            .map(|p| p.policy_type.value.as_str())
            .collect();
        types.sort();
        types.dedup();
        findings.push(
            &rules::POLICY_SCHEMA_NOT_CHECKED,
            others[0].policy_type.span,
            format!(
                "options of {} were not checked: node_modules/zuplo/docs/policies is not installed",
                types.join(", ")
            ),
        );
        return;
    };
    let mut cache: HashMap<&str, Option<Result<jsonschema::Validator, SchemaError>>> =
        HashMap::new();
    for p in others {
        let ty = p.policy_type.value.as_str();
        let entry = cache
            .entry(ty)
            .or_insert_with(|| load_schema(&docs.join(ty).join("schema.json")));
        match entry {
            None => findings.push(
                &rules::POLICY_SCHEMA,
                p.policy_type.span,
                format!(
                    "unknown policy type {ty:?}: the installed zuplo package has no schema for it"
                ),
            ),
            Some(Err(e)) => findings.push(
                &rules::POLICY_SCHEMA_NOT_CHECKED,
                p.policy_type.span,
                format!("the schema of {ty} could not be used: {e}"),
            ),
            Some(Ok(validator)) => check_one(p, validator, findings),
        }
    }
}

/// Why an installed schema cannot be used.
#[derive(Debug, thiserror::Error)]
enum SchemaError {
    #[error("{}: {source}", path.display())]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Invalid(Box<jsonschema::ValidationError<'static>>),
}

/// The validator of the schema at `path`; `None` when there is no such file.
fn load_schema(path: &Path) -> Option<Result<jsonschema::Validator, SchemaError>> {
    let text = std::fs::read_to_string(path).ok()?;
    let schema: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(source) => {
            return Some(Err(SchemaError::NotJson {
                path: path.to_path_buf(),
                source,
            }));
        }
    };
    Some(jsonschema::validator_for(&schema).map_err(|e| SchemaError::Invalid(Box::new(e))))
}

/// Validates the whole policy entry when the schema describes one (it has `properties.handler`),
/// else the options alone.
fn check_one(p: &PolicyDecl, validator: &jsonschema::Validator, findings: &mut Findings) {
    let options_node = p.handler.options.clone();
    let options = options_node
        .as_ref()
        .map(Node::to_json)
        .unwrap_or(serde_json::json!({}));
    let whole_entry = validator_describes_entry(validator);
    let instance = if whole_entry {
        serde_json::json!({
            "name": p.name.value,
            "policyType": p.policy_type.value,
            "handler": {"export": p.handler.export(), "module": p.handler.module(), "options": options},
        })
    } else {
        options
    };
    for err in validator.iter_errors(&instance) {
        let pointer = err.instance_path().as_str().to_string();
        let option_pointer = if whole_entry {
            pointer.strip_prefix("/handler/options").map(str::to_string)
        } else {
            Some(pointer.clone())
        };
        let span = match (&options_node, option_pointer) {
            (Some(node), Some(ptr)) => node.pointer(&ptr).span,
            _ => p.handler.span,
        };
        let at = if pointer.is_empty() {
            String::new()
        } else {
            format!(" at {pointer}")
        };
        findings.push(
            &rules::POLICY_SCHEMA,
            span,
            format!(
                "policy {:?} ({}){at}: {err}",
                p.name.value, p.policy_type.value
            ),
        );
    }
}

fn validator_describes_entry(validator: &jsonschema::Validator) -> bool {
    // A schema for the whole entry rejects a bare options object lacking `handler`; probing
    // with an empty object tells the two kinds apart without reading the schema's internals.
    !validator.is_valid(&serde_json::json!({}))
        && validator
            .iter_errors(&serde_json::json!({}))
            .any(|e| e.to_string().contains("\"handler\""))
}
