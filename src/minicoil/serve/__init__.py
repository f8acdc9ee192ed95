"""``minicoil serve``: a JSON search API and a web page showing why each document matched.

``create_app(index)`` builds the FastAPI app over an open
:class:`~minicoil.search.qdrant.SearchIndex` (testable in-process); ``serve(collection, ...)``
loads the model once and runs it with uvicorn. Both are imported lazily (PEP 562), so
``import minicoil.serve`` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minicoil.serve.app import create_app
    from minicoil.serve.limits import Limits
    from minicoil.serve.run import serve

__all__ = ["Limits", "create_app", "serve"]

_HOMES = {
    "create_app": "minicoil.serve.app",
    "Limits": "minicoil.serve.limits",
    "serve": "minicoil.serve.run",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
