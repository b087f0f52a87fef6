# shellcheck shell=bash
# The demo upstream HTTP API for the local stack (dev/demo-http, plain node:http): GET /customers (JSON with
# e-mail addresses and card numbers), DELETE /customers/{id}, POST /upload, GET /large, /slow, /fail. Sourced by
# stack.sh; standalone: `bash deploy/stack/http-demo.sh up|down|env`.
#
# GATEHOUSE_STACK_HTTP_DEMO_PORT  port on 127.0.0.1 (default 12390)
#
# It accepts only the bearer token in .stack/secrets/http-demo-token: the gateway's own credential for it (clients
# never see it). Debug routes for tests: /debug/seen (requests with the Authorization header they carried),
# /debug/reset, /healthz.

http_demo_settings() {
  HTTP_DEMO_PIDFILE="$RUN_DIR/http-demo.pid"
  HTTP_DEMO_LOG="$LOG_DIR/http-demo.log"
  HTTP_DEMO_TOKEN_FILE="$SECRETS_DIR/http-demo-token"
  HTTP_DEMO_PORT="${GATEHOUSE_STACK_HTTP_DEMO_PORT:-12390}"
  validate_port GATEHOUSE_STACK_HTTP_DEMO_PORT "$HTTP_DEMO_PORT"
}

http_demo_healthy() { curl -fsS -o /dev/null --max-time 2 "http://$BIND_HOST:$HTTP_DEMO_PORT/healthz"; }

http_demo_up() {
  local pid
  pid=$(read_pid "$HTTP_DEMO_PIDFILE")
  if [[ -n $pid ]] && pid_matches "$pid" "$HTTP_DEMO_TOKEN_FILE"; then
    http_demo_healthy && return 0
    log "http-demo: pid $pid does not answer on port $HTTP_DEMO_PORT; restarting it"
    http_demo_down
  fi
  ensure_port_free "$HTTP_DEMO_PORT" GATEHOUSE_STACK_HTTP_DEMO_PORT http-demo
  if [[ ! -s $HTTP_DEMO_TOKEN_FILE ]]; then
    (umask 077 && random_hex 32 >"$HTTP_DEMO_TOKEN_FILE")
  fi
  chmod 600 "$HTTP_DEMO_TOKEN_FILE"
  log "http-demo: starting (port $HTTP_DEMO_PORT)"
  start_detached "$HTTP_DEMO_PIDFILE" "$HTTP_DEMO_LOG" env -C "$PROJECT_ROOT" node --import tsx \
    dev/demo-http/main.ts --host "$BIND_HOST" --port "$HTTP_DEMO_PORT" --token-file "$HTTP_DEMO_TOKEN_FILE"
}

http_demo_wait_ready() {
  local rc=0
  wait_until "$START_TIMEOUT" "$(read_pid "$HTTP_DEMO_PIDFILE")" http_demo_healthy || rc=$?
  ((rc == 0)) || fail_with_logs "http-demo $( ((rc == 2)) && echo exited || echo "did not answer within ${START_TIMEOUT} s")" "$HTTP_DEMO_LOG"
}

http_demo_down() {
  local pid
  pid=$(read_pid "$HTTP_DEMO_PIDFILE")
  if [[ -n $pid ]] && pid_matches "$pid" "$HTTP_DEMO_TOKEN_FILE"; then
    log "http-demo: stopping (pid $pid)"
    stop_pids "$STOP_TIMEOUT" "$pid"
  fi
  rm -f "$HTTP_DEMO_PIDFILE"
}

http_demo_env() { # the .stack/env lines (env_line is stack.sh's)
  env_line HTTP_TARGET_URL "http://$BIND_HOST:$HTTP_DEMO_PORT"
  env_line HTTP_TARGET_TOKEN_FILE "$HTTP_DEMO_TOKEN_FILE"
  env_line HTTP_TARGET_DEBUG_URL "http://$BIND_HOST:$HTTP_DEMO_PORT"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=deploy/stack/lib.sh
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
  env_line() { printf '%s=%s\n' "$1" "$2"; }
  ensure_dirs
  http_demo_settings
  case ${1:-} in
    up) http_demo_up && http_demo_wait_ready && log "http-demo: ready at http://$BIND_HOST:$HTTP_DEMO_PORT" ;;
    down) http_demo_down ;;
    env) http_demo_env ;;
    *) die "usage: $0 up|down|env" ;;
  esac
fi
