"""Atomic writes: a model folder or a file either appears complete or not at all.

A killed process must never leave a half-written model or index behind, so everything is
written into a temporary sibling first and moved into place with ``os.replace``/``rename``,
which are atomic on POSIX file systems when source and target share a folder.

A SIGKILL (or power loss) runs no cleanup code, so temporaries carry their writer's pid
(``.<name>.tmp-<pid>-<random>``) and the next write of the same target removes those whose
writer is gone: a killed-and-resumed job leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; on success it replaces ``path`` whole.

    On an exception the temporary folder is removed and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; a model folder should be shareable
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.rename(target, old)
    os.rename(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "w") -> Iterator[Any]:
    """Open a temporary sibling of ``path`` for writing; it replaces ``path`` on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(target), dir=target.parent)
    os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes 0600; keep the usual permissions
    encoding = None if "b" in mode else "utf-8"
    try:
        newline = None if "b" in mode else "\n"
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.tmp-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporaries (and replaced ``.old-`` copies) that killed writers of
    ``target`` left next to it; returns what was removed.

    Only names carrying a pid of no running process are touched, so a concurrent writer's
    work in progress survives (a recycled pid only delays the cleanup to a later write).
    """
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?:tmp|old)-(\d+)(?:-|$)")
    removed = []
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return removed
    for sibling in siblings:
        match = pattern.match(sibling.name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        if sibling.is_dir() and not sibling.is_symlink():
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                sibling.unlink()
        removed.append(sibling)
    return removed


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A resumable step's JSON record (progress, parameters, timings), or ``{}`` when the file
    is missing or unreadable.

    Every such record is written atomically, so a damaged one was damaged from outside (disk,
    editor). Like a done marker that no longer matches, it is then treated as absent and the
    step's work is redone, never trusted and never a dead end for the resume.
    """
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_json(
    path: str | os.PathLike[str], error: type[Exception] = ValueError, hint: str = ""
) -> Any:
    """Parse a JSON file; a missing or malformed file raises ``error`` naming the file."""
    file = Path(path)
    if not file.is_file():
        raise error(f"{file}: file not found{hint}")
    try:
        return json.loads(file.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{file}: invalid JSON ({exc})") from None


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON atomically, pretty-printed so model folders diff well."""
    with atomic_file(path) as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def display_path(path: str | os.PathLike[str], up: int = 0) -> str:
    """``path`` as a person would type it: relative to the working folder when it lies inside
    it or at most ``up`` folders above it (``../shared/data`` with ``up=1``), else as given.
    Results files written from a checkout are committed, and must not carry the machine's
    absolute paths."""
    try:
        rel = os.path.relpath(Path(path).resolve(), Path.cwd().resolve())
    except ValueError:  # another drive (Windows)
        return str(path)
    climbs = 0
    for part in Path(rel).parts:
        if part != os.pardir:
            break
        climbs += 1
    return rel if climbs <= up else str(path)
