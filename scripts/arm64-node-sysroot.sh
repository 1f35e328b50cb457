#!/usr/bin/env bash
# Prints the path of a sysroot that runs Debian's arm64 Node (18.x, N-API 9)
# under qemu-user on an x86-64 Debian host, making it first if needed:
#   qemu-aarch64 -L "$R" "$R/usr/bin/node" ...
# The Debian arm64 packages are downloaded with apt and extracted with
# `dpkg -x` (nodejs:arm64 cannot be installed beside the host's Node). The
# folder is cached outside the clone ($INSTNORM_ARM64_SYSROOT, default
# /var/cache/instnorm/arm64-node) so repeated CI runs reuse it; it is made
# from nothing when absent. Progress goes to stderr.
set -euo pipefail

R="${INSTNORM_ARM64_SYSROOT:-/var/cache/instnorm/arm64-node}"
PACKAGES=(nodejs:arm64 libnode108:arm64 libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 libuv1:arm64
  libssl3:arm64 libicu72:arm64 zlib1g:arm64 libbrotli1:arm64 libc-ares2:arm64 libnghttp2-14:arm64
  node-cjs-module-lexer node-undici node-acorn)

works() { [ -x "$R/usr/bin/node" ] && [ "$(qemu-aarch64 -L "$R" "$R/usr/bin/node" -p process.arch 2>/dev/null)" = arm64 ]; }

if ! works; then
  command -v qemu-aarch64 >/dev/null || { echo "arm64-node-sysroot: qemu-aarch64 is missing: apt-get install qemu-user" >&2; exit 1; }
  echo "arm64-node-sysroot: making $R from Debian arm64 packages" >&2
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  apt-get update -qq >/dev/null
  work="$(mktemp -d)" && chmod 755 "$work"  # apt drops to user _apt to download
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq "${PACKAGES[@]}" >/dev/null)
  mkdir -p "$work/root"
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
  rm -rf "$R.tmp" && mkdir -p "$(dirname "$R")" && mv "$work/root" "$R.tmp"
  rm -rf "$R" && mv "$R.tmp" "$R"
  works || { echo "arm64-node-sysroot: $R/usr/bin/node does not run under qemu-aarch64" >&2; exit 1; }
fi
echo "$R"
