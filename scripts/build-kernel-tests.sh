#!/usr/bin/env bash
# Builds the C++ microkernel tests (native/test/microkernels_test.cc) into
# build-tests/:
#   microkernels_test-host       every ISA this CPU runs (x86-64: scalar, AVX2, AVX-512)
#   microkernels_test-avx512emu  the AVX-512 kernels on any x86-64 CPU, through SIMDe (libsimde-dev)
#   microkernels_test-arm64      scalar and NEON, cross-compiled, run under qemu-aarch64
# A variant whose toolchain is missing is skipped with a note, unless
# --require is given (CI), which makes it an error.
set -euo pipefail
cd "$(dirname "$0")/.."
require=0
[ "${1:-}" = "--require" ] && require=1

out=build-tests
mkdir -p "$out"
CXXFLAGS=(-std=c++17 -O2 -Wall -Wextra -Werror -Wno-maybe-uninitialized)
K=native/kernels
T=native/test/microkernels_test.cc
AVX512_FLAGS=(-mavx512f -mavx512bw -mavx512vl -mavx2 -mfma -Wno-uninitialized)

missing() {
  if [ "$require" = 1 ]; then echo "build-kernel-tests: $1" >&2; exit 1; fi
  echo "build-kernel-tests: skipping $1"
}

arch=$(uname -m)
if [ "$arch" = x86_64 ]; then
  tmp=$(mktemp -d)
  g++ "${CXXFLAGS[@]}" -c $K/isa_avx2.cc -mavx2 -mfma -o "$tmp/avx2.o"
  g++ "${CXXFLAGS[@]}" -c $K/isa_avx512.cc "${AVX512_FLAGS[@]}" -o "$tmp/avx512.o"
  g++ "${CXXFLAGS[@]}" -DINSTNORM_HAVE_AVX2 -DINSTNORM_HAVE_AVX512 $T $K/dispatch.cc $K/isa_scalar.cc \
    "$tmp/avx2.o" "$tmp/avx512.o" -o "$out/microkernels_test-host"
  echo "built $out/microkernels_test-host"
  if [ -f /usr/include/simde/x86/avx512.h ]; then
    # No ISA flags: SIMDe's portable code runs on any x86-64 CPU.
    g++ "${CXXFLAGS[@]}" -DINSTNORM_EMULATE_AVX512 -c $K/isa_avx512.cc -o "$tmp/avx512emu.o"
    g++ "${CXXFLAGS[@]}" -DINSTNORM_HAVE_AVX512 -DINSTNORM_EMULATE_AVX512 $T $K/dispatch.cc $K/isa_scalar.cc \
      "$tmp/avx512emu.o" -o "$out/microkernels_test-avx512emu"
    echo "built $out/microkernels_test-avx512emu"
  else
    missing "AVX-512 emulation needs SIMDe (apt-get install libsimde-dev)"
  fi
  rm -rf "$tmp"
  if command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null; then
    aarch64-linux-gnu-g++ "${CXXFLAGS[@]}" -static -DINSTNORM_HAVE_NEON $T $K/dispatch.cc $K/isa_scalar.cc $K/isa_neon.cc \
      -o "$out/microkernels_test-arm64"
    echo "built $out/microkernels_test-arm64"
  else
    missing "arm64 needs g++-aarch64-linux-gnu and qemu-user"
  fi
elif [ "$arch" = aarch64 ] || [ "$arch" = arm64 ]; then
  g++ "${CXXFLAGS[@]}" -DINSTNORM_HAVE_NEON $T $K/dispatch.cc $K/isa_scalar.cc $K/isa_neon.cc -o "$out/microkernels_test-host"
  echo "built $out/microkernels_test-host"
else
  g++ "${CXXFLAGS[@]}" $T $K/dispatch.cc $K/isa_scalar.cc -o "$out/microkernels_test-host"
  echo "built $out/microkernels_test-host"
fi
