"""The one error type of every data-file reader: it names the file and, where known, the line.

A skipped or misread line silently changes training data and evaluation numbers, so readers
stop at the first bad line and say exactly where it is (``path, line N: problem``), the way
an editor or ``sed -n Np`` finds it again.
"""

from __future__ import annotations

import os
from pathlib import Path


class DataFileError(ValueError):
    """A data file is missing, unreadable or malformed.

    Subclasses name the domain (a corpus, a BEIR dataset, a run file) so that callers can catch
    just theirs; every reader takes the class to raise, so one parser serves all of them.
    """

    def __init__(
        self,
        message: str,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.reason = message
        if path is not None and line is not None:
            message = f"{path}, line {line}: {message}"
        elif path is not None:
            message = f"{path}: {message}"
        super().__init__(message)


class CorpusFormatError(DataFileError):
    """A corpus cannot be read, or its format cannot be told from its content."""


ErrorType = type[DataFileError]
