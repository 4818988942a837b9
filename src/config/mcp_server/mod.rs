//! `mcpServerHandler` routes as a typed model (SPEC §15.2–§15.5, D20).
//!
//! Owns: the handler's options with 7.6.4's defaults, the route-level `x-zuplo-route.mcp`
//! blocks (and the legacy `x-zuplo-mcp-*` extensions read through `files`/`prompts`/`resources`),
//! and registration: which tools, prompts and resources each server has, with their names,
//! descriptions, generated input/output schemas and the route each one calls. Registration
//! failures (§15.3) are findings at `file:line:col` (rules 78–83), never runtime 500s.
//! It does not serve: `server_handler` answers JSON-RPC from this model, `gateway` runs the
//! calls through the target route's pipeline.

mod options;
mod register;
mod route_mcp;
mod schema;
#[cfg(test)]
mod tests;

pub use options::{HandlerOptions, LegacyRef, OperationRef};
pub use register::{generated_name, register};
pub use route_mcp::{Block, Kind, Legacy, RouteMcp};

use serde_json::Value;

/// `toolInputStyle` (§15.5): `nested` is 7.6.4's default and mcpgw's (D20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputStyle {
    #[default]
    Nested,
    Flat,
}

/// The handler options of §15.2 that change what clients see.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerOptions {
    /// `serverInfo.name`, default `Zuplo MCP Server`.
    pub name: String,
    /// `serverInfo.version`, default `0.0.0`.
    pub version: String,
    pub debug_mode: bool,
    pub include_output_schema: bool,
    pub include_structured_content: bool,
    pub tool_input_style: InputStyle,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            name: "Zuplo MCP Server".to_string(),
            version: "0.0.0".to_string(),
            debug_mode: false,
            include_output_schema: false,
            include_structured_content: false,
            tool_input_style: InputStyle::Nested,
        }
    }
}

/// One `mcpServerHandler` route: one MCP server (§15.1).
#[derive(Debug, Clone, PartialEq)]
pub struct McpServer {
    /// Index of the MCP route in `Project::routes`.
    pub route: usize,
    pub options: ServerOptions,
    /// In registration order (§15.3): `operations`, then `files`, `prompts`, `resources`
    /// (and `openApiFilePaths`, D20).
    pub tools: Vec<Tool>,
    pub prompts: Vec<Prompt>,
    pub resources: Vec<Resource>,
}

/// Where a tool, prompt or resource sends its inner request (§15.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Index of the target route in `Project::routes`.
    pub route: usize,
    /// The one method of the route, upper case (prompts: always `POST`).
    pub method: String,
    /// The route's path template, e.g. `/todos/{id}`.
    pub path: String,
    pub operation_id: String,
}

/// One declared parameter of an operation (operation-level, merged over path-item ones, D20).
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub required: bool,
    /// The parameter's JSON Schema (a string schema when none is declared), with
    /// `description` and examples kept, local `$ref`s resolved.
    pub schema: Value,
}

/// The input channels of a generated tool (§15.5).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Channels {
    pub path: Vec<Param>,
    pub query: Vec<Param>,
    pub headers: Vec<Param>,
    /// The request-body schema of this tool's content type, `$ref`s resolved.
    pub body: Option<Value>,
    /// Whether the operation declares a request body at all (§15.6 step 5).
    pub declares_body: bool,
    /// The advertised `inputSchema` is flat (hoisted members) rather than nested.
    pub flat: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolKind {
    /// A tool generated from an OpenAPI operation, for one request-body content type
    /// (`None`: no body).
    Operation {
        content_type: Option<String>,
        channels: Channels,
    },
    /// `<operationId>_introspect` of a `graphql` route (§15.10).
    GraphqlIntrospect,
    /// `<operationId>_execute_query` of a `graphql` route (§15.10).
    GraphqlExecute,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub target: Target,
    pub kind: ToolKind,
    /// The advertised `inputSchema` (what arguments are validated against).
    pub input_schema: Value,
    /// The advertised `outputSchema`, when `includeOutputSchema` found one (§15.7).
    pub output_schema: Option<Value>,
    /// Effective `includeStructuredContent` (true whenever an output schema is advertised).
    pub include_structured_content: bool,
    pub annotations: Option<Value>,
    pub meta: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PromptArgument {
    pub name: String,
    /// The property's description, else `Prompt for <name>`.
    pub description: String,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub name: String,
    pub description: String,
    pub target: Target,
    pub arguments: Vec<PromptArgument>,
    /// The `application/json` request-body schema the arguments are validated against;
    /// `None`: the prompt takes no arguments (§15.8).
    pub body_schema: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub name: String,
    pub description: String,
    pub uri: String,
    /// The configured `mimeType`, else `text/plain` (7.6.4, D20).
    pub mime_type: String,
    pub target: Target,
    pub meta: Option<Value>,
}
