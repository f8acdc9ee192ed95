"""Read and write TREC run files (``qid Q0 docid rank score tag``).

Run files are the hand-off between search and evaluation (and other tools such as trec_eval or
ranx), so writing is deterministic - the same run always gives the same bytes - and atomic, so an
interrupted job never leaves a half-written run that later looks complete.
"""

from __future__ import annotations

import errno
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from minicoil.data import DataFileError, iter_lines

__all__ = ["RunFileError", "rank_documents", "read_trec_run", "write_trec_run"]


class RunFileError(DataFileError):
    """A run file is malformed; the message names the file and the 1-based line number."""


def rank_documents(docs: Mapping[str, float], depth: int | None = None) -> list[tuple[str, float]]:
    """Order one query's documents by score descending, then doc id ascending (like pyserini).

    The secondary key makes ties deterministic regardless of dict insertion order.
    """
    ranked = sorted(((did, float(score)) for did, score in docs.items()), key=_rank_key)
    return ranked if depth is None else ranked[:depth]


def _rank_key(item: tuple[str, float]) -> tuple[float, str]:
    doc_id, score = item
    return (-score, doc_id)


def _check_token(kind: str, value: str) -> None:
    """Ids and the tag are whitespace-separated columns, so they must be single tokens."""
    if not value or any(char.isspace() for char in value):
        raise ValueError(f"{kind} {value!r} must be a non-empty string without whitespace")


def _format_line(qid: str, doc_id: str, rank: int, score: float, tag: str) -> str:
    # repr() is the shortest text that parses back to the same float, so a round trip through
    # the file keeps scores (and therefore the ranking) exactly.
    return f"{qid} Q0 {doc_id} {rank} {score!r} {tag}\n"


def _format_lines(run: Mapping[str, Mapping[str, float]], tag: str, depth: int) -> Iterator[str]:
    for qid in sorted(run):
        _check_token("query id", qid)
        for rank, (doc_id, score) in enumerate(rank_documents(run[qid], depth), start=1):
            _check_token("document id", doc_id)
            if not math.isfinite(score):
                raise ValueError(f"score for query {qid!r}, document {doc_id!r} is {score}")
            yield _format_line(qid, doc_id, rank, score, tag)


def write_trec_run(
    path: str | Path,
    run: Mapping[str, Mapping[str, float]],
    tag: str,
    depth: int = 1000,
) -> Path:
    """Write ``run`` ({qid: {docid: score}}) as a TREC run file and return its path.

    Queries are written in ascending id order; each query keeps its top ``depth`` documents
    ranked by score descending then doc id ascending, with ranks starting at 1. The file is
    written to a temporary file in the same folder and moved into place with ``os.replace``, so
    readers see either the old file or the complete new one, never a partial write.
    """
    _check_token("tag", tag)
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for line in _format_lines(run, tag, depth):
                handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def _parse_line(path: Path, number: int, line: str) -> tuple[str, str, float]:
    columns = line.split()
    if len(columns) != 6:
        raise RunFileError(
            f"expected 6 columns (qid Q0 docid rank score tag), got {len(columns)}", path, number
        )
    qid, _q0, doc_id, rank_text, score_text, _tag = columns
    try:
        rank = int(rank_text)
    except ValueError:
        raise RunFileError(f"rank {rank_text!r} is not an integer", path, number) from None
    if rank < 0:
        raise RunFileError(f"rank {rank} is negative", path, number)
    try:
        score = float(score_text)
    except ValueError:
        raise RunFileError(f"score {score_text!r} is not a number", path, number) from None
    if not math.isfinite(score):
        raise RunFileError(f"score {score_text!r} is not finite", path, number)
    return qid, doc_id, score


def read_trec_run(path: str | Path) -> dict[str, dict[str, float]]:
    """Read a TREC run file into ``{qid: {docid: score}}``.

    Ranks are checked but not kept: trec_eval orders by score too. Blank lines are skipped.
    A document listed twice for one query is an error, since the two scores would be ambiguous.
    A missing file raises ``FileNotFoundError``, which already names the path.
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(errno.ENOENT, "file not found", str(source))
    run: dict[str, dict[str, float]] = {}
    first_seen: dict[tuple[str, str], int] = {}
    for number, line in iter_lines(source, error=RunFileError):
        if not line.strip():
            continue
        qid, doc_id, score = _parse_line(source, number, line)
        first = first_seen.get((qid, doc_id))
        if first is not None:
            raise RunFileError(
                f"document {doc_id!r} listed twice for query {qid!r} (first on line {first})",
                source,
                number,
            )
        first_seen[(qid, doc_id)] = number
        run.setdefault(qid, {})[doc_id] = score
    return run
