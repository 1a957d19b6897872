#!/usr/bin/env bash
# Soak: many restarts in a row under load, then a check that nothing grew and nothing was left behind.
#
#   bash bench/soak.sh [--restarts 1000] [--runtime aot|jit] [--connections 8] [--pause-ms 100] [--path '/slow?ms=5']
#                      [--baton-args '--Baton:Standby=true'] [--label NAME]
#
# samples/Hello (Baton, pid file) serves `hey -disable-keepalive` (a new connection per request) and `wrk` (keep-alive)
# at once, each with --connections connections. One SIGHUP at a time: each waits for the new pid in the pid file and
# the old process gone, then --pause-ms of load on the new process, then a sample of that process (open descriptors,
# VmRSS, threads). At the end hey and wrk are stopped (SIGINT: both print their totals), the server gets SIGTERM, and
# every pid the run saw must be gone - neither alive nor a zombie.
#
# Writes bench/results/<date>-soak-<runtime>/: samples.csv (one line a restart), hey.txt, wrk.txt, server.log.gz and
# summary.md, which it also prints. Exit code 0 only when 0 requests failed, every restart completed, descriptors and
# RSS did not grow (median of the last 10% of samples against the first 10%, after the first 20 restarts: at most
# +4 descriptors and +10% RSS) and no process or zombie is left.
#
# Only 127.0.0.1 is used; every process started here is ended by pid on exit; the load is bounded in time.
set -euo pipefail
trap 'echo "soak.sh: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."

restarts=1000; runtime=aot; connections=8; pause_ms=100; path='/slow?ms=5'; baton_args=""; label=""
while [ $# -gt 0 ]; do
  case $1 in
    --restarts) restarts=$2; shift ;;
    --runtime) runtime=$2; shift ;;
    --connections) connections=$2; shift ;;
    --pause-ms) pause_ms=$2; shift ;;
    --path) path=$2; shift ;;
    --baton-args) baton_args=$2; shift ;;
    --label) label=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
case $runtime in aot|jit) ;; *) echo "--runtime takes aot or jit" >&2; exit 2 ;; esac
[ "$restarts" -ge 10 ] || { echo "--restarts must be at least 10" >&2; exit 2; }

bash scripts/apt-ensure.sh wrk hey curl
source bench/lib.sh

results=bench/results/$(date -u +%Y-%m-%d)-soak-$runtime${label:+-$label}
mkdir -p "$results"
dir=artifacts/soak-$runtime
rm -rf "$dir"; mkdir -p "$dir"
aot=false; [ "$runtime" = aot ] && aot=true
publish_hello "$dir" "$aot"

load_pids=()
cleanup() {
  for pid in "${load_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  bench_cleanup "$dir"
}
trap cleanup EXIT

# state PID: the process's state letter (R, S, Z, ...), empty when it is gone.
state() { local _p _c st; { read -r _p _c st _ < "/proc/$1/stat"; } 2>/dev/null && echo "$st" || true; }

port=$(bench_port)
url="http://127.0.0.1:$port$path"
# shellcheck disable=SC2086 # word splitting of --baton-args is wanted
start_hello "$dir" "$port" "$dir/server.log" $baton_args
echo "$(cat "$dir/app.pid")" > "$dir/pids"

# Bounded: far longer than the restarts need (3 s each at most), and stopped with SIGINT as soon as they are done.
bound=$((restarts * 3 + 60))
timeout -k 5 $((bound + 10)) hey -z "${bound}s" -c "$connections" -disable-keepalive "$url" > "$results/hey.txt" 2>&1 &
load_pids+=("$!")
timeout -k 5 $((bound + 10)) wrk -t1 -c "$connections" -d "${bound}s" --latency "$url" > "$results/wrk.txt" 2>&1 &
load_pids+=("$!")
sleep 2

echo "restart,pid,sighup_to_serving_ms,old_exit_ms,fds,rss_kib,threads" > "$results/samples.csv"
completed=0
started_at=$(now_ms)
for k in $(seq 1 "$restarts"); do
  old=$(cat "$dir/app.pid"); t0=$(now_ms); served=""; exited=""
  kill -HUP "$old"
  while :; do
    t=$(now_ms)
    if [ -z "$served" ]; then
      new=$(cat "$dir/app.pid" 2>/dev/null || true)
      [ -n "$new" ] && [ "$new" != "$old" ] && served=$((t - t0))
    fi
    [ -z "$exited" ] && [ -z "$(state "$old" | tr -d Z)" ] && exited=$((t - t0))
    [ -n "$served" ] && [ -n "$exited" ] && break
    [ $((t - t0)) -gt 60000 ] && break
    sleep 0.002
  done
  if [ -z "$served" ] || [ -z "$exited" ]; then
    echo "restart $k: not done within 60 s (served: ${served:-no}, old $old exited: ${exited:-no})" >&2
    break
  fi
  echo "$new" >> "$dir/pids"
  sleep "$(awk -v t="$pause_ms" 'BEGIN {printf "%.3f", t / 1000}')"
  fds=$(ls "/proc/$new/fd" 2>/dev/null | wc -l)
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$new/status" 2>/dev/null || echo 0)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$new/status" 2>/dev/null || echo 0)
  echo "$k,$new,$served,$exited,$fds,$rss,$threads" >> "$results/samples.csv"
  completed=$k
  [ $((k % 100)) -eq 0 ] && echo "soak: $k restarts, $(( ($(now_ms) - started_at) / 1000 )) s, pid $new: $fds descriptors, $rss KiB" >&2
done
elapsed_s=$(( ($(now_ms) - started_at) / 1000 ))

# Both print their totals on SIGINT.
for pid in "${load_pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
load_pids=()
# hey and wrk run under timeout, which passes SIGINT on; give them a moment to print.
sleep 1

last=$(cat "$dir/app.pid")
kill -TERM "$last"
for _ in $(seq 1 300); do [ -z "$(state "$last" | tr -d Z)" ] && break; sleep 0.05; done
wait "$hello_pids" 2>/dev/null || true
cp "$dir/server.log" "$results/server.log"; gzip -f "$results/server.log"  # kept, but small

# Everything the run started must be gone: no pid alive, no zombie (a zombie's parent is named). An old process is
# the child of its predecessor, which has exited: it was re-parented to init (or the nearest subreaper), whose job
# reaping it is. Up to 10 s for that, then whatever is left counts.
# Every process the log names counts too: a standby (Baton:Standby) never serves unless a SIGHUP reaches it, and one
# stopped or replaced must be gone like the rest.
grep -oE '([Ss]tandby process|New process|Process) [0-9]+' "$dir/server.log" | grep -oE '[0-9]+$' | sort -u >> "$dir/pids" || true
sort -u -o "$dir/pids" "$dir/pids"
for _ in $(seq 1 100); do
  pending=0
  while read -r pid; do [ -n "$(state "$pid")" ] && pending=1 && break; done < "$dir/pids"
  [ "$pending" -eq 0 ] && break
  sleep 0.1
done
left=0; zombies=0; zombie_list=""
while read -r pid; do
  st=$(state "$pid")
  case $st in
    "") ;;
    Z) zombies=$((zombies + 1)); zombie_list="$zombie_list $pid(parent $(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || echo ?))" ;;
    *) left=$((left + 1)) ;;
  esac
done < "$dir/pids"

# Failed requests: hey's non-200 answers and errors; wrk's socket errors and non-2xx answers.
hey_total=$(awk '/^Status code distribution:/ {f=1; next} f && /\[[0-9]+\]/ {gsub(/[^0-9 ]/, " "); n+=$2} /^Error distribution:/ {f=0} END {print n+0}' "$results/hey.txt")
hey_ok=$(awk '/\[200\]/ {gsub(/[^0-9 ]/, " "); print $2; exit}' "$results/hey.txt"); hey_ok=${hey_ok:-0}
hey_errors=$(awk '/^Error distribution:/ {f=1; next} f && /\[[0-9]+\]/ {s=$0; sub(/^ *\[/, "", s); sub(/\].*/, "", s); n+=s} END {print n+0}' "$results/hey.txt")
hey_failed=$((hey_total - hey_ok + hey_errors))
wrk_requests=$(awk '/requests in/ {print $1; exit}' "$results/wrk.txt"); wrk_requests=${wrk_requests:-0}
wrk_socket=$(awk '/Socket errors:/ {gsub(/[^0-9 ]/, " "); print $1 + $2 + $3 + $4; exit}' "$results/wrk.txt"); wrk_socket=${wrk_socket:-0}
wrk_non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF; exit}' "$results/wrk.txt"); wrk_non2xx=${wrk_non2xx:-0}
wrk_failed=$((wrk_socket + wrk_non2xx))

# Growth: the median of the last 10% of samples against the first 10% after the first 20 restarts (the first
# generations still grow their pools: thread pool, Kestrel's memory pool).
column() { awk -F, -v c="$1" 'NR > 1 {print $c}' "$results/samples.csv"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
p99() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print 0; exit} i=int(NR*0.99+0.999999); print a[i]}'; }
n=$(( $(wc -l < "$results/samples.csv") - 1 ))
skip=20; [ "$skip" -le $((n / 5)) ] || skip=$((n / 5))
window=$(( (n - skip) / 10 )); [ "$window" -ge 1 ] || window=1
early() { column "$1" | sed -n "$((skip + 1)),$((skip + window))p" | median; }
late() { column "$1" | tail -n "$window" | median; }
fds_early=$(early 5); fds_late=$(late 5); fds_max=$(column 5 | sort -n | tail -1)
rss_early=$(early 6); rss_late=$(late 6); rss_max=$(column 6 | sort -n | tail -1)
threads_early=$(early 7); threads_late=$(late 7)
serving_median=$(column 3 | median); serving_p99=$(column 3 | p99)
exit_median=$(column 4 | median); exit_p99=$(column 4 | p99)
rss_ratio=$(awk -v a="$rss_late" -v b="$rss_early" 'BEGIN {if (b == 0) print "-"; else printf "%.3f", a / b}')

verdict=pass
[ "$completed" -eq "$restarts" ] || verdict=fail
[ $((hey_failed + wrk_failed)) -eq 0 ] || verdict=fail
[ "$hey_ok" -gt 0 ] && [ "$wrk_requests" -gt 0 ] || verdict=fail
[ "$fds_late" -le $((fds_early + 4)) ] || verdict=fail
awk -v a="$rss_late" -v b="$rss_early" 'BEGIN {exit !(a <= b * 1.10)}' || verdict=fail
[ "$left" -eq 0 ] && [ "$zombies" -eq 0 ] || verdict=fail

{
  echo "## Soak: $completed of $restarts restarts, samples/Hello $runtime, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "\`bash bench/soak.sh --restarts $restarts --runtime $runtime --connections $connections --pause-ms $pause_ms --path '$path'${baton_args:+ --baton-args '$baton_args'}\`, $elapsed_s s of restarts"
  echo
  echo "| | value |"
  echo "| --- | ---: |"
  echo "| hey -disable-keepalive: requests answered 200 | $hey_ok |"
  echo "| hey: failed (non-200 + errors) | $hey_failed |"
  echo "| wrk keep-alive: requests | $wrk_requests |"
  echo "| wrk: failed (socket errors + non-2xx) | $wrk_failed |"
  echo "| SIGHUP to new pid serving, median / p99 ms | $serving_median / $serving_p99 |"
  echo "| SIGHUP to old process gone, median / p99 ms | $exit_median / $exit_p99 |"
  echo "| descriptors of the serving process, restarts $((skip + 1))-$((skip + window)) median -> last $window median (max) | $fds_early -> $fds_late ($fds_max) |"
  echo "| VmRSS KiB, same windows (max) | $rss_early -> $rss_late, x$rss_ratio ($rss_max) |"
  echo "| threads, same windows | $threads_early -> $threads_late |"
  echo "| processes the run saw (each generation, and every standby the log names) | $(wc -l < "$dir/pids") |"
  echo "| processes of the run still alive at the end | $left |"
  echo "| zombies among them | $zombies${zombie_list:+ (}${zombie_list# }${zombie_list:+)} |"
  echo "| verdict | **$verdict** |"
} | tee "$results/summary.md"
trap - ERR
[ "$verdict" = pass ]
