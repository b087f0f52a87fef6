#!/usr/bin/env bash
# Compiles the Rego policy to the WebAssembly bundle the gateway loads.
#
# Usage: policies/build.sh [OUT_DIR] [SRC_DIR]
#   OUT_DIR  where to write the bundle (default <project>/.stack/policy)
#   SRC_DIR  the policy sources (default policies/gatehouse); *_test.rego files are left out
# Env:     OPA_BIN  the opa binary (default <project>/.stack/bin/opa, installed by `npm run stack:up`)
#
# Writes to OUT_DIR:
#   bundle.tar.gz  the OPA bundle (policy.wasm, data.json, .manifest with the revision, Rego sources)
#   policy.wasm    the compiled entrypoint gatehouse/main/decision
#   data.json      the data document (configuration) the policy reads
#   .manifest      the bundle manifest (revision, entrypoint)
#   revision       the bundle revision: first 16 hex digits of sha256(policy.wasm || data.json)
# Built-ins are limited to policies/capabilities.json (those the WASM engine can evaluate); a policy using
# any other built-in (http.send, net.lookup_ip_addr, time.now_ns, ...) fails here, not at run time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
opa="${OPA_BIN:-$root/.stack/bin/opa}"
out="${1:-$root/.stack/policy}"
src="${2:-$here/gatehouse}"
caps="$here/capabilities.json"
entrypoint="gatehouse/main/decision"

fail() {
  printf 'policies/build.sh: %s\n' "$*" >&2
  exit 1
}

[[ -x $opa ]] || fail "opa binary not found at '$opa': run 'npm run stack:up' (installs .stack/bin/opa) or set OPA_BIN"
[[ -d $src ]] || fail "policy source folder '$src' does not exist"
[[ -f $caps ]] || fail "capabilities file '$caps' is missing: run policies/gen-capabilities.sh"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

src_parent="$(cd "$(dirname "$src")" && pwd)"
src_name="$(basename "$src")"

# opa_build <output tarball> [extra opa build flags...]
opa_build() {
  local tarball=$1 log="$work/opa-build.log"
  shift
  if ! (cd "$src_parent" && "$opa" build -t wasm -e "$entrypoint" --capabilities "$caps" \
    --ignore '*_test.rego' "$@" -o "$tarball" "$src_name") >"$log" 2>&1; then
    cat "$log" >&2
    local fn
    for fn in $(grep -oE 'undefined function [A-Za-z0-9_.]+' "$log" | awk '{print $3}' | sort -u); do
      printf "policies/build.sh: '%s' is not a built-in the gateway's WASM policy engine supports %s\n" \
        "$fn" "(supported built-ins: policies/capabilities.json)" >&2
    done
    fail "opa build failed for $src"
  fi
}

# extract <tarball> <dir>: unpacks the bundle (member names start with '/', which tar strips).
extract() {
  mkdir -p "$2"
  tar -xzf "$1" -C "$2" --no-same-owner --no-same-permissions 2>/dev/null || fail "cannot unpack $1"
  [[ -f $2/policy.wasm ]] || fail "bundle $1 holds no policy.wasm"
  [[ -f $2/data.json ]] || printf '{}' >"$2/data.json"
}

# Pass 1: compile, then derive the revision from what the gateway actually loads.
opa_build "$work/pass1.tar.gz"
extract "$work/pass1.tar.gz" "$work/pass1"
revision="$(cat "$work/pass1/policy.wasm" "$work/pass1/data.json" | sha256sum | cut -c1-16)"

# Pass 2: the same build with the revision in .manifest (the compiler is deterministic; checked).
opa_build "$work/bundle.tar.gz" --revision "$revision"
extract "$work/bundle.tar.gz" "$work/pass2"
cmp -s "$work/pass1/policy.wasm" "$work/pass2/policy.wasm" || fail "opa build is not deterministic: policy.wasm differs between passes"
cmp -s "$work/pass1/data.json" "$work/pass2/data.json" || fail "opa build is not deterministic: data.json differs between passes"

printf '%s\n' "$revision" >"$work/revision"
# Replace the outputs one file at a time with rename (atomic per file); `revision` last, so a reader that
# sees the new revision also sees the new policy (the engine re-checks the revision against the files).
for f in bundle.tar.gz policy.wasm data.json .manifest; do
  if [[ $f == bundle.tar.gz ]]; then cp "$work/bundle.tar.gz" "$work/out.$f"; else cp "$work/pass2/$f" "$work/out.$f"; fi
  chmod 644 "$work/out.$f"
  mv -f "$work/out.$f" "$out/$f"
done
chmod 644 "$work/revision"
mv -f "$work/revision" "$out/revision"

printf 'policies/build.sh: built %s (revision %s) from %s into %s\n' "$entrypoint" "$revision" "$src" "$out" >&2
