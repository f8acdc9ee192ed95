"""End-to-end retrieval benchmark on a BEIR folder: BM25, miniCOIL, dense and hybrid.

The point is one honest comparison per dataset, so every system sees exactly the same inputs:

- the corpus is encoded **once** (``encode_document(..., dense=True)``: the miniCOIL sparse and
  the dense vector come from one forward pass) with ``avg_len`` measured on this corpus, plus a
  plain BM25 pass over the same words, stems, stopwords, ``k`` and ``b`` that never runs the
  backbone;
- each query is encoded **once** (``encode_query(..., dense=True)``), one query at a time, so the
  same loop that produces the rankings also measures realistic per-query latency;
- scoring uses the exact in-process scorers of :mod:`minicoil.search.exact` (Qdrant's IDF
  formula, deterministic ties), so numbers are reproducible without a vector database and
  equal what the Qdrant collection would return;
- self-hits (query id == document id, as in ArguAna/Quora) are dropped before metrics, like
  BEIR does, and each system retrieves one extra document so it still returns ``top_k``.

Results go to a JSON file (written atomically), one TREC run file per system, and a PNG chart.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from minicoil.eval.beir import DatasetError, indexable_text, load_beir
from minicoil.eval.metrics import DEFAULT_METRICS, evaluate, remove_self_hits
from minicoil.eval.runs import rank_documents, write_trec_run
from minicoil.io import write_json
from minicoil.search import fusion as fuse
from minicoil.search.exact import ExactDense, ExactSparse, _unit_rows, best_hits

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL
    from minicoil.sparse import SparseVector

__all__ = [
    "FUSIONS",
    "METRICS",
    "RRF_K",
    "SYSTEMS",
    "bm25_twin",
    "default_runs_dir",
    "run_benchmark",
]

SYSTEMS: tuple[str, ...] = ("bm25", "minicoil", "dense", "hybrid")
FUSIONS: tuple[str, ...] = ("rrf", "dbsf", "weighted")
METRICS: tuple[str, ...] = DEFAULT_METRICS  # ndcg@10, recall@100, mrr@10
RRF_K = 60  # fusion.rrf's k (Qdrant's Rrf(k=61)), the value SearchIndex uses
MIN_CANDIDATES = 100  # each hybrid side contributes its top max(top_k, 100), as SearchIndex does

Run = dict[str, dict[str, float]]


def bm25_twin(model: MiniCOIL) -> MiniCOIL:
    """Plain BM25 over exactly the model's words: same processor (stopwords, stemmer), ``k``, ``b``.

    Built like :attr:`minicoil.search.qdrant.SearchIndex.bm25`, so the benchmark's BM25 is the
    one stored in Qdrant collections; any difference to miniCOIL is then the heads' doing, not a
    tokenisation difference. Its encoders never run the backbone (no vocabulary, no dense).
    """
    return model.as_bm25()


def default_runs_dir(output: Path) -> Path:
    """``results.json`` -> ``results-runs/``: next to the output and named after it, so two
    benchmarks written to one folder never overwrite each other's run files."""
    return output.with_name(f"{output.stem}-runs")


class _SparseSearcher:
    """One query at a time over an :class:`ExactSparse` index, with the same arithmetic.

    ``ExactSparse.search`` transposes the document matrix on every call, which is right for a
    batch but would make per-query latency measure a transpose (O(corpus)) that a real index
    never does; here the transpose is paid once. The test suite checks that the hits are
    identical to ``ExactSparse.search``.
    """

    def __init__(self, index: ExactSparse):
        self.index = index
        self._doc_t = index.matrix.T.tocsr()

    def scores(self, query: SparseVector) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, scores)`` of every document sharing an index with ``query``."""
        result = (self.index._query_rows([query]) @ self._doc_t).tocsr()
        return result.indices.astype(np.int64), result.data.astype(np.float64)

    def search(self, query: SparseVector, top_k: int) -> list[tuple[int, float]]:
        positions, scores = self.scores(query)
        return best_hits(positions, scores, top_k)


class _DenseSearcher:
    """Brute-force cosine of one query against an :class:`ExactDense` index, all documents."""

    def __init__(self, index: ExactDense):
        self.index = index
        self.positions = np.arange(index.n_docs)

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine with every document, by ``ExactDense.search``'s arithmetic (float32 BLAS may
        round a single row in the last bit differently from a block of rows)."""
        unit = _unit_rows(np.atleast_2d(np.asarray(query, dtype=np.float32)))
        return (unit @ self.index.matrix.T)[0].astype(np.float64)

    def search(self, query: np.ndarray, top_k: int) -> list[tuple[int, float]]:
        return best_hits(self.positions, self.scores(query), top_k)


def _fuse(
    fusion: str,
    weight: float,
    sparse_hits: list[tuple[int, float]],
    dense_hits: list[tuple[int, float]],
    sparse_all: tuple[np.ndarray, np.ndarray],
    dense_all: np.ndarray,
    *,
    floor: float = 0.0,
    bm25: tuple[list[tuple[int, float]], tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[int, float]:
    """Fuse the two top-N lists like :meth:`SearchIndex.search` does in Qdrant.

    ``rrf``/``dbsf`` fuse the candidate lists as they are (server-side prefetch + fusion);
    ``weighted`` first gives every candidate both scores (a document outside the dense top-N
    still has a cosine; one outside the sparse top-N has a sparse score only if it shares a
    word), then applies :func:`fusion.weighted_sum`. With ``floor`` > 0 and ``bm25`` (its
    top-N and all its scores) the BM25 top-N joins the candidates and the sparse side is
    :func:`fusion.floored`.
    """
    sparse_run = dict(sparse_hits)
    dense_run = dict(dense_hits)
    if fusion == "rrf":
        return fuse.rrf([sparse_run, dense_run], k=RRF_K)
    if fusion == "dbsf":
        return fuse.dbsf([sparse_run, dense_run])
    pool = sparse_run.keys() | dense_run.keys()
    if bm25 is not None and floor > 0:
        pool |= dict(bm25[0]).keys()
        sparse_run = fuse.floored(_lookup(pool, sparse_all), _lookup(pool, bm25[1]), floor)
    else:
        sparse_run = _lookup(pool, sparse_all)
    dense_run = {pos: float(dense_all[pos]) for pos in pool}
    return fuse.weighted_sum(sparse_run, dense_run, weight)


def _lookup(pool: set[int], scored: tuple[np.ndarray, np.ndarray]) -> dict[int, float]:
    """The exact scores of the documents of ``pool`` that have one (they share a word)."""
    positions, scores = scored
    have = dict(zip(positions.tolist(), scores.tolist(), strict=True))
    return {pos: have[pos] for pos in pool if pos in have}


# Per-query steps that are timed separately; each system's latency is a sum of some of them.
_STEPS: tuple[str, ...] = ("encode", "bm25_encode", "bm25", "minicoil", "dense", "fusion")


def _search_query(
    text: str,
    models: tuple[MiniCOIL, MiniCOIL],
    indexes: tuple[_SparseSearcher, _SparseSearcher, _DenseSearcher],
    *,
    depth: int,
    candidates: int,
    fusion: str,
    weight: float,
    floor: float = 0.0,
) -> tuple[dict[str, dict[int, float]], dict[str, float]]:
    """Encode one query once and run all four systems on it.

    Returns ``{system: {position: score}}`` (``depth`` hits each; hybrid: every fused
    candidate) and the seconds of each step in :data:`_STEPS`. The query's single
    ``encode_query(dense=True)`` pass feeds miniCOIL, dense and hybrid alike, which is what a
    deployment would do; BM25 has its own (backbone-free) encoder.
    """
    model, bm25 = models
    bm25_index, sparse_index, dense_index = indexes
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = now - clock
        clock = now

    sparse_q, dense_q = next(model.encode_query(text, dense=True))
    lap("encode")
    bm25_q = next(bm25.encode_query(text))
    lap("bm25_encode")
    bm25_all = bm25_index.scores(bm25_q)
    bm25_top = best_hits(*bm25_all, max(depth, candidates))
    lap("bm25")
    sparse_all = sparse_index.scores(sparse_q)
    sparse_top = best_hits(*sparse_all, max(depth, candidates))
    lap("minicoil")
    dense_all = dense_index.scores(dense_q)
    dense_top = best_hits(dense_index.positions, dense_all, max(depth, candidates))
    lap("dense")
    bm25_side = (bm25_top[:candidates], bm25_all)

    def minicoil_and_dense(name: str) -> dict[int, float]:
        return _fuse(
            name,
            weight,
            sparse_top[:candidates],
            dense_top[:candidates],
            sparse_all,
            dense_all,
            floor=floor,
            bm25=bm25_side,
        )

    fused = minicoil_and_dense(fusion)
    lap("fusion")
    hits = {
        "bm25": dict(bm25_top[:depth]),
        "minicoil": dict(sparse_top[:depth]),
        "dense": dict(dense_top[:depth]),
        "hybrid": fused,
    }
    # Untimed comparisons from the same encodings: every fusion of miniCOIL + dense, and the
    # usual BM25 + dense hybrids that miniCOIL's hybrid has to beat.
    for name in FUSIONS:
        hits[f"minicoil+dense {name}"] = fused if name == fusion else minicoil_and_dense(name)
        hits[f"bm25+dense {name}"] = _fuse(
            name, weight, bm25_top[:candidates], dense_top[:candidates], bm25_all, dense_all
        )
    return hits, seconds


def _percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds (zeros when there were no queries)."""
    if not seconds:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "mean_ms": 0.0}
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    p50, p95 = np.percentile(ms, [50, 95])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "mean_ms": float(ms.mean())}


def _truncate(run: Mapping[str, Mapping[str, float]], depth: int) -> Run:
    """Top ``depth`` per query in run-file order (score descending, doc id ascending)."""
    return {qid: dict(rank_documents(docs, depth)) for qid, docs in run.items()}


def _model_summary(
    model: MiniCOIL, dense_size: int, avg_len: float, label: str | None
) -> dict[str, Any]:
    config = model.config
    summary: dict[str, Any] = {
        "name": label,
        "kind": "minicoil" if config.vocab_size else "bm25",
        "backbone": str(config.backbone),
        "hidden_size": int(config.hidden_size),
        "dense_size": int(dense_size),
        "vocab_size": int(config.vocab_size),
        "dim": int(config.dim),
        "k": float(config.k),
        "b": float(config.b),
        "language": str(config.language),
        "avg_len": float(avg_len),
    }
    training = config.training if isinstance(config.training, dict) else {}
    # Scalars only (agreement, timings, command): enough to tell runs apart, not the whole record.
    summary["training"] = {
        key: value
        for key, value in training.items()
        if value is None or isinstance(value, (str, int, float, bool))
    }
    return summary


def _progress(enabled: bool, total: int, desc: str, unit: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=False)


def run_benchmark(
    data_dir: str | os.PathLike[str],
    model: MiniCOIL,
    *,
    split: str = "test",
    batch_size: int = 32,
    top_k: int = 100,
    weight: float = fuse.HYBRID_WEIGHT,
    fusion: str = fuse.HYBRID_FUSION,
    floor: float = fuse.HYBRID_FLOOR,
    output: str | os.PathLike[str] = Path("results.json"),
    runs_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    model_label: str | None = None,
    plot: bool = True,
) -> dict[str, Any]:
    """Benchmark BM25, miniCOIL, dense and hybrid retrieval on one BEIR split.

    Writes ``output`` (JSON: dataset, split, model summary, per-system ndcg@10 / recall@100 /
    mrr@10, timing, settings), ``output.with_suffix(".png")`` (chart) and ``<system>.trec``
    run files in ``runs_dir`` (default: :func:`default_runs_dir`), and returns the JSON dict.
    ``model.fit`` is called on the corpus, so the model's corpus statistics change.
    ``hybrid`` is miniCOIL + dense fused with ``fusion`` (``weighted`` uses ``weight`` on the
    cosine and scores meanings as ``floor + (1 - floor) * cos``, see :func:`fusion.floored`).
    Bad input raises :class:`DatasetError` (naming the file) or ``ValueError``.
    """
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not math.isfinite(weight):
        raise ValueError(f"weight must be a finite number, got {weight}")
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"floor must be between 0 and 1, got {floor}")
    _require_optional(plot)
    root = Path(data_dir)
    output_path = Path(output)
    runs_path = Path(runs_dir) if runs_dir is not None else default_runs_dir(output_path)
    started = time.perf_counter()

    dataset = load_beir(root, split)
    if not dataset.corpus:
        raise DatasetError(f"{root / 'corpus.jsonl'}: no documents")
    if not dataset.queries:
        raise DatasetError(f"{root / 'qrels' / f'{split}.tsv'}: no judged queries")
    doc_ids = list(dataset.corpus)
    texts = [indexable_text(doc) for doc in dataset.corpus.values()]

    # ---- corpus: one miniCOIL+dense pass, one BM25 pass (no backbone), exact indexes
    tick = time.perf_counter()
    backbone = model.backbone  # loaded here, so that loading is not billed as encoding
    load_s = time.perf_counter() - tick
    tick = time.perf_counter()
    avg_len = model.fit(texts).avg_len or 1.0
    fit_s = time.perf_counter() - tick
    sparse_docs: list[SparseVector] = []
    dense_docs: list[np.ndarray] = []
    tick = time.perf_counter()
    with _progress(progress, len(texts), "encoding corpus", "doc") as bar:
        for sparse, dense in model.encode_document(
            texts, batch_size=batch_size, dense=True, avg_len=avg_len
        ):
            sparse_docs.append(sparse)
            dense_docs.append(dense)
            bar.update(1)
    encode_s = time.perf_counter() - tick
    bm25 = bm25_twin(model)
    tick = time.perf_counter()
    bm25_docs = list(bm25.encode_document(texts, batch_size=batch_size, avg_len=avg_len))
    bm25_encode_s = time.perf_counter() - tick
    tick = time.perf_counter()
    bm25_index = _SparseSearcher(ExactSparse.build(bm25_docs))
    sparse_index = _SparseSearcher(ExactSparse.build(sparse_docs))
    dense_index = _DenseSearcher(ExactDense(np.stack(dense_docs)))
    build_s = time.perf_counter() - tick
    del sparse_docs, dense_docs, bm25_docs

    # ---- queries: each encoded once, alone, and every step timed on its own
    depth = top_k + 1  # one spare, in case the query's own document is among the hits
    candidates = max(top_k, MIN_CANDIDATES)
    variants = [f"{side}+dense {name}" for side in ("minicoil", "bm25") for name in FUSIONS]
    raw: dict[str, Run] = {name: {} for name in (*SYSTEMS, *variants)}
    spent: dict[str, list[float]] = {key: [] for key in _STEPS}
    with _progress(progress, len(dataset.queries), "searching", "query") as bar:
        for qid, text in dataset.queries.items():
            hits, seconds = _search_query(
                text,
                (model, bm25),
                (bm25_index, sparse_index, dense_index),
                depth=depth,
                candidates=candidates,
                fusion=fusion,
                weight=weight,
                floor=floor,
            )
            for name in raw:
                raw[name][qid] = {doc_ids[pos]: score for pos, score in hits[name].items()}
            for key in _STEPS:
                spent[key].append(seconds[key])
            bar.update(1)

    # ---- metrics on runs without self-hits, and run files
    runs: dict[str, Run] = {}
    self_hits: dict[str, int] = {}
    for name in raw:
        clean = remove_self_hits(raw[name])
        self_hits[name] = sum(len(raw[name][q]) - len(clean[q]) for q in raw[name])
        runs[name] = _truncate(clean, top_k)
    systems = {name: evaluate(dataset.qrels, runs[name], METRICS) for name in SYSTEMS}
    fusion_variants = {name: evaluate(dataset.qrels, runs[name], METRICS) for name in variants}
    run_files = {
        name: str(write_trec_run(runs_path / f"{name}.trec", runs[name], name, depth=top_k))
        for name in SYSTEMS
    }

    n_docs, n_queries = len(texts), len(dataset.queries)
    encoded = spent["encode"]
    latency = {
        "bm25": [e + s for e, s in zip(spent["bm25_encode"], spent["bm25"], strict=True)],
        "minicoil": [e + s for e, s in zip(encoded, spent["minicoil"], strict=True)],
        "dense": [e + s for e, s in zip(encoded, spent["dense"], strict=True)],
        "hybrid": [
            e + s + d + f
            for e, s, d, f in zip(
                encoded, spent["minicoil"], spent["dense"], spent["fusion"], strict=True
            )
        ],
    }
    timing = {
        "corpus": {
            "docs": n_docs,
            "backbone_load_s": load_s,
            "fit_s": fit_s,
            "encode_s": encode_s,
            "docs_per_s": n_docs / encode_s if encode_s > 0 else None,
            "bm25_encode_s": bm25_encode_s,
            "index_build_s": build_s,
        },
        "queries": {
            "count": n_queries,
            "encode": _percentiles(spent["encode"]),
            "latency": {name: _percentiles(latency[name]) for name in SYSTEMS},
        },
        "total_s": time.perf_counter() - started,
        "environment": _environment(),
    }
    results: dict[str, Any] = {
        "dataset": root.resolve().name,
        "split": split,
        "model": _model_summary(model, backbone.dense_size, avg_len, model_label),
        "systems": systems,
        "fusion_variants": fusion_variants,
        "timing": timing,
        "settings": {
            "data_dir": str(root),
            "n_docs": n_docs,
            "n_queries": n_queries,
            "metrics": list(METRICS),
            "top_k": top_k,
            "batch_size": batch_size,
            "fusion": fusion,
            "weight": weight,
            "floor": floor,
            "rrf_k": RRF_K,
            "hybrid_candidates": candidates,
            "self_hits_removed": {name: self_hits[name] for name in SYSTEMS},
            "scorer": "exact (minicoil.search.exact, Qdrant IDF modifier)",
            "runs_dir": str(runs_path),
            "run_files": run_files,
        },
    }
    write_json(output_path, results)
    if plot:
        from minicoil.eval.plots import plot_benchmark

        plot_benchmark(results, output_path.with_suffix(".png"))
    return results


def _require_optional(plot: bool) -> None:
    """Fail before minutes of encoding, not after, when an optional extra is missing."""
    needed = [("pytrec_eval", "pytrec-eval-terrier")] + ([("matplotlib", "matplotlib")] * plot)
    for module, package in needed:
        try:
            __import__(module)
        except ImportError:
            raise ImportError(
                f"the benchmark needs {package}: pip install 'minicoil[eval]'"
            ) from None


def _environment() -> dict[str, Any]:
    """Where the timings were taken: they mean little without the machine's thread count."""
    import torch

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
