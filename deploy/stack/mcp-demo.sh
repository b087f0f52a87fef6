# shellcheck shell=bash
# The demo upstream MCP server for the local stack (dev/demo-mcp, built on the MCP TypeScript SDK v2):
# Streamable HTTP at http://127.0.0.1:<port>/mcp with the tools list_customers and delete_customer. Sourced by
# stack.sh; standalone: `bash deploy/stack/mcp-demo.sh up|down|env`.
#
# GATEHOUSE_STACK_MCP_DEMO_PORT  port on 127.0.0.1 (default 12380)
#
# It accepts only the bearer token in .stack/secrets/mcp-demo-token: the gateway's own credential for it (clients
# never see it). Debug routes for tests: /debug/seen (Authorization headers it received), /debug/poison, /debug/reset.

mcp_demo_settings() {
  MCP_DEMO_PIDFILE="$RUN_DIR/mcp-demo.pid"
  MCP_DEMO_LOG="$LOG_DIR/mcp-demo.log"
  MCP_DEMO_TOKEN_FILE="$SECRETS_DIR/mcp-demo-token"
  MCP_DEMO_PORT="${GATEHOUSE_STACK_MCP_DEMO_PORT:-12380}"
  validate_port GATEHOUSE_STACK_MCP_DEMO_PORT "$MCP_DEMO_PORT"
}

mcp_demo_healthy() { curl -fsS -o /dev/null --max-time 2 "http://$BIND_HOST:$MCP_DEMO_PORT/healthz"; }

mcp_demo_up() {
  local pid
  pid=$(read_pid "$MCP_DEMO_PIDFILE")
  if [[ -n $pid ]] && pid_matches "$pid" "$MCP_DEMO_TOKEN_FILE"; then
    mcp_demo_healthy && return 0
    log "mcp-demo: pid $pid does not answer on port $MCP_DEMO_PORT; restarting it"
    mcp_demo_down
  fi
  ensure_port_free "$MCP_DEMO_PORT" GATEHOUSE_STACK_MCP_DEMO_PORT mcp-demo
  if [[ ! -s $MCP_DEMO_TOKEN_FILE ]]; then
    (umask 077 && random_hex 32 >"$MCP_DEMO_TOKEN_FILE")
  fi
  chmod 600 "$MCP_DEMO_TOKEN_FILE"
  log "mcp-demo: starting (port $MCP_DEMO_PORT)"
  start_detached "$MCP_DEMO_PIDFILE" "$MCP_DEMO_LOG" env -C "$PROJECT_ROOT" node --import tsx \
    dev/demo-mcp/main.ts --host "$BIND_HOST" --port "$MCP_DEMO_PORT" --token-file "$MCP_DEMO_TOKEN_FILE"
}

mcp_demo_wait_ready() {
  local rc=0
  wait_until "$START_TIMEOUT" "$(read_pid "$MCP_DEMO_PIDFILE")" mcp_demo_healthy || rc=$?
  ((rc == 0)) || fail_with_logs "mcp-demo $( ((rc == 2)) && echo exited || echo "did not answer within ${START_TIMEOUT} s")" "$MCP_DEMO_LOG"
}

mcp_demo_down() {
  local pid
  pid=$(read_pid "$MCP_DEMO_PIDFILE")
  if [[ -n $pid ]] && pid_matches "$pid" "$MCP_DEMO_TOKEN_FILE"; then
    log "mcp-demo: stopping (pid $pid)"
    stop_pids "$STOP_TIMEOUT" "$pid"
  fi
  rm -f "$MCP_DEMO_PIDFILE"
}

mcp_demo_env() { # the .stack/env lines (env_line is stack.sh's)
  env_line MCP_TARGET_URL "http://$BIND_HOST:$MCP_DEMO_PORT/mcp"
  env_line MCP_TARGET_TOKEN_FILE "$MCP_DEMO_TOKEN_FILE"
  env_line MCP_TARGET_DEBUG_URL "http://$BIND_HOST:$MCP_DEMO_PORT"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=deploy/stack/lib.sh
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
  env_line() { printf '%s=%s\n' "$1" "$2"; }
  ensure_dirs
  mcp_demo_settings
  case ${1:-} in
    up) mcp_demo_up && mcp_demo_wait_ready && log "mcp-demo: ready at http://$BIND_HOST:$MCP_DEMO_PORT/mcp" ;;
    down) mcp_demo_down ;;
    env) mcp_demo_env ;;
    *) die "usage: $0 up|down|env" ;;
  esac
fi
