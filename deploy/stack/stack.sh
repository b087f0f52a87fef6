#!/usr/bin/env bash
# Local stack of real services as plain processes on 127.0.0.1: Kafka (KRaft), ClickHouse,
# PostgreSQL 15, OpenSSH sshd, plus the OPA compiler. No Docker. See deploy/stack/README.md.
#
#   stack.sh up               install what is missing, start what is not running, wait, write .stack/env
#   stack.sh down             stop everything (SIGTERM, SIGKILL after a timeout) and verify
#   stack.sh status           one line per service: pid, port, up/down
#   stack.sh env              print .stack/env
#   stack.sh kafka-kill N     kill -9 Kafka node N (a crash)
#   stack.sh kafka-stop N     stop Kafka node N gracefully
#   stack.sh kafka-start N    start Kafka node N and wait until it is registered
#   stack.sh kafka-stop-all   stop every Kafka node (SIGTERM, then SIGKILL)
#   stack.sh kafka-start-all  start every Kafka node and wait for the cluster
#   stack.sh kafka-tool CLASS [ARGS...]   run a Kafka CLI class, e.g. org.apache.kafka.tools.TopicCommand
#   stack.sh clean            down, then delete all state except downloaded jars and binaries
set -euo pipefail

# shellcheck source=deploy/stack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/stack/install.sh
source "$STACK_SCRIPT_DIR/install.sh"
# shellcheck source=deploy/stack/kafka.sh
source "$STACK_SCRIPT_DIR/kafka.sh"
# shellcheck source=deploy/stack/kafka-auth.sh
source "$STACK_SCRIPT_DIR/kafka-auth.sh"
# shellcheck source=deploy/stack/clickhouse.sh
source "$STACK_SCRIPT_DIR/clickhouse.sh"
# shellcheck source=deploy/stack/postgres.sh
source "$STACK_SCRIPT_DIR/postgres.sh"
# shellcheck source=deploy/stack/sshd.sh
source "$STACK_SCRIPT_DIR/sshd.sh"
# shellcheck source=deploy/stack/opa.sh
source "$STACK_SCRIPT_DIR/opa.sh"
# shellcheck source=deploy/stack/mcp-demo.sh
source "$STACK_SCRIPT_DIR/mcp-demo.sh"
# shellcheck source=deploy/stack/http-demo.sh
source "$STACK_SCRIPT_DIR/http-demo.sh"

SETTINGS_FILE="$STACK_DIR/settings"
SETTING_NAMES=(
  GATEHOUSE_STACK_KAFKA_BROKERS GATEHOUSE_STACK_KAFKA_PORT GATEHOUSE_STACK_KAFKA_CONTROLLER_PORT
  GATEHOUSE_STACK_CLICKHOUSE_HTTP_PORT GATEHOUSE_STACK_CLICKHOUSE_TCP_PORT
  GATEHOUSE_STACK_PG_PORT GATEHOUSE_STACK_SSH_PORT GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT
)

settings_from_env() {
  kafka_settings_from_env
  clickhouse_settings
  postgres_settings
  sshd_settings
  mcp_demo_settings
  http_demo_settings
}

settings_save() {
  {
    printf 'GATEHOUSE_STACK_KAFKA_BROKERS=%s\nGATEHOUSE_STACK_KAFKA_PORT=%s\n' "$KAFKA_N" "$KAFKA_PORT"
    printf 'GATEHOUSE_STACK_KAFKA_CONTROLLER_PORT=%s\n' "$KAFKA_CPORT"
    printf 'GATEHOUSE_STACK_CLICKHOUSE_HTTP_PORT=%s\nGATEHOUSE_STACK_CLICKHOUSE_TCP_PORT=%s\n' "$CH_HTTP_PORT" "$CH_TCP_PORT"
    printf 'GATEHOUSE_STACK_PG_PORT=%s\nGATEHOUSE_STACK_SSH_PORT=%s\n' "$PG_PORT" "$SSH_PORT"
    printf 'GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT=%s\n' "${GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT:-}"
  } >"$SETTINGS_FILE"
}

# Commands other than `up` act on what the last `up` started, whatever the environment says.
settings_from_state() {
  local line name value
  if [[ -f $SETTINGS_FILE ]]; then
    while IFS='=' read -r name value; do
      for line in "${SETTING_NAMES[@]}"; do
        [[ $name == "$line" ]] && printf -v "$name" '%s' "$value"
      done
    done <"$SETTINGS_FILE"
  fi
  settings_from_env
}

env_line() { # env_line <key> <value>; shell-sourceable, quoted only when needed
  if [[ $2 =~ ^[A-Za-z0-9_./:,@%+=-]*$ ]]; then
    printf '%s=%s\n' "$1" "$2"
  else
    printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}"
  fi
}

write_env() {
  local tmp="$ENV_FILE.tmp"
  {
    echo "# Written by deploy/stack/stack.sh up at $(date -u +%FT%TZ). Load with: set -a; . $ENV_FILE; set +a"
    env_line GATEHOUSE_STACK_DIR "$STACK_DIR"
    env_line GATEHOUSE_STACK_SCRIPT "$STACK_SCRIPT"
    env_line GATEHOUSE_STACK_RUN_DIR "$RUN_DIR"
    env_line GATEHOUSE_STACK_LOG_DIR "$LOG_DIR"
    env_line GATEHOUSE_KAFKA_BROKERS "$(kafka_bootstrap)"
    env_line GATEHOUSE_KAFKA_BROKER_COUNT "$KAFKA_N"
    env_line GATEHOUSE_KAFKA_PID_FILES "$(kafka_pidfiles)"
    env_line GATEHOUSE_KAFKA_LIBS "$KAFKA_LIBS"
    env_line GATEHOUSE_KAFKA_CA_FILE "$KAFKA_CA_PEM"
    env_line GATEHOUSE_KAFKA_BENCH_PLAINTEXT_BROKERS "$(kafka_bench_bootstrap)"
    env_line GATEHOUSE_KAFKA_SASL_MECHANISM scram-sha-512
    env_line GATEHOUSE_KAFKA_ADMIN_CLIENT_PROPERTIES "$KAFKA_ADMIN_PROPS"
    local u U
    for u in admin gateway recorder approval; do
      U=${u^^}
      env_line "GATEHOUSE_KAFKA_${U}_USER" "$u"
      env_line "GATEHOUSE_KAFKA_${U}_PASSWORD_FILE" "$(kafka_password_file "$u")"
    done
    env_line GATEHOUSE_CLICKHOUSE_URL "http://$BIND_HOST:$CH_HTTP_PORT"
    env_line GATEHOUSE_CLICKHOUSE_USER default
    env_line GATEHOUSE_CLICKHOUSE_PASSWORD_FILE "$(clickhouse_password_file default)"
    env_line GATEHOUSE_CLICKHOUSE_DDL_USER gatehouse_ddl
    env_line GATEHOUSE_CLICKHOUSE_DDL_PASSWORD_FILE "$(clickhouse_password_file gatehouse_ddl)"
    env_line GATEHOUSE_CLICKHOUSE_RECORDER_USER gatehouse_recorder
    env_line GATEHOUSE_CLICKHOUSE_RECORDER_PASSWORD_FILE "$(clickhouse_password_file gatehouse_recorder)"
    env_line GATEHOUSE_CLICKHOUSE_SOC_USER soc
    env_line GATEHOUSE_CLICKHOUSE_SOC_PASSWORD_FILE "$(clickhouse_password_file soc)"
    env_line GATEHOUSE_CLICKHOUSE_NATIVE_PORT "$CH_TCP_PORT"
    env_line GATEHOUSE_CLICKHOUSE_PID_FILE "$CH_PIDFILE"
    env_line PG_TARGET_URL "postgres://$PG_ROLE@$BIND_HOST:$PG_PORT/demo"
    env_line PG_TARGET_HOST "$BIND_HOST"
    env_line PG_TARGET_PORT "$PG_PORT"
    env_line PG_TARGET_USER "$PG_ROLE"
    env_line PG_TARGET_DATABASE demo
    env_line PG_TARGET_PGBENCH_DATABASE pgbench
    env_line PG_TARGET_PASSWORD_FILE "$PG_PASSWORD_FILE"
    env_line PG_BIN_DIR "$PG_BIN"
    env_line SSH_TARGET_HOST "$BIND_HOST"
    env_line SSH_TARGET_PORT "$SSH_PORT"
    env_line SSH_TARGET_USER "$SSH_DEMO_USER"
    env_line SSH_TARGET_KEY_FILE "$SSH_DEMO_KEY"
    env_line SSH_TARGET_HOST_KEY_FILE "$SSH_HOST_PUB"
    env_line OPA_BIN "$OPA_BIN"
    env_line CHROMIUM_BIN "$(chromium_bin)"
    mcp_demo_env
    http_demo_env
  } >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$ENV_FILE"
}

timed() { # timed <label> <function>...; runs it and logs how long it took
  local label=$1 t0=$SECONDS
  shift
  "$@"
  log "$label: $((SECONDS - t0)) s"
}

cmd_up() {
  require_root
  take_lock
  ensure_dirs
  settings_from_env
  local t0=$SECONDS
  timed "install: Debian packages" install_debs
  kafka_require_java
  timed "install: Kafka jars" kafka_ensure_libs
  timed "install: OPA" opa_ensure
  settings_save
  timed "start: Kafka nodes launched" kafka_up
  timed "start: ClickHouse launched" clickhouse_up
  timed "start: PostgreSQL" postgres_up
  timed "start: sshd launched" sshd_up
  timed "ready: ClickHouse" clickhouse_wait_ready
  timed "ready: PostgreSQL provisioned" postgres_provision
  timed "ready: sshd" sshd_wait_ready
  timed "start: mcp-demo launched" mcp_demo_up
  timed "ready: mcp-demo" mcp_demo_wait_ready
  timed "start: http-demo launched" http_demo_up
  timed "ready: http-demo" http_demo_wait_ready
  timed "ready: Kafka ($KAFKA_N nodes registered)" kafka_wait_ready "${KAFKA_NODES[@]}"
  timed "ready: Kafka ACLs" kafka_apply_acls
  write_env
  log "stack is up in $((SECONDS - t0)) s; environment in $ENV_FILE"
}

# Processes of ours that survived their service's stop: our binaries whose command line names
# the state dir, or whose working directory is inside it (PostgreSQL's backends).
leftover_pids() {
  local d pid comm cmd cwd
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    { comm=$(<"$d/comm"); } 2>/dev/null || continue
    case $comm in
      java | clickhouse* | postgres | sshd | sshd-session | pgbouncer) ;;
      *) continue ;;
    esac
    { cmd=$(tr '\0' ' ' <"$d/cmdline"); } 2>/dev/null || continue
    cwd=$(readlink "$d/cwd" 2>/dev/null) || cwd=''
    if [[ $cmd == *"$STACK_DIR/"* || $cwd == "$STACK_DIR" || $cwd == "$STACK_DIR/"* ]]; then
      echo "$pid"
    fi
  done
}

cmd_down() {
  require_root
  take_lock
  settings_from_state
  local t0=$SECONDS
  kafka_stop_every_node
  clickhouse_down
  postgres_down
  sshd_down
  mcp_demo_down
  http_demo_down
  local left
  mapfile -t left < <(leftover_pids)
  if ((${#left[@]})); then
    warn "killing leftover processes: ${left[*]}"
    stop_pids 5 "${left[@]}"
    mapfile -t left < <(leftover_pids)
    ((${#left[@]} == 0)) || die "processes still running after down: ${left[*]}"
  fi
  log "stack is down ($((SECONDS - t0)) s)"
}

cmd_status() {
  settings_from_state
  local n pid state rc=0
  printf '%-14s %-8s %-7s %s\n' SERVICE PID PORT STATE
  row() { # row <name> <pid> <port> <healthy command>...
    local name=$1 p=$2 port=$3
    shift 3
    if [[ -n $p ]] && "$@"; then state=up; else state=down rc=3; fi
    printf '%-14s %-8s %-7s %s\n' "$name" "${p:--}" "$port" "$state"
  }
  for ((n = 1; n <= KAFKA_N; n++)); do
    pid=$(kafka_running "$n") || true
    row "kafka-$n" "$pid" "$(kafka_broker_port "$n")" tcp_open "$(kafka_broker_port "$n")"
  done
  pid=$(clickhouse_running) || true
  row clickhouse "$pid" "$CH_HTTP_PORT" clickhouse_healthy
  pid=$(postgres_pid) || true
  row postgres "$pid" "$PG_PORT" postgres_healthy
  pid=$(sshd_running) || true
  row sshd "$pid" "$SSH_PORT" sshd_healthy
  if [[ -x $OPA_BIN ]]; then
    printf '%-14s %-8s %-7s %s\n' opa - - "installed $(opa_version_of "$OPA_BIN")"
  else
    printf '%-14s %-8s %-7s %s\n' opa - - missing
  fi
  return "$rc"
}

kafka_node_arg() { # kafka_node_arg <value>
  [[ $# -ge 1 ]] || die "usage: stack.sh <kafka-command> N"
  kafka_check_node_id "$1"
}

cmd_clean() {
  cmd_down
  log "deleting stack state in $STACK_DIR (keeping Kafka jars and binaries)"
  find "$STACK_DIR" -mindepth 1 -maxdepth 1 ! -name kafka ! -name bin ! -name .lock -exec rm -rf {} +
  find "$KAFKA_HOME" -mindepth 1 -maxdepth 1 ! -name libs -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$PG_SOCKET_DIR"
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cat "$ENV_FILE" ;;
    clean) cmd_clean ;;
    kafka-kill | kafka-stop | kafka-start)
      require_root
      take_lock
      settings_from_state
      kafka_node_arg "$@"
      case $cmd in
        kafka-kill) kafka_kill_node "$1" ;;
        kafka-stop) kafka_stop_nodes "$1" ;;
        kafka-start)
          kafka_write_tools_log4j
          kafka_start_node "$1"
          kafka_wait_ready "$1"
          ;;
      esac
      ;;
    kafka-stop-all)
      require_root
      take_lock
      settings_from_state
      kafka_stop_every_node
      ;;
    kafka-start-all)
      require_root
      take_lock
      settings_from_state
      kafka_write_tools_log4j
      mapfile -t KAFKA_NODES < <(kafka_all_nodes)
      for n in "${KAFKA_NODES[@]}"; do kafka_start_node "$n"; done
      kafka_wait_ready "${KAFKA_NODES[@]}"
      ;;
    kafka-tool)
      [[ $# -ge 1 ]] || die "usage: stack.sh kafka-tool <main class> [args...]"
      [[ -f $KAFKA_LIBS/.complete ]] || die "Kafka jars are missing; run '$STACK_SCRIPT up' first"
      kafka_write_tools_log4j
      exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
        -Dlog4j.configuration="file:$KAFKA_HOME/tools-log4j.properties" -cp "$KAFKA_LIBS/*" "$@"
      ;;
    -h | --help | help)
      sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      ;;
    *)
      sed -n '5,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
      die "unknown command '${cmd}'"
      ;;
  esac
}

main "$@"
