//! The signing key of mcpgw's local issuer (SPEC §16.13, D22, D25 a).
//!
//! Owns: `<state>/local-idp.key`, an RSA 2048 private key in PKCS#8 PEM, created with mode 0600
//! on first use (by `mcpgw token` or `mcpgw dev --local-idp`, whichever comes first) the same
//! race-free way as `secret.key`. A key file other users can read is refused.

use super::StoreError;
use super::keyfile::create_private_file;
use crate::secret::Secret;
use aws_lc_rs::encoding::AsDer as _;
use base64::Engine as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

pub const LOCAL_IDP_KEY_FILE_NAME: &str = "local-idp.key";

/// The most a key file may hold (a 4096-bit PKCS#8 PEM is about 3.3 KB).
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

pub fn local_idp_key_path(state_dir: &Path) -> PathBuf {
    state_dir.join(LOCAL_IDP_KEY_FILE_NAME)
}

/// Reads the local issuer's key (PKCS#8 PEM), creating it when missing; `state_dir` must exist.
pub fn load_or_create(state_dir: &Path) -> Result<Secret, StoreError> {
    let path = local_idp_key_path(state_dir);
    match read(&path) {
        Ok(pem) => return Ok(pem),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let pem = generate()?;
    if create_private_file(&path, pem.expose().as_bytes())? {
        Ok(pem)
    } else {
        // another process created it first: use theirs
        read(&path)
    }
}

fn invalid(path: &Path, reason: &str) -> StoreError {
    StoreError::InvalidSecretKey {
        origin: path.display().to_string(),
        reason: format!(
            "{reason} (the local issuer's key: delete it to make a new one; tokens minted with the old key stop working)"
        ),
    }
}

fn generate() -> Result<Secret, StoreError> {
    let bad = |what: &str| invalid(Path::new(LOCAL_IDP_KEY_FILE_NAME), what);
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| bad("could not generate an RSA key"))?;
    let der = pair
        .as_der()
        .map_err(|_| bad("could not encode the RSA key"))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok(Secret::new(pem))
}

fn read(path: &Path) -> Result<Secret, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        action: "read the local issuer's key",
        source,
    };
    let file = super::keyfile::open_private_file(path, "read the local issuer's key")?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(io)?;
    if !text.contains("-----BEGIN PRIVATE KEY-----") {
        return Err(invalid(path, "not a PKCS#8 PEM private key"));
    }
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.expose(), again.expose());
        assert!(first.expose().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(local_idp_key_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(
                local_idp_key_path(dir.path()),
                std::fs::Permissions::from_mode(0o644),
            )
            .unwrap();
            assert!(matches!(
                load_or_create(dir.path()),
                Err(StoreError::KeyFileTooOpen { .. })
            ));
        }
    }
}
