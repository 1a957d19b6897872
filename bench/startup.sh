#!/usr/bin/env bash
# Where start-up time goes, with nothing else running on the server:
#  1. cold start, exec to the first 200 on "/", for samples/Hello with Baton and as plain Kestrel
#     (--Hello:PlainKestrel=true): NativeAOT, JIT, JIT with only Baton.dll ReadyToRun, JIT with DOTNET_TieredPGO=0,
#     the app published ReadyToRun, and the app and the framework published self-contained as one composite
#     ReadyToRun image;
#  2. a SIGHUP handover (NativeAOT and JIT, warm-up off and on): the new process's own "start-up:" log line (spawn to
#     UseBaton, to host start, to Kestrel listening, warm-up, pid file, to ready; the GCs, their pause and the bytes
#     allocated) and the old process's "ready after".
#
#   bash bench/startup.sh [--runs 11] [--sighups 10] [--label NAME]
#
# Prints medians (and every value) in markdown; writes them to bench/results/<date>-startup[-NAME]/. Only 127.0.0.1;
# every process started here is ended by pid.
set -euo pipefail
trap 'echo "startup.sh: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."

runs=11; sighups=10; label=""
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift ;;
    --sighups) sighups=$2; shift ;;
    --label) label=-$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/apt-ensure.sh curl clang-14 zlib1g-dev
source bench/lib.sh
results=bench/results/$(date -u +%Y-%m-%d)-startup$label
mkdir -p "$results"
work=artifacts/startup
rm -rf "$work"; mkdir -p "$work"
dotnet publish samples/Hello -c Release -p:PublishAot=true -o "$work/aot" -nologo -v quiet
dotnet publish samples/Hello -c Release -o "$work/jit" -nologo -v quiet
dotnet publish samples/Hello -c Release -p:PublishReadyToRun=true -r linux-x64 --self-contained false -o "$work/r2r" -nologo -v quiet
# The JIT build with only Baton.dll ReadyToRun-compiled (from the ReadyToRun publish): what Baton's own start-up
# compilation costs a JIT app.
cp -r "$work/jit" "$work/jit-baton-r2r"
cp "$work/r2r/Baton.dll" "$work/jit-baton-r2r/Baton.dll"
dotnet publish samples/Hello -c Release -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true -r linux-x64 --self-contained true \
  -o "$work/r2r-composite" -nologo -v quiet

server=""
trap '[ -n "$server" ] && kill -KILL "$server" 2>/dev/null || true; [ -f "$work/app.pid" ] && kill -KILL "$(cat "$work/app.pid")" 2>/dev/null || true' EXIT
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# cold NAME DIR ARGS...: ms from exec to the first 200, $runs times.
cold() {
  local name=$1 dir=$2; shift 2
  local values=() port t0 t1
  for _ in $(seq 1 "$runs"); do
    port=$(bench_port)
    t0=$(date +%s%N)
    (cd "$dir" && exec "$@" --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning > /dev/null 2>&1) &
    server=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do
      kill -0 "$server" 2>/dev/null || { echo "$name did not start" >&2; return 1; }
      sleep 0.002
    done
    t1=$(date +%s%N)
    values+=($(( (t1 - t0) / 1000000 )))
    kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
  done
  echo "| $name | $(printf '%s\n' "${values[@]}" | median) | $(printf '%s\n' "${values[@]}" | sort -n | tr '\n' ' ')|"
}

# handovers NAME DIR WARMUP ARGS...: $sighups SIGHUPs, one at a time; the new processes' start-up lines.
handovers() {
  local name=$1 dir=$2 warm=$3; shift 3
  local port log="$results/$name.log" old
  port=$(bench_port)
  rm -f "$work/app.pid"
  (cd "$dir" && exec "$@" --urls "http://127.0.0.1:$port" --Baton:PidFile="$PWD/../app.pid" --Baton:WarmUp="$warm" \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:Baton=Information > "$PWD/../$name.log" 2>&1) &
  server=$!
  for _ in $(seq 1 400); do [ -s "$work/app.pid" ] && break; sleep 0.025; done
  for _ in $(seq 1 "$sighups"); do
    old=$(cat "$work/app.pid")
    kill -HUP "$old"
    while kill -0 "$old" 2>/dev/null; do sleep 0.01; done
    sleep 0.2
  done
  kill -TERM "$(cat "$work/app.pid")"
  for _ in $(seq 1 200); do kill -0 "$(cat "$work/app.pid" 2>/dev/null || echo 0)" 2>/dev/null || break; sleep 0.05; done
  wait "$server" 2>/dev/null || true; server=""
  cp "$work/$name.log" "$log"
  # Median of each step over the handovers ("key<TAB>value" per step, then each key's median, in log order).
  local pairs steps="" key
  pairs=$(grep -o 'start-up: .*' "$log" | sed -E 's/start-up: //; s/; ([0-9.]+) ms in all/, in all \1/; s/; GC: ([0-9]+) collection\(s\), ([0-9.]+) ms paused, ([0-9.]+) MiB allocated/, GCs \1, GC pause \2, MiB allocated \3/' |
    awk -F', ' '{ for (i = 1; i <= NF; i++) { n = split($i, w, " "); k = $i; sub(/ [^ ]+$/, "", k); print k "\t" w[n] } }')
  while IFS= read -r key; do
    steps="$steps${steps:+, }$key $(printf '%s\n' "$pairs" | awk -F'\t' -v k="$key" '$1 == k {print $2}' | median)"
  done < <(printf '%s\n' "$pairs" | cut -f1 | awk '!seen[$0]++')
  local ready
  ready=$(grep -o 'ready after [0-9]* ms' "$log" | awk '{print $3}' | median)
  echo "| $name | $ready | $steps |"
}

{
  echo "## Cold start, exec to the first 200 (ms, $runs runs)"
  echo
  echo "| app | median | every run |"
  echo "| --- | ---: | --- |"
  cold "NativeAOT, Baton" "$work/aot" ./Hello
  cold "NativeAOT, plain Kestrel" "$work/aot" ./Hello --Hello:PlainKestrel=true
  cold "JIT, Baton" "$work/jit" dotnet Hello.dll
  cold "JIT, plain Kestrel" "$work/jit" dotnet Hello.dll --Hello:PlainKestrel=true
  cold "JIT, Baton.dll alone ReadyToRun" "$work/jit-baton-r2r" dotnet Hello.dll
  cold "JIT, Baton, DOTNET_TieredPGO=0" "$work/jit" env DOTNET_TieredPGO=0 dotnet Hello.dll
  cold "ReadyToRun, Baton" "$work/r2r" dotnet Hello.dll
  cold "ReadyToRun, plain Kestrel" "$work/r2r" dotnet Hello.dll --Hello:PlainKestrel=true
  cold "ReadyToRun composite, self-contained, Baton" "$work/r2r-composite" ./Hello
  cold "ReadyToRun composite, self-contained, plain Kestrel" "$work/r2r-composite" ./Hello --Hello:PlainKestrel=true
  echo
  echo "## Handover, the new process's start-up (median ms over $sighups SIGHUPs, one at a time, no load)"
  echo
  echo "| app | ready after (old process's log) | steps (new process's log) |"
  echo "| --- | ---: | --- |"
  handovers aot-cold "$work/aot" false ./Hello
  handovers aot-warm "$work/aot" true ./Hello
  handovers jit-cold "$work/jit" false dotnet Hello.dll
  handovers jit-warm "$work/jit" true dotnet Hello.dll
  handovers jit-baton-r2r-cold "$work/jit-baton-r2r" false dotnet Hello.dll
  handovers jit-baton-r2r-warm "$work/jit-baton-r2r" true dotnet Hello.dll
  handovers r2r-warm "$work/r2r" true dotnet Hello.dll
  handovers r2r-composite-cold "$work/r2r-composite" false ./Hello
  handovers r2r-composite-warm "$work/r2r-composite" true ./Hello
} | tee "$results/startup.md"
