#!/usr/bin/env bash
# Install what the browser tests (tests/serve/test_browser.py) drive: Debian's Chromium and its
# chromedriver. Idempotent: does nothing when both are already on PATH. Needs root (or sudo)
# and the Debian package mirror; without them it says so and exits 0, and the browser tests
# then skip with that reason instead of failing the whole run.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: no apt-get here; install chromium and chromedriver yourself" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_browser.sh: not root and no sudo; the browser tests will skip" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver; }; then
    echo "install_browser.sh: apt-get could not install chromium; the browser tests will skip" >&2
fi
exit 0
