"""JSON-lines corpora: BEIR (``_id``/``title``/``text``), Pyserini (``id``/``contents``) and
JSONL with caller-chosen fields (training's ``--text-field``).

Every parser streams, checks each record and raises the caller's error type naming the file and
line: a silently skipped record would quietly change training data or evaluation numbers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from minicoil.data.document import Document
from minicoil.data.errors import CorpusFormatError, ErrorType
from minicoil.data.lines import iter_lines

__all__ = [
    "iter_beir_documents",
    "iter_field_texts",
    "iter_json_records",
    "iter_pyserini_documents",
    "string_field",
]

Lines = Iterable[tuple[int, str]]


def iter_json_records(
    path: str | os.PathLike[str], lines: Lines | None = None, error: ErrorType = CorpusFormatError
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line of a JSONL file.

    ``lines`` may be given when the caller reads the file itself (for a progress bar).
    """
    path = Path(path)
    numbered = lines if lines is not None else iter_lines(path, error=error)
    for number, line in numbered:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"malformed JSON ({exc.msg}, column {exc.colno})", path, number) from None
        if not isinstance(record, dict):
            raise error(f"expected a JSON object, got {type(record).__name__}", path, number)
        yield number, record


def record_id(record: dict[str, Any], key: str, path: Path, number: int, error: ErrorType) -> str:
    """The id under ``key`` as a string; integer ids are accepted since some dumps use them."""
    if key not in record:
        raise error(f"missing '{key}'", path, number)
    raw = record[key]
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise error(f"'{key}' must be a string", path, number)
    item_id = str(raw)
    if not item_id.strip():
        raise error(f"'{key}' is empty", path, number)
    return item_id


def string_field(
    record: dict[str, Any],
    key: str,
    path: Path,
    number: int,
    error: ErrorType,
    *,
    required: bool,
) -> str:
    """A string field; an optional field that is absent or null reads as ``""``.

    A missing required field lists the fields present, since the usual cause is a wrong field
    name rather than a broken record.
    """
    value = record.get(key)
    if value is None:
        if required:
            present = ", ".join(sorted(record)[:10]) or "none"
            raise error(f"missing '{key}' (fields present: {present})", path, number)
        return ""
    if not isinstance(value, str):
        raise error(f"'{key}' must be a string, got {type(value).__name__}", path, number)
    return value


class DuplicateCheck:
    """Remembers the line of every id, so a repeated id names both lines (two documents with
    one id would silently overwrite each other in an index)."""

    def __init__(self, path: Path, error: ErrorType) -> None:
        self.path, self.error = path, error
        self.seen: dict[str, int | None] = {}

    def __call__(self, item_id: str, number: int | None) -> None:
        if item_id in self.seen:
            first = self.seen[item_id]
            where = f" (first seen on line {first})" if first is not None else ""
            raise self.error(f"duplicate id {item_id!r}{where}", self.path, number)
        self.seen[item_id] = number


def iter_beir_documents(
    path: str | os.PathLike[str], lines: Lines | None = None, error: ErrorType = CorpusFormatError
) -> Iterator[Document]:
    """Documents of a BEIR ``corpus.jsonl``: ``_id``, optional ``title``, required ``text``."""
    return _iter_documents(path, lines, error, id_field="_id", text_field="text")


def iter_pyserini_documents(
    path: str | os.PathLike[str], lines: Lines | None = None, error: ErrorType = CorpusFormatError
) -> Iterator[Document]:
    """Documents of a Pyserini JSONL collection: ``id`` and ``contents`` (title optional)."""
    return _iter_documents(path, lines, error, id_field="id", text_field="contents")


def _iter_documents(
    path: str | os.PathLike[str],
    lines: Lines | None,
    error: ErrorType,
    *,
    id_field: str,
    text_field: str,
) -> Iterator[Document]:
    """The JSONL document formats differ only in the names of the id and text fields."""
    path = Path(path)
    unique = DuplicateCheck(path, error)
    for number, record in iter_json_records(path, lines, error):
        doc_id = record_id(record, id_field, path, number, error)
        unique(doc_id, number)
        title = string_field(record, "title", path, number, error, required=False)
        text = string_field(record, text_field, path, number, error, required=True)
        yield Document(doc_id=doc_id, text=text, title=title)


def iter_field_texts(
    path: str | os.PathLike[str],
    text_field: str = "text",
    title_field: str | None = None,
    lines: Lines | None = None,
    error: ErrorType = CorpusFormatError,
) -> Iterator[str]:
    """``title + " " + text`` of each object, by caller-chosen field names; blank texts are
    skipped. A missing or null title reads as empty (most BEIR titles are)."""
    path = Path(path)
    for number, record in iter_json_records(path, lines, error):
        text = string_field(record, text_field, path, number, error, required=True)
        title = (
            string_field(record, title_field, path, number, error, required=False)
            if title_field is not None
            else ""
        )
        joined = f"{title.strip()} {text.strip()}".strip()
        if joined:
            yield joined
