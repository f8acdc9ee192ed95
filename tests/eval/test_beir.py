"""BEIR loader: the happy path on beir-tiny and one test per kind of bad input."""

from __future__ import annotations

import dataclasses
import re
import types
from pathlib import Path

import pytest

from minicoil.eval.beir import (
    BeirDataset,
    DatasetError,
    Document,
    indexable_text,
    iter_corpus,
    iter_qrels_rows,
    load_beir,
    read_qrels,
    read_queries,
)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _replace_line(path: Path, number: int, text: str) -> None:
    """Replace the 1-based line ``number`` of ``path`` with ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _where(file_name: str, line: int) -> str:
    """Regex for the 'file, line N:' prefix of every DatasetError about a line."""
    return rf"{re.escape(file_name)}, line {line}: "


# --- happy path -------------------------------------------------------------------------------


def test_load_beir_test_split(beir_tiny: Path) -> None:
    dataset = load_beir(beir_tiny)
    assert isinstance(dataset, BeirDataset)
    assert list(dataset.corpus) == [f"d{i}" for i in range(1, 9)]
    assert dataset.corpus["d2"] == Document(
        doc_id="d2",
        title="Ball python", text="The ball python is a python species native to Africa."
    )
    # q4 has judgments only in train, so the test split leaves it out.
    assert dataset.queries == {
        "q1": "python programming language",
        "q2": "where can I deposit money at a bank",
        "q3": "jaguar car brand",
    }
    assert dataset.qrels == {
        "q1": {"d1": 2, "d2": 0},
        "q2": {"d3": 1},
        "q3": {"d8": 2, "d7": 0},
    }


def test_load_beir_train_split(beir_tiny: Path) -> None:
    dataset = load_beir(str(beir_tiny), split="train")
    assert set(dataset.queries) == {"q1", "q4"}
    assert dataset.qrels == {"q4": {"d6": 1}, "q1": {"d1": 1}}
    assert len(dataset.corpus) == 8


def test_dataset_is_frozen(beir_tiny: Path) -> None:
    dataset = load_beir(beir_tiny)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dataset.queries = {}  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        dataset.corpus["d1"].title = "x"  # type: ignore[misc]


def test_indexable_text_joins_title_and_text(beir_tiny: Path) -> None:
    corpus = load_beir(beir_tiny).corpus
    assert indexable_text(corpus["d8"]) == (
        "Jaguar Cars Jaguar is a British luxury car manufacturer."
    )
    # d3 has an empty title: no leading space.
    assert corpus["d3"].indexable_text == "A bank is a financial institution that accepts deposits."
    assert indexable_text(Document(doc_id="x", title="  T ", text=" body  ")) == "T   body"
    assert indexable_text(Document(doc_id="x", title="", text="")) == ""


def test_iter_corpus_is_a_lazy_generator(beir_tiny: Path) -> None:
    stream = iter_corpus(beir_tiny / "corpus.jsonl")
    assert isinstance(stream, types.GeneratorType)
    assert next(stream) == (
        "d1",
        Document(
            doc_id="d1",
            title="Python (programming language)",
            text="Python is a high-level programming language.",
        ),
    )
    assert len(list(stream)) == 7


def test_corpus_optional_title_blank_lines_and_integer_ids(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        '{"_id": 7, "text": "no title"}\n\n{"_id": "b", "title": null, "text": "null title"}\n',
        encoding="utf-8",
    )
    assert list(iter_corpus(corpus)) == [
        ("7", Document(doc_id="7", title="", text="no title")),
        ("b", Document(doc_id="b", title="", text="null title")),
    ]


def test_read_queries_and_qrels_directly(beir_tiny: Path) -> None:
    assert read_queries(beir_tiny / "queries.jsonl")["q4"] == "apple fruit nutrition"
    assert read_qrels(beir_tiny / "qrels" / "train.tsv") == {"q4": {"d6": 1}, "q1": {"d1": 1}}
    rows = list(iter_qrels_rows(beir_tiny / "qrels" / "test.tsv"))
    assert [row.line for row in rows] == [2, 3, 4, 5, 6]  # line 1 is the header
    assert rows[0].query_id == "q1" and rows[0].doc_id == "d1" and rows[0].score == 2


def test_qrels_without_header_and_negative_scores(tmp_path: Path) -> None:
    qrels = tmp_path / "q.tsv"
    qrels.write_text("a\tx\t1\r\nb\ty\t-1\n", encoding="utf-8")
    assert read_qrels(qrels) == {"a": {"x": 1}, "b": {"y": -1}}


def test_load_beir_does_not_touch_the_folder(beir_copy: Path) -> None:
    before = {p: p.read_bytes() for p in beir_copy.rglob("*") if p.is_file()}
    load_beir(beir_copy)
    after = {p: p.read_bytes() for p in beir_copy.rglob("*") if p.is_file()}
    assert before == after


# --- missing files --------------------------------------------------------------------------


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nope.*not a BEIR folder"):
        load_beir(tmp_path / "nope")


@pytest.mark.parametrize("relative", ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"])
def test_missing_file_is_named(beir_copy: Path, relative: str) -> None:
    (beir_copy / relative).unlink()
    with pytest.raises(DatasetError, match=rf"{re.escape(relative)}: file not found"):
        load_beir(beir_copy)


def test_missing_split_is_named(beir_tiny: Path) -> None:
    with pytest.raises(DatasetError, match=r"dev\.tsv: file not found"):
        load_beir(beir_tiny, split="dev")


def test_missing_file_for_streaming_reader(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"absent\.jsonl: file not found"):
        list(iter_corpus(tmp_path / "absent.jsonl"))


# --- corpus and queries errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"_id": "d9", "text": ', r"malformed JSON"),
        ('["d9", "text"]', r"expected a JSON object"),
        ('{"title": "t", "text": "x"}', r"missing '_id'"),
        ('{"_id": "", "text": "x"}', r"'_id' is empty"),
        ('{"_id": ["d9"], "text": "x"}', r"'_id' must be a string"),
        ('{"_id": "d9", "title": "t"}', r"missing 'text'"),
        ('{"_id": "d9", "text": 3}', r"'text' must be a string"),
        ('{"_id": "d9", "title": 1, "text": "x"}', r"'title' must be a string"),
        ('{"_id": "d2", "text": "again"}', r"duplicate id 'd2' \(first seen on line 2\)"),
    ],
)
def test_corpus_errors_name_file_and_line(beir_copy: Path, line: str, message: str) -> None:
    _append(beir_copy / "corpus.jsonl", line + "\n")
    with pytest.raises(DatasetError, match=_where("corpus.jsonl", 9) + message):
        load_beir(beir_copy)


def test_corpus_error_in_the_middle_counts_physical_lines(beir_copy: Path) -> None:
    _replace_line(beir_copy / "corpus.jsonl", 3, "{not json")
    with pytest.raises(DatasetError, match=_where("corpus.jsonl", 3) + "malformed JSON"):
        load_beir(beir_copy)


def test_invalid_utf8_names_the_line(beir_copy: Path) -> None:
    with (beir_copy / "corpus.jsonl").open("ab") as handle:
        handle.write(b'{"_id": "d9", "text": "\xff"}\n')
    with pytest.raises(DatasetError, match=_where("corpus.jsonl", 9) + "invalid UTF-8"):
        load_beir(beir_copy)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("q5 text", r"malformed JSON"),
        ('{"text": "no id"}', r"missing '_id'"),
        ('{"_id": "q5"}', r"missing 'text'"),
        ('{"_id": "q1", "text": "dup"}', r"duplicate id 'q1' \(first seen on line 1\)"),
    ],
)
def test_query_errors_name_file_and_line(beir_copy: Path, line: str, message: str) -> None:
    _append(beir_copy / "queries.jsonl", line + "\n")
    with pytest.raises(DatasetError, match=_where("queries.jsonl", 5) + message):
        load_beir(beir_copy)


# --- qrels errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("q1\td3", r"expected 3 tab-separated columns .* got 2"),
        ("q1\td3\t1\textra", r"expected 3 tab-separated columns .* got 4"),
        ("q1 d3 1", r"expected 3 tab-separated columns .* got 1"),
        ("q1\td3\tone", r"score 'one' is not an integer"),
        ("q1\td3\t1.5", r"score '1.5' is not an integer"),
        ("q1\td3\t", r"score '' is not an integer"),
        ("\td3\t1", r"empty query-id or corpus-id"),
        (
            "q1\td1\t1",
            r"duplicate judgment for query 'q1' and document 'd1' \(first seen on line 2\)",
        ),
        ("q9\td1\t1", r"unknown query id 'q9' \(not in queries\.jsonl\)"),
        ("q1\td99\t1", r"unknown document id 'd99' \(not in corpus\.jsonl\)"),
    ],
)
def test_qrels_errors_name_file_and_line(beir_copy: Path, row: str, message: str) -> None:
    _append(beir_copy / "qrels" / "test.tsv", row + "\n")
    with pytest.raises(DatasetError, match=_where("test.tsv", 7) + message):
        load_beir(beir_copy)


def test_unknown_ids_in_other_split_do_not_matter(beir_copy: Path) -> None:
    _append(beir_copy / "qrels" / "train.tsv", "q9\td99\t1\n")
    assert set(load_beir(beir_copy).queries) == {"q1", "q2", "q3"}
    with pytest.raises(DatasetError, match=_where("train.tsv", 4) + "unknown query id 'q9'"):
        load_beir(beir_copy, split="train")


def test_dataset_error_is_a_value_error() -> None:
    assert issubclass(DatasetError, ValueError)
