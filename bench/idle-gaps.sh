#!/usr/bin/env bash
# Keep-alive clients that pause between requests, at random gaps around Baton:DrainIdleTimeout, and never retry:
# how many of their requests fail because the old process closed an idle connection just as the client sent on it.
# samples/Hello is sent RESTARTS SIGHUPs (each waits for the new pid in the pid file and the old process's exit, then
# INTERVAL seconds) while bench/idle-gaps.cs runs CLIENTS clients of one mode; one run per mode.
#
#   bash bench/idle-gaps.sh [--idle 0.5] [--gap-ms 1000] [--clients 20] [--restarts 20] [--interval 1]
#                           [--modes "naive careful httpclient"] [--move "true false"]
#
# --idle sets Baton:DrainIdleTimeout in seconds (2 s is the library's default; lower makes the run quick); gaps are
# uniform from 0 to --gap-ms (2 x the idle timeout unless given). The last column counts the drains that ended by
# closing idle connections (DrainResult OnlyIdleLeft in the server log). Only 127.0.0.1 is used; every process started
# here is ended by pid. --move sets Baton:MoveIdleConnections; each value gets its own runs (default: on, then off).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

idle=0.5; gap_ms=""; clients=20; restarts=20; interval=1; modes="naive careful httpclient"; moves="true false"
while [ $# -gt 0 ]; do
  case $1 in
    --idle) idle=$2; shift ;;
    --gap-ms) gap_ms=$2; shift ;;
    --clients) clients=$2; shift ;;
    --restarts) restarts=$2; shift ;;
    --interval) interval=$2; shift ;;
    --modes) modes=$2; shift ;;
    --move) moves=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
gap_ms=${gap_ms:-$(awk -v i="$idle" 'BEGIN {printf "%d", i * 2000}')}
idle_timespan=$(awk -v i="$idle" 'BEGIN {printf "00:%02d:%06.3f", int(i / 60), i - 60 * int(i / 60)}')

bash scripts/apt-ensure.sh curl
out=artifacts/bench/idle-gaps
mkdir -p "$out"
publish_hello "$out" false
dotnet build bench/idle-gaps.cs -c Release -o "$out/client" -nologo -v quiet > /dev/null
port=$(bench_port)
client_pid=""
trap 'bench_cleanup "$out" $client_pid' EXIT

echo "samples/Hello (JIT), Baton:DrainIdleTimeout=${idle}s, gaps uniform 0-${gap_ms} ms, $clients clients, $restarts SIGHUPs, $(nproc) cores"
for move in $moves; do
for mode in $modes; do
  start_hello "$out" "$port" "$out/server-$mode.log" --Baton:DrainIdleTimeout="$idle_timespan" --Baton:MoveIdleConnections="$move"
  dotnet "$out/client/idle-gaps.dll" --url "http://127.0.0.1:$port/" --mode "$mode" --clients "$clients" --gap-ms "$gap_ms" \
    --max-seconds 600 > "$out/client-$mode.txt" 2>&1 &
  client_pid=$!
  sleep 2
  for _ in $(seq 1 "$restarts"); do
    restart_hello "$out"
    sleep "$interval"
  done
  kill -TERM "$client_pid"; wait "$client_pid" || true; client_pid=""
  stop_hello "$out"
  echo "MoveIdleConnections=$move $(tail -1 "$out/client-$mode.txt") drains-ending-with-idle-close=$(grep -c "OnlyIdleLeft" "$out/server-$mode.log" || true) moved=$(grep -o "moved [0-9]* idle" "$out/server-$mode.log" | awk '{n += $2} END {print n + 0}')"
done
done
