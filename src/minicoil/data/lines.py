"""The one UTF-8 line reader: plain, gzip or bz2 files, with errors that name file and line.

Compression is detected by magic bytes, not by name, so a misnamed file still reads; a ``.gz``
or ``.bz2`` name whose bytes do not match is reported as corrupt (almost always a broken
download) rather than read as text. Lines are split on bytes and decoded one by one, so that a
UTF-8 error names its exact line, and only ``\\n`` ends a line: a stray ``\\r`` or U+2028 inside
a JSON string must not split a record.
"""

from __future__ import annotations

import bz2
import gzip
import os
import zlib
from collections.abc import Callable, Generator
from pathlib import Path
from typing import BinaryIO

from minicoil.data.errors import DataFileError, ErrorType

__all__ = ["iter_lines", "open_binary", "read_head"]

_GZIP_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"
_PROGRESS_EVERY = 1024  # lines between progress updates: tell() per line would cost ~5 %


def open_binary(path: Path, error: ErrorType = DataFileError) -> BinaryIO:
    """Open ``path`` for reading bytes; a failure raises ``error`` naming the file."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise error("file not found", path) from None
    except OSError as exc:
        raise error(f"cannot open: {exc.strerror or exc}", path) from exc


def _decompressed(raw: BinaryIO, path: Path, error: ErrorType) -> tuple[BinaryIO, str]:
    """Wrap ``raw`` in a decompressor chosen by magic bytes; returns the stream and its kind."""
    head = raw.read(4)
    raw.seek(0)
    suffix = path.suffix.lower()
    if head.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb"), "gzip"  # type: ignore[return-value]
    if head.startswith(_BZ2_MAGIC) and head[3:4].isdigit():
        return bz2.BZ2File(raw, mode="rb"), "bz2"  # type: ignore[return-value]
    if suffix in (".gz", ".gzip") and head:
        raise error("corrupt gzip data: not a gzip file (bad magic bytes)", path, 1)
    if suffix == ".bz2" and head:
        raise error("corrupt bz2 data: not a bz2 file (bad magic bytes)", path, 1)
    return raw, "plain"


def iter_lines(
    path: str | os.PathLike[str],
    *,
    on_bytes: Callable[[int], object] | None = None,
    error: ErrorType = DataFileError,
) -> Generator[tuple[int, str], None, None]:
    """Yield ``(1-based line number, line without its newline)`` of a UTF-8 file, blank lines
    included (callers decide whether a blank line counts, e.g. as a line-number id).

    ``on_bytes`` receives how many more (compressed) bytes have been consumed, for a byte-based
    progress bar. A byte order mark on the first line is dropped. A decompression error is
    reported at the first line that could not be read (the decompressor works in blocks, so the
    damage lies at or shortly after it). Every problem raises ``error``.
    """
    path = Path(path)
    lineno = 0
    with open_binary(path, error) as raw:
        stream, kind = _decompressed(raw, path, error)
        reported = 0
        try:
            for lineno, data in enumerate(stream, start=1):
                yield lineno, _decode(data, path, lineno, error)
                if on_bytes is not None and lineno % _PROGRESS_EVERY == 0:
                    position = raw.tell()
                    on_bytes(position - reported)
                    reported = position
        except (OSError, EOFError, zlib.error) as exc:
            what = "corrupt or truncated" if kind != "plain" else "cannot read"
            raise error(f"{what} {kind} data: {exc}", path, lineno + 1) from exc
        if on_bytes is not None:
            on_bytes(raw.tell() - reported)


def read_head(path: Path, size: int = 8, error: ErrorType = DataFileError) -> bytes:
    """The first ``size`` raw bytes of a file (for magic-number checks such as Parquet's)."""
    with open_binary(path, error) as raw:
        return raw.read(size)


def _decode(data: bytes, path: Path, lineno: int, error: ErrorType) -> str:
    try:
        line = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"invalid UTF-8 ({exc.reason} at byte {exc.start}); re-encode the file as UTF-8",
            path,
            lineno,
        ) from None
    if lineno == 1 and line.startswith("\ufeff"):
        line = line[1:]  # byte order mark written by some Windows tools
    return line.rstrip("\r\n")
