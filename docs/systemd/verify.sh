#!/usr/bin/env bash
# Checks the units in this folder with `systemd-analyze verify`, as shipped (paths included): in a scratch root that
# has this machine's own units (the targets they depend on) and a stand-in for each executable they run (verify refuses
# a command that is not there). Any line of output is a finding, and fails the check. Needs systemd-analyze (Debian
# package systemd); systemd itself need not be running.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
units=()
for unit in "$here"/*.service "$here"/*.socket; do
  cp "$unit" "$root/etc/systemd/system/"
  units+=("$(basename "$unit")")
done

# The executable of every Exec*= line (after systemd's prefixes such as "-" or "+").
grep -hoE '^Exec[A-Za-z]*=[-@:+!]*/[^ ]+' "$here"/*.service | sed -E 's/^[^=]+=[-@:+!]*//' | sort -u |
  while read -r executable; do
    mkdir -p "$root$(dirname "$executable")"
    printf '#!/bin/sh\n' > "$root$executable"
    chmod +x "$root$executable"
  done

if ! output=$(systemd-analyze verify --root="$root" "${units[@]}" 2>&1) || [ -n "$output" ]; then
  printf '%s\n' "$output"
  exit 1
fi
echo "verified: ${units[*]}"
