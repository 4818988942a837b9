//! The few cryptographic rules every part of the library shares, each written once.
//!
//! Owns: opaque tokens (§5.1: 32 random bytes, base64url) and their stored `sha256:` form, new
//! record ids, PKCE S256 (the one challenge constructor and the one check, RFC 7636) and
//! constant-time comparison. Keys, signing and sealing live with their users (`store::keyfile`,
//! `upstream::vault`, `upstream::tickets`); this file holds no key material.

use crate::secret::{PkceVerifier, Secret};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest;

/// A fresh opaque token: base64url (no padding) of 32 random bytes, 43 characters (§5.1).
pub fn new_token() -> Secret {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token, code, client secret or state token:
/// `"sha256:" + base64url(SHA-256(value))` (§5.1).
pub fn hash_token(value: &str) -> String {
    format!(
        "sha256:{}",
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(value.as_bytes()))
    )
}

/// A new random identifier (UUID v4) for records whose id is not derived.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A fresh PKCE code verifier: 43 characters of base64url, inside RFC 7636's 43–128 range.
pub fn new_pkce_verifier() -> PkceVerifier {
    PkceVerifier::new(new_token().expose())
}

/// The S256 code challenge of a verifier: base64url(SHA-256(verifier)), unpadded (RFC 7636 §4.2).
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// PKCE S256 check (RFC 7636 §4.6): does `challenge` equal the S256 challenge of `verifier`?
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    constant_time_eq(pkce_s256(verifier).as_bytes(), challenge.as_bytes())
}

/// Byte comparison whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_rfc7636_example() {
        // RFC 7636 Appendix B
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(pkce_s256(verifier), challenge);
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches("another-verifier", challenge));
        assert!(!pkce_s256_matches(verifier, ""));
    }

    #[test]
    fn generated_verifiers_are_43_characters_and_differ() {
        let a = new_pkce_verifier();
        let b = new_pkce_verifier();
        assert_eq!(a.secret().len(), 43);
        assert_ne!(a.secret(), b.secret());
        assert!(pkce_s256_matches(a.secret(), &pkce_s256(a.secret())));
    }

    #[test]
    fn tokens_and_hashes() {
        let t = new_token();
        assert_eq!(t.expose().len(), 43);
        let h = hash_token(t.expose());
        assert!(h.starts_with("sha256:"));
        assert_eq!(h, hash_token(t.expose()));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
