//! A Zuplo project on disk, loaded into a located model (SPEC §1).
//!
//! Owns: finding the project folder, reading `zuplo.jsonc`/`zuplo.json`, every
//! `config/*.oas.json` (alphabetically), `config/policies.json`, `.env`/`.env.zuplo` and
//! `modules/zuplo.runtime.ts`; the shape of routes and policy entries; where `$env(...)` may
//! appear (§1.4) and its substitution into handler options. Problems with the files become
//! findings; only a folder that cannot be read at all is a [`LoadError`]. What the options of a
//! policy *mean* is `config::policies`' job.

use super::env::{self, EnvSources, EnvVars};
use super::jsonc::{self, Node, Value};
use super::plugin::{self, PluginInfo};
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::rules;
use crate::diag::source::{FileId, SourceFile, SourceMap, Span, Spanned};
use std::path::{Path, PathBuf};

/// Why a project could not be read at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: no such folder")]
    NotFound(PathBuf),
    #[error("{0}: not a Zuplo project (no zuplo.jsonc, zuplo.json or config/ folder)")]
    NotAProject(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: not UTF-8 text")]
    NotUtf8(PathBuf),
    /// A FIFO, device, socket or folder where a file belongs: reading it could block or
    /// never end, so it is refused before it is opened.
    #[error("{path}: is {kind}, not a regular file")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{path}: larger than {limit} bytes, the most mcpgw reads from one project file")]
    TooLarge { path: PathBuf, limit: u64 },
}

/// The most mcpgw reads from one project file (config, `.env`, the runtime module): far above
/// any real project, far below what could exhaust memory.
pub const MAX_PROJECT_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// `{export, module, options}` of a policy or a route handler.
#[derive(Debug, Clone)]
pub struct HandlerRef {
    pub span: Span,
    pub export: Option<Spanned<String>>,
    pub module: Option<Spanned<String>>,
    /// The options with `$env(...)` substituted; each substituted value remembers its origin.
    pub options: Option<Node>,
}

impl HandlerRef {
    pub fn export(&self) -> &str {
        self.export.as_ref().map_or("", |s| s.value.as_str())
    }

    pub fn module(&self) -> &str {
        self.module.as_ref().map_or("", |s| s.value.as_str())
    }

    /// Custom TypeScript code: `$import(./modules/...)`.
    pub fn is_custom_module(&self) -> bool {
        self.module().starts_with("$import(./") || self.module().starts_with("$import(../")
    }
}

/// One operation of a route file: a path plus a method key.
#[derive(Debug, Clone)]
pub struct Route {
    pub file: FileId,
    pub path: Spanned<String>,
    /// The method key as written, e.g. `get,post`.
    pub method_key: Spanned<String>,
    /// Lower-cased methods of the key.
    pub methods: Vec<String>,
    pub operation_span: Span,
    pub operation_id: Option<Spanned<String>>,
    /// The operation's OpenAPI `summary` and `description` (strings only), for the registry.
    pub summary: Option<String>,
    pub description: Option<String>,
    /// The `x-zuplo-route` object, when present.
    pub route_ext: Option<Span>,
    pub handler: Option<HandlerRef>,
    pub inbound: Vec<Spanned<String>>,
    pub outbound: Vec<Spanned<String>>,
    /// False when `policies` or one of its lists is not the expected shape (MCP107 says why):
    /// rules that need to know every policy of the route then stay quiet.
    pub policy_lists_ok: bool,
    pub cors_policy: Option<Spanned<String>>,
}

impl Route {
    /// The location to blame for route-wide findings: the method key.
    pub fn span(&self) -> Span {
        self.method_key.span
    }

    pub fn operation_id(&self) -> &str {
        self.operation_id.as_ref().map_or("", |s| s.value.as_str())
    }
}

/// One entry of `policies.json`.
#[derive(Debug, Clone)]
pub struct PolicyDecl {
    pub span: Span,
    pub name: Spanned<String>,
    pub policy_type: Spanned<String>,
    pub handler: HandlerRef,
}

/// Whether the secrets files exist and whether git ignores them (rule 10).
#[derive(Debug, Clone, Default)]
pub struct SecretsIgnore {
    pub env_exists: bool,
    pub env_ignored: bool,
    pub local_exists: bool,
    pub local_ignored: bool,
}

/// A loaded project: every file that was read, plus the located model of its contents.
#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub sources: SourceMap,
    pub zuplo_file: Option<FileId>,
    /// The root object of zuplo.jsonc, when it parsed as an object.
    pub zuplo: Option<Node>,
    pub route_files: Vec<FileId>,
    /// The parsed root object of each route file that parsed as one (what `$ref`s and the
    /// `mcpServerHandler` registration read, §15.5), keyed by file.
    pub route_docs: Vec<(FileId, Node)>,
    pub routes: Vec<Route>,
    pub policies_file: Option<FileId>,
    /// Whether `config/policies.json` was found, parsed and holds a `policies` array (rule 6).
    /// When it is false, rules about which policies exist stay quiet: rule 6 already failed.
    pub policies_readable: bool,
    pub policies: Vec<PolicyDecl>,
    /// Name → index of the first policy with that name.
    policy_index: std::collections::HashMap<String, usize>,
    /// Names of policy entries that are too incomplete to use (MCP106 says why); references
    /// to them are not "unknown policies".
    pub incomplete_policies: Vec<String>,
    pub cors_policies: Vec<Node>,
    pub env: EnvVars,
    pub plugin: PluginInfo,
    pub secrets: SecretsIgnore,
    /// `node_modules/zuplo/docs/policies` when the project has the zuplo package installed (D13).
    pub zuplo_policy_docs: Option<PathBuf>,
}

impl Project {
    pub fn policy(&self, name: &str) -> Option<&PolicyDecl> {
        self.policy_index.get(name).map(|&i| &self.policies[i])
    }

    /// Index of the first policy with this name in `policies`.
    pub fn policy_position(&self, name: &str) -> Option<usize> {
        self.policy_index.get(name).copied()
    }

    /// Whether every policy a route lists is known, so that rules about what a route lacks
    /// (an MCP OAuth policy, say) do not repeat a broken file or an unknown name as a
    /// second finding.
    pub fn route_policies_resolved(&self, route: &Route) -> bool {
        self.policies_readable
            && route.policy_lists_ok
            && route
                .inbound
                .iter()
                .all(|n| self.policy(&n.value).is_some())
    }

    /// The parsed root object of a route file.
    pub fn route_doc(&self, file: FileId) -> Option<&Node> {
        self.route_docs
            .iter()
            .find(|(id, _)| *id == file)
            .map(|(_, doc)| doc)
    }

    /// The path as Zuplo's build records a route file, e.g. `./config/routes.oas.json`: what
    /// `mcpServerHandler`'s `operations[].file` must equal character for character (§15.3).
    pub fn route_file_path(&self, file: FileId) -> String {
        format!("./{}", self.sources.get(file).path)
    }

    /// The path item (`paths["/todos"]`) a route's operation belongs to.
    pub fn path_item_node(&self, route: &Route) -> Option<&Node> {
        self.route_doc(route.file)?
            .get("paths")?
            .as_object()?
            .iter()
            .find(|m| m.key_span == route.path.span)
            .map(|m| &m.node)
    }

    /// The operation object of a route (`paths["/todos"].get`).
    pub fn operation_node(&self, route: &Route) -> Option<&Node> {
        self.path_item_node(route)?
            .as_object()?
            .iter()
            .find(|m| m.key_span == route.method_key.span)
            .map(|m| &m.node)
    }

    /// The span to use for a finding about a whole file.
    pub fn file_span(&self, file: FileId) -> Span {
        Span::file_start(file)
    }

    /// The browser origins a route's `corsPolicy` allows, as patterns: `*` for the built-in
    /// `anything-goes`, a custom policy's `allowedOrigins` (an array, or one comma-separated
    /// string), nothing for `none`, no policy or a name `corsPolicies` does not define.
    pub fn cors_allowed_origins(&self, route: &Route) -> Vec<String> {
        let Some(name) = route.cors_policy.as_ref().map(|c| c.value.as_str()) else {
            return Vec::new();
        };
        match name {
            "none" => Vec::new(),
            "anything-goes" => vec!["*".to_string()],
            custom => self
                .cors_policies
                .iter()
                .find(|p| p.get("name").and_then(Node::as_str) == Some(custom))
                .and_then(|p| p.get("allowedOrigins"))
                .map(|origins| match origins.as_array() {
                    Some(items) => items
                        .iter()
                        .filter_map(Node::as_str)
                        .map(str::to_string)
                        .collect(),
                    None => origins
                        .as_str()
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_string)
                        .collect(),
                })
                .unwrap_or_default(),
        }
    }
}

/// Which folder holds the project: `path` itself, or its parent when `path` is `config/`.
pub fn resolve_root(path: &Path) -> Result<PathBuf, LoadError> {
    if !path.is_dir() {
        return Err(LoadError::NotFound(path.to_path_buf()));
    }
    let has_project_files = |p: &Path| {
        p.join("zuplo.jsonc").is_file()
            || p.join("zuplo.json").is_file()
            || p.join("config").is_dir()
    };
    if has_project_files(path) {
        return Ok(path.to_path_buf());
    }
    let is_config_dir = path
        .canonicalize()
        .ok()
        .and_then(|c| c.file_name().map(|n| n == "config"))
        .unwrap_or(false);
    if is_config_dir {
        let parent = path.join("..");
        if parent.is_dir() {
            return Ok(parent);
        }
    }
    Err(LoadError::NotAProject(path.to_path_buf()))
}

/// Loads the project in `path` (the project folder or its `config/` folder).
/// `process_env` lets `$env(NAME)` fall back to the process environment.
pub fn load(path: &Path, process_env: bool, findings: &mut Findings) -> Result<Project, LoadError> {
    let sources = EnvSources {
        process_env,
        ..EnvSources::default()
    };
    load_with(path, &sources, findings)
}

/// [`load`] with variables from `--env-file` files and, with `--env-example`, the names of
/// `.env.example` as set by the deployment.
pub fn load_with(
    path: &Path,
    env_sources: &EnvSources,
    findings: &mut Findings,
) -> Result<Project, LoadError> {
    let root = resolve_root(path)?;
    let mut sources = SourceMap::default();

    // .env files first: their values are substituted into the others.
    let mut env_files = Vec::new();
    for name in [".env", ".env.zuplo"] {
        if let Some(text) = read_optional(&root.join(name))? {
            env_files.push(sources.add(SourceFile::new(name, text)));
        }
    }
    for file in &env_sources.files {
        // named on the command line: it must be there
        let text = read_optional(file)?.ok_or_else(|| LoadError::Io {
            path: file.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file (--env-file)"),
        })?;
        env_files.push(sources.add(SourceFile::new(file.display().to_string(), text)));
    }
    let env_refs: Vec<(FileId, &SourceFile)> =
        env_files.iter().map(|id| (*id, sources.get(*id))).collect();
    let mut env = EnvVars::from_files(&env_refs);
    if env_sources.process_env {
        env = env.with_process_env();
    }
    if env_sources.example {
        let example = root.join(".env.example");
        let text = read_optional(&example)?.ok_or_else(|| LoadError::Io {
            path: example.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "--env-example needs this file: commit one that lists every variable the deployment sets",
            ),
        })?;
        let id = sources.add(SourceFile::new(".env.example", text));
        env = env.with_deployment_names(id, sources.get(id));
    }

    // zuplo.jsonc wins over zuplo.json
    let mut zuplo_file = None;
    let mut zuplo = None;
    for name in ["zuplo.jsonc", "zuplo.json"] {
        if let Some(text) = read_optional(&root.join(name))? {
            let id = sources.add(SourceFile::new(name, text));
            zuplo_file = Some(id);
            zuplo = parse_root_object(&sources, id, &rules::ZUPLO_CONFIG_INVALID, findings);
            if let Some(node) = &zuplo {
                forbid_env(node, findings);
            }
            break;
        }
    }
    if zuplo_file.is_none() {
        // The finding needs a location; blame the folder through a synthetic empty file.
        let id = sources.add(SourceFile::placeholder("zuplo.jsonc"));
        findings.push(
            &rules::ZUPLO_CONFIG_INVALID,
            Span::file_start(id),
            "zuplo.jsonc not found (nor zuplo.json)",
        );
    }

    let config_dir = root.join("config");
    let mut route_files = Vec::new();
    let mut route_docs = Vec::new();
    let mut routes = Vec::new();
    for (rel, full) in list_route_files(&config_dir)? {
        let text = read_required(&full)?;
        let id = sources.add(SourceFile::new(rel, text));
        route_files.push(id);
        if let Some(doc) = parse_root_object(&sources, id, &rules::ROUTE_FILE_INVALID, findings) {
            read_routes(id, &doc, &env, &mut routes, findings);
            route_docs.push((id, doc));
        }
    }

    let mut policies_file = None;
    let mut policies_readable = false;
    let mut policies = Vec::new();
    let mut incomplete_policies = Vec::new();
    let mut cors_policies = Vec::new();
    match read_optional(&config_dir.join("policies.json"))? {
        Some(text) => {
            let id = sources.add(SourceFile::new("config/policies.json", text));
            policies_file = Some(id);
            if let Some(doc) =
                parse_root_object(&sources, id, &rules::POLICIES_FILE_INVALID, findings)
            {
                policies_readable = read_policies(
                    &doc,
                    &env,
                    &mut policies,
                    &mut incomplete_policies,
                    &mut cors_policies,
                    findings,
                );
            }
        }
        None => {
            let id = sources.add(SourceFile::placeholder("config/policies.json"));
            findings.push(
                &rules::POLICIES_FILE_INVALID,
                Span::file_start(id),
                "config/policies.json not found",
            );
        }
    }

    let plugin = match read_optional(&root.join("modules/zuplo.runtime.ts"))? {
        Some(text) => {
            let id = sources.add(SourceFile::new("modules/zuplo.runtime.ts", text));
            plugin::read(id, &sources.get(id).text, findings)
        }
        None => PluginInfo::default(),
    };

    let secrets = secrets_ignore(&root);
    let docs = root.join("node_modules/zuplo/docs/policies");
    let zuplo_policy_docs = docs.is_dir().then_some(docs);

    let mut policy_index = std::collections::HashMap::with_capacity(policies.len());
    for (i, p) in policies.iter().enumerate() {
        policy_index.entry(p.name.value.clone()).or_insert(i);
    }

    Ok(Project {
        root,
        sources,
        zuplo_file,
        zuplo,
        route_files,
        route_docs,
        routes,
        policies_file,
        policies_readable,
        policies,
        policy_index,
        incomplete_policies,
        cors_policies,
        env,
        plugin,
        secrets,
        zuplo_policy_docs,
    })
}

/// Reads a project file that may be absent. Only regular files are opened (a FIFO would block
/// `validate` and hot reload, `/dev/zero` would never end); reads are capped at
/// [`MAX_PROJECT_FILE_BYTES`]. Symbolic links are followed; a loop is an error naming the file.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, LoadError> {
    use std::io::Read;
    let io = |source: std::io::Error| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // a dangling symbolic link is not "absent": say so
            return match std::fs::symlink_metadata(path) {
                Ok(_) => Err(io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "is a symbolic link to nothing",
                ))),
                Err(_) => Ok(None),
            };
        }
        Err(e) => return Err(io(e)),
    };
    if !meta.is_file() {
        return Err(LoadError::NotAFile {
            path: path.to_path_buf(),
            kind: file_kind(&meta),
        });
    }
    if meta.len() > MAX_PROJECT_FILE_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_PROJECT_FILE_BYTES,
        });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // capped again: the file may grow between the check and the read
    file.take(MAX_PROJECT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_PROJECT_FILE_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_PROJECT_FILE_BYTES,
        });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| LoadError::NotUtf8(path.to_path_buf()))
}

/// What a path that is not a regular file is, for the error message.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

fn read_required(path: &Path) -> Result<String, LoadError> {
    read_optional(path)?.ok_or_else(|| LoadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "file vanished while reading"),
    })
}

/// `config/*.oas.json`, sorted by file name as the gateway processes them.
fn list_route_files(config_dir: &Path) -> Result<Vec<(String, PathBuf)>, LoadError> {
    let entries = match std::fs::read_dir(config_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LoadError::Io {
                path: config_dir.to_path_buf(),
                source,
            });
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Io {
            path: config_dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // every *.oas.json is read, so a folder, FIFO or link loop by that name is an error that
        // names it rather than a route file silently left out
        if name.ends_with(".oas.json") {
            files.push((format!("config/{name}"), entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// Parses a file that must hold one JSON object; reports syntax errors and other shapes.
fn parse_root_object(
    sources: &SourceMap,
    id: FileId,
    rule: &'static rules::Rule,
    findings: &mut Findings,
) -> Option<Node> {
    let file = sources.get(id);
    match jsonc::parse(id, &file.text) {
        Ok(Some(node)) if node.as_object().is_some() => Some(node),
        Ok(Some(node)) => {
            findings.push(
                rule,
                node.span,
                format!(
                    "{} must hold a JSON object, found {}",
                    file.path,
                    node.kind_name()
                ),
            );
            None
        }
        Ok(None) => {
            findings.push(
                rule,
                Span::file_start(id),
                format!("{} is empty", file.path),
            );
            None
        }
        Err(err) => {
            findings.push(rule, err.span, format!("{}: {}", file.path, err.message));
            None
        }
    }
}

/// Rule 8: `$env(` anywhere in this subtree is a build error.
fn forbid_env(node: &Node, findings: &mut Findings) {
    match &node.value {
        Value::String(s) if s.contains("$env(") => findings.push(
            &rules::ENV_NOT_ALLOWED_HERE,
            node.span,
            "an $env() statement is not expected at this location",
        ),
        Value::Array(items) => items.iter().for_each(|n| forbid_env(n, findings)),
        Value::Object(members) => members.iter().for_each(|m| {
            if m.key.contains("$env(") {
                findings.push(
                    &rules::ENV_NOT_ALLOWED_HERE,
                    m.key_span,
                    "an $env() statement is not expected in an object key",
                );
            }
            forbid_env(&m.node, findings)
        }),
        _ => {}
    }
}

/// Checks every `$env(NAME)` of an allowed subtree (rules 9, 104, 105) and substitutes it.
fn allow_env(node: &Node, env: &EnvVars, findings: &mut Findings) -> Node {
    check_env_refs(node, env, findings);
    let mut out = node.clone();
    env::substitute(&mut out, env);
    out
}

fn check_env_refs(node: &Node, vars: &EnvVars, findings: &mut Findings) {
    match &node.value {
        Value::String(s) => {
            for r in env::find_env_refs(s) {
                if !env::is_valid_env_name(&r.name) {
                    findings.push(
                        &rules::ENV_VAR_NAME_INVALID,
                        node.span,
                        format!(
                            "`$env({})`: variable names use letters, digits and underscores",
                            r.name
                        ),
                    );
                } else if let Some(prefix) = env::reserved_prefix(&r.name) {
                    findings.push(
                        &rules::ENV_VAR_RESERVED,
                        node.span,
                        format!("`{}`: names starting with {prefix} are reserved", r.name),
                    );
                } else if vars.get(&r.name).is_none() {
                    findings.push_with_help(
                        &rules::ENV_VAR_UNDEFINED,
                        node.span,
                        format!(
                            "`$env({})` is not defined in .env or the environment",
                            r.name
                        ),
                        format!(
                            "add {}=… to .env (and a placeholder to .env.example)",
                            r.name
                        ),
                    );
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|n| check_env_refs(n, vars, findings)),
        Value::Object(members) => members
            .iter()
            .for_each(|m| check_env_refs(&m.node, vars, findings)),
        _ => {}
    }
}

fn spanned_str(node: &Node) -> Option<Spanned<String>> {
    node.as_str()
        .map(|s| Spanned::new(s.to_string(), node.span))
}

/// Reads `{export, module, options}`; `$env` allowed only in options.
fn read_handler(
    node: &Node,
    env: &EnvVars,
    owner: &str,
    rule: &'static rules::Rule,
    findings: &mut Findings,
) -> HandlerRef {
    let mut handler = HandlerRef {
        span: node.span,
        export: None,
        module: None,
        options: None,
    };
    let Some(members) = node.as_object() else {
        findings.push(
            rule,
            node.span,
            format!(
                "{owner}: handler must be an object, found {}",
                node.kind_name()
            ),
        );
        return handler;
    };
    for m in members {
        match m.key.as_str() {
            "options" => {
                handler.options = Some(allow_env(&m.node, env, findings));
            }
            key => {
                forbid_env(&m.node, findings);
                if key == "export" || key == "module" {
                    match spanned_str(&m.node) {
                        Some(s) if !s.value.trim().is_empty() => {
                            if key == "export" {
                                handler.export = Some(s)
                            } else {
                                handler.module = Some(s)
                            }
                        }
                        _ => findings.push(
                            rule,
                            m.node.span,
                            format!("{owner}: handler.{key} must be a non-empty string"),
                        ),
                    }
                }
            }
        }
    }
    for key in ["export", "module"] {
        let missing = if key == "export" {
            handler.export.is_none()
        } else {
            handler.module.is_none()
        };
        if missing && node.get(key).is_none() {
            findings.push(
                rule,
                node.span,
                format!("{owner}: handler.{key} is missing"),
            );
        }
    }
    handler
}

/// Reads the entries of `policies.json`; false when it has no `policies` array.
fn read_policies(
    doc: &Node,
    env: &EnvVars,
    out: &mut Vec<PolicyDecl>,
    incomplete: &mut Vec<String>,
    cors: &mut Vec<Node>,
    findings: &mut Findings,
) -> bool {
    let mut saw_policies = false;
    let mut readable = false;
    for m in doc.as_object().unwrap_or_default() {
        match m.key.as_str() {
            "policies" => {
                saw_policies = true;
                let Some(items) = m.node.as_array() else {
                    findings.push(
                        &rules::POLICIES_FILE_INVALID,
                        m.node.span,
                        format!("`policies` must be an array, found {}", m.node.kind_name()),
                    );
                    continue;
                };
                readable = true;
                for item in items {
                    match read_policy(item, env, findings) {
                        Ok(p) => out.push(p),
                        Err(Some(name)) => incomplete.push(name),
                        Err(None) => {}
                    }
                }
            }
            "corsPolicies" => match m.node.as_array() {
                Some(items) => {
                    for item in items {
                        match item.as_object() {
                            Some(members) => {
                                // $env is allowed in direct properties only
                                let mut node = item.clone();
                                if let Value::Object(out_members) = &mut node.value {
                                    for (om, im) in out_members.iter_mut().zip(members) {
                                        if im.node.as_str().is_some() {
                                            om.node = allow_env(&im.node, env, findings);
                                        } else {
                                            forbid_env(&im.node, findings);
                                        }
                                    }
                                }
                                cors.push(node);
                            }
                            None => forbid_env(item, findings),
                        }
                    }
                }
                None => forbid_env(&m.node, findings),
            },
            _ => forbid_env(&m.node, findings),
        }
    }
    if !saw_policies {
        findings.push(
            &rules::POLICIES_FILE_INVALID,
            doc.span,
            "config/policies.json has no `policies` array",
        );
    }
    readable
}

/// One policy entry; an entry too incomplete to use is `Err` with its name, when it has one.
fn read_policy(
    item: &Node,
    env: &EnvVars,
    findings: &mut Findings,
) -> Result<PolicyDecl, Option<String>> {
    let rule = &rules::POLICY_ENTRY_SHAPE;
    if item.as_object().is_none() {
        findings.push(
            rule,
            item.span,
            format!(
                "a policy entry must be an object, found {}",
                item.kind_name()
            ),
        );
        return Err(None);
    }
    let mut name = None;
    let mut policy_type = None;
    let mut handler = None;
    for m in item.as_object().unwrap_or_default() {
        if m.key != "handler" {
            forbid_env(&m.node, findings);
        }
        match m.key.as_str() {
            "name" | "policyType" => match spanned_str(&m.node) {
                Some(s) if !s.value.trim().is_empty() => {
                    if m.key == "name" {
                        name = Some(s)
                    } else {
                        policy_type = Some(s)
                    }
                }
                _ => findings.push(
                    rule,
                    m.node.span,
                    format!("policy `{}` must be a non-empty string", m.key),
                ),
            },
            "handler" => {
                let owner = item.get("name").and_then(Node::as_str).unwrap_or("policy");
                handler = Some(read_handler(
                    &m.node,
                    env,
                    &format!("policy `{owner}`"),
                    rule,
                    findings,
                ));
            }
            _ => {}
        }
    }
    for (key, present) in [
        ("name", name.is_some()),
        ("policyType", policy_type.is_some()),
        ("handler", handler.is_some()),
    ] {
        if !present && item.get(key).is_none() {
            findings.push(rule, item.span, format!("policy entry is missing `{key}`"));
        }
    }
    match (name, policy_type, handler) {
        (Some(name), Some(policy_type), Some(handler)) => Ok(PolicyDecl {
            span: item.span,
            name,
            policy_type,
            handler,
        }),
        (name, _, _) => Err(name.map(|n| n.value)),
    }
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
const PATH_ITEM_FIELDS: [&str; 5] = ["summary", "description", "parameters", "servers", "$ref"];

fn read_routes(
    file: FileId,
    doc: &Node,
    env: &EnvVars,
    out: &mut Vec<Route>,
    findings: &mut Findings,
) {
    let rule = &rules::ROUTE_FILE_INVALID;
    for m in doc.as_object().unwrap_or_default() {
        if m.key != "paths" {
            forbid_env(&m.node, findings);
        }
    }
    let Some(paths) = doc.member("paths") else {
        findings.push(rule, doc.span, "route file has no `paths` object");
        return;
    };
    let Some(path_items) = paths.node.as_object() else {
        findings.push(
            rule,
            paths.node.span,
            format!(
                "`paths` must be an object, found {}",
                paths.node.kind_name()
            ),
        );
        return;
    };
    for item in path_items {
        let path = Spanned::new(item.key.clone(), item.key_span);
        if !item.key.starts_with('/') {
            findings.push(
                &rules::ROUTE_SHAPE,
                item.key_span,
                format!("route path `{}` must start with /", item.key),
            );
        }
        let Some(ops) = item.node.as_object() else {
            findings.push(
                rule,
                item.node.span,
                format!("path `{}` must map to an object", item.key),
            );
            continue;
        };
        for op in ops {
            let methods: Vec<String> = op
                .key
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect();
            let all_methods = methods.iter().all(|m| HTTP_METHODS.contains(&m.as_str()));
            if !all_methods {
                forbid_env(&op.node, findings);
                if PATH_ITEM_FIELDS.contains(&op.key.as_str()) || op.key.starts_with("x-") {
                    continue;
                }
                if op.node.get("x-zuplo-route").is_some() {
                    findings.push(
                        &rules::ROUTE_SHAPE,
                        op.key_span,
                        format!(
                            "`{}` is not an HTTP method or a comma list of methods",
                            op.key
                        ),
                    );
                }
                continue;
            }
            if let Some(r) = read_operation(file, &path, op, methods, env, findings) {
                out.push(r);
            }
        }
    }
}

fn read_operation(
    file: FileId,
    path: &Spanned<String>,
    op: &jsonc::Member,
    methods: Vec<String>,
    env: &EnvVars,
    findings: &mut Findings,
) -> Option<Route> {
    let rule = &rules::ROUTE_SHAPE;
    let method_key = Spanned::new(op.key.clone(), op.key_span);
    let Some(members) = op.node.as_object() else {
        findings.push(
            rule,
            op.node.span,
            format!("operation `{}` must be an object", op.key),
        );
        return None;
    };
    let mut route = Route {
        file,
        path: path.clone(),
        method_key,
        methods,
        operation_span: op.node.span,
        operation_id: None,
        summary: None,
        description: None,
        route_ext: None,
        handler: None,
        inbound: Vec::new(),
        outbound: Vec::new(),
        policy_lists_ok: true,
        cors_policy: None,
    };
    for m in members {
        if m.key != "x-zuplo-route" {
            forbid_env(&m.node, findings);
        }
        match m.key.as_str() {
            "operationId" => match spanned_str(&m.node) {
                Some(s) => route.operation_id = Some(s),
                None => findings.push(rule, m.node.span, "operationId must be a string"),
            },
            "x-zuplo-route" => read_route_ext(&mut route, &m.node, env, findings),
            "summary" => route.summary = m.node.as_str().map(str::to_string),
            "description" => route.description = m.node.as_str().map(str::to_string),
            _ => {}
        }
    }
    if route.route_ext.is_none() {
        findings.push_as(
            rule,
            Severity::Warning,
            route.method_key.span,
            format!(
                "{} {} has no x-zuplo-route: it is documented but not served",
                op.key, path.value
            ),
        );
    }
    Some(route)
}

fn read_route_ext(route: &mut Route, node: &Node, env: &EnvVars, findings: &mut Findings) {
    let rule = &rules::ROUTE_SHAPE;
    let Some(members) = node.as_object() else {
        findings.push(rule, node.span, "x-zuplo-route must be an object");
        return;
    };
    route.route_ext = Some(node.span);
    let owner = format!("route {}", route.path.value);
    for m in members {
        if m.key != "handler" {
            forbid_env(&m.node, findings);
        }
        match m.key.as_str() {
            "handler" => route.handler = Some(read_handler(&m.node, env, &owner, rule, findings)),
            "corsPolicy" => match spanned_str(&m.node) {
                Some(s) => route.cors_policy = Some(s),
                None => findings.push(rule, m.node.span, "corsPolicy must be a string"),
            },
            "policies" => {
                let Some(lists) = m.node.as_object() else {
                    route.policy_lists_ok = false;
                    findings.push(
                        rule,
                        m.node.span,
                        "x-zuplo-route.policies must be an object",
                    );
                    continue;
                };
                for list in lists {
                    let target = match list.key.as_str() {
                        "inbound" => &mut route.inbound,
                        "outbound" => &mut route.outbound,
                        _ => continue,
                    };
                    let Some(items) = list.node.as_array() else {
                        route.policy_lists_ok = false;
                        findings.push(
                            rule,
                            list.node.span,
                            format!("policies.{} must be an array of policy names", list.key),
                        );
                        continue;
                    };
                    for item in items {
                        match spanned_str(item) {
                            Some(s) => target.push(s),
                            None => {
                                route.policy_lists_ok = false;
                                findings.push(
                                    rule,
                                    item.span,
                                    "a policy reference must be a string (the policy's name)",
                                );
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if route.handler.is_none() {
        findings.push(
            rule,
            node.span,
            format!("{owner}: x-zuplo-route has no handler"),
        );
    }
}

/// Rule 10 inputs, read with git's own ignore rules from the project folder up to the repository root.
fn secrets_ignore(root: &Path) -> SecretsIgnore {
    let env_exists = root.join(".env").is_file();
    let local_exists = root.join(".zuplo-local").is_dir();
    let mut s = SecretsIgnore {
        env_exists,
        local_exists,
        ..Default::default()
    };
    if !env_exists && !local_exists {
        return s;
    }
    let Ok(abs) = root.canonicalize() else {
        return s;
    };
    // .gitignore files from the repository root down to the project folder
    let mut dirs = Vec::new();
    for dir in abs.ancestors() {
        dirs.push(dir.to_path_buf());
        if dir.join(".git").exists() {
            break;
        }
    }
    dirs.reverse();
    let is_ignored = |rel: &str, is_dir: bool| {
        let target = abs.join(rel);
        let mut ignored = false;
        for dir in &dirs {
            let mut b = ignore::gitignore::GitignoreBuilder::new(dir);
            if b.add(dir.join(".gitignore")).is_some() {
                continue;
            }
            if let Ok(gi) = b.build() {
                match gi.matched_path_or_any_parents(&target, is_dir) {
                    ignore::Match::Ignore(_) => ignored = true,
                    ignore::Match::Whitelist(_) => ignored = false,
                    ignore::Match::None => {}
                }
            }
        }
        ignored
    };
    s.env_ignored = env_exists && is_ignored(".env", false);
    s.local_ignored = local_exists && is_ignored(".zuplo-local", true);
    s
}
