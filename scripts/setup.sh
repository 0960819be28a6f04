#!/usr/bin/env bash
# Install autograph_rec for development into the active Python environment.
# CPU torch first: an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test,report]"
