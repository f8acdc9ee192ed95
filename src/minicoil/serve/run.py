"""``serve(...)``: open a collection, load its model once, and run the app with uvicorn.

Loading the model is the slow part of every CLI search (seconds); a long-running service pays
it once. The collection is opened and checked against the model before the socket is bound,
so a wrong name or model fails at start with one clear error instead of on the first request.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from minicoil.serve.limits import Limits

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

__all__ = ["open_model", "serve"]


def open_model(model: str | os.PathLike[str] | None, backend: str) -> MiniCOIL:
    """The model through the fast loader (ONNX int8 by default), the shipped one if None."""
    from minicoil.export.runtime import load_model

    return load_model(None if model is None else str(model), backend=backend)


def serve(
    collection: str,
    path: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str | os.PathLike[str] | None = None,
    backend: str = "onnx-int8",
    *,
    limits: Limits | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``collection`` (in the embedded store at ``path``, default the user's store)
    on ``host:port`` until interrupted. Binds to 127.0.0.1 unless told otherwise."""
    import uvicorn

    from minicoil.search.qdrant import SearchIndex
    from minicoil.serve.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    loaded = open_model(model, backend)
    with SearchIndex(loaded, collection, path=path) as index:
        index.search("warm up", mode="bm25", limit=1)  # checks the collection against the model
        app = create_app(index, limits=limits)
        # access_log off: the app logs each request in one line of its own (with timing).
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
