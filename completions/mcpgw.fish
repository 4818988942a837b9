# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_mcpgw_global_optspecs
    string join \n color= h/help V/version
end

function __fish_mcpgw_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_mcpgw_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_mcpgw_using_subcommand
    set -l cmd (__fish_mcpgw_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c mcpgw -n "__fish_mcpgw_needs_command" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -s V -l version -d 'Print version'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -f -a "dev" -d 'Run the whole gateway locally: OAuth endpoints, MCP policies, the proxy, dev-login, SQLite state'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -f -a "validate" -d 'Check a project the way the gateway would at boot, plus what would fail later'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -f -a "init" -d 'Create a project from a template'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -f -a "oauth" -d 'Drive and inspect the MCP OAuth flow'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -f -a "upstream" -d 'Inspect and emulate upstream MCP servers'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -f -a "token" -d 'Mint a token from mcpgw\'s local issuer for a route\'s JWT policy (for dev --local-idp)'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -f -a "keys" -d 'Manage the local API keys that api-key-inbound checks under mcpgw dev'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c mcpgw -n "__fish_mcpgw_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l port -d 'Port to listen on' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l host -d 'Address to listen on' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l public-url -d 'Public origin, when the gateway sits behind a proxy (pins issuer and resource URLs)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l state-dir -d 'Where state.db and secret.key live (default: <DIR>/.mcpgw)' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l upstream-timeout -d 'Seconds an upstream may take to answer on routes without requestTimeoutSeconds (504)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l upstream-idle-timeout -d 'Seconds a streamed upstream answer (JSON or SSE) may send nothing before it is ended' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l upstream-connect-timeout -d 'Seconds connecting to an upstream may take (502 after it)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l header-read-timeout -d 'Seconds a client may take to send a request\'s headers, or stay idle between requests' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l log-format -d 'Log line format' -r -f -a "pretty\t''
json\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l dev-user -d 'Subject of the dev-login user' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l dev-roles -d 'Roles of the dev-login user, comma-separated' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l allow-origin -d 'A browser origin allowed on MCP routes besides the gateway\'s own (repeatable; patterns such as http://localhost:* allowed); other Origin headers get 403' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l audit-log -d 'Append each audit-log-inbound record to FILE as a JSON line (created 0600), besides the dev log' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l node -d 'The Node.js (22.6 or later) that runs custom code in modules/; default: node on PATH' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l custom-timeout -d 'Seconds one call of custom code may take before it answers 504 and the worker restarts' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l with-mock -d 'Also run the built-in mock upstream (mcpgw upstream mock) on ADDR, for projects that point at it, such as the quickstart template' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l reset-secret-key -d 'Start over when secret.key is gone: delete the upstream connections sealed with it'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l auto-consent -d 'Approve the consent page automatically (loopback only), for headless clients'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l local-idp -d 'Stand in for every identity provider the project names, files unchanged (D22): MCP OAuth policies log in through dev-login, JWT policies also accept `mcpgw token` tokens'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -l trust-forwarded-host -d 'Honour X-Forwarded-Host / -Proto (and Forwarded) when deriving the public origin: only behind a proxy that sets them'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand dev" -s h -l help -d 'Print help'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand validate" -l format -d 'Output format' -r -f -a "human\t'Compiler-style report with source lines and carets'
json\t'{"diagnostics": [...], "summary": {...}}'
github\t'GitHub Actions workflow annotations'
sarif\t'SARIF 2.1.0'"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand validate" -l baseline -d 'Compare upstream ids and MCP operationIds with this git revision (rule MCP045)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand validate" -l env-file -d 'Read variables from this `.env`-style file too, after the project\'s `.env` (repeatable): for CI, where the project\'s `.env` is not checked in' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand validate" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand validate" -l deny-warnings -d 'Exit 1 on warnings too'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand validate" -l local-idp -d 'Judge the project as `mcpgw dev --local-idp` serves it: options only the real identity provider needs may be unset (D25 b)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand validate" -l env-example -d 'Count the names in the project\'s `.env.example` as set by the deployment: their values are not checked, but a `$env(NAME)` that no source defines is still an error'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand init" -s t -l template -d 'Template name (see --list)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand init" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand init" -l list -d 'List the templates'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand init" -s h -l help -d 'Print help'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and not __fish_seen_subcommand_from walk help" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and not __fish_seen_subcommand_from walk help" -s h -l help -d 'Print help'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and not __fish_seen_subcommand_from walk help" -f -a "walk" -d 'Walk the manual PKCE flow step by step: discovery, registration, authorize, token, MCP call, refresh, revoke'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and not __fish_seen_subcommand_from walk help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l route -d 'Route path on the gateway, e.g. /mcp/linear-v1' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l gateway -d 'Gateway origin' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l url -d 'Any MCP server URL instead of a gateway route' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l client-id -d 'Use this pre-registered client instead of DCR' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l client-secret -d 'Secret of the pre-registered client' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l client-auth -d 'How the pre-registered client authenticates at the token endpoint (default: basic, unless the server lists only post)' -r -f -a "basic\t'client_secret_basic: HTTP Basic'
post\t'client_secret_post: client_secret in the form'"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l cimd -d 'Use a Client ID Metadata Document URL as client_id' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l redirect-uri -d 'Redirect URI to register (default: a loopback listener on a free port, or http://127.0.0.1:8765/callback when the walk drives a local dev login itself)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l save -d 'Save the tokens to FILE (mode 0600); the revoke step is then skipped' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l token-file -d 'Reuse tokens saved with --save' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l timeout -d 'Seconds to wait for the browser' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l protocol -d 'MCP revision to speak: auto asks server/discover (2026-07-28) first and falls back to initialize (2025-11-25) when the server does not speak 2026-07-28' -r -f -a "auto\t'server/discover (2026-07-28) first, initialize (2025-11-25) when the server does not speak 2026-07-28'
2026-07-28\t'2026-07-28 only: server/discover, the _meta envelope, Mcp-Method / Mcp-Name'
2025-11-25\t'2025-11-25 only: initialize and a session'"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l no-browser -d 'Print the authorize URL instead of opening a browser'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l no-refresh -d 'Skip the refresh step'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l no-revoke -d 'Skip the revoke step'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l no-resource -d 'Leave out the RFC 8707 resource parameter'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l check -d 'Run the negative checks after a successful walk'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l auto-connect -d 'Connect pending upstreams by itself on loopback: the consent page\'s Connect links and -32042 connect URLs'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l show-secrets -d 'Print full secrets instead of the first 6 characters'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -l json -d 'Print one JSON transcript instead of the step-by-step report'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from walk" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from help" -f -a "walk" -d 'Walk the manual PKCE flow step by step: discovery, registration, authorize, token, MCP call, refresh, revoke'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand oauth; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and not __fish_seen_subcommand_from probe mock help" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and not __fish_seen_subcommand_from probe mock help" -s h -l help -d 'Print help'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and not __fish_seen_subcommand_from probe mock help" -f -a "probe" -d 'Ask an upstream MCP server what auth it needs and how to configure the gateway for it'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and not __fish_seen_subcommand_from probe mock help" -f -a "mock" -d 'Run a real Streamable HTTP MCP server for local labs and tests'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and not __fish_seen_subcommand_from probe mock help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from probe" -l scope -d 'Scope to ask for when the server names none' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from probe" -l timeout -d 'Seconds to wait for each request' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from probe" -l id -d 'Upstream id for the suggested policy and route (default: from the host name)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from probe" -l oauth-policy -d 'Name of the project\'s MCP OAuth policy, first in the suggested route' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from probe" -l protocol -d 'MCP revision of the first contact' -r -f -a "auto\t'server/discover (2026-07-28) first, initialize (2025-11-25) when the server does not speak 2026-07-28'
2026-07-28\t'2026-07-28 only: server/discover, the _meta envelope, Mcp-Method / Mcp-Name'
2025-11-25\t'2025-11-25 only: initialize and a session'"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from probe" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from probe" -l json -d 'Print one JSON object with every step and the suggestion'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l port -d 'Port to listen on (0 for any free port)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l host -d 'Address to listen on' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l prm-at -d 'Where Protected Resource Metadata is served: under the path, at the root, both, or not at all' -r -f -a "path\t''
root\t''
both\t''
none\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l token-ttl -d 'Access-token lifetime in seconds' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l scope -d 'The scope every MCP request needs (space-separated for several)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l tool-scope -d 'Calling TOOL needs SCOPE too: else 403 insufficient_scope (repeatable)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l client-id -d 'A pre-registered client id (accepts any loopback redirect URI)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l client-secret -d 'The pre-registered client\'s secret (client_secret_basic or _post); without it the client is public' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l dcr-auth-method -d 'DCR registers every client with this authentication method, whatever it asked for' -r -f -a "none\t''
client_secret_basic\t''
client_secret_post\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l prm-resource -d 'Protected resource metadata names this resource instead of the mock\'s MCP URL (a PRM for another resource, which clients must refuse)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l iss -d 'RFC 9207 iss on authorization responses: exact, left out (although advertised), or with a trailing slash (the last two are for testing clients that must refuse them)' -r -f -a "exact\t''
omit\t''
trailing-slash\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l withhold-scope -d 'The authorization server never grants SCOPE, even when asked (repeatable)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l oauth -d 'Protect the mock with its own OAuth 2.1 authorization server, on the same port'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l modern-only -d 'Serve MCP 2026-07-28 requests only: initialize and other session-era requests get HTTP 400 with -32022 (unsupported protocol version) naming 2026-07-28'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l no-resource-metadata -d 'Leave resource_metadata out of the 401 challenge'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l challenge-scope -d 'Put scope="…" in the 401 challenge'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l no-dcr -d 'No dynamic client registration (/register answers 404)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l cimd -d 'Advertise and accept Client ID Metadata Documents as client ids (https; loopback http while the mock is on loopback)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l no-refresh -d 'Issue no refresh tokens'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l offline-access -d 'The authorization server lists offline_access in scopes_supported (the PRM does not)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -l challenge-missing-scope-only -d 'A 403 insufficient_scope names only the missing scope, not the token\'s own scopes too'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from mock" -s h -l help -d 'Print help'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from help" -f -a "probe" -d 'Ask an upstream MCP server what auth it needs and how to configure the gateway for it'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from help" -f -a "mock" -d 'Run a real Streamable HTTP MCP server for local labs and tests'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand upstream; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand token" -l route -d 'The route whose JWT policy the token is for (its path, e.g. /v1/todos)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand token" -l policy -d 'The JWT policy, when the route has several' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand token" -l sub -d 'The token\'s subject (`sub`; PropelAuth\'s `user_id` too)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand token" -l claim -d 'An extra claim (repeatable); VALUE is JSON when it parses, else a string' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand token" -l ttl -d 'Lifetime in seconds' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand token" -l state-dir -d 'Where local-idp.key lives (default: <DIR>/.mcpgw, as mcpgw dev)' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand token" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand token" -l json -d 'Print {token, iss, aud, exp, policy} as JSON instead of the bare token'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand token" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -f -a "create" -d 'Create a consumer with a key, or a further key for an existing consumer; prints the key once'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -f -a "list" -d 'List consumers, their metadata and key ids (never the keys)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -f -a "revoke" -d 'Revoke a key by its id: it answers 401 Authorization Failed from the next request on'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from create" -l metadata -d 'The consumer\'s metadata as a JSON object (request.user.data); replaces an existing consumer\'s metadata' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from create" -l expires -d 'When the key stops working: an RFC 3339 date-time, or YYYY-MM-DD (end of that day, UTC)' -r
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from create" -l project -d 'Project folder' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from create" -l state-dir -d 'Where state.db lives (default: <DIR>/.mcpgw, as mcpgw dev)' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from create" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from create" -l json -d 'Print JSON instead of text'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from list" -l project -d 'Project folder' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from list" -l state-dir -d 'Where state.db lives (default: <DIR>/.mcpgw, as mcpgw dev)' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from list" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of text'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l project -d 'Project folder' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l state-dir -d 'Where state.db lives (default: <DIR>/.mcpgw, as mcpgw dev)' -r -F
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l json -d 'Print JSON instead of text'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a consumer with a key, or a further key for an existing consumer; prints the key once'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List consumers, their metadata and key ids (never the keys)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a key by its id: it answers 401 Authorization Failed from the next request on'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand completions" -l color -d 'When to use colors: auto (a terminal without NO_COLOR), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c mcpgw -n "__fish_mcpgw_using_subcommand completions" -s h -l help -d 'Print help'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and not __fish_seen_subcommand_from dev validate init oauth upstream token keys completions help" -f -a "dev" -d 'Run the whole gateway locally: OAuth endpoints, MCP policies, the proxy, dev-login, SQLite state'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and not __fish_seen_subcommand_from dev validate init oauth upstream token keys completions help" -f -a "validate" -d 'Check a project the way the gateway would at boot, plus what would fail later'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and not __fish_seen_subcommand_from dev validate init oauth upstream token keys completions help" -f -a "init" -d 'Create a project from a template'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and not __fish_seen_subcommand_from dev validate init oauth upstream token keys completions help" -f -a "oauth" -d 'Drive and inspect the MCP OAuth flow'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and not __fish_seen_subcommand_from dev validate init oauth upstream token keys completions help" -f -a "upstream" -d 'Inspect and emulate upstream MCP servers'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and not __fish_seen_subcommand_from dev validate init oauth upstream token keys completions help" -f -a "token" -d 'Mint a token from mcpgw\'s local issuer for a route\'s JWT policy (for dev --local-idp)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and not __fish_seen_subcommand_from dev validate init oauth upstream token keys completions help" -f -a "keys" -d 'Manage the local API keys that api-key-inbound checks under mcpgw dev'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and not __fish_seen_subcommand_from dev validate init oauth upstream token keys completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and not __fish_seen_subcommand_from dev validate init oauth upstream token keys completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and __fish_seen_subcommand_from oauth" -f -a "walk" -d 'Walk the manual PKCE flow step by step: discovery, registration, authorize, token, MCP call, refresh, revoke'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and __fish_seen_subcommand_from upstream" -f -a "probe" -d 'Ask an upstream MCP server what auth it needs and how to configure the gateway for it'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and __fish_seen_subcommand_from upstream" -f -a "mock" -d 'Run a real Streamable HTTP MCP server for local labs and tests'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "create" -d 'Create a consumer with a key, or a further key for an existing consumer; prints the key once'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List consumers, their metadata and key ids (never the keys)'
complete -c mcpgw -n "__fish_mcpgw_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "revoke" -d 'Revoke a key by its id: it answers 401 Authorization Failed from the next request on'
