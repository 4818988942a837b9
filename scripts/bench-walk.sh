#!/usr/bin/env bash
# Benchmark: a full `mcpgw oauth walk` (probe → PRM → AS metadata → DCR → PKCE → the driven
# dev-login browser leg → token → initialize + tools/list → refresh → revoke: 15 requests)
# against a local `mcpgw dev` serving a copy of the quickstart project. Target: < 0.5 s.
# Prints the median and the slowest wall time of RUNS walks.
# Usage: scripts/bench-walk.sh [RUNS]     PROFILE=debug uses target/debug (no release build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-21}
profile=${PROFILE:-release}
if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
bin=$PWD/target/$profile/mcpgw
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gw_port=$(free_port); mock_port=$(free_port)
cp -r templates/projects/quickstart "$dir/project"
sed -i "s#http://127.0.0.1:9001/mcp#http://127.0.0.1:$mock_port/mcp#" "$dir/project/config/routes.oas.json"
"$bin" dev "$dir/project" --port "$gw_port" --with-mock "127.0.0.1:$mock_port" >"$dir/dev.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$gw_port/.well-known/oauth-protected-resource/mcp/mock-v1" && break
  sleep 0.1
done

times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$bin" --color never oauth walk --route /mcp/mock-v1 --gateway "http://127.0.0.1:$gw_port" --json >"$dir/out.json"
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median=${sorted[$(( runs / 2 ))]}
max=${sorted[$(( runs - 1 ))]}
requests=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print(sum(len(s["exchanges"]) for s in t["steps"]))' "$dir/out.json")
echo "oauth walk ($profile, $requests requests, $runs runs): median ${median} ms, slowest ${max} ms (target < 500 ms)"
[ "$median" -lt 500 ]
