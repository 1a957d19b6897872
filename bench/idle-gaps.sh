#!/usr/bin/env bash
# Keep-alive clients that pause between requests, at random gaps around Baton:DrainIdleTimeout, and never retry:
# how many of their requests fail because the old process closed an idle connection just as the client sent on it.
# samples/Hello is sent RESTARTS SIGHUPs (each waits for the new pid in the pid file and the old process's exit, then
# INTERVAL seconds) while bench/idle-gaps.cs runs CLIENTS clients of each MODE in turn, one run per mode.
#
#   bash bench/idle-gaps.sh [--idle 0.5] [--gap-ms 1000] [--clients 20] [--restarts 20] [--interval 1]
#                           [--modes "naive careful httpclient"]
#
# --idle sets Baton:DrainIdleTimeout in seconds (default 2 s in the library; lower makes the run quick); gaps are
# uniform from 0 to --gap-ms (2 x the idle timeout by default). Only 127.0.0.1 is used; every process started here is
# ended by pid.
set -euo pipefail
cd "$(dirname "$0")/.."

idle=0.5; gap_ms=""; clients=20; restarts=20; interval=1; modes="naive careful httpclient"
while [ $# -gt 0 ]; do
  case $1 in
    --idle) idle=$2; shift ;;
    --gap-ms) gap_ms=$2; shift ;;
    --clients) clients=$2; shift ;;
    --restarts) restarts=$2; shift ;;
    --interval) interval=$2; shift ;;
    --modes) modes=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
gap_ms=${gap_ms:-$(awk -v i="$idle" 'BEGIN {printf "%d", i * 2000}')}
idle_timespan=$(awk -v i="$idle" 'BEGIN {printf "00:%02d:%06.3f", int(i / 60), i - 60 * int(i / 60)}')

bash scripts/apt-ensure.sh curl
out=artifacts/bench/idle-gaps
mkdir -p "$out"
dotnet publish samples/Hello -c Release -o "$out/hello" -nologo -v quiet
dotnet build bench/idle-gaps.cs -c Release -o "$out/client" -nologo -v quiet > /dev/null

port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port/"
server_pid=""; client_pid=""
cleanup() {
  [ -n "$client_pid" ] && kill -KILL "$client_pid" 2>/dev/null || true
  for pid in $server_pid $(cat "$out/app.pid" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
now_ms() { date +%s%3N; }

echo "samples/Hello (JIT), Baton:DrainIdleTimeout=${idle}s, gaps uniform 0-${gap_ms} ms, $clients clients, $restarts SIGHUPs, $(nproc) cores"
for mode in $modes; do
  rm -f "$out/app.pid"
  dotnet "$out/hello/Hello.dll" --urls "http://127.0.0.1:$port" --Baton:PidFile="$PWD/$out/app.pid" \
    --Baton:DrainIdleTimeout="$idle_timespan" --Logging:LogLevel:Default=Warning --Logging:LogLevel:Baton=Information > "$out/server-$mode.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do [ -s "$out/app.pid" ] && curl -fs -o /dev/null "$url" && break; sleep 0.05; done
  [ -s "$out/app.pid" ] || { echo "server did not start; log:" >&2; cat "$out/server-$mode.log" >&2; exit 1; }

  dotnet "$out/client/idle-gaps.dll" --url "$url" --mode "$mode" --clients "$clients" --gap-ms "$gap_ms" \
    --max-seconds 600 > "$out/client-$mode.txt" 2>&1 &
  client_pid=$!
  sleep 2
  for _ in $(seq 1 "$restarts"); do
    old=$(cat "$out/app.pid"); t0=$(now_ms)
    kill -HUP "$old"
    while [ "$(cat "$out/app.pid" 2>/dev/null)" = "$old" ]; do
      sleep 0.005; [ $(( $(now_ms) - t0 )) -gt 30000 ] && { echo "no handover within 30 s" >&2; exit 1; }
    done
    while kill -0 "$old" 2>/dev/null; do
      sleep 0.005; [ $(( $(now_ms) - t0 )) -gt 90000 ] && { echo "process $old did not exit within 90 s" >&2; exit 1; }
    done
    sleep "$interval"
  done
  kill -TERM "$client_pid"; wait "$client_pid" || true; client_pid=""
  kill -TERM "$(cat "$out/app.pid")"
  for _ in $(seq 1 200); do kill -0 "$(cat "$out/app.pid" 2>/dev/null || echo 0)" 2>/dev/null || break; sleep 0.05; done
  server_pid=""
  idle_closes=$(grep -c "OnlyIdleLeft" "$out/server-$mode.log" || true)
  echo "$(tail -1 "$out/client-$mode.txt") drains-ending-with-idle-close=$idle_closes"
done
