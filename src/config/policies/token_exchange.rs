//! `mcp-token-exchange-inbound` options (SPEC §2.5, rules 32–44, 46).
//!
//! Owns: the typed upstream-OAuth settings of one upstream (id, display name, auth mode,
//! scopes, prompt, client registration) and the checks on their shape. Whether two policies
//! collide (rule 35) or a route uses one correctly is checked in `validate`.

use super::reader::{ObjReader, parse_url};
use crate::client_metadata::ClientAuthMethod;
use crate::config::jsonc::{Node, Value};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::diag::source::Spanned;
use crate::secret::Secret;

const ALLOWED: &[&str] = &[
    "id",
    "displayName",
    "summary",
    "serverInfo",
    "protectedResourceMetadataUrl",
    "authMode",
    "scopes",
    "scopeDelimiter",
    "prompt",
    "clientRegistration",
    "idJag",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    UserOAuth,
    SharedOAuth,
    /// Parsed and checked; running it is a later version (D11/D16).
    IdJag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Not set: the gateway sends no `prompt`.
    Unset,
    Value(String),
    /// `prompt: false`.
    Disabled,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientRegistration {
    /// CIMD, then DCR (§6.4).
    Auto,
    Manual {
        client_id: String,
        client_secret: Option<Secret>,
        method: ClientAuthMethod,
    },
}

#[derive(Debug, Clone)]
pub struct TokenExchange {
    /// `options.id`, or the suffix of `mcp-token-exchange-<id>`.
    pub upstream_id: Spanned<String>,
    pub display_name: String,
    pub summary: Option<String>,
    pub server_info: Option<serde_json::Value>,
    pub protected_resource_metadata_url: Option<String>,
    pub auth_mode: AuthMode,
    /// `None` when `scopes` is omitted; `Some([])` when written as `[]`.
    pub scopes: Option<Vec<String>>,
    pub scope_delimiter: String,
    pub prompt: Prompt,
    pub client_registration: ClientRegistration,
    pub id_jag: Option<serde_json::Value>,
}

pub const NAME_PREFIX: &str = "mcp-token-exchange-";

pub fn parse(name: &str, options: &Node, findings: &mut Findings) -> Option<TokenExchange> {
    let ctx = format!("policy `{name}` options");
    let mut r = ObjReader::new(
        options,
        ctx,
        &rules::TOKEN_EXCHANGE_UNKNOWN_OPTION,
        findings,
    )?;
    r.strict(ALLOWED, &rules::TOKEN_EXCHANGE_UNKNOWN_OPTION);
    let mut ok = true;

    let display_name = r.req_nonempty_with("displayName", &rules::TOKEN_EXCHANGE_DISPLAY_NAME);
    ok &= display_name.is_some();

    let auth_mode = if !r.has("authMode") {
        r.missing("authMode", &rules::TOKEN_EXCHANGE_AUTH_MODE);
        None
    } else {
        r.opt_enum_with(
            "authMode",
            &["user-oauth", "shared-oauth", "id-jag"],
            &rules::TOKEN_EXCHANGE_AUTH_MODE,
        )
        .map(|s| match s.value.as_str() {
            "user-oauth" => AuthMode::UserOAuth,
            "shared-oauth" => AuthMode::SharedOAuth,
            _ => AuthMode::IdJag,
        })
    };
    ok &= auth_mode.is_some();

    // rule 34: the upstream id
    let upstream_id = match r.get("id") {
        Some(_) => r.opt_nonempty_with("id", &rules::TOKEN_EXCHANGE_UPSTREAM_ID),
        None => match name.strip_prefix(NAME_PREFIX).filter(|s| !s.is_empty()) {
            Some(id) => Some(Spanned::new(id.to_string(), r.span())),
            None => {
                let span = r.span();
                r.err(
                    &rules::TOKEN_EXCHANGE_UPSTREAM_ID,
                    span,
                    format!("policy `{name}` must use the mcp-token-exchange-{{upstream-id}} naming convention when `id` is omitted"),
                );
                None
            }
        },
    };
    ok &= upstream_id.is_some();

    let summary = r.opt_str("summary").map(|s| s.value);
    let server_info = r.get("serverInfo").map(|n| {
        check_server_info(n, r.findings);
        n.to_json()
    });
    if let Some(n) = r.get("serverInfo") {
        let span = r.key_span("serverInfo");
        let _ = n;
        r.err(
            &rules::SERVER_INFO_NOT_IN_SCHEMA,
            span,
            format!("policy `{name}`: `serverInfo` is accepted by the runtime but is not in the published schema"),
        );
    }

    let prm = r.opt_str_with(
        "protectedResourceMetadataUrl",
        &rules::TOKEN_EXCHANGE_PRM_URL,
    );
    if let Some(p) = &prm
        && parse_url(&p.value).is_none_or(|u| !matches!(u.scheme(), "http" | "https"))
    {
        r.err(
            &rules::TOKEN_EXCHANGE_PRM_URL,
            p.span,
            format!(
                "policy `{name}`: protectedResourceMetadataUrl {:?} is not an absolute http(s) URL",
                p.value
            ),
        );
        ok = false;
    }

    let scopes = r
        .opt_str_list_with("scopes", &rules::TOKEN_EXCHANGE_SCOPES, false)
        .map(|v| v.into_iter().map(|s| s.value).collect::<Vec<_>>());
    let scope_delimiter = match r.get("scopeDelimiter") {
        Some(_) => r
            .opt_str_with("scopeDelimiter", &rules::TOKEN_EXCHANGE_SCOPES)
            .and_then(|s| {
                if s.value.is_empty() {
                    r.err(
                        &rules::TOKEN_EXCHANGE_SCOPES,
                        s.span,
                        format!("policy `{name}`: scopeDelimiter must not be empty"),
                    );
                    None
                } else {
                    Some(s.value)
                }
            }),
        None => None,
    }
    .unwrap_or_else(|| " ".to_string());

    let prompt = match r.get("prompt") {
        None => Prompt::Unset,
        Some(n) => match &n.value {
            Value::Bool(false) => Prompt::Disabled,
            Value::String(s)
                if ["none", "login", "consent", "select_account"].contains(&s.as_str()) =>
            {
                Prompt::Value(s.clone())
            }
            _ => {
                let shown = n.to_json().to_string();
                r.err(
                    &rules::TOKEN_EXCHANGE_PROMPT,
                    n.span,
                    format!("policy `{name}`: prompt is {shown}; expected \"none\", \"login\", \"consent\", \"select_account\" or false"),
                );
                ok = false;
                Prompt::Unset
            }
        },
    };

    let client_registration = match r.get("clientRegistration") {
        None => Some(ClientRegistration::Auto),
        Some(n) => parse_client_registration(name, n, r.findings),
    };
    ok &= client_registration.is_some();

    // rule 41: idJag exactly with authMode id-jag
    let id_jag = r.get("idJag").map(Node::to_json);
    if let Some(mode) = auth_mode {
        if mode == AuthMode::IdJag {
            if !r.has("idJag") {
                let span = r.span();
                r.err(
                    &rules::TOKEN_EXCHANGE_ID_JAG_MODE,
                    span,
                    format!("policy `{name}`: authMode id-jag requires `idJag`"),
                );
                ok = false;
            }
            for key in ["scopes", "scopeDelimiter", "prompt", "clientRegistration"] {
                if r.has(key) {
                    let span = r.key_span(key);
                    r.err(
                        &rules::TOKEN_EXCHANGE_ID_JAG_MODE,
                        span,
                        format!("policy `{name}`: `{key}` is not allowed with authMode id-jag"),
                    );
                    ok = false;
                }
            }
            if let Some(n) = r.get("idJag") {
                ok &= check_id_jag(name, n, r.findings);
            }
        } else if r.has("idJag") {
            let span = r.key_span("idJag");
            r.err(
                &rules::TOKEN_EXCHANGE_ID_JAG_MODE,
                span,
                format!("policy `{name}`: `idJag` is only allowed with authMode id-jag"),
            );
            ok = false;
        }
    }

    // rule 44: prompt:false with offline_access
    if prompt == Prompt::Disabled
        && scopes
            .as_ref()
            .is_some_and(|s| s.iter().any(|x| x == "offline_access"))
    {
        let span = r.key_span("prompt");
        r.err(
            &rules::PROMPT_FALSE_OFFLINE_ACCESS,
            span,
            format!("policy `{name}`: prompt:false together with offline_access may stop refresh tokens on Google-like providers"),
        );
    }

    if !ok {
        return None;
    }
    Some(TokenExchange {
        upstream_id: upstream_id?,
        display_name: display_name?.value,
        summary,
        server_info,
        protected_resource_metadata_url: prm.map(|p| p.value),
        auth_mode: auth_mode?,
        scopes,
        scope_delimiter,
        prompt,
        client_registration: client_registration?,
        id_jag,
    })
}

fn parse_client_registration(
    name: &str,
    node: &Node,
    findings: &mut Findings,
) -> Option<ClientRegistration> {
    let rule = &rules::TOKEN_EXCHANGE_CLIENT_REGISTRATION;
    let mut r = ObjReader::new(
        node,
        format!("policy `{name}`: clientRegistration"),
        rule,
        findings,
    )?;
    let mode = if r.has("mode") {
        r.opt_enum_with("mode", &["auto", "manual"], rule)?
    } else {
        r.missing("mode", rule);
        return None;
    };
    if mode.value == "auto" {
        r.strict(&["mode"], rule);
        return Some(ClientRegistration::Auto);
    }
    r.strict(
        &[
            "mode",
            "clientId",
            "clientSecret",
            "tokenEndpointAuthMethod",
        ],
        rule,
    );
    let client_id = r.req_nonempty("clientId");
    let method = match r.get("tokenEndpointAuthMethod") {
        None => Some(ClientAuthMethod::ClientSecretBasic),
        Some(_) => r
            .opt_enum_with(
                "tokenEndpointAuthMethod",
                &["client_secret_basic", "client_secret_post", "none"],
                rule,
            )
            .map(|s| match s.value.as_str() {
                "client_secret_post" => ClientAuthMethod::ClientSecretPost,
                "none" => ClientAuthMethod::None,
                _ => ClientAuthMethod::ClientSecretBasic,
            }),
    }?;
    let secret = r.opt_nonempty("clientSecret");
    if secret.is_none() && method != ClientAuthMethod::None {
        let label = match method {
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            _ => "client_secret_basic",
        };
        let note = node
            .get("clientSecret")
            .map(|_| " (it is empty or its $env() is unset)")
            .unwrap_or("");
        let span = r.span();
        r.err(
            rule,
            span,
            format!("policy `{name}`: {label} requires clientSecret{note}"),
        );
        return None;
    }
    Some(ClientRegistration::Manual {
        client_id: client_id?.value.trim().to_string(),
        client_secret: secret.map(|s| Secret::new(s.value)),
        method,
    })
}

/// Rule 46's shape: MCP `Implementation`.
fn check_server_info(node: &Node, findings: &mut Findings) {
    let rule = &rules::TOKEN_EXCHANGE_UNKNOWN_OPTION;
    let Some(mut r) = ObjReader::new(node, "serverInfo", rule, findings) else {
        return;
    };
    r.strict(
        &[
            "name",
            "version",
            "title",
            "description",
            "websiteUrl",
            "icons",
        ],
        rule,
    );
    r.req_nonempty("name");
    r.req_nonempty("version");
    for key in ["title", "description", "websiteUrl"] {
        r.opt_str(key);
    }
    if let Some(icons) = r.get("icons") {
        match icons.as_array() {
            Some(items) => {
                for icon in items {
                    if let Some(mut ir) =
                        ObjReader::new(icon, "serverInfo.icons[]", rule, r.findings)
                    {
                        ir.strict(&["src", "mimeType", "sizes", "theme"], rule);
                        ir.req_nonempty("src");
                        ir.opt_str("mimeType");
                        ir.opt_str_list_with("sizes", rule, false);
                        ir.opt_enum_with("theme", &["light", "dark"], rule);
                    }
                }
            }
            None => r
                .findings
                .push(rule, icons.span, "serverInfo.icons must be an array"),
        }
    }
}

/// Rule 42: the `idJag` shape of token exchange.
fn check_id_jag(name: &str, node: &Node, findings: &mut Findings) -> bool {
    let rule = &rules::TOKEN_EXCHANGE_ID_JAG_SHAPE;
    let before = findings.len();
    let Some(mut r) = ObjReader::new(node, format!("policy `{name}`: idJag"), rule, findings)
    else {
        return false;
    };
    r.strict(&["idp", "resourceAs", "scopes", "scopeDelimiter"], rule);
    for (key, extra) in [
        ("idp", &[][..]),
        ("resourceAs", &["audience", "resource"][..]),
    ] {
        if !r.has(key) {
            r.missing(key, rule);
            continue;
        }
        let Some(mut c) = r.child(key, rule) else {
            continue;
        };
        let mut allowed = vec!["tokenUrl", "clientAuth"];
        allowed.extend_from_slice(extra);
        c.strict(&allowed, rule);
        if let Some(u) = c.req_nonempty("tokenUrl")
            && parse_url(&u.value).is_none()
        {
            c.err(
                rule,
                u.span,
                format!("{}.tokenUrl {:?} is not a URL", c.ctx, u.value),
            );
        }
        if key == "resourceAs" {
            c.req_nonempty("audience");
            c.opt_str("resource");
        }
        if !c.has("clientAuth") {
            c.missing("clientAuth", rule);
        } else if let Some(mut a) = c.child("clientAuth", rule) {
            check_client_auth(&mut a);
        }
    }
    r.opt_str_list_with("scopes", rule, false);
    if let Some(d) = r.opt_str("scopeDelimiter")
        && d.value.is_empty()
    {
        let msg = format!("{}: `scopeDelimiter` must not be empty", r.ctx);
        r.err(rule, d.span, msg);
    }
    findings.len() == before
}

/// The SPEC names the three kinds but not the key that tells them apart; both `method` and
/// `type` are accepted so a valid policy is never rejected on that account.
fn check_client_auth(a: &mut ObjReader<'_, '_>) {
    let rule = &rules::TOKEN_EXCHANGE_ID_JAG_SHAPE;
    let key = if a.has("type") && !a.has("method") {
        "type"
    } else {
        "method"
    };
    let method = if a.has(key) {
        a.opt_enum_with(
            key,
            &[
                "client_secret_post",
                "client_secret_basic",
                "private_key_jwt",
            ],
            rule,
        )
    } else {
        a.missing("method", rule);
        None
    };
    let Some(method) = method else { return };
    if method.value == "private_key_jwt" {
        a.strict(
            &[
                key,
                "clientId",
                "privateKeyPem",
                "algorithm",
                "keyId",
                "audience",
                "expiresInSeconds",
            ],
            rule,
        );
        a.req_nonempty("clientId");
        a.req_nonempty("privateKeyPem");
        a.opt_enum_with(
            "algorithm",
            &["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"],
            rule,
        );
        a.opt_str("keyId");
        if let Some(aud) = a.opt_str("audience")
            && parse_url(&aud.value).is_none()
        {
            let msg = format!("{}: audience {:?} is not a URL", a.ctx, aud.value);
            a.err(rule, aud.span, msg);
        }
        if let Some(e) = a.opt_pos_int("expiresInSeconds")
            && e.value > 3600
        {
            let msg = format!(
                "{}: `expiresInSeconds` must be between 1 and 3600, found {}",
                a.ctx, e.value
            );
            a.err(rule, e.span, msg);
        }
    } else {
        a.strict(&[key, "clientId", "clientSecret"], rule);
        a.req_nonempty("clientId");
        a.req_nonempty("clientSecret");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jsonc;
    use crate::diag::source::FileId;

    fn parse_text(text: &str) -> (Option<TokenExchange>, Findings) {
        let node = jsonc::parse(FileId(0), text)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("bad test JSON"));
        let mut f = Findings::default();
        (parse("mcp-token-exchange-acme", &node, &mut f), f)
    }

    #[test]
    fn id_jag_client_auth_accepts_method_or_type() {
        for key in ["method", "type"] {
            let text = format!(
                r#"{{"displayName":"Acme","authMode":"id-jag","idJag":{{
                    "idp":{{"tokenUrl":"https://idp.example.com/token","clientAuth":{{"{key}":"client_secret_post","clientId":"a","clientSecret":"b"}}}},
                    "resourceAs":{{"tokenUrl":"https://as.example.com/token","audience":"acme","clientAuth":{{"{key}":"private_key_jwt","clientId":"c","privateKeyPem":"pem"}}}}}}}}"#
            );
            let (parsed, f) = parse_text(&text);
            assert!(
                f.is_empty(),
                "{key}: {:?}",
                f.items.iter().map(|d| &d.message).collect::<Vec<_>>()
            );
            assert_eq!(parsed.map(|t| t.auth_mode), Some(AuthMode::IdJag));
        }
    }

    #[test]
    fn upstream_id_from_name_and_defaults() {
        let (parsed, f) = parse_text(r#"{"displayName":"Acme","authMode":"user-oauth"}"#);
        assert!(f.is_empty());
        let t = parsed.unwrap_or_else(|| panic!("should parse"));
        assert_eq!(t.upstream_id.value, "acme");
        assert_eq!(t.scope_delimiter, " ");
        assert_eq!(t.client_registration, ClientRegistration::Auto);
        assert_eq!(t.prompt, Prompt::Unset);
        assert_eq!(t.scopes, None);
    }
}
