#!/usr/bin/env bash
# Benchmark: `mcpgw validate --format json` on a generated project with 1,000 MCP routes and
# 1,000 policies (issue: foundation). Prints the median wall time of RUNS runs.
# Usage: scripts/bench-validate.sh [RUNS]   (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-21}
cargo build --release --quiet
bin=target/release/mcpgw
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

python3 - "$dir" <<'PY'
import json, os, sys
root = sys.argv[1]
os.makedirs(f"{root}/config"); os.makedirs(f"{root}/modules")
open(f"{root}/zuplo.jsonc", "w").write('{ "version": 1, "compatibilityDate": "2026-03-01" }\n')
open(f"{root}/modules/zuplo.runtime.ts", "w").write(
    'import { McpGatewayPlugin } from "@zuplo/runtime/mcp-gateway";\n'
    'export function runtimeInit(runtime) { runtime.addPlugin(new McpGatewayPlugin()); }\n')
policies = [{
    "name": "dev-oauth", "policyType": "mcp-oauth-inbound",
    "handler": {"export": "McpOAuthInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)",
                "options": {"oidc": {"issuer": "http://127.0.0.1:9000/__zuplo/dev-idp",
                                     "jwksUrl": "http://127.0.0.1:9000/__zuplo/dev-idp/jwks"},
                            "browserLogin": {"url": "http://127.0.0.1:9000/__zuplo/oauth/dev-login"}}}}]
paths = {}
for i in range(1000):
    kind = i % 2
    if kind == 0:
        name = f"mcp-token-exchange-up{i}"
        policies.append({"name": name, "policyType": "mcp-token-exchange-inbound",
            "handler": {"export": "McpTokenExchangeInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)",
                        "options": {"displayName": f"Upstream {i}", "authMode": "user-oauth", "scopes": ["read", "write"]}}})
    else:
        name = f"filter-{i}"
        policies.append({"name": name, "policyType": "mcp-capability-filter-inbound",
            "handler": {"export": "McpCapabilityFilterInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)",
                        "options": {"tools": ["echo", {"name": "add", "description": "adds"}]}}})
    paths[f"/mcp/up{i}-v1"] = {"get,post": {"operationId": f"up{i}-mcp-server", "x-zuplo-route": {
        "corsPolicy": "none",
        "handler": {"export": "McpProxyHandler", "module": "$import(@zuplo/runtime/mcp-gateway)",
                    "options": {"rewritePattern": f"https://up{i}.example.com/mcp"}},
        "policies": {"inbound": ["dev-oauth", name]}}}}
json.dump({"policies": policies}, open(f"{root}/config/policies.json", "w"), indent=2)
json.dump({"openapi": "3.1.0", "info": {"title": "bench", "version": "1"}, "paths": paths},
          open(f"{root}/config/routes.oas.json", "w"), indent=2)
PY

"$bin" validate --format json "$dir" > "$dir.out" || true
echo "project: 1000 MCP routes, 1001 policies ($(du -sh "$dir/config" | cut -f1) of config)"
echo "findings: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"])' "$dir.out")"
rm -f "$dir.out"

times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$bin" validate --format json "$dir" > /dev/null || true
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median=${sorted[$(( runs / 2 ))]}
printf 'mcpgw validate --format json: median %d.%03d ms over %d runs (min %d.%03d ms, max %d.%03d ms)\n' \
  $((median / 1000)) $((median % 1000)) "$runs" \
  $((sorted[0] / 1000)) $((sorted[0] % 1000)) $((sorted[-1] / 1000)) $((sorted[-1] % 1000))
