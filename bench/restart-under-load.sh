#!/usr/bin/env bash
# Restart under load: samples/Hello under `hey -disable-keepalive` (a new connection per request) and under `wrk`
# (keep-alive, no retries), each for DURATION seconds, with a SIGHUP every INTERVAL seconds and without restarts, and
# plain Kestrel (the same app without Baton) as the baseline measured in the same run.
#
#   bash bench/restart-under-load.sh [--aot] [--duration 20] [--interval 2] [--connections 50]
#
# Prints one row per run: requests, failed requests (errors + non-2xx), p50/p99 latency, restarts, and the median
# SIGHUP-to-new-pid-serving time (from the SIGHUP being sent to the new pid in the pid file, which a process writes
# only once it serves). Only loopback is used; every process started here is ended by pid.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=20; interval=2; connections=50; aot=false
while [ $# -gt 0 ]; do
  case $1 in
    --aot) aot=true ;;
    --duration) duration=$2; shift ;;
    --interval) interval=$2; shift ;;
    --connections) connections=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/apt-ensure.sh wrk hey curl
out=artifacts/bench
mkdir -p "$out"
source bench/lib.sh
publish_hello "$out" "$aot"
app=("${hello[@]}")

port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port/"
server_pid=""
cleanup() {
  # The serving generation is the one in the pid file; the first is ours too.
  for pid in $server_pid $(cat "$out/app.pid" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

start_server() { # $1: extra args
  rm -f "$out/app.pid"
  # shellcheck disable=SC2086
  "${app[@]}" --urls "http://127.0.0.1:$port" --Baton:PidFile="$PWD/$out/app.pid" \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:Baton=Information $1 > "$out/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do curl -fs -o /dev/null "$url" && return 0; sleep 0.05; done
  echo "server did not start; log:" >&2; cat "$out/server.log" >&2; exit 1
}

stop_server() {
  local pid; pid=$(cat "$out/app.pid" 2>/dev/null || echo "$server_pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

now_ms() { date +%s%3N; }

restart_loop() { # SIGHUP every $interval s until $1 (epoch ms); handover times to $out/handover.ms
  : > "$out/handover.ms"
  local end=$1
  sleep "$interval"
  while [ "$(now_ms)" -lt $((end - interval * 1000)) ]; do
    local old; old=$(cat "$out/app.pid")
    local t0; t0=$(now_ms)
    kill -HUP "$old"
    while [ "$(cat "$out/app.pid" 2>/dev/null)" = "$old" ]; do
      sleep 0.002
      [ $(( $(now_ms) - t0 )) -gt 30000 ] && { echo "no handover within 30 s" >&2; break; }
    done
    echo $(( $(now_ms) - t0 )) >> "$out/handover.ms"
    sleep "$interval"
  done
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

to_ms() { # "0.0123 secs" or "1.23ms"/"850.00us"/"1.2s" -> ms
  awk '{v=$1; u=$2; if (u=="") { u=v; gsub(/[0-9.]/,"",u); gsub(/[a-z]/,"",v) }
        if (u=="secs"||u=="s") v*=1000; else if (u=="us") v/=1000; printf "%.2f", v}'
}

run() { # $1 label, $2 tool (hey|wrk), $3 restarts (yes|no), $4 extra server args
  local label=$1 tool=$2 restarts=$3
  start_server "${4:-}"
  local end=$(( $(now_ms) + duration * 1000 ))
  local loop_pid=""
  if [ "$restarts" = yes ]; then restart_loop "$end" & loop_pid=$!; fi
  if [ "$tool" = hey ]; then
    hey -z "${duration}s" -c "$connections" -disable-keepalive "$url" > "$out/load.txt" 2>&1 || true
  else
    wrk -t2 -c "$connections" -d "${duration}s" --latency "$url" > "$out/load.txt" 2>&1 || true
  fi
  [ -n "$loop_pid" ] && wait "$loop_pid"
  local requests failed p50 p99
  if [ "$tool" = hey ]; then
    local ok; ok=$(awk '/\[200\]/ {print $2}' "$out/load.txt"); ok=${ok:-0}
    local other; other=$(awk '/Status code distribution/ {f=1; next} f && /\[[0-9]+\]/ && !/\[200\]/ {s+=$2} /Error distribution/ {f=0} END {print s+0}' "$out/load.txt")
    local errors; errors=$(awk '/Error distribution/ {f=1; next} f && /\[[0-9]+\]/ {gsub(/[\[\]]/,"",$1); s+=$1} END {print s+0}' "$out/load.txt")
    requests=$((ok + other + errors)); failed=$((other + errors))
    p50=$(awk '/ 50% in/ {print $3, $4}' "$out/load.txt" | to_ms)
    p99=$(awk '/ 99% in/ {print $3, $4}' "$out/load.txt" | to_ms)
  else
    requests=$(awk '/requests in/ {print $1}' "$out/load.txt")
    local socket; socket=$(awk '/Socket errors/ {gsub(/,/,""); print $4+$6+$8+$10}' "$out/load.txt"); socket=${socket:-0}
    local non2xx; non2xx=$(awk '/Non-2xx/ {print $5}' "$out/load.txt"); non2xx=${non2xx:-0}
    failed=$((socket + non2xx))
    p50=$(awk '$1=="50%" {print $2}' "$out/load.txt" | to_ms)
    p99=$(awk '$1=="99%" {print $2}' "$out/load.txt" | to_ms)
  fi
  local count="-" handover="-"
  if [ "$restarts" = yes ]; then count=$(wc -l < "$out/handover.ms"); handover=$(median < "$out/handover.ms"); fi
  stop_server
  printf '%-34s %9s %7s %9s %9s %9s %13s\n' "$label" "$requests" "$failed" "$p50" "$p99" "$count" "$handover"
  cp "$out/load.txt" "$out/$(echo "$label" | tr ' /' '__').txt"
}

echo "samples/Hello ($($aot && echo NativeAOT || echo JIT)), ${duration}s per run, $connections connections, SIGHUP every ${interval}s, $(nproc) cores"
printf '%-34s %9s %7s %9s %9s %9s %13s\n' run requests failed "p50 ms" "p99 ms" restarts "handover ms"
run "hey no-keepalive, plain Kestrel" hey no "--Hello:PlainKestrel=true"
run "hey no-keepalive, Baton" hey no
run "hey no-keepalive, Baton, SIGHUPs" hey yes
run "wrk keep-alive, plain Kestrel" wrk no "--Hello:PlainKestrel=true"
run "wrk keep-alive, Baton" wrk no
run "wrk keep-alive, Baton, SIGHUPs" wrk yes
