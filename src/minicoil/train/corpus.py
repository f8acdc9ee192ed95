"""Step 1 "Convert": turn the corpora users have into one paragraph per line.

Every later step reads one simple format - UTF-8 text, one paragraph per line - so that only
this step has to know about corpus formats. The parsing itself lives in :mod:`minicoil.data`
(the one reader of each format); this module picks the format per file, streams the paragraphs
(a Wikipedia dump is tens of GB; it must never be loaded whole) and writes the output with a
done marker (:mod:`minicoil.train.steps`). ``.gz`` / ``.bz2`` files are read transparently.

Supported formats (``fmt="auto"`` picks one per file from its first non-blank line and name):

* ``wikiextractor`` - ``<doc id=".." url=".." title="..">`` ... ``</doc>`` blocks; the first
  non-empty line of a block repeats the title and is dropped, every other non-empty line is a
  paragraph.
* ``text`` - one paragraph per line.
* ``jsonl`` - one JSON object per line; the paragraph is ``record[text_field]``, prefixed with
  ``record[title_field] + " "`` when a title field is given.
* ``beir`` - a BEIR ``corpus.jsonl``: ``title + " " + text``.

Problems raise :class:`CorpusError` naming the file and, where it makes sense, the 1-based line
(``path, line N: message``), because a malformed line 3,104,227 of a 20 GB dump must be findable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from tqdm.auto import tqdm

from minicoil.data import CorpusFormatError, Document, iter_lines
from minicoil.data.jsonl import iter_beir_documents, iter_field_texts, iter_pyserini_documents
from minicoil.data.lines import read_head
from minicoil.data.plain import DOC_OPEN, iter_wikiextractor_paragraphs
from minicoil.data.tables import (
    delimited_format,
    iter_delimited_documents,
    iter_parquet_documents,
)
from minicoil.io import atomic_file
from minicoil.train.steps import DONE_SUFFIX, done_marker, file_fingerprint

Format = Literal["auto", "wikiextractor", "text", "jsonl", "beir"]
# what ``auto`` may pick: the formats a user can name, plus the other corpus formats that
# :func:`minicoil.data.read_corpus` knows (their documents' title + text become paragraphs)
ConcreteFormat = Literal[
    "wikiextractor", "text", "jsonl", "beir", "pyserini", "csv", "tsv", "parquet"
]
PathLike = str | os.PathLike[str]
Inputs = PathLike | Sequence[PathLike]

#: Bumped when the output of a step changes for the same inputs, so old outputs are redone.
CONVERT_VERSION = 1


class CorpusError(CorpusFormatError):
    """A training corpus cannot be used: unreadable, malformed, or with nothing to learn from.
    The message names the file (and line, where known)."""


@dataclass(frozen=True)
class ConvertResult:
    """What :func:`convert_corpus` produced; ``skipped`` is True when a done marker matched."""

    out_path: Path
    paragraphs: int
    skipped: bool


# --------------------------------------------------------------------------------------------
# Input files
# --------------------------------------------------------------------------------------------


def resolve_inputs(inputs: Inputs) -> list[Path]:
    """Expand files and folders into the ordered list of files to read.

    Folders are walked recursively (WikiExtractor writes ``AA/wiki_00``, ``AB/wiki_00``, ...)
    and sorted by relative path so that the output is reproducible. Hidden files (temporary
    files of an interrupted run) and done markers are skipped.
    """
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    if not items:
        raise CorpusError("no input files given")
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = _files_in_folder(path)
            if not found:
                raise CorpusError("folder contains no input files", path)
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise CorpusError("cannot open: no such file or directory", path)
    return files


def _files_in_folder(folder: Path) -> list[Path]:
    """Visible, non-marker files below ``folder``, sorted by their relative path."""
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and not path.name.endswith(DONE_SUFFIX):
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


# --------------------------------------------------------------------------------------------
# Format detection and the combined reader
# --------------------------------------------------------------------------------------------


def detect_format(path: PathLike) -> ConcreteFormat:
    """Guess the format of one file from its first non-blank line, then its name.

    Content wins over the name because WikiExtractor files have no extension (``wiki_00``)
    and JSONL exports are often called ``.json`` or ``.txt``. A JSON object with ``_id`` and
    ``text`` keys is BEIR, one with ``id`` and ``contents`` Pyserini; any other JSON object
    is generic JSONL. Parquet (by magic bytes) and CSV/TSV whose header names a text column are
    read as :func:`minicoil.data.read_corpus` reads them.
    """
    path = Path(path)
    if read_head(path, 4, CorpusError) == b"PAR1":
        return "parquet"
    with closing(iter_lines(path, error=CorpusError)) as lines:
        first = next((line for _, line in lines if line.strip()), None)
    if first is not None:
        first = first.strip()
        if DOC_OPEN.match(first):
            return "wikiextractor"
        if first.startswith("{"):
            with suppress(json.JSONDecodeError):
                record = json.loads(first)
                if isinstance(record, dict) and "_id" in record and "text" in record:
                    return "beir"
                if isinstance(record, dict) and "id" in record and "contents" in record:
                    return "pyserini"
                return "jsonl"
        table = delimited_format(first)
        if table is not None:
            return table
    base = path.name.lower().removesuffix(".gz").removesuffix(".bz2")
    if base.endswith((".jsonl", ".ndjson")):
        return "jsonl"  # a broken first line is then reported with its line number
    return "text"


def _texts(documents: Iterable[Document]) -> Iterator[str]:
    """The non-empty ``title + " " + text`` of each document."""
    return (text for text in (doc.indexable_text for doc in documents) if text)


def _file_paragraphs(
    path: Path,
    fmt: ConcreteFormat,
    text_field: str,
    title_field: str | None,
    on_bytes: Callable[[int], object] | None,
) -> Iterator[str]:
    """The paragraphs of one file in a known format, read by :mod:`minicoil.data`'s parsers."""
    if fmt == "parquet":
        return _texts(iter_parquet_documents(path, CorpusError))
    lines = iter_lines(path, on_bytes=on_bytes, error=CorpusError)
    if fmt == "wikiextractor":
        return iter_wikiextractor_paragraphs(lines, path, CorpusError)
    if fmt == "beir":
        return _texts(iter_beir_documents(path, lines, CorpusError))
    if fmt == "pyserini":
        return _texts(iter_pyserini_documents(path, lines, CorpusError))
    if fmt in ("csv", "tsv"):
        delimiter = "\t" if fmt == "tsv" else ","
        return _texts(iter_delimited_documents(path, delimiter, CorpusError, lines))
    if fmt == "jsonl":
        return iter_field_texts(path, text_field, title_field, lines, CorpusError)
    return (line.strip() for _, line in lines if line.strip())


def iter_paragraphs(
    inputs: Inputs,
    fmt: Format = "auto",
    *,
    text_field: str = "text",
    title_field: str | None = None,
    on_bytes: Callable[[int], object] | None = None,
) -> Iterator[str]:
    """Stream the paragraphs of all inputs (files or folders) in order, as stripped ``str``.

    Raises :class:`CorpusError` for unreadable or malformed input and, after the last file,
    when no paragraph at all was found: an empty corpus is always a mistake upstream.
    """
    if fmt not in get_args(Format):
        raise CorpusError(f"unknown format {fmt!r}; expected one of {get_args(Format)}")
    files = resolve_inputs(inputs)
    count = 0
    for path in files:
        file_fmt = detect_format(path) if fmt == "auto" else cast(ConcreteFormat, fmt)
        for paragraph in _file_paragraphs(path, file_fmt, text_field, title_field, on_bytes):
            count += 1
            yield paragraph
    if count == 0:
        names = ", ".join(str(p) for p in files[:3]) + (" ..." if len(files) > 3 else "")
        raise CorpusError(f"empty corpus: no text found in {names}")


def collapse_whitespace(text: str) -> str:
    """Join all whitespace runs (newlines, tabs, U+2028, ...) into single spaces.

    ``str.split()`` splits on every character that ``str.splitlines()`` treats as a line
    break, so the result is guaranteed to stay on one line however it is read back.
    """
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# Step 1 entry point
# --------------------------------------------------------------------------------------------


def convert_params(
    files: Sequence[Path], fmt: Format, text_field: str, title_field: str | None
) -> dict[str, Any]:
    """Everything that determines the converted output; a change makes the step run again."""
    return {
        "step": "convert",
        "version": CONVERT_VERSION,
        "fmt": fmt,
        "text_field": text_field,
        "title_field": title_field,
        "inputs": [file_fingerprint(p) for p in files],
    }


def convert_corpus(
    inputs: Inputs,
    out_path: PathLike,
    fmt: Format = "auto",
    *,
    text_field: str = "text",
    title_field: str | None = None,
    progress: bool = True,
    force: bool = False,
) -> ConvertResult:
    """Write all paragraphs of ``inputs`` to ``out_path``, one per line, whitespace collapsed.

    Atomic (a crash leaves no partial ``out_path``) and resumable in the simple sense: when
    ``out_path`` and its done marker exist for the same inputs (name, size, content hash) and
    options, nothing is read again (``skipped=True``) unless ``force`` is set.
    """
    out_path = Path(out_path)
    files = resolve_inputs(inputs)
    if any(f.resolve() == out_path.resolve() for f in files):
        raise CorpusError("the output file is also an input", out_path)
    params = convert_params(files, fmt, text_field, title_field)
    record = done_marker(out_path, params)
    done = record.read()
    if done is not None and not force:
        return ConvertResult(out_path, int(done["paragraphs"]), skipped=True)

    record.clear()
    total = sum(p["size"] for p in params["inputs"])
    count = 0
    with (
        tqdm(total=total, unit="B", unit_scale=True, desc="convert", disable=not progress) as bar,
        atomic_file(out_path) as out,
    ):
        paragraphs = iter_paragraphs(
            files, fmt, text_field=text_field, title_field=title_field, on_bytes=bar.update
        )
        for paragraph in paragraphs:
            out.write(collapse_whitespace(paragraph))
            out.write("\n")
            count += 1
    record.write({"paragraphs": count})
    return ConvertResult(out_path, count, skipped=False)
