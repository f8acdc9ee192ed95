"""What the web service answers, as plain JSON-able dicts, with no HTTP in sight.

One :class:`Service` wraps an open :class:`~minicoil.search.qdrant.SearchIndex` (model loaded
once) and turns its answers into what the page and API clients need: hits with a title and a
snippet, the three rankings of one query side by side with the meaning cosine of each matched
word, one document's per-word explanation, and one word's sense map. Keeping this apart from
:mod:`minicoil.serve.app` lets the answers be tested without a server, and keeps the app
module about HTTP only (validation, limits, logging).

Every method is synchronous and CPU-bound (a forward pass per query or document); the app
runs them on its worker threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from minicoil.eval.senses import snippet
from minicoil.search.qdrant import Hit

if TYPE_CHECKING:
    from minicoil.search.points import EncodedQuery
    from minicoil.search.qdrant import SearchIndex

__all__ = ["COMPARED_MODES", "SEARCH_MODES", "DocumentNotFound", "Service"]

SEARCH_MODES: tuple[str, ...] = ("bm25", "sparse", "hybrid", "dense")
# The page's three columns, left to right: what BM25 ranks, what meanings change, and the
# default hybrid most users would deploy.
COMPARED_MODES: tuple[str, ...] = ("bm25", "sparse", "hybrid")
SNIPPET_CHARS = 280
CACHE_SIZE = 4096  # documents and explanations kept: a few hundred pages of results
PAYLOAD_FIELDS = ("doc_id", "title", "text")


class DocumentNotFound(LookupError):
    """A document id the service has not seen (see :meth:`Service.document`)."""


class _LRU:
    """A small thread-safe least-recently-used map (functools.lru_cache cannot be filled
    from outside, which the document cache needs)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)



def _full_text(hit: Hit) -> str:
    """What was indexed for a hit: title and text, as ``Document.indexable_text``."""
    return f"{hit.title} {hit.text}" if hit.title else hit.text


class Service:
    """The answers of ``minicoil serve`` over one open collection."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.model = index.model
        self._documents = _LRU(CACHE_SIZE)  # doc_id -> Hit (title and text)
        self._explanations = _LRU(CACHE_SIZE)  # (query, doc_id) -> explanation dict

    # ------------------------------------------------------------------ search

    def search(self, query: str, k: int, mode: str) -> list[dict[str, Any]]:
        """Top ``k`` hits of one mode: rank, id, score, title and a snippet around the first
        query word found in the text."""
        return self._ranked(query, self.index.encode_query(query, mode=mode), k, mode)  # type: ignore[arg-type]

    def _ranked(self, query: str, encoded: EncodedQuery, k: int, mode: str) -> list[dict[str, Any]]:
        hits = self.index.search_encoded(encoded, mode=mode, limit=k)  # type: ignore[arg-type]
        stems = set(self.model.processor.stems(query))
        out = []
        for rank, hit in enumerate(hits, start=1):
            self._documents.put(hit.doc_id, hit)
            out.append(
                {
                    "rank": rank,
                    "id": hit.doc_id,
                    "score": hit.score,
                    "title": hit.title,
                    "snippet": self._snippet(hit.text, stems),
                }
            )
        return out

    def _snippet(self, text: str, stems: set[str]) -> str:
        """About :data:`SNIPPET_CHARS` characters of ``text`` around its first query word."""
        if len(text) <= SNIPPET_CHARS:
            return " ".join(text.split())
        for word in self.model.processor.words(text):
            if word.stem in stems:
                return snippet(text, word.start, word.end, SNIPPET_CHARS)
        return snippet(text, 0, 0, SNIPPET_CHARS)

    def compare(self, query: str, k: int, words: bool = True) -> dict[str, Any]:
        """The rankings of :data:`COMPARED_MODES` for one query and, with ``words``, the
        matched words (meaning cosine, contribution) of every document shown, explained in one
        batched forward pass. The rankings cost one query pass: the page asks for them first,
        to draw them at once, and colours the words when they arrive."""
        encoded = self.index.encode_query(query, mode="hybrid")  # all three sides, one pass
        columns = {mode: self._ranked(query, encoded, k, mode) for mode in COMPARED_MODES}
        shown = dict.fromkeys(hit["id"] for hits in columns.values() for hit in hits)
        explained = self.explain_all(query, list(shown)) if words else {}
        matched = {d: e["words"] for d, e in explained.items()}
        return {"query": query, "k": k, "columns": columns, "words": matched}

    # ------------------------------------------------------------------ explain

    def document(self, doc_id: str) -> Hit:
        """The indexed title and text of ``doc_id`` (score 0); :class:`DocumentNotFound` if
        the collection has no such document. Recently shown documents come from a cache."""
        hit = self._documents.get(doc_id)
        if hit is None:
            from minicoil.search.points import point_id

            key = point_id(doc_id)
            payload = self.index.engine.payloads([key], PAYLOAD_FIELDS).get(key)
            if payload is None:
                raise DocumentNotFound(
                    f"no document {doc_id!r} in collection {self.index.collection!r}"
                )
            hit = Hit(doc_id, 0.0, str(payload.get("title") or ""), str(payload.get("text") or ""))
            self._documents.put(doc_id, hit)
        return hit

    def explain(self, query: str, doc_id: str) -> dict[str, Any]:
        """Per matched word of ``doc_id``: stem, forms, IDF from the collection, BM25 tf,
        meaning cosine and contribution (see :func:`minicoil.eval.explain.explain`)."""
        return self.explain_all(query, [doc_id])[doc_id]

    def explain_all(self, query: str, doc_ids: list[str]) -> dict[str, dict[str, Any]]:
        """:meth:`explain` for several documents; those not cached go through the backbone
        together (:func:`minicoil.eval.explain.explain_many`)."""
        from minicoil.eval.explain import explain_many

        found = {d: self._explanations.get((query, d)) for d in doc_ids}
        missing = [self.document(d) for d, e in found.items() if e is None]
        if missing:
            texts = [_full_text(hit) for hit in missing]
            results = explain_many(self.model, query, texts, index=self.index)
            for hit, explanation in zip(missing, results, strict=True):
                result = explanation.to_dict()
                result.update(
                    {"id": hit.doc_id, "title": hit.title, "text": hit.text, "query": query}
                )
                self._explanations.put((query, hit.doc_id), result)
                found[hit.doc_id] = result
        return {d: found[d] for d in doc_ids}  # type: ignore[misc]

    # ------------------------------------------------------------------ senses

    def senses(self, word: str, samples: int) -> dict[str, Any]:
        """The meaning vectors of ``word`` in up to ``samples`` documents of the collection
        that contain it (found by a BM25 search for the word), clustered and in 2-D."""
        from minicoil.eval.senses import word_senses

        hits = self.index.search(word, mode="bm25", limit=samples)
        source = f"the {len(hits)} best BM25 matches of {word!r} in {self.index.collection!r}"
        texts = [_full_text(h) for h in hits]
        return word_senses(self.model, word, texts, samples=samples, source=source).to_dict()

    # ------------------------------------------------------------------ health

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "collection": self.index.collection,
            "documents": self.index.n_docs,
        }
