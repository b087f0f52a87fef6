# shellcheck shell=bash
# The OPA compiler (Rego -> WASM bundles) for policy builds and tests. Sourced by stack.sh.
#
# GATEHOUSE_STACK_OPA_VERSION  module version to install (default v1.22.3)
#
# Built from source with `go install` into .stack/bin; the Go module and build caches stay at
# their defaults.

OPA_BIN="$BIN_DIR/opa"
OPA_MODULE=github.com/open-policy-agent/opa

opa_version_of() { # opa_version_of <binary>; prints e.g. 1.22.3
  "$1" version 2>/dev/null | awk '/^Version:/ {print $2; exit}'
}

opa_ensure() {
  local want="${GATEHOUSE_STACK_OPA_VERSION:-v1.22.3}"
  if [[ -x $OPA_BIN && $(opa_version_of "$OPA_BIN") == "${want#v}" ]]; then
    return 0
  fi
  require_cmd go "building the OPA compiler ($OPA_MODULE@$want)"
  log "OPA: go install $OPA_MODULE@$want (first build takes a few minutes)"
  if ! GOBIN="$BIN_DIR" go install "$OPA_MODULE@$want" >"$LOG_DIR/opa-install.log" 2>&1; then
    fail_with_logs "go install $OPA_MODULE@$want failed" "$LOG_DIR/opa-install.log"
  fi
  [[ $(opa_version_of "$OPA_BIN") == "${want#v}" ]] ||
    die "$OPA_BIN reports version '$(opa_version_of "$OPA_BIN")', expected ${want#v}"
}
