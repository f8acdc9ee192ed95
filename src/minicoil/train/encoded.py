"""The output of step 4b on disk: what :mod:`minicoil.train.encode` writes and
:mod:`minicoil.train.fit` reads.

On disk (``out_dir``), all fp16 ``.npy`` memmaps in word-major order, so training reads one
contiguous block per word:

- ``tokens.npy`` (P, hidden): input of pair p (pairs are the selection's CSR order)
- ``snippets.npy`` (Ps, hidden): snippet input of the first ``n_snip[w]`` pairs of word w
- ``teacher.npy`` (U, teacher_dim): one row per distinct sampled sentence
- ``valid.npy``, ``snippet_valid.npy``: which rows got an input (the layout itself is derived
  from the selection and never stored twice)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minicoil.train.sample import Selection

Shapes = dict[str, tuple[tuple[int, ...], type]]


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


def array_shapes(layout: Layout, hidden: int, teacher_dim: int) -> Shapes:
    """File name -> (shape, dtype) of every array of the step's output."""
    n_pairs, n_snip = len(layout.word), int(layout.snippet_offsets[-1])
    return {
        "tokens.npy": ((n_pairs, hidden), np.float16),
        "snippets.npy": ((n_snip, hidden), np.float16),
        "teacher.npy": ((len(layout.sentences), teacher_dim), np.float16),
        "valid.npy": ((n_pairs,), np.bool_),
        "snippet_valid.npy": ((n_snip,), np.bool_),
    }


def arrays_intact(out_dir: Path, shapes: Shapes) -> bool:
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


def create_arrays(out_dir: Path, shapes: Shapes) -> None:
    for name, (shape, dtype) in shapes.items():
        array = np.lib.format.open_memmap(out_dir / name, mode="w+", dtype=dtype, shape=shape)
        del array


def write_rows(out_dir: Path, name: str, rows: np.ndarray | slice, values: np.ndarray) -> None:
    """Write ``values`` into rows of one output memmap and flush it to disk."""
    array = np.load(out_dir / name, mmap_mode="r+")
    array[rows] = values
    array.flush()
    del array
