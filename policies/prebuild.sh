#!/usr/bin/env bash
# Rebuilds the committed default bundle in policies/prebuilt/ (what `npm start` loads, so that trying Gatehouse
# needs no Go toolchain) and records the digest of the sources it was built from. Run it after changing anything
# under policies/gatehouse/ (a unit test, dev/embedded/prebuilt-policy.test.ts, fails until you do).
# Needs opa like policies/build.sh (OPA_BIN, default .stack/bin/opa from `npm run stack:up`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$here/prebuilt"
bash "$here/build.sh" "$out"
rm -f "$out/bundle.tar.gz" # the loose files are what the gateway loads; the tarball would duplicate them
(cd "$root" && node --import tsx dev/embedded/policy-sources.ts) >"$out/sources.sha256"
printf 'policies/prebuild.sh: %s (sources %s)\n' "$(cat "$out/revision")" "$(cut -c1-16 "$out/sources.sha256")" >&2
