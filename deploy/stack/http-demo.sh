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

# shellcheck source=deploy/stack/demo-upstream.sh
source "$(dirname "${BASH_SOURCE[0]}")/demo-upstream.sh"

http_demo_settings() {
  HTTP_DEMO_PORT="${GATEHOUSE_STACK_HTTP_DEMO_PORT:-12390}"
  validate_port GATEHOUSE_STACK_HTTP_DEMO_PORT "$HTTP_DEMO_PORT"
}
http_demo_up() { demo_upstream_up http-demo "$HTTP_DEMO_PORT" GATEHOUSE_STACK_HTTP_DEMO_PORT dev/demo-http/main.ts; }
http_demo_wait_ready() { demo_upstream_wait_ready http-demo "$HTTP_DEMO_PORT"; }
http_demo_down() { demo_upstream_down http-demo; }

http_demo_env() { # the .stack/env lines (env_line is stack.sh's)
  env_line HTTP_TARGET_URL "http://$BIND_HOST:$HTTP_DEMO_PORT"
  env_line HTTP_TARGET_TOKEN_FILE "$(demo_upstream_token_file http-demo)"
  env_line HTTP_TARGET_DEBUG_URL "http://$BIND_HOST:$HTTP_DEMO_PORT"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=deploy/stack/lib.sh
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
  env_line() { printf '%s=%s\n' "$1" "$2"; }
  demo_upstream_main http-demo "${1:-}"
fi
