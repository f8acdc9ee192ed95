"""Plain-text corpora: one document per line, a folder of ``.txt`` files, WikiExtractor dumps."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from minicoil.data.document import Document
from minicoil.data.errors import CorpusFormatError, ErrorType
from minicoil.data.lines import iter_lines

__all__ = [
    "DOC_OPEN",
    "iter_line_documents",
    "iter_txt_folder_documents",
    "iter_wikiextractor_documents",
    "iter_wikiextractor_paragraphs",
    "txt_files",
]

DOC_OPEN = re.compile(r"^<doc(?:\s[^>]*)?>\s*$")
DOC_CLOSE = "</doc>"
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def iter_line_documents(
    path: str | os.PathLike[str], error: ErrorType = CorpusFormatError
) -> Iterator[Document]:
    """One document per non-blank line; the id is the 1-based line number.

    Blank lines are skipped but still counted, so ids match what an editor shows.
    """
    for number, line in iter_lines(path, error=error):
        if line.strip():
            yield Document(doc_id=str(number), text=line)


def txt_files(folder: Path) -> list[Path]:
    """Visible ``.txt`` files below ``folder`` (hidden ones are temporaries), sorted by their
    relative path so that the order is reproducible."""
    found = [
        path
        for path in folder.rglob("*.txt")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def iter_txt_folder_documents(
    folder: str | os.PathLike[str], error: ErrorType = CorpusFormatError
) -> Iterator[Document]:
    """One document per ``.txt`` file; the id is its path relative to ``folder`` (the file
    name for files at the top), so ids stay unique across subfolders."""
    folder = Path(folder)
    for path in txt_files(folder):
        text = "\n".join(line for _, line in iter_lines(path, error=error)).strip()
        yield Document(doc_id=path.relative_to(folder).as_posix(), text=text)


def iter_wikiextractor_paragraphs(
    lines: Iterable[tuple[int, str]],
    path: str | os.PathLike[str],
    error: ErrorType = CorpusFormatError,
) -> Iterator[str]:
    """Body paragraphs of ``<doc>`` blocks, without the title line that opens each block.

    Text outside blocks is ignored (it is not WikiExtractor output), but a file with text and
    no block at all is an error: it was almost certainly given the wrong format.
    """
    in_doc = expect_title = seen_doc = False
    first_stray: int | None = None
    for lineno, line in lines:
        stripped = line.strip()
        if DOC_OPEN.match(stripped):
            in_doc = expect_title = seen_doc = True
        elif stripped == DOC_CLOSE:
            in_doc = False
        elif not in_doc:
            if stripped and first_stray is None:
                first_stray = lineno
        elif stripped and expect_title:
            expect_title = False
        elif stripped:
            yield stripped
    if not seen_doc and first_stray is not None:
        raise error(
            "no <doc ...> block found; this is not WikiExtractor output (pass another format)",
            path,
            first_stray,
        )


def iter_wikiextractor_documents(
    path: str | os.PathLike[str], error: ErrorType = CorpusFormatError
) -> Iterator[Document]:
    """One document per ``<doc id=".." title="..">`` block: its id and title attributes, and
    its paragraphs (without the repeated title line) joined by newlines."""
    path = Path(path)
    unique: set[str] = set()
    doc_id = title = ""
    body: list[str] = []
    start = 0
    for lineno, line in iter_lines(path, error=error):
        stripped = line.strip()
        if DOC_OPEN.match(stripped):
            attributes = dict(_ATTRIBUTE.findall(stripped))
            doc_id, title, body, start = (
                attributes.get("id", ""),
                attributes.get("title", ""),
                [],
                lineno,
            )
            if not doc_id:
                raise error("<doc> without an id attribute", path, lineno)
            if doc_id in unique:
                raise error(f"duplicate id {doc_id!r}", path, lineno)
            unique.add(doc_id)
        elif stripped == DOC_CLOSE and start:
            if body and body[0] == title:
                body = body[1:]
            yield Document(doc_id=doc_id, text="\n".join(body), title=title)
            start = 0
        elif start and stripped:
            body.append(stripped)
    if start:
        raise error(f"<doc> block opened on line {start} is never closed", path)
