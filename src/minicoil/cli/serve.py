"""``minicoil serve``: a collection behind a JSON API and a web page (:mod:`minicoil.serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

from minicoil.cli.common import (
    BackendOption,
    CollectionOption,
    ModelOption,
    StoreOption,
    check_backend,
    check_model,
    fail,
    guard,
)


@guard
def serve(
    collection: CollectionOption,
    path: StoreOption = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes the service to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    model: ModelOption = None,
    backend: BackendOption = "onnx-int8",
) -> None:
    """Serve a collection: a search page and a JSON API at http://HOST:PORT/.

    The model loads once; stop with Ctrl-C.
    """
    from minicoil.cli.search import check_collection, store_path

    store = store_path(path)
    check_collection(store, collection)
    check_model(model)
    check_backend(backend)
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise fail(f"{exc.name} is missing: pip install 'minicoil[serve]'") from None
    from minicoil.serve import serve as run_server

    run_server(collection, path=store, host=host, port=port, model=model, backend=backend)
