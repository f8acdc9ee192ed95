"""Step 4b "Encode once": one backbone pass over the sampled sentences feeds every word.

For each sentence chosen in step 4a, one forward pass yields the teacher's sentence embedding and
the student's token embeddings; every vocabulary word sampled in that sentence takes the mean of
its tokens (over all its occurrences there) as one training input. No sentence is ever encoded
twice. A prefix of each word's sample (``snippet_fraction``) also gets a short 4-6 word snippet
around the word, encoded the same way, sharing the sentence's teacher row: it teaches the heads
to work on query-length inputs.

On disk (``out_dir``), all fp16 ``.npy`` memmaps in word-major order, so training reads one
contiguous block per word:

- ``tokens.npy`` (P, hidden): input of pair p (pairs are the selection's CSR order)
- ``snippets.npy`` (Ps, hidden): snippet input of the first ``n_snip[w]`` pairs of word w
- ``teacher.npy`` (U, teacher_dim): one row per distinct sampled sentence
- ``valid.npy``, ``snippet_valid.npy``: which rows got an input (the layout itself is derived
  from the selection and never stored twice)

A pair whose word got no token (impossible with offsets-based alignment and windows, but checked)
is marked invalid and never trained on, instead of becoming a zero vector as in the reference.

Resumable: sentences are processed in fixed chunks; after each chunk the memmaps are flushed and
``state.json`` records how many chunks are done. A killed run recomputes at most one chunk, with
the same batches, so the result is bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from minicoil.align import span_means
from minicoil.backbone import Backbone
from minicoil.io import read_state, write_json
from minicoil.memory import release_memory
from minicoil.text import TextProcessor, Vocabulary, Word
from minicoil.train.corpus import CorpusError, file_fingerprint, iter_lines
from minicoil.train.sample import Selection, vocab_fingerprint

ENCODE_VERSION = 1
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Layout:
    """Where each pair's rows live (derived from the selection, never stored twice)."""

    offsets: np.ndarray  # (V+2,) pairs of word w: offsets[w]:offsets[w+1]
    snippet_offsets: np.ndarray  # (V+2,) snippets of word w
    word: np.ndarray  # (P,) word id of each pair
    slot: np.ndarray  # (P,) position of the pair inside its word's sample
    teacher_row: np.ndarray  # (P,) row of the pair's sentence in teacher.npy
    sentences: np.ndarray  # (U,) distinct sentence line numbers, sorted

    @classmethod
    def build(cls, selection: Selection, snippet_fraction: float) -> Layout:
        offsets = selection.offsets
        sizes = np.diff(offsets)
        word = np.repeat(np.arange(len(sizes)), sizes)
        slot = np.arange(len(word)) - offsets[word]
        n_snip = np.ceil(sizes * snippet_fraction).astype(np.int64)
        snippet_offsets = np.concatenate([[0], np.cumsum(n_snip)])
        sentences = selection.unique_sentences()
        teacher_row = np.searchsorted(sentences, selection.sentences)
        return cls(offsets, snippet_offsets, word, slot, teacher_row, sentences)

    def snippet_row(self, pairs: np.ndarray) -> np.ndarray:
        """Snippet row of each pair, -1 where the pair has none."""
        w = self.word[pairs]
        row = self.snippet_offsets[w] + self.slot[pairs]
        return np.where(row < self.snippet_offsets[w + 1], row, -1)


@dataclass(frozen=True)
class EncodedSamples:
    """The finished step-4 output, opened read-only as memmaps."""

    folder: Path
    layout: Layout
    tokens: np.ndarray
    snippets: np.ndarray
    teacher: np.ndarray
    valid: np.ndarray
    snippet_valid: np.ndarray

    @classmethod
    def open(cls, folder: Path, selection: Selection) -> EncodedSamples:
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        layout = Layout.build(selection, meta["snippet_fraction"])
        return cls(
            folder,
            layout,
            np.load(folder / "tokens.npy", mmap_mode="r"),
            np.load(folder / "snippets.npy", mmap_mode="r"),
            np.load(folder / "teacher.npy", mmap_mode="r"),
            np.load(folder / "valid.npy"),
            np.load(folder / "snippet_valid.npy"),
        )


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the whitespace-separated tokens of ``text`` (snippet building units)."""
    return [(m.start(), m.end()) for m in _TOKEN.finditer(text)]


def snippet_span(
    spans: list[tuple[int, int]], start: int, length: int, shift: float
) -> tuple[int, int]:
    """Character span of a ``length``-token snippet containing position ``start``, given the
    sentence's :func:`token_spans`.

    ``shift`` in [0, 1) picks where the word sits inside the snippet. Tokens are runs of
    non-space characters, so the snippet is a verbatim substring of the sentence.
    """
    k = next((i for i, (s, e) in enumerate(spans) if s <= start < e), 0)
    first = min(max(0, k - int(shift * length)), max(0, len(spans) - length))
    last = min(len(spans), first + length) - 1
    return spans[first][0], spans[last][1]


def _word_inputs(
    backbone: Backbone,
    texts: list[str],
    targets: list[list[tuple[int, int, int]]],
    n_rows: int,
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean token embedding per target row, rows' token counts, and the texts' sentence vectors.

    ``targets[i]`` lists (char start, char end, row) of the word occurrences of text ``i``;
    occurrences sharing a row are averaged together.
    """
    tokenized = backbone.tokenize(texts)
    token_embs, dense = backbone.embed(tokenized, batch_size=batch_size)
    offsets = [tok.offsets for tok in tokenized]
    means, counts = span_means(offsets, token_embs, targets, n_rows)
    if means.shape[1] == 0:
        means = torch.zeros((n_rows, backbone.hidden_size))
    return means, counts, dense


def _selected_lines(path: Path, wanted: np.ndarray, skip: int) -> Iterator[str]:
    """The lines whose numbers are in sorted ``wanted``, starting at ``wanted[skip]``."""
    targets = iter(wanted[skip:].tolist())
    nxt = next(targets, None)
    for number, (_, line) in enumerate(iter_lines(path)):
        if nxt is None:
            return
        if number == nxt:
            yield line
            nxt = next(targets, None)
    if nxt is not None:
        raise CorpusError(
            f"sentence {nxt} is missing: the file is shorter than the selection", path
        )


def encode_samples(
    sentences_path: str | Path,
    selection: Selection,
    vocab: Vocabulary,
    backbone: Backbone,
    out_dir: str | Path,
    *,
    teacher: Backbone | None = None,
    processor: TextProcessor | None = None,
    snippet_fraction: float = 0.25,
    batch_size: int = 64,
    chunk_size: int = 2048,
    seed: int = 0,
    progress: bool = True,
    stop_after_chunks: int | None = None,
) -> EncodedSamples | None:
    """Run step 4b (see module doc). Returns None only when ``stop_after_chunks`` interrupted
    it on purpose (used by tests to simulate a kill)."""
    sentences_path, out_dir = Path(sentences_path), Path(out_dir)
    if not 0.0 <= snippet_fraction <= 1.0:
        raise ValueError(f"snippet_fraction must be in [0, 1], got {snippet_fraction}")
    if selection.vocab_size != len(vocab):
        raise ValueError("the selection was made for another vocabulary")
    processor = processor or TextProcessor()
    layout = Layout.build(selection, snippet_fraction)
    teacher_bb = teacher or backbone
    params: dict[str, Any] = {
        "step": "encode",
        "version": ENCODE_VERSION,
        "input": file_fingerprint(sentences_path),
        "vocab": vocab_fingerprint(vocab),
        "pairs": int(selection.n_pairs),
        "backbone": str(backbone.path),
        "precision": backbone.precision,
        "teacher": None if teacher is None else str(teacher.path),
        "snippet_fraction": snippet_fraction,
        "chunk_size": chunk_size,
        "batch_size": batch_size,
        "seed": seed,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / "state.json"
    state = read_state(state_path)
    n_chunks = -(-len(layout.sentences) // chunk_size)
    shapes = _array_shapes(layout, backbone.hidden_size, teacher_bb.dense_size)
    if (
        state.get("params") != params
        or not isinstance(state.get("chunks_done"), int)
        or not _arrays_intact(out_dir, shapes)
    ):
        state = {"params": params, "chunks_done": 0}
        _create_arrays(out_dir, shapes)
        write_json(state_path, state)
    if read_state(out_dir / "meta.json").get("params") != params:
        # written before any chunk, so a run killed after its last chunk still opens cleanly
        write_json(out_dir / "meta.json", {"snippet_fraction": snippet_fraction, "params": params})
    if state["chunks_done"] >= n_chunks:
        return EncodedSamples.open(out_dir, selection)

    rng = np.random.default_rng(seed)
    snip_len = rng.integers(4, 7, size=selection.n_pairs)
    snip_shift = rng.random(selection.n_pairs)
    by_sentence = np.argsort(selection.sentences, kind="stable")
    sorted_sent = selection.sentences[by_sentence]
    bounds = np.searchsorted(sorted_sent, layout.sentences, side="left")
    bounds = np.append(bounds, len(sorted_sent))
    start_chunk = state["chunks_done"]
    lines = _selected_lines(sentences_path, layout.sentences, start_chunk * chunk_size)
    bar = tqdm(
        total=n_chunks, initial=start_chunk, desc="encode", unit="chunk", disable=not progress
    )
    for c in range(start_chunk, n_chunks):
        if stop_after_chunks is not None and c - start_chunk >= stop_after_chunks:
            bar.close()
            return None
        r0, r1 = c * chunk_size, min((c + 1) * chunk_size, len(layout.sentences))
        texts = [next(lines) for _ in range(r0, r1)]
        _encode_chunk(
            out_dir,
            texts,
            r0,
            by_sentence,
            bounds,
            layout,
            vocab,
            processor,
            backbone,
            teacher,
            snip_len,
            snip_shift,
            batch_size,
        )
        state["chunks_done"] = c + 1
        write_json(state_path, state)
        release_memory()
        bar.update(1)
    bar.close()
    return EncodedSamples.open(out_dir, selection)


def _array_shapes(
    layout: Layout, hidden: int, teacher_dim: int
) -> dict[str, tuple[tuple[int, ...], type]]:
    """File name -> (shape, dtype) of every array of the step's output."""
    n_pairs, n_snip = len(layout.word), int(layout.snippet_offsets[-1])
    return {
        "tokens.npy": ((n_pairs, hidden), np.float16),
        "snippets.npy": ((n_snip, hidden), np.float16),
        "teacher.npy": ((len(layout.sentences), teacher_dim), np.float16),
        "valid.npy": ((n_pairs,), np.bool_),
        "snippet_valid.npy": ((n_snip,), np.bool_),
    }


def _arrays_intact(out_dir: Path, shapes: dict[str, tuple[tuple[int, ...], type]]) -> bool:
    """Whether every array opens with its expected shape and dtype. Progress recorded next to
    a missing, truncated or foreign array is not trusted: the step starts over instead of
    failing on it (or, worse, reading it) at the end."""
    for name, (shape, dtype) in shapes.items():
        try:
            array = np.load(out_dir / name, mmap_mode="r")
        except (OSError, ValueError):
            return False
        if array.shape != shape or array.dtype != dtype:
            return False
        del array
    return True


def _create_arrays(out_dir: Path, shapes: dict[str, tuple[tuple[int, ...], type]]) -> None:
    for name, (shape, dtype) in shapes.items():
        array = np.lib.format.open_memmap(out_dir / name, mode="w+", dtype=dtype, shape=shape)
        del array


def _encode_chunk(
    out_dir: Path,
    texts: list[str],
    r0: int,
    by_sentence: np.ndarray,
    bounds: np.ndarray,
    layout: Layout,
    vocab: Vocabulary,
    processor: TextProcessor,
    backbone: Backbone,
    teacher: Backbone | None,
    snip_len: np.ndarray,
    snip_shift: np.ndarray,
    batch_size: int,
) -> None:
    """Encode one chunk of sentences (and their snippets) and write every row it owns."""
    pairs_all: list[np.ndarray] = []
    sent_targets: list[list[tuple[int, int, int]]] = []
    snip_texts: list[str] = []
    snip_targets: list[list[tuple[int, int, int]]] = []
    snip_pairs: list[int] = []
    row_base = 0
    for i, text in enumerate(texts):
        pairs = by_sentence[bounds[r0 + i] : bounds[r0 + i + 1]]
        words = processor.words(text)
        ids = vocab.ids([w.stem for w in words])
        local = {int(layout.word[p]): row_base + k for k, p in enumerate(pairs)}
        targets = [
            (w.start, w.end, local[i_]) for w, i_ in zip(words, ids, strict=True) if i_ in local
        ]
        sent_targets.append(targets)
        pairs_all.append(pairs)
        row_base += len(pairs)
        spans: list[tuple[int, int]] | None = None
        first_of: dict[int, Word] = {}
        for w, i_ in zip(words, ids, strict=True):
            first_of.setdefault(i_, w)
        for p, snip_row in zip(pairs, layout.snippet_row(pairs), strict=True):
            if snip_row < 0:
                continue
            first = first_of[int(layout.word[p])]
            if spans is None:
                spans = token_spans(text)  # once per sentence, only if it has snippets
            s, e = snippet_span(spans, first.start, int(snip_len[p]), float(snip_shift[p]))
            snip_texts.append(text[s:e])
            snip_targets.append([(first.start - s, first.end - s, len(snip_pairs))])
            snip_pairs.append(int(snip_row))
    pairs_cat = np.concatenate(pairs_all) if pairs_all else np.zeros(0, dtype=np.int64)
    inputs, counts, dense = _word_inputs(backbone, texts, sent_targets, len(pairs_cat), batch_size)
    if teacher is not None:
        _, dense = teacher.embed(teacher.tokenize(texts), batch_size=batch_size)
    tokens = np.load(out_dir / "tokens.npy", mmap_mode="r+")
    tokens[pairs_cat] = inputs.numpy().astype(np.float16)
    tokens.flush()
    del tokens
    teacher_arr = np.load(out_dir / "teacher.npy", mmap_mode="r+")
    teacher_arr[r0 : r0 + len(texts)] = dense.numpy().astype(np.float16)
    teacher_arr.flush()
    del teacher_arr
    snip_rows = np.asarray(snip_pairs, dtype=np.int64)
    snip_ok = np.zeros(0, dtype=bool)
    if snip_texts:
        s_inputs, s_counts, _ = _word_inputs(
            backbone, snip_texts, snip_targets, len(snip_texts), batch_size
        )
        snippets = np.load(out_dir / "snippets.npy", mmap_mode="r+")
        snippets[snip_rows] = s_inputs.numpy().astype(np.float16)
        snippets.flush()
        del snippets
        snip_ok = (s_counts > 0).numpy()
    for name, rows, values in (
        ("valid.npy", pairs_cat, (counts > 0).numpy()),
        ("snippet_valid.npy", snip_rows, snip_ok),
    ):
        array = np.load(out_dir / name, mmap_mode="r+")
        array[rows] = values
        array.flush()
        del array
