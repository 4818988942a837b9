//! The requests an OAuth client sends to an authorization server, built in one place for
//! `oauth walk` and the gateway's upstream client (SPEC §6.5, §9 steps 5, 7, 9, 10).
//!
//! Owns: the authorization URL with PKCE S256 (the challenge is [`crate::crypto::pkce_s256`] of
//! the verifier), the code exchange and the refresh grant at the token endpoint, RFC 7009
//! revocation, the client's authentication there (none, `client_secret_basic` through
//! [`crate::web::oauth::basic_authorization`], `client_secret_post`), extra parameters such as
//! RFC 8707 `resource`, and the order every parameter is written in. It only builds
//! [`OutboundRequest`]s: callers send them through [`crate::net::outbound`] (the SSRF guard and
//! the limits), `oauth walk` records each exchange, and each caller reads the answer its own way
//! (the walk checks every field, the upstream client maps errors to the codes of §6.5).
//!
//! Not built on the `oauth2` crate, whose requests differ from these: it writes `state` before
//! `redirect_uri` and `code_challenge` in the authorization URL, `client_id` before
//! `redirect_uri` and the extra parameters in token requests (the golden walk transcripts pin
//! the order below), sends no `client_id` in the form beside Basic credentials, and reads only
//! a `200` JSON answer (see ARCHITECTURE.md).

use crate::client_metadata::ClientAuthMethod;
use crate::net::outbound::OutboundRequest;
use crate::secret::{AccessToken, ClientSecret, PkceVerifier, RefreshToken};
use url::Url;

/// How a client authenticates at the token and revocation endpoints (RFC 6749 §2.3.1).
pub enum ClientAuth<'a> {
    /// A public client (`none`): `client_id` in the form.
    None,
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post(&'a ClientSecret),
    /// `client_secret_basic`: an `Authorization: Basic` header. With `client_id_in_form` the
    /// form carries `client_id` too (`oauth walk` does: it is not a credential, and some servers,
    /// the Python MCP SDK's AS among them, look for it there).
    Basic {
        secret: &'a ClientSecret,
        client_id_in_form: bool,
    },
}

impl<'a> ClientAuth<'a> {
    /// The authentication of a registered `method` with `secret` (Basic without `client_id` in
    /// the form). `None` for `private_key_jwt`: nothing here signs assertions.
    pub fn for_method(method: ClientAuthMethod, secret: &'a ClientSecret) -> Option<Self> {
        match method {
            ClientAuthMethod::None => Some(ClientAuth::None),
            ClientAuthMethod::ClientSecretPost => Some(ClientAuth::Post(secret)),
            ClientAuthMethod::ClientSecretBasic => Some(ClientAuth::Basic {
                secret,
                client_id_in_form: false,
            }),
            ClientAuthMethod::PrivateKeyJwt => None,
        }
    }
}

/// A client as the token and revocation endpoints know it.
pub struct Client<'a> {
    pub id: &'a str,
    pub auth: ClientAuth<'a>,
}

/// A token to revoke (RFC 7009), with its `token_type_hint`.
pub enum Revocable<'a> {
    Refresh(&'a RefreshToken),
    Access(&'a AccessToken),
}

/// A form POST to the token or revocation endpoint: the grant's own parameters, then the extra
/// ones in the order they were added, then the client's authentication.
#[must_use = "build() makes the request"]
pub struct TokenRequest<'a> {
    form: Vec<(&'a str, &'a str)>,
}

impl<'a> TokenRequest<'a> {
    /// The authorization_code grant (RFC 6749 §4.1.3) with the PKCE verifier (RFC 7636 §4.5).
    pub fn code_exchange(code: &'a str, redirect_uri: &'a str, verifier: &'a PkceVerifier) -> Self {
        TokenRequest {
            form: vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier.secret()),
            ],
        }
    }

    /// The client_credentials grant (RFC 6749 §4.4), as `upstream-oauth-client-credentials-inbound`
    /// sends it (§16.8): its scope, audience and extra parameters follow through [`Self::param`].
    pub fn client_credentials() -> Self {
        TokenRequest {
            form: vec![("grant_type", "client_credentials")],
        }
    }

    /// The refresh_token grant (RFC 6749 §6).
    pub fn refresh(refresh_token: &'a RefreshToken) -> Self {
        TokenRequest {
            form: vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.secret()),
            ],
        }
    }

    /// RFC 7009 revocation at the revocation endpoint.
    pub fn revocation(token: Revocable<'a>) -> Self {
        let (token, hint) = match token {
            Revocable::Refresh(t) => (t.secret(), "refresh_token"),
            Revocable::Access(t) => (t.secret(), "access_token"),
        };
        TokenRequest {
            form: vec![("token", token), ("token_type_hint", hint)],
        }
    }

    /// An extra parameter (RFC 8707 `resource`, a refresh's `scope`, a policy's
    /// `additionalParameters`); nothing when `None`.
    pub fn param(mut self, name: &'a str, value: Option<&'a str>) -> Self {
        if let Some(v) = value {
            self.form.push((name, v));
        }
        self
    }

    /// The request to `endpoint` (the token or the revocation endpoint), authenticated as
    /// `client`.
    pub fn build(self, endpoint: Url, client: &Client<'_>) -> OutboundRequest {
        let mut form = self.form;
        let mut basic = None;
        match &client.auth {
            ClientAuth::None => form.push(("client_id", client.id)),
            ClientAuth::Post(secret) => {
                form.push(("client_id", client.id));
                form.push(("client_secret", secret.secret()));
            }
            ClientAuth::Basic {
                secret,
                client_id_in_form,
            } => {
                if *client_id_in_form {
                    form.push(("client_id", client.id));
                }
                basic = Some(crate::web::oauth::basic_authorization(
                    client.id,
                    secret.secret(),
                ));
            }
        }
        let req = OutboundRequest::post_form(endpoint, &form);
        match basic {
            Some(b) => req.header("authorization", b),
            None => req,
        }
    }
}

/// An authorization request (RFC 6749 §4.1.1) with PKCE S256 (RFC 7636 §4.3).
pub struct AuthorizationRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: &'a PkceVerifier,
    pub state: &'a str,
    pub scope: Option<&'a str>,
    /// RFC 8707.
    pub resource: Option<&'a str>,
    pub prompt: Option<&'a str>,
}

impl AuthorizationRequest<'_> {
    /// `endpoint` with the request appended to its query: `response_type`, `client_id`,
    /// `redirect_uri`, `code_challenge`, `code_challenge_method`, `state`, then `scope`,
    /// `resource` and `prompt` when set. A query the endpoint already has is kept in front
    /// (the upstream client strips the parameters it sets itself first, §6.3).
    pub fn url(&self, mut endpoint: Url) -> Url {
        {
            let mut q = endpoint.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", self.client_id)
                .append_pair("redirect_uri", self.redirect_uri)
                .append_pair(
                    "code_challenge",
                    &crate::crypto::pkce_s256(self.verifier.secret()),
                )
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", self.state);
            for (name, value) in [
                ("scope", self.scope),
                ("resource", self.resource),
                ("prompt", self.prompt),
            ] {
                if let Some(v) = value {
                    q.append_pair(name, v);
                }
            }
        }
        endpoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(req: &OutboundRequest) -> Vec<(String, String)> {
        url::form_urlencoded::parse(req.body.as_deref().unwrap_or_default())
            .into_owned()
            .collect()
    }

    fn header<'r>(req: &'r OutboundRequest, name: &str) -> Option<&'r str> {
        req.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn endpoint() -> Url {
        Url::parse("https://as.example/token").unwrap()
    }

    #[test]
    fn code_exchange_writes_the_grant_then_extras_then_the_client() {
        let verifier = PkceVerifier::new("v".repeat(43));
        let req = TokenRequest::code_exchange("c0de", "http://127.0.0.1/cb", &verifier)
            .param("resource", Some("https://mcp.example/mcp"))
            .param("scope", None)
            .build(
                endpoint(),
                &Client {
                    id: "app",
                    auth: ClientAuth::None,
                },
            );
        assert_eq!(req.method, reqwest::Method::POST);
        assert_eq!(req.url, endpoint());
        assert_eq!(
            header(&req, "content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(header(&req, "authorization"), None);
        assert_eq!(
            form(&req),
            pairs(&[
                ("grant_type", "authorization_code"),
                ("code", "c0de"),
                ("redirect_uri", "http://127.0.0.1/cb"),
                ("code_verifier", &"v".repeat(43)),
                ("resource", "https://mcp.example/mcp"),
                ("client_id", "app"),
            ])
        );
    }

    #[test]
    fn client_authentication_basic_post_and_none() {
        let secret = ClientSecret::new("s3cret:+");
        let rt = RefreshToken::new("rt");
        let refresh = |auth| {
            TokenRequest::refresh(&rt)
                .param("resource", Some("r"))
                .param("scope", Some("a b"))
                .build(endpoint(), &Client { id: "app:1", auth })
        };
        let post = refresh(ClientAuth::Post(&secret));
        assert_eq!(
            form(&post),
            pairs(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt"),
                ("resource", "r"),
                ("scope", "a b"),
                ("client_id", "app:1"),
                ("client_secret", "s3cret:+"),
            ])
        );
        assert_eq!(header(&post, "authorization"), None);

        let basic = refresh(ClientAuth::Basic {
            secret: &secret,
            client_id_in_form: false,
        });
        assert_eq!(form(&basic).len(), 4, "{:?}", form(&basic));
        assert_eq!(
            header(&basic, "authorization"),
            Some(crate::web::oauth::basic_authorization("app:1", "s3cret:+").as_str())
        );
        let basic_and_id = refresh(ClientAuth::Basic {
            secret: &secret,
            client_id_in_form: true,
        });
        assert_eq!(
            form(&basic_and_id).last(),
            Some(&("client_id".to_string(), "app:1".to_string()))
        );
        assert!(header(&basic_and_id, "authorization").is_some());

        assert!(ClientAuth::for_method(ClientAuthMethod::PrivateKeyJwt, &secret).is_none());
        assert!(matches!(
            ClientAuth::for_method(ClientAuthMethod::ClientSecretBasic, &secret),
            Some(ClientAuth::Basic {
                client_id_in_form: false,
                ..
            })
        ));
    }

    #[test]
    fn revocation_names_the_kind_of_token() {
        let at = AccessToken::new("at");
        let req = TokenRequest::revocation(Revocable::Access(&at)).build(
            endpoint(),
            &Client {
                id: "app",
                auth: ClientAuth::None,
            },
        );
        assert_eq!(
            form(&req),
            pairs(&[
                ("token", "at"),
                ("token_type_hint", "access_token"),
                ("client_id", "app"),
            ])
        );
    }

    #[test]
    fn authorization_url_keeps_the_endpoint_query_and_the_order() {
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let url = AuthorizationRequest {
            client_id: "app",
            redirect_uri: "http://localhost:9000/cb",
            verifier: &verifier,
            state: "st",
            scope: Some("read write"),
            resource: Some("https://mcp.example/mcp"),
            prompt: None,
        }
        .url(Url::parse("https://as.example/authorize?tenant=x").unwrap());
        assert_eq!(
            url.as_str(),
            "https://as.example/authorize?tenant=x&response_type=code&client_id=app\
             &redirect_uri=http%3A%2F%2Flocalhost%3A9000%2Fcb\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
             &code_challenge_method=S256&state=st&scope=read+write\
             &resource=https%3A%2F%2Fmcp.example%2Fmcp"
        );
    }
}
