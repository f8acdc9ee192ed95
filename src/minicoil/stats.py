"""Corpus statistics for BM25: one type that owns ``avg_len`` and checks it once.

Every document vector depends on the corpus' mean length (BM25's ``|d| / avg_len``), so the
value is validated where it is made: code that holds a :class:`CorpusStats` never checks again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

EMPTY_CORPUS_LENGTH = 1.0
"""``avg_len`` of a corpus whose documents keep no words (all stopwords or punctuation).

Such documents have ``|d| = 0``, so their tf does not depend on ``avg_len``; any positive value
keeps later, non-empty documents well defined, and 1.0 is the neutral one.
"""


@dataclass(frozen=True)
class CorpusStats:
    """What BM25 needs to know about the user's corpus: its size and mean document length.

    Length counts kept words (no stopwords, no punctuation), the same unit as ``|d|``.
    """

    n_docs: int
    avg_len: float

    def __post_init__(self) -> None:
        if isinstance(self.n_docs, bool) or not isinstance(self.n_docs, int) or self.n_docs < 0:
            raise ValueError(f"n_docs must be a count >= 0, got {self.n_docs!r}")
        value = self.avg_len
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"avg_len must be a number, got {value!r}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"avg_len must be positive, got {value}")
        object.__setattr__(self, "avg_len", float(value))

    @classmethod
    def from_lengths(cls, lengths: Iterable[int]) -> CorpusStats:
        """Measure a corpus from its documents' lengths in kept words."""
        n, total = 0, 0
        for length in lengths:
            n += 1
            total += length
        if n == 0:
            raise ValueError("cannot fit corpus statistics on an empty corpus")
        return cls(n, total / n if total > 0 else EMPTY_CORPUS_LENGTH)

    @classmethod
    def coerce(cls, value: float | CorpusStats) -> CorpusStats:
        """A stored or user-given ``avg_len`` (a number) or stats, checked."""
        return value if isinstance(value, CorpusStats) else cls(0, value)
