# Shared by the bench scripts that restart samples/Hello one SIGHUP at a time (source it; it defines functions only).
# bench_cleanup ends what is left: the process start_hello started and the one its pid file names (restart_hello
# returns only once the process it replaced has exited).

hello_pids=""

now_ms() { date +%s%3N; }

# bench_port: a port for a server on 127.0.0.1, below the kernel's ephemeral range (where a load client's own
# sockets would collide with it: "address already in use" once ended a run) and not already listening.
bench_port() {
  local low port
  read -r low _ < /proc/sys/net/ipv4/ip_local_port_range
  for _ in $(seq 1 50); do
    port=$((10000 + RANDOM % (low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  echo "no free port found" >&2; return 1
}

# publish_hello DIR AOT(true|false|r2rc): publishes samples/Hello into DIR/hello (NativeAOT, JIT, or self-contained as
# one composite ReadyToRun image); sets the array `hello` to the command.
publish_hello() {
  local dir=$1 aot=$2
  if [ "$aot" = r2rc ]; then
    dotnet publish samples/Hello -c Release -r linux-x64 --self-contained true -p:PublishReadyToRun=true \
      -p:PublishReadyToRunComposite=true -o "$dir/hello" -nologo -v quiet
    hello=("$dir/hello/Hello")
  elif $aot; then
    bash scripts/apt-ensure.sh clang-14 zlib1g-dev
    dotnet publish samples/Hello -c Release -p:PublishAot=true -o "$dir/hello" -nologo -v quiet
    hello=("$dir/hello/Hello")
  else
    dotnet publish samples/Hello -c Release -o "$dir/hello" -nologo -v quiet
    hello=(dotnet "$dir/hello/Hello.dll")
  fi
}

# start_hello DIR PORT LOG [ARGS...]: starts it on 127.0.0.1:PORT with the pid file DIR/app.pid; returns once it serves.
start_hello() {
  local dir=$1 port=$2 log=$3; shift 3
  rm -f "$dir/app.pid"
  # Content root: the publish directory, so that samples/Hello's appsettings.json applies.
  "${hello[@]}" --contentRoot "$PWD/$dir/hello" --urls "http://127.0.0.1:$port" --Baton:PidFile="$PWD/$dir/app.pid" \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:Baton=Information "$@" > "$log" 2>&1 &
  hello_pids=$!
  for _ in $(seq 1 200); do
    [ -s "$dir/app.pid" ] && curl -fs -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.05
  done
  echo "server did not start; log:" >&2; cat "$log" >&2; return 1
}

# restart_hello DIR: SIGHUP to the pid in DIR/app.pid; returns once a new pid is in the file and the old process has
# exited (a SIGHUP to the new one would be deferred while the old one drains).
restart_hello() {
  local dir=$1 old t0
  old=$(cat "$dir/app.pid"); t0=$(now_ms)
  kill -HUP "$old"
  while [ "$(cat "$dir/app.pid" 2>/dev/null)" = "$old" ]; do
    sleep 0.005; [ $(( $(now_ms) - t0 )) -gt 30000 ] && { echo "no handover within 30 s" >&2; return 1; }
  done
  while kill -0 "$old" 2>/dev/null; do
    sleep 0.005; [ $(( $(now_ms) - t0 )) -gt 90000 ] && { echo "process $old did not exit within 90 s" >&2; return 1; }
  done
  return 0
}

# stop_hello DIR: SIGTERM to the serving process; waits up to 10 s for it to exit.
stop_hello() {
  local pid; pid=$(cat "$1/app.pid" 2>/dev/null || echo "")
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
}

# bench_cleanup DIR [PID...]: kills the given pids, the first server process, and the one DIR/app.pid names.
bench_cleanup() {
  local dir=$1; shift
  for pid in "$@" $hello_pids $(cat "$dir/app.pid" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
}

# kill_on_exit DIR: on exit, ends by pid what a script started - the load ($load), the process DIR/app.pid names (the
# serving generation) and the first server ($first); sets both variables empty for the script to fill in.
kill_on_exit() {
  bench_dir=$1; first=""; load=""
  trap bench_end_started EXIT
}
bench_end_started() {
  local p
  for p in ${load:-} $(cat "$bench_dir/app.pid" 2>/dev/null || true) ${first:-}; do kill -KILL "$p" 2>/dev/null || true; done
}
