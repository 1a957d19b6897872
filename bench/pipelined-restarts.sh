#!/usr/bin/env bash
# A pipelining client across restarts: autocannon (4 requests pipelined per connection, no retries) against
# samples/Hello with 4 SIGHUPs, with MoveIdleConnections on (connections move to the new process) and off (today's
# drain: Connection: close, so requests pipelined behind it are lost).
#
#   bash bench/pipelined-restarts.sh [--duration 12] [--connections 50]
#
# Prints one row per mode: requests, errors, timeouts, non-2xx, and the handovers done. Only loopback is used;
# every process started here is ended by pid.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=12; connections=50
while [ $# -gt 0 ]; do
  case $1 in
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/apt-ensure.sh curl nodejs
source bench/lib.sh
command -v npm >/dev/null || bash scripts/apt-ensure.sh npm
out=artifacts/bench-pipelined
mkdir -p "$out"
[ -x "$out/node/node_modules/.bin/autocannon" ] || npm install --prefix "$out/node" --no-audit --no-fund --silent autocannon@8 >/dev/null
autocannon="$out/node/node_modules/.bin/autocannon"
dotnet publish samples/Hello -c Release -o "$out/hello" -nologo -v quiet

port=$(bench_port)
url="http://127.0.0.1:$port/"
server_pid=""
load_pid=""
cleanup() {
  for pid in $load_pid $server_pid $(cat "$out/app.pid" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

run() { # $1: true|false (MoveIdleConnections)
  rm -f "$out/app.pid"
  dotnet "$out/hello/Hello.dll" --urls "http://127.0.0.1:$port" --Baton:PidFile="$PWD/$out/app.pid" \
    --Baton:MoveIdleConnections="$1" --Logging:LogLevel:Default=Warning --Logging:LogLevel:Baton=Information \
    > "$out/server-$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do curl -fs -o /dev/null "$url" && [ -s "$out/app.pid" ] && break; sleep 0.05; done

  "$autocannon" -p 4 -c "$connections" -d "$duration" -j "$url" > "$out/autocannon-$1.json" 2>/dev/null &
  load_pid=$!
  local handovers=0
  sleep 2
  for _ in 1 2 3 4; do
    local old; old=$(cat "$out/app.pid")
    kill -HUP "$old"
    for _ in $(seq 1 600); do [ "$(cat "$out/app.pid" 2>/dev/null)" != "$old" ] && break; sleep 0.05; done
    [ "$(cat "$out/app.pid")" != "$old" ] && handovers=$((handovers + 1))
    # The next SIGHUP only once the old process is gone (a new one defers it until then anyway).
    for _ in $(seq 1 600); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
    sleep 1
  done
  wait "$load_pid" || true
  load_pid=""
  local pid; pid=$(cat "$out/app.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  node -e '
    const r = require(process.argv[1]);
    console.log(`| ${process.argv[2]} | ${r.requests.total} | ${r.errors} | ${r.timeouts} | ${r.non2xx} | ${process.argv[3]} |`);
  ' "$PWD/$out/autocannon-$1.json" "$1" "$handovers"
}

echo "autocannon -p 4 -c $connections -d $duration, 4 SIGHUPs"
echo "| MoveIdleConnections | requests | errors | timeouts | non-2xx | handovers |"
echo "| --- | --- | --- | --- | --- | --- |"
run false
run true
