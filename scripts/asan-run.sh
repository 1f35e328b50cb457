#!/usr/bin/env bash
# Runs the native test suites, the fuzz and the async-lifetime test against
# the ASan+UBSan build of the addon, and fails on any sanitizer report.
#
# The library finds its addon by where it sits (build-cmake/Release or
# build/Release today; a prebuilds/ folder through node-gyp-build later),
# so the run happens in a copy of the package (build-asan/root: dist/,
# test/, configs, node_modules linked) whose only addon is the ASan one,
# placed in both build folders and with no prebuilds/. Before the suites
# run, a probe checks in /proc/self/maps that the addon loaded is that file.
#
# Usage: scripts/asan-run.sh [--suites] [--fuzz] [--lifetime] [--stress]   (default: all)
# Env: INSTNORM_ASAN_ADDON (a prebuilt ASan addon; default: build it),
#      INSTNORM_ASAN_PROJECTS (main-config projects for --suites; default
#      "api scalar avx2 avx512"), INSTNORM_FUZZ_VALID / INSTNORM_FUZZ_INVALID.
# JSON reports: build-asan/root/test-results/ (one file per config, the
# last part run of each).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

parts=("$@")
[ "${#parts[@]}" -gt 0 ] || parts=(--suites --fuzz --lifetime --stress)

addon="${INSTNORM_ASAN_ADDON:-build-asan/cmake/Release/instnorm.node}"
if [ ! -f "$addon" ]; then
  addon="$(bash scripts/asan-build.sh)"
fi
mkdir -p build-asan && echo '*' >build-asan/.gitignore
root="$repo/build-asan/root"
logs="$repo/build-asan/logs"
rm -rf "$root" "$logs"
mkdir -p "$root/build-cmake/Release" "$root/build/Release" "$logs"
test -d dist || { echo "asan-run: dist/ missing: run npm run build first" >&2; exit 1; }
cp -r dist test package.json vitest.config.mts tsconfig.json README.md "$root/"
# The test config reads the ISA list (no addon source: the copy loads only the ASan binary).
mkdir -p "$root/native/kernels"
cp native/build-config.js "$root/native/"
cp native/kernels/isas.def "$root/native/kernels/"
ln -s "$repo/node_modules" "$root/node_modules"
cp "$addon" "$root/build-cmake/Release/instnorm.node"
cp "$addon" "$root/build/Release/instnorm.node"

libasan="$(gcc -print-file-name=libasan.so)"
[ -f "$libasan" ] || { echo "asan-run: no libasan.so from gcc ($libasan)" >&2; exit 1; }
export LD_PRELOAD="$libasan"
# Reports go to files (one per process, children included) as well as
# failing the process that hit them; leaks are not checked (Node itself
# does not free everything at exit).
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=$logs/asan:log_exe_name=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Self-check: a deliberately broken addon (test/hardening-ci/asan-canary.c)
# must produce an ASan and a UBSan report here, or "no report" below would
# mean nothing. (GCC 12's UBSan beside ASan ignores log_path and prints to
# stderr only; its reports still end the process, which fails the suite
# that hit it: every child process's exit status is checked.)
canary="$repo/build-asan/canary"
rm -rf "$canary" && mkdir -p "$canary/logs"
gcc -shared -fPIC -fsanitize=address,undefined -fno-sanitize-recover=undefined -g \
  -I"$(node -p "require('node-api-headers').include_dir")" -DNODE_GYP_MODULE_NAME=canary \
  test/hardening-ci/asan-canary.c -o "$canary/canary.node"
for kind in asan ubsan; do
  CANARY=$kind ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$canary/logs/$kind" \
    node -e 'process.dlopen({ exports: {} }, process.argv[1])' "$canary/canary.node" 2>"$canary/logs/$kind.stderr" && {
    echo "asan-run: the $kind canary loaded without an error: the sanitizer is not active" >&2; exit 1; }
done
grep -qs heap-buffer-overflow "$canary"/logs/asan.[0-9]* || { echo "asan-run: the canary's heap overflow was not reported" >&2; exit 1; }
grep -qs "runtime error: signed integer overflow" "$canary/logs/ubsan.stderr" || { echo "asan-run: the canary's signed overflow was not reported" >&2; exit 1; }
echo "asan-run: self-check: the canary's heap-buffer-overflow and signed integer overflow were both reported"

cd "$root"

echo "asan-run: probe (which addon is loaded)"
node -e '
const fs = require("fs"), path = require("path");
const lib = require("./dist/index.js");
const b = lib.backend();
if (b.name !== "native") { console.error("asan-run: the library did not load its addon:", b); process.exit(1); }
const y = lib.instanceNorm(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), [2, 3, 4]);
const maps = fs.readFileSync("/proc/self/maps", "utf8").split("\n");
const addons = [...new Set(maps.filter((l) => /\.node$/.test(l)).map((l) => l.slice(l.indexOf("/"))))];
const asan = maps.some((l) => /libasan\.so/.test(l));
const mine = addons.filter((p) => p.startsWith(fs.realpathSync(process.cwd()) + path.sep));
console.log("asan-run: loaded", addons.join(", "), "| libasan mapped:", asan, "| backend:", JSON.stringify(b), "| y[0] =", y[0]);
if (!asan || mine.length !== 1 || addons.length !== 1) { console.error("asan-run: expected exactly the ASan addon of", process.cwd()); process.exit(1); }
'

status=0
# Each part's output is also kept, to find UBSan's stderr-only reports in it.
out="$repo/build-asan/output.log"
: >"$out"
run() {
  echo "asan-run: $*"
  "$@" 2>&1 | tee -a "$out" || status=$?
}
for part in "${parts[@]}"; do
  case "$part" in
    --suites)
      projects=()
      for p in ${INSTNORM_ASAN_PROJECTS:-api scalar avx2 avx512}; do projects+=(--project "$p"); done
      # The C++ microkernel tests are separate binaries, not the addon: they run in npm test.
      run npx vitest run "${projects[@]}" --exclude test/api/microkernels.test.ts --reporter=minimal --reporter=json ;;
    --fuzz) run npx vitest run --config test/hardening-ci/vitest.config.mts --project fuzz --reporter=minimal --reporter=json
      [ ! -f test-results/fuzz-all.json ] || node -e 'const s = require("./test-results/fuzz-all.json");
        console.log("asan-run: fuzz cases:", Object.entries(s.targets).map(([t, c]) => `${t} ${c.valid} valid + ${c.invalid} invalid`).join(", "),
          "| known findings hit:", JSON.stringify(s.knownFindings))' ;;
    --lifetime) run npx vitest run --config test/hardening-ci/vitest.config.mts --project lifetime --reporter=minimal --reporter=json ;;
    --stress) run npx vitest run --config test/hardening-ci/vitest.config.mts --project stress --reporter=minimal --reporter=json ;;
    *) echo "asan-run: unknown part $part" >&2; exit 2 ;;
  esac
done

if grep -q "runtime error:" "$out"; then
  echo "asan-run: UBSan reports:" >&2
  grep -B2 -A12 "runtime error:" "$out" | head -80 >&2
  status=1
fi
reports=("$logs"/*)
if [ -e "${reports[0]}" ]; then
  echo "asan-run: sanitizer reports:" >&2
  for f in "${reports[@]}"; do echo "== $f" >&2; head -60 "$f" >&2; done
  exit 1
fi
[ "$status" -eq 0 ] || { echo "asan-run: a suite failed (status $status)" >&2; exit "$status"; }
echo "asan-run: no sanitizer report"
