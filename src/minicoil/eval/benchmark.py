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
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from minicoil.eval.beir import BeirDataset, DatasetError, indexable_text, load_beir
from minicoil.eval.benchmark_summary import (
    SYSTEMS,
    environment,
    model_summary,
    query_timing,
)
from minicoil.eval.metrics import DEFAULT_METRICS, evaluate, remove_self_hits
from minicoil.eval.runs import rank_documents, write_trec_run
from minicoil.io import write_json
from minicoil.search import hybrid
from minicoil.search.exact import ExactDense, ExactSparse, ScoredSide
from minicoil.search.hybrid import FUSIONS, MIN_CANDIDATES, RRF_K

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

__all__ = [
    "FUSIONS",
    "METRICS",
    "MIN_CANDIDATES",
    "RRF_K",
    "SYSTEMS",
    "bm25_twin",
    "default_runs_dir",
    "run_benchmark",
]

METRICS: tuple[str, ...] = DEFAULT_METRICS  # ndcg@10, recall@100, mrr@10
# Untimed comparisons from the same encodings: every fusion of miniCOIL + dense, and the usual
# BM25 + dense hybrids that miniCOIL's hybrid has to beat.
VARIANTS: tuple[str, ...] = tuple(
    f"{side}+dense {name}" for side in ("minicoil", "bm25") for name in FUSIONS
)

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


@dataclass(frozen=True)
class _Settings:
    """What every query is searched with."""

    depth: int  # hits kept per system: top_k plus one spare for a self-hit
    candidates: int  # each hybrid side's top-N
    fusion: str
    weight: float
    floor: float


@dataclass
class _Corpus:
    """The encoded corpus as exact indexes, the models that encode queries, and the timings."""

    doc_ids: list[str]
    model: MiniCOIL
    bm25: MiniCOIL
    bm25_index: ExactSparse
    sparse_index: ExactSparse
    dense_index: ExactDense
    avg_len: float
    dense_size: int
    timing: dict[str, Any]


def _encode_corpus(
    model: MiniCOIL, dataset: BeirDataset, batch_size: int, progress: bool
) -> _Corpus:
    """One miniCOIL+dense pass, one BM25 pass (no backbone), then the exact indexes."""
    texts = [indexable_text(doc) for doc in dataset.corpus.values()]
    tick = time.perf_counter()
    backbone = model.backbone  # loaded here, so that loading is not billed as encoding
    load_s = time.perf_counter() - tick
    tick = time.perf_counter()
    avg_len = model.measure(texts).avg_len  # the caller's model keeps its own stats
    fit_s = time.perf_counter() - tick
    sparse_docs, dense_docs = [], []
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
    indexes = (ExactSparse.build(bm25_docs), ExactSparse.build(sparse_docs))
    dense_index = ExactDense(np.stack(dense_docs))
    for index in indexes:
        index.prepare()  # index time, not the first query's
    build_s = time.perf_counter() - tick
    timing = {
        "docs": len(texts),
        "backbone_load_s": load_s,
        "fit_s": fit_s,
        "encode_s": encode_s,
        "docs_per_s": len(texts) / encode_s if encode_s > 0 else None,
        "bm25_encode_s": bm25_encode_s,
        "index_build_s": build_s,
    }
    bm25_index, sparse_index = indexes
    return _Corpus(
        doc_ids=list(dataset.corpus),
        model=model,
        bm25=bm25,
        bm25_index=bm25_index,
        sparse_index=sparse_index,
        dense_index=dense_index,
        avg_len=avg_len,
        dense_size=backbone.dense_size,
        timing=timing,
    )


# Per-query steps that are timed separately; each system's latency is a sum of some of them.
_STEPS: tuple[str, ...] = ("encode", "bm25_encode", "bm25", "minicoil", "dense", "fusion")


def _search_query(
    text: str, corpus: _Corpus, settings: _Settings
) -> tuple[dict[str, dict[int, float]], dict[str, float]]:
    """Encode one query once and run all four systems on it.

    Returns ``{system: {position: score}}`` (``depth`` hits each; hybrid: every fused
    candidate) and the seconds of each step in :data:`_STEPS`. The query's single
    ``encode_query(dense=True)`` pass feeds miniCOIL, dense and hybrid alike, which is what a
    deployment would do; BM25 has its own (backbone-free) encoder.
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = now - clock
        clock = now

    sparse_q, dense_q = next(corpus.model.encode_query(text, dense=True))
    lap("encode")
    bm25_q = next(corpus.bm25.encode_query(text))
    lap("bm25_encode")
    top = max(settings.depth, settings.candidates)
    sides: dict[str, ScoredSide] = {}
    for name, index, query in (
        ("bm25", corpus.bm25_index, bm25_q),
        ("minicoil", corpus.sparse_index, sparse_q),
        ("dense", corpus.dense_index, dense_q),
    ):
        sides[name] = index.side(query)
        sides[name].top(top)
        lap(name)
    fused = _fuse(sides, "minicoil", settings.fusion, settings)
    lap("fusion")
    hits = {name: dict(sides[name].top(settings.depth)) for name in ("bm25", "minicoil", "dense")}
    hits["hybrid"] = fused
    for name in FUSIONS:
        hits[f"minicoil+dense {name}"] = (
            fused if name == settings.fusion else _fuse(sides, "minicoil", name, settings)
        )
        hits[f"bm25+dense {name}"] = _fuse(sides, "bm25", name, settings)
    return hits, seconds


def _fuse(
    sides: Mapping[str, ScoredSide], sparse: str, fusion: str, settings: _Settings
) -> dict[int, float]:
    """The hybrid of ``sparse`` (``minicoil``, floored with BM25, or plain ``bm25``) and dense."""
    return hybrid.hybrid_scores(
        sides[sparse],
        sides["dense"],
        fusion=fusion,
        weight=settings.weight,
        floor=settings.floor,
        bm25=sides["bm25"] if sparse == "minicoil" else None,
        candidates=settings.candidates,
        rrf_k=RRF_K,
    )


def _search_all(
    corpus: _Corpus, queries: Mapping[str, str], settings: _Settings, progress: bool
) -> tuple[dict[str, Run], dict[str, list[float]]]:
    """Every query through :func:`_search_query`: runs by system (document ids) and the
    seconds of each step per query."""
    raw: dict[str, Run] = {name: {} for name in (*SYSTEMS, *VARIANTS)}
    spent: dict[str, list[float]] = {key: [] for key in _STEPS}
    with _progress(progress, len(queries), "searching", "query") as bar:
        for qid, text in queries.items():
            hits, seconds = _search_query(text, corpus, settings)
            for name in raw:
                raw[name][qid] = {corpus.doc_ids[pos]: score for pos, score in hits[name].items()}
            for key in _STEPS:
                spent[key].append(seconds[key])
            bar.update(1)
    return raw, spent


def _evaluate_runs(
    raw: Mapping[str, Run], qrels: Mapping[str, Mapping[str, int]], top_k: int, runs_path: Path
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], dict[str, int]]:
    """Metrics on runs without self-hits, and the run files: ``(systems, fusion variants,
    run files, self-hits removed)``."""
    runs: dict[str, Run] = {}
    self_hits: dict[str, int] = {}
    for name in raw:
        clean = remove_self_hits(raw[name])
        self_hits[name] = sum(len(raw[name][q]) - len(clean[q]) for q in raw[name])
        runs[name] = _truncate(clean, top_k)
    systems = {name: evaluate(qrels, runs[name], METRICS) for name in SYSTEMS}
    fusion_variants = {name: evaluate(qrels, runs[name], METRICS) for name in VARIANTS}
    run_files = {
        name: str(write_trec_run(runs_path / f"{name}.trec", runs[name], name, depth=top_k))
        for name in SYSTEMS
    }
    return systems, fusion_variants, run_files, self_hits


def _truncate(run: Mapping[str, Mapping[str, float]], depth: int) -> Run:
    """Top ``depth`` per query in run-file order (score descending, doc id ascending)."""
    return {qid: dict(rank_documents(docs, depth)) for qid, docs in run.items()}


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
    weight: float = hybrid.HYBRID_WEIGHT,
    fusion: str = hybrid.HYBRID_FUSION,
    floor: float = hybrid.HYBRID_FLOOR,
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
    The corpus is measured with ``model.measure``: the model's own statistics stay as given.
    ``hybrid`` is miniCOIL + dense fused by :func:`minicoil.search.hybrid.hybrid_scores` with
    ``fusion`` (``weighted`` uses ``weight`` on the cosine and scores meanings as ``floor +
    (1 - floor) * cos``, see :func:`fusion.floored`).
    Bad input raises :class:`DatasetError` (naming the file) or ``ValueError``.
    """
    _check_settings(fusion, top_k, batch_size, weight, floor)
    _require_optional(plot)
    root = Path(data_dir)
    output_path = Path(output)
    runs_path = Path(runs_dir) if runs_dir is not None else default_runs_dir(output_path)
    started = time.perf_counter()
    dataset = _load(root, split)
    corpus = _encode_corpus(model, dataset, batch_size, progress)
    # one spare hit per system, in case the query's own document is among the hits
    settings = _Settings(top_k + 1, max(top_k, MIN_CANDIDATES), fusion, weight, floor)
    raw, spent = _search_all(corpus, dataset.queries, settings, progress)
    systems, variants, run_files, self_hits = _evaluate_runs(raw, dataset.qrels, top_k, runs_path)
    results: dict[str, Any] = {
        "dataset": root.resolve().name,
        "split": split,
        "model": model_summary(model, corpus.dense_size, corpus.avg_len, model_label),
        "systems": systems,
        "fusion_variants": variants,
        "timing": {
            "corpus": corpus.timing,
            "queries": query_timing(spent),
            "total_s": time.perf_counter() - started,
            "environment": environment(),
        },
        "settings": _settings_record(
            root, corpus, len(dataset.queries), top_k, batch_size, settings
        ),
    }
    results["settings"]["self_hits_removed"] = {name: self_hits[name] for name in SYSTEMS}
    results["settings"].update(scorer=SCORER, runs_dir=str(runs_path), run_files=run_files)
    write_json(output_path, results)
    if plot:
        from minicoil.eval.plots import plot_benchmark

        plot_benchmark(results, output_path.with_suffix(".png"))
    return results


SCORER = "exact (minicoil.search.exact, Qdrant IDF modifier)"


def _settings_record(
    root: Path,
    corpus: _Corpus,
    n_queries: int,
    top_k: int,
    batch_size: int,
    settings: _Settings,
) -> dict[str, Any]:
    """The ``settings`` of the results, up to the self-hits and files (added in this order)."""
    return {
        "data_dir": str(root),
        "n_docs": len(corpus.doc_ids),
        "n_queries": n_queries,
        "metrics": list(METRICS),
        "top_k": top_k,
        "batch_size": batch_size,
        "fusion": settings.fusion,
        "weight": settings.weight,
        "floor": settings.floor,
        "rrf_k": RRF_K,
        "hybrid_candidates": settings.candidates,
    }


def _check_settings(fusion: str, top_k: int, batch_size: int, weight: float, floor: float):
    """Bad settings fail before the model loads or any document is encoded."""
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


def _load(root: Path, split: str) -> BeirDataset:
    """The split, refused if it has no documents or no judged queries."""
    dataset = load_beir(root, split)
    if not dataset.corpus:
        raise DatasetError(f"{root / 'corpus.jsonl'}: no documents")
    if not dataset.queries:
        raise DatasetError(f"{root / 'qrels' / f'{split}.tsv'}: no judged queries")
    return dataset


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
