#!/usr/bin/env bash
# Request by request around each handover: samples/Hello with a standby (Baton:Standby=true), its Baton log at Debug with
# microsecond timestamps, under bench/timeline-client.cs (keep-alive, logs every request, never retries), sent SIGHUPS
# SIGHUPs INTERVAL seconds apart; bench/handover-timeline.cs then prints, for each SIGHUP, what each process logged and
# which requests took longer than usual - e.g. which waited for their connection to move, and how long.
#
#   bash bench/handover-timeline.sh [--only jit|aot] [--connections 16] [--sighups 3] [--interval 3.5]
#                                   [--path '/slow?ms=5'] [-- extra server arguments]
#
# Only 127.0.0.1; every process started here is ended by pid; the load is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
runtime=jit; connections=16; sighups=3; interval=3.5; path='/slow?ms=5'
while [ $# -gt 0 ]; do
  case $1 in
    --only) runtime=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --sighups) sighups=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case $runtime in jit) aot=false ;; aot) aot=true ;; *) echo "--only takes jit or aot" >&2; exit 2 ;; esac
bash scripts/apt-ensure.sh curl
source bench/lib.sh
out=bench/results/$(date -u +%Y-%m-%d)-handover-timeline-$runtime
rm -rf "$out"; mkdir -p "$out"
dir=artifacts/handover-timeline/$runtime; mkdir -p "$dir"
publish_hello "$dir" "$aot"
dotnet build bench/timeline-client.cs -c Release -o "$dir/client" -nologo -v quiet > /dev/null
dotnet build bench/handover-timeline.cs -c Release -o "$dir/reader" -nologo -v quiet > /dev/null

port=$(bench_port)
kill_on_exit "$dir"
rm -f "$dir/app.pid"
"${hello[@]}" --contentRoot "$PWD/$dir/hello" --urls "http://127.0.0.1:$port" --Baton:PidFile="$PWD/$dir/app.pid" \
  --Logging:LogLevel:Default=Warning --Logging:LogLevel:Baton=Debug --Baton:Standby=true \
  --Logging:Console:FormatterOptions:TimestampFormat='HH:mm:ss.ffffff ' --Logging:Console:FormatterOptions:UseUtcTimestamp=true \
  "$@" > "$out/server.log" 2>&1 &
first=$!
for _ in $(seq 1 600); do grep -q "hands over to it at the next SIGHUP" "$out/server.log" && break; sleep 0.05; done
seconds=$(awk -v n="$sighups" -v i="$interval" 'BEGIN { print n * i + 2 }')
timeout $((${seconds%.*} + 30)) dotnet "$dir/client/timeline-client.dll" --url "http://127.0.0.1:$port$path" \
  --connections "$connections" --seconds "$seconds" --log "$out/requests.log" > "$out/client.txt" &
load=$!
: > "$out/sighups.txt"
for _ in $(seq 1 "$sighups"); do
  sleep "$interval"
  old=$(cat "$dir/app.pid")
  echo "${EPOCHREALTIME/./}" >> "$out/sighups.txt"; kill -HUP "$old"
  # The next SIGHUP only once this handover is over (the new pid in the file, the old process gone).
  for _ in $(seq 1 200); do [ "$(cat "$dir/app.pid" 2>/dev/null)" != "$old" ] && ! kill -0 "$old" 2>/dev/null && break; sleep 0.05; done
done
wait "$load" || true
load=""
last=$(cat "$dir/app.pid"); kill -TERM "$last"
for _ in $(seq 1 100); do kill -0 "$last" 2>/dev/null || break; sleep 0.05; done
wait "$first" 2>/dev/null || true
cat "$out/client.txt"
dotnet "$dir/reader/handover-timeline.dll" "$out/server.log" "$out/requests.log" "$out/sighups.txt" | tee "$out/handovers.txt"
gzip -f "$out/server.log" "$out/requests.log"
echo "results: $out/"
