"""Step 4a "Sample": which sentences each vocabulary word learns from, chosen before encoding.

Every sentence gets a pseudo-random priority ``u`` (from the seed and its line number), and every
word keeps the ``S`` sentences with the smallest ``u`` among those containing it: a uniform
random sample without replacement for each word (a bottom-S sketch). Because all words share
the same priorities, their samples overlap as much as they possibly can, so the one backbone
pass of step 4b encodes as few sentences as possible (measured on Wikipedia with a 20k
vocabulary: S=512 selects ~72% of sentences instead of one pass per word and sentence).

Only text is read here (regex, stemming, vocabulary lookup): a few microseconds per sentence.
Memory is bounded by V*S entries plus one block of sentences.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from minicoil.data import iter_lines
from minicoil.io import atomic_file
from minicoil.text import TextProcessor, Vocabulary
from minicoil.train.corpus import CorpusError
from minicoil.train.steps import (
    done_marker_path,
    file_fingerprint,
    read_done_marker,
    write_done_marker,
)

SAMPLE_VERSION = 1
BLOCK = 100_000  # sentences per priority block and per merge


@dataclass(frozen=True)
class Selection:
    """Per word (ids 1..V): its chosen sentence line numbers, lowest priority first.

    CSR layout: word ``w`` owns ``sentences[offsets[w]:offsets[w + 1]]``; a prefix of that slice
    is itself a uniform random sample, which is how snippets and sub-samples are chosen.
    ``counts[w]`` is how many sentences contain the word in the whole corpus.
    """

    offsets: np.ndarray  # (V+2,) int64
    sentences: np.ndarray  # (P,) int64
    counts: np.ndarray  # (V+1,) int64

    @property
    def vocab_size(self) -> int:
        return len(self.counts) - 1

    @property
    def n_pairs(self) -> int:
        return len(self.sentences)

    def of(self, word: int) -> np.ndarray:
        return self.sentences[self.offsets[word] : self.offsets[word + 1]]

    def unique_sentences(self) -> np.ndarray:
        return np.unique(self.sentences)

    def save(self, path: Path) -> None:
        with atomic_file(path, "wb") as handle:
            np.savez(handle, offsets=self.offsets, sentences=self.sentences, counts=self.counts)

    @classmethod
    def load(cls, path: Path) -> Selection:
        with np.load(path) as data:
            return cls(data["offsets"], data["sentences"], data["counts"])


def vocab_fingerprint(vocab: Vocabulary) -> str:
    """Short hash of the stems in id order: a changed vocabulary invalidates later steps."""
    return hashlib.blake2b("\n".join(vocab.stems).encode(), digest_size=12).hexdigest()


def _priorities(block: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng([seed, block]).random(size)


def _merge(
    keep: tuple[np.ndarray, np.ndarray, np.ndarray],
    new: tuple[np.ndarray, np.ndarray, np.ndarray],
    per_word: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union two (word, priority, sentence) sets and keep the ``per_word`` lowest per word."""
    word = np.concatenate([keep[0], new[0]])
    prio = np.concatenate([keep[1], new[1]])
    sent = np.concatenate([keep[2], new[2]])
    order = np.lexsort((sent, prio, word))
    word, prio, sent = word[order], prio[order], sent[order]
    starts = np.flatnonzero(np.r_[True, word[1:] != word[:-1]])
    rank = np.arange(len(word)) - np.repeat(starts, np.diff(np.r_[starts, len(word)]))
    mask = rank < per_word
    return word[mask], prio[mask], sent[mask]


def select_sentences(
    lines: Any,
    vocab: Vocabulary,
    processor: TextProcessor,
    *,
    per_word: int,
    seed: int,
) -> Selection:
    """Bottom-``per_word`` sample of sentences for every vocabulary word (see module doc)."""
    V = len(vocab)
    counts = np.zeros(V + 1, dtype=np.int64)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64))
    keep = empty
    buf_word: list[np.ndarray] = []
    buf_sent: list[np.ndarray] = []
    block_start = 0
    prio = _priorities(0, BLOCK, seed)

    def flush() -> None:
        nonlocal keep, buf_word, buf_sent
        if buf_word:
            words = np.concatenate(buf_word)
            sents = np.concatenate(buf_sent)
            keep = _merge(keep, (words, prio[sents - block_start], sents), per_word)
        buf_word, buf_sent = [], []

    for index, line in enumerate(lines):
        if index - block_start >= BLOCK:
            flush()
            block_start = index
            prio = _priorities(index // BLOCK, BLOCK, seed)
        ids = np.unique(np.asarray(vocab.ids(processor.stems(line)), dtype=np.int64))
        ids = ids[ids > 0]
        if len(ids):
            counts[ids] += 1
            buf_word.append(ids)
            buf_sent.append(np.full(len(ids), index, dtype=np.int64))
    flush()
    word, _, sent = keep
    offsets = np.zeros(V + 2, dtype=np.int64)
    np.add.at(offsets, word + 1, 1)
    return Selection(np.cumsum(offsets), sent, counts)


def sample_sentences(
    sentences_path: str | Path,
    vocab: Vocabulary,
    out_path: str | Path,
    *,
    per_word: int = 512,
    seed: int = 0,
    processor: TextProcessor | None = None,
    progress: bool = True,
    force: bool = False,
) -> tuple[Selection, bool]:
    """Write the selection (``.npz``) for a sentences file; returns it and whether it was
    already done (resumed). Words that occur in no sentence are reported, not fatal, unless
    no word occurs at all."""
    if per_word < 2:
        raise ValueError(f"need at least 2 sentences per word, got {per_word}")
    sentences_path, out_path = Path(sentences_path), Path(out_path)
    if not sentences_path.is_file():
        raise CorpusError("cannot open: no such file", sentences_path)
    processor = processor or TextProcessor()
    params = {
        "step": "sample",
        "version": SAMPLE_VERSION,
        "input": file_fingerprint(sentences_path),
        "vocab": vocab_fingerprint(vocab),
        "per_word": per_word,
        "seed": seed,
    }
    if read_done_marker(out_path, params) is not None and not force:
        return Selection.load(out_path), True
    done_marker_path(out_path).unlink(missing_ok=True)
    size = params["input"]["size"]
    with tqdm(total=size, unit="B", unit_scale=True, desc="sample", disable=not progress) as bar:
        numbered = iter_lines(sentences_path, on_bytes=bar.update, error=CorpusError)
        lines = (line for _, line in numbered)
        selection = select_sentences(lines, vocab, processor, per_word=per_word, seed=seed)
    if selection.n_pairs == 0:
        raise CorpusError("no vocabulary word occurs in any sentence", sentences_path)
    selection.save(out_path)
    missing = int((selection.counts[1:] == 0).sum())
    write_done_marker(
        out_path, params, {"pairs": selection.n_pairs, "words_without_sentences": missing}
    )
    return selection, False
