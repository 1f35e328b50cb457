#!/usr/bin/env bash
# Builds and runs bench/native/microkernels_bench.cc: per-kernel times next
# to memcpy, for each ISA this CPU runs. Args: C M [isa] (default 64 65536, all ISAs).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build-tests
tmp=$(mktemp -d)
F=(-std=c++17 -O3 -Wall)
g++ "${F[@]}" -c native/kernels/isa_avx2.cc -mavx2 -mfma -o "$tmp/a.o"
g++ "${F[@]}" -c native/kernels/isa_avx512.cc -mavx512f -mavx512bw -mavx512vl -mavx2 -mfma -Wno-maybe-uninitialized -Wno-uninitialized -o "$tmp/b.o"
g++ "${F[@]}" -DINSTNORM_HAVE_AVX2 -DINSTNORM_HAVE_AVX512 bench/native/microkernels_bench.cc native/kernels/dispatch.cc \
  native/kernels/isa_scalar.cc native/ops/group_norm.cc native/runtime/thread_pool.cc -pthread "$tmp/a.o" "$tmp/b.o" -o build-tests/microkernels_bench
rm -rf "$tmp"
./build-tests/microkernels_bench "$@"
