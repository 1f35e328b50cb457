#!/usr/bin/env bash
# Builds the C++ microkernel tests (native/test/) into build-tests/:
#   microkernels_test-host       every ISA this CPU runs (x86-64: scalar, AVX2, AVX-512)
#   microkernels_test-avx512emu  the AVX-512 kernels on any x86-64 CPU, through SIMDe (libsimde-dev)
#   microkernels_test-arm64      scalar and NEON, cross-compiled, run under qemu-aarch64
# The ISAs, their flags and the flags common to every build come from
# native/kernels/isas.def (through native/build-config.js): the tests are
# compiled exactly as the addon is, plus -Werror.
# A variant whose toolchain is missing is skipped with a note, unless
# --require is given (CI), which makes it an error.
set -euo pipefail
cd "$(dirname "$0")/.."
require=0
[ "${1:-}" = "--require" ] && require=1

out=build-tests
mkdir -p "$out"
config() { node native/build-config.js "$@"; }
read -r -a COMMON <<< "$(config common gcc)"
# -Wno-psabi: GCC notes that vectors wider than the unit's ISA (exact_stats.h's
# 32-byte double vectors in the scalar unit) are passed differently from the
# wider ISA's convention; kernel code has internal linkage, never called
# across units, so the note is moot, but -Werror made it fatal.
FLAGS=("${COMMON[@]}" -Werror -Wno-psabi)
K=native/kernels
T=native/test

missing() {
  if [ "$require" = 1 ]; then echo "build-kernel-tests: $1" >&2; exit 1; fi
  echo "build-kernel-tests: skipping $1"
}

# build <compiler> <arch> <name> [extra flags...]: every ISA of <arch>, each
# with its own flags, linked with the tests. INSTNORM_EMULATE_AVX512 among
# the extra flags compiles the AVX-512 code without AVX-512 flags (SIMDe).
build() {
  local cxx=$1 arch=$2 name=$3
  shift 3
  local extra=("$@") tmp objs=() isa flags
  tmp=$(mktemp -d)
  while read -r isa flags; do
    local isa_flags=()
    read -r -a isa_flags <<< "$flags"
    if [ "$isa" = avx512 ] && [[ " ${extra[*]-} " == *" -DINSTNORM_EMULATE_AVX512 "* ]]; then
      isa_flags=()
    fi
    for src in $K/kernel_table.cc $T/vec_test.cc; do
      "$cxx" "${FLAGS[@]}" ${extra[@]+"${extra[@]}"} "${isa_flags[@]}" -DINSTNORM_TARGET_ISA="$isa" \
        -c "$src" -o "$tmp/$isa-$(basename "$src" .cc).o"
      objs+=("$tmp/$isa-$(basename "$src" .cc).o")
    done
  done < <(config isa-lines "$arch" gcc)
  "$cxx" "${FLAGS[@]}" ${extra[@]+"${extra[@]}"} $T/microkernels_test.cc $T/harness.cc $K/dispatch.cc \
    "${objs[@]}" -o "$out/microkernels_test-$name"
  rm -rf "$tmp"
  echo "built $out/microkernels_test-$name"
}

arch=$(uname -m)
if [ "$arch" = x86_64 ]; then
  build g++ x64 host
  if [ -f /usr/include/simde/x86/avx512.h ]; then
    # (-Wno-psabi: GCC notes that SIMDe passes 64-byte vectors by value.)
    build g++ x64 avx512emu -DINSTNORM_EMULATE_AVX512 -Wno-psabi
  else
    missing "AVX-512 emulation needs SIMDe (apt-get install libsimde-dev)"
  fi
  if command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null; then
    build aarch64-linux-gnu-g++ arm64 arm64 -static
  else
    missing "arm64 needs g++-aarch64-linux-gnu and qemu-user"
  fi
else
  build g++ "$arch" host
fi
