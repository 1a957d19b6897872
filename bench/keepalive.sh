#!/usr/bin/env bash
# Keep-alive clients that never retry, across restarts: wrk (keep-alive connections, no retry of any kind) against
# samples/Hello while it is sent RESTARTS SIGHUPs, one after the other: each SIGHUP waits for the new pid in the pid file
# and for the old process to exit, then INTERVAL seconds. wrk runs for as long as that takes (bounded at 300 s) and is
# then stopped with SIGINT, which makes it print its totals.
#
#   bash bench/keepalive.sh [--aot] [--restarts 20] [--interval 0.5] [--connections 50]
#
# Prints requests, socket errors (connect, read, write, timeout), non-2xx answers, and the restarts done. Only
# 127.0.0.1 is used; every process started here is ended by pid.
set -euo pipefail
cd "$(dirname "$0")/.."

restarts=20; interval=0.5; connections=50; aot=false
while [ $# -gt 0 ]; do
  case $1 in
    --aot) aot=true ;;
    --restarts) restarts=$2; shift ;;
    --interval) interval=$2; shift ;;
    --connections) connections=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/apt-ensure.sh wrk curl
out=artifacts/bench/keepalive
mkdir -p "$out"
if $aot; then
  bash scripts/apt-ensure.sh clang-14 zlib1g-dev
  dotnet publish samples/Hello -c Release -p:PublishAot=true -o "$out/hello" -nologo -v quiet
  app=("$out/hello/Hello")
else
  dotnet publish samples/Hello -c Release -o "$out/hello" -nologo -v quiet
  app=(dotnet "$out/hello/Hello.dll")
fi

port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port/"
server_pid=""; wrk_pid=""
cleanup() {
  [ -n "$wrk_pid" ] && kill -KILL "$wrk_pid" 2>/dev/null || true
  for pid in $server_pid $(cat "$out/app.pid" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

rm -f "$out/app.pid"
"${app[@]}" --urls "http://127.0.0.1:$port" --Baton:PidFile="$PWD/$out/app.pid" \
  --Logging:LogLevel:Default=Warning --Logging:LogLevel:Baton=Information > "$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do [ -s "$out/app.pid" ] && curl -fs -o /dev/null "$url" && break; sleep 0.05; done
[ -s "$out/app.pid" ] || { echo "server did not start; log:" >&2; cat "$out/server.log" >&2; exit 1; }

now_ms() { date +%s%3N; }

wrk -t2 -c "$connections" -d 300s "$url" > "$out/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 1
done_restarts=0
for _ in $(seq 1 "$restarts"); do
  old=$(cat "$out/app.pid")
  t0=$(now_ms)
  kill -HUP "$old"
  while [ "$(cat "$out/app.pid" 2>/dev/null)" = "$old" ]; do
    sleep 0.005
    [ $(( $(now_ms) - t0 )) -gt 30000 ] && { echo "no handover within 30 s" >&2; exit 1; }
  done
  # A SIGHUP to the new process is deferred while the old one drains: wait for it to exit.
  while kill -0 "$old" 2>/dev/null; do
    sleep 0.005
    [ $(( $(now_ms) - t0 )) -gt 90000 ] && { echo "process $old did not exit within 90 s" >&2; exit 1; }
  done
  done_restarts=$((done_restarts + 1))
  sleep "$interval"
done
kill -INT "$wrk_pid"
wait "$wrk_pid" || true
wrk_pid=""

requests=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
socket=$(awk '/Socket errors/ {gsub(/,/,""); print $4+$6+$8+$10}' "$out/wrk.txt"); socket=${socket:-0}
non2xx=$(awk '/Non-2xx/ {print $5}' "$out/wrk.txt"); non2xx=${non2xx:-0}
kill -TERM "$(cat "$out/app.pid")"
for _ in $(seq 1 200); do kill -0 "$(cat "$out/app.pid" 2>/dev/null || echo 0)" 2>/dev/null || break; sleep 0.05; done

echo "samples/Hello ($($aot && echo NativeAOT || echo JIT)), wrk -t2 -c$connections, $(nproc) cores"
printf '%-10s %14s %9s %9s\n' restarts requests "socket errors" non-2xx
printf '%-10s %14s %9s %9s\n' "$done_restarts" "$requests" "$socket" "$non2xx"
cat "$out/wrk.txt"
[ "$socket" = 0 ] && [ "$non2xx" = 0 ]
