"""Load datasets in the BEIR folder format.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``, optional ``metadata``; read by
:mod:`minicoil.data`, the one corpus reader),
``queries.jsonl`` (``_id``, ``text``) and ``qrels/<split>.tsv`` (a ``query-id\\tcorpus-id\\tscore``
header, then one judgment per line). Every loader here reports bad input as one
:class:`DatasetError` that names the file and the 1-based line number, because a silently skipped
line would quietly change evaluation numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from minicoil.data import BEIR_CORPUS_FILE, DataFileError, Document, iter_lines
from minicoil.data.jsonl import (
    DuplicateCheck,
    iter_beir_documents,
    iter_json_records,
    record_id,
    string_field,
)

__all__ = [
    "BeirDataset",
    "DatasetError",
    "Document",
    "QrelsRow",
    "indexable_text",
    "iter_corpus",
    "iter_qrels_rows",
    "iter_queries",
    "load_beir",
    "read_qrels",
    "read_queries",
]

CORPUS_FILE = BEIR_CORPUS_FILE
QUERIES_FILE = "queries.jsonl"
QRELS_DIR = "qrels"
QRELS_HEADER = ("query-id", "corpus-id", "score")

# A qrels score is a plain (optionally negative) integer; int() alone would also accept "+1",
# " 1" or "1_000", which hide malformed files.
_INT_RE = re.compile(r"-?[0-9]+")


class DatasetError(DataFileError):
    """A BEIR file is missing or malformed; the message names the file (and line, where known)."""


@dataclass(frozen=True)
class QrelsRow:
    """One qrels judgment with its line number, so later checks can still point at the line."""

    line: int
    query_id: str
    doc_id: str
    score: int


@dataclass(frozen=True)
class BeirDataset:
    """A loaded BEIR split: only queries that have judgments in that split are kept.

    The dicts are fresh objects built by :func:`load_beir`; ``frozen`` only stops the fields from
    being reassigned, so treat the contents as read-only by convention.
    """

    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def indexable_text(doc: Document) -> str:
    """``doc.indexable_text``. Marked for removal: kept while benchmark.py, benchmarks/ and
    their tests still import it; new code uses the :class:`Document` property."""
    return doc.indexable_text


def _where(path: Path, line: int) -> str:
    return f"{path}, line {line}"


def _nonblank_lines(path: Path) -> Iterator[tuple[int, str]]:
    return ((n, line) for n, line in iter_lines(path, error=DatasetError) if line.strip())


def iter_corpus(corpus_file: str | Path) -> Iterator[tuple[str, Document]]:
    """Stream ``(doc_id, Document)`` pairs from a ``corpus.jsonl`` file (BEIR parsing is
    :func:`minicoil.data.jsonl.iter_beir_documents`; this names errors as :class:`DatasetError`).

    A generator, so large corpora can be indexed without holding every document; only the ids
    are remembered, to reject duplicates (which would otherwise silently overwrite each other).
    """
    for doc in iter_beir_documents(corpus_file, error=DatasetError):
        yield doc.doc_id, doc


def iter_queries(queries_file: str | Path) -> Iterator[tuple[str, str]]:
    """Stream ``(query_id, text)`` pairs from a ``queries.jsonl`` file, rejecting duplicates."""
    path = Path(queries_file)
    unique = DuplicateCheck(path, DatasetError)
    for number, record in iter_json_records(path, error=DatasetError):
        query_id = record_id(record, "_id", path, number, DatasetError)
        unique(query_id, number)
        yield query_id, string_field(record, "text", path, number, DatasetError, required=True)


def read_queries(queries_file: str | Path) -> dict[str, str]:
    """Read a whole ``queries.jsonl`` into ``{query_id: text}``."""
    return dict(iter_queries(queries_file))


def _is_header(columns: list[str]) -> bool:
    return tuple(column.strip().lower() for column in columns) == QRELS_HEADER


def iter_qrels_rows(qrels_file: str | Path) -> Iterator[QrelsRow]:
    """Stream judgments from a qrels TSV, keeping line numbers for later cross-checks.

    The ``query-id corpus-id score`` header is skipped when it is the first line. A repeated
    ``(query-id, corpus-id)`` pair is an error: two grades for one document are ambiguous.
    """
    path = Path(qrels_file)
    seen: dict[tuple[str, str], int] = {}
    first_content_line = True
    for number, line in _nonblank_lines(path):
        columns = line.split("\t")
        if first_content_line and _is_header(columns):
            first_content_line = False
            continue
        first_content_line = False
        if len(columns) != 3:
            raise DatasetError(
                f"{_where(path, number)}: expected 3 tab-separated columns "
                f"(query-id, corpus-id, score), got {len(columns)}"
            )
        query_id, doc_id, score_text = (column.strip() for column in columns)
        if not query_id or not doc_id:
            raise DatasetError(f"{_where(path, number)}: empty query-id or corpus-id")
        if not _INT_RE.fullmatch(score_text):
            raise DatasetError(f"{_where(path, number)}: score {score_text!r} is not an integer")
        first = seen.get((query_id, doc_id))
        if first is not None:
            raise DatasetError(
                f"{_where(path, number)}: duplicate judgment for query {query_id!r} and "
                f"document {doc_id!r} (first seen on line {first})"
            )
        seen[(query_id, doc_id)] = number
        yield QrelsRow(line=number, query_id=query_id, doc_id=doc_id, score=int(score_text))


def read_qrels(qrels_file: str | Path) -> dict[str, dict[str, int]]:
    """Read a qrels TSV into ``{query_id: {doc_id: score}}`` (no id cross-checks)."""
    qrels: dict[str, dict[str, int]] = {}
    for row in iter_qrels_rows(qrels_file):
        qrels.setdefault(row.query_id, {})[row.doc_id] = row.score
    return qrels


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    return path


def load_beir(path: str | Path, split: str = "test") -> BeirDataset:
    """Load a BEIR folder for one qrels split, checking that every judgment points somewhere.

    Qrels that name an unknown query or document are errors rather than being dropped, because
    dropping them would inflate every metric. Queries without judgments in ``split`` are left out,
    since they cannot be scored and would only cost search time. An empty corpus or query file is
    an error of its own, named as such.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a BEIR folder (directory not found)")
    corpus_file = _require_file(root / CORPUS_FILE)
    queries_file = _require_file(root / QUERIES_FILE)
    qrels_file = _require_file(root / QRELS_DIR / f"{split}.tsv")

    corpus = dict(iter_corpus(corpus_file))
    if not corpus:  # else every judgment would be reported as an unknown document
        raise DatasetError(f"{corpus_file}: no documents")
    all_queries = read_queries(queries_file)
    if not all_queries:
        raise DatasetError(f"{queries_file}: no queries")
    qrels: dict[str, dict[str, int]] = {}
    for row in iter_qrels_rows(qrels_file):
        if row.query_id not in all_queries:
            raise DatasetError(
                f"{_where(qrels_file, row.line)}: unknown query id {row.query_id!r} "
                f"(not in {queries_file.name})"
            )
        if row.doc_id not in corpus:
            raise DatasetError(
                f"{_where(qrels_file, row.line)}: unknown document id {row.doc_id!r} "
                f"(not in {corpus_file.name})"
            )
        qrels.setdefault(row.query_id, {})[row.doc_id] = row.score
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels}
    return BeirDataset(corpus=corpus, queries=queries, qrels=qrels)
