#!/usr/bin/env bash
# Writes requirements.lock, the exact Python packages `./suban` installs: pyproject.toml's
# dependencies and its `test` extra, resolved for CPython 3.11 on Linux x86_64 (the stack's
# servers and CI), each with the hashes pip checks. Pins already in the lock stay while
# pyproject.toml allows them; arguments go to `uv pip compile`, e.g. `--upgrade` (everything to
# the newest allowed version) or `--upgrade-package marshmallow` (one package).
# uv is needed only to write the lock, never to install it, so it lives in a virtualenv of its
# own outside the project; its version is pinned so that the lock's format stays the same.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
uv_version=0.13.8
tools="${XDG_CACHE_HOME:-$HOME/.cache}/suban/uv-$uv_version"
if [ ! -x "$tools/bin/uv" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet "uv==$uv_version"
fi
cd "$root"
UV_CUSTOM_COMPILE_COMMAND="deploy/lock-requirements.sh" "$tools/bin/uv" pip compile \
  pyproject.toml --extra test --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
  --generate-hashes --quiet --output-file requirements.lock "$@"
