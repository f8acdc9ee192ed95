"""Step 5 "Targets": what each head is taught, from the teacher's sentence similarities.

- **triplet** (default, as the reference): draw 3 random samples of a word; of the three
  possible anchors take the one whose distances to the other two differ most; keep the triplet
  if that gap exceeds ``min_gap``; the nearer one is the positive and the gap is the margin
  (adaptive margin). Mining is a few tensor operations for many words at once, so fresh triplets
  are drawn at every training step instead of a fixed pool.
- **umap**: UMAP of each word's teacher vectors down to ``dim`` coordinates; the head regresses
  onto them (the reference's earlier variant). UMAP runs once per word, which makes it far
  slower than triplets: it exists to compare the two.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch


def mine_triplets(
    sim: torch.Tensor, sizes: torch.Tensor, n: int, generator: torch.Generator, min_gap: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Triplets for many words at once.

    ``sim`` (W, S, S) holds each word's teacher cosine similarities between its samples, of
    which the first ``sizes[w]`` are usable. Returns (W, n, 3) sample indices ordered
    (anchor, positive, negative), the (W, n) adaptive margins, and a (W, n) mask of triplets
    whose gap passed ``min_gap``.
    """
    W = sim.shape[0]
    draw = torch.rand((W, n, 3), generator=generator)
    idx = (draw * sizes.clamp(min=1).view(W, 1, 1)).long()
    rows = torch.arange(W).view(W, 1)
    d = 1.0 - torch.stack(
        [
            sim[rows, idx[..., 0], idx[..., 1]],
            sim[rows, idx[..., 0], idx[..., 2]],
            sim[rows, idx[..., 1], idx[..., 2]],
        ],
        dim=-1,
    )  # d01, d02, d12
    # gap for anchor 0: |d01 - d02|, anchor 1: |d01 - d12|, anchor 2: |d02 - d12|
    gaps = torch.stack(
        [
            (d[..., 0] - d[..., 1]).abs(),
            (d[..., 0] - d[..., 2]).abs(),
            (d[..., 1] - d[..., 2]).abs(),
        ],
        dim=-1,
    )
    anchor = gaps.argmax(dim=-1)
    margin = gaps.gather(-1, anchor.unsqueeze(-1)).squeeze(-1)
    # for each anchor choice: (other1, other2, distance to other1, distance to other2)
    others = torch.tensor([[1, 2], [0, 2], [0, 1]])[anchor]  # (W, n, 2)
    dist_pair = torch.stack(
        [
            torch.stack([d[..., 0], d[..., 1]], -1),
            torch.stack([d[..., 0], d[..., 2]], -1),
            torch.stack([d[..., 1], d[..., 2]], -1),
        ],
        dim=-2,
    )  # (W, n, 3 anchors, 2)
    dists = dist_pair.gather(-2, anchor.view(W, n, 1, 1).expand(W, n, 1, 2)).squeeze(-2)
    nearer_first = dists[..., 0] <= dists[..., 1]
    pos = torch.where(nearer_first, others[..., 0], others[..., 1])
    neg = torch.where(nearer_first, others[..., 1], others[..., 0])
    order = torch.stack([anchor, pos, neg], dim=-1)
    triplets = idx.gather(-1, order)
    ok = (margin > min_gap) & (sizes.view(W, 1) >= 3)
    return triplets, margin, ok


def umap_targets(vectors: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    """UMAP coordinates of one word's teacher vectors (cosine metric), scaled into (-1, 1)
    so that a tanh head can reach them."""
    n = len(vectors)
    if n < dim + 2:
        return np.zeros((n, dim), dtype=np.float32)
    import umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(
            n_components=dim,
            n_neighbors=min(15, n - 1),
            metric="cosine",
            random_state=seed,
            n_jobs=1,
            init="random",
        )
        coords = reducer.fit_transform(vectors.astype(np.float32))
    coords = coords - coords.mean(axis=0)
    scale = np.abs(coords).max() or 1.0
    return (0.9 * coords / scale).astype(np.float32)
