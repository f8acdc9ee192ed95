"""Search hits as printed: snippets, marked query words, JSON records."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import typer

from minicoil.cli.output import SNIPPET_CHARS, hit_line, hit_record, mark, print_hits, snippet
from minicoil.text import TextProcessor

PROCESSOR = TextProcessor()
BOLD_BANK = typer.style("banks", fg="yellow", bold=True)


@dataclass
class FakeHit:  # the fields of minicoil.search.Hit the printer reads
    doc_id: str
    score: float
    title: str = ""
    text: str = ""


def test_short_text_is_its_own_snippet_with_whitespace_folded() -> None:
    assert snippet("a  river\n bank", []) == "a river bank"


def test_long_text_is_cut_around_the_first_match_on_word_boundaries() -> None:
    text = " ".join(f"word{i}" for i in range(200)) + " river bank " + "tail " * 100
    start = text.index("river")
    cut = snippet(text, [(start, start + 5)])
    assert cut.startswith("…") and cut.endswith("…")
    assert "river bank" in cut
    body = cut.strip("…")
    assert len(body) <= SNIPPET_CHARS
    assert body.split()[0].startswith("word")  # no word cut in half
    assert snippet(text, [])[:5] == "word0"  # no match: the start of the text


def test_marking_follows_stems_and_skips_stopwords() -> None:
    stems = {w.stem for w in PROCESSOR.words("the bank")}
    marked = mark("The banks of the river", stems, PROCESSOR, colour=True)
    assert marked == f"The {BOLD_BANK} of the river"
    assert mark("The banks", stems, PROCESSOR, colour=False) == "The banks"


def test_hit_line_without_colour_is_plain_text() -> None:
    hit = FakeHit("d7", 2.5, "River", "The banks of the river.\nFlooded.")
    line = hit_line(3, hit, {"bank"}, PROCESSOR, colour=False)
    assert line == "  3  d7  2.5000  River — The banks of the river. Flooded."
    coloured = hit_line(3, hit, {"bank"}, PROCESSOR, colour=True)
    assert BOLD_BANK in coloured and "\x1b[" in coloured
    assert hit_line(1, FakeHit("x", 1.0), set(), PROCESSOR, colour=False) == "  1  x  1.0000"


def test_hit_record_is_one_json_object() -> None:
    record = json.loads(hit_record(1, FakeHit("d1", 0.5, "T", "körper")))
    assert record == {"rank": 1, "id": "d1", "score": 0.5, "title": "T", "text": "körper"}


def test_print_hits_counts_and_prints_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    hits = [FakeHit("a", 2.0, text="river bank"), FakeHit("b", 1.0, text="bank")]
    assert print_hits(hits, "bank", PROCESSOR, as_json=True) == 2
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert print_hits([], "bank", PROCESSOR, as_json=False) == 0
    assert capsys.readouterr().out == ""
