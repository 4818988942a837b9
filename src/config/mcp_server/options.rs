//! `mcpServerHandler` options (SPEC §15.2).
//!
//! Owns: the options with 7.6.4's defaults (`includeStructuredContent` switched on whenever
//! `includeOutputSchema` is), the operation lists (`operations`, the deprecated `files` /
//! `prompts` / `resources`, and `openApiFilePaths` that mcpgw honours, D20), and the warnings
//! about options Zuplo 7.6.4 reads differently (rules 84–86). Type errors of the server options
//! are MCP107 (the handler's shape), malformed `operations` entries MCP080.

use super::{InputStyle, ServerOptions};
use crate::config::jsonc::Node;
use crate::config::policies::reader::ObjReader;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::diag::source::Spanned;

/// One `operations` entry: `{file, id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationRef {
    pub file: Spanned<String>,
    pub id: Spanned<String>,
}

/// One entry of `files`, `prompts` or `resources`: `{path, operationIds[]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyRef {
    pub path: Spanned<String>,
    pub operation_ids: Vec<Spanned<String>>,
}

/// Everything the handler's options say.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HandlerOptions {
    pub server: ServerOptions,
    pub operations: Vec<OperationRef>,
    pub files: Vec<LegacyRef>,
    pub prompts: Vec<LegacyRef>,
    pub resources: Vec<LegacyRef>,
    /// `openApiFilePaths[].filePath` (D20).
    pub openapi_file_paths: Vec<Spanned<String>>,
}

/// Reads the options of the `mcpServerHandler` of route `path`.
pub fn parse(path: &str, options: Option<&Node>, findings: &mut Findings) -> HandlerOptions {
    let mut out = HandlerOptions::default();
    let Some(options) = options else { return out };
    let ctx = format!("route {path}: mcpServerHandler options");
    let Some(mut r) = ObjReader::new(options, ctx, &rules::ROUTE_SHAPE, findings) else {
        return out;
    };
    let s = &mut out.server;
    if let Some(name) = r.opt_str("name") {
        s.name = name.value;
    }
    if let Some(version) = r.opt_str("version") {
        s.version = version.value;
    }
    s.debug_mode = r.opt_bool("debugMode").is_some_and(|b| b.value);
    s.include_output_schema = r.opt_bool("includeOutputSchema").is_some_and(|b| b.value);
    // 7.6.4 switches structured content on (with a warning log) whenever output schemas are
    s.include_structured_content = s.include_output_schema
        || r.opt_bool("includeStructuredContent")
            .is_some_and(|b| b.value);
    if let Some(style) = r.opt_enum_with("toolInputStyle", &["nested", "flat"], &rules::ROUTE_SHAPE)
    {
        s.tool_input_style = if style.value == "flat" {
            InputStyle::Flat
        } else {
            InputStyle::Nested
        };
    }

    out.operations = operations(&mut r);
    for (key, list) in [
        ("files", &mut out.files),
        ("prompts", &mut out.prompts),
        ("resources", &mut out.resources),
    ] {
        if r.has(key) {
            r.findings.push(
                &rules::MCP_SERVER_DEPRECATED_OPTION,
                r.key_span(key),
                format!(
                    "{}: `{key}` is deprecated; Zuplo 7.6.4 still reads it but logs DEPRECATED for each operation",
                    r.ctx
                ),
            );
            *list = legacy_list(&mut r, key);
        }
    }
    if r.has("openApiFilePaths") {
        r.findings.push(
            &rules::MCP_SERVER_OPENAPI_FILE_PATHS,
            r.key_span("openApiFilePaths"),
            format!(
                "{}: `openApiFilePaths` is served by mcpgw dev, but Zuplo 7.6.4 reads no such option: the deployed server lists no tools from it",
                r.ctx
            ),
        );
        out.openapi_file_paths = file_paths(&mut r);
    }
    for key in ["openApiTools", "openApiSpec"] {
        if r.has(key) {
            r.findings.push(
                &rules::MCP_SERVER_IGNORED_OPTION,
                r.key_span(key),
                format!(
                    "{}: `{key}` is ignored by Zuplo 7.6.4 and by mcpgw: it adds no tools",
                    r.ctx
                ),
            );
        }
    }
    out
}

/// The items of an array option as objects; other shapes are MCP080 findings.
fn objects<'n>(r: &mut ObjReader<'n, '_>, key: &str) -> Vec<&'n Node> {
    let Some(node) = r.get(key) else {
        return Vec::new();
    };
    let Some(items) = node.as_array() else {
        r.err(
            &rules::MCP_SERVER_OPERATION_REF,
            node.span,
            format!(
                "{}: `{key}` must be an array, found {}",
                r.ctx,
                node.kind_name()
            ),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        if item.as_object().is_some() {
            out.push(item);
        } else {
            r.err(
                &rules::MCP_SERVER_OPERATION_REF,
                item.span,
                format!(
                    "{}: `{key}` items must be objects, found {}",
                    r.ctx,
                    item.kind_name()
                ),
            );
        }
    }
    out
}

/// Reads each object of the array `key` with `read`; entries it cannot use are left out (their
/// findings say why).
fn entries<T>(
    r: &mut ObjReader<'_, '_>,
    key: &str,
    mut read: impl FnMut(&mut ObjReader<'_, '_>) -> Option<T>,
) -> Vec<T> {
    let ctx = format!("{}.{key}[]", r.ctx);
    let mut out = Vec::new();
    for item in objects(r, key) {
        let rule = &rules::MCP_SERVER_OPERATION_REF;
        if let Some(mut e) = ObjReader::new(item, ctx.clone(), rule, r.findings)
            && let Some(entry) = read(&mut e)
        {
            out.push(entry);
        }
    }
    out
}

fn operations(r: &mut ObjReader<'_, '_>) -> Vec<OperationRef> {
    entries(r, "operations", |e| {
        let file = e.req_nonempty("file");
        let id = e.req_nonempty("id");
        Some(OperationRef {
            file: file?,
            id: id?,
        })
    })
}

fn legacy_list(r: &mut ObjReader<'_, '_>, key: &str) -> Vec<LegacyRef> {
    entries(r, key, |e| {
        let path = e.req_nonempty("path");
        if !e.has("operationIds") {
            e.missing("operationIds", &rules::MCP_SERVER_OPERATION_REF);
        }
        let operation_ids = e
            .opt_str_list_with("operationIds", &rules::MCP_SERVER_OPERATION_REF, false)
            .unwrap_or_default();
        Some(LegacyRef {
            path: path?,
            operation_ids,
        })
    })
}

fn file_paths(r: &mut ObjReader<'_, '_>) -> Vec<Spanned<String>> {
    entries(r, "openApiFilePaths", |e| e.req_nonempty("filePath"))
}
