# shellcheck shell=bash
# A demo upstream of the local stack (dev/demo-*: the MCP server, the HTTP API): one Node process on
# $BIND_HOST:<port> that accepts only the bearer token in .stack/secrets/<name>-token (the gateway's own credential
# for it) and answers /healthz. mcp-demo.sh and http-demo.sh name theirs; these functions do the rest.
# Each takes the demo's name (its pid, log and token files are named after it) and port.

demo_upstream_token_file() { echo "$SECRETS_DIR/$1-token"; } # <name>

demo_upstream_healthy() { curl -fsS -o /dev/null --max-time 2 "http://$BIND_HOST:$1/healthz"; } # <port>

demo_upstream_up() { # <name> <port> <port setting> <entry .ts under the project>
  local name=$1 port=$2 setting=$3 entry=$4 pid token
  token=$(demo_upstream_token_file "$name")
  pid=$(read_pid "$RUN_DIR/$name.pid")
  if [[ -n $pid ]] && pid_matches "$pid" "$token"; then
    demo_upstream_healthy "$port" && return 0
    log "$name: pid $pid does not answer on port $port; restarting it"
    demo_upstream_down "$name"
  fi
  ensure_port_free "$port" "$setting" "$name"
  [[ -s $token ]] || (umask 077 && random_hex 32 >"$token")
  chmod 600 "$token"
  log "$name: starting (port $port)"
  start_detached "$RUN_DIR/$name.pid" "$LOG_DIR/$name.log" env -C "$PROJECT_ROOT" node --import tsx \
    "$entry" --host "$BIND_HOST" --port "$port" --token-file "$token"
}

demo_upstream_wait_ready() { # <name> <port>
  local rc=0
  wait_until "$START_TIMEOUT" "$(read_pid "$RUN_DIR/$1.pid")" demo_upstream_healthy "$2" || rc=$?
  ((rc == 0)) || fail_with_logs "$1 $( ((rc == 2)) && echo exited || echo "did not answer within ${START_TIMEOUT} s")" "$LOG_DIR/$1.log"
}

demo_upstream_down() { # <name>
  local pid
  pid=$(read_pid "$RUN_DIR/$1.pid")
  if [[ -n $pid ]] && pid_matches "$pid" "$(demo_upstream_token_file "$1")"; then
    log "$1: stopping (pid $pid)"
    stop_pids "$STOP_TIMEOUT" "$pid"
  fi
  rm -f "$RUN_DIR/$1.pid"
}

demo_upstream_main() { # <name> <up|down|env>: the standalone command line of a demo script
  ensure_dirs
  "${1//-/_}_settings"
  case ${2:-} in
    up) "${1//-/_}_up" && "${1//-/_}_wait_ready" && log "$1: ready" ;;
    down) "${1//-/_}_down" ;;
    env) "${1//-/_}_env" ;;
    *) die "usage: $1.sh up|down|env" ;;
  esac
}
