//! Downstream clients (§3.5, §3.6): what registration stores ([`NewClient`], [`Client`]) and
//! how a client proves who it is at the token and revocation endpoints ([`ClientAuth`]).

use crate::client_metadata::ClientAuthMethod;
use crate::crypto::{constant_time_eq, hash_token};
use crate::secret::Secret;

/// Where a client record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    /// RFC 7591 registration (§3.5): registering an existing id is a collision.
    Dynamic,
    /// A Client ID Metadata Document (§3.6): registering again refreshes the record.
    MetadataDocument,
}

impl ClientSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynamic => "dynamic",
            Self::MetadataDocument => "metadata_document",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dynamic" => Some(Self::Dynamic),
            "metadata_document" => Some(Self::MetadataDocument),
            _ => None,
        }
    }
}

/// What the authorization server hands to [`Store::register_client`](crate::store::Store::register_client) (already validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    /// `dcr:<uuid>`, `dcr:pkjwt:<uuid>:<b64 jwks_uri>` or the CIMD URL.
    pub id: String,
    pub source: ClientSource,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub authorization_grant_profiles_supported: Vec<String>,
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// For `private_key_jwt`.
    pub jwks_uri: Option<String>,
    /// Inline JWKS (JSON text), when a metadata document carries one.
    pub jwks: Option<String>,
    /// Lifetime in seconds ([`ttl::CLIENT`](crate::store::ttl::CLIENT) for DCR); `None` never expires.
    pub ttl_seconds: Option<i64>,
}

/// A stored downstream client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub source: ClientSource,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub authorization_grant_profiles_supported: Vec<String>,
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// [`hash_token`](crate::crypto::hash_token) of the client secret, for the `client_secret_*` methods.
    pub secret_hash: Option<String>,
    pub jwks_uri: Option<String>,
    pub jwks: Option<String>,
    pub created_at: i64,
    /// Also the secret's expiry (`client_secret_expires_at`).
    pub expires_at: Option<i64>,
}

impl Client {
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }

    /// Is `redirect_uri` one of this client's (§3.6 matching)?
    pub fn allows_redirect_uri(&self, redirect_uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| crate::client_metadata::redirect_uri_matches(r, redirect_uri))
    }
}

#[derive(Debug)]
pub enum RegisterClientOutcome {
    /// `secret` is set for the `client_secret_*` methods: shown to the client once.
    Registered {
        client: Box<Client>,
        secret: Option<Secret>,
    },
    /// "OAuth client is already registered." (§3.5)
    AlreadyExists,
}

/// How a client proved who it is at the token or revocation endpoint.
#[derive(Debug, Clone)]
pub enum ClientProof {
    /// Public client (`none`): the id alone.
    None,
    /// `client_secret_basic` or `client_secret_post`: the presented secret.
    Secret(Secret),
    /// `private_key_jwt`: the caller has verified the assertion against the client's keys.
    VerifiedAssertion,
}

#[derive(Debug, Clone)]
pub struct ClientAuth {
    pub client_id: String,
    pub proof: ClientProof,
}

impl ClientAuth {
    pub fn public(client_id: impl Into<String>) -> Self {
        ClientAuth {
            client_id: client_id.into(),
            proof: ClientProof::None,
        }
    }

    /// Does this proof authenticate `client` (unexpired, method and secret match)?
    pub fn authenticates(&self, client: &Client, now: i64) -> bool {
        if client.id != self.client_id || client.is_expired(now) {
            return false;
        }
        match (&self.proof, client.token_endpoint_auth_method) {
            (ClientProof::None, ClientAuthMethod::None) => true,
            (
                ClientProof::Secret(secret),
                ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost,
            ) => client.secret_hash.as_deref().is_some_and(|stored| {
                constant_time_eq(stored.as_bytes(), hash_token(secret.expose()).as_bytes())
            }),
            (ClientProof::VerifiedAssertion, ClientAuthMethod::PrivateKeyJwt) => true,
            _ => false,
        }
    }
}
