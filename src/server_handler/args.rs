//! Argument validation of `tools/call` and `prompts/get` (§15.5, §15.8): JSON Schema (the
//! `jsonschema` crate; `$schema` picks the draft, 2020-12 otherwise) and the readable details
//! 7.6.4 puts in its `-32602` message.
//!
//! Owns: the issue list (`✖ <what>` / `  → at <where>` lines) and its structured form for
//! `error.data`.

use serde_json::{Value, json};

/// One reason the arguments were refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Where in the arguments, e.g. `body.items[0]` (empty: the arguments themselves).
    pub path: String,
    pub message: String,
}

/// Why arguments could not be checked or were refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The schema itself does not compile (a registration problem, logged).
    BadSchema(String),
    Invalid(Vec<Issue>),
}

/// Checks `args` against `schema`.
pub fn validate(schema: &Value, args: &Value) -> Result<(), Refusal> {
    let validator =
        jsonschema::validator_for(schema).map_err(|e| Refusal::BadSchema(e.to_string()))?;
    let issues: Vec<Issue> = validator.iter_errors(args).flat_map(issues_of).collect();
    if issues.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Invalid(issues))
    }
}

fn issues_of(e: jsonschema::ValidationError<'_>) -> Vec<Issue> {
    use jsonschema::error::ValidationErrorKind as K;
    let path = readable_path(e.instance_path().as_str());
    let at = |p: &str, key: &str| {
        if p.is_empty() {
            key.to_string()
        } else {
            format!("{p}.{key}")
        }
    };
    match e.kind() {
        K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
            let keys = unexpected
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            let noun = if unexpected.len() == 1 { "key" } else { "keys" };
            vec![Issue {
                path,
                message: format!("Unrecognized {noun}: {keys}"),
            }]
        }
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            vec![Issue {
                path: at(&path, name),
                message: "Required".to_string(),
            }]
        }
        _ => vec![Issue {
            path,
            message: e.to_string(),
        }],
    }
}

/// `/body/items/0` → `body.items[0]`.
fn readable_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// The details of a refusal: one `✖` line per issue, with `→ at` where it is.
pub fn details(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|i| {
            if i.path.is_empty() {
                format!("✖ {}", i.message)
            } else {
                format!("✖ {}\n  → at {}", i.message, i.path)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The structured `error.data` of a refusal.
pub fn data(issues: &[Issue]) -> Value {
    json!({
        "issues": issues
            .iter()
            .map(|i| json!({"path": i.path, "message": i.message}))
            .collect::<Vec<_>>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_missing_members_and_wrong_types_read_well() {
        let schema = json!({
            "type": "object",
            "properties": {
                "body": {"type": "object", "properties": {"n": {"type": "integer"}},
                         "required": ["n"], "additionalProperties": false},
                "queryParams": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}}}}
            },
            "required": ["body"],
            "additionalProperties": false
        });
        assert!(validate(&schema, &json!({"body": {"n": 1}})).is_ok());
        let Err(Refusal::Invalid(issues)) = validate(
            &schema,
            &json!({"body": {"sku": "x"}, "queryParams": {"items": ["a", 2]}}),
        ) else {
            panic!("refused");
        };
        let text = details(&issues);
        assert!(
            text.contains("✖ Unrecognized key: \"sku\"\n  → at body"),
            "{text}"
        );
        assert!(text.contains("✖ Required\n  → at body.n"), "{text}");
        assert!(text.contains("→ at queryParams.items[1]"), "{text}");
        assert_eq!(
            data(&issues)["issues"].as_array().unwrap().len(),
            issues.len()
        );
    }

    #[test]
    fn a_schema_that_does_not_compile_is_named() {
        assert!(matches!(
            validate(&json!({"type": 12}), &json!({})),
            Err(Refusal::BadSchema(_))
        ));
    }
}
