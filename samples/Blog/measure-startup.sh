#!/usr/bin/env bash
# Start-up time of the Blog: from exec to the first answered API request (GET /api/v1/tags, which needs the token
# check and a database query), on an existing SQLite database, the case of every handover. Then the handover itself:
# the time Baton logs from SIGHUP's new process start to "ready".
#
#   samples/Blog/measure-startup.sh [path/to/Blog executable or Blog.dll] [runs]
#
# Default: the Release build (dotnet build samples/Blog -c Release). Also worth measuring:
#   dotnet publish samples/Blog -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o /tmp/blog-r2r
#   dotnet publish samples/Blog -c Release -r linux-x64 -p:PublishAot=true -o /tmp/blog-aot
# Binds 127.0.0.1 only; kills what it starts (by pid).
set -euo pipefail
cd "$(dirname "$0")/../.."

app=${1:-samples/Blog/bin/Release/net10.0/Blog}
runs=${2:-10}
[ -e "$app" ] || { echo "no $app: build it first (dotnet build samples/Blog -c Release)" >&2; exit 1; }
command=("$app")
[[ "$app" == *.dll ]] && command=(dotnet "$app")

root=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  last=$(cat "$root/data/blog.pid" 2>/dev/null) && [ -n "$last" ] && kill -9 "$last" 2>/dev/null
  rm -rf "$root"
}
trap cleanup EXIT
cp "$(dirname "$app")/appsettings.json" "$root/"
export ASPNETCORE_ENVIRONMENT=Production App__JwtSecret=measure-startup-secret-0123456789abcdef0123
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port

# Polls until the API answers 200 (bounded: 3000 tries, about 30 s); prints milliseconds since $1 (ns).
wait_served() {
  local start=$1 path=$2
  for _ in $(seq 3000); do
    if curl -sf -o /dev/null "$url$path"; then echo $(( ($(date +%s%N) - start) / 1000000 )); return 0; fi
    sleep 0.01
  done
  echo "not served within 30 s" >&2; return 1
}

start_blog() { "${command[@]}" --contentRoot "$root" --urls "$url" >"$root/log" 2>&1 & pid=$!; }
stop_blog() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

# A user, added the documented way (Production has no demo user); this also creates the database.
printf '%s\n' measure-password | "${command[@]}" users add measure --contentRoot "$root" >/dev/null

# First start: gives the token for the measured runs.
t0=$(date +%s%N); start_blog; first=$(wait_served "$t0" /openapi/v1.json)
token=$(curl -sf -X POST "$url/auth" -d username=measure -d password=measure-password | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')
stop_blog
echo "first start (database created by users add): ${first} ms"

times=()
for _ in $(seq "$runs"); do
  t0=$(date +%s%N); start_blog; times+=("$(wait_served "$t0" "/api/v1/tags?token=$token")"); stop_blog
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "exec -> first GET /api/v1/tags answered, $runs runs (ms, sorted) ${sorted[*]}: median ${sorted[$((runs / 2))]} ms"

# Handovers: Baton logs how long each new process took from start to ready.
handovers=5
start_blog; wait_served "$(date +%s%N)" "/api/v1/tags?token=$token" >/dev/null
serving=$pid
for _ in $(seq "$handovers"); do
  kill -HUP "$serving"
  for _ in $(seq 3000); do
    next=$(cat "$root/data/blog.pid" 2>/dev/null || echo "$serving")
    [ "$next" != "$serving" ] && break
    sleep 0.01
  done
  serving=$next
done
# The old process logs "ready after" as it hands over, which can be just after the pid file changed: wait for all.
for _ in $(seq 3000); do
  [ "$(grep -c 'ready after [0-9]* ms' "$root/log")" -ge "$handovers" ] && break
  sleep 0.01
done
ready=($(grep -o 'ready after [0-9]* ms' "$root/log" | awk '{ print $3 }' | sort -n))
echo "handover: new process ready after (ms, sorted) ${ready[*]}: median ${ready[$((${#ready[@]} / 2))]} ms"
kill -TERM "$serving"; wait "$pid" 2>/dev/null || true; pid=
