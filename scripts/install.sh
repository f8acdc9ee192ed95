#!/usr/bin/env bash
# Install minicoil on a fresh machine. torch is pinned first so pip takes the CPU wheel
# instead of resolving the newest build with gigabytes of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install "torch==2.13.0"
python3 -m pip install -e ".[test]"
