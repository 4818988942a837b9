//! Finding a Node.js that can run the worker (SPEC §17.4, D23, D11).
//!
//! Owns: which `node` is used (an explicit path, else the first `node` on `PATH`), reading its
//! version from `node --version`, and the rule that it must be 22.6.0 or later (the first
//! release that strips TypeScript types). A refusal says what was found and what to install.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The oldest Node.js that strips TypeScript types (`--experimental-strip-types`).
pub const MIN_VERSION: (u64, u64, u64) = (22, 6, 0);

/// What to install, as the refusals say it.
pub const INSTALL_HINT: &str = "install Node.js 22.6 or later";

/// A usable Node.js.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: PathBuf,
    /// As `node --version` prints it, e.g. `v22.23.3`.
    pub version: String,
}

/// Why no usable Node.js was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    #[error("no node on PATH")]
    NotOnPath,
    #[error("no node at {0}")]
    Missing(PathBuf),
    #[error("{version} at {path}")]
    TooOld { version: String, path: PathBuf },
    #[error("{path} did not report a Node.js version ({why})")]
    Unusable { path: PathBuf, why: String },
}

impl NodeError {
    /// The sentence a 501 or a warning ends with: what to install and what was found.
    pub fn advice(&self) -> String {
        format!("{INSTALL_HINT} (found: {self})")
    }
}

/// Finds Node: `explicit` (`mcpgw dev --node`), else `node` on `PATH`; checks its version.
pub async fn find(explicit: Option<&Path>) -> Result<Node, NodeError> {
    let path = match explicit {
        Some(p) if p.is_file() => p.to_path_buf(),
        Some(p) => return Err(NodeError::Missing(p.to_path_buf())),
        None => on_path().ok_or(NodeError::NotOnPath)?,
    };
    let version = version_of(&path).await?;
    match parse_version(&version) {
        Some(v) if v >= MIN_VERSION => Ok(Node { path, version }),
        Some(_) => Err(NodeError::TooOld { version, path }),
        None => Err(NodeError::Unusable {
            path,
            why: format!("it printed {version:?}"),
        }),
    }
}

/// The first executable file named `node` on `PATH`.
fn on_path() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join("node"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// `node --version`, bounded in time: a program that hangs is not a usable Node.
async fn version_of(path: &Path) -> Result<String, NodeError> {
    let unusable = |why: String| NodeError::Unusable {
        path: path.to_path_buf(),
        why,
    };
    let run = tokio::process::Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .map_err(|_| unusable("`--version` did not answer within 10 s".to_string()))?
        .map_err(|e| unusable(e.to_string()))?;
    if !out.status.success() {
        return Err(unusable(format!("`--version` exited with {}", out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `v22.6.0` → `(22, 6, 0)`; a pre-release suffix (`-nightly…`) is ignored.
pub fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim().strip_prefix('v')?;
    let core = s.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next()??;
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_compare() {
        assert_eq!(parse_version("v22.23.3\n"), Some((22, 23, 3)));
        assert_eq!(parse_version("v23.0.0-nightly2024"), Some((23, 0, 0)));
        assert_eq!(parse_version("22.6.0"), None);
        assert_eq!(parse_version("vX"), None);
        assert!(parse_version("v22.5.9").unwrap() < MIN_VERSION);
        assert!(parse_version("v22.6.0").unwrap() >= MIN_VERSION);
        assert!(parse_version("v100.0.0").unwrap() >= MIN_VERSION);
    }

    #[test]
    fn refusals_say_what_was_found() {
        let e = NodeError::TooOld {
            version: "v20.19.0".into(),
            path: "/usr/bin/node".into(),
        };
        assert_eq!(
            e.advice(),
            "install Node.js 22.6 or later (found: v20.19.0 at /usr/bin/node)"
        );
        assert_eq!(
            NodeError::NotOnPath.advice(),
            "install Node.js 22.6 or later (found: no node on PATH)"
        );
    }

    #[tokio::test]
    async fn a_missing_explicit_path_is_named() {
        let e = find(Some(Path::new("/nonexistent/node")))
            .await
            .unwrap_err();
        assert_eq!(e, NodeError::Missing("/nonexistent/node".into()));
    }
}
