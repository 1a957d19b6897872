#!/usr/bin/env bash
# Where the JIT's work goes around one SIGHUP with a standby (Baton:Standby), under the JIT (`dotnet Hello.dll`): runs
# samples/Hello with EventPipe writing the runtime's JIT events (keyword 0x10, verbose) for every process, puts wrk on
# it (16 connections, /slow?ms=5), sends one SIGHUP WAIT seconds into the load, and reads the trace of the process that
# took over with bench/jit-trace.cs: what was compiled per 250 ms, and in its first 2 s of serving.
#
#   bash bench/jit-trace.sh [--wait 3] [-- extra server arguments, e.g. --Baton:StandbyIdle=true]
#
# The longer the standby waits under load before the SIGHUP, the more of the JIT's promotions it has made before it
# serves. Only 127.0.0.1; every process started here is ended by pid; the load is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
wait_s=3
while [ $# -gt 0 ]; do
  case $1 in
    --wait) wait_s=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bash scripts/apt-ensure.sh wrk curl
source bench/lib.sh
out=bench/results/$(date -u +%Y-%m-%d)-jit-trace-wait$wait_s
rm -rf "$out"; mkdir -p "$out"
dir=artifacts/jit-trace; mkdir -p "$dir"
# The traces (a few MB each) stay under artifacts/; the results keep what was read from them.
traces=$dir/traces; rm -rf "$traces"; mkdir -p "$traces"
publish_hello "$dir" false
dotnet build bench/jit-trace.cs -c Release -o "$dir/reader" -nologo -v quiet > /dev/null

port=$(bench_port)
kill_on_exit "$dir"
rm -f "$dir/app.pid"
DOTNET_EnableEventPipe=1 DOTNET_EventPipeOutputPath="$PWD/$traces/trace_{pid}.nettrace" \
  DOTNET_EventPipeConfig='Microsoft-Windows-DotNETRuntime:0x10:5' \
  "${hello[@]}" --contentRoot "$PWD/$dir/hello" --urls "http://127.0.0.1:$port" --Baton:PidFile="$PWD/$dir/app.pid" \
  --Logging:LogLevel:Default=Warning --Logging:LogLevel:Baton=Debug --Baton:Standby=true "$@" > "$out/server.log" 2>&1 &
first=$!
for _ in $(seq 1 600); do grep -q "hands over to it at the next SIGHUP" "$out/server.log" && break; sleep 0.05; done
timeout $((wait_s + 20)) wrk -t2 -c16 -d$((wait_s + 6))s --latency "http://127.0.0.1:$port/slow?ms=5" > "$out/wrk.txt" &
load=$!
sleep "$wait_s"
old=$(cat "$dir/app.pid")
sighup=$(now_ms); kill -HUP "$old"
for _ in $(seq 1 600); do new=$(cat "$dir/app.pid" 2>/dev/null || true); [ -n "$new" ] && [ "$new" != "$old" ] && break; sleep 0.01; done
wait "$load" || true
kill -TERM "$new"
for _ in $(seq 1 300); do kill -0 "$new" 2>/dev/null || break; sleep 0.05; done
wait "$first" 2>/dev/null || true
echo "SIGHUP at $sighup to $old; $new took over" | tee "$out/sighup.txt"
grep -h "warmed up on while it waited\|first 2 s of serving" "$out/server.log" | sed 's/^ *//' | tee "$out/summary.txt"
dotnet "$dir/reader/jit-trace.dll" "$traces/trace_$new.nettrace" "$sighup" | tee "$out/jit-$new.txt"
gzip -f "$out/server.log"
echo "results: $out/ (traces: $traces/)"
