"""Step 4b "Encode once": one backbone pass over the sampled sentences feeds every word.

For each sentence chosen in step 4a, one forward pass yields the teacher's sentence embedding and
the student's token embeddings; every vocabulary word sampled in that sentence takes the mean of
its tokens (over all its occurrences there) as one training input. No sentence is ever encoded
twice. A prefix of each word's sample (``snippet_fraction``) also gets a short 4-6 word snippet
around the word, encoded the same way, sharing the sentence's teacher row: it teaches the heads
to work on query-length inputs.

The output format (memmaps in word-major order) is :mod:`minicoil.train.encoded`.

A pair whose word got no token (impossible with offsets-based alignment and windows, but checked)
is marked invalid and never trained on, instead of becoming a zero vector as in the reference.

Resumable: sentences are processed in fixed chunks; after each chunk the memmaps are flushed and
the step's record (``state.json``, :class:`minicoil.train.steps.StepRecord`) counts the chunks
done. A killed run recomputes at most one chunk, with
the same batches, so the result is bit-identical to an uninterrupted run.
"""

from __future__ import annotations

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
from minicoil.data import iter_lines
from minicoil.io import read_state, write_json
from minicoil.memory import release_memory
from minicoil.text import TextProcessor, Vocabulary, Word
from minicoil.train.corpus import CorpusError
from minicoil.train.encoded import (
    EncodedSamples,
    Layout,
    Shapes,
    array_shapes,
    arrays_intact,
    create_arrays,
    write_rows,
)
from minicoil.train.sample import Selection, vocab_fingerprint
from minicoil.train.steps import StepRecord, file_fingerprint

ENCODE_VERSION = 1
_TOKEN = re.compile(r"\S+")


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
    for number, (_, line) in enumerate(iter_lines(path, error=CorpusError)):
        if nxt is None:
            return
        if number == nxt:
            yield line
            nxt = next(targets, None)
    if nxt is not None:
        raise CorpusError(
            f"sentence {nxt} is missing: the file is shorter than the selection", path
        )


def _encode_params(
    sentences_path: Path,
    selection: Selection,
    vocab: Vocabulary,
    backbone: Backbone,
    teacher: Backbone | None,
    snippet_fraction: float,
    chunk_size: int,
    batch_size: int,
    seed: int,
) -> dict[str, Any]:
    """Everything that determines the step's output; a change starts it over."""
    return {
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


def _resume_point(
    out_dir: Path,
    record: StepRecord,
    shapes: Shapes,
    snippet_fraction: float,
) -> int:
    """Chunks already done for these parameters; a fresh start creates the arrays first.

    Progress recorded next to a missing, truncated or foreign array is not trusted.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    done = record.read()
    chunks_done = done.get("chunks_done") if done is not None else None
    if not isinstance(chunks_done, int) or not arrays_intact(out_dir, shapes):
        chunks_done = 0
        create_arrays(out_dir, shapes)
        record.write({"chunks_done": 0})
    if read_state(out_dir / "meta.json").get("params") != record.params:
        # written before any chunk, so a run killed after its last chunk still opens cleanly
        write_json(
            out_dir / "meta.json", {"snippet_fraction": snippet_fraction, "params": record.params}
        )
    return chunks_done


@dataclass(frozen=True)
class _Plan:
    """Per-run constants of the chunk loop: the snippets' random shapes (fixed by the seed, so a
    resumed run draws the same ones) and each sentence's pairs in sentence order."""

    snip_len: np.ndarray
    snip_shift: np.ndarray
    by_sentence: np.ndarray
    bounds: np.ndarray

    @classmethod
    def build(cls, selection: Selection, layout: Layout, seed: int) -> _Plan:
        rng = np.random.default_rng(seed)
        snip_len = rng.integers(4, 7, size=selection.n_pairs)
        snip_shift = rng.random(selection.n_pairs)
        by_sentence = np.argsort(selection.sentences, kind="stable")
        sorted_sent = selection.sentences[by_sentence]
        bounds = np.searchsorted(sorted_sent, layout.sentences, side="left")
        return cls(snip_len, snip_shift, by_sentence, np.append(bounds, len(sorted_sent)))


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
    params = _encode_params(
        sentences_path, selection, vocab, backbone, teacher, snippet_fraction, chunk_size,
        batch_size, seed,
    )  # fmt: skip
    record = StepRecord(out_dir / "state.json", params)
    shapes = array_shapes(layout, backbone.hidden_size, (teacher or backbone).dense_size)
    start_chunk = _resume_point(out_dir, record, shapes, snippet_fraction)
    n_chunks = -(-len(layout.sentences) // chunk_size)
    plan = _Plan.build(selection, layout, seed)
    lines = _selected_lines(sentences_path, layout.sentences, start_chunk * chunk_size)
    bar = tqdm(
        total=n_chunks, initial=start_chunk, desc="encode", unit="chunk", disable=not progress
    )
    with bar:
        for c in range(start_chunk, n_chunks):
            if stop_after_chunks is not None and c - start_chunk >= stop_after_chunks:
                return None
            r0, r1 = c * chunk_size, min((c + 1) * chunk_size, len(layout.sentences))
            texts = [next(lines) for _ in range(r0, r1)]
            _encode_chunk(
                out_dir, texts, r0, plan, layout, vocab, processor, backbone, teacher, batch_size
            )
            record.write({"chunks_done": c + 1})
            release_memory()
            bar.update(1)
    return EncodedSamples.open(out_dir, selection)


@dataclass
class _ChunkTargets:
    """What one chunk encodes: each sentence's word occurrences (rows = pairs, in ``pairs``
    order) and the snippets cut around the first occurrence of a sampled word."""

    pairs: list[np.ndarray]
    sent_targets: list[list[tuple[int, int, int]]]
    snip_texts: list[str]
    snip_targets: list[list[tuple[int, int, int]]]
    snip_rows: list[int]


def _chunk_targets(
    texts: list[str],
    r0: int,
    plan: _Plan,
    layout: Layout,
    vocab: Vocabulary,
    processor: TextProcessor,
) -> _ChunkTargets:
    out = _ChunkTargets([], [], [], [], [])
    row_base = 0
    for i, text in enumerate(texts):
        pairs = plan.by_sentence[plan.bounds[r0 + i] : plan.bounds[r0 + i + 1]]
        words = processor.words(text)
        ids = vocab.ids([w.stem for w in words])
        local = {int(layout.word[p]): row_base + k for k, p in enumerate(pairs)}
        out.sent_targets.append(
            [(w.start, w.end, local[i_]) for w, i_ in zip(words, ids, strict=True) if i_ in local]
        )
        out.pairs.append(pairs)
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
            s, e = snippet_span(
                spans, first.start, int(plan.snip_len[p]), float(plan.snip_shift[p])
            )
            out.snip_texts.append(text[s:e])
            out.snip_targets.append([(first.start - s, first.end - s, len(out.snip_rows))])
            out.snip_rows.append(int(snip_row))
    return out


def _encode_chunk(
    out_dir: Path,
    texts: list[str],
    r0: int,
    plan: _Plan,
    layout: Layout,
    vocab: Vocabulary,
    processor: TextProcessor,
    backbone: Backbone,
    teacher: Backbone | None,
    batch_size: int,
) -> None:
    """Encode one chunk of sentences (and their snippets) and write every row it owns."""
    targets = _chunk_targets(texts, r0, plan, layout, vocab, processor)
    pairs_cat = np.concatenate(targets.pairs) if targets.pairs else np.zeros(0, dtype=np.int64)
    inputs, counts, dense = _word_inputs(
        backbone, texts, targets.sent_targets, len(pairs_cat), batch_size
    )
    if teacher is not None:
        _, dense = teacher.embed(teacher.tokenize(texts), batch_size=batch_size)
    write_rows(out_dir, "tokens.npy", pairs_cat, inputs.numpy().astype(np.float16))
    write_rows(out_dir, "teacher.npy", slice(r0, r0 + len(texts)), dense.numpy().astype(np.float16))
    snip_rows = np.asarray(targets.snip_rows, dtype=np.int64)
    snip_ok = np.zeros(0, dtype=bool)
    if targets.snip_texts:
        s_inputs, s_counts, _ = _word_inputs(
            backbone, targets.snip_texts, targets.snip_targets, len(snip_rows), batch_size
        )
        write_rows(out_dir, "snippets.npy", snip_rows, s_inputs.numpy().astype(np.float16))
        snip_ok = (s_counts > 0).numpy()
    write_rows(out_dir, "valid.npy", pairs_cat, (counts > 0).numpy())
    write_rows(out_dir, "snippet_valid.npy", snip_rows, snip_ok)
