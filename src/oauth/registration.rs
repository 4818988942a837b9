//! How the gateway gets its client at an upstream authorization server (SPEC §6.4), decided in
//! one place for the upstream client (`upstream::oauth_client`) and `mcpgw upstream probe`.
//!
//! Owns: the choice between the configured client, the gateway's Client ID Metadata Document
//! and RFC 7591 dynamic registration, made from what discovery found, the configured mode and
//! the gateway's origin, with the reason; and which secret method a client registered by hand
//! uses when nothing says otherwise. Carrying the choice out (the DCR request, D17's reading of
//! its answer) stays with the upstream client.

use super::discovery::{AuthorizationServerMetadata, Discovered};
use crate::client_metadata::ClientAuthMethod;
use url::Url;

/// What the configuration asks for (`clientRegistration.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// CIMD, else DCR (§6.4).
    Auto,
    /// The configured client.
    Manual,
}

/// How the gateway gets its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// The client configured by hand.
    Manual,
    /// The gateway's Client ID Metadata Document URL is its `client_id`.
    Cimd,
    /// Dynamic client registration (RFC 7591) at this endpoint.
    Dcr(Url),
    /// No automatic registration works: a client must be registered by hand.
    Unavailable,
}

/// The registration chosen, and why (a sentence about the authorization server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub registration: Registration,
    pub why: String,
}

/// §6.4: the configured client when the mode is manual; else the CIMD URL when the gateway's
/// origin is https and the AS takes Client ID Metadata Documents (never offered on plain http);
/// else DCR at the AS's `registration_endpoint`; else nothing automatic.
pub fn choose(found: &Discovered, mode: Mode, https_origin: bool) -> Choice {
    let issuer = &found.metadata.issuer;
    let (registration, why) = if mode == Mode::Manual {
        (
            Registration::Manual,
            "clientRegistration is manual: the configured client is used".to_string(),
        )
    } else if https_origin && found.supports_cimd() {
        (
            Registration::Cimd,
            format!(
                "the authorization server {issuer} accepts Client ID Metadata Documents and the gateway's origin is https"
            ),
        )
    } else if let Some(endpoint) = found.registration_endpoint() {
        (
            Registration::Dcr(endpoint),
            format!(
                "the authorization server {issuer} supports dynamic client registration{}",
                if found.supports_cimd() {
                    " (Client ID Metadata Documents need an https gateway origin)"
                } else {
                    ""
                }
            ),
        )
    } else {
        (
            Registration::Unavailable,
            format!(
                "the authorization server {issuer} does not support dynamic client registration{}",
                if https_origin {
                    " or Client ID Metadata Documents"
                } else {
                    " (Client ID Metadata Documents need an https gateway origin)"
                }
            ),
        )
    };
    Choice { registration, why }
}

/// The method of a client registered by hand when nothing says otherwise:
/// `client_secret_basic`, unless the AS lists only `client_secret_post`.
pub fn secret_method(metadata: &AuthorizationServerMetadata) -> ClientAuthMethod {
    let methods = &metadata.token_endpoint_auth_methods_supported;
    if !methods.is_empty()
        && !methods.iter().any(|m| m == "client_secret_basic")
        && methods.iter().any(|m| m == "client_secret_post")
    {
        ClientAuthMethod::ClientSecretPost
    } else {
        ClientAuthMethod::ClientSecretBasic
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(metadata: serde_json::Value) -> Discovered {
        let metadata = AuthorizationServerMetadata::from_json(metadata).expect("metadata");
        Discovered {
            prm: None,
            prm_url: None,
            prm_needs_explicit_url: false,
            authorization_server: Url::parse(&metadata.issuer).expect("issuer"),
            metadata_url: Url::parse("https://as.example/.well-known/oauth-authorization-server")
                .expect("url"),
            metadata,
            resource: None,
            resource_matches_url: false,
            challenge_scope: None,
            attempts: Vec::new(),
        }
    }

    fn kind(d: &Discovered, mode: Mode, https: bool) -> Registration {
        choose(d, mode, https).registration
    }

    #[test]
    fn manual_wins_then_cimd_on_https_then_dcr() {
        let both = found(json!({"issuer": "https://as.example",
            "client_id_metadata_document_supported": true,
            "registration_endpoint": "https://as.example/register"}));
        let dcr = Registration::Dcr(Url::parse("https://as.example/register").unwrap());
        assert_eq!(kind(&both, Mode::Manual, true), Registration::Manual);
        assert_eq!(kind(&both, Mode::Auto, true), Registration::Cimd);
        assert_eq!(kind(&both, Mode::Auto, false), dcr);
        assert!(
            choose(&both, Mode::Auto, false)
                .why
                .contains("need an https gateway origin")
        );

        let dcr_only = found(json!({"issuer": "https://as.example",
            "registration_endpoint": "https://as.example/register"}));
        assert_eq!(kind(&dcr_only, Mode::Auto, true), dcr);
    }

    #[test]
    fn nothing_automatic_says_why() {
        let cimd_only = found(json!({"issuer": "https://as.example",
            "client_id_metadata_document_supported": true}));
        assert_eq!(kind(&cimd_only, Mode::Auto, true), Registration::Cimd);
        let http = choose(&cimd_only, Mode::Auto, false);
        assert_eq!(http.registration, Registration::Unavailable);
        assert_eq!(
            http.why,
            "the authorization server https://as.example does not support dynamic client registration (Client ID Metadata Documents need an https gateway origin)"
        );

        // a registration_endpoint that is not a URL cannot be used
        let neither = found(json!({"issuer": "https://as.example",
            "registration_endpoint": "not a url"}));
        let https = choose(&neither, Mode::Auto, true);
        assert_eq!(https.registration, Registration::Unavailable);
        assert_eq!(
            https.why,
            "the authorization server https://as.example does not support dynamic client registration or Client ID Metadata Documents"
        );
        assert_eq!(kind(&neither, Mode::Manual, false), Registration::Manual);
    }

    #[test]
    fn secret_method_is_basic_unless_only_post_is_listed() {
        let m = |methods: serde_json::Value| {
            secret_method(
                &AuthorizationServerMetadata::from_json(
                    json!({"issuer": "https://as.example", "token_endpoint_auth_methods_supported": methods}),
                )
                .unwrap(),
            )
        };
        assert_eq!(m(json!([])), ClientAuthMethod::ClientSecretBasic);
        assert_eq!(
            m(json!(["none", "client_secret_post"])),
            ClientAuthMethod::ClientSecretPost
        );
        assert_eq!(
            m(json!(["client_secret_post", "client_secret_basic"])),
            ClientAuthMethod::ClientSecretBasic
        );
        assert_eq!(m(json!(["none"])), ClientAuthMethod::ClientSecretBasic);
    }
}
