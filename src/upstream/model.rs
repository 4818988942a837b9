//! What the gateway knows about an upstream once discovery and registration ran ([`Setup`]),
//! what a connection holds once opened from the vault ([`Sealed`]), and what a pending connect
//! flow holds ([`PendingConnect`]). All of it is serialised as JSON inside sealed blobs; the
//! secrets in it are [`crate::secret`] types, which serialise as the bare string and never
//! print, so a copy of a record copies them explicitly.

use crate::client_metadata::ClientAuthMethod;
use crate::secret::{AccessToken, ClientSecret, PkceVerifier, RefreshToken};
use serde::{Deserialize, Serialize};

/// The upstream authorization server's endpoints and what the gateway will ask of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Endpoints {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// PRM `resource`, sent upstream as RFC 8707 `resource` (D19).
    #[serde(default)]
    pub resource: Option<String>,
    /// Challenge scope, else PRM `scopes_supported` joined (§6.5 steps 2–3).
    #[serde(default)]
    pub discovered_scope: Option<String>,
    /// The AS lists `offline_access` in `scopes_supported`.
    #[serde(default)]
    pub offers_offline_access: bool,
    /// The AS metadata advertises `authorization_response_iss_parameter_supported` (RFC 9207):
    /// its authorization responses must carry `iss`.
    #[serde(default)]
    pub iss_parameter_supported: bool,
}

/// The gateway's client at the upstream AS.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegisteredClient {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<ClientSecret>,
    pub auth_method: ClientAuthMethod,
    pub redirect_uri: String,
    /// How it came to be: `cimd`, `dcr` or `manual`.
    pub source: String,
    /// The client may use the refresh_token grant.
    #[serde(default = "yes")]
    pub refresh_grant: bool,
}

fn yes() -> bool {
    true
}

impl Clone for RegisteredClient {
    fn clone(&self) -> Self {
        RegisteredClient {
            client_id: self.client_id.clone(),
            client_secret: self
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.secret())),
            auth_method: self.auth_method,
            redirect_uri: self.redirect_uri.clone(),
            source: self.source.clone(),
            refresh_grant: self.refresh_grant,
        }
    }
}

/// Discovery + registration for one upstream at one public origin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Setup {
    pub endpoints: Endpoints,
    pub client: RegisteredClient,
    /// The upstream MCP URL it was discovered for (empty in rows sealed before it was kept).
    #[serde(default)]
    pub mcp_url: String,
}

/// A connection's sealed content.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Sealed {
    #[serde(default)]
    pub setup: Option<Setup>,
    #[serde(default)]
    pub access_token: Option<AccessToken>,
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    #[serde(default)]
    pub token_type: Option<String>,
    /// The scope asked for at the last connect, widened by step-up (D18).
    #[serde(default)]
    pub requested_scope: Option<String>,
}

impl Clone for Sealed {
    fn clone(&self) -> Self {
        Sealed {
            setup: self.setup.clone(),
            access_token: self
                .access_token
                .as_ref()
                .map(|t| AccessToken::new(t.secret())),
            refresh_token: self
                .refresh_token
                .as_ref()
                .map(|t| RefreshToken::new(t.secret())),
            token_type: self.token_type.clone(),
            requested_scope: self.requested_scope.clone(),
        }
    }
}

/// A connect flow between the redirect to the upstream and its callback.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingConnect {
    pub setup: Setup,
    pub code_verifier: PkceVerifier,
    #[serde(default)]
    pub scope: Option<String>,
    /// Who completed it (shared connections record it).
    pub subject: String,
    /// This flow is the one restart after a refused code exchange (§6.4).
    #[serde(default)]
    pub restarted: bool,
}

/// The scope words of a space-separated scope string.
pub fn scope_words(scope: &str) -> impl Iterator<Item = &str> {
    scope.split_whitespace()
}

/// `wanted` minus `offline_access` is contained in `granted`.
pub fn scope_covers(granted: &[String], wanted: Option<&str>) -> bool {
    let Some(wanted) = wanted else { return true };
    scope_words(wanted)
        .filter(|w| *w != "offline_access")
        .all(|w| granted.iter().any(|g| g == w))
}

/// The union of two scope strings, in first-seen order.
pub fn scope_union(a: Option<&str>, b: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for w in a.into_iter().flat_map(scope_words).chain(scope_words(b)) {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let granted = vec!["read".to_string(), "write".to_string()];
        assert!(scope_covers(&granted, Some("read offline_access")));
        assert!(!scope_covers(&granted, Some("read admin")));
        assert!(scope_covers(&granted, None));
        assert_eq!(
            scope_union(Some("read write"), "write admin"),
            "read write admin"
        );
        assert_eq!(scope_union(None, "a"), "a");
    }

    #[test]
    fn debug_never_shows_tokens() {
        let s = Sealed {
            access_token: Some(AccessToken::new("at-very-secret")),
            refresh_token: Some(RefreshToken::new("rt-very-secret")),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        let client = RegisteredClient {
            client_id: "app".into(),
            client_secret: Some(ClientSecret::new("cs-very-secret")),
            auth_method: ClientAuthMethod::ClientSecretBasic,
            redirect_uri: "http://localhost/cb".into(),
            source: "manual".into(),
            refresh_grant: true,
        };
        let shown = format!("{client:?} {:?}", client.clone());
        assert!(!shown.contains("very-secret"), "{shown}");
    }

    #[test]
    fn sealed_json_keeps_the_plain_string_shape() {
        let json = r#"{"setup":null,"access_token":"at","refresh_token":"rt","token_type":"Bearer","requested_scope":null}"#;
        let s: Sealed = serde_json::from_str(json).expect("reads");
        assert_eq!(s.access_token.as_ref().map(AccessToken::secret), Some("at"));
        assert_eq!(serde_json::to_string(&s.clone()).expect("writes"), json);
    }
}
