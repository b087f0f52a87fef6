#!/usr/bin/env bash
# The local Gatehouse cluster: the stack (Kafka, ClickHouse, PostgreSQL, sshd, opa) plus the development OIDC
# provider, the approval service, N gateway nodes behind HAProxy and the recorder, as local processes on 127.0.0.1.
#
#   cluster.sh up [--gateways N]   start everything (idempotent; N nodes, default 3 or $GATEHOUSE_GATEWAYS; a second
#                                  `up` with another N adds or drains nodes), append the URLs to .stack/env
#   cluster.sh stop                stop the cluster's services, leave the stack running; take the cluster's lines
#                                  out of .stack/env again (the stack's own lines stay as they were)
#   cluster.sh down                stop the cluster's services, then the stack
#   cluster.sh status              show the cluster's services and HAProxy's view of each node
#   cluster.sh config [--gateways N]  write what `up` writes (every service's configuration, keys, the .stack/env
#                                  lines) and start nothing (test/integration/cluster-config.test.ts)
#
# Clients reach the nodes through HAProxy (deploy/cluster/haproxy-config.sh, TCP mode, health checks on each node's
# /readyz) on the public ports: GATEHOUSE_PG_PORT 16432, GATEHOUSE_SSH_PORT 12022, GATEHOUSE_MCP_PORT 19486,
# GATEHOUSE_HTTP_PORT 19487; its monitor (GET /readyz, /stats) is GATEHOUSE_GATEWAY_HEALTH_PORT 19480. Node i (1-9)
# listens on 19410+i (PostgreSQL), 19420+i (SSH), 19430+i (MCP), 19440+i (HTTP), health 19450+i, node id local-gw-i.
# Other ports (override with the environment): GATEHOUSE_IDP_PORT 19400, GATEHOUSE_RECORDER_PORT 19481,
# GATEHOUSE_RECORDER_HEALTH_PORT 19482, GATEHOUSE_APPROVAL_PORT 19483, GATEHOUSE_APPROVAL_GRPC_PORT 19484,
# GATEHOUSE_APPROVAL_HEALTH_PORT 19485.
#
# Policy is a stream (policies/README.md, "Publishing"): every node consumes gatehouse.policies and pins the public
# half of the policy-signing key .stack/cluster/policy-signing.key (made once, Ed25519, id local-dev-policy-1); the
# built policies/gatehouse is only what a node loads while the topic holds no good revision yet.
set -euo pipefail

# shellcheck source=../stack/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../stack/lib.sh"

CLUSTER_DIR="$STACK_DIR/cluster"
IDP_PORT="${GATEHOUSE_IDP_PORT:-19400}"
PG_PORT="${GATEHOUSE_PG_PORT:-16432}"
SSH_PORT="${GATEHOUSE_SSH_PORT:-12022}"
GW_HEALTH_PORT="${GATEHOUSE_GATEWAY_HEALTH_PORT:-19480}"
REC_PORT="${GATEHOUSE_RECORDER_PORT:-19481}"
REC_HEALTH_PORT="${GATEHOUSE_RECORDER_HEALTH_PORT:-19482}"
APPROVAL_PORT="${GATEHOUSE_APPROVAL_PORT:-19483}"
APPROVAL_GRPC_PORT="${GATEHOUSE_APPROVAL_GRPC_PORT:-19484}"
APPROVAL_HEALTH_PORT="${GATEHOUSE_APPROVAL_HEALTH_PORT:-19485}"
MCP_PORT="${GATEHOUSE_MCP_PORT:-19486}"
HTTP_PORT="${GATEHOUSE_HTTP_PORT:-19487}"
GATEWAYS="${GATEHOUSE_GATEWAYS:-3}"
MAX_GATEWAYS=9
GATEHOUSE=(node "$PROJECT_ROOT/bin/gatehouse.js")
POLICY_KEY_ID=local-dev-policy-1
# HAProxy reaches the nodes' PostgreSQL and SSH listeners from this loopback address with a PROXY protocol v2 header
# (the client's address); the nodes trust headers from it alone, so direct clients (127.0.0.1) stay direct.
BALANCER_SOURCE=127.0.0.2
# The lines `up` appends to .stack/env (replaced on every `up`, removed by `stop`).
CLUSTER_ENV_KEYS=(GATEHOUSE_OIDC_ISSUER GATEHOUSE_PG_HOST GATEHOUSE_PG_PORT GATEHOUSE_SSH_PORT GATEHOUSE_RECORDER_URL
  GATEHOUSE_GATEWAY_HEALTH_URL GATEHOUSE_APPROVAL_URL GATEHOUSE_CLUSTER_DIR GATEHOUSE_MCP_URL GATEHOUSE_HTTP_URL
  GATEHOUSE_POLICY_SIGNING_KEY_FILE GATEHOUSE_POLICY_SIGNING_KEY_ID GATEHOUSE_POLICY_TOPIC GATEHOUSE_NODES_TOPIC)

# Node i's port of a listener: 19410+i PostgreSQL, 19420+i SSH, 19430+i MCP, 19440+i HTTP, 19450+i health.
node_port() { # node_port <postgres|ssh|mcp|http|health> <i>
  local base
  case $1 in
    postgres) base=19410 ;; ssh) base=19420 ;; mcp) base=19430 ;; http) base=19440 ;; health) base=19450 ;;
  esac
  echo $((base + $2))
}

service_port() {
  case $1 in
    idp) echo "$IDP_PORT" ;;
    gateway-*) node_port health "${1#gateway-}" ;;
    haproxy) echo "$GW_HEALTH_PORT" ;;
    recorder) echo "$REC_HEALTH_PORT" ;;
    approval) echo "$APPROVAL_HEALTH_PORT" ;;
  esac
}

ready_url() {
  case $1 in
    idp) echo "http://$BIND_HOST:$IDP_PORT/.well-known/openid-configuration" ;;
    gateway-* | haproxy) echo "http://$BIND_HOST:$(service_port "$1")/readyz" ;;
    recorder) echo "http://$BIND_HOST:$REC_HEALTH_PORT/readyz" ;;
    approval) echo "http://$BIND_HOST:$APPROVAL_HEALTH_PORT/readyz" ;;
  esac
}

# The gateway nodes that have a pid file, in order.
running_gateways() {
  local f
  for f in "$RUN_DIR"/gateway-*.pid; do
    [[ -e $f ]] || continue
    f=${f##*/}
    echo "${f%.pid}"
  done | sort -t- -k2 -n
}

write_configs() {
  mkdir -p "$CLUSTER_DIR"
  # shellcheck disable=SC1090
  set -a && source "$ENV_FILE" && set +a
  if [[ ! -f $CLUSTER_DIR/tls.crt ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
      -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
      -keyout "$CLUSTER_DIR/tls.key" -out "$CLUSTER_DIR/tls.crt" 2>/dev/null
    chmod 600 "$CLUSTER_DIR/tls.key"
  fi
  # The approval service's decision-signing key (Ed25519); gateways pin its public half by key id.
  if [[ ! -s $CLUSTER_DIR/approval-signing.key ]]; then
    (umask 077 && openssl genpkey -algorithm ed25519 -out "$CLUSTER_DIR/approval-signing.key")
  fi
  [[ -s $CLUSTER_DIR/approval-signing.pub ]] ||
    openssl pkey -in "$CLUSTER_DIR/approval-signing.key" -pubout -out "$CLUSTER_DIR/approval-signing.pub"
  # The policy publisher's signing key (Ed25519, `gatehouse policy publish`); every node pins its public half.
  if [[ ! -s $CLUSTER_DIR/policy-signing.key ]]; then
    (umask 077 && openssl genpkey -algorithm ed25519 -out "$CLUSTER_DIR/policy-signing.key")
    rm -f "$CLUSTER_DIR/policy-signing.pub"
  fi
  [[ -s $CLUSTER_DIR/policy-signing.pub ]] ||
    openssl pkey -in "$CLUSTER_DIR/policy-signing.key" -pubout -out "$CLUSTER_DIR/policy-signing.pub"
  [[ -f $CLUSTER_DIR/ssh_host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C gatehouse-local -f "$CLUSTER_DIR/ssh_host_ed25519_key"
  OPA_BIN="$OPA_BIN" bash "$PROJECT_ROOT/policies/build.sh" "$CLUSTER_DIR/policy" >/dev/null
  local brokers rf isr
  brokers=$(printf '"%s",' ${GATEHOUSE_KAFKA_BROKERS//,/ })
  [[ -n ${GATEHOUSE_KAFKA_CA_FILE:-} && -n ${GATEHOUSE_CLICKHOUSE_RECORDER_PASSWORD_FILE:-} ]] ||
    die "the stack's env has no Kafka/ClickHouse credentials; restart it (npm run stack:down && npm run stack:up)"
  # The Kafka lines of one service: brokers, TLS (the stack's CA) and the service's own SCRAM principal.
  kafka_yaml() { # kafka_yaml <USER env prefix>
    local user_var="GATEHOUSE_KAFKA_${1}_USER" file_var="GATEHOUSE_KAFKA_${1}_PASSWORD_FILE"
    printf '  brokers: [%s]\n  ssl: { caFile: %s }\n' "${brokers%,}" "$GATEHOUSE_KAFKA_CA_FILE"
    printf '  sasl: { mechanism: %s, username: %s, password: { file: %s } }\n' \
      "$GATEHOUSE_KAFKA_SASL_MECHANISM" "${!user_var}" "${!file_var}"
  }
  # MCP (services/gateway/mcp): only when the stack runs the demo MCP server (deploy/stack/mcp-demo.sh).
  local mcp_listener='' mcp_connection=''
  if [[ -n ${MCP_TARGET_URL:-} ]]; then
    mcp_listener="  mcp: { host: $BIND_HOST, port: @PORT@, allowPlaintext: true, publicUrl: http://$BIND_HOST:$MCP_PORT }"
    mcp_connection="  - name: demo-mcp
    protocol: mcp
    upstream: { url: $MCP_TARGET_URL, auth: { type: bearer, token: { file: $MCP_TARGET_TOKEN_FILE } } }
    tags: { env: demo }"
  fi
  # HTTP proxy (services/gateway/http): only when the stack runs the demo HTTP API (deploy/stack/http-demo.sh).
  local http_listener='' http_connection=''
  if [[ -n ${HTTP_TARGET_URL:-} ]]; then
    http_listener="  http: { host: $BIND_HOST, port: @PORT@, allowPlaintext: true } # loopback only"
    http_connection="  - name: demo-http
    protocol: http
    upstream: { url: $HTTP_TARGET_URL, auth: { type: bearer, token: { file: $HTTP_TARGET_TOKEN_FILE } } }
    tags: { env: demo }"
  fi
  rf=$((GATEHOUSE_KAFKA_BROKER_COUNT >= 3 ? 3 : 1))
  isr=$((rf >= 3 ? 2 : 1))
  local i health_port pg_port ssh_port node_mcp node_http proxy_protocol=''
  [[ $BIND_HOST != 127.0.0.1 ]] || proxy_protocol="proxyProtocol: { trustedProxies: [$BALANCER_SOURCE] }"
  for ((i = 1; i <= GATEWAYS; i++)); do
    health_port=$(node_port health "$i") pg_port=$(node_port postgres "$i") ssh_port=$(node_port ssh "$i")
    node_mcp=${mcp_listener//@PORT@/$(node_port mcp "$i")}
    node_http=${http_listener//@PORT@/$(node_port http "$i")}
    # Every node: the same TLS certificate, SSH host key and policy (clients see one gateway behind the balancer).
    cat >"$CLUSTER_DIR/gateway-$i.yaml" <<YAML
# Written by deploy/cluster/cluster.sh. Credentials are references, never values.
nodeId: local-gw-$i
health: { host: $BIND_HOST, port: $health_port }
# SIGTERM: out of the balancer's rotation (2 failed checks 500 ms apart) before the listeners stop accepting.
unreadyBeforeDrainMs: 1500
listeners:
  postgres:
    host: $BIND_HOST
    port: $pg_port
    tls: { cert: $CLUSTER_DIR/tls.crt, key: $CLUSTER_DIR/tls.key }
    $proxy_protocol
  ssh:
    host: $BIND_HOST
    port: $ssh_port
    hostKey: $CLUSTER_DIR/ssh_host_ed25519_key
    $proxy_protocol
$node_mcp
$node_http
oidc:
  issuer: http://$BIND_HOST:$IDP_PORT
  audience: gatehouse
kafka:
$(kafka_yaml GATEWAY)
  topics: { replicationFactor: $rf, minInsyncReplicas: $isr }
policy:
  bundleDir: $CLUSTER_DIR/policy # only while gatehouse.policies holds no good revision yet
  stream: # signed bundles from \`gatehouse policy publish\`, swapped in live; heartbeats on gatehouse.nodes
    trustedKeys:
      $POLICY_KEY_ID: { file: $CLUSTER_DIR/policy-signing.pub }
approvals:
  url: http://$BIND_HOST:$APPROVAL_PORT
  trustedKeys:
    local-dev-1: { file: $CLUSTER_DIR/approval-signing.pub }
connections:
  - name: demo-pg
    protocol: postgres
    upstream:
      host: $PG_TARGET_HOST
      port: $PG_TARGET_PORT
      database: $PG_TARGET_DATABASE
      user: $PG_TARGET_USER
      password: { file: $PG_TARGET_PASSWORD_FILE }
    tags: { env: demo }
  - name: demo-pgbench
    protocol: postgres
    upstream:
      host: $PG_TARGET_HOST
      port: $PG_TARGET_PORT
      database: $PG_TARGET_PGBENCH_DATABASE
      user: $PG_TARGET_USER
      password: { file: $PG_TARGET_PASSWORD_FILE }
  - name: demo-ssh
    protocol: ssh
    upstream:
      host: $SSH_TARGET_HOST
      port: $SSH_TARGET_PORT
      user: $SSH_TARGET_USER
      privateKey: { file: $SSH_TARGET_KEY_FILE }
      hostKey: { file: $SSH_TARGET_HOST_KEY_FILE }
    tags: { env: demo }
$mcp_connection
$http_connection
YAML
  done
  cat >"$CLUSTER_DIR/recorder.yaml" <<YAML
# Written by deploy/cluster/cluster.sh.
kafka:
$(kafka_yaml RECORDER)
  topics: { replicationFactor: $rf, minInsyncReplicas: $isr }
clickhouse:
  url: $GATEHOUSE_CLICKHOUSE_URL
  user: $GATEHOUSE_CLICKHOUSE_RECORDER_USER
  password: { file: $GATEHOUSE_CLICKHOUSE_RECORDER_PASSWORD_FILE }
  ddl: { user: $GATEHOUSE_CLICKHOUSE_DDL_USER, password: { file: $GATEHOUSE_CLICKHOUSE_DDL_PASSWORD_FILE } }
http: { host: $BIND_HOST, port: $REC_PORT }
health: { host: $BIND_HOST, port: $REC_HEALTH_PORT }
api: # nobody reads the audit without identity: analysts of group soc (tokens or web login)
  oidc: { issuer: http://$BIND_HOST:$IDP_PORT, audience: gatehouse }
  allowedGroups: [soc]
  web: {}
YAML
  cat >"$CLUSTER_DIR/approval.yaml" <<YAML
# Written by deploy/cluster/cluster.sh.
instanceId: local-approval-1
kafka:
$(kafka_yaml APPROVAL)
  topics: { replicationFactor: $rf, minInsyncReplicas: $isr }
oidc: { issuer: http://$BIND_HOST:$IDP_PORT, audience: gatehouse }
signing: { keyId: local-dev-1, privateKey: { file: $CLUSTER_DIR/approval-signing.key } }
http: { host: $BIND_HOST, port: $APPROVAL_PORT }
grpc: { host: $BIND_HOST, port: $APPROVAL_GRPC_PORT }
health: { host: $BIND_HOST, port: $APPROVAL_HEALTH_PORT }
publicUrl: http://$BIND_HOST:$APPROVAL_PORT
web: {} # reviewers log in at the IdP (authorization code + PKCE)
YAML
}

start_service() { # start_service <name> <args>...
  local name=$1 pid
  shift
  pid=$(read_pid "$RUN_DIR/$name.pid")
  if [[ -n $pid ]] && pid_alive "$pid"; then
    log "$name already running (pid $pid)"
    return 0
  fi
  ensure_port_free "$(service_port "$name")" "port of $name" "$name"
  start_detached "$RUN_DIR/$name.pid" "$LOG_DIR/$name.log" "$@"
  pid=$(read_pid "$RUN_DIR/$name.pid")
  wait_until "$START_TIMEOUT" "$pid" curl -fsS -o /dev/null "$(ready_url "$name")" ||
    fail_with_logs "$name did not become ready" "$LOG_DIR/$name.log"
  log "$name ready (pid $pid)"
}

stop_service() { # stop_service <name>: SIGTERM (a gateway drains), SIGKILL after $STOP_TIMEOUT s
  local pid
  pid=$(read_pid "$RUN_DIR/$1.pid")
  [[ -n $pid ]] || return 0
  stop_pids "$STOP_TIMEOUT" "$pid"
  rm -f "$RUN_DIR/$1.pid"
  log "$1 stopped"
}

# HAProxy in front of nodes 1..N, a private process (never the system service). A changed configuration (nodes added
# or drained) starts a new HAProxy that takes over the ports and lets the old one finish its connections (-sf).
start_haproxy() {
  local cfg="$CLUSTER_DIR/haproxy.cfg" listen nodes=() i pid proxy=()
  [[ $BIND_HOST != 127.0.0.1 ]] || proxy=(--send-proxy postgres,ssh --source "$BALANCER_SOURCE")
  listen="postgres=$PG_PORT,ssh=$SSH_PORT"
  [[ -z ${MCP_TARGET_URL:-} ]] || listen+=",mcp=$MCP_PORT"
  [[ -z ${HTTP_TARGET_URL:-} ]] || listen+=",http=$HTTP_PORT"
  for ((i = 1; i <= GATEWAYS; i++)); do
    nodes+=(--node "local-gw-$i:$(node_port health "$i"):postgres=$(node_port postgres "$i"),ssh=$(node_port ssh "$i"),mcp=$(node_port mcp "$i"),http=$(node_port http "$i")")
  done
  bash "$PROJECT_ROOT/deploy/cluster/haproxy-config.sh" --bind "$BIND_HOST" --monitor "$GW_HEALTH_PORT" \
    --listen "$listen" "${nodes[@]}" "${proxy[@]}" >"$cfg.new"
  haproxy -c -q -f "$cfg.new" || die "invalid HAProxy configuration $cfg.new"
  pid=$(read_pid "$RUN_DIR/haproxy.pid")
  if [[ -n $pid ]] && pid_alive "$pid"; then
    if cmp -s "$cfg.new" "$cfg"; then
      rm -f "$cfg.new"
      log "haproxy already running (pid $pid)"
      return 0
    fi
    mv "$cfg.new" "$cfg"
    start_detached "$RUN_DIR/haproxy.pid" "$LOG_DIR/haproxy.log" haproxy -f "$cfg" -db -sf "$pid"
    log "haproxy reloaded with $GATEWAYS nodes (pid $(read_pid "$RUN_DIR/haproxy.pid"))"
    return 0
  fi
  mv "$cfg.new" "$cfg"
  start_service haproxy haproxy -f "$cfg" -db
}

# .stack/env without the cluster's lines.
env_without_cluster() {
  local keys
  keys=$(
    IFS='|'
    echo "${CLUSTER_ENV_KEYS[*]}"
  )
  grep -v -E "^($keys)=" "$ENV_FILE" || true
}

append_env() {
  local tmp
  tmp=$(mktemp)
  env_without_cluster >"$tmp"
  cat >>"$tmp" <<ENV
GATEHOUSE_OIDC_ISSUER=http://$BIND_HOST:$IDP_PORT
GATEHOUSE_PG_HOST=$BIND_HOST
GATEHOUSE_PG_PORT=$PG_PORT
GATEHOUSE_SSH_PORT=$SSH_PORT
GATEHOUSE_RECORDER_URL=http://$BIND_HOST:$REC_PORT
GATEHOUSE_GATEWAY_HEALTH_URL=http://$BIND_HOST:$GW_HEALTH_PORT
GATEHOUSE_APPROVAL_URL=http://$BIND_HOST:$APPROVAL_PORT
GATEHOUSE_CLUSTER_DIR=$CLUSTER_DIR
GATEHOUSE_POLICY_SIGNING_KEY_FILE=$CLUSTER_DIR/policy-signing.key
GATEHOUSE_POLICY_SIGNING_KEY_ID=$POLICY_KEY_ID
GATEHOUSE_POLICY_TOPIC=gatehouse.policies
GATEHOUSE_NODES_TOPIC=gatehouse.nodes
ENV
  # The gateway's MCP endpoint for the demo upstream (clients present a token from the IdP as a bearer token).
  [[ -z ${MCP_TARGET_URL:-} ]] || echo "GATEHOUSE_MCP_URL=http://$BIND_HOST:$MCP_PORT/mcp/demo-mcp" >>"$tmp"
  # The gateway's base URL for the demo HTTP API (`$GATEHOUSE_HTTP_URL/customers`; a bearer token from the IdP).
  [[ -z ${HTTP_TARGET_URL:-} ]] || echo "GATEHOUSE_HTTP_URL=http://$BIND_HOST:$HTTP_PORT/demo-http" >>"$tmp"
  chmod --reference="$ENV_FILE" "$tmp" 2>/dev/null || true
  mv "$tmp" "$ENV_FILE"
}

# `stop`: .stack/env as the stack wrote it (the cluster's addresses and keys point at nothing once it stopped).
remove_env() {
  [[ -f $ENV_FILE ]] || return 0
  local tmp
  tmp=$(mktemp)
  env_without_cluster >"$tmp"
  if cmp -s "$tmp" "$ENV_FILE"; then
    rm -f "$tmp"
    return 0
  fi
  chmod --reference="$ENV_FILE" "$tmp" 2>/dev/null || true
  mv "$tmp" "$ENV_FILE"
}

# up and config: --gateways N.
parse_gateways() {
  while (($#)); do
    case $1 in
      --gateways)
        GATEWAYS=${2:-}
        shift 2
        ;;
      *) die "usage: cluster.sh up|config [--gateways N]" ;;
    esac
  done
  [[ $GATEWAYS =~ ^[1-9]$ ]] || die "--gateways must be 1-$MAX_GATEWAYS (got '$GATEWAYS')"
}

cmd_config() {
  parse_gateways "$@"
  write_configs
  append_env
  log "wrote the configuration of $GATEWAYS gateway nodes, the recorder and the approval service in $CLUSTER_DIR"
}

cmd_up() {
  parse_gateways "$@"
  require_cmd haproxy "the cluster's load balancer (install the Debian package haproxy: npm run stack:up)"
  # A healthy stack is left alone (other users may be running tests on it); anything down is (re)started.
  bash "$STACK_SCRIPT" status >/dev/null 2>&1 || bash "$STACK_SCRIPT" up
  (cd "$PROJECT_ROOT" && npm run --silent build:dev) # the services (and the dev IdP) run from dist/
  write_configs
  stop_service gateway # a single node from before the balancer held the public ports
  start_service idp "${GATEHOUSE[@]}" idp --port "$IDP_PORT" --host "$BIND_HOST" --jwks-file "$CLUSTER_DIR/idp-jwks.json"
  start_service approval "${GATEHOUSE[@]}" approval --config "$CLUSTER_DIR/approval.yaml"
  local i name
  for ((i = 1; i <= GATEWAYS; i++)); do
    start_service "gateway-$i" "${GATEHOUSE[@]}" gateway --config "$CLUSTER_DIR/gateway-$i.yaml"
  done
  start_haproxy
  # Scaled down: the nodes beyond N leave HAProxy's configuration first, then drain (SIGTERM).
  for name in $(running_gateways); do
    ((${name#gateway-} <= GATEWAYS)) || stop_service "$name"
  done
  start_service recorder "${GATEHOUSE[@]}" recorder --config "$CLUSTER_DIR/recorder.yaml"
  append_env
  cat <<EOF_HELP

Gatehouse is running: $GATEWAYS gateway nodes behind HAProxy (stats: http://$BIND_HOST:$GW_HEALTH_PORT/stats).
Connect as an AI agent with psql:

  export PGPASSWORD=\$(node bin/gatehouse.js token --issuer http://$BIND_HOST:$IDP_PORT --user agent-1 --agent)
  psql "host=$BIND_HOST port=$PG_PORT dbname=demo-pg user=agent-1 sslmode=require"

Or run a command on the demo host through the gateway (the token is the password):

  SSHPASS=\$PGPASSWORD sshpass -e ssh -p $SSH_PORT -o PubkeyAuthentication=no demo-ssh@$BIND_HOST uname -a

Sessions and replays (analysts of group soc; the web pages log in at the dev IdP as soc-analyst):
  GATEHOUSE_TOKEN=\$(node bin/gatehouse.js token --issuer http://$BIND_HOST:$IDP_PORT --user sam --groups soc) \\
    node bin/gatehouse.js sessions --recorder http://$BIND_HOST:$REC_PORT
Approvals (reviewer page): http://$BIND_HOST:$APPROVAL_PORT/
  GATEHOUSE_TOKEN=\$(node bin/gatehouse.js token --issuer http://$BIND_HOST:$IDP_PORT --user dora --groups dba) \\
    node bin/gatehouse.js approvals list --url http://$BIND_HOST:$APPROVAL_PORT

Policy as a stream (every node swaps in a published revision; brokers, keys and ClickHouse from .stack/env):
  set -a; . $ENV_FILE; set +a
  export GATEHOUSE_TOKEN=\$(node bin/gatehouse.js token --user paula --groups policy-admins)
  node bin/gatehouse.js policy publish policies/gatehouse --message "why this change"
  node bin/gatehouse.js policy status
  node bin/gatehouse.js policy backtest --bundle policies/gatehouse --since 24h
EOF_HELP
}

# The cluster's services only (the stack keeps running). Gateways drain after HAProxy stopped sending them clients.
cmd_stop() {
  local name
  stop_service recorder
  stop_service haproxy
  for name in $(running_gateways) gateway; do stop_service "$name"; done
  stop_service approval
  stop_service idp
  remove_env
}

cmd_down() {
  cmd_stop
  bash "$STACK_SCRIPT" down
}

cmd_status() {
  local name pid state
  printf '%-10s %-8s %-7s %s\n' SERVICE PID PORT STATE
  for name in idp approval $(running_gateways) haproxy recorder; do
    pid=$(read_pid "$RUN_DIR/$name.pid")
    state=down
    [[ -n $pid ]] && pid_alive "$pid" && state=up
    printf '%-10s %-8s %-7s %s\n' "$name" "${pid:--}" "$(service_port "$name")" "$state"
  done
  # HAProxy's view of each node (backend, node, status) from its statistics.
  curl -fsS "http://$BIND_HOST:$GW_HEALTH_PORT/stats;csv" 2>/dev/null |
    awk -F, '$1 ~ /^gw_/ && $2 != "BACKEND" { printf "  %-12s %-12s %s\n", $1, $2, $18 }' || true
}

case "${1:-}" in
  up)
    shift
    cmd_up "$@"
    ;;
  config)
    shift
    cmd_config "$@"
    ;;
  stop) cmd_stop ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: cluster.sh up [--gateways N]|config [--gateways N]|stop|down|status" >&2
    exit 2
    ;;
esac
