#!/usr/bin/env bash
# Prints the HAProxy configuration of a set of gateway nodes behind one balancer (used by cluster.sh and by the
# integration tests' fleet, test/support/fleet.ts, so both run the same configuration).
#
#   haproxy-config.sh --bind HOST --monitor PORT --listen NAME=PORT[,NAME=PORT…] \
#     --node ID:HEALTH_PORT:NAME=PORT[,NAME=PORT…] [--node …] [--send-proxy NAME[,NAME…] --source ADDR]
#
# --send-proxy: the backends of those listeners open every connection with a PROXY protocol v2 header naming the
# client (`send-proxy-v2`), from the source address ADDR, which the nodes list in `proxyProtocol.trustedProxies`
# (so a client reaching a node directly, from another address, is never mistaken for the balancer).
#
# Every listener NAME (postgres, ssh, mcp, http) gets a TCP frontend on the public PORT and a backend of the nodes'
# ports for that NAME (least connections: sessions are long-lived). HAProxy checks each node's `GET /readyz` on its
# health port every 500 ms (2 failures: out of rotation, so a draining node leaves before it stops accepting; 2
# successes: back). A connection refused by a dead node is re-dispatched to another at once (`option redispatch 1`).
# TCP mode everywhere: TLS (PostgreSQL), SSH and the HTTP listeners pass through untouched.
# The monitor port answers `GET /readyz` (200 while at least one node of the first listener is up, else 503) and
# serves the statistics page at `/stats` (`/stats;csv` for scripts).
set -euo pipefail

usage() {
  sed -n '5,6p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
  exit 2
}

bind=127.0.0.1 monitor='' listen='' nodes=() send_proxy='' source=''
while (($#)); do
  [[ $# -ge 2 ]] || usage
  case $1 in
    --bind) bind=$2 ;;
    --monitor) monitor=$2 ;;
    --listen) listen=$2 ;;
    --node) nodes+=("$2") ;;
    --send-proxy) send_proxy=",$2," ;;
    --source) source=$2 ;;
    *) usage ;;
  esac
  shift 2
done
[[ -n $monitor && -n $listen && ${#nodes[@]} -gt 0 ]] || usage
[[ -z $send_proxy || -n $source ]] || {
  echo "haproxy-config.sh: --send-proxy needs --source ADDR (the address the nodes trust)" >&2
  exit 2
}

IFS=, read -ra listeners <<<"$listen"
first=${listeners[0]%%=*}

cat <<EOF
# Written by deploy/cluster/haproxy-config.sh.
global
  maxconn 4000 # needs about 2 file descriptors per connection (ulimit -n)
  log stderr format raw local0 notice

defaults
  mode tcp
  log global
  timeout connect 2s
  # Sessions are long-lived and mostly idle (psql, ssh); the gateway's own idle timeouts end them first.
  timeout client 2h
  timeout server 2h
  timeout check 1s
  retries 2
  option redispatch 1
  default-server inter 500ms fastinter 250ms downinter 1s rise 2 fall 2

frontend monitor
  mode http
  bind $bind:$monitor
  timeout client 10s
  monitor-uri /readyz
  monitor fail if { nbsrv(gw_$first) lt 1 }
  stats enable
  stats uri /stats
  stats refresh 5s
EOF

for l in "${listeners[@]}"; do
  name=${l%%=*} port=${l#*=}
  printf '\nfrontend fe_%s\n  bind %s:%s\n  default_backend gw_%s\n' "$name" "$bind" "$port" "$name"
  printf '\nbackend gw_%s\n  balance leastconn\n  option httpchk\n' "$name"
  printf '  http-check send meth GET uri /readyz\n  http-check expect status 200\n'
  proxy=''
  if [[ $send_proxy == *",$name,"* ]]; then
    printf '  source %s\n' "$source"
    proxy=' send-proxy-v2'
  fi
  for n in "${nodes[@]}"; do
    IFS=: read -r id health ports <<<"$n"
    node_port=''
    IFS=, read -ra pairs <<<"$ports"
    for p in "${pairs[@]}"; do [[ ${p%%=*} != "$name" ]] || node_port=${p#*=}; done
    [[ -n $node_port ]] || {
      echo "haproxy-config.sh: node $id has no $name port" >&2
      exit 2
    }
    printf '  server %s %s:%s check port %s%s\n' "$id" "$bind" "$node_port" "$health" "$proxy"
  done
done
