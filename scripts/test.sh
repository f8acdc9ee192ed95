#!/usr/bin/env bash
# Install (idempotent) with the test extras, then run lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh > /dev/null
python3 -m pip install -e ".[test]" > /dev/null
if [[ -f scripts/install_browser.sh ]]; then  # the web page's browser tests need one
    bash scripts/install_browser.sh > /dev/null
fi
export HF_HUB_OFFLINE=1
python3 -m ruff check src tests benchmarks
python3 -m pytest -q -p no:cacheprovider "$@"
