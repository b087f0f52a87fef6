#!/usr/bin/env bash
# Checks and tests the Rego policy: formatting, strict compile with the WASM capabilities (sources only),
# strict compile of sources and tests together, then the unit tests (`opa test -v`).
#
# Usage: policies/test.sh [SRC_DIR]        (default policies/gatehouse)
# Env:   OPA_BIN  the opa binary (default <project>/.stack/bin/opa)
#        OPA_TEST_ARGS  extra arguments for `opa test` (e.g. "--coverage --threshold 95" or "-r sql")
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
opa="${OPA_BIN:-$root/.stack/bin/opa}"
src="${1:-$here/gatehouse}"
caps="$here/capabilities.json"

fail() {
  printf 'policies/test.sh: %s\n' "$*" >&2
  exit 1
}

[[ -x $opa ]] || fail "opa binary not found at '$opa': run 'npm run stack:up' (installs .stack/bin/opa) or set OPA_BIN"
[[ -d $src ]] || fail "policy source folder '$src' does not exist"

unformatted="$("$opa" fmt --list "$src")"
[[ -z $unformatted ]] || fail "not formatted (run: $opa fmt -w $src):"$'\n'"$unformatted"

# The policy (without tests) must only use built-ins the WASM engine supports.
"$opa" check --strict --capabilities "$caps" --ignore '*_test.rego' "$src" || fail "opa check (WASM capabilities) failed"
# Tests may use any built-in (they run in opa, not in the gateway).
"$opa" check --strict "$src" || fail "opa check failed"

# shellcheck disable=SC2086 # OPA_TEST_ARGS is split on purpose
"$opa" test -v ${OPA_TEST_ARGS:-} "$src" || fail "opa test failed"
