"""Make ``docs/serve-scifact.png``: the page of a running ``minicoil serve`` at 1280x800 in
headless Chromium, with a query's three columns and one hit's explanation open.

    minicoil index --data ../shared/data/beir/scifact --collection scifact
    minicoil serve --collection scifact &
    python docs/make_screenshot.py --url http://127.0.0.1:8000 \\
        --query "cancer cells use glucose for energy" --out docs/serve-scifact.png

The PNG is re-encoded with a 256-colour palette (flat UI colours lose nothing visible) so
that it stays small in the repository.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import urllib.parse
from pathlib import Path

from minicoil.io import atomic_file

# The browser tests' flags: one list for every headless Chromium this project starts.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serve.browser import CHROMIUM_FLAGS


def screenshot(url: str, query: str, width: int, height: int, explain_rank: int) -> bytes:
    """PNG bytes of the page for ``query`` with the miniCOIL hit at ``explain_rank``
    explained (0: no explanation panel)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        raise SystemExit("needs chromium and chromedriver (bash scripts/install_browser.sh)")
    with tempfile.TemporaryDirectory() as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        window = f"--window-size={width},{height}"
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", window]:
            options.add_argument(flag)
        web = webdriver.Chrome(options=options, service=Service(executable_path=driver))
        try:
            # --window-size is the outer window: grow it until the viewport has the size.
            inner = web.execute_script("return [window.innerWidth, window.innerHeight]")
            outer = web.get_window_size()
            web.set_window_size(
                outer["width"] + width - inner[0], outer["height"] + height - inner[1]
            )
            web.get(f"{url}/?q={urllib.parse.quote(query)}")
            wait = WebDriverWait(web, 300)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#columns:not(.pending) .hit .w"))
            if explain_rank:
                hits = web.find_elements(By.CSS_SELECTOR, "#col-sparse .hit")
                hits[explain_rank - 1].click()
                wait.until(lambda d: d.find_elements(By.ID, "explanation"))
            return web.get_screenshot_as_png()
        finally:
            web.quit()


def compact(png: bytes) -> bytes:
    """The same picture as a palette PNG (a fraction of the size for a flat UI)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--query", required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/serve-scifact.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--explain-rank", type=int, default=0, help="0: no explanation.")
    args = parser.parse_args()
    png = compact(screenshot(args.url, args.query, args.width, args.height, args.explain_rank))
    with atomic_file(args.out, "wb") as handle:
        handle.write(png)
    print(f"{args.out}: {len(png) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
