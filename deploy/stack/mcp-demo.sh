# shellcheck shell=bash
# The demo upstream MCP server for the local stack (dev/demo-mcp, built on the MCP TypeScript SDK v2):
# Streamable HTTP at http://127.0.0.1:<port>/mcp with the tools list_customers and delete_customer. Sourced by
# stack.sh; standalone: `bash deploy/stack/mcp-demo.sh up|down|env`.
#
# GATEHOUSE_STACK_MCP_DEMO_PORT  port on 127.0.0.1 (default 12380)
#
# It accepts only the bearer token in .stack/secrets/mcp-demo-token: the gateway's own credential for it (clients
# never see it). Debug routes for tests: /debug/seen (Authorization headers it received), /debug/poison, /debug/reset.

# shellcheck source=deploy/stack/demo-upstream.sh
source "$(dirname "${BASH_SOURCE[0]}")/demo-upstream.sh"

mcp_demo_settings() {
  MCP_DEMO_PORT="${GATEHOUSE_STACK_MCP_DEMO_PORT:-12380}"
  validate_port GATEHOUSE_STACK_MCP_DEMO_PORT "$MCP_DEMO_PORT"
}
mcp_demo_up() { demo_upstream_up mcp-demo "$MCP_DEMO_PORT" GATEHOUSE_STACK_MCP_DEMO_PORT dev/demo-mcp/main.ts; }
mcp_demo_wait_ready() { demo_upstream_wait_ready mcp-demo "$MCP_DEMO_PORT"; }
mcp_demo_down() { demo_upstream_down mcp-demo; }

mcp_demo_env() { # the .stack/env lines (env_line is stack.sh's)
  env_line MCP_TARGET_URL "http://$BIND_HOST:$MCP_DEMO_PORT/mcp"
  env_line MCP_TARGET_TOKEN_FILE "$(demo_upstream_token_file mcp-demo)"
  env_line MCP_TARGET_DEBUG_URL "http://$BIND_HOST:$MCP_DEMO_PORT"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=deploy/stack/lib.sh
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
  env_line() { printf '%s=%s\n' "$1" "$2"; }
  demo_upstream_main mcp-demo "${1:-}"
fi
