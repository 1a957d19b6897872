#!/usr/bin/env bash
# Kept for old links and habits: the comparison now lives in bench/compare.sh (Baton against plain Kestrel, hey
# new-connection, hey keep-alive and wrk, with and without SIGHUPs, SIGHUP-to-serving, old process exit, peak RSS).
# This runs one runtime of it, as this script used to: JIT, or NativeAOT with --aot.
#
#   bash bench/restart-under-load.sh [--aot] [--duration 16] [--interval 2] [--connections 16] [--path '/slow?ms=5']
set -euo pipefail
only=jit
args=()
for a in "$@"; do
  if [ "$a" = --aot ]; then only=aot; else args+=("$a"); fi
done
exec bash "$(dirname "$0")/compare.sh" --only "$only" "${args[@]}"
