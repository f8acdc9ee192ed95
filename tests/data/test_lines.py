"""``iter_lines``: the one UTF-8 line reader (plain, gzip, bz2), errors naming file and line."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest

from minicoil.data import CorpusFormatError, DataFileError, iter_lines

TEXT = "\ufefffirst\r\nsecond \u2028 still second\n\nfourth"


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress, bz2.compress])
def test_lines_of_plain_and_compressed_files(tmp_path: Path, compress) -> None:
    path = tmp_path / "lines"
    path.write_bytes(compress(TEXT.encode("utf-8")))
    assert list(iter_lines(path)) == [
        (1, "first"),
        (2, "second \u2028 still second"),
        (3, ""),
        (4, "fourth"),
    ]


def test_progress_callback_counts_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "big.txt.gz"
    path.write_bytes(gzip.compress(("line\n" * 5000).encode()))
    seen: list[int] = []
    assert sum(1 for _ in iter_lines(path, on_bytes=seen.append)) == 5000
    assert sum(seen) == path.stat().st_size and len(seen) > 1


def test_errors_name_file_and_line_with_the_callers_error_type(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(DataFileError, match=r"latin1\.txt, line 2: invalid UTF-8") as info:
        list(iter_lines(path))
    assert info.value.line == 2 and info.value.path == path
    with pytest.raises(CorpusFormatError, match=r"latin1\.txt, line 2"):
        list(iter_lines(path, error=CorpusFormatError))


def test_missing_corrupt_and_misnamed_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"nope\.txt: file not found"):
        list(iter_lines(tmp_path / "nope.txt"))
    fake = tmp_path / "fake.gz"
    fake.write_bytes(b"plain text")
    with pytest.raises(DataFileError, match=r"fake\.gz, line 1: corrupt gzip data"):
        list(iter_lines(fake))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(b"a\n" * 100_000)[:200])
    with pytest.raises(DataFileError, match=r"cut\.gz, line \d+: corrupt or truncated gzip"):
        list(iter_lines(cut))
    with pytest.raises(DataFileError, match=r"cannot open: Is a directory"):
        list(iter_lines(tmp_path))
