#!/usr/bin/env bash
# Install minicoil for use: the library and the `minicoil` command, nothing for development.
# torch is pinned first so pip takes the CPU wheel instead of resolving the newest build with
# gigabytes of CUDA packages. Extras add optional parts: pip install -e ".[serve]", ".[eval]".
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install "torch==2.13.0"
python3 -m pip install -e .
