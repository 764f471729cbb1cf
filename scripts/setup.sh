#!/usr/bin/env bash
# Create .venv and install restore with its test extras: CPU torch from the pinned build, the
# other packages at the versions of constraints.txt (those the tests and figures were run with).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -c constraints.txt -e ".[dev]"
