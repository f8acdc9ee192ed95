"""The page in a real headless Chromium: search, three columns, colours, an explanation and a
sense map, at a desktop and a phone viewport, with screenshots saved under ``tmp_path``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.serve.browser import chromium, find_browser, live_server
from tests.serve.conftest import QUERY

BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no chromium + chromedriver on PATH (install: bash scripts/install_browser.sh)",
)
# A miniCOIL hit with "bank" among its matched words: its sense map has several documents.
BANK_HIT = "#col-sparse .hit:has(button.w[data-stem='bank'])"
WAIT = 30  # seconds: the tiny model answers in well under one, but CI machines are shared


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


def _wait(web, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(web, WAIT).until(lambda d: condition(d), message)


def _search(web, base_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    web.get(base_url + "/")
    box = web.find_element(By.ID, "q")
    box.send_keys(QUERY, Keys.ENTER)
    _wait(
        web,
        lambda d: all(
            d.find_elements(By.CSS_SELECTOR, f"#col-{c} .hit") for c in ("bm25", "sparse", "hybrid")
        ),
        "the three columns were not filled",
    )
    _wait(
        web,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#columns:not(.pending) .hit .words .w"),
        "the matched words were not coloured",
    )


def _colour(web, element) -> str:
    return web.execute_script("return getComputedStyle(arguments[0]).backgroundColor", element)


def _check_colouring(web) -> None:
    from selenium.webdriver.common.by import By

    chips = web.find_elements(By.CSS_SELECTOR, "#col-sparse .hit .words .w")
    assert chips, "no matched words shown"
    kinds = {c.get_attribute("class").split()[-1] for c in chips}
    assert kinds <= {"same", "other", "plain"}
    for chip in chips:  # a word with a meaning shows its cosine, e.g. "bank 0.83"
        if not chip.get_attribute("class").endswith("plain"):
            assert re.search(r" -?\d\.\d\d$", chip.text), chip.text
    colours = {}
    for chip in web.find_elements(By.CSS_SELECTOR, ".hit .words .w"):
        colours.setdefault(chip.get_attribute("class").split()[-1], set()).add(_colour(web, chip))
    # Each kind has one colour, and different kinds never share one.
    assert all(len(c) == 1 for c in colours.values())
    assert len({next(iter(c)) for c in colours.values()}) == len(colours)
    marks = web.find_elements(By.CSS_SELECTOR, ".hit mark.w")
    assert marks, "matched words are not highlighted in the snippets"


def _open_explanation_and_senses(web, hit, shot: Path) -> None:
    """Click ``hit``, check its explanation (saved to ``shot``), then click its "bank"."""
    from selenium.webdriver.common.by import By

    hit.click()
    table = _wait(web, lambda d: d.find_elements(By.ID, "explanation"), "no explanation")[0]
    rows = table.find_elements(By.CSS_SELECTOR, "tr.explain-row")
    assert rows, "the explanation has no matched word"
    assert "miniCOIL score" in table.text
    web.save_screenshot(str(shot))
    bank = table.find_element(By.CSS_SELECTOR, "button.w[data-stem='bank']")
    bank.click()
    dots = _wait(
        web, lambda d: d.find_elements(By.CSS_SELECTOR, "#sensemap circle"), "no sense map"
    )
    assert len(dots) >= 2
    assert "Senses of" in web.find_element(By.ID, "panel").text


def test_desktop_shows_three_columns_explanations_and_senses(base_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    assert BROWSER is not None
    with chromium(*BROWSER, tmp_path / "profile", 1280, 800, mobile=False) as web:
        _search(web, base_url)
        columns = [web.find_element(By.ID, f"col-{c}") for c in ("bm25", "sparse", "hybrid")]
        lefts = [c.rect["x"] for c in columns]
        assert lefts == sorted(lefts) and len(set(lefts)) == 3, "columns are not side by side"
        assert all(c.is_displayed() for c in columns)
        assert web.find_element(By.ID, "legend").is_displayed()
        moves = web.find_elements(By.CSS_SELECTOR, "#col-sparse .move, #col-hybrid .move")
        assert moves and all(m.text[0] in "▲▼=n" for m in moves), "rank changes not shown"
        _check_colouring(web)
        web.save_screenshot(str(tmp_path / "desktop-results.png"))
        hit = web.find_element(By.CSS_SELECTOR, BANK_HIT)
        _open_explanation_and_senses(web, hit, tmp_path / "desktop-explain.png")
        web.save_screenshot(str(tmp_path / "desktop-senses.png"))
    assert (tmp_path / "desktop-results.png").stat().st_size > 10_000


def test_phone_shows_one_column_at_a_time_with_tabs(base_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    assert BROWSER is not None
    with chromium(*BROWSER, tmp_path / "profile", 390, 844, mobile=True) as web:
        _search(web, base_url)
        assert web.execute_script("return window.innerWidth") == 390
        width = web.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, "the page scrolls sideways on a phone"
        shown = [
            c
            for c in ("bm25", "sparse", "hybrid")
            if web.find_element(By.ID, f"col-{c}").is_displayed()
        ]
        assert shown == ["sparse"]
        web.find_element(By.CSS_SELECTOR, "#tabs button[data-col='bm25']").click()
        assert web.find_element(By.ID, "col-bm25").is_displayed()
        assert not web.find_element(By.ID, "col-sparse").is_displayed()
        web.find_element(By.CSS_SELECTOR, "#tabs button[data-col='sparse']").click()
        _check_colouring(web)
        web.save_screenshot(str(tmp_path / "phone-results.png"))
        hit = web.find_element(By.CSS_SELECTOR, BANK_HIT)
        _open_explanation_and_senses(web, hit, tmp_path / "phone-explain.png")
        web.save_screenshot(str(tmp_path / "phone-senses.png"))
    assert (tmp_path / "phone-results.png").stat().st_size > 10_000
