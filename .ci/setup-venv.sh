#!/usr/bin/env bash
# Create the Python venv the integration tests use to run fakepve (a fake Proxmox VE API).
#
#   .ci/setup-venv.sh            # venv at <repo>/.venv
#   FAKEPVE_VENV=/path .ci/setup-venv.sh
#
# Idempotent: does nothing when the venv already has the pinned fakepve and
# the requirements file has not changed since the last install.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${FAKEPVE_VENV:-$repo/.venv}"
req="$repo/tests/fakepve/requirements.txt"
want_version="0.5.0"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup-venv: $python not found; install Python 3.10 or newer" >&2
    exit 1
fi

# The LXC exec tests also need an OpenSSH server to start on loopback. A machine where it
# cannot be installed still gets the venv; those tests then fail naming .ci/setup-sshd.sh.
if ! "$repo/.ci/setup-sshd.sh"; then
    echo "setup-venv: warning: no OpenSSH server (.ci/setup-sshd.sh failed): tests/mcp_lxc_exec.rs will fail" >&2
fi

stamp="$venv/.fakepve-requirements.sha256"
req_sum="$(sha256sum "$req" | cut -d' ' -f1)"

if [ -x "$venv/bin/python" ] \
    && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("fakepve"))' 2>/dev/null || true)" = "$want_version" ] \
    && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$req_sum" ] \
    && "$venv/bin/python" -c 'import fakepve, cryptography, aiohttp, mcp' 2>/dev/null; then
    echo "setup-venv: $venv already has fakepve $want_version"
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "setup-venv: creating $venv"
    "$python" -m venv "$venv"
fi

echo "setup-venv: installing $(basename "$req") into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import fakepve, cryptography, aiohttp, mcp; print("setup-venv: fakepve", fakepve.__version__)'
printf '%s\n' "$req_sum" > "$stamp"
