#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into
# its own folder (default build-asan/cmake), leaving build-cmake/ alone.
# CMakeLists.txt is unchanged: the flags go in through cmake-js's --CD
# options (CMAKE_CXX_FLAGS_RELEASE, which cmake-js does not set itself, and
# the shared-library link flags), and a compiler launcher
# (scripts/asan-cxx.sh) that turns the target's -O3 into -O1: the same
# build at -O3 takes ~4 min here instead of ~1.
#
# Usage: scripts/asan-build.sh [out-dir]    (prints the path of the .node)
# Run node against it with the ASan runtime first (see scripts/asan-run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-build-asan/cmake}"
# The folder ignores itself (no change to the repository's .gitignore).
mkdir -p build-asan && echo '*' >build-asan/.gitignore
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g"
export npm_config_nodedir="${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}"
case "$npm_config_nodedir" in undefined|null|"") unset npm_config_nodedir ;; esac

# rebuild, not compile: cmake-js reuses a configured folder and would ignore changed --CD options.
npx cmake-js rebuild -O "$out" \
  --CDCMAKE_CXX_FLAGS_RELEASE="-DNDEBUG $san" \
  --CDCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  --CDCMAKE_CXX_COMPILER_LAUNCHER="$PWD/scripts/asan-cxx.sh" >"$out.log" 2>&1 || {
  tail -40 "$out.log" >&2
  echo "asan-build: cmake-js failed (full log: $out.log)" >&2
  exit 1
}
addon="$out/Release/instnorm.node"
test -f "$addon" || { echo "asan-build: $addon was not built" >&2; exit 1; }
# Check the flags reached the compiler and the linker: the sanitizer runtimes
# are needed and the code calls into them. (Whole outputs are captured:
# `grep -q` on a pipe would stop the writer early and fail under pipefail.)
libs="$(ldd "$addon")"
syms="$(nm -D "$addon")"
case "$libs" in *libasan*) ;; *) echo "asan-build: $addon is not linked against libasan" >&2; exit 1 ;; esac
case "$libs" in *libubsan*) ;; *) echo "asan-build: $addon is not linked against libubsan" >&2; exit 1 ;; esac
case "$syms" in *__asan_report*) ;; *) echo "asan-build: $addon has no ASan checks" >&2; exit 1 ;; esac
case "$syms" in *__ubsan_handle*) ;; *) echo "asan-build: $addon has no UBSan checks" >&2; exit 1 ;; esac
echo "$addon"
