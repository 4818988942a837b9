//! The rule catalogue: every check `mcpgw validate` makes, with a stable id.
//!
//! Owns: ids, names, default severities, one-line summaries and fix hints. `MCP001`–`MCP077`
//! are the rules of SPEC §2 with the same numbers, `MCP078`–`MCP088` those of §15.15 (the
//! MCP Server handler), `MCP089`–`MCP099` those of §16.14 (API keys, JWT policies, the PRM
//! plugin, the other built-in policies), with §16.14's rules 100 and 101 as `MCP113` and
//! `MCP114` (their numbers were already released with another meaning);
//! `MCP1xx` are mcpgw's own (D11, D13, D23 custom code, and shape checks the gateway makes
//! at boot). Ids never change meaning once released.

use serde::Serialize;

/// How much a finding matters: errors stop `mcpgw dev` (D10), warnings and notes do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// What the rule checks, for SARIF and `--explain`-style listings.
    pub summary: &'static str,
    /// The generic fix.
    pub help: &'static str,
}

macro_rules! rules {
    ($($ident:ident = $code:literal, $name:literal, $sev:ident, $summary:literal, $help:literal;)*) => {
        $(
            pub static $ident: Rule = Rule {
                code: $code,
                name: $name,
                severity: Severity::$sev,
                summary: $summary,
                help: $help,
            };
        )*
        /// Every rule, in id order.
        pub static ALL: &[&Rule] = &[$(&$ident),*];
    };
}

rules! {
    ZUPLO_CONFIG_INVALID = "MCP001", "zuplo-config-invalid", Error,
        "zuplo.jsonc (or zuplo.json) must exist and parse as a JSON(C) object",
        "fix the JSONC syntax at the marked spot; the file must hold one object such as { \"version\": 1, \"compatibilityDate\": \"2026-03-01\" }";
    ZUPLO_VERSION = "MCP002", "zuplo-version", Error,
        "`version` in zuplo.jsonc must be 1",
        "set \"version\": 1";
    COMPATIBILITY_DATE_UNKNOWN = "MCP003", "compatibility-date-unknown", Error,
        "`compatibilityDate` must be one of the known dates",
        "use one of 2023-03-14, 2024-01-15, 2024-03-14, 2024-09-02, 2025-02-06, 2026-03-01 (MCP features need 2026-03-01)";
    COMPATIBILITY_DATE_MCP = "MCP004", "compatibility-date-mcp", Error,
        "MCP gateway features need compatibilityDate 2026-03-01",
        "set \"compatibilityDate\": \"2026-03-01\" in zuplo.jsonc; older dates lack chained response hooks, so the token-exchange 401 retry is lost";
    ZUPLO_CONFIG_TYPES = "MCP005", "zuplo-config-types", Error,
        "allowDuplicateRoutes, allowHostHeaderOverride and devPortal.serverSideRendering must be booleans",
        "write true or false without quotes";
    POLICIES_FILE_INVALID = "MCP006", "policies-file-invalid", Error,
        "config/policies.json must exist, parse, and hold a `policies` array",
        "create config/policies.json as { \"policies\": [] } or fix the JSONC syntax at the marked spot";
    DUPLICATE_POLICY_NAME = "MCP007", "duplicate-policy-name", Error,
        "policy names in policies.json are unique",
        "rename one of the policies and update the routes that reference it";
    ENV_NOT_ALLOWED_HERE = "MCP008", "env-not-allowed-here", Error,
        "$env() is only allowed in policy handler options, corsPolicies properties and route handler options",
        "move the value into handler.options, or write it literally here";
    ENV_VAR_UNDEFINED = "MCP009", "env-var-undefined", Warning,
        "a $env(NAME) variable is not defined in .env or the environment",
        "add NAME=value to .env (and a placeholder to .env.example), or export it before running";
    SECRETS_NOT_IGNORED = "MCP010", "secrets-not-gitignored", Warning,
        ".env and .zuplo-local/ must be git-ignored",
        "add `.env` and `.zuplo-local/` to .gitignore";
    UNKNOWN_POLICY_REFERENCE = "MCP011", "unknown-policy-reference", Error,
        "a route's policies list names a policy that policies.json does not define",
        "add the policy to config/policies.json or fix the name in the route";
    PLUGIN_NOT_REGISTERED = "MCP012", "plugin-not-registered", Warning,
        "MCP policies or handlers are used but modules/zuplo.runtime.ts does not register McpGatewayPlugin",
        "in modules/zuplo.runtime.ts: runtime.addPlugin(new McpGatewayPlugin()) inside runtimeInit";
    PLUGIN_OPTIONS_INVALID = "MCP013", "plugin-options-invalid", Error,
        "McpGatewayPlugin basePath and registry.path must be valid route prefixes",
        "use a path like \"/__zuplo\": leading slash, no trailing slash, segments of [A-Za-z0-9._~-]";
    MCP_ROUTE_OPERATION_ID = "MCP014", "mcp-route-operation-id", Error,
        "every MCP route declares a non-empty operationId",
        "add \"operationId\": \"<provider>-mcp-server\" to the operation; it names tokens and connections, so keep it stable";
    DUPLICATE_MCP_OPERATION_ID = "MCP015", "duplicate-mcp-operation-id", Error,
        "no two MCP routes share an operationId",
        "give each MCP route its own operationId";
    DUPLICATE_MCP_PATH = "MCP016", "duplicate-mcp-path", Error,
        "no two MCP routes share a path",
        "remove the duplicate route or give it another path";
    ONE_OAUTH_POLICY_PER_ROUTE = "MCP017", "one-oauth-policy-per-route", Error,
        "a route binds at most one MCP OAuth policy",
        "keep one MCP OAuth policy in the route's inbound list";
    ONE_TOKEN_EXCHANGE_PER_ROUTE = "MCP018", "one-token-exchange-per-route", Error,
        "a route binds at most one mcp-token-exchange-inbound policy",
        "use one route per upstream; keep one token-exchange policy in each";
    OAUTH_POLICY_SINGLETON = "MCP019", "oauth-policy-singleton", Error,
        "one MCP OAuth policy serves the whole project",
        "attach the same MCP OAuth policy to every MCP route and remove (or stop declaring) the others";
    MCP_ROUTE_WITHOUT_OAUTH = "MCP020", "mcp-route-without-oauth", Error,
        "a McpProxyHandler route includes the project's MCP OAuth policy",
        "add the MCP OAuth policy (e.g. \"mcp-oauth\") first in the route's inbound list";
    OAUTH_BEFORE_TOKEN_EXCHANGE = "MCP021", "oauth-before-token-exchange", Error,
        "the MCP OAuth policy comes before the token-exchange policy",
        "move the MCP OAuth policy ahead of mcp-token-exchange-inbound in the inbound list";
    CAPABILITY_FILTER_LAST = "MCP022", "capability-filter-last", Warning,
        "mcp-capability-filter-inbound comes last, after token exchange",
        "move the capability-filter policy to the end of the inbound list";
    MCP_ROUTE_CORS = "MCP023", "mcp-route-cors", Warning,
        "MCP routes set corsPolicy to \"none\"",
        "set \"corsPolicy\": \"none\" in x-zuplo-route";
    MCP_ROUTE_METHODS = "MCP024", "mcp-route-methods", Warning,
        "MCP routes use `get,post` (or `post`)",
        "use the method key \"get,post\"";
    TOKEN_EXCHANGE_NEEDS_PROXY = "MCP025", "token-exchange-needs-proxy", Error,
        "a token-exchange route is handled by McpProxyHandler with a rewritePattern",
        "set handler.export to \"McpProxyHandler\" (module \"$import(@zuplo/runtime/mcp-gateway)\") with options.rewritePattern";
    MCP_ROUTE_PATH_PARAMETER = "MCP026", "mcp-route-path-parameter", Warning,
        "MCP routes with {parameters} are left out of the MCP server registry",
        "use a fixed path such as /mcp/linear-v1";
    TOKEN_EXCHANGE_WITHOUT_OAUTH = "MCP027", "token-exchange-without-oauth", Error,
        "token exchange needs the user the MCP OAuth policy authenticates",
        "add the MCP OAuth policy before the token-exchange policy";
    REWRITE_PATTERN_REQUIRED = "MCP028", "rewrite-pattern-required", Error,
        "McpProxyHandler needs options.rewritePattern",
        "set \"rewritePattern\" to the upstream MCP URL, e.g. \"https://mcp.linear.app/mcp\"";
    REWRITE_PATTERN_URL = "MCP029", "rewrite-pattern-url", Error,
        "a literal rewritePattern is an absolute http(s) URL",
        "write the full upstream URL including https://";
    REWRITE_PATTERN_TEMPLATE = "MCP030", "rewrite-pattern-template", Error,
        "rewritePattern allows only a whole-value ${env.NAME} template, set to an http(s) URL",
        "use a literal URL or exactly \"${env.UPSTREAM_URL}\" with UPSTREAM_URL set in .env";
    PROXY_OPTION_TYPES = "MCP031", "proxy-option-types", Error,
        "forwardSearch/followRedirects are booleans, mtlsCertificate a string, requestTimeoutSeconds a positive number",
        "fix the option's type";
    TOKEN_EXCHANGE_DISPLAY_NAME = "MCP032", "token-exchange-display-name", Error,
        "mcp-token-exchange-inbound needs a non-empty displayName",
        "set \"displayName\": \"Linear\" (shown on the consent page)";
    TOKEN_EXCHANGE_AUTH_MODE = "MCP033", "token-exchange-auth-mode", Error,
        "authMode is user-oauth, shared-oauth or id-jag",
        "set \"authMode\": \"user-oauth\" for per-user upstream accounts";
    TOKEN_EXCHANGE_UPSTREAM_ID = "MCP034", "token-exchange-upstream-id", Error,
        "the upstream id comes from options.id or the policy name mcp-token-exchange-<id>",
        "rename the policy to mcp-token-exchange-<id> or set options.id";
    DUPLICATE_UPSTREAM_ID = "MCP035", "duplicate-upstream-id", Error,
        "no two token-exchange policies resolve to the same upstream id",
        "give each upstream its own id; share one policy between routes instead of declaring two";
    TOKEN_EXCHANGE_UNKNOWN_OPTION = "MCP036", "token-exchange-unknown-option", Error,
        "mcp-token-exchange-inbound options are strict",
        "remove the option; allowed: id, displayName, summary, serverInfo, protectedResourceMetadataUrl, authMode, scopes, scopeDelimiter, prompt, clientRegistration, idJag";
    TOKEN_EXCHANGE_PRM_URL = "MCP037", "token-exchange-prm-url", Error,
        "protectedResourceMetadataUrl is an absolute URL",
        "use the upstream's PRM URL, e.g. https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    TOKEN_EXCHANGE_SCOPES = "MCP038", "token-exchange-scopes", Error,
        "scopes is an array of non-empty strings; scopeDelimiter a non-empty string",
        "write scopes as [\"read\", \"write\"]";
    TOKEN_EXCHANGE_PROMPT = "MCP039", "token-exchange-prompt", Error,
        "prompt is none, login, consent, select_account or false",
        "use one of \"none\", \"login\", \"consent\", \"select_account\" or false";
    TOKEN_EXCHANGE_CLIENT_REGISTRATION = "MCP040", "token-exchange-client-registration", Error,
        "clientRegistration is {mode:auto} or {mode:manual, clientId, clientSecret?, tokenEndpointAuthMethod?}",
        "use { \"mode\": \"auto\" } or { \"mode\": \"manual\", \"clientId\": \"…\", \"clientSecret\": \"$env(SECRET)\" }";
    TOKEN_EXCHANGE_ID_JAG_MODE = "MCP041", "token-exchange-id-jag-mode", Error,
        "idJag goes with authMode id-jag, and only there",
        "with authMode id-jag set idJag and drop scopes/scopeDelimiter/prompt/clientRegistration; otherwise remove idJag";
    TOKEN_EXCHANGE_ID_JAG_SHAPE = "MCP042", "token-exchange-id-jag-shape", Error,
        "idJag has idp {tokenUrl, clientAuth} and resourceAs {tokenUrl, audience, clientAuth}",
        "fill in idJag.idp and idJag.resourceAs as SPEC §2.5 rule 42 shows";
    SCOPES_REQUIRED_UPSTREAM = "MCP043", "scopes-required-upstream", Warning,
        "this upstream needs explicit scopes",
        "list the scopes the upstream documents in options.scopes";
    PROMPT_FALSE_OFFLINE_ACCESS = "MCP044", "prompt-false-offline-access", Warning,
        "prompt:false with offline_access may stop refresh tokens",
        "drop prompt:false, or expect users to reconnect when access tokens expire";
    UPSTREAM_ID_CHANGED = "MCP045", "upstream-id-changed", Warning,
        "changing an upstream id or MCP operationId strands existing user connections and tokens",
        "keep the old id (set options.id / operationId to the previous value) unless you mean every user to reconnect";
    SERVER_INFO_NOT_IN_SCHEMA = "MCP046", "server-info-not-in-schema", Warning,
        "serverInfo works at runtime but is not in the published schema",
        "keep it for mcpgw and the runtime; the Zuplo portal editor will reject it";
    CAPABILITY_FILTER_UNKNOWN_OPTION = "MCP047", "capability-filter-unknown-option", Error,
        "mcp-capability-filter-inbound options are strict",
        "remove the option; allowed: tools, prompts, resources, resourceTemplates, accessControl";
    CAPABILITY_FILTER_ITEM = "MCP048", "capability-filter-item", Error,
        "each capability entry is a non-empty string or an object with its key",
        "write the entry as \"name\" or { \"name\": \"…\", \"roles\": [\"…\"] }";
    CAPABILITY_FILTER_MODE = "MCP049", "capability-filter-mode", Error,
        "accessControl.mode is allPublic, rolesAndGroups or function",
        "use \"allPublic\" (default) or \"rolesAndGroups\"";
    CAPABILITY_FILTER_ALL_PUBLIC_MARKS = "MCP050", "capability-filter-all-public-marks", Error,
        "allPublic entries carry no roles, groups or public",
        "set accessControl.mode to \"rolesAndGroups\" or remove roles/groups/public";
    CAPABILITY_FILTER_PUBLIC_AND_ROLES = "MCP051", "capability-filter-public-and-roles", Error,
        "a rolesAndGroups entry is either public or has roles/groups",
        "remove `public: true` or the roles/groups";
    CAPABILITY_FILTER_FUNCTION = "MCP052", "capability-filter-function", Error,
        "function mode needs identifier {module, export}",
        "add \"identifier\": { \"module\": \"$import(./modules/filter)\", \"export\": \"default\" }";
    CAPABILITY_FILTER_EMPTY_LIST = "MCP053", "capability-filter-empty-list", Warning,
        "an empty list hides everything of that type",
        "omit the option to pass everything through, or list what to allow";
    CAPABILITY_FILTER_DUPLICATE = "MCP054", "capability-filter-duplicate", Warning,
        "entries are unique and have no surrounding whitespace (matching is exact)",
        "remove the duplicate or the whitespace";
    CAPABILITY_FILTER_UNREACHABLE = "MCP055", "capability-filter-unreachable", Warning,
        "a rolesAndGroups entry without roles, groups or public is available to no one",
        "add roles, groups or \"public\": true to the entry";
    OAUTH_OPTIONS_SHAPE = "MCP056", "oauth-options-shape", Error,
        "mcp-oauth-inbound options are strict: oidc and browserLogin required, gateway and idJag optional",
        "fix or remove the option";
    OAUTH_OIDC = "MCP057", "oauth-oidc", Error,
        "oidc.issuer and oidc.jwksUrl are URLs; oidc.audience non-empty",
        "set oidc.issuer and oidc.jwksUrl to the IdP's issuer and JWKS URLs";
    OAUTH_BROWSER_LOGIN_URL = "MCP058", "oauth-browser-login-url", Error,
        "browserLogin.url is a URL",
        "set browserLogin.url to the IdP's authorize URL, or http://127.0.0.1:9000/__zuplo/oauth/dev-login for local dev";
    OAUTH_FEDERATED_FIELDS = "MCP059", "oauth-federated-fields", Error,
        "federated browser login needs tokenUrl, clientId and clientSecret",
        "set browserLogin.tokenUrl, clientId and clientSecret (secrets as $env(...))";
    OAUTH_DEV_LOGIN_URL = "MCP060", "oauth-dev-login-url", Warning,
        "a dev-login URL must use 127.0.0.1 and the plugin's basePath",
        "use http://127.0.0.1:9000/__zuplo/oauth/dev-login (with the configured basePath)";
    OAUTH_BROWSER_LOGIN_OPTIONS = "MCP061", "oauth-browser-login-options", Error,
        "browserLogin scope/pkce/timeouts have valid values",
        "scope non-empty; pkce \"S256\" or \"none\"; remoteTimeoutMs, stateTtlSeconds, sessionTtlSeconds positive integers";
    OAUTH_GATEWAY_OPTIONS = "MCP062", "oauth-gateway-options", Error,
        "gateway options are accessTokenTtlSeconds, refreshTokenTtlSeconds (positive integers) and cimdEnabled (boolean)",
        "fix the value or remove the option";
    OAUTH_ID_JAG = "MCP063", "oauth-id-jag", Error,
        "idJag is {enabled:false} or {enabled:true, trustedIssuers?, …}",
        "see SPEC §2.7 rule 63 for the idJag shape";
    OAUTH_IDP_URL_INSECURE = "MCP064", "oauth-idp-url-insecure", Warning,
        "federated IdP URLs are https, without query, fragment or credentials, and not private hosts",
        "use the IdP's public https URL";
    OAUTH_AUDIENCE_UNUSED = "MCP065", "oauth-audience-unused", Warning,
        "oidc.audience is not used: ID tokens are checked against browserLogin.clientId",
        "remove oidc.audience";
    AUTH0_DOMAIN = "MCP066", "auth0-domain", Error,
        "auth0Domain is a bare host name such as my-tenant.us.auth0.com",
        "write the domain without https:// and without a path";
    OKTA_DOMAIN = "MCP067", "okta-domain", Error,
        "oktaDomain is <org>.okta.com or <org>.oktapreview.com",
        "write the Okta org domain (custom domains are not accepted by the wrapper; use mcp-oauth-inbound)";
    ENTRA_IDS = "MCP068", "entra-ids", Error,
        "Entra tenantId and clientId are UUIDs",
        "use the Directory (tenant) ID and Application (client) ID GUIDs from the app registration";
    GOOGLE_CLIENT_ID = "MCP069", "google-client-id", Error,
        "Google clientId looks like <digits>-<id>.apps.googleusercontent.com",
        "copy the OAuth client ID of a Web application client from Google Cloud";
    CLERK_FRONTEND_API_URL = "MCP070", "clerk-frontend-api-url", Error,
        "frontendApiUrl is an https origin; browserLoginOverrides has no pkce",
        "use the Frontend API URL, e.g. https://clerk.example.com";
    COGNITO_OPTIONS = "MCP071", "cognito-options", Error,
        "awsRegion, userPoolId (<region>_<id>) and userPoolDomain (host) have valid shapes",
        "copy the region, user pool id and domain (host only) from the Cognito console";
    KEYCLOAK_OPTIONS = "MCP072", "keycloak-options", Error,
        "keycloakBaseUrl is an https URL without /realms; realm a valid name",
        "set keycloakBaseUrl to the server root (e.g. https://id.example.com) and realm to the realm name";
    LOGTO_ENDPOINT = "MCP073", "logto-endpoint", Error,
        "logtoEndpoint is an https origin with no path",
        "use the endpoint without /oidc, e.g. https://tenant.logto.app";
    ONELOGIN_SUBDOMAIN = "MCP074", "onelogin-subdomain", Error,
        "oneLoginSubdomain is the bare subdomain; browserLoginOverrides has no pkce",
        "write only the subdomain: acme for acme.onelogin.com";
    PING_OPTIONS = "MCP075", "ping-options", Error,
        "Ping needs environmentId (UUID, optional region) or customDomain, not both",
        "set environmentId (and region) or customDomain";
    WORKOS_CLIENT_ID = "MCP076", "workos-client-id", Error,
        "WorkOS clientId looks like client_<20-40 letters or digits>",
        "copy the client ID from the WorkOS dashboard";
    WRAPPER_OPTIONS = "MCP077", "wrapper-options", Error,
        "wrapper options are strict, clientId/clientSecret non-empty, and the derived URLs valid",
        "fix or remove the option; secrets as $env(...)";
    MCP_SERVER_METHOD = "MCP078", "mcp-server-method", Error,
        "a route whose handler is mcpServerHandler declares only POST",
        "set the method key to \"post\": Zuplo answers every request to the route with 500 Invalid route config otherwise";
    MCP_SERVER_EXPORT = "MCP079", "mcp-server-export", Error,
        "the MCP Server handler is exported as mcpServerHandler from $import(@zuplo/runtime)",
        "set handler.export to \"mcpServerHandler\" (no other spelling exists)";
    MCP_SERVER_OPERATION_REF = "MCP080", "mcp-server-operation-ref", Error,
        "operations entries name a route file as ./config/<name>.oas.json and an operationId in it",
        "write file exactly as ./config/<name>.oas.json and id as an operationId of a route in that file";
    MCP_SERVER_TARGET_METHOD = "MCP081", "mcp-server-target-method", Error,
        "MCP tools and resources call a route with exactly one method; resources use GET",
        "give the route one method key (resources: \"get\"), or split it into one route per method";
    MCP_SERVER_DUPLICATE_NAME = "MCP082", "mcp-server-duplicate-name", Error,
        "tool, prompt and resource names are unique per MCP server and kind (GraphQL tools count as tools)",
        "set a distinct x-zuplo-route.mcp.name on one of the operations";
    MCP_ROUTE_BLOCK = "MCP083", "mcp-route-block", Error,
        "x-zuplo-route.mcp has a type and only the keys that type allows",
        "add \"type\": \"tool\" (or prompt, resource, graphql) and remove keys the type does not allow";
    MCP_SERVER_OPENAPI_FILE_PATHS = "MCP084", "mcp-server-openapi-file-paths", Warning,
        "openApiFilePaths: mcpgw serves its tools, Zuplo 7.6.4 lists none",
        "use operations: [{\"file\": \"./config/routes.oas.json\", \"id\": \"<operationId>\"}]";
    MCP_SERVER_IGNORED_OPTION = "MCP085", "mcp-server-ignored-option", Warning,
        "openApiTools and openApiSpec are ignored by Zuplo 7.6.4 and by mcpgw",
        "use operations: [{\"file\": \"./config/routes.oas.json\", \"id\": \"<operationId>\"}]";
    MCP_SERVER_DEPRECATED_OPTION = "MCP086", "mcp-server-deprecated-option", Warning,
        "files, prompts and resources options are deprecated (7.6.4 logs DEPRECATED per operation)",
        "use operations with x-zuplo-route.mcp on each operation";
    MCP_SERVER_PATH_ITEM_PARAMETERS = "MCP087", "mcp-server-path-item-parameters", Warning,
        "parameters declared on a path item: mcpgw applies them to the tool, Zuplo 7.6.4 ignores them",
        "declare the parameters on the operation itself";
    MCP_PROMPT_NON_STRING_ARGUMENT = "MCP088", "mcp-prompt-non-string-argument", Warning,
        "prompt arguments are strings: every property of a prompt's request-body schema is a string",
        "make the property {\"type\": \"string\"} (MCP prompt arguments are strings), or make the operation a tool";
    API_KEY_CACHE_TTL = "MCP089", "api-key-cache-ttl", Error,
        "api-key-inbound cacheTtlSeconds is at least 60",
        "set cacheTtlSeconds to 60 or more, or leave it out (default 60): Zuplo answers 500 on every request of the route otherwise";
    JWT_KEY_SOURCE = "MCP090", "jwt-key-source", Error,
        "open-id-jwt-auth-inbound has exactly one of jwkUrl and secret",
        "set jwkUrl (the issuer's JWKS URL) or secret (an HS256 secret as $env(...)), not both";
    JWT_RESOURCE_METADATA_UNSERVED = "MCP091", "jwt-resource-metadata-unserved", Warning,
        "a JWT policy with oAuthResourceMetadataEnabled has a protected resource metadata route to point at",
        "register new OAuthProtectedResourcePlugin({...}) in modules/zuplo.runtime.ts, or turn oAuthResourceMetadataEnabled off";
    PRM_AUTHORIZATION_SERVER_URL = "MCP092", "prm-authorization-server-url", Warning,
        "OAuthProtectedResourcePlugin authorizationServers entries are absolute https URLs",
        "write the authorization server's canonical URL, e.g. https://my-tenant.us.auth0.com/";
    PRM_PLUGINS_OVERLAP = "MCP093", "prm-plugins-overlap", Warning,
        "McpGatewayPlugin and OAuthProtectedResourcePlugin both serve /.well-known/oauth-protected-resource/...",
        "keep one of them, or rely on mcpgw's precedence: the gateway's document for its MCP routes, the plugin's for every other path";
    QUERY_PARAM_TO_HEADER_OPTIONS = "MCP094", "query-param-to-header-options", Error,
        "query-param-to-header-inbound has queryParam, headerName and headerValue",
        "set all three, e.g. \"queryParam\": \"apiKey\", \"headerName\": \"Authorization\", \"headerValue\": \"Bearer {value}\"";
    QUERY_PARAM_REMOVE_FROM_URL = "MCP095", "query-param-remove-from-url", Warning,
        "query-param-to-header-inbound without removeFromUrl keeps the parameter in the URL (7.6.4 and mcpgw default to false; the docs say true)",
        "set \"removeFromUrl\": true so the parameter (often an API key) does not reach the upstream in the URL";
    IP_RESTRICTION_OPTIONS = "MCP096", "ip-restriction-options", Error,
        "ip-address-restriction-inbound options are strict: allow and/or deny, each a non-empty list of IPv4/IPv6 addresses or CIDR ranges",
        "remove unknown options, and write entries such as 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32";
    IP_RESTRICTION_LOCAL = "MCP097", "ip-restriction-local", Warning,
        "an ip-address-restriction-inbound allow list that does not admit 127.0.0.1 rejects every local request (no clientIpHeader)",
        "add 127.0.0.1 to allow for local runs, or set clientIpHeader and send that header";
    CLIENT_CREDENTIALS_OPTIONS = "MCP098", "client-credentials-options", Error,
        "upstream-oauth-client-credentials-inbound options are strict; tokenUrl, clientId and clientSecret are non-empty; additionalParameters do not override reserved parameters",
        "remove unknown options, set tokenUrl, clientId and clientSecret (as $env(...)), and drop grant_type, client_id, client_secret, scope and audience from additionalParameters";
    SET_HEADERS_ENTRIES = "MCP099", "set-headers-entries", Error,
        "set-headers-inbound / set-headers-outbound have a non-empty headers list, each entry with a name",
        "list at least one entry such as {\"name\": \"x-my-header\", \"value\": \"...\"}, or remove the policy";
    UNSUPPORTED_IN_DEV = "MCP100", "unsupported-in-dev", Warning,
        "mcpgw dev cannot run this piece (policies and handlers it does not implement)",
        "routes that use it answer 501 under mcpgw dev; test them on Zuplo";
    ROUTE_FILE_INVALID = "MCP101", "route-file-invalid", Error,
        "config/*.oas.json parses as an OpenAPI document with a `paths` object",
        "fix the JSONC syntax or the document shape at the marked spot";
    POLICY_SCHEMA = "MCP102", "policy-schema", Error,
        "options match the policy's JSON Schema from node_modules/zuplo",
        "fix the option as the policy's schema.json says";
    POLICY_SCHEMA_NOT_CHECKED = "MCP103", "policy-schema-not-checked", Note,
        "options of policy types mcpgw does not know were not checked",
        "run `npm install` so node_modules/zuplo/docs/policies/*/schema.json exists, then validate again";
    ENV_VAR_NAME_INVALID = "MCP104", "env-var-name-invalid", Error,
        "$env() names use letters, digits and underscores",
        "write $env(MY_VARIABLE)";
    ENV_VAR_RESERVED = "MCP105", "env-var-reserved", Error,
        "variable names starting with ZUPLO_, __ZUPLO or ZUDOKU_ are reserved",
        "rename the variable";
    POLICY_ENTRY_SHAPE = "MCP106", "policy-entry-shape", Error,
        "each policy has name, policyType and handler {export, module, options?}",
        "complete the policy entry as the Zuplo policies.json format requires";
    ROUTE_SHAPE = "MCP107", "route-shape", Error,
        "each operation has x-zuplo-route with a handler {export, module} and policies lists of names",
        "complete x-zuplo-route as the Zuplo routes format requires";
    MCP_HANDLER_MODULE = "MCP108", "mcp-handler-module", Warning,
        "McpProxyHandler is imported from $import(@zuplo/runtime/mcp-gateway)",
        "set handler.module to \"$import(@zuplo/runtime/mcp-gateway)\"";
    POLICY_EXPORT_MISMATCH = "MCP109", "policy-export-mismatch", Error,
        "a built-in policyType is paired with its own export class",
        "set handler.export to the class the policy type documents";
    POLICY_OPTIONS = "MCP110", "policy-options", Error,
        "options of the built-in policies mcpgw runs have the documented shape",
        "fix the option as the policy's documentation says";
    PLUGIN_OPTIONS_NOT_LITERAL = "MCP111", "plugin-options-not-literal", Note,
        "McpGatewayPlugin options that are not a literal object cannot be read",
        "write the options inline: new McpGatewayPlugin({ basePath: \"/__zuplo\" })";
    PROJECT_TYPE = "MCP112", "project-type", Error,
        "projectType is managed-edge, managed-dedicated or self-hosted",
        "use one of managed-edge (default), managed-dedicated, self-hosted";
    // SPEC §16.14 rule 100: MCP100 was already released as unsupported-in-dev, so it is MCP113
    SET_HEADERS_TEMPLATE_VERBATIM = "MCP113", "set-headers-template-verbatim", Warning,
        "a set-headers value containing ${...} is sent verbatim, not evaluated (SPEC rule 100)",
        "write the literal value, or $env(NAME) for a build-time value; runtime templates such as ${request.user.sub} are not evaluated by set-headers";
    // SPEC §16.14 rule 101: MCP101 was already released as route-file-invalid, so it is MCP114
    SECRET_MASKING_PATTERN_INVALID = "MCP114", "secret-masking-pattern-invalid", Warning,
        "secret-masking-outbound additionalPatterns entries are valid JavaScript regular expressions (SPEC rule 101)",
        "fix the pattern (it is compiled as new RegExp(pattern, \"g\")); until then it is skipped and what it should mask is sent as is";
    CUSTOM_MODULE_NOT_FOUND = "MCP115", "custom-module-not-found", Error,
        "a $import(./modules/...) reference names a readable file (extensionless: .ts, then /index.ts)",
        "create the module file, or fix the path after $import( (relative to the project root)";
    CUSTOM_EXPORT_MISSING = "MCP116", "custom-export-missing", Error,
        "the export a custom handler, policy or function names is exported by its module",
        "export the function under that name (export: \"default\" needs `export default`), or set export to one the module has";
    CUSTOM_FUNCTION_ARITY = "MCP117", "custom-function-arity", Warning,
        "a custom function declares no more parameters than Zuplo passes (handler 2, inbound policy 4, outbound policy 5, rate-limit function 3)",
        "match the documented signature, e.g. (request, context) for a handler; extra parameters are always undefined";
    CUSTOM_CODE_NEEDS_NODE = "MCP118", "custom-code-needs-node", Note,
        "custom code (TypeScript modules, runtimeInit hooks) runs under mcpgw dev in a Node.js 22.6 or later worker",
        "install Node.js 22.6 or later (or pass mcpgw dev --node PATH); without it these pieces answer 501 under mcpgw dev";
}

/// The rule with this code, e.g. `rule_by_code("MCP019")`.
pub fn rule_by_code(code: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for r in ALL {
            assert!(codes.insert(r.code), "duplicate {}", r.code);
            assert!(names.insert(r.name), "duplicate {}", r.name);
            assert!(r.code.len() == 6 && r.code.starts_with("MCP"));
            assert!(
                r.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
        }
        // every SPEC §2 rule 1..=77, §15.15 rule 78..=88 and §16.14 rule 89..=99 has its own
        // id; §16.14 rules 100 and 101 are MCP113 and MCP114 (MCP100/MCP101 were taken)
        for n in (1..=99).chain([113, 114]) {
            assert!(
                rule_by_code(&format!("MCP{n:03}")).is_some(),
                "rule {n} missing"
            );
        }
    }
}
