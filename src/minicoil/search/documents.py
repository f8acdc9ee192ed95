"""What ``SearchIndex.index`` accepts as documents, and what it stores about each.

``minicoil.data.Document`` objects are read by attribute (``doc_id``, ``title``, ``text``), so
this layer-3 module needs nothing from the data package; ``(doc_id, text)`` pairs and
``{doc_id: text}`` mappings, the older inputs, keep working. The content hash is what makes a
rerun of ``minicoil index`` incremental.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["as_documents", "content_hash", "indexable"]


def content_hash(title: str, text: str) -> str:
    """What decides a document's vectors within one collection (model and avg_len are fixed)."""
    return hashlib.sha256(json.dumps([title, text]).encode("utf-8")).hexdigest()


def as_documents(documents: Any) -> list[tuple[str, str, str]]:
    """``(doc_id, title, text)`` of ``Document`` objects, ``(doc_id, text)`` pairs or a
    ``{doc_id: text}`` mapping."""
    items = documents.items() if isinstance(documents, Mapping) else documents
    out = []
    for item in items:
        if hasattr(item, "doc_id") and hasattr(item, "text"):
            out.append((str(item.doc_id), str(getattr(item, "title", "") or ""), item.text))
        else:
            doc_id, text = item
            out.append((str(doc_id), "", text))
    return out


def indexable(title: str, text: str) -> str:
    return f"{title} {text}" if title else text
