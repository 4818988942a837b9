//! The gateway secret and the state folder (D9).
//!
//! Owns: where local state lives (`.mcpgw/` in the project folder, created with mode 0700), and
//! the 32-byte gateway secret from which purpose keys are derived (§5.5, §6.2): the env
//! variable `MCPGW_SECRET_KEY` (64 hex characters or base64 of 32 bytes) when set, else
//! `.mcpgw/secret.key`, created with mode 0600 on first run. The file is written under a
//! temporary name and hard-linked into place, so two processes starting together never both
//! write it and nobody reads it half-written.

use super::StoreError;
use base64::Engine as _;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// The folder name under the project folder.
pub const STATE_DIR_NAME: &str = ".mcpgw";
/// The SQLite database inside the state folder.
pub const DB_FILE_NAME: &str = "state.db";
/// The gateway secret inside the state folder.
pub const KEY_FILE_NAME: &str = "secret.key";
/// Environment variable that overrides the key file.
pub const SECRET_KEY_ENV: &str = "MCPGW_SECRET_KEY";

/// `<project>/.mcpgw` (the default; `--state-dir` overrides it).
pub fn default_state_dir(project_dir: &Path) -> PathBuf {
    project_dir.join(STATE_DIR_NAME)
}

pub fn db_path(state_dir: &Path) -> PathBuf {
    state_dir.join(DB_FILE_NAME)
}

pub fn key_path(state_dir: &Path) -> PathBuf {
    state_dir.join(KEY_FILE_NAME)
}

/// Creates the state folder (and its parents) if needed; a folder it creates gets mode 0700.
/// An existing folder keeps its mode.
pub fn ensure_state_dir(state_dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(state_dir).map_err(|source| StoreError::Io {
        path: state_dir.to_path_buf(),
        action: "create the state folder",
        source,
    })
}

/// The 32-byte gateway secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct GatewaySecret([u8; 32]);

impl GatewaySecret {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        GatewaySecret(bytes)
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for GatewaySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GatewaySecret([redacted])")
    }
}

/// Where the secret came from (for a startup log line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    /// Read from an existing file.
    File(PathBuf),
    /// Created just now.
    Created(PathBuf),
}

/// Whether the gateway secret will be created anew: no `MCPGW_SECRET_KEY`, no key file.
pub fn secret_is_missing(state_dir: &Path) -> bool {
    std::env::var_os(SECRET_KEY_ENV).is_none_or(|v| v.is_empty())
        && std::fs::symlink_metadata(key_path(state_dir)).is_err()
}

/// Loads the gateway secret: `MCPGW_SECRET_KEY` from the process environment, else the key
/// file in `state_dir` (created if missing; `state_dir` must exist). A key file that other
/// users can read is refused (D9: mode 0600).
pub fn load_gateway_secret(state_dir: &Path) -> Result<(GatewaySecret, KeySource), StoreError> {
    let env = std::env::var_os(SECRET_KEY_ENV);
    let env = match env {
        None => None,
        Some(v) => Some(v.into_string().map_err(|_| StoreError::InvalidSecretKey {
            origin: SECRET_KEY_ENV.to_string(),
            reason: "not UTF-8".to_string(),
        })?),
    };
    load_gateway_secret_with(state_dir, env.as_deref())
}

/// [`load_gateway_secret`] with the environment value passed in (tests; callers that read the
/// environment elsewhere). An empty value counts as unset.
pub fn load_gateway_secret_with(
    state_dir: &Path,
    env_value: Option<&str>,
) -> Result<(GatewaySecret, KeySource), StoreError> {
    if let Some(value) = env_value.map(str::trim).filter(|v| !v.is_empty()) {
        return Ok((parse_env_key(value)?, KeySource::Env));
    }
    let path = key_path(state_dir);
    match read_key_file(&path) {
        Ok(key) => return Ok((key, KeySource::File(path))),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    if create_key_file(&path, &bytes)? {
        Ok((GatewaySecret(bytes), KeySource::Created(path)))
    } else {
        // Another process created it between our read and our write: use theirs.
        Ok((read_key_file(&path)?, KeySource::File(path)))
    }
}

/// 64 hex characters, or base64 (standard or URL-safe, padded or not) of 32 bytes.
fn parse_env_key(value: &str) -> Result<GatewaySecret, StoreError> {
    let bad = |reason: String| StoreError::InvalidSecretKey {
        origin: SECRET_KEY_ENV.to_string(),
        reason,
    };
    if value.len() == 64
        && value.bytes().all(|b| b.is_ascii_hexdigit())
        && let Some(bytes) = decode_hex(value)
    {
        return Ok(GatewaySecret(bytes));
    }
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    for engine in engines {
        if let Ok(decoded) = engine.decode(value) {
            return <[u8; 32]>::try_from(decoded.as_slice())
                .map(GatewaySecret)
                .map_err(|_| {
                    bad(format!(
                        "base64 of {} bytes; expected 32 bytes (64 hex characters or base64)",
                        decoded.len()
                    ))
                });
        }
    }
    Err(bad(
        "expected 64 hex characters or base64 of 32 bytes".to_string()
    ))
}

fn decode_hex(s: &str) -> Option<[u8; 32]> {
    let digits = s.as_bytes();
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let hi = (*digits.get(2 * i)? as char).to_digit(16)?;
        let lo = (*digits.get(2 * i + 1)? as char).to_digit(16)?;
        *byte = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Opens a key file for reading, refusing one that others may read (mode must be 0600).
pub(crate) fn open_private_file(
    path: &Path,
    action: &'static str,
) -> Result<std::fs::File, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata().map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(StoreError::KeyFileTooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    Ok(file)
}

fn read_key_file(path: &Path) -> Result<GatewaySecret, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        action: "read the gateway secret",
        source,
    };
    let file = open_private_file(path, "read the gateway secret")?;
    // Read at most one byte more than expected, so a huge file is not read whole.
    let mut buf = Vec::with_capacity(33);
    file.take(33).read_to_end(&mut buf).map_err(io)?;
    <[u8; 32]>::try_from(buf.as_slice())
        .map(GatewaySecret)
        .map_err(|_| StoreError::InvalidSecretKey {
            origin: path.display().to_string(),
            reason: format!(
                "{} bytes; a key file holds exactly 32 random bytes (delete it to make a new \
                 one; tokens and connections stored with the old key stop working)",
                if buf.len() > 32 {
                    "more than 32".to_string()
                } else {
                    buf.len().to_string()
                }
            ),
        })
}

/// Writes `bytes` to `path` with mode 0600 unless the file exists. `Ok(false)` when another
/// process got there first.
fn create_key_file(path: &Path, bytes: &[u8; 32]) -> Result<bool, StoreError> {
    create_private_file(path, bytes)
}

/// [`create_key_file`] for any private file of the state folder (the local issuer's key too):
/// mode 0600, written under a temporary name and hard-linked into place.
pub(super) fn create_private_file(path: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
    let io = |action, source| StoreError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or(KEY_FILE_NAME.into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        crate::crypto::new_id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("write the gateway secret", source));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) => {
            // No hard links here (some network or FAT file systems): create the file in place.
            match options.open(path) {
                Ok(mut f) => {
                    f.write_all(bytes)
                        .and_then(|()| f.sync_all())
                        .map_err(|e| io("write the gateway secret", e))?;
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(io("create the gateway secret", e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_env_values() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let key = parse_env_key(hex).expect("hex");
        assert_eq!(key.expose()[1], 0x11);
        assert_eq!(key.expose()[31], 0xff);
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(parse_env_key(&b64).expect("b64").expose(), &[7u8; 32]);
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xfbu8; 32]);
        assert_eq!(
            parse_env_key(&b64url).expect("b64url").expose(),
            &[0xfb; 32]
        );
        assert!(parse_env_key("abcd").is_err());
        assert!(
            parse_env_key(&base64::engine::general_purpose::STANDARD.encode([1u8; 16])).is_err()
        );
        assert_eq!(format!("{key:?}"), "GatewaySecret([redacted])");
    }
}
