"""Tabular corpora: CSV/TSV with a header row, and Parquet, with the columns found by name.

Column names are matched case-insensitively against the usual spellings (``_id``/``id``/
``docid``, ``text``/``contents``/``body``, ``title``), so exports of BEIR, Pyserini, pandas
and spreadsheets all read without options; a table without a text column is an error that
lists the columns it has.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from minicoil.data.document import Document
from minicoil.data.errors import CorpusFormatError, ErrorType
from minicoil.data.jsonl import DuplicateCheck
from minicoil.data.lines import iter_lines

__all__ = [
    "ID_COLUMNS",
    "TEXT_COLUMNS",
    "TITLE_COLUMNS",
    "delimited_format",
    "find_columns",
    "iter_delimited_documents",
    "iter_parquet_documents",
]

ID_COLUMNS = ("_id", "id", "docid")
TEXT_COLUMNS = ("text", "contents", "body")
TITLE_COLUMNS = ("title",)
PARQUET_BATCH = 4096  # rows per batch: bounded memory on large files

# Documents routinely exceed csv's default 128 KiB field limit; the limit is process-wide, so
# it is raised once here to the largest value the platform accepts.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def find_columns(names: Sequence[str]) -> tuple[int | None, int | None, int | None]:
    """Positions of the (id, text, title) columns among ``names``; None where absent."""
    lowered = [name.strip().lower() for name in names]

    def first(candidates: tuple[str, ...]) -> int | None:
        return next((lowered.index(c) for c in candidates if c in lowered), None)

    return first(ID_COLUMNS), first(TEXT_COLUMNS), first(TITLE_COLUMNS)


def delimited_format(first_line: str) -> Literal["csv", "tsv"] | None:
    """``tsv``/``csv`` when a file's first line is a header that names a text column."""
    if "\t" in first_line and find_columns(first_line.split("\t"))[1] is not None:
        return "tsv"
    header = next(csv.reader([first_line]), [])
    if len(header) > 1 and find_columns(header)[1] is not None:
        return "csv"
    return None


def _require_text(
    names: Sequence[str], path: Path, error: ErrorType
) -> tuple[int | None, int, int | None]:
    id_col, text_col, title_col = find_columns(names)
    if text_col is None:
        raise error(
            f"no text column (one of {', '.join(TEXT_COLUMNS)}) in the header; "
            f"columns: {', '.join(names) or 'none'}",
            path,
            1,
        )
    return id_col, text_col, title_col


def iter_delimited_documents(
    path: str | os.PathLike[str],
    delimiter: str,
    error: ErrorType = CorpusFormatError,
    lines: Iterable[tuple[int, str]] | None = None,
) -> Iterator[Document]:
    """Documents of a CSV (``delimiter=","``) or TSV (``"\\t"``) file with a header row.

    Quoted fields may span lines. Without an id column the id is the data row's line number,
    like a plain text corpus.
    """
    path = Path(path)
    numbered = lines if lines is not None else iter_lines(path, error=error)
    reader = csv.reader((line + "\n" for _, line in numbered), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return
        id_col, text_col, title_col = _require_text(header, path, error)
        unique = DuplicateCheck(path, error)
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise error(
                    f"expected {len(header)} columns like the header, got {len(row)}",
                    path,
                    number,
                )
            doc_id = row[id_col].strip() if id_col is not None else str(number)
            if not doc_id:
                raise error("empty id", path, number)
            unique(doc_id, number)
            title = row[title_col] if title_col is not None else ""
            yield Document(doc_id=doc_id, text=row[text_col], title=title)
    except csv.Error as exc:
        raise error(
            f"malformed {'TSV' if delimiter == chr(9) else 'CSV'} ({exc})", path, reader.line_num
        ) from None


def iter_parquet_documents(
    path: str | os.PathLike[str], error: ErrorType = CorpusFormatError
) -> Iterator[Document]:
    """Documents of a Parquet file, read in batches; needs the optional ``pyarrow``.

    Without an id column the id is the 1-based row number.
    """
    path = Path(path)
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise error(
            "reading Parquet needs pyarrow: pip install 'minicoil[parquet]'", path
        ) from None
    try:
        table = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError family
        raise error(f"cannot read Parquet ({exc})", path) from None
    names = list(table.schema_arrow.names)
    id_col, text_col, title_col = _require_text(names, path, error)
    wanted = [names[c] for c in (id_col, text_col, title_col) if c is not None]
    unique = DuplicateCheck(path, error)
    row = 0
    for batch in table.iter_batches(batch_size=PARQUET_BATCH, columns=wanted):
        columns = batch.to_pydict()
        texts = columns[names[text_col]]
        ids = columns[names[id_col]] if id_col is not None else None
        titles = columns[names[title_col]] if title_col is not None else None
        for i, text in enumerate(texts):
            row += 1
            doc_id = str(ids[i]) if ids is not None and ids[i] is not None else str(row)
            unique(doc_id, None)
            if text is not None and not isinstance(text, str):
                raise error(f"row {row}: text column is {type(text).__name__}, not a string", path)
            title = titles[i] if titles is not None and titles[i] is not None else ""
            yield Document(doc_id=doc_id, text=text or "", title=str(title))
