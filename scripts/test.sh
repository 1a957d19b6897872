#!/usr/bin/env bash
# The whole test suite, as CI runs it: build, unit tests, real-process tests against the JIT build of the samples,
# then the same Hello tests against a NativeAOT build of samples/Hello. Ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=Release

# NativeAOT links with clang and zlib from Debian.
bash scripts/apt-ensure.sh clang-14 zlib1g-dev

# h2load and nghttp (nghttp2-client): HTTP/2 load that never retries, for the HTTP/2 drain tests; curl and openssl
# s_client: the Unix socket and the served certificate checked as a user would.
bash scripts/apt-ensure.sh nghttp2-client curl openssl

# systemd-analyze checks the shipped units (docs/systemd); systemd itself need not run.
bash scripts/apt-ensure.sh systemd

# PostgreSQL for the blog's database tests: installed and started on this machine (Debian, as root), the connection
# string exported as BLOG_TEST_POSTGRES. Skipped when BLOG_TEST_POSTGRES is already set.
if [ -z "${BLOG_TEST_POSTGRES:-}" ] && [ -f .ci/postgres.sh ]; then
  eval "$(bash .ci/postgres.sh)"
fi
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

run_tests() {
  local name=$1; shift
  echo "== $name"
  # dotnet test's own exit code is kept; its summary is summed below.
  set +e
  "$@" 2>&1 | tee "$results/$name.log"
  local status=${PIPESTATUS[0]}
  set -e
  echo "$status" > "$results/$name.status"
}

echo "== build"
dotnet build Baton.slnx -c "$configuration" -warnaserror -nologo -v quiet

# The packages as they ship: the library and the baton tool, installed from the local folder into a throwaway tool
# path and run from there.
echo "== pack, install the tool, run it"
rm -rf artifacts/packages
dotnet pack src/Baton -c "$configuration" -o artifacts/packages -nologo -v quiet
dotnet pack src/Baton.Cli -c "$configuration" -o artifacts/packages -nologo -v quiet
version=$(dotnet msbuild src/Baton.Cli -getProperty:Version)
tools=$(mktemp -d)
dotnet tool install Baton.Cli --tool-path "$tools" --add-source artifacts/packages --version "$version"
"$tools/baton" --help > "$tools/help.txt"
grep -q "Exit codes:" "$tools/help.txt"
rm -rf "$tools"

for project in tests/*/; do
  project=${project%/}
  # tests/Baton.TestApp is an app the integration tests run, not a test project: `dotnet test` prints no summary there.
  grep -qs '<IsTestProject>true</IsTestProject>' "$project"/*.csproj || continue
  run_tests "$(basename "$project")" dotnet test "$project" -c "$configuration" --no-build --nologo
done

echo "== publish samples/Hello with NativeAOT"
dotnet publish samples/Hello -c "$configuration" -p:PublishAot=true -o artifacts/hello-aot -nologo -v quiet
BATON_TEST_HELLO_EXE="$PWD/artifacts/hello-aot/Hello" \
  run_tests "Baton.IntegrationTests.NativeAOT" dotnet test tests/Baton.IntegrationTests -c "$configuration" --no-build --nologo \
  --filter "FullyQualifiedName!~Blog"

echo "== publish samples/Blog with NativeAOT"
dotnet publish samples/Blog -c "$configuration" -p:PublishAot=true -o artifacts/blog-aot -nologo -v quiet
BLOG_TEST_EXE="$PWD/artifacts/blog-aot/Blog" \
  run_tests "Blog.Tests.NativeAOT" dotnet test tests/Blog.Tests -c "$configuration" --no-build --nologo

passed=0; failed=0; status=0
for log in "$results"/*.log; do
  name=$(basename "$log" .log)
  line=$(grep -E "(Passed|Failed)!  - Failed: +[0-9]+, Passed: +[0-9]+" "$log" | tail -1 || true)
  if [ -z "$line" ]; then
    echo "$name: no test summary (build or runner failure)"; status=1; continue
  fi
  f=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$line"); p=$(sed -E 's/.*Passed: +([0-9]+),.*/\1/' <<<"$line")
  echo "$name: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
  [ "$(cat "$results/$name.status")" = 0 ] || status=1
done
echo "$passed passed, $failed failed"
exit $status
