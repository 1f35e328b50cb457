#!/usr/bin/env bash
# The hardening checks of issue 10 that need more than `npm test`, for CI
# (called by .ci/run after npm test; needs node_modules with fast-check and
# a built dist/):
#   1. an ASan+UBSan build of the addon (scripts/asan-build.sh, build-asan/);
#   2. against it: the native test suites, the fuzz, the async-lifetime test
#      and the worker stress (scripts/asan-run.sh), failing on any report;
#   3. the old-CPU test under qemu-x86_64 (test/old-cpu), normal build.
# Installs from Debian only what is missing (qemu-user). Prints the time of
# each stage. Env: INSTNORM_FUZZ_VALID / INSTNORM_FUZZ_INVALID (fuzz cases
# under ASan; defaults below), INSTNORM_OLD_CPU_MODELS.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
stage() { echo "ci-hardening: $1 ($((SECONDS - t0)) s so far)"; }

if [ "$(uname -m)" = x86_64 ] && ! command -v qemu-x86_64 >/dev/null 2>&1; then
  stage "apt-get install qemu-user"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null
fi
node -e 'require.resolve("fast-check")' 2>/dev/null || {
  echo "ci-hardening: fast-check is not installed (a devDependency: run npm ci)" >&2
  exit 1
}
[ -f dist/index.js ] || { stage "npm run build:ts"; npm run build:ts; }

export npm_config_nodedir="${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}"
case "$npm_config_nodedir" in undefined|null|"") unset npm_config_nodedir ;; esac

stage "ASan+UBSan build of the addon"
addon="$(bash scripts/asan-build.sh)"

stage "native suites, fuzz, async lifetime and worker stress under ASan+UBSan"
INSTNORM_ASAN_ADDON="$addon" \
  INSTNORM_FUZZ_VALID="${INSTNORM_FUZZ_VALID:-800}" INSTNORM_FUZZ_INVALID="${INSTNORM_FUZZ_INVALID:-2000}" \
  bash scripts/asan-run.sh --suites --fuzz --lifetime --stress

stage "old CPUs under qemu-x86_64"
npx vitest run --config test/hardening-ci/vitest.config.mts --project old-cpu --reporter=default --reporter=json

stage "done"
