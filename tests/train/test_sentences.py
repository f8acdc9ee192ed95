"""Step 2 "Split sentences": the splitters, the filters and the streaming step itself."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import pytest

from minicoil.train import sentences
from minicoil.train.corpus import CorpusError, iter_paragraphs
from minicoil.train.sentences import (
    SplitCounts,
    filter_sentences,
    get_splitter,
    normalize_whitespace,
    sentence_hash,
    split_hybrid,
    split_pysbd,
    split_regex,
    split_sentences,
)
from minicoil.train.steps import done_marker_path

WIKI_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "wikipedia-en"

ABBREVIATIONS = "Dr. Smith went to Washington. He arrived at 5 p.m. on Monday."


# ------------------------------------------------------------------------------------------
# Splitters
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("split", [split_regex, split_pysbd, split_hybrid])
def test_abbreviations_do_not_end_sentences(split: sentences.Splitter) -> None:
    assert split(ABBREVIATIONS) == [
        "Dr. Smith went to Washington.",
        "He arrived at 5 p.m. on Monday.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "J. R. R. Tolkien wrote it. He was English.",
            ["J. R. R. Tolkien wrote it.", "He was English."],
        ),
        ("The No. 5 bus was late. It came.", ["The No. 5 bus was late.", "It came."]),
        ("She was born c. 1900 in Rome. She died.", ["She was born c. 1900 in Rome.", "She died."]),
        ("Smith v. Jones was decided. It stood.", ["Smith v. Jones was decided.", "It stood."]),
        ("St. Louis is big. Mt. Hood is high.", ["St. Louis is big.", "Mt. Hood is high."]),
        ("The U.S. Army is large. It grew.", ["The U.S. Army is large.", "It grew."]),
        (
            "He lives in the U.S. The country is big.",
            ["He lives in the U.S.", "The country is big."],
        ),
        ("It was 5 p.m. He left.", ["It was 5 p.m.", "He left."]),
        (
            "She works at Apple Inc. The firm is big.",
            ["She works at Apple Inc.", "The firm is big."],
        ),
        ("He fought in World War I. She did not.", ["He fought in World War I.", "She did not."]),
        ("Born 5 Jan. 1900 in Paris, he lived.", ["Born 5 Jan. 1900 in Paris, he lived."]),
        ("She won! Then she lost? Yes, twice.", ["She won!", "Then she lost?", "Yes, twice."]),
        ('He said "Go home." Then he left.', ['He said "Go home."', "Then he left."]),
        ("Wait... What happened here?", ["Wait...", "What happened here?"]),
        (
            "Prices rose (see Fig. 3) sharply. Then fell.",
            ["Prices rose (see Fig. 3) sharply.", "Then fell."],
        ),
        ("It ended in 1990. 1991 was calm.", ["It ended in 1990.", "1991 was calm."]),
        ("Version 2.0 is out. It is good.", ["Version 2.0 is out.", "It is good."]),
        ("The rate was 5.9%. 63 people left.", ["The rate was 5.9%.", "63 people left."]),
        (
            "A lower case word follows. and the sentence goes on.",
            ["A lower case word follows. and the sentence goes on."],
        ),
        (
            "1. Introduction to the topic. Next part.",
            ["1. Introduction to the topic.", "Next part."],
        ),
        ("Peyser (b. London 1950) is a player.", ["Peyser (b. London 1950) is a player."]),
        ("Pipes up to 3.2 m. A new mill opened.", ["Pipes up to 3.2 m.", "A new mill opened."]),
        ("Lt. (j.g.) Harry Shawk was in charge.", ["Lt. (j.g.) Harry Shawk was in charge."]),
        ("It is in vol. IV of the set. It sold.", ["It is in vol. IV of the set.", "It sold."]),
        ("Iru (lit. Three Brothers) is a film.", ["Iru (lit. Three Brothers) is a film."]),
        ('He called it "Plan B." The plan failed.', ['He called it "Plan B."', "The plan failed."]),
        (
            "Anna (b. Gotha, 1675; d. Zerbst, 1702) was a princess.",
            ["Anna (b. Gotha, 1675; d. Zerbst, 1702) was a princess."],
        ),
        ("He earned a Ph.D. He taught.", ["He earned a Ph.D.", "He taught."]),
        ("He earned a Ph.D. in physics.", ["He earned a Ph.D. in physics."]),
        (
            "It was the Mk.XIV. Additionally, it flew.",
            ["It was the Mk.XIV.", "Additionally, it flew."],
        ),
        ("no terminal punctuation at all", ["no terminal punctuation at all"]),
        ("  spaced\tout\n text.  ", ["spaced out text."]),
        ("", []),
    ],
)
def test_regex_splitter(text: str, expected: list[str]) -> None:
    assert split_regex(text) == expected


def test_hybrid_defers_guessed_periods_to_pysbd(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_pysbd(text: str) -> list[str]:
        calls.append(text)
        return [text]

    monkeypatch.setattr(sentences, "split_pysbd", fake_pysbd)
    assert split_hybrid("Plain sentence. Another one.") == ["Plain sentence.", "Another one."]
    assert calls == []
    assert split_hybrid(ABBREVIATIONS) == [ABBREVIATIONS]
    assert calls == [ABBREVIATIONS]


def test_get_splitter() -> None:
    assert get_splitter() is split_regex
    assert get_splitter("pysbd") is split_pysbd
    with pytest.raises(ValueError, match="unknown sentence splitter 'nltk'"):
        get_splitter("nltk")  # type: ignore[arg-type]


def test_normalize_whitespace_and_hash() -> None:
    assert normalize_whitespace(" a\t b\u00a0c\u2028d\n") == "a b c d"
    h = sentence_hash("The bank of the river.")
    assert h == sentence_hash("The bank of the river.") and 0 <= h < 2**64
    assert h != sentence_hash("The bank of the river!")


# ------------------------------------------------------------------------------------------
# Filters
# ------------------------------------------------------------------------------------------


def run_filter(paragraphs: list[str], **kwargs: object) -> tuple[list[str], SplitCounts]:
    counts = SplitCounts()
    kept = list(filter_sentences(iter(paragraphs), split_regex, counts, **kwargs))  # type: ignore[arg-type]
    return kept, counts


def test_short_sentences_are_dropped() -> None:
    kept, counts = run_filter(
        ["Biography.", "Too short. This one has five words. Three words here."]
    )
    assert kept == ["This one has five words.", "Three words here."]
    assert counts.dropped_short == 2 and counts.paragraphs == 2


def test_long_sentences_are_dropped_not_truncated() -> None:
    long = " ".join(["word"] * 129) + "."
    limit = "Word " + " ".join(["word"] * 127) + "."
    kept, counts = run_filter([f"{long} A normal sentence here. {limit}"])
    assert kept == ["A normal sentence here.", limit]
    assert counts.dropped_long == 1
    kept, counts = run_filter([long], max_words=200, min_words=1)
    assert kept == [long] and counts.dropped_long == 0


def test_exact_duplicates_are_dropped_after_normalisation() -> None:
    paragraphs = [
        "The bank was closed. The  bank\twas closed.",
        "The bank was closed.",
        "The bank was closed!",
    ]
    kept, counts = run_filter(paragraphs)
    assert kept == ["The bank was closed.", "The bank was closed!"]
    assert counts.dropped_duplicate == 2 and counts.sentences == 2 and counts.total_sentences == 4
    kept, counts = run_filter(paragraphs, dedup=False)
    assert len(kept) == 4 and counts.dropped_duplicate == 0


# ------------------------------------------------------------------------------------------
# split_sentences: streaming, atomic, resumable
# ------------------------------------------------------------------------------------------


@pytest.fixture
def paragraphs_file(tmp_path: Path) -> Path:
    path = tmp_path / "paragraphs.txt"
    path.write_text(
        f"{ABBREVIATIONS} He left on Tuesday.\n"
        "History.\n"
        "\n"
        f"{ABBREVIATIONS}\n" + " ".join(["long"] * 200) + ". The end came quickly.\n",
        encoding="utf-8",
    )
    return path


def test_split_sentences_writes_counts_and_marker(paragraphs_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "sentences.txt"
    result = split_sentences(paragraphs_file, out, progress=False)
    assert out.read_text(encoding="utf-8").splitlines() == [
        "Dr. Smith went to Washington.",
        "He arrived at 5 p.m. on Monday.",
        "He left on Tuesday.",
        "The end came quickly.",
    ]
    assert not result.skipped
    assert result.counts == SplitCounts(
        paragraphs=4, sentences=4, dropped_short=1, dropped_long=1, dropped_duplicate=2
    )
    marker = json.loads(done_marker_path(out).read_text())
    assert marker["result"]["sentences"] == 4 and marker["params"]["splitter"] == "regex"


def test_split_sentences_resume(
    paragraphs_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sentences.txt"
    first = split_sentences(paragraphs_file, out, progress=False)
    mtime = out.stat().st_mtime_ns
    monkeypatch.setattr(sentences, "filter_sentences", None)  # would fail if called
    second = split_sentences(paragraphs_file, out, progress=False)
    assert second.skipped and second.counts == first.counts
    assert out.stat().st_mtime_ns == mtime
    monkeypatch.undo()
    third = split_sentences(paragraphs_file, out, min_words=1, progress=False)  # new option
    assert not third.skipped and third.counts.dropped_short == 0


def test_split_sentences_with_pysbd(paragraphs_file: Path, tmp_path: Path) -> None:
    result = split_sentences(paragraphs_file, tmp_path / "s.txt", splitter="pysbd", progress=False)
    assert result.counts.sentences == 4


def test_no_sentence_left_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "headings.txt"
    path.write_text("History.\nEarly life.\nSee also.\n")
    out = tmp_path / "sentences.txt"
    with pytest.raises(
        CorpusError, match=r"headings\.txt: no sentence left: 3 paragraphs, 3 sentences shorter"
    ):
        split_sentences(path, out, progress=False)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["headings.txt"]


def test_no_partial_output_when_reading_fails_midway(tmp_path: Path) -> None:
    path = tmp_path / "paragraphs.txt"
    path.write_bytes(b"A first good sentence here.\n" * 3000 + b"broken \xff byte\n")
    out = tmp_path / "sentences.txt"
    with pytest.raises(CorpusError, match=r"paragraphs\.txt, line 3001: invalid UTF-8"):
        split_sentences(path, out, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paragraphs.txt"]


def test_bad_arguments(paragraphs_file: Path, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"nope\.txt: cannot open"):
        split_sentences(tmp_path / "nope.txt", tmp_path / "s.txt", progress=False)
    with pytest.raises(CorpusError, match="output file is also the input"):
        split_sentences(paragraphs_file, paragraphs_file, progress=False)
    with pytest.raises(ValueError, match="min_words <= max_words"):
        split_sentences(paragraphs_file, tmp_path / "s.txt", min_words=10, max_words=5)


# ------------------------------------------------------------------------------------------
# Real data
# ------------------------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.skipif(not WIKI_DATA.is_dir(), reason="needs ../shared/data/wikipedia-en")
def test_real_wikipedia_paragraphs(tmp_path: Path) -> None:
    paragraphs = tmp_path / "paragraphs.txt"
    head = islice(iter_paragraphs(WIKI_DATA / "wiki_AA.gz"), 3000)
    paragraphs.write_text("".join(p + "\n" for p in head), encoding="utf-8")
    out = tmp_path / "sentences.txt"
    counts = split_sentences(paragraphs, out, progress=False).counts
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == counts.sentences > 3000
    assert len(set(lines)) == len(lines)
    assert all(3 <= len(line.split()) <= 128 for line in lines)
    assert counts.dropped_short > 0  # section headings such as "Biography."
