"""Step 2 "Split sentences": paragraphs in, clean deduplicated sentences out, one per line.

miniCOIL learns a word's meaning from the sentence around it, so this step decides what a
training context is. Three splitters are available (``splitter=``):

* ``"regex"`` (default) - :func:`split_regex`, a rule-based splitter written for this project:
  it splits after ``.``/``!``/``?``/``...`` (plus closing quotes/brackets) followed by a space
  and an upper-case letter, digit or opening quote, and does not split after known
  abbreviations (``Dr.``, ``St.``, ``No. 5``, ``Jan. 1900``), initials (``J. R. R. Tolkien``,
  ``c. 1900``) or multi-period abbreviations (``U.S. Army``, ``5 p.m. on``) unless a typical
  sentence starter follows (``... in the U.S. The ...``). It never splits before a lower-case
  word: a merged pair of sentences is a milder error for a training context than a fragment.
* ``"pysbd"`` - the Python port of the Pragmatic Segmenter (rules too, but ~100x slower).
* ``"hybrid"`` - the regex splitter, handing a paragraph to pysbd only when it contains a
  period whose role an abbreviation rule had to guess (~9 % of Wikipedia paragraphs).

Measured with ``benchmarks/bench_sentences.py`` on 2,000 Wikipedia paragraphs that played no
part in writing the rules (every 50th paragraph of >= 10 words of ``wiki_AE.gz``; 5,541
sentences according to pysbd), one CPU core of a shared 2-core machine, best of 3 runs
(pysbd: 1 run); agreement is measured against pysbd:

========  ===========  ===============  ==========  ==========================
splitter  sentences/s  paragraphs/s     identical   boundary P / R / F1
========  ===========  ===============  ==========  ==========================
pysbd           1,669              602    100 %      (reference)
regex         194,988           69,938    94.9 %     97.2 % / 98.1 % / 97.6 %
hybrid         10,803            3,872    96.0 %     97.5 % / 98.6 % / 98.1 %
========  ===========  ===============  ==========  ==========================

The regex splitter is the default: it is ~115x faster than pysbd (the whole step, with dedup
and writing, runs at ~115,000 sentences/s: ~30 s instead of ~30 min of one core for 3M
sentences), and the hybrid buys only +0.4 F1 for an 18x slow-down.
Most of the remaining disagreement is not a regex error: 60 of its 102 extra boundaries are
inside quotation marks, which pysbd never splits by design (and which it gets wrong whenever
an inch mark or a stray quote unbalances them), and many "missed" boundaries are pysbd
splitting ``(i)``/``(ii)`` list items, ``<br>`` debris or before lower-case words. Details
and examples: ``benchmarks/sentence_splitter.md``.

Filtering, in this order: whitespace is normalised (runs -> one space, trimmed); sentences
with fewer than ``min_words`` words (headings such as ``Biography.``, debris) are *dropped*;
sentences with more than ``max_words`` words are *dropped*, never truncated or cut at a hard
limit - such "sentences" are nearly always tables, lists or run-on markup, and a truncated
fragment would be a misleading context; exact duplicates (same normalised text) are dropped,
keeping the first.

Deduplication memory: one 64-bit BLAKE2b hash per *kept* sentence, held as a Python ``int``
in a ``set`` - 70 bytes each including the set's slack (measured with tracemalloc in the
benchmark), i.e. ~210 MB for 3M sentences and ~700 MB for 10M. With 2^64 hash values the
chance of any false duplicate among 10M sentences is about 3e-6.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from tqdm.auto import tqdm

from minicoil.data import iter_lines
from minicoil.io import atomic_file
from minicoil.train.corpus import CorpusError, PathLike
from minicoil.train.steps import (
    done_marker_path,
    file_fingerprint,
    read_done_marker,
    write_done_marker,
)

SplitterName = Literal["regex", "pysbd", "hybrid"]
Splitter = Callable[[str], list[str]]

#: Chosen from the measurement in the module docstring.
DEFAULT_SPLITTER: SplitterName = "regex"
DEFAULT_MIN_WORDS = 3
DEFAULT_MAX_WORDS = 128
#: Bumped when the splitter or the filters change, so that old outputs are redone.
SPLIT_VERSION = 1

# --------------------------------------------------------------------------------------------
# Regex splitter
# --------------------------------------------------------------------------------------------


def _word_set(words: str) -> frozenset[str]:
    """The whitespace-separated words of ``words``; keeps the lists below readable."""
    return frozenset(words.split())


#: Never end a sentence: titles and words that are always followed by a name or a number.
PREPOSITIVE_ABBREVIATIONS = _word_set(
    """adm attys brig capt cmdr col comdr cpl det dr drs gen gov hon insp lt maj messrs mlle mme
    mr mrs ms msgr mssrs mt mtn prof pvt rep reps rev sen sens sgt sfc st supt v vs fig syn
    figs eq eqs ref refs fr pres sec secy cf approx ft mx dept univ assn bros pt"""
)
#: Do not end a sentence when a number follows (``No. 5``, ``pp. 12``, ``Jan. 1900``).
NUMBER_ABBREVIATIONS = _word_set(
    """no nos art arts ext p pp vol vols ch chap para sect op ca c cir circa ed eds est tel
    fl jan feb mar apr jun jul aug sep sept oct nov dec"""
)
#: Other abbreviations: a sentence ends after them only if an upper-case word follows.
OTHER_ABBREVIATIONS = _word_set(
    """adj adv al ala alta ariz ark ave bart bld bldg blvd btw cal calif co conn corp cres
    ct dak del dist esp esq etc exp expy fla fwy fy ga hosp hr hway hwy ia ida ill inc ind ing jr sr
    kan kans ken ky la ltd mass md med mex mfg mich min minn mo mont neb nebr nev okla ont ord
    ore pa pd pde penn penna pfc pl plz que rd rs rt sask tce tenn tex ut va ver viz vt wash wis
    wisc wy wyo yuk eng lit transl trans abbr orig incl excl"""
)
#: Multi-period abbreviations with longer parts than ``U.S.`` (handled like it).
MULTI_PERIOD_ABBREVIATIONS = _word_set(
    """ph.d b.sc m.sc b.sci m.sci d.phil b.ed m.ed ll.b ll.m b.eng m.eng b.tech m.tech b.mus"""
)
#: Words that start a sentence after a multi-period abbreviation (``in the U.S. The ...``).
SENTENCE_STARTERS = _word_set(
    """A An After Although As At Being But By Did During For From He Her His How However I If
    In It Its Many Millions More Most On One She Since Some That The Their There These They
    This Those Today Under We What When Where While Who Why"""
)

# Quotes are spelled as escapes: \u201c \u201d \u2018 \u2019 are the curly double/single ones.
_CLOSERS = "\"'\u201d\u2019\u00bb)]"
_CANDIDATE = re.compile("(?:[.!?]+|\u2026)[\"'\u201d\u2019\u00bb)\\]]*(?= )")
_MULTI_PERIOD = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]$")  # U.S, a.m, e.g (one letter each)
_ROMAN = re.compile(r"^[IVXLC]+(?![\w'\u2019])")
_OPENERS = "\"'\u201c\u2018\u00ab([\u00a1\u00bf*\u2022"  # ... and list bullets
_TRIM = "\"'\u201c\u2018\u00ab([{"


def normalize_whitespace(text: str) -> str:
    """Collapse every whitespace run (tabs, newlines, NBSP, U+2028, ...) to one space."""
    return " ".join(text.split())


def _first_letter(token: str) -> str:
    """The first character of ``token`` after opening quotes/brackets ('' if none)."""
    stripped = token.lstrip(_OPENERS)
    return stripped[:1]


def _period_decision(prev: str, nxt: str, first: str, closed: bool) -> tuple[bool, bool]:
    """Whether a single ``.`` after ``prev`` ends a sentence before ``nxt``, and whether an
    abbreviation rule (a guess the "hybrid" splitter leaves to pysbd) made that decision.

    ``first`` is the first character of ``nxt``, already known to be upper-case or a digit;
    ``closed`` says that a quote or bracket closes right after the period.
    """
    word = prev.lstrip(_TRIM)
    lower = word.lower()
    if lower in PREPOSITIVE_ABBREVIATIONS:
        return False, True  # "Dr. Smith", "St. Louis", "Smith v. Jones"
    if lower in MULTI_PERIOD_ABBREVIATIONS or _MULTI_PERIOD.match(word):
        return _next_word(nxt) in SENTENCE_STARTERS, True  # "U.S. Army" / "the U.S. The"
    if closed:
        return True, False  # 'called "Suzie Q." Tracie ...': the quotation ended
    abbreviation = lower in NUMBER_ABBREVIATIONS or lower in OTHER_ABBREVIATIONS
    if prev.startswith("(") and (abbreviation or len(word) == 1):
        return False, True  # "(b. London 1950)", "(lit. Three Brothers)": still in brackets
    if len(word) == 1 and word.isalpha():
        if word.isupper():  # an initial ("J. R. R. Tolkien"), unless "World War I. She ..."
            return _next_word(nxt) in SENTENCE_STARTERS, True
        if word in ("b", "d"):
            return False, True  # born/died: "(b. Gotha, 1675; d. Zerbst, 1702)"
        return first.isupper(), True  # "c. 1900", "p. 5" go on; "3.2 m. A ..." ends
    if lower in NUMBER_ABBREVIATIONS and (first.isdigit() or _ROMAN.match(nxt)):
        return False, True  # "No. 5", "Jan. 1900", "Op. 27", "vol. IV"
    if abbreviation:
        return nxt[:1].isupper(), True  # "Apple Inc. The ..." ends, "Corp. (CIVC)" goes on
    return True, False


def _next_word(token: str) -> str:
    return token.lstrip(_OPENERS).rstrip(",;:")


def find_boundaries(text: str) -> tuple[list[int], bool]:
    """Offsets just after each sentence end in ``text``, and whether any was a guess.

    ``text`` must be whitespace-normalised (single spaces), which keeps token look-ups to a
    ``find``/``rfind`` of one space.
    """
    cuts: list[int] = []
    guessed = False
    for match in _CANDIDATE.finditer(text):
        end = match.end()
        next_end = text.find(" ", end + 1)
        nxt = text[end + 1 : next_end if next_end != -1 else len(text)]
        first = _first_letter(nxt)
        if not first or not (first.isupper() or first.isdigit()):
            continue  # lower case, punctuation or nothing follows: the sentence goes on
        if match.group().rstrip(_CLOSERS) != ".":
            cuts.append(end)  # "!", "?", "?!", "...", "\u2026" (with any closing quotes)
            continue
        start = match.start()
        prev_start = text.rfind(" ", 0, start) + 1
        prev = text[prev_start:start]
        if prev_start == 0 and prev.isdigit():
            continue  # a list number opening the paragraph: "1. Introduction"
        closed = match.group()[-1] != "."
        ends, was_guess = _period_decision(prev, nxt, first, closed)
        guessed = guessed or was_guess
        if ends:
            cuts.append(end)
    return cuts, guessed


def split_regex(paragraph: str) -> list[str]:
    """Split one paragraph into sentences with the rules described in the module docstring."""
    text = normalize_whitespace(paragraph)
    cuts, _ = find_boundaries(text)
    return _cut(text, cuts)


def _cut(text: str, cuts: list[int]) -> list[str]:
    sentences = []
    start = 0
    for cut in cuts:
        sentences.append(text[start:cut].strip())
        start = cut
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


# --------------------------------------------------------------------------------------------
# pysbd and hybrid
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _pysbd_segmenter() -> Any:
    try:
        import pysbd
    except ImportError as exc:  # pragma: no cover - pysbd is in the train/test extras
        raise ImportError(
            "the 'pysbd' sentence splitter needs pysbd: pip install 'minicoil[train]'"
        ) from exc
    return pysbd.Segmenter(language="en", clean=False)


def split_pysbd(paragraph: str) -> list[str]:
    """Split with pysbd (the Pragmatic Segmenter rules); slow but a well-known reference."""
    text = normalize_whitespace(paragraph)
    if not text:
        return []
    sentences = (normalize_whitespace(s) for s in _pysbd_segmenter().segment(text))
    return [s for s in sentences if s]


def split_hybrid(paragraph: str) -> list[str]:
    """Regex split, except that paragraphs with a guessed period go to pysbd."""
    text = normalize_whitespace(paragraph)
    cuts, guessed = find_boundaries(text)
    return split_pysbd(text) if guessed else _cut(text, cuts)


_SPLITTERS: dict[str, Splitter] = {
    "regex": split_regex,
    "pysbd": split_pysbd,
    "hybrid": split_hybrid,
}


def get_splitter(name: SplitterName = DEFAULT_SPLITTER) -> Splitter:
    """The splitter function called ``name`` (``"regex"``, ``"pysbd"`` or ``"hybrid"``)."""
    try:
        splitter = _SPLITTERS[name]
    except KeyError:
        raise ValueError(
            f"unknown sentence splitter {name!r}; expected one of {get_args(SplitterName)}"
        ) from None
    if name != "regex":
        _pysbd_segmenter()  # fail now, not after the first paragraph
    return splitter


# --------------------------------------------------------------------------------------------
# Filtering and deduplication
# --------------------------------------------------------------------------------------------


def sentence_hash(sentence: str) -> int:
    """64-bit BLAKE2b of a normalised sentence; stable across runs, unlike ``hash()``."""
    digest = hashlib.blake2b(sentence.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass
class SplitCounts:
    """How many paragraphs were read and where each sentence went."""

    paragraphs: int = 0
    sentences: int = 0  # kept, i.e. written
    dropped_short: int = 0
    dropped_long: int = 0
    dropped_duplicate: int = 0

    @property
    def total_sentences(self) -> int:
        """Sentences produced by the splitter, before any filter."""
        return self.sentences + self.dropped_short + self.dropped_long + self.dropped_duplicate


@dataclass(frozen=True)
class SplitResult:
    """What :func:`split_sentences` produced; ``skipped`` is True when a done marker matched."""

    out_path: Path
    counts: SplitCounts
    skipped: bool


def filter_sentences(
    paragraphs: Iterable[str],
    splitter: Splitter,
    counts: SplitCounts,
    *,
    min_words: int = DEFAULT_MIN_WORDS,
    max_words: int = DEFAULT_MAX_WORDS,
    dedup: bool = True,
) -> Iterator[str]:
    """Split, normalise, length-filter and deduplicate; updates ``counts`` as it goes.

    Dedup runs last so that the hash set only holds sentences that are actually kept.
    """
    seen: set[int] = set()
    for paragraph in paragraphs:
        counts.paragraphs += 1
        for raw in splitter(paragraph):
            sentence = normalize_whitespace(raw)
            words = sentence.count(" ") + 1 if sentence else 0
            if words < min_words:
                counts.dropped_short += 1
                continue
            if words > max_words:
                counts.dropped_long += 1
                continue
            if dedup:
                key = sentence_hash(sentence)
                if key in seen:
                    counts.dropped_duplicate += 1
                    continue
                seen.add(key)
            counts.sentences += 1
            yield sentence


# --------------------------------------------------------------------------------------------
# Step 2 entry point
# --------------------------------------------------------------------------------------------


def split_params(
    in_path: Path, splitter: SplitterName, min_words: int, max_words: int, dedup: bool
) -> dict[str, Any]:
    """Everything that determines the sentences file; a change makes the step run again."""
    return {
        "step": "sentences",
        "version": SPLIT_VERSION,
        "input": file_fingerprint(in_path),
        "splitter": splitter,
        "min_words": min_words,
        "max_words": max_words,
        "dedup": dedup,
    }


def split_sentences(
    in_path: PathLike,
    out_path: PathLike,
    *,
    splitter: SplitterName = DEFAULT_SPLITTER,
    min_words: int = DEFAULT_MIN_WORDS,
    max_words: int = DEFAULT_MAX_WORDS,
    dedup: bool = True,
    progress: bool = True,
    force: bool = False,
) -> SplitResult:
    """Stream a converted corpus (one paragraph per line) into a sentences file.

    Atomic and resumable like :func:`minicoil.train.corpus.convert_corpus`: with a matching
    done marker nothing is redone (``skipped=True``) unless ``force``. Raises
    :class:`~minicoil.train.corpus.CorpusError` when no sentence survives the filters.
    """
    if min_words < 1 or max_words < min_words:
        raise ValueError(f"need 1 <= min_words <= max_words, got {min_words}, {max_words}")
    in_path, out_path = Path(in_path), Path(out_path)
    split = get_splitter(splitter)
    if not in_path.is_file():
        raise CorpusError("cannot open: no such file", in_path)
    if out_path.exists() and out_path.samefile(in_path):
        raise CorpusError("the output file is also the input", out_path)
    params = split_params(in_path, splitter, min_words, max_words, dedup)
    done = read_done_marker(out_path, params)
    if done is not None and not force:
        return SplitResult(out_path, SplitCounts(**done), skipped=True)

    done_marker_path(out_path).unlink(missing_ok=True)
    counts = SplitCounts()
    size = params["input"]["size"]
    with (
        tqdm(total=size, unit="B", unit_scale=True, desc="sentences", disable=not progress) as bar,
        atomic_file(out_path) as out,
    ):
        lines = iter_lines(in_path, on_bytes=bar.update, error=CorpusError)
        paragraphs = (line for _, line in lines if line.strip())
        for sentence in filter_sentences(
            paragraphs, split, counts, min_words=min_words, max_words=max_words, dedup=dedup
        ):
            out.write(sentence)
            out.write("\n")
        if counts.sentences == 0:
            raise CorpusError(
                f"no sentence left: {counts.paragraphs} paragraphs, "
                f"{counts.dropped_short} sentences shorter than {min_words} words, "
                f"{counts.dropped_long} longer than {max_words}, "
                f"{counts.dropped_duplicate} duplicates",
                in_path,
            )
    write_done_marker(out_path, params, asdict(counts))
    return SplitResult(out_path, counts, skipped=False)
