"""Step 6 "Train all heads": hundreds of words per step, as one batched tensor operation.

A chunk of words is trained together: their heads form one (words, hidden, dim) parameter, their
inputs one padded tensor, and each step is a single ``bmm`` over all of them with a loss that is a
sum of independent per-word losses (so words never interact, and Adam's per-parameter steps make
each word's scale irrelevant). Samples are split 80/20 *by sentence* (the same sentences are held
out for every word), the best weights per word are kept by held-out loss, and a chunk stops
early when no word has improved for ``patience`` evaluations.

Quality is reported as the reference does: the share of held-out teacher triplets (mined with the
same rule, from held-out sentences only) whose order the 4-d head reproduces.

Resumable: each finished chunk is written as its own file; a rerun skips finished chunks and,
thanks to per-chunk seeds, recomputes an interrupted chunk exactly.
"""

from __future__ import annotations

import json
import math
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from minicoil.io import atomic_file
from minicoil.memory import release_memory
from minicoil.train.encoded import EncodedSamples
from minicoil.train.steps import StepRecord
from minicoil.train.targets import mine_triplets, umap_targets


@dataclass(frozen=True)
class FitConfig:
    dim: int = 4
    method: Literal["triplet", "umap"] = "triplet"
    words_per_chunk: int = 512
    triplets_per_word: int = 128
    max_steps: int = 600
    eval_every: int = 25
    patience: int = 4
    lr: float = 5e-3
    dropout: float = 0.05
    snippet_prob: float = 0.25
    val_fraction: float = 0.2
    min_gap: float = 0.1
    val_triplets: int = 512
    precision: Literal["float32", "bfloat16"] = "float32"
    seed: int = 0


@dataclass
class _Chunk:
    """Padded tensors for a chunk of words (either the train or the held-out part).

    Inputs are stored transposed, (W, H, S): the heads are then applied as
    ``W^T (dim x H) @ X^T (H x S)``, which reads the inputs in long rows: forward + backward
    of that bmm took 82 ms instead of 126 ms for ``X @ W`` (512 words x 225 samples, 2 cores),
    and the bmm over the inputs is the largest share of training time (41% in a profile).
    """

    x: torch.Tensor  # (W, H, S) sentence inputs, in the compute precision
    xs: torch.Tensor  # (W, H, Ss) snippet inputs
    snip_pos: torch.Tensor  # (W, S) row of each sample's snippet in xs, -1 if none
    sim: torch.Tensor  # (W, S, S) teacher cosine
    sizes: torch.Tensor  # (W,)
    teacher: list[np.ndarray]  # per word (n, D), for UMAP


def _gather_chunk(
    enc: EncodedSamples,
    words: range,
    held_out: np.ndarray,
    val: bool,
    dtype: torch.dtype = torch.float32,
) -> _Chunk:
    layout = enc.layout
    rows_per_word, snips_per_word = [], []
    for w in words:
        rows = np.arange(layout.offsets[w], layout.offsets[w + 1])
        rows = rows[enc.valid[rows] & (held_out[layout.teacher_row[rows]] == val)]
        snip = layout.snippet_row(rows)
        has = snip >= 0
        has[has] = enc.snippet_valid[snip[has]]
        rows_per_word.append(rows)
        snips_per_word.append(np.where(has, snip, -1))
    S = max([len(r) for r in rows_per_word] + [1])
    Ss = max([int((s >= 0).sum()) for s in snips_per_word] + [1])
    H, D, W = enc.tokens.shape[1], enc.teacher.shape[1], len(rows_per_word)
    x = torch.zeros((W, H, S), dtype=dtype)  # filled transposed: no second copy of the inputs
    xs = torch.zeros((W, H, Ss), dtype=dtype)
    snip_pos = torch.full((W, S), -1, dtype=torch.long)
    t = torch.zeros((W, S, D))
    teacher = []
    for i, (rows, snip) in enumerate(zip(rows_per_word, snips_per_word, strict=True)):
        n = len(rows)
        tv = np.asarray(enc.teacher[layout.teacher_row[rows]], dtype=np.float32).reshape(n, D)
        teacher.append(tv)
        if n == 0:
            continue
        x[i, :, :n] = torch.from_numpy(np.asarray(enc.tokens[rows], dtype=np.float32)).T
        t[i, :n] = torch.from_numpy(tv)
        has = snip >= 0
        k = int(has.sum())
        if k:
            xs[i, :, :k] = torch.from_numpy(np.asarray(enc.snippets[snip[has]], dtype=np.float32)).T
            pos = np.full(n, -1, dtype=np.int64)
            pos[has] = np.arange(k)
            snip_pos[i, :n] = torch.from_numpy(pos)
    t = torch.nn.functional.normalize(t, dim=-1)
    sim = torch.bmm(t, t.transpose(1, 2))
    sizes = torch.tensor([len(r) for r in rows_per_word])
    return _Chunk(x, xs, snip_pos, sim, sizes, teacher)


def _heads_out(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """tanh(X W) as (W, S, dim) float32 for transposed inputs ``x`` (W, H, S).

    With ``precision="bfloat16"`` the inputs are stored and multiplied in bfloat16 (float32
    accumulation); the weights stay float32 (Adam's master copy) and only enter the product
    rounded.
    """
    out = torch.bmm(weights.transpose(1, 2).to(x.dtype), x)
    return torch.tanh(out.float()).transpose(1, 2)


def _triplet_terms(
    out: torch.Tensor, margin: torch.Tensor, ok: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-word mean hinge loss and share of triplets ordered correctly.

    ``out`` (W, n, 3, dim) holds unit outputs of (anchor, positive, negative).
    """
    d_ap = 1.0 - (out[:, :, 0] * out[:, :, 1]).sum(-1)
    d_an = 1.0 - (out[:, :, 0] * out[:, :, 2]).sum(-1)
    okf = ok.float()
    count = okf.sum(-1).clamp(min=1.0)
    loss = (torch.relu(d_ap - d_an + margin) * okf).sum(-1) / count
    agree = ((d_ap < d_an).float() * okf).sum(-1) / count
    return loss, agree


def _sample_outputs(
    chunk: _Chunk,
    weights: torch.Tensor,
    idx: torch.Tensor,
    snippet_prob: float,
    gen: torch.Generator | None,
) -> torch.Tensor:
    """Unit head outputs (W, m, dim) for samples ``idx`` (W, m).

    The heads are applied to *all* of a word's samples with one bmm (cheap: dim is tiny) and
    the triplets then index the small output table, instead of gathering (W, m, hidden) inputs.
    With ``snippet_prob`` a sample uses its snippet's output instead of its sentence's.
    """
    W, m = idx.shape
    rows = torch.arange(W).view(W, 1)
    out = _heads_out(chunk.x, weights)[rows, idx]
    if snippet_prob > 0 and gen is not None:
        pos = chunk.snip_pos[rows, idx]
        use = (torch.rand((W, m), generator=gen) < snippet_prob) & (pos >= 0)
        if bool(use.any()):
            snip_out = _heads_out(chunk.xs, weights)[rows, pos.clamp(min=0)]
            out = torch.where(use.unsqueeze(-1), snip_out, out)
    return torch.nn.functional.normalize(out, dim=-1)


def _feature_dropout(weights: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Input dropout applied through the weights: dropping input feature h of a word for this
    step is zeroing row h of its head. One mask per word and step: (W, H) random numbers
    instead of one per input element, which made elementwise dropout the slowest op."""
    if p <= 0:
        return weights
    keep = (torch.rand(weights.shape[:2], generator=gen) >= p).to(weights.dtype) / (1.0 - p)
    return weights * keep.unsqueeze(-1)


def _umap_goals(train: _Chunk, config: FitConfig, chunk_seed: int) -> torch.Tensor | None:
    """UMAP coordinates to regress onto (``method="umap"``), else None (triplets)."""
    if config.method != "umap":
        return None
    W = train.x.shape[0]
    goals = torch.zeros((W, train.x.shape[2], config.dim))
    for i, tv in enumerate(train.teacher):
        if len(tv):
            goals[i, : len(tv)] = torch.from_numpy(umap_targets(tv, config.dim, chunk_seed + i))
    return goals


def _train_loss(
    train: _Chunk,
    w_eff: torch.Tensor,
    umap_y: torch.Tensor | None,
    config: FitConfig,
    gen: torch.Generator,
) -> torch.Tensor:
    """Per-word loss of one step on freshly drawn triplets (or UMAP targets)."""
    W = train.x.shape[0]
    if umap_y is None:
        idx, margin, ok = mine_triplets(
            train.sim, train.sizes, config.triplets_per_word, gen, config.min_gap
        )
        out = _sample_outputs(train, w_eff, idx.view(W, -1), config.snippet_prob, gen)
        return _triplet_terms(out.view(W, -1, 3, config.dim), margin, ok)[0]
    sizes = train.sizes.clamp(min=1).view(W, 1)
    idx = (torch.rand((W, config.triplets_per_word), generator=gen) * sizes).long()
    pred = _heads_out(train.x, w_eff)[torch.arange(W).view(W, 1), idx]
    target = umap_y[torch.arange(W).view(W, 1), idx]
    return ((pred - target) ** 2).mean(dim=(1, 2))


class _Best:
    """Each word's best weights so far by held-out triplet loss (early stopping per word)."""

    def __init__(self, weights: torch.Tensor) -> None:
        W = weights.shape[0]
        self.weights = weights.detach().clone()
        self.loss = torch.full((W,), float("inf"))
        self.agree = torch.full((W,), float("nan"))
        self.step = torch.zeros(W, dtype=torch.long)

    def update(
        self,
        step: int,
        weights: torch.Tensor,
        v_loss: torch.Tensor,
        v_agree: torch.Tensor,
        has_val: torch.Tensor,
    ) -> torch.Tensor:
        """Keep the words that improved; returns which ones did (with held-out triplets)."""
        # words without held-out triplets keep their latest weights
        improved = (v_loss < self.loss - 1e-4) | ~has_val
        self.weights[improved] = weights.detach()[improved]
        self.loss = torch.where(improved & has_val, v_loss, self.loss)
        self.agree = torch.where(improved & has_val, v_agree, self.agree)
        self.step = torch.where(improved, torch.full_like(self.step, step), self.step)
        return improved & has_val


def _word_stats(
    words: range, train: _Chunk, val: _Chunk, val_ok: torch.Tensor, best: _Best
) -> list[dict[str, Any]]:
    stats = []
    for i, w in enumerate(words):
        agreement = float(best.agree[i])
        stats.append(
            {
                "word": int(w),
                "train": int(train.sizes[i]),
                "val": int(val.sizes[i]),
                "val_triplets": int(val_ok[i].sum()),
                "agreement": None if math.isnan(agreement) else round(agreement, 4),
                "best_step": int(best.step[i]),
            }
        )
    return stats


def train_chunk(
    enc: EncodedSamples, words: range, held_out: np.ndarray, config: FitConfig, chunk_seed: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Train the heads of ``words`` together; returns their weights and per-word statistics."""
    gen = torch.Generator().manual_seed(chunk_seed)
    dtype = torch.bfloat16 if config.precision == "bfloat16" else torch.float32
    train = _gather_chunk(enc, words, held_out, val=False, dtype=dtype)
    val = _gather_chunk(enc, words, held_out, val=True, dtype=dtype)
    W, H = train.x.shape[0], train.x.shape[1]
    weights = torch.nn.Parameter(torch.randn((W, H, config.dim), generator=gen) / math.sqrt(H))
    opt = torch.optim.Adam([weights], lr=config.lr)
    val_idx, val_margin, val_ok = mine_triplets(
        val.sim, val.sizes, config.val_triplets, gen, config.min_gap
    )
    umap_y = _umap_goals(train, config, chunk_seed)
    trainable = train.sizes >= 3
    best = _Best(weights)
    stale = 0
    for step in range(1, config.max_steps + 1):
        opt.zero_grad(set_to_none=True)
        w_eff = _feature_dropout(weights, config.dropout, gen)
        loss = _train_loss(train, w_eff, umap_y, config, gen)
        (loss * trainable).sum().backward()
        opt.step()
        if step % config.eval_every == 0 or step == config.max_steps:
            with torch.no_grad():
                out = _sample_outputs(val, weights, val_idx.view(W, -1), 0.0, None)
                v_loss, v_agree = _triplet_terms(
                    out.view(W, config.val_triplets, 3, config.dim), val_margin, val_ok
                )
                improved = best.update(step, weights, v_loss, v_agree, val_ok.any(dim=-1))
            stale = 0 if bool((improved & trainable).any()) else stale + 1
            if stale >= config.patience:
                break
    best.weights[~trainable] = 0.0
    return best.weights.numpy().astype(np.float32), _word_stats(words, train, val, val_ok, best)


def _read_chunk(
    path: Path, shape: tuple[int, ...]
) -> tuple[np.ndarray, list[dict[str, Any]], float] | None:
    """A finished chunk's (weights, stats, seconds), or None when it is missing or unreadable
    (damaged from outside: chunks are written atomically), so that it is trained again
    instead of stopping every resume with a numpy error that names no file."""
    try:
        with np.load(path) as data:
            weights = np.asarray(data["weights"], dtype=np.float32)
            stats = json.loads(str(data["stats"]))
            seconds = float(data["seconds"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if weights.shape != shape or not isinstance(stats, list):
        return None
    return weights, stats, seconds


@dataclass(frozen=True)
class FitResult:
    heads: np.ndarray  # (V+1, H, dim), row 0 zeros
    stats: list[dict[str, Any]]
    seconds: float
    agreement: float  # mean over words with held-out triplets
    trained_words: int


def fit_heads(
    enc: EncodedSamples,
    out_dir: str | Path,
    config: FitConfig | None = None,
    *,
    progress: bool = True,
    stop_after_chunks: int | None = None,
) -> FitResult | None:
    """Train every head (resumable per chunk; see module doc)."""
    config = config or FitConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = StepRecord(
        out_dir / "state.json", {"config": asdict(config), "pairs": len(enc.layout.word)}
    )
    if record.read() is None:  # chunks of other settings (or of unknown ones) are not reused
        for old in out_dir.glob("chunk-*.npz"):
            old.unlink()
        record.write({})
    V = len(enc.layout.offsets) - 2
    H = enc.tokens.shape[1]
    rng = np.random.default_rng([config.seed, 7])
    held_out = rng.random(len(enc.layout.sentences)) < config.val_fraction
    chunks = [
        range(s, min(s + config.words_per_chunk, V + 1))
        for s in range(1, V + 1, config.words_per_chunk)
    ]
    heads = np.zeros((V + 1, H, config.dim), dtype=np.float32)
    stats: list[dict[str, Any]] = []
    seconds = 0.0
    done_now = 0
    for c, words in enumerate(tqdm(chunks, desc="fit", unit="chunk", disable=not progress)):
        path = out_dir / f"chunk-{c:05d}.npz"
        done = _read_chunk(path, (len(words), H, config.dim))
        if done is None:
            if stop_after_chunks is not None and done_now >= stop_after_chunks:
                return None
            t0 = time.perf_counter()
            weights, chunk_stats = train_chunk(
                enc, words, held_out, config, config.seed * 1_000_003 + c
            )
            elapsed = time.perf_counter() - t0
            with atomic_file(path, "wb") as handle:
                np.savez(handle, weights=weights, stats=json.dumps(chunk_stats), seconds=elapsed)
            done = (weights, chunk_stats, elapsed)
            done_now += 1
            release_memory()
        heads[words.start : words.stop] = done[0]
        stats.extend(done[1])
        seconds += done[2]
    agreements = [s["agreement"] for s in stats if s["agreement"] is not None]
    trained = sum(1 for s in stats if s["train"] >= 3)
    return FitResult(
        heads, stats, seconds, float(np.mean(agreements)) if agreements else float("nan"), trained
    )
