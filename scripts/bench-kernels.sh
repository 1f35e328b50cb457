#!/usr/bin/env bash
# Builds and runs bench/native/microkernels_bench.cc: every kernel of the
# manifest, timed next to memcpy, for each ISA this CPU runs. Args: C M [isa]
# (default 64 65536, all ISAs). Compiled as the addon is: the ISAs and all
# flags come from native/kernels/isas.def (through native/build-config.js).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build-tests
config() { node native/build-config.js "$@"; }
read -r -a COMMON <<< "$(config common gcc)"
arch=$(uname -m)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
objs=()
while read -r isa flags; do
  read -r -a isa_flags <<< "$flags"
  g++ "${COMMON[@]}" ${isa_flags[@]+"${isa_flags[@]}"} -DINSTNORM_TARGET_ISA="$isa" \
    -c native/kernels/kernel_table.cc -o "$tmp/$isa.o"
  objs+=("$tmp/$isa.o")
done < <(config isa-lines "$arch" gcc)
g++ "${COMMON[@]}" bench/native/microkernels_bench.cc native/kernels/dispatch.cc "${objs[@]}" \
  -o build-tests/microkernels_bench
./build-tests/microkernels_bench "$@"
