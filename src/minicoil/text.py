"""Words, stems and vocabulary ids: the text side of the pipeline, independent of any backbone.

A *word* is a maximal run of word characters (``\\w+``: letters, digits, underscore in any script)
in the original text. Defining words on the text rather than on a tokenizer's ``##`` convention
makes WordPiece, BPE and SentencePiece backbones agree on what a word is; the backbone's tokens
are later attached to words through their character offsets (see :mod:`minicoil.backbone`).
Punctuation is never part of a word, so it is dropped by construction.

Every word is lowercased, checked against the stopword list (on the surface form, as BM25
implementations do), and stemmed exactly once with Snowball English. The vocabulary stores
stems, and a lookup never stems again: the reference implementation re-stemmed its stems and,
since Snowball is not idempotent (``databas`` -> ``databa``), lost ~540 words for good.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import Stemmer

WORD_PATTERN = re.compile(r"\w+")
"""One word: a maximal run of unicode word characters."""


def default_stopwords() -> list[str]:
    """NLTK's 179 English stopwords (shipped with the package; NLTK data cannot be downloaded)."""
    text = resources.files("minicoil").joinpath("data/stopwords-en.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True, slots=True)
class Word:
    """One word occurrence: character span in the original text and its normalised forms."""

    start: int
    end: int
    lower: str
    stem: str


@dataclass
class TextProcessor:
    """Turns text into words, dropping stopwords, and stems each surface form once.

    Stemming goes through an LRU cache: texts repeat words a lot, and PyStemmer's own cache
    is per call, so caching here keeps the per-word cost of the text path well below the
    backbone's.
    """

    stopwords: frozenset[str] = field(default_factory=lambda: frozenset(default_stopwords()))
    language: str = "english"

    def __post_init__(self) -> None:
        stemmer = Stemmer.Stemmer(self.language)
        self._stem_cached = lru_cache(maxsize=1 << 17)(stemmer.stemWord)

    def stem(self, lower_word: str) -> str:
        """Snowball stem of an already lowercased word."""
        return self._stem_cached(lower_word)

    def words(self, text: str) -> list[Word]:
        """All non-stopword words of ``text`` in order, with spans into ``text``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        out: list[Word] = []
        stopwords = self.stopwords
        for match in WORD_PATTERN.finditer(text):
            lower = match.group().lower()
            if lower in stopwords:
                continue
            out.append(Word(match.start(), match.end(), lower, self.stem(lower)))
        return out

    def stems(self, text: str) -> list[str]:
        """The stems of the kept words, in order (what BM25 counts)."""
        return [w.stem for w in self.words(text)]


@dataclass
class Vocabulary:
    """Stems that own a meaning head. Id 0 is reserved for "no head"; stems get ids 1..V.

    ``forms`` records the surface forms seen for each stem in training (for people and for
    fastembed export); lookups use stems only, so a surface word is stemmed once, by
    :class:`TextProcessor`, and never again here.
    """

    stems: list[str] = field(default_factory=list)
    forms: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids: dict[str, int] = {}
        for i, stem in enumerate(self.stems, start=1):
            if not stem:
                raise ValueError(f"vocabulary entry {i} is an empty stem")
            if stem in self._ids:
                raise ValueError(f"stem {stem!r} appears twice in the vocabulary")
            self._ids[stem] = i

    def __len__(self) -> int:
        return len(self.stems)

    def __contains__(self, stem: object) -> bool:
        return stem in self._ids

    def id(self, stem: str) -> int:
        """Vocabulary id of a stem, 0 when it has no head."""
        return self._ids.get(stem, 0)

    def ids(self, stems: Sequence[str]) -> list[int]:
        get = self._ids.get
        return [get(s, 0) for s in stems]

    @classmethod
    def from_words(cls, words: Iterable[str], processor: TextProcessor | None = None) -> Vocabulary:
        """Build a vocabulary from surface words, stemming each exactly once.

        Words that are stopwords are skipped; words sharing a stem share one entry (first
        occurrence decides the order) and their surface forms are all recorded.
        """
        processor = processor or TextProcessor()
        stems: list[str] = []
        forms: dict[str, list[str]] = {}
        for word in words:
            lower = word.lower()
            if not WORD_PATTERN.fullmatch(lower) or lower in processor.stopwords:
                continue
            stem = processor.stem(lower)
            if stem not in forms:
                stems.append(stem)
                forms[stem] = []
            if lower not in forms[stem]:
                forms[stem].append(lower)
        return cls(stems=stems, forms=forms)
