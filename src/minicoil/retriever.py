"""A retriever in three lines: texts in, ranked hits out, on the same engine as the CLI.

>>> from minicoil import Retriever
>>> r = Retriever.from_texts(["The river bank flooded.", "She paid at the bank."])  # doctest: +SKIP
>>> r.search("river bank", k=1)  # doctest: +SKIP
[Hit(doc_id='0', score=..., title='', text='The river bank flooded.')]

It is a thin layer over :class:`~minicoil.search.SearchIndex` (the collection ``minicoil
index`` writes and ``minicoil search`` reads) and the fast model loader
(:func:`minicoil.export.runtime.load_model`), so a script and the command line rank the same
documents the same way. Nothing is re-implemented here: the retriever only chooses defaults a
script wants (the shipped model, hybrid search, an in-memory collection) and checks its input
up front, so a mistake is one clear error instead of a failure deep in encoding.

"In memory" is a temporary store folder, removed on :meth:`Retriever.close` or when the object
is garbage-collected: the embedded engine works on files, and one code path for both cases
keeps memory and disk behaviour identical.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minicoil.data import Document
from minicoil.search import Hit, SearchIndex, SearchIndexError
from minicoil.search.points import point_id
from minicoil.search.store import default_store_path, list_collections

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

__all__ = ["DEFAULT_COLLECTION", "Hit", "Retriever"]

DEFAULT_COLLECTION = "default"
MODES = ("hybrid", "sparse", "bm25", "dense")


def _load(model: MiniCOIL | str | os.PathLike[str] | None, backend: str) -> MiniCOIL:
    """A ready model, or one loaded by name/folder with the fast loader (None: shipped)."""
    from minicoil.model import MiniCOIL

    if isinstance(model, MiniCOIL):
        return model
    from minicoil.export.runtime import load_model

    return load_model(model, backend=backend)


def _documents(
    texts: Iterable[str | Document], ids: Sequence[Any] | None, first_id: int
) -> list[Document]:
    """Check ``texts``/``ids`` and turn them into Documents, naming the first bad item.

    Plain texts without ``ids`` are numbered from ``first_id``; a :class:`Document` brings its
    own id, so ``ids`` is only for plain texts."""
    if isinstance(texts, (str, Document)):
        raise TypeError("texts must be a list of texts, not a single text")
    items = list(texts)
    if not items:
        raise ValueError("no texts given")
    if ids is not None:
        ids = list(ids)
        if any(isinstance(item, Document) for item in items):
            raise ValueError("ids= is for plain texts: a Document carries its own doc_id")
        if len(ids) != len(items):
            raise ValueError(f"{len(ids)} ids for {len(items)} texts: give one id per text")
    docs = []
    for i, item in enumerate(items):
        if isinstance(item, Document):
            doc = item
        elif isinstance(item, str):
            doc_id = str(ids[i]) if ids is not None else str(first_id + i)
            doc = Document(doc_id=doc_id, text=item)
        else:
            raise TypeError(f"text {i} is a {type(item).__name__}, not a str or Document")
        if not doc.indexable_text.strip():
            raise ValueError(f"text {i} (id {doc.doc_id!r}) is empty")
        if not doc.doc_id.strip():
            raise ValueError(f"text {i} has an empty id")
        docs.append(doc)
    repeated = [doc_id for doc_id, n in Counter(d.doc_id for d in docs).items() if n > 1]
    if repeated:
        raise ValueError(f"duplicate id {repeated[0]!r}: every text needs its own id")
    return docs


def _close(index: SearchIndex, folder: str | None) -> None:
    """Release the engine, then remove a temporary store; safe to call twice (a finalizer
    must not reference the retriever itself, so it gets only what it frees)."""
    index.close()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class Retriever:
    """Search a collection of texts: :meth:`from_texts` builds one, :meth:`open` reopens one.

    Use it as a context manager, or call :meth:`close`, to release the store early; a
    temporary (in-memory) store is removed then, or at garbage collection at the latest.
    """

    def __init__(self, index: SearchIndex, *, temporary: str | None = None):
        self.index = index
        self._temporary = temporary
        self._finalizer = weakref.finalize(self, _close, index, temporary)

    # ------------------------------------------------------------------ building

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str | Document],
        ids: Sequence[Any] | None = None,
        path: str | os.PathLike[str] | None = None,
        *,
        collection: str = DEFAULT_COLLECTION,
        model: MiniCOIL | str | os.PathLike[str] | None = None,
        backend: str = "onnx-int8",
        recreate: bool = False,
        batch_size: int = 32,
        progress: bool = False,
    ) -> Retriever:
        """Index ``texts`` (strings or :class:`~minicoil.data.Document`) and return a retriever.

        ``ids`` name plain texts (default ``"0"``, ``"1"``, ...). With ``path`` the collection
        is written to that store folder under ``collection`` and outlives the retriever
        (reopen it with :meth:`open`); an existing collection there is refused unless
        ``recreate``. ``model`` is a loaded model, a model name or folder (default: the
        shipped model, loaded with ``backend``).
        """
        docs = _documents(texts, ids, 0)  # input errors come before any model loads
        temporary = None
        if path is None:
            temporary = tempfile.mkdtemp(prefix="minicoil-retriever-")
            path = temporary
        try:
            index = SearchIndex(_load(model, backend), collection, path=path)
            if index.exists() and not recreate:
                raise SearchIndexError(
                    f"collection {collection!r} already exists in {path}: open it with "
                    "Retriever.open, or pass recreate=True to replace it"
                )
        except BaseException:
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)
            raise
        retriever = cls(index, temporary=temporary)
        try:
            index.index(docs, batch_size=batch_size, recreate=True, progress=progress)
        except BaseException:
            retriever.close()
            raise
        return retriever

    @classmethod
    def open(
        cls,
        collection: str,
        path: str | os.PathLike[str] | None = None,
        *,
        model: MiniCOIL | str | os.PathLike[str] | None = None,
        backend: str = "onnx-int8",
    ) -> Retriever:
        """Reopen ``collection`` of the store at ``path`` (default: the user's store, where
        ``minicoil index`` writes). A missing collection is an error listing those that
        exist, raised before the model loads; one built with another model is refused."""
        store = Path(path) if path is not None else default_store_path()
        existing = list_collections(store)
        if collection not in existing:
            there = ", ".join(existing) if existing else "none"
            raise SearchIndexError(
                f"collection {collection!r} not found in {store} (collections there: {there})"
            )
        index = SearchIndex(_load(model, backend), collection, path=store)
        retriever = cls(index)
        try:
            index.n_docs  # noqa: B018 - checks the collection's model against ours now
        except BaseException:
            retriever.close()
            raise
        return retriever

    # ------------------------------------------------------------------ using

    def add(self, texts: Iterable[str | Document], ids: Sequence[Any] | None = None) -> int:
        """Index more texts; returns how many the collection holds now.

        Plain texts without ``ids`` continue the numbering after the current size. An id that
        is already in the collection is an error (silently replacing a text is a surprise in a
        script; re-index with the CLI to update documents)."""
        self._check_open()
        items = texts if isinstance(texts, (str, Document)) else list(texts)
        first = self._free_number(len(items)) if ids is None else 0
        docs = _documents(items, ids, first)
        stored = self.index.engine.payloads([point_id(d.doc_id) for d in docs], ["doc_id"])
        if stored:
            taken = next(d.doc_id for d in docs if point_id(d.doc_id) in stored)
            raise ValueError(f"id {taken!r} is already in the collection: use a new id")
        return self.index.index(docs, progress=False).points

    def _free_number(self, n_texts: int) -> int:
        """The first number from which ``n_texts`` automatic ids collide with no stored id."""
        start = self.index.count()
        while n_texts:
            wanted = [point_id(str(start + i)) for i in range(n_texts)]
            if not self.index.engine.payloads(wanted, ["doc_id"]):
                break
            start += n_texts
        return start

    def search(self, query: str, k: int = 10, mode: str = "hybrid", **options: Any) -> list[Hit]:
        """The ``k`` best texts for ``query``: :class:`~minicoil.search.Hit` objects with
        ``doc_id``, ``score``, ``title`` and ``text``, best first.

        ``mode``: ``hybrid`` (miniCOIL + dense, the default), ``sparse`` (miniCOIL alone),
        ``bm25`` or ``dense``; ``options`` go to :meth:`SearchIndex.search` (``fusion``,
        ``weight``, ``floor``, ``candidates``).
        """
        self._check_open()
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        return self.index.search(query, mode=mode, limit=k, **options)  # type: ignore[arg-type]

    def __len__(self) -> int:
        self._check_open()
        return self.index.count() if self.index.exists() else 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Release the store (and remove it if temporary); later calls do nothing."""
        self._finalizer()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("this Retriever is closed")

    def __enter__(self) -> Retriever:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "memory" if self._temporary else str(self.index.location)
        state = "closed" if self.closed else f"{len(self)} texts"
        return f"Retriever({self.index.collection!r} in {where}, {state})"
