#!/usr/bin/env bash
# The proxy path beside nginx and haproxy on this machine (issue #17): the same tools/list POST
# to `mcpgw upstream mock` directly, through nginx (1 worker, upstream keepalive, access log
# on), through haproxy (1 thread, http-reuse always) and through `mcpgw dev` (a bare
# McpProxyHandler route, and the same route behind the MCP OAuth policy with a valid token),
# in alternating rounds with hey. Prints throughput ratios (to direct and to the best peer),
# the mean round trip at 1 connection, and mcpgw's RSS idle and after the load.
#
# Installs nginx, haproxy and hey with apt-get when they are missing (root). Everything binds
# 127.0.0.1. Options (env): ROUNDS (3), REQUESTS (20000), CONNECTIONS (16), LAT_REQUESTS (3000),
# MCPGW_BIN (default: cargo build --release, then target/release/mcpgw).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}" REQUESTS="${REQUESTS:-20000}" CONNECTIONS="${CONNECTIONS:-16}"
LAT_REQUESTS="${LAT_REQUESTS:-3000}"

need=()
for tool in nginx haproxy hey; do command -v "$tool" >/dev/null || need+=("$tool"); done
if ((${#need[@]})); then
  echo "installing ${need[*]} (apt-get)" >&2
  pkgs=(); for t in "${need[@]}"; do [ "$t" = nginx ] && pkgs+=(nginx-light) || pkgs+=("$t"); done
  apt-get update -qq && apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

if [ -z "${MCPGW_BIN:-}" ]; then
  cargo build --release --quiet
  MCPGW_BIN="${CARGO_TARGET_DIR:-target}/release/mcpgw"
fi

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "nothing listens on $1" >&2; return 1; }

# the mock upstream
"$MCPGW_BIN" upstream mock --port 0 >"$work/mock.out" 2>/dev/null & pids+=($!)
for _ in $(seq 100); do grep -q READY "$work/mock.out" && break; sleep 0.05; done
mock_port="$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/mock.out")"

# nginx: one worker, keepalive to the upstream, access log on
nginx_port="$(free_port)"
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx;
  upstream mock { server 127.0.0.1:$mock_port; keepalive 32; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' & pids+=($!)

# haproxy: one thread, connection reuse
haproxy_port="$(free_port)"
cat >"$work/haproxy.cfg" <<CONF
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend f
  bind 127.0.0.1:$haproxy_port
  default_backend b
backend b
  server mock 127.0.0.1:$mock_port
CONF
haproxy -f "$work/haproxy.cfg" & pids+=($!)

# mcpgw dev: a bare proxy route and the same route behind the MCP OAuth policy (dev-login)
gw_port="$(free_port)"
proj="$work/project"
mkdir -p "$proj/config" "$proj/modules"
echo '{"version":1,"compatibilityDate":"2026-03-01"}' >"$proj/zuplo.jsonc"
cat >"$proj/modules/zuplo.runtime.ts" <<'TS'
import { McpGatewayPlugin } from "@zuplo/runtime/mcp-gateway";
export function runtimeInit(runtime) {
  runtime.addPlugin(new McpGatewayPlugin());
}
TS
route() { echo "{\"get,post\":{\"operationId\":\"$1\",\"x-zuplo-route\":{\"corsPolicy\":\"none\",\"handler\":{\"export\":\"McpProxyHandler\",\"module\":\"\$import(@zuplo/runtime/mcp-gateway)\",\"options\":{\"rewritePattern\":\"http://127.0.0.1:$mock_port/mcp\"}},\"policies\":{\"inbound\":[$2]}}}}"; }
echo "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"peers\",\"version\":\"1\"},\"paths\":{\"/mcp/bare-v1\":$(route bare ''),\"/mcp/oauth-v1\":$(route oauth '"dev-oauth"')}}" >"$proj/config/routes.oas.json"
cat >"$proj/config/policies.json" <<JSON
{"policies":[{"name":"dev-oauth","policyType":"mcp-oauth-inbound","handler":{"export":"McpOAuthInboundPolicy","module":"\$import(@zuplo/runtime/mcp-gateway)","options":{
  "oidc":{"issuer":"http://127.0.0.1:$gw_port/__zuplo/dev-idp","jwksUrl":"http://127.0.0.1:$gw_port/__zuplo/dev-idp/jwks"},
  "browserLogin":{"url":"http://127.0.0.1:$gw_port/__zuplo/oauth/dev-login"}}}}]}
JSON
MCPGW_LOG=warn "$MCPGW_BIN" dev "$proj" --port "$gw_port" --auto-consent >"$work/dev.log" 2>&1 & gw_pid=$!; pids+=($gw_pid)
wait_port "$mock_port"; wait_port "$nginx_port"; wait_port "$haproxy_port"; wait_port "$gw_port"
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$gw_pid/status"; }
rss_idle="$(rss)"

# a valid access token for the OAuth route, through the whole flow (DCR, PKCE, dev-login)
NO_COLOR=1 "$MCPGW_BIN" oauth walk --gateway "http://127.0.0.1:$gw_port" --route /mcp/oauth-v1 \
  --no-refresh --no-revoke --save "$work/tokens.json" >"$work/walk.log" 2>&1
token="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("access_token") or d["tokens"]["access_token"])' "$work/tokens.json")"

body='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
declare -A url=(
  [direct]="http://127.0.0.1:$mock_port/mcp"
  [nginx]="http://127.0.0.1:$nginx_port/mcp"
  [haproxy]="http://127.0.0.1:$haproxy_port/mcp"
  [mcpgw]="http://127.0.0.1:$gw_port/mcp/bare-v1"
  [mcpgw_oauth]="http://127.0.0.1:$gw_port/mcp/oauth-v1"
)
order=(direct nginx haproxy mcpgw mcpgw_oauth)
hey_run() { # target, connections, requests, extra hey flags...
  local t="$1" c="$2" n="$3"; shift 3
  local auth=()
  [ "$t" = mcpgw_oauth ] && auth=(-H "Authorization: Bearer $token")
  hey -n "$n" -c "$c" -m POST -T application/json -A 'application/json, text/event-stream' \
    "${auth[@]}" "$@" -d "$body" "${url[$t]}"
}
# "req/s mean_ms": throughput from hey's summary, the mean round trip from its per-request CSV
# (the summary rounds to 0.1 ms)
load() {
  if [ "$2" = 1 ]; then
    hey_run "$1" 1 "$3" -o csv | awk -F, 'NR > 1 && $1 ~ /^[0-9.]+$/ {s += $1; n++} END {printf "0 %.3f", s / n * 1000}'
  else
    hey_run "$1" "$2" "$3" | awk '/Requests\/sec/ {printf "%s 0", $2}'
  fi
}
declare -A rps lat
for t in "${order[@]}"; do rps[$t]=0; lat[$t]=0; done
for r in $(seq "$ROUNDS"); do
  for t in "${order[@]}"; do
    read -r a _ <<<"$(load "$t" "$CONNECTIONS" "$REQUESTS")"; rps[$t]="$(echo "${rps[$t]} + $a" | bc -l)"
    read -r _ m <<<"$(load "$t" 1 "$LAT_REQUESTS")"; lat[$t]="$(echo "${lat[$t]} + $m" | bc -l)"
  done
  echo "round $r of $ROUNDS done" >&2
done
rss_after="$(rss)"

printf '%s, %s cores; %s connections x %s requests and 1 connection x %s, %s alternating rounds\n' \
  "$(uname -sr)" "$(nproc)" "$CONNECTIONS" "$REQUESTS" "$LAT_REQUESTS" "$ROUNDS"
best_peer="$(echo "if (${rps[nginx]} > ${rps[haproxy]}) ${rps[nginx]} else ${rps[haproxy]}" | bc -l)"
printf '%-26s %10s %9s %12s %12s %12s\n' path 'req/s' 'vs direct' 'vs best peer' 'mean (1 c)' 'added'
for t in "${order[@]}"; do
  mean_rps="$(echo "${rps[$t]} / $ROUNDS" | bc -l)"; mean_lat="$(echo "${lat[$t]} / $ROUNDS" | bc -l)"
  printf '%-26s %10.0f %9.2f %12.2f %9.3f ms %+9.3f ms\n' "$t" "$mean_rps" \
    "$(echo "${rps[$t]} / ${rps[direct]}" | bc -l)" "$(echo "${rps[$t]} / $best_peer" | bc -l)" \
    "$mean_lat" "$(echo "($mean_lat - ${lat[direct]} / $ROUNDS)" | bc -l)"
done
printf 'OAuth route / bare route: %.2f (target >= 0.95)\n' "$(echo "${rps[mcpgw_oauth]} / ${rps[mcpgw]}" | bc -l)"
printf 'mcpgw dev RSS: %s idle, %s after the load (targets <= 20 MB, <= 40 MB)\n' "$rss_idle" "$rss_after"
