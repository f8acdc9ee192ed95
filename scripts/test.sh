#!/usr/bin/env bash
# Install (idempotent) and run the whole test suite, lint included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh > /dev/null
export HF_HUB_OFFLINE=1
python3 -m ruff check src tests benchmarks
python3 -m pytest -q -p no:cacheprovider
