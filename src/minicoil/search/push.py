"""Scale-out: copy an embedded collection to a Qdrant server, unchanged.

Every point (id, the ``minicoil``/``bm25``/``dense`` vectors, payload) and the collection's
minicoil metadata (model fingerprint, avg_len, n_docs) go over as they are, so a
:class:`~minicoil.search.qdrant.SearchIndex` with ``url=`` on the copy gives the same hits
without re-encoding anything.

Tested against qdrant-client's in-memory client (``QdrantClient(":memory:")``), which has the
same client API and models as a server: no Qdrant server binary can run on the machines the
tests run on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from minicoil.search.edge import EdgeEngine
from minicoil.search.server import ServerEngine
from minicoil.search.store import StoreError

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

__all__ = ["push_collection"]


def push_collection(
    path: str | os.PathLike[str],
    collection: str,
    url: str | None = None,
    client: QdrantClient | None = None,
    *,
    target: str | None = None,
    replace: bool = False,
    batch: int = 256,
) -> int:
    """Copy embedded ``collection`` from store ``path`` to the server at ``url`` (or through
    ``client``) as ``target`` (default: the same name); returns the points copied.

    An existing collection on the server is refused unless ``replace``: pushing over another
    corpus by mistake would silently mix two collections' statistics."""
    if (url is None) == (client is None):
        raise ValueError("give exactly one of url= or client=")
    source = EdgeEngine(path, collection)
    try:
        meta = source.metadata()
        if not source.exists() or meta is None:
            raise StoreError(f"collection {collection!r} not found in {path}")
        dense_size = int(meta["model"]["dense_size"])
        if client is None:
            from qdrant_client import QdrantClient

            # the version check warns before our own error when the server is unreachable
            client = QdrantClient(url=url, check_compatibility=False)
            owned = True
        else:
            owned = False
        dest = ServerEngine(client, target or collection, location=str(url), owned=owned)
        try:
            if dest.exists() and not replace:
                raise StoreError(
                    f"collection {dest.name!r} already exists on {url or 'the server'}; "
                    "pass replace=True (`--replace`) to overwrite it"
                )
            dest.create(dense_size, meta)
            copied, chunk = 0, []
            for point in source.points(batch):
                chunk.append(point)
                if len(chunk) >= batch:
                    dest.upsert_stored(chunk)
                    copied, chunk = copied + len(chunk), []
            if chunk:
                dest.upsert_stored(chunk)
                copied += len(chunk)
            dest.write_metadata({**meta, "corpus": {**meta["corpus"], "n_docs": copied}})
            return copied
        finally:
            dest.close()
    finally:
        source.close()
