"""What every ``minicoil`` command shares: the options declared once, the model loader, the
error guard (one ``error:`` line, never a traceback) and plain text tables.

Importing this module must stay cheap (no torch, numpy, qdrant): ``minicoil --help`` and every
usage error answer from it alone, so library modules are imported inside the functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

F = TypeVar("F", bound=Callable[..., Any])

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model name (minicoil-en) or folder. Default: the shipped model, or plain BM25 if "
        "none is installed.",
    ),
]
BackendOption = Annotated[
    str,
    typer.Option(
        help="Backbone runtime: onnx-int8 (fast, int8 graph built once and cached), onnx, or "
        "torch (fp32)."
    ),
]
TopKOption = Annotated[int, typer.Option("--top-k", "-k", min=1, help="Results per query.")]
QuietOption = Annotated[bool, typer.Option("--quiet", help="No progress bars.")]
BatchOption = Annotated[int, typer.Option(min=1, help="Texts per forward pass.")]
CollectionOption = Annotated[str, typer.Option("--collection", "-c", help="Collection name.")]
StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--path",
        help="Folder of the embedded collections. Default: the user data folder "
        "(see `minicoil collections`).",
    ),
]
QdrantUrlOption = Annotated[
    str | None,
    typer.Option("--qdrant-url", help="A Qdrant server instead of the embedded store."),
]


# The hybrid's options (search, benchmark, serve). Their defaults are the tuned values of
# minicoil.search.hybrid, read by ``hybrid_settings`` when a command runs, so they live in one
# place and ``--help`` imports no numeric stack.
FusionOption = Annotated[
    str | None,
    typer.Option(help="Hybrid fusion: weighted, rrf or dbsf. Default: weighted (the tuned one)."),
]
WeightOption = Annotated[
    float | None,
    typer.Option(help="--fusion weighted: weight of the dense cosine. Default: the tuned weight."),
]
FloorOption = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        help="--fusion weighted: score meanings as floor+(1-floor)*cos. Default: the tuned floor.",
    ),
]


def hybrid_settings(
    fusion: str | None, weight: float | None, floor: float | None
) -> tuple[str, float, float]:
    """The given hybrid options, the library's tuned defaults for those left out."""
    from minicoil.search.hybrid import HYBRID_FLOOR, HYBRID_FUSION, HYBRID_WEIGHT

    return (
        fusion if fusion is not None else HYBRID_FUSION,
        weight if weight is not None else HYBRID_WEIGHT,
        floor if floor is not None else HYBRID_FLOOR,
    )


USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError, OSError, ImportError)
"""Failures a user can fix (bad data and options, unreadable files, a missing optional
package); the library's own errors (CorpusFormatError, StoreError, ModelFormatError, ...) are
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


def check_model(model: str | None) -> None:
    """Fail at once on a model that is neither a folder nor a known name: loading it would
    fail too, but only after the slow imports."""
    from minicoil.config import ModelFormatError
    from minicoil.defaults import default_model_path, resolve_model

    if model is None and default_model_path() is None:
        return  # plain BM25
    try:
        resolve_model(model)
    except ModelFormatError as exc:
        raise fail(str(exc)) from None


def check_avg_len(avg_len: float) -> None:
    """Fail at once on a bad ``--avg-len``, with the library's one check (CorpusStats)."""
    from minicoil.stats import CorpusStats

    try:
        CorpusStats.coerce(avg_len)
    except ValueError as exc:
        raise fail(f"--avg-len: {exc}") from None


def check_backend(backend: str) -> None:
    """Fail at once on an unknown ``--backend``."""
    from minicoil.export.runtime import BACKENDS

    if backend not in BACKENDS:
        raise fail(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")


def load_model(model: str | None, backend: str = "onnx-int8") -> MiniCOIL:
    """The model by name or folder on the chosen runtime, through the fast loader the
    Retriever and the server use too; format problems become one error line."""
    from minicoil.backbone import BackboneError
    from minicoil.config import ModelFormatError
    from minicoil.export.runtime import load_model as load
    from minicoil.heads import HeadsError

    check_model(model)
    check_backend(backend)
    try:
        return load(model, backend=backend)
    except (ModelFormatError, HeadsError, BackboneError) as exc:
        raise fail(str(exc).strip().splitlines()[0]) from None


def model_folder(model: str | None) -> Path | None:
    """The folder ``--model`` names (None: plain BM25, when no model is installed)."""
    from minicoil.defaults import default_model_path, resolve_model

    if model is None and default_model_path() is None:
        return None
    return resolve_model(model)


def model_label(model: str | None) -> str:
    """How results files name the model: the folder as a person would type it."""
    from minicoil.io import display_path

    folder = model_folder(model)
    return display_path(folder) if folder is not None else "plain BM25 (no model folder)"


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
