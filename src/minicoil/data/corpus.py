"""The one corpus reader: ``read_corpus(path)`` picks the format from the content, not the name.

Names lie (a BEIR file saved as ``.json``, JSON lines in a ``.txt``, WikiExtractor files with
no extension), so the first bytes and the first non-blank line decide. When the content does
not settle the question - JSON lines of an unknown schema, a ``.csv`` without a text column, a
``.jsonl`` that is not JSON - the reader stops with one :class:`CorpusFormatError` naming the
file instead of guessing: a guess would index JSON keys as words and look like it worked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Literal

from minicoil.data.document import Document
from minicoil.data.errors import CorpusFormatError
from minicoil.data.jsonl import iter_beir_documents, iter_pyserini_documents
from minicoil.data.lines import iter_lines, read_head
from minicoil.data.plain import (
    DOC_OPEN,
    iter_line_documents,
    iter_txt_folder_documents,
    iter_wikiextractor_documents,
    txt_files,
)
from minicoil.data.tables import (
    delimited_format,
    iter_delimited_documents,
    iter_parquet_documents,
)

__all__ = ["BEIR_CORPUS_FILE", "CorpusFormat", "detect_corpus_format", "read_corpus"]

BEIR_CORPUS_FILE = "corpus.jsonl"
CorpusFormat = Literal[
    "beir", "pyserini", "csv", "tsv", "parquet", "wikiextractor", "text", "txt-folder"
]
_BEIR_MARKERS = ("queries.jsonl", "qrels")  # a folder with these is a BEIR folder
_PARQUET_MAGIC = b"PAR1"
_TABLE_SUFFIXES = {".csv": "CSV", ".tsv": "TSV"}
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def _base_suffix(path: Path) -> str:
    """The suffix under a compression suffix (``corpus.jsonl.gz`` -> ``.jsonl``)."""
    name = path.name.lower().removesuffix(".gz").removesuffix(".bz2")
    return Path(name).suffix


def _first_line(path: Path) -> tuple[int, str] | None:
    with closing(iter_lines(path, error=CorpusFormatError)) as lines:
        return next(((n, line.strip()) for n, line in lines if line.strip()), None)


def _json_format(path: Path, number: int, line: str) -> CorpusFormat:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(
            f"starts like JSON but is not a JSON object per line ({exc.msg}); "
            "expected BEIR or Pyserini JSON lines",
            path,
            number,
        ) from None
    if isinstance(record, dict) and "_id" in record:
        return "beir"
    if isinstance(record, dict) and "id" in record and "contents" in record:
        return "pyserini"
    fields = ", ".join(sorted(record)) if isinstance(record, dict) else type(record).__name__
    raise CorpusFormatError(
        f"JSON lines with fields ({fields}) are neither BEIR (_id, title, text) nor "
        "Pyserini (id, contents)",
        path,
        number,
    )


def _file_format(path: Path) -> CorpusFormat:
    if read_head(path, 4, CorpusFormatError) == _PARQUET_MAGIC:
        return "parquet"
    suffix = _base_suffix(path)
    first = _first_line(path)
    if first is None:
        return "text"  # empty: no documents, whatever the name says
    number, line = first
    if line.startswith("{"):
        return _json_format(path, number, line)
    if line.startswith("["):
        raise CorpusFormatError(
            "a JSON array; expected JSON lines (one object per line)", path, number
        )
    if DOC_OPEN.match(line):
        return "wikiextractor"
    table = delimited_format(line)
    if table is not None:
        return table
    if suffix in _TABLE_SUFFIXES:
        raise CorpusFormatError(
            f"named {suffix} but its first line has no text column (text, contents or body): "
            f"{line[:80]!r}",
            path,
            number,
        )
    if suffix in _JSON_SUFFIXES or suffix == ".parquet":
        raise CorpusFormatError(f"named {suffix} but its content is not {suffix[1:]}", path)
    return "text"


def detect_corpus_format(path: str | os.PathLike[str]) -> CorpusFormat:
    """The format of a corpus file or folder, decided by content (see module doc)."""
    path = Path(path)
    if path.is_dir():
        if (path / BEIR_CORPUS_FILE).is_file():
            return "beir"
        if any((path / marker).exists() for marker in _BEIR_MARKERS):
            raise CorpusFormatError(
                "file not found (the BEIR folder has no corpus)", path / BEIR_CORPUS_FILE
            )
        if txt_files(path):
            return "txt-folder"
        raise CorpusFormatError(
            f"folder holds neither a BEIR {BEIR_CORPUS_FILE} nor any .txt file", path
        )
    if not path.exists():
        raise CorpusFormatError("file not found", path)
    return _file_format(path)


def read_corpus(path: str | os.PathLike[str]) -> Iterator[Document]:
    """Stream the documents of a corpus file or folder, in file order.

    Formats: BEIR JSONL (``_id``/``title``/``text``) or a BEIR folder (its ``corpus.jsonl``),
    Pyserini JSONL (``id``/``contents``), CSV/TSV with a header naming the id/text/title
    columns, Parquet (optional ``pyarrow``), WikiExtractor output, a folder of ``.txt`` files
    (id = path in the folder) and plain text (one document per line, id = line number).
    gzip/bz2 compression is read transparently. Ids are unique: a repeated id is an error.
    Every problem raises :class:`CorpusFormatError` naming the file (and line, where known).
    """
    path = Path(path)
    fmt = detect_corpus_format(path)
    if fmt == "beir":
        file = path / BEIR_CORPUS_FILE if path.is_dir() else path
        return iter_beir_documents(file)
    readers = {
        "pyserini": iter_pyserini_documents,
        "parquet": iter_parquet_documents,
        "wikiextractor": iter_wikiextractor_documents,
        "text": iter_line_documents,
        "txt-folder": iter_txt_folder_documents,
    }
    if fmt in readers:
        return readers[fmt](path)
    return iter_delimited_documents(path, "\t" if fmt == "tsv" else ",")
