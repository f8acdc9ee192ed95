"""One process per collection folder: an OS file lock with the holder's pid in it.

Qdrant Edge must not be opened by two processes: the second fails on its WAL ("WouldBlock"),
and before failing it breaks the first one's next flush. So the project takes its own lock
before it opens a shard. ``flock`` (``msvcrt.locking`` on Windows) is released by the OS when
the holder dies, even by SIGKILL, so a stale lock file never blocks anyone; the pid inside is
only there to name the holder in the error.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

from minicoil.search.store import StoreError

__all__ = ["FolderLock", "FolderLockedError"]


class FolderLockedError(StoreError):
    """Another process holds the collection folder."""


def _try_lock(handle: IO[str]) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class FolderLock:
    """An exclusive lock on ``folder/<name>``, held until :meth:`release`."""

    def __init__(self, file: Path):
        self.file = file
        self._handle: IO[str] | None = None

    def acquire(self, what: str) -> None:
        """Take the lock or raise :class:`FolderLockedError` naming ``what`` and the holder."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        # "a+" never truncates: the holder's pid must stay readable for the error message
        handle = open(self.file, "a+", encoding="utf-8")  # noqa: SIM115 (held while locked)
        if not _try_lock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise FolderLockedError(
                f"{what} is in use by another process (pid {holder}); "
                "stop it or wait for it to finish (one process at a time)"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.truncate(0)
            self._handle.close()  # closing the descriptor drops the lock
            self._handle = None
