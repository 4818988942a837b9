
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'mcpgw' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'mcpgw'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'mcpgw' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('dev', 'dev', [CompletionResultType]::ParameterValue, 'Run the whole gateway locally: OAuth endpoints, MCP policies, the proxy, dev-login, SQLite state')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check a project the way the gateway would at boot, plus what would fail later')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a project from a template')
            [CompletionResult]::new('oauth', 'oauth', [CompletionResultType]::ParameterValue, 'Drive and inspect the MCP OAuth flow')
            [CompletionResult]::new('upstream', 'upstream', [CompletionResultType]::ParameterValue, 'Inspect and emulate upstream MCP servers')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Mint a token from mcpgw''s local issuer for a route''s JWT policy (for dev --local-idp)')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Manage the local API keys that api-key-inbound checks under mcpgw dev')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mcpgw;dev' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to listen on')
            [CompletionResult]::new('--public-url', '--public-url', [CompletionResultType]::ParameterName, 'Public origin, when the gateway sits behind a proxy (pins issuer and resource URLs)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where state.db and secret.key live (default: <DIR>/.mcpgw)')
            [CompletionResult]::new('--upstream-timeout', '--upstream-timeout', [CompletionResultType]::ParameterName, 'Seconds an upstream may take to answer on routes without requestTimeoutSeconds (504)')
            [CompletionResult]::new('--upstream-idle-timeout', '--upstream-idle-timeout', [CompletionResultType]::ParameterName, 'Seconds a streamed upstream answer (JSON or SSE) may send nothing before it is ended')
            [CompletionResult]::new('--upstream-connect-timeout', '--upstream-connect-timeout', [CompletionResultType]::ParameterName, 'Seconds connecting to an upstream may take (502 after it)')
            [CompletionResult]::new('--header-read-timeout', '--header-read-timeout', [CompletionResultType]::ParameterName, 'Seconds a client may take to send a request''s headers, or stay idle between requests')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('--dev-user', '--dev-user', [CompletionResultType]::ParameterName, 'Subject of the dev-login user')
            [CompletionResult]::new('--dev-roles', '--dev-roles', [CompletionResultType]::ParameterName, 'Roles of the dev-login user, comma-separated')
            [CompletionResult]::new('--allow-origin', '--allow-origin', [CompletionResultType]::ParameterName, 'A browser origin allowed on MCP routes besides the gateway''s own (repeatable; patterns such as http://localhost:* allowed); other Origin headers get 403')
            [CompletionResult]::new('--audit-log', '--audit-log', [CompletionResultType]::ParameterName, 'Append each audit-log-inbound record to FILE as a JSON line (created 0600), besides the dev log')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'The Node.js (22.6 or later) that runs custom code in modules/; default: node on PATH')
            [CompletionResult]::new('--custom-timeout', '--custom-timeout', [CompletionResultType]::ParameterName, 'Seconds one call of custom code may take before it answers 504 and the worker restarts')
            [CompletionResult]::new('--with-mock', '--with-mock', [CompletionResultType]::ParameterName, 'Also run the built-in mock upstream (mcpgw upstream mock) on ADDR, for projects that point at it, such as the quickstart template')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--reset-secret-key', '--reset-secret-key', [CompletionResultType]::ParameterName, 'Start over when secret.key is gone: delete the upstream connections sealed with it')
            [CompletionResult]::new('--auto-consent', '--auto-consent', [CompletionResultType]::ParameterName, 'Approve the consent page automatically (loopback only), for headless clients')
            [CompletionResult]::new('--local-idp', '--local-idp', [CompletionResultType]::ParameterName, 'Stand in for every identity provider the project names, files unchanged (D22): MCP OAuth policies log in through dev-login, JWT policies also accept `mcpgw token` tokens')
            [CompletionResult]::new('--trust-forwarded-host', '--trust-forwarded-host', [CompletionResultType]::ParameterName, 'Honour X-Forwarded-Host / -Proto (and Forwarded) when deriving the public origin: only behind a proxy that sets them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'mcpgw;validate' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Compare upstream ids and MCP operationIds with this git revision (rule MCP045)')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read variables from this `.env`-style file too, after the project''s `.env` (repeatable): for CI, where the project''s `.env` is not checked in')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--deny-warnings', '--deny-warnings', [CompletionResultType]::ParameterName, 'Exit 1 on warnings too')
            [CompletionResult]::new('--local-idp', '--local-idp', [CompletionResultType]::ParameterName, 'Judge the project as `mcpgw dev --local-idp` serves it: options only the real identity provider needs may be unset (D25 b)')
            [CompletionResult]::new('--env-example', '--env-example', [CompletionResultType]::ParameterName, 'Count the names in the project''s `.env.example` as set by the deployment: their values are not checked, but a `$env(NAME)` that no source defines is still an error')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'mcpgw;init' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Template name (see --list)')
            [CompletionResult]::new('--template', '--template', [CompletionResultType]::ParameterName, 'Template name (see --list)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List the templates')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'mcpgw;oauth' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('walk', 'walk', [CompletionResultType]::ParameterValue, 'Walk the manual PKCE flow step by step: discovery, registration, authorize, token, MCP call, refresh, revoke')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mcpgw;oauth;walk' {
            [CompletionResult]::new('--route', '--route', [CompletionResultType]::ParameterName, 'Route path on the gateway, e.g. /mcp/linear-v1')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'Gateway origin')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Any MCP server URL instead of a gateway route')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'Use this pre-registered client instead of DCR')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'Secret of the pre-registered client')
            [CompletionResult]::new('--client-auth', '--client-auth', [CompletionResultType]::ParameterName, 'How the pre-registered client authenticates at the token endpoint (default: basic, unless the server lists only post)')
            [CompletionResult]::new('--cimd', '--cimd', [CompletionResultType]::ParameterName, 'Use a Client ID Metadata Document URL as client_id')
            [CompletionResult]::new('--redirect-uri', '--redirect-uri', [CompletionResultType]::ParameterName, 'Redirect URI to register (default: a loopback listener on a free port, or http://127.0.0.1:8765/callback when the walk drives a local dev login itself)')
            [CompletionResult]::new('--save', '--save', [CompletionResultType]::ParameterName, 'Save the tokens to FILE (mode 0600); the revoke step is then skipped')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Reuse tokens saved with --save')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the browser')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'MCP revision to speak: auto asks server/discover (2026-07-28) first and falls back to initialize (2025-11-25) when the server does not speak 2026-07-28')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--no-browser', '--no-browser', [CompletionResultType]::ParameterName, 'Print the authorize URL instead of opening a browser')
            [CompletionResult]::new('--no-refresh', '--no-refresh', [CompletionResultType]::ParameterName, 'Skip the refresh step')
            [CompletionResult]::new('--no-revoke', '--no-revoke', [CompletionResultType]::ParameterName, 'Skip the revoke step')
            [CompletionResult]::new('--no-resource', '--no-resource', [CompletionResultType]::ParameterName, 'Leave out the RFC 8707 resource parameter')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Run the negative checks after a successful walk')
            [CompletionResult]::new('--auto-connect', '--auto-connect', [CompletionResultType]::ParameterName, 'Connect pending upstreams by itself on loopback: the consent page''s Connect links and -32042 connect URLs')
            [CompletionResult]::new('--show-secrets', '--show-secrets', [CompletionResultType]::ParameterName, 'Print full secrets instead of the first 6 characters')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON transcript instead of the step-by-step report')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'mcpgw;oauth;help' {
            [CompletionResult]::new('walk', 'walk', [CompletionResultType]::ParameterValue, 'Walk the manual PKCE flow step by step: discovery, registration, authorize, token, MCP call, refresh, revoke')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mcpgw;oauth;help;walk' {
            break
        }
        'mcpgw;oauth;help;help' {
            break
        }
        'mcpgw;upstream' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Ask an upstream MCP server what auth it needs and how to configure the gateway for it')
            [CompletionResult]::new('mock', 'mock', [CompletionResultType]::ParameterValue, 'Run a real Streamable HTTP MCP server for local labs and tests')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mcpgw;upstream;probe' {
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Scope to ask for when the server names none')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for each request')
            [CompletionResult]::new('--id', '--id', [CompletionResultType]::ParameterName, 'Upstream id for the suggested policy and route (default: from the host name)')
            [CompletionResult]::new('--oauth-policy', '--oauth-policy', [CompletionResultType]::ParameterName, 'Name of the project''s MCP OAuth policy, first in the suggested route')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'MCP revision of the first contact')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object with every step and the suggestion')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'mcpgw;upstream;mock' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on (0 for any free port)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to listen on')
            [CompletionResult]::new('--prm-at', '--prm-at', [CompletionResultType]::ParameterName, 'Where Protected Resource Metadata is served: under the path, at the root, both, or not at all')
            [CompletionResult]::new('--token-ttl', '--token-ttl', [CompletionResultType]::ParameterName, 'Access-token lifetime in seconds')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'The scope every MCP request needs (space-separated for several)')
            [CompletionResult]::new('--tool-scope', '--tool-scope', [CompletionResultType]::ParameterName, 'Calling TOOL needs SCOPE too: else 403 insufficient_scope (repeatable)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'A pre-registered client id (accepts any loopback redirect URI)')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The pre-registered client''s secret (client_secret_basic or _post); without it the client is public')
            [CompletionResult]::new('--dcr-auth-method', '--dcr-auth-method', [CompletionResultType]::ParameterName, 'DCR registers every client with this authentication method, whatever it asked for')
            [CompletionResult]::new('--prm-resource', '--prm-resource', [CompletionResultType]::ParameterName, 'Protected resource metadata names this resource instead of the mock''s MCP URL (a PRM for another resource, which clients must refuse)')
            [CompletionResult]::new('--iss', '--iss', [CompletionResultType]::ParameterName, 'RFC 9207 iss on authorization responses: exact, left out (although advertised), or with a trailing slash (the last two are for testing clients that must refuse them)')
            [CompletionResult]::new('--withhold-scope', '--withhold-scope', [CompletionResultType]::ParameterName, 'The authorization server never grants SCOPE, even when asked (repeatable)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--oauth', '--oauth', [CompletionResultType]::ParameterName, 'Protect the mock with its own OAuth 2.1 authorization server, on the same port')
            [CompletionResult]::new('--modern-only', '--modern-only', [CompletionResultType]::ParameterName, 'Serve MCP 2026-07-28 requests only: initialize and other session-era requests get HTTP 400 with -32022 (unsupported protocol version) naming 2026-07-28')
            [CompletionResult]::new('--no-resource-metadata', '--no-resource-metadata', [CompletionResultType]::ParameterName, 'Leave resource_metadata out of the 401 challenge')
            [CompletionResult]::new('--challenge-scope', '--challenge-scope', [CompletionResultType]::ParameterName, 'Put scope="…" in the 401 challenge')
            [CompletionResult]::new('--no-dcr', '--no-dcr', [CompletionResultType]::ParameterName, 'No dynamic client registration (/register answers 404)')
            [CompletionResult]::new('--cimd', '--cimd', [CompletionResultType]::ParameterName, 'Advertise and accept Client ID Metadata Documents as client ids (https; loopback http while the mock is on loopback)')
            [CompletionResult]::new('--no-refresh', '--no-refresh', [CompletionResultType]::ParameterName, 'Issue no refresh tokens')
            [CompletionResult]::new('--offline-access', '--offline-access', [CompletionResultType]::ParameterName, 'The authorization server lists offline_access in scopes_supported (the PRM does not)')
            [CompletionResult]::new('--challenge-missing-scope-only', '--challenge-missing-scope-only', [CompletionResultType]::ParameterName, 'A 403 insufficient_scope names only the missing scope, not the token''s own scopes too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'mcpgw;upstream;help' {
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Ask an upstream MCP server what auth it needs and how to configure the gateway for it')
            [CompletionResult]::new('mock', 'mock', [CompletionResultType]::ParameterValue, 'Run a real Streamable HTTP MCP server for local labs and tests')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mcpgw;upstream;help;probe' {
            break
        }
        'mcpgw;upstream;help;mock' {
            break
        }
        'mcpgw;upstream;help;help' {
            break
        }
        'mcpgw;token' {
            [CompletionResult]::new('--route', '--route', [CompletionResultType]::ParameterName, 'The route whose JWT policy the token is for (its path, e.g. /v1/todos)')
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'The JWT policy, when the route has several')
            [CompletionResult]::new('--sub', '--sub', [CompletionResultType]::ParameterName, 'The token''s subject (`sub`; PropelAuth''s `user_id` too)')
            [CompletionResult]::new('--claim', '--claim', [CompletionResultType]::ParameterName, 'An extra claim (repeatable); VALUE is JSON when it parses, else a string')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Lifetime in seconds')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where local-idp.key lives (default: <DIR>/.mcpgw, as mcpgw dev)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print {token, iss, aud, exp, policy} as JSON instead of the bare token')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'mcpgw;keys' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a consumer with a key, or a further key for an existing consumer; prints the key once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List consumers, their metadata and key ids (never the keys)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key by its id: it answers 401 Authorization Failed from the next request on')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mcpgw;keys;create' {
            [CompletionResult]::new('--metadata', '--metadata', [CompletionResultType]::ParameterName, 'The consumer''s metadata as a JSON object (request.user.data); replaces an existing consumer''s metadata')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'When the key stops working: an RFC 3339 date-time, or YYYY-MM-DD (end of that day, UTC)')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project folder')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where state.db lives (default: <DIR>/.mcpgw, as mcpgw dev)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'mcpgw;keys;list' {
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project folder')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where state.db lives (default: <DIR>/.mcpgw, as mcpgw dev)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'mcpgw;keys;revoke' {
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project folder')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where state.db lives (default: <DIR>/.mcpgw, as mcpgw dev)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'mcpgw;keys;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a consumer with a key, or a further key for an existing consumer; prints the key once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List consumers, their metadata and key ids (never the keys)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key by its id: it answers 401 Authorization Failed from the next request on')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mcpgw;keys;help;create' {
            break
        }
        'mcpgw;keys;help;list' {
            break
        }
        'mcpgw;keys;help;revoke' {
            break
        }
        'mcpgw;keys;help;help' {
            break
        }
        'mcpgw;completions' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors: auto (a terminal without NO_COLOR), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'mcpgw;help' {
            [CompletionResult]::new('dev', 'dev', [CompletionResultType]::ParameterValue, 'Run the whole gateway locally: OAuth endpoints, MCP policies, the proxy, dev-login, SQLite state')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check a project the way the gateway would at boot, plus what would fail later')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a project from a template')
            [CompletionResult]::new('oauth', 'oauth', [CompletionResultType]::ParameterValue, 'Drive and inspect the MCP OAuth flow')
            [CompletionResult]::new('upstream', 'upstream', [CompletionResultType]::ParameterValue, 'Inspect and emulate upstream MCP servers')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Mint a token from mcpgw''s local issuer for a route''s JWT policy (for dev --local-idp)')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Manage the local API keys that api-key-inbound checks under mcpgw dev')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mcpgw;help;dev' {
            break
        }
        'mcpgw;help;validate' {
            break
        }
        'mcpgw;help;init' {
            break
        }
        'mcpgw;help;oauth' {
            [CompletionResult]::new('walk', 'walk', [CompletionResultType]::ParameterValue, 'Walk the manual PKCE flow step by step: discovery, registration, authorize, token, MCP call, refresh, revoke')
            break
        }
        'mcpgw;help;oauth;walk' {
            break
        }
        'mcpgw;help;upstream' {
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Ask an upstream MCP server what auth it needs and how to configure the gateway for it')
            [CompletionResult]::new('mock', 'mock', [CompletionResultType]::ParameterValue, 'Run a real Streamable HTTP MCP server for local labs and tests')
            break
        }
        'mcpgw;help;upstream;probe' {
            break
        }
        'mcpgw;help;upstream;mock' {
            break
        }
        'mcpgw;help;token' {
            break
        }
        'mcpgw;help;keys' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a consumer with a key, or a further key for an existing consumer; prints the key once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List consumers, their metadata and key ids (never the keys)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key by its id: it answers 401 Authorization Failed from the next request on')
            break
        }
        'mcpgw;help;keys;create' {
            break
        }
        'mcpgw;help;keys;list' {
            break
        }
        'mcpgw;help;keys;revoke' {
            break
        }
        'mcpgw;help;completions' {
            break
        }
        'mcpgw;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
