"""Step 3 "Vocabulary": which stems get a meaning head.

Counts lowercased, non-stopword words over the sentences file, stems each *distinct* word once
at the end (cheap: a few million stems instead of tens of millions), sums counts per stem and
keeps the ``size`` most frequent stems that look like words (a letter in them, 2-40 chars) and
occur at least ``min_count`` times. The surface forms of each stem are recorded, most frequent
first, as the model folder's ``vocab.json`` expects.

An optional word list restricts the vocabulary to those words' stems (e.g. only ambiguous
words); a list none of whose words occurs in the corpus is an error.

Memory stays bounded: when the table of distinct words passes ``max_distinct`` entries, words
seen once are dropped. This can only affect words far below the top ``size``, whose counts are
then undercounted by at most the number of prunings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from minicoil.data import iter_lines
from minicoil.text import WORD_PATTERN, TextProcessor, Vocabulary
from minicoil.train.corpus import CorpusError
from minicoil.train.steps import (
    done_marker_path,
    file_fingerprint,
    read_done_marker,
    write_done_marker,
)
from minicoil.vocab_io import save_vocab

VOCAB_VERSION = 1
DEFAULT_SIZE = 20_000
DEFAULT_MIN_COUNT = 50
MAX_FORMS = 20


@dataclass(frozen=True)
class VocabResult:
    out_path: Path
    vocab_size: int
    sentences: int
    distinct_words: int
    skipped: bool = False


def is_word_like(stem: str) -> bool:
    """Stems worth a head: contain a letter, 2 to 40 characters (no numbers, no junk)."""
    return 2 <= len(stem) <= 40 and any(ch.isalpha() for ch in stem)


def count_words(
    lines: Iterable[str], processor: TextProcessor, max_distinct: int = 8_000_000
) -> tuple[Counter[str], int]:
    """Counts of lowercased non-stopword words, and the number of lines read."""
    counts: Counter[str] = Counter()
    stopwords = processor.stopwords
    n = 0
    for line in lines:
        n += 1
        counts.update(w for w in WORD_PATTERN.findall(line.lower()) if w not in stopwords)
        if len(counts) > max_distinct:
            for word in [w for w, c in counts.items() if c == 1]:
                del counts[word]
    return counts, n


def select_vocabulary(
    word_counts: Counter[str],
    processor: TextProcessor,
    *,
    size: int = DEFAULT_SIZE,
    min_count: int = DEFAULT_MIN_COUNT,
    words: Iterable[str] | None = None,
) -> tuple[Vocabulary, dict[str, int]]:
    """The top stems with their surface forms and counts, ids in order of frequency."""
    stem_counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for word, count in word_counts.items():
        stem = processor.stem(word)
        stem_counts[stem] += count
        forms.setdefault(stem, Counter())[word] += count
    allowed: set[str] | None = None
    if words is not None:
        allowed = {processor.stem(w.lower()) for w in words if w.strip()}
        if not allowed & set(stem_counts):
            raise CorpusError("none of the words in the word list occurs in the corpus")
    chosen = [
        stem
        for stem, count in sorted(stem_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if count >= min_count and is_word_like(stem) and (allowed is None or stem in allowed)
    ][:size]
    if not chosen:
        raise CorpusError(
            f"no stem occurs at least {min_count} times; lower --min-count or use a larger corpus"
        )
    vocab = Vocabulary(
        stems=chosen,
        forms={s: [w for w, _ in forms[s].most_common(MAX_FORMS)] for s in chosen},
    )
    return vocab, {s: stem_counts[s] for s in chosen}


def build_vocabulary(
    sentences_path: str | Path,
    out_path: str | Path,
    *,
    size: int = DEFAULT_SIZE,
    min_count: int = DEFAULT_MIN_COUNT,
    words: list[str] | None = None,
    processor: TextProcessor | None = None,
    progress: bool = True,
    force: bool = False,
) -> VocabResult:
    """Write ``vocab.json`` (stems, forms, counts) for a sentences file; resumable."""
    if size < 1 or min_count < 1:
        raise ValueError(f"size and min_count must be >= 1, got {size}, {min_count}")
    sentences_path, out_path = Path(sentences_path), Path(out_path)
    if not sentences_path.is_file():
        raise CorpusError("cannot open: no such file", sentences_path)
    processor = processor or TextProcessor()
    params: dict[str, Any] = {
        "step": "vocab",
        "version": VOCAB_VERSION,
        "input": file_fingerprint(sentences_path),
        "size": size,
        "min_count": min_count,
        "words": sorted(words) if words is not None else None,
        "stopwords": sorted(processor.stopwords),
    }
    done = read_done_marker(out_path, params)
    if done is not None and not force:
        return VocabResult(out_path, skipped=True, **done)
    done_marker_path(out_path).unlink(missing_ok=True)
    total = params["input"]["size"]
    with tqdm(total=total, unit="B", unit_scale=True, desc="vocab", disable=not progress) as bar:
        numbered = iter_lines(sentences_path, on_bytes=bar.update, error=CorpusError)
        lines = (line for _, line in numbered)
        counts, n_lines = count_words(lines, processor)
    if n_lines == 0 or not counts:
        raise CorpusError("no words to count: the sentences file is empty", sentences_path)
    try:
        vocab, stem_counts = select_vocabulary(
            counts, processor, size=size, min_count=min_count, words=words
        )
    except CorpusError as exc:  # name the file the words were counted in
        raise CorpusError(str(exc), sentences_path) from None
    save_vocab(out_path, vocab, counts=stem_counts)
    result = {"vocab_size": len(vocab), "sentences": n_lines, "distinct_words": len(counts)}
    write_done_marker(out_path, params, result)
    return VocabResult(out_path, **result)
