//! The vault: upstream tokens, client information and pending connect state, encrypted at rest
//! (SPEC D9, §6.2).
//!
//! AES-256-GCM with a 12-byte random nonce. The key is derived from the gateway secret with
//! HKDF-SHA256, one key per purpose, so a blob sealed for one purpose never opens as another.
//! The additional data names the connection key (owner mode, subject, upstream id, auth
//! profile), so a row copied to another user or upstream does not decrypt. This is stricter
//! than the hosted gateway, whose key is per deployment only (§6.2 allows the improvement).
//!
//! Blob layout: `0x01` (version) ‖ nonce (12) ‖ ciphertext ‖ tag (16).

use crate::store::keyfile::GatewaySecret;
use crate::store::{ConnectionKey, EncryptedBlob};
use aws_lc_rs::{aead, hkdf};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const SALT: &[u8] = b"mcpgw-vault:v1";

/// A 32-byte key for another purpose (e.g. signing tickets), derived like the vault's keys.
pub fn derive_key(secret: &GatewaySecret, label: &[u8]) -> Result<[u8; 32], VaultError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret.expose());
    let info = [label];
    let okm = prk
        .expand(&info, hkdf::HKDF_SHA256)
        .map_err(|_| VaultError::Cipher)?;
    let mut out = [0u8; 32];
    okm.fill(&mut out).map_err(|_| VaultError::Cipher)?;
    Ok(out)
}

/// What a blob holds; part of the key derivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A connection's tokens, client information and discovery results.
    Connection,
    /// A pending connect flow (code verifier, redirect URI, cached discovery).
    ConnectState,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Connection => b"upstream-connection",
            Purpose::ConnectState => b"upstream-connect-state",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("the encrypted record is malformed")]
    Malformed,
    /// Wrong key, wrong connection (AAD) or tampered bytes: indistinguishable by design.
    #[error("the encrypted record does not open with this gateway secret for this connection")]
    Rejected,
    #[error("the cipher could not be set up")]
    Cipher,
}

/// Seals and opens blobs. Cheap to clone; holds the derived keys only.
pub struct Vault {
    connection: aead::LessSafeKey,
    connect_state: aead::LessSafeKey,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Vault {
    pub fn new(secret: &GatewaySecret) -> Result<Self, VaultError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret.expose());
        let derive = |purpose: Purpose| -> Result<aead::LessSafeKey, VaultError> {
            let info = [purpose.label()];
            let okm = prk
                .expand(&info, &aead::AES_256_GCM)
                .map_err(|_| VaultError::Cipher)?;
            Ok(aead::LessSafeKey::new(aead::UnboundKey::from(okm)))
        };
        Ok(Vault {
            connection: derive(Purpose::Connection)?,
            connect_state: derive(Purpose::ConnectState)?,
        })
    }

    fn key(&self, purpose: Purpose) -> &aead::LessSafeKey {
        match purpose {
            Purpose::Connection => &self.connection,
            Purpose::ConnectState => &self.connect_state,
        }
    }

    pub fn seal(
        &self,
        purpose: Purpose,
        key: &ConnectionKey,
        plaintext: &[u8],
    ) -> Result<EncryptedBlob, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let mut in_out = plaintext.to_vec();
        self.key(purpose)
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(key.aad()),
                &mut in_out,
            )
            .map_err(|_| VaultError::Cipher)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&in_out);
        Ok(EncryptedBlob(out))
    }

    pub fn open(
        &self,
        purpose: Purpose,
        key: &ConnectionKey,
        blob: &EncryptedBlob,
    ) -> Result<Vec<u8>, VaultError> {
        let bytes = &blob.0;
        if bytes.len() < 1 + NONCE_LEN + aead::AES_256_GCM.tag_len() || bytes[0] != VERSION {
            return Err(VaultError::Malformed);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[1..1 + NONCE_LEN]);
        let mut in_out = bytes[1 + NONCE_LEN..].to_vec();
        let plain = self
            .key(purpose)
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(key.aad()),
                &mut in_out,
            )
            .map_err(|_| VaultError::Rejected)?;
        Ok(plain.to_vec())
    }

    /// Seals a value as JSON.
    pub fn seal_json<T: serde::Serialize>(
        &self,
        purpose: Purpose,
        key: &ConnectionKey,
        value: &T,
    ) -> Result<EncryptedBlob, VaultError> {
        let json = serde_json::to_vec(value).map_err(|_| VaultError::Malformed)?;
        self.seal(purpose, key, &json)
    }

    /// Opens a blob sealed by [`Vault::seal_json`].
    pub fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        purpose: Purpose,
        key: &ConnectionKey,
        blob: &EncryptedBlob,
    ) -> Result<T, VaultError> {
        let plain = self.open(purpose, key, blob)?;
        serde_json::from_slice(&plain).map_err(|_| VaultError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(byte: u8) -> Vault {
        Vault::new(&GatewaySecret::from_bytes([byte; 32])).unwrap()
    }

    #[test]
    fn round_trip_and_no_plaintext_in_the_blob() {
        let v = vault(7);
        let k = ConnectionKey::user("alice", "linear", "linear:user-oauth");
        let blob = v
            .seal(Purpose::Connection, &k, b"upstream-access-token")
            .unwrap();
        assert!(!blob.0.windows(8).any(|w| w == b"upstream"));
        assert_eq!(
            v.open(Purpose::Connection, &k, &blob).unwrap(),
            b"upstream-access-token"
        );
    }

    #[test]
    fn another_subject_upstream_purpose_or_secret_does_not_open() {
        let v = vault(7);
        let k = ConnectionKey::user("alice", "linear", "linear:user-oauth");
        let blob = v.seal(Purpose::Connection, &k, b"t").unwrap();
        let bob = ConnectionKey::user("bob", "linear", "linear:user-oauth");
        assert_eq!(
            v.open(Purpose::Connection, &bob, &blob),
            Err(VaultError::Rejected)
        );
        let other = ConnectionKey::user("alice", "notion", "notion:user-oauth");
        assert_eq!(
            v.open(Purpose::Connection, &other, &blob),
            Err(VaultError::Rejected)
        );
        let shared = ConnectionKey::shared("linear", "linear:user-oauth");
        assert_eq!(
            v.open(Purpose::Connection, &shared, &blob),
            Err(VaultError::Rejected)
        );
        assert_eq!(
            v.open(Purpose::ConnectState, &k, &blob),
            Err(VaultError::Rejected)
        );
        assert_eq!(
            vault(8).open(Purpose::Connection, &k, &blob),
            Err(VaultError::Rejected)
        );
    }

    #[test]
    fn tampered_or_short_blobs_are_refused() {
        let v = vault(1);
        let k = ConnectionKey::shared("x", "x:shared-oauth");
        let mut blob = v.seal(Purpose::Connection, &k, b"secret").unwrap();
        let last = blob.0.len() - 1;
        blob.0[last] ^= 1;
        assert_eq!(
            v.open(Purpose::Connection, &k, &blob),
            Err(VaultError::Rejected)
        );
        assert_eq!(
            v.open(Purpose::Connection, &k, &EncryptedBlob(vec![1, 2, 3])),
            Err(VaultError::Malformed)
        );
    }
}
