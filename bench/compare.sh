#!/usr/bin/env bash
# One command for the whole comparison: samples/Hello with Baton - as it is by default, and with a standby
# (--Baton:Standby=true) - against plain Kestrel (the same app with --Hello:PlainKestrel=true, which skips UseBaton),
# under the JIT (`dotnet Hello.dll`) and NativeAOT, under
# `hey -disable-keepalive` (a new connection per request), `hey` (keep-alive) and `wrk` (keep-alive), with a SIGHUP
# every INTERVAL seconds and without. Plain Kestrel runs only without restarts: it cannot restart.
#
#   bash bench/compare.sh [--duration 16] [--interval 2 (whole seconds)] [--connections 16] [--path '/slow?ms=5'] [--only jit|aot|r2rc]
#                         [--baton-args '--Baton:WarmUp=false ...'] [--label NAME] [--no-standby]
#                         [--clients 'hey-newconn hey-keepalive wrk timeline'] [--servers 'plain baton standby']
#
# --clients and --servers run a part of the table (for comparing settings quickly; the default is all of it).
# --baton-args are added to every Baton server's command line (not plain Kestrel's), to compare settings; --label names
# the results (table-NAME.md). The servers run with their publish directory as content root, so samples/Hello's
# appsettings.json applies (Baton:WarmUpPaths among them).
#
# Prints a markdown table (and writes it with the raw outputs to bench/results/<date>-compare/):
#   req/s, p50, p99        as hey or wrk report them;
#   failed                 every error hey or wrk reports (connect, read, write, timeout) plus non-2xx answers;
#   restarts               SIGHUPs sent (one every INTERVAL s, each only once the previous old process has exited);
#   SIGHUP to serving      median ms from sending SIGHUP to the new pid in the pid file (written once it serves);
#   old process exit       median ms from sending SIGHUP to the old pid gone (drained and exited);
#   peak RSS               MiB, the largest sum of VmRSS over every server process (old and new), sampled ~every 50 ms.
# It also runs bench/timeline-client.cs (keep-alive HTTP/1.1, never retries) with restarts once per runtime, because it
# logs every request (start, status, duration), failed ones too - hey's CSV drops errors, wrk prints only totals, and
# h2load neither logs nor counts a request lost with its connection: those runs draw docs/benchmarks-timeline.png
# (requests/s and p99 per 100 ms, SIGHUPs and failed requests marked; gnuplot) and are their own rows in the table.
# With a standby it runs too (its own row; its log, RUNTIME-standby-timeline-restarts.log, is kept for a look at each
# handover's requests, e.g. which waited for their connection to move; the plot stays Baton's default).
#
# Only 127.0.0.1 is used; every process started here is ended by pid on exit; every load is bounded in time.
set -euo pipefail
trap 'echo "compare.sh: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."

duration=16; interval=2; connections=16; path='/slow?ms=5'; only=""; baton_args=""; label=""; no_standby=""
clients="hey-newconn hey-keepalive wrk timeline"; servers="plain baton standby"
while [ $# -gt 0 ]; do
  case $1 in
    --duration) duration=$2; shift ;;
    --interval) interval=$2; shift ;;
    --connections) connections=$2; shift ;;
    --path) path=$2; shift ;;
    --only) only=$2; shift ;;
    --baton-args) baton_args=$2; shift ;;
    --label) label=$2; shift ;;
    --no-standby) no_standby=1 ;;
    --clients) clients=$2; shift ;;
    --servers) servers=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
# r2rc (self-contained, one composite ReadyToRun image, still the JIT for the rest) runs only when asked for.
case $only in ""|jit|aot|r2rc) ;; *) echo "--only takes jit, aot or r2rc" >&2; exit 2 ;; esac

bash scripts/apt-ensure.sh wrk hey curl gnuplot-nox
source bench/lib.sh

results=bench/results/$(date -u +%Y-%m-%d)-compare${label:+-$label}
mkdir -p "$results"
work=artifacts/compare
mkdir -p "$work"
dotnet build bench/timeline-client.cs -c Release -o "$work/client" -nologo -v quiet > /dev/null

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# alive PID: the process exists and is not a zombie (kill -0 succeeds on a zombie).
alive() {
  local _p _c st
  { read -r _p _c st _ < "/proc/$1/stat"; } 2>/dev/null || return 1
  [ "$st" != Z ]
}

# Everything started here, for the EXIT trap: background helpers and the first server of each run (the serving
# generation of a Baton run is named by its pid file).
started=()
dir=""
cleanup() {
  local pid
  for pid in "${started[@]}" $( [ -n "$dir" ] && cat "$dir/app.pid" 2>/dev/null || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# start_server DIR PORT SERVER(baton|standby|plain): starts Hello; returns once it answers (and, for Baton, wrote its pid
# file; with a standby, once the standby is ready).
start_server() {
  local d=$1 port=$2 server=$3 args=()
  rm -f "$d/app.pid"
  # shellcheck disable=SC2206 # word splitting of --baton-args is wanted
  case $server in
    plain) args=(--Hello:PlainKestrel=true) ;;
    standby) args=($baton_args --Baton:Standby=true) ;;
    *) args=($baton_args) ;;
  esac
  "${hello[@]}" --contentRoot "$hello_root" --urls "http://127.0.0.1:$port" --Baton:PidFile="$PWD/$d/app.pid" \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:Baton=Information "${args[@]}" > "$d/server.log" 2>&1 &
  first=$!
  started+=("$first")
  for _ in $(seq 1 400); do
    if { [ "$server" = plain ] || [ -s "$d/app.pid" ]; } && curl -fs -o /dev/null "http://127.0.0.1:$port/"; then
      # With Baton:Standby, a service's steady state is its serving process and a standby that waits: the first
      # standby's start (once, when the service starts) is not part of what a load measures.
      if [ "$server" = standby ] || { [ "$server" = baton ] && [[ " $baton_args " == *"Baton:Standby=true"* ]]; }; then
        for _ in $(seq 1 600); do
          grep -q "hands over to it at the next SIGHUP" "$d/server.log" && return 0
          sleep 0.05
        done
        echo "no standby ready within 30 s; log:" >&2; cat "$d/server.log" >&2; return 1
      fi
      return 0
    fi
    alive "$first" || break
    sleep 0.05
  done
  echo "server did not start; log:" >&2; cat "$d/server.log" >&2; return 1
}

# stop_server DIR: SIGTERM to the serving process (the pid file's, else the first); up to 15 s, then SIGKILL.
stop_server() {
  local d=$1 pid
  pid=$(cat "$d/app.pid" 2>/dev/null || echo "$first")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do alive "$pid" || break; sleep 0.05; done
  kill -KILL "$pid" "$first" 2>/dev/null || true
  wait "$first" 2>/dev/null || true
}

# rss_sampler DIR FIRST OUT: every ~50 ms, sums VmRSS (kB) of every server process - the first, the one in the pid
# file, and their children (a successor is spawned by its predecessor, so it counts from its start, before it writes
# the pid file) - and writes the largest sum seen so far to OUT. Runs until killed.
# It shares the cores with the server it measures, so it is kept cheap: builtins only (read, no cat, awk or sleep -
# a `sleep` a round was 20 forks a second), one read of statm per process, and children looked for every 200 ms, only
# under the two processes that start any (the first, and the one serving). Measured here, the old version took 2.7% of a core
# beside Baton and 4.9% beside Baton with a standby (one more process to read), plus its forks: enough to show in the
# standby rows' p99 (2026-11-26, session 9).
rss_sampler() {
  local d=$1 first=$2 known=" $2 " peak=0 out=$3 p k c sum res kids pause page fifo round=0
  page=$(($(getconf PAGESIZE) / 1024))
  echo 0 > "$out"
  # A FIFO opened for reading and writing never reaches end of file: `read -t` on it waits without a process.
  fifo=$d/rss-sampler.fifo; rm -f "$fifo"; mkfifo "$fifo"; exec {pause}<>"$fifo"
  while :; do
    p=""; { read -r p < "$d/app.pid"; } 2>/dev/null || true
    [ -n "$p" ] && [[ $known != *" $p "* ]] && known="$known$p "
    # Every 4th round (200 ms): a new process is found by then, early in its start, while it is still small.
    round=$(((round + 1) % 4))
    if [ "$round" -eq 1 ]; then
      for k in $first $p; do
        for c in /proc/"$k"/task/*/children; do
          kids=""; { read -r kids < "$c"; } 2>/dev/null || true
          for c in $kids; do [[ $known == *" $c "* ]] || known="$known$c "; done
        done
      done
    fi
    sum=0
    for k in $known; do
      if alive "$k"; then
        res=0; { read -r _ res _ < "/proc/$k/statm"; } 2>/dev/null || true
        sum=$((sum + res * page))
      else
        known=${known/ $k / }
      fi
    done
    if [ "$sum" -gt "$peak" ]; then peak=$sum; echo "$peak" > "$out"; fi
    read -r -t 0.05 -u "$pause" _ || true
  done
}

# restart_loop DIR START_MS: a SIGHUP at START + k * $interval s for k = 1 .. duration / interval - 1 (16 s, 2 s: 7 SIGHUPs,
# the last 2 s before the end; a late handover shifts the rest, none is sent after END - interval / 2);
# each waits for both the new pid in the pid file and the old process gone (a SIGHUP to a process whose predecessor
# still drains is deferred). Appends epoch ms of each SIGHUP to DIR/sighup.ms and the two delays to serving.ms, exit.ms.
restart_loop() {
  local d=$1 start=$2 old new t0 t served exited k=1 count=$((duration / interval - 1)) end=$(($2 + duration * 1000))
  : > "$d/sighup.ms"; : > "$d/serving.ms"; : > "$d/exit.ms"
  sleep "$interval"
  while [ "$k" -le "$count" ] && [ "$(now_ms)" -lt $((end - interval * 500)) ]; do
    k=$((k + 1))
    old=$(cat "$d/app.pid"); t0=$(now_ms); served=""; exited=""
    kill -HUP "$old"
    while :; do
      t=$(now_ms)
      if [ -z "$served" ]; then
        new=$(cat "$d/app.pid" 2>/dev/null || true)
        [ -n "$new" ] && [ "$new" != "$old" ] && served=$((t - t0))
      fi
      [ -z "$exited" ] && ! alive "$old" && exited=$((t - t0))
      [ -n "$served" ] && [ -n "$exited" ] && break
      [ $((t - t0)) -gt 30000 ] && { echo "restart of $old not done within 30 s" >&2; break; }
      sleep 0.002
    done
    echo "$t0" >> "$d/sighup.ms"; echo "${served:-30000}" >> "$d/serving.ms"; echo "${exited:-30000}" >> "$d/exit.ms"
    # The next slot: k was counted up before this SIGHUP, so slot k is the next one's. (It read k - 1 until
    # 2026-11-26, the slot just used: every run's second SIGHUP followed its first at once, 60-80 ms after it ended.)
    t=$(( start + k * interval * 1000 - $(now_ms) ))
    [ "$t" -gt 0 ] && sleep "$(awk -v t="$t" 'BEGIN {printf "%.3f", t / 1000}')"
  done
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

to_ms() { # "0.0123 secs" or "1.23ms"/"850.00us"/"1.2s" -> ms
  awk '{v=$1; u=$2; if (u=="") { u=v; gsub(/[0-9.]/,"",u); gsub(/[a-z]/,"",v) }
        if (u=="secs"||u=="s") v*=1000; else if (u=="us") v/=1000; printf "%.2f", v}'
}

# percentile P < microseconds, one a line -> ms
percentile() { sort -n | awk -v p="$1" '{a[NR]=$1} END {if (NR==0) {print "-"; exit} i=int(NR*p/100+0.999999); if (i<1) i=1; printf "%.2f", a[i]/1000}'; }

table=$results/table${only:+-$only}.md
header='| runtime | server | client | restarts | req/s | failed | p50 ms | p99 ms | SIGHUP to serving ms | old process exit ms | peak RSS MiB |'
echo "$header" > "$table"
echo '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |' >> "$table"

# run RUNTIME SERVER CLIENT RESTARTS(yes|no)
run() {
  local rt=$1 server=$2 client=$3 restarts=$4
  local name="$rt-$server-$client$([ "$restarts" = yes ] && echo -restarts || true)"
  local port; port=$(bench_port)
  local url="http://127.0.0.1:$port$path" raw="$results/$name.txt"
  start_server "$dir" "$port" "$server"
  rss_sampler "$dir" "$first" "$dir/rss.kb" & local sampler=$!; started+=("$sampler")
  local start; start=$(now_ms); local loop=""
  rm -f "$dir/sighup.ms" "$dir/serving.ms" "$dir/exit.ms"
  if [ "$restarts" = yes ]; then restart_loop "$dir" "$start" & loop=$!; started+=("$loop"); fi
  local bound=$((duration + 30))
  case $client in
    hey-newconn) timeout -k 5 "$bound" hey -z "${duration}s" -c "$connections" -disable-keepalive "$url" > "$raw" 2>&1 || true ;;
    hey-keepalive) timeout -k 5 "$bound" hey -z "${duration}s" -c "$connections" "$url" > "$raw" 2>&1 || true ;;
    wrk) timeout -k 5 "$bound" wrk -t2 -c "$connections" -d "${duration}s" --latency "$url" > "$raw" 2>&1 || true ;;
    timeline) timeout -k 5 "$bound" dotnet "$work/client/timeline-client.dll" --url "$url" --connections "$connections" \
                --seconds "$duration" --log "$results/$name.log" > "$raw" 2>&1 || true ;;
  esac
  [ -n "$loop" ] && { wait "$loop" || true; }
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  stop_server "$dir"
  cp "$dir/server.log" "$results/$name.server.log"

  local rps failed p50 p99
  case $client in
    hey-*)
      local ok other errors
      ok=$(awk '/\[2[0-9][0-9]\]/ {s+=$2} END {print s+0}' "$raw")
      other=$(awk '/Status code distribution/ {f=1; next} f && /\[[0-9]+\]/ && !/\[2[0-9][0-9]\]/ {s+=$2} /Error distribution/ {f=0} END {print s+0}' "$raw")
      errors=$(awk '/Error distribution/ {f=1; next} f && /\[[0-9]+\]/ {gsub(/[\[\]]/,"",$1); s+=$1} END {print s+0}' "$raw")
      failed=$((other + errors))
      rps=$(awk '/Requests\/sec:/ {printf "%.0f", $2}' "$raw")
      p50=$(awk '/ 50% in/ {print $3, $4}' "$raw" | to_ms)
      p99=$(awk '/ 99% in/ {print $3, $4}' "$raw" | to_ms) ;;
    wrk)
      local socket non2xx
      socket=$(awk '/Socket errors/ {gsub(/,/,""); print $4+$6+$8+$10}' "$raw"); socket=${socket:-0}
      non2xx=$(awk '/Non-2xx/ {print $5}' "$raw"); non2xx=${non2xx:-0}
      failed=$((socket + non2xx))
      rps=$(awk '/Requests\/sec:/ {printf "%.0f", $2}' "$raw")
      p50=$(awk '$1=="50%" {print $2}' "$raw" | to_ms)
      p99=$(awk '$1=="99%" {print $2}' "$raw" | to_ms) ;;
    timeline)
      failed=$(awk '/^requests:/ {print $6}' "$raw")
      rps=$(awk '/^req\/s:/ {print $2}' "$raw")
      p50=$(awk '$2 >= 200 && $2 < 300 {print $3}' "$results/$name.log" | percentile 50)
      p99=$(awk '$2 >= 200 && $2 < 300 {print $3}' "$results/$name.log" | percentile 99) ;;
  esac
  local count=0 serving="-" exit_ms="-"
  if [ "$restarts" = yes ]; then
    count=$(wc -l < "$dir/sighup.ms"); serving=$(median < "$dir/serving.ms"); exit_ms=$(median < "$dir/exit.ms")
    for f in sighup serving exit; do cp "$dir/$f.ms" "$results/$name.$f.ms"; done
  fi
  local rss; rss=$(awk '{printf "%.0f", $1 / 1024}' "$dir/rss.kb")
  local label=$client
  [ "$client" = timeline ] && label="timeline-client keep-alive"
  [ "$client" = hey-newconn ] && label="hey -disable-keepalive"
  [ "$client" = hey-keepalive ] && label="hey keep-alive"
  local rtlabel=JIT; [ "$rt" = aot ] && rtlabel=NativeAOT; [ "$rt" = r2rc ] && rtlabel="JIT, composite R2R"
  local srvlabel=Baton; [ "$server" = plain ] && srvlabel="plain Kestrel"; [ "$server" = standby ] && srvlabel="Baton, standby"
  local row="| $rtlabel | $srvlabel | $label | $count | ${rps:--} | ${failed:--} | ${p50:--} | ${p99:--} | $serving | $exit_ms | $rss |"
  echo "$row" >> "$table"
  echo "$row"
}

# timeline_data RUNTIME NAME: 100 ms bins of the timeline client's log (by completion time; seconds from the first request):
# requests/s and p99 ms of the 2xx answers; errors (status -1 or >= 400) at their start; SIGHUPs.
timeline_data() {
  local rt=$1 name=$2 log="$results/$2.log"
  local t0; t0=$(awk 'NR == 1 || $1 < m {m = $1} END {print m}' "$log")
  awk -v t0="$t0" '$2 >= 200 && $2 < 300 {printf "%d\t%d\n", int(($1 + $3 - t0) / 100000), $3}' "$log" | sort -n -k1,1 -k2,2 |
    awk 'function flush() { if (n) printf "%.2f\t%d\t%.2f\n", (b + 0.5) / 10, n * 10, a[int(n * 0.99 + 0.999999)] / 1000 }
         NR == 1 { b = $1 }
         $1 != b { flush(); for (e = b + 1; e < $1; e++) printf "%.2f\t0\tNaN\n", (e + 0.5) / 10; b = $1; n = 0 }
         { a[++n] = $2 } END { flush() }' > "$results/timeline-$rt.dat"
  awk -v t0="$t0" '$2 < 200 || $2 >= 400 {printf "%.3f\n", ($1 - t0) / 1e6}' "$log" > "$results/timeline-$rt-errors.dat"
  awk -v t0="$t0" '{printf "%.3f\n", ($1 * 1000 - t0) / 1e6}' "$results/$name.sighup.ms" > "$results/timeline-$rt-sighups.dat"
  [ -s "$results/timeline-$rt-errors.dat" ] || echo NaN > "$results/timeline-$rt-errors.dat"
}

plot_timeline() {
  # A labelled run (a comparison of settings) keeps its plot with its results, not in docs/.
  local png=docs/benchmarks-timeline.png gp="$results/timeline.gp" n=$# rt
  [ -n "$label" ] && png=$results/timeline.png
  {
    echo "set terminal pngcairo size 1200,$((n * 380)) font 'sans,10'"
    echo "set output '$png'"
    echo "set multiplot layout $n,1"
    echo "set xlabel 'seconds'; set ylabel 'requests/s (100 ms bins)'; set y2label 'p99 ms (100 ms bins, log)'"
    echo "set yrange [0:*]; set y2range [1:2000]; set logscale y2; set y2tics; set ytics nomirror; set key outside top center horizontal; set grid"
    for rt in "$@"; do
      local label=JIT; [ "$rt" = aot ] && label=NativeAOT; [ "$rt" = r2rc ] && label="JIT, composite R2R"
      echo "set title 'samples/Hello, $label, Baton: timeline-client, $connections keep-alive connections on $path, SIGHUP every ${interval} s (dashed)'"
      echo "unset arrow"
      while read -r s; do echo "set arrow from $s, graph 0 to $s, graph 1 nohead dt 2 lc rgb 'gray40'"; done \
        < "$results/timeline-$rt-sighups.dat"
      echo "plot '$results/timeline-$rt.dat' using 1:2 with lines lw 1.5 lc rgb '#1f77b4' title 'requests/s', \\"
      echo "  '' using 1:3 axes x1y2 with lines lc rgb '#ff7f0e' title 'p99 ms', \\"
      local nerr; nerr=$(grep -vc NaN "$results/timeline-$rt-errors.dat" || true)
      echo "  '$results/timeline-$rt-errors.dat' using 1:(0) with points pt 7 ps 1.2 lc rgb 'red' title 'failed requests: $nerr'"
    done
    echo "unset multiplot"
  } > "$gp"
  gnuplot "$gp" 2> "$results/gnuplot.log" || { cat "$results/gnuplot.log" >&2; return 1; }
  echo "timeline: $png"
}

runtimes=(jit aot)
[ -n "$only" ] && runtimes=("$only")
echo "samples/Hello on 127.0.0.1:$path, ${duration} s per run, $connections connections, SIGHUP every ${interval} s," \
  "$(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)" | tee "$results/settings.txt"
echo
echo "$header"; sed -n 2p "$table"
timelines=()
for rt in "${runtimes[@]}"; do
  dir=$work/$rt
  mkdir -p "$dir"
  rm -f "$results/$rt-"* "$results/timeline-$rt"*
  case $rt in aot) publish_hello "$dir" true ;; r2rc) publish_hello "$dir" r2rc ;; *) publish_hello "$dir" false ;; esac
  hello_root=$PWD/$dir/hello
  loads=()
  for client in hey-newconn hey-keepalive wrk; do [[ " $clients " == *" $client "* ]] && loads+=("$client"); done
  if [[ " $servers " == *" plain "* ]]; then
    for client in "${loads[@]}"; do run "$rt" plain "$client" no; done
  fi
  if [[ " $servers " == *" baton "* ]]; then
    for client in "${loads[@]}"; do run "$rt" baton "$client" no; done
    for client in "${loads[@]}"; do run "$rt" baton "$client" yes; done
    [[ " $clients " == *" timeline "* ]] && run "$rt" baton timeline yes
  fi
  if [ -z "$no_standby" ] && [[ " $servers " == *" standby "* ]]; then
    for client in "${loads[@]}"; do run "$rt" standby "$client" no; done
    for client in "${loads[@]}"; do run "$rt" standby "$client" yes; done
    [[ " $clients " == *" timeline "* ]] && run "$rt" standby timeline yes
  fi
  if [ -s "$results/$rt-baton-timeline-restarts.log" ]; then
    timeline_data "$rt" "$rt-baton-timeline-restarts"
    gzip -f "$results/$rt-baton-timeline-restarts.log"  # one line a request: kept, but small
    timelines+=("$rt")
  fi
  if [ -s "$results/$rt-standby-timeline-restarts.log" ]; then
    gzip -f "$results/$rt-standby-timeline-restarts.log"
  fi
done

# The ratios issue #10 sets targets on, from the rows above (same run): p99 and req/s with SIGHUPs against without,
# and Baton's steady req/s against plain Kestrel's.
ratios=$results/ratios${only:+-$only}.md
awk -F' *[|] *' '
  NR > 2 {
    if ($3 == "plain Kestrel") { plain[$2 "|" $4] = $6; plainp99[$2 "|" $4] = $9; next }
    key = $2 "|" $3 "|" $4
    if ($5 == 0) { steady[key] = $6; p99[key] = $9 } else { hup[key] = $6; hp99[key] = $9 }
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  }
  function r(a, b) { return (a == "" || b == "" || a == "-" || b == "-" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
  END {
    print "| runtime | server | client | p99 with SIGHUPs / without | p99 with SIGHUPs / plain Kestrel | req/s with SIGHUPs / without | req/s without SIGHUPs / plain Kestrel |"
    print "| --- | --- | --- | ---: | ---: | ---: | ---: |"
    for (i = 1; i <= n; i++) { k = order[i]; split(k, f, "|"); pk = f[1] "|" f[3]
      print "| " f[1] " | " f[2] " | " f[3] " | " r(hp99[k], p99[k]) " | " r(hp99[k], plainp99[pk]) " | " r(hup[k], steady[k]) " | " r(steady[k], plain[pk]) " |" }
  }' "$table" > "$ratios"
echo; cat "$ratios"
echo
[ ${#timelines[@]} -gt 0 ] && plot_timeline "${timelines[@]}"
echo "table and raw output: $results/"
