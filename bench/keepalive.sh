#!/usr/bin/env bash
# Keep-alive clients that never retry, across restarts: wrk (keep-alive connections, no retry of any kind) against
# samples/Hello while it is sent RESTARTS SIGHUPs, one after the other: each SIGHUP waits for the new pid in the pid file
# and for the old process to exit, then INTERVAL seconds. wrk runs for as long as that takes (bounded at 300 s) and is
# then stopped with SIGINT, which makes it print its totals.
#
#   bash bench/keepalive.sh [--aot] [--restarts 20] [--interval 0.5] [--connections 50]
#
# Prints requests, socket errors (connect, read, write, timeout), non-2xx answers, and the restarts done; exits 1 if
# there was any error. Only 127.0.0.1 is used; every process started here is ended by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

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
publish_hello "$out" "$aot"
port=$(bench_port)
wrk_pid=""
trap 'bench_cleanup "$out" $wrk_pid' EXIT
start_hello "$out" "$port" "$out/server.log"

wrk -t2 -c "$connections" -d 300s "http://127.0.0.1:$port/" > "$out/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 1
done_restarts=0
for _ in $(seq 1 "$restarts"); do
  restart_hello "$out"
  done_restarts=$((done_restarts + 1))
  sleep "$interval"
done
kill -INT "$wrk_pid"
wait "$wrk_pid" || true
wrk_pid=""
stop_hello "$out"

requests=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
socket=$(awk '/Socket errors/ {gsub(/,/,""); print $4+$6+$8+$10}' "$out/wrk.txt"); socket=${socket:-0}
non2xx=$(awk '/Non-2xx/ {print $5}' "$out/wrk.txt"); non2xx=${non2xx:-0}
echo "samples/Hello ($($aot && echo NativeAOT || echo JIT)), wrk -t2 -c$connections, $(nproc) cores"
printf '%-10s %14s %14s %9s\n' restarts requests "socket errors" non-2xx
printf '%-10s %14s %14s %9s\n' "$done_restarts" "$requests" "$socket" "$non2xx"
cat "$out/wrk.txt"
[ "$socket" = 0 ] && [ "$non2xx" = 0 ]
