"""Per-word heads: one (hidden -> dim) linear map per vocabulary word, applied in one step.

All heads live in a single tensor ``W`` of shape (V+1, hidden, dim); row 0 is zeros and stands
for "no head". A word occurrence with contextual embedding ``x`` and vocabulary id ``i`` gets
the meaning ``normalize(tanh(x @ W[i]))``. Many occurrences of many different words are computed
together with one gather and one einsum, never a Python loop over words.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

HEADS_KEY = "heads"
_CHUNK = 8192  # occurrences per einsum: bounds the gathered (n, hidden, dim) block to ~50 MB


class HeadsError(ValueError):
    """A heads file that is missing, unreadable or does not fit the model."""


class Heads:
    """The stacked head weights of a model, kept in float32 for compute."""

    def __init__(self, weights: torch.Tensor):
        if weights.ndim != 3:
            raise HeadsError(
                f"heads must have shape (V+1, hidden, dim), got {tuple(weights.shape)}"
            )
        self.weights = weights.float().contiguous()

    @classmethod
    def zeros(cls, vocab_size: int, hidden: int, dim: int) -> Heads:
        return cls(torch.zeros((vocab_size + 1, hidden, dim)))

    @property
    def vocab_size(self) -> int:
        return self.weights.shape[0] - 1

    @property
    def hidden(self) -> int:
        return self.weights.shape[1]

    @property
    def dim(self) -> int:
        return self.weights.shape[2]

    def apply(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Unit meaning vectors (n, dim) for embeddings ``x`` (n, hidden) of words ``ids`` (n,).

        A row whose output is all zeros (id 0, or a zero input) stays zero instead of NaN.
        """
        out = torch.empty((x.shape[0], self.dim), dtype=torch.float32)
        for s in range(0, x.shape[0], _CHUNK):
            block = torch.einsum(
                "nh,nhd->nd", x[s : s + _CHUNK].float(), self.weights[ids[s : s + _CHUNK]]
            )
            out[s : s + _CHUNK] = torch.tanh(block)
        return torch.nn.functional.normalize(out, dim=-1)

    def save(self, path: str | os.PathLike[str], dtype: torch.dtype = torch.float16) -> None:
        """Write as safetensors, by default in fp16 (half the size; the outputs are normalised,
        so the rounding is far below anything that changes a ranking)."""
        save_file({HEADS_KEY: self.weights.to(dtype).contiguous()}, str(path))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, vocab_size: int, hidden: int, dim: int) -> Heads:
        """Load and check a heads file against the sizes the model folder promises."""
        path = Path(path)
        if not path.exists():
            raise HeadsError(f"heads file not found: {path}")
        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise HeadsError(f"{path}: not a readable safetensors file ({exc})") from exc
        if HEADS_KEY not in tensors:
            raise HeadsError(f"{path}: no tensor named {HEADS_KEY!r} (found {sorted(tensors)})")
        weights = tensors[HEADS_KEY]
        expected = (vocab_size + 1, hidden, dim)
        if tuple(weights.shape) != expected:
            what = (
                "backbone hidden size"
                if weights.ndim == 3 and weights.shape[1] != hidden
                else "shape"
            )
            raise HeadsError(
                f"{path}: heads have shape {tuple(weights.shape)}, expected {expected} "
                f"(vocabulary size + 1, backbone hidden size, dim); mismatched {what}"
            )
        if not torch.isfinite(weights).all():
            raise HeadsError(f"{path}: heads contain NaN or infinite values")
        return cls(weights)
