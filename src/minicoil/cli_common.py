"""What every ``minicoil`` command shares: one-line errors, plain text tables, paths as shown."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])

# The hybrid's options, shared by ``search`` and ``benchmark`` (defaults: minicoil.search.fusion).
FusionOption = Annotated[
    str, typer.Option(help="Hybrid fusion: weighted (client-side), rrf or dbsf (server-side).")
]
WeightOption = Annotated[float, typer.Option(help="--fusion weighted: weight of the dense cosine.")]
FloorOption = Annotated[
    float,
    typer.Option(
        min=0.0, max=1.0, help="--fusion weighted: score meanings as floor+(1-floor)*cos."
    ),
]

USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError, OSError, ImportError)
"""Failures a user can fix (bad data and options, unreadable files, a missing optional
package); the library's own errors (CorpusError, DatasetError, ModelFormatError, ...) are
ValueErrors."""


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned Exit (code 2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def guard_with(
    extra: Callable[[], tuple[type[BaseException], ...]] = tuple, prefix: str = ""
) -> Callable[[F], F]:
    """Decorator: expected failures become one ``error:`` line and exit code 2, never a
    traceback. ``extra`` names more exception types (imported late, e.g. a client library's),
    whose messages get ``prefix``."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (typer.Exit, typer.Abort):  # already reported (both are RuntimeErrors)
                raise
            except (*USER_ERRORS, *extra()) as exc:
                lines = str(exc).strip().splitlines()
                message = lines[0] if lines else type(exc).__name__
                if prefix and not isinstance(exc, USER_ERRORS):
                    message = prefix + message
                raise fail(message) from None

        return wrapper  # type: ignore[return-value]

    return decorate


guard = guard_with()


def format_columns(rows: Sequence[Sequence[str]], min_width: int = 0) -> str:
    """Fixed-width table: first row is the header, first column left-aligned, others right."""
    widths = [max(min_width, *(len(r[i]) for r in rows)) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


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
