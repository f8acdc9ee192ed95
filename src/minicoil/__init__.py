"""miniCOIL: BM25 made meaning-aware by tiny per-word heads on a sentence-transformers backbone.

>>> from minicoil import MiniCOIL
>>> model = MiniCOIL.from_pretrained("models/minicoil-en")  # doctest: +SKIP
"""

from minicoil.backbone import Backbone, BackboneError
from minicoil.config import MiniCOILConfig, ModelFormatError
from minicoil.heads import Heads, HeadsError
from minicoil.model import CorpusStats, MiniCOIL
from minicoil.sparse import SparseVector
from minicoil.text import TextProcessor, Vocabulary

__version__ = "0.1.0"

__all__ = [
    "Backbone",
    "BackboneError",
    "CorpusStats",
    "Heads",
    "HeadsError",
    "MiniCOIL",
    "MiniCOILConfig",
    "ModelFormatError",
    "SparseVector",
    "TextProcessor",
    "Vocabulary",
]
