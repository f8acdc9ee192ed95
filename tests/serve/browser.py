"""A live server on 127.0.0.1 (uvicorn in a thread) and a headless Debian Chromium driven by
Selenium, for the browser tests; Selenium Manager is never asked to download anything."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def find_browser() -> tuple[str, str] | None:
    """Paths of a Chromium and its chromedriver, or None (the tests then skip)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1 until the block ends; yields
    the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def chromium(browser: str, driver: str, profile: Path, width: int, height: int, mobile: bool):
    """A headless Chromium with a fresh profile; ``mobile`` emulates a phone (touch, device
    pixel ratio) at ``width`` x ``height`` CSS pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    if mobile:
        metrics = {"width": width, "height": height, "pixelRatio": 2.0, "touch": True}
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    else:
        options.add_argument(f"--window-size={width},{height}")
    web = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        if not mobile:
            # --window-size sets the outer window; make the page's viewport exactly the size.
            inner = web.execute_script("return [window.innerWidth, window.innerHeight]")
            outer = web.get_window_size()
            web.set_window_size(
                outer["width"] + width - inner[0], outer["height"] + height - inner[1]
            )
        yield web
    finally:
        web.quit()
