"""miniCOIL: BM25 made meaning-aware by tiny per-word heads on a sentence-transformers backbone.

>>> from minicoil import MiniCOIL
>>> model = MiniCOIL.from_pretrained("minicoil-en")  # doctest: +SKIP

"The reference", wherever a docstring says it, is Qdrant's miniCOIL: its public research code
(training), its inference in fastembed (``Qdrant/minicoil-v1``) and the article "miniCOIL: on
the road to usable sparse neural retrieval"; ``../shared/docs/minicoil-reference.md`` sums it up.

Names are imported on first use (PEP 562), so ``import minicoil`` costs no torch: a command
line that only parses its arguments, or a tool that reads a model folder's config, stays fast.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minicoil.backbone import Backbone, BackboneError
    from minicoil.config import MiniCOILConfig, ModelFormatError
    from minicoil.heads import Heads, HeadsError
    from minicoil.model import MiniCOIL
    from minicoil.retriever import Retriever
    from minicoil.sparse import SparseVector
    from minicoil.stats import CorpusStats
    from minicoil.text import TextProcessor, Vocabulary

try:
    __version__ = version("minicoil")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "Backbone": "minicoil.backbone",
    "BackboneError": "minicoil.backbone",
    "CorpusStats": "minicoil.stats",
    "Heads": "minicoil.heads",
    "HeadsError": "minicoil.heads",
    "MiniCOIL": "minicoil.model",
    "MiniCOILConfig": "minicoil.config",
    "ModelFormatError": "minicoil.config",
    "Retriever": "minicoil.retriever",
    "SparseVector": "minicoil.sparse",
    "TextProcessor": "minicoil.text",
    "Vocabulary": "minicoil.text",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'minicoil' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "Backbone",
    "BackboneError",
    "CorpusStats",
    "Heads",
    "HeadsError",
    "MiniCOIL",
    "MiniCOILConfig",
    "ModelFormatError",
    "Retriever",
    "SparseVector",
    "TextProcessor",
    "Vocabulary",
    "__version__",
]
