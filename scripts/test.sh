#!/usr/bin/env bash
# The test command: installs the pinned interop peers from ../shared/interop (once; cached
# outside the clone), then runs every test. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
interop_src=../shared/interop
interop_dir="${MCPGW_INTEROP_DIR:-$HOME/.cache/mcpgw-interop}"
if [ -f "$interop_src/install.sh" ]; then
  # includes the MCP Inspector on Node 22 (~300 MB, tests/inspector.rs); INTEROP_SKIP_NODE22=1
  # leaves it out and that test then says SKIP
  bash "$interop_src/install.sh" "$interop_dir"
  export MCPGW_INTEROP_DIR="$interop_dir"
else
  echo "note: $interop_src not found: the interop tests will print SKIP"
fi
cargo test --locked --lib --bins --tests "$@"
