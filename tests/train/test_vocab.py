from __future__ import annotations

import json
from pathlib import Path

import pytest

from minicoil.text import TextProcessor
from minicoil.train.corpus import CorpusError
from minicoil.train.vocab import build_vocabulary, count_words, select_vocabulary

SENTENCES = [
    "The bank of the river was flooded by the river.",
    "Banks lend money; the banking sector is large.",
    "Databases store data, and a database is a store.",
    "1999 was a year; 1999 again, x y z.",
]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_counts_stems_with_forms_and_order(tmp_path: Path) -> None:
    out = tmp_path / "vocab.json"
    result = build_vocabulary(_write(tmp_path, SENTENCES), out, size=4, min_count=2, progress=False)
    data = json.loads(out.read_text())
    # bank: bank, banks, banking (3 occurrences); databas, river, store: 2 each (ties by name)
    assert data["stems"][0] == "bank"
    assert data["counts"]["bank"] == 3
    assert data["stems"] == ["bank", "databas", "river", "store"]
    assert data["forms"]["bank"][0] == "bank" and set(data["forms"]["bank"]) == {
        "bank",
        "banks",
        "banking",
    }
    assert "databas" in data["stems"]  # stemmed once, never twice ("databa")
    assert "1999" not in data["stems"]  # numbers get no head
    assert result.vocab_size == 4 and result.sentences == 4


def test_resumes_without_redoing(tmp_path: Path) -> None:
    src, out = _write(tmp_path, SENTENCES), tmp_path / "vocab.json"
    build_vocabulary(src, out, size=3, min_count=1, progress=False)
    again = build_vocabulary(src, out, size=3, min_count=1, progress=False)
    assert again.skipped
    changed = build_vocabulary(src, out, size=2, min_count=1, progress=False)
    assert not changed.skipped and len(json.loads(out.read_text())["stems"]) == 2


def test_word_list_restricts_and_must_hit(tmp_path: Path) -> None:
    src = _write(tmp_path, SENTENCES)
    build_vocabulary(
        src, tmp_path / "v.json", min_count=1, words=["Banking", "river"], progress=False
    )
    assert json.loads((tmp_path / "v.json").read_text())["stems"] == ["bank", "river"]
    with pytest.raises(CorpusError, match="word list"):
        build_vocabulary(src, tmp_path / "w.json", min_count=1, words=["zebra"], progress=False)
    assert not (tmp_path / "w.json").exists()


def test_empty_or_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file"):
        build_vocabulary(tmp_path / "missing.txt", tmp_path / "v.json", progress=False)
    with pytest.raises(CorpusError, match="empty"):
        build_vocabulary(_write(tmp_path, []), tmp_path / "v.json", progress=False)
    with pytest.raises(CorpusError, match="min-count"):
        build_vocabulary(
            _write(tmp_path, SENTENCES), tmp_path / "v.json", min_count=99, progress=False
        )


def test_pruning_keeps_frequent_words() -> None:
    lines = ["common word"] * 10 + [f"rare{i}" for i in range(100)]
    counts, n = count_words(lines, TextProcessor(), max_distinct=20)
    assert n == 110 and counts["common"] == 10 and len(counts) <= 21
    vocab, _ = select_vocabulary(counts, TextProcessor(), size=5, min_count=2)
    assert vocab.stems == ["common", "word"]
