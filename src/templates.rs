//! Project templates for `mcpgw init`, compiled into the binary from `templates/projects/`.
//!
//! Owns: the list of templates, and writing one into a folder without overwriting anything:
//! every target is checked before the first byte is written. `.gitignore` is merged (the
//! lines mcpgw needs are appended), and `.env` is created from `.env.example` when missing.

use include_dir::{Dir, include_dir};
use std::path::{Path, PathBuf};

static PROJECTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/projects");

/// Lines every project's `.gitignore` needs: local state and secrets (D9, rule 10).
pub const GITIGNORE_LINES: [&str; 3] = [".mcpgw/", ".env", ".zuplo-local/"];

#[derive(Debug, Clone, Copy)]
pub struct TemplateInfo {
    pub name: &'static str,
    pub about: &'static str,
    /// The `mcpgw dev` flags that run the new project at once, offline where it can be.
    pub dev_args: &'static str,
}

pub const TEMPLATES: &[TemplateInfo] = &[
    TemplateInfo {
        name: "quickstart",
        about: "dev-login OAuth and one route to the built-in mock upstream; runs offline",
        dev_args: "--with-mock",
    },
    TemplateInfo {
        name: "mcp-server",
        about: "the project's own routes as MCP tools (mcpServerHandler), Auth0 JWT + PRM plugin; runs offline with --local-idp --with-mock",
        dev_args: "--local-idp --with-mock",
    },
    TemplateInfo {
        name: "multi-upstream",
        about: "several upstreams, a capability filter and per-user token exchange",
        dev_args: "",
    },
    TemplateInfo {
        name: "oidc",
        about: "generic mcp-oauth-inbound against any OpenID provider",
        dev_args: "",
    },
    TemplateInfo {
        name: "auth0",
        about: "mcp-auth0-oauth-inbound",
        dev_args: "",
    },
    TemplateInfo {
        name: "okta",
        about: "mcp-okta-oauth-inbound",
        dev_args: "",
    },
    TemplateInfo {
        name: "entra",
        about: "mcp-entra-oauth-inbound (Microsoft Entra ID)",
        dev_args: "",
    },
    TemplateInfo {
        name: "google",
        about: "mcp-google-oauth-inbound",
        dev_args: "",
    },
    TemplateInfo {
        name: "clerk",
        about: "mcp-clerk-oauth-inbound",
        dev_args: "",
    },
    TemplateInfo {
        name: "cognito",
        about: "mcp-cognito-oauth-inbound (Amazon Cognito)",
        dev_args: "",
    },
    TemplateInfo {
        name: "keycloak",
        about: "mcp-keycloak-oauth-inbound",
        dev_args: "",
    },
    TemplateInfo {
        name: "logto",
        about: "mcp-logto-oauth-inbound",
        dev_args: "",
    },
    TemplateInfo {
        name: "onelogin",
        about: "mcp-onelogin-oauth-inbound",
        dev_args: "",
    },
    TemplateInfo {
        name: "ping",
        about: "mcp-ping-oauth-inbound (PingOne)",
        dev_args: "",
    },
    TemplateInfo {
        name: "workos",
        about: "mcp-workos-oauth-inbound",
        dev_args: "",
    },
];

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("unknown template {0:?}; run `mcpgw init --list` to see the templates")]
    UnknownTemplate(String),
    #[error("refusing to overwrite existing files: {}", .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    WouldOverwrite(Vec<PathBuf>),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What `init` wrote.
#[derive(Debug, Default)]
pub struct InitOutcome {
    /// Paths relative to the target folder, in the order written.
    pub written: Vec<String>,
    /// Lines appended to an existing `.gitignore`.
    pub gitignore_added: Vec<String>,
    /// `.env` was created from `.env.example` and needs real values.
    pub env_created: bool,
}

/// The files of a template: `(relative path, contents)`.
pub fn files(name: &str) -> Result<Vec<(String, &'static [u8])>, InitError> {
    let dir = PROJECTS
        .get_dir(name)
        .ok_or_else(|| InitError::UnknownTemplate(name.to_string()))?;
    let mut out = Vec::new();
    collect(dir, name, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn collect(dir: &'static Dir<'static>, root: &str, out: &mut Vec<(String, &'static [u8])>) {
    for f in dir.files() {
        let rel = f.path().strip_prefix(root).unwrap_or(f.path());
        out.push((rel.to_string_lossy().replace('\\', "/"), f.contents()));
    }
    for d in dir.dirs() {
        collect(d, root, out);
    }
}

/// Writes template `name` into `target` (created if needed). Nothing is written when any file
/// of the template already exists there, except `.gitignore`, which is merged.
pub fn init(target: &Path, name: &str) -> Result<InitOutcome, InitError> {
    let files = files(name)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    let existing: Vec<PathBuf> = files
        .iter()
        .map(|(rel, _)| target.join(rel))
        .filter(|p| p.exists() && !p.ends_with(".gitignore"))
        .collect();
    if !existing.is_empty() {
        return Err(InitError::WouldOverwrite(existing));
    }
    let mut outcome = InitOutcome::default();
    for (rel, contents) in &files {
        if rel == ".gitignore" {
            continue;
        }
        let path = target.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, contents).map_err(io(&path))?;
        outcome.written.push(rel.clone());
    }

    let gitignore = target.join(".gitignore");
    let current = match std::fs::read_to_string(&gitignore) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(InitError::Io {
                path: gitignore,
                source: e,
            });
        }
    };
    let template_lines: Vec<String> = files
        .iter()
        .find(|(rel, _)| rel == ".gitignore")
        .map(|(_, c)| {
            String::from_utf8_lossy(c)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut wanted: Vec<String> = GITIGNORE_LINES.iter().map(|s| s.to_string()).collect();
    for l in template_lines {
        if !l.trim().is_empty() && !wanted.contains(&l) {
            wanted.push(l);
        }
    }
    match current {
        None => {
            std::fs::write(&gitignore, wanted.join("\n") + "\n").map_err(io(&gitignore))?;
            outcome.written.push(".gitignore".to_string());
        }
        Some(text) => {
            let have: Vec<&str> = text.lines().map(str::trim).collect();
            let missing: Vec<String> = wanted
                .into_iter()
                .filter(|l| !have.contains(&l.as_str()))
                .collect();
            if !missing.is_empty() {
                let mut new = text.clone();
                if !new.is_empty() && !new.ends_with('\n') {
                    new.push('\n');
                }
                new.push_str(&missing.join("\n"));
                new.push('\n');
                std::fs::write(&gitignore, new).map_err(io(&gitignore))?;
                outcome.gitignore_added = missing;
            }
        }
    }

    let example = target.join(".env.example");
    let env = target.join(".env");
    if example.is_file() && !env.exists() {
        std::fs::copy(&example, &env).map_err(io(&env))?;
        outcome.written.push(".env".to_string());
        outcome.env_created = true;
    }
    Ok(outcome)
}
