#!/usr/bin/env bash
# Install the OpenSSH server the LXC exec tests run on loopback (tests/mcp_lxc_exec.rs start
# their own /usr/sbin/sshd with their own keys and configuration; no system service is used).
#
#   .ci/setup-sshd.sh
#
# Idempotent and quick when sshd is already there. Needs apt-get (Debian, Ubuntu) and root, or
# sudo; elsewhere install the OpenSSH server with the system's package manager.
set -euo pipefail

sshd="${SSHD:-/usr/sbin/sshd}"
if [ -x "$sshd" ] && command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
    echo "setup-sshd: $sshd is installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-sshd: $sshd is missing and apt-get is not available: install the OpenSSH server" \
        "(sshd, ssh, ssh-keygen) with the system's package manager" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "setup-sshd: installing openssh-server needs root (or sudo)" >&2
        exit 1
    fi
    sudo="sudo"
fi
echo "setup-sshd: installing openssh-server"
export DEBIAN_FRONTEND=noninteractive
# The package's own service is not wanted: the tests start sshd themselves.
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null
"$sshd" -V 2>&1 | head -n 1 | sed 's/^/setup-sshd: /'
