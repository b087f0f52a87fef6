#!/usr/bin/env bash
# Regenerates policies/capabilities.json: the built-ins a Gatehouse policy may use.
#
# The gateway evaluates policies compiled to WebAssembly with the opa-wasm JS SDK. Only two kinds of
# built-ins work there:
#   1. built-ins compiled natively into the wasm module by OPA (the `builtinsFunctions` table in OPA's
#      internal/compiler/wasm/wasm.go, OPA v1.22.3), plus `eq`/`assign`, which the planner compiles out;
#   2. built-ins the JS SDK implements in node_modules/@open-policy-agent/opa-wasm/src/builtins
#      (json.is_valid, sprintf, regex.split, yaml.is_valid, yaml.marshal, yaml.unmarshal).
# Anything else (http.send, net.lookup_ip_addr, time.now_ns, crypto.*, io.jwt.*, print, ...) would compile
# into an import that throws "not implemented" at evaluation time, so it is left out here and
# `opa build --capabilities policies/capabilities.json` rejects it at build time instead.
#
# Usage: policies/gen-capabilities.sh            (writes policies/capabilities.json)
#        OPA_BIN=/path/to/opa policies/gen-capabilities.sh
# Run it again after upgrading OPA or @open-policy-agent/opa-wasm, and review the diff.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
opa="${OPA_BIN:-$root/.stack/bin/opa}"
out="$here/capabilities.json"

if [[ ! -x $opa ]]; then
  echo "gen-capabilities: opa binary not found at '$opa' (set OPA_BIN or run 'npm run stack:up')" >&2
  exit 1
fi
command -v node >/dev/null 2>&1 || {
  echo "gen-capabilities: node is required" >&2
  exit 1
}

# Native wasm built-ins (OPA v1.22.3 internal/compiler/wasm/wasm.go), by Rego name.
native=(
  eq assign
  plus minus mul div abs round ceil floor rem
  array.concat array.flatten array.reverse array.slice
  set_diff and or intersection union
  is_number is_string is_boolean is_array is_set is_object is_null type_name
  bits.or bits.and bits.negate bits.xor bits.lsh bits.rsh
  count sum product max min sort all any
  base64.is_valid base64.decode base64.encode base64url.encode base64url.decode
  net.cidr_contains net.cidr_overlap net.cidr_intersects
  equal gt gte lt lte neq
  glob.match
  json.marshal json.unmarshal json.is_valid json.remove json.filter
  object.filter object.get object.keys object.remove object.union object.union_n
  concat format_int indexof substring lower upper contains startswith endswith strings.reverse
  split replace strings.replace_n trim trim_left trim_prefix trim_right trim_suffix trim_space
  internal.template_string
  numbers.range to_number walk graph.reachable
  regex.is_valid regex.match re_match regex.find_all_string_submatch_n
  internal.member_2 internal.member_3
)
# Implemented in JavaScript by @open-policy-agent/opa-wasm (src/builtins/*.js).
sdk=(json.is_valid sprintf regex.split yaml.is_valid yaml.marshal yaml.unmarshal)

current="$(mktemp)"
trap 'rm -f "$current"' EXIT
"$opa" capabilities --current >"$current"

ALLOWED="${native[*]} ${sdk[*]}" CURRENT="$current" OUT="$out" node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
const caps = JSON.parse(readFileSync(process.env.CURRENT, "utf8"));
const allowed = new Set(process.env.ALLOWED.split(/\s+/).filter(Boolean));
const known = new Set(caps.builtins.map((b) => b.name));
const missing = [...allowed].filter((n) => !known.has(n));
if (missing.length > 0) {
  console.error(`gen-capabilities: not built-ins of this opa: ${missing.join(", ")}`);
  process.exit(1);
}
caps.builtins = caps.builtins.filter((b) => allowed.has(b.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
writeFileSync(process.env.OUT, JSON.stringify(caps, null, 2) + "\n");
console.error(`gen-capabilities: wrote ${caps.builtins.length} built-ins to ${process.env.OUT}`);
'

# Keep the generated file in the project's formatting (npm run lint checks it).
if [[ -x $root/node_modules/.bin/prettier ]]; then
  "$root/node_modules/.bin/prettier" --log-level warn --write "$out"
fi
