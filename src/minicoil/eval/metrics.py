"""Retrieval metrics (NDCG@k, Recall@k, MRR@k) computed with ``pytrec_eval``.

We delegate to ``pytrec_eval`` (the trec_eval C code) rather than re-implementing the formulas so
that numbers match published BEIR tables. Conventions inherited from trec_eval:

* NDCG uses the graded relevance as the gain (not ``2**rel - 1``) and a ``log2(rank + 1)``
  discount; a document is relevant for recall/MRR when its grade is >= 1.
* Ranking ties: trec_eval ignores ranks and sorts each query's run by score descending, then by
  document id *descending* (byte order). This differs from the order
  :func:`minicoil.eval.runs.write_trec_run` writes (doc id ascending, like pyserini), but
  trec_eval applies its own order to a run file too, so in-memory and on-disk evaluation agree.
* Averaging: the mean is taken over every query in ``qrels``. A query that is missing from the
  run (or has no judgments) scores 0 for every metric, as ``trec_eval -c`` does; queries that
  appear only in the run are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

__all__ = [
    "DEFAULT_METRICS",
    "Qrels",
    "Run",
    "evaluate",
    "evaluate_per_query",
    "remove_self_hits",
    "truncate_run",
]

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]

DEFAULT_METRICS: tuple[str, ...] = ("ndcg@10", "recall@100", "mrr@10")

_METRIC_RE = re.compile(r"(ndcg|recall|mrr)@([1-9][0-9]*)")


@dataclass(frozen=True)
class _Metric:
    """A parsed metric name and how pytrec_eval is asked for it."""

    name: str  # normalised user-facing name, e.g. "ndcg@10"
    kind: str  # "ndcg", "recall" or "mrr"
    cutoff: int

    @property
    def measure(self) -> str:
        """The measure string passed to ``RelevanceEvaluator``."""
        if self.kind == "ndcg":
            return f"ndcg_cut.{self.cutoff}"
        if self.kind == "recall":
            return f"recall.{self.cutoff}"
        # trec_eval's recip_rank has no cutoff parameter: MRR@k is recip_rank on a run truncated
        # to its top k documents (see _reciprocal_ranks).
        return "recip_rank"

    @property
    def result_key(self) -> str:
        """The key pytrec_eval uses for this measure in its per-query results."""
        return self.measure.replace(".", "_")


def _pytrec_eval() -> ModuleType:
    """Import pytrec_eval lazily: it is an optional extra (``minicoil[eval]``)."""
    try:
        import pytrec_eval
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "metrics need pytrec_eval: pip install 'minicoil[eval]' (pytrec-eval-terrier)"
        ) from exc
    return pytrec_eval


def _parse_metric(name: str) -> _Metric:
    normalised = name.strip().lower()
    match = _METRIC_RE.fullmatch(normalised)
    if match is None:
        raise ValueError(f"unknown metric {name!r}: expected ndcg@k, recall@k or mrr@k with k >= 1")
    return _Metric(name=normalised, kind=match.group(1), cutoff=int(match.group(2)))


def _parse_metrics(metrics: Iterable[str]) -> list[_Metric]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    parsed: list[_Metric] = []
    for name in metrics:
        metric = _parse_metric(name)
        if metric.name not in {m.name for m in parsed}:
            parsed.append(metric)
    if not parsed:
        raise ValueError("no metrics requested")
    return parsed


def _copy_qrels(qrels: Qrels) -> dict[str, dict[str, int]]:
    """Plain-dict copy with int grades: pytrec_eval wants exact types and we must not mutate."""
    return {qid: {did: int(grade) for did, grade in docs.items()} for qid, docs in qrels.items()}


def _copy_run(run: Run) -> dict[str, dict[str, float]]:
    return {qid: {did: float(score) for did, score in docs.items()} for qid, docs in run.items()}


def _trec_order(docs: Mapping[str, float]) -> list[tuple[str, float]]:
    """Sort like trec_eval: score descending, then doc id descending."""
    return sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True)


def truncate_run(run: Run, depth: int) -> dict[str, dict[str, float]]:
    """Return a copy of ``run`` keeping each query's top ``depth`` documents in trec_eval order.

    Using trec_eval's own tie-breaking guarantees that truncation keeps exactly the documents
    trec_eval would rank first, so metrics at cutoffs <= ``depth`` are unchanged.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    return {qid: dict(_trec_order(docs)[:depth]) for qid, docs in _copy_run(run).items()}


def remove_self_hits(run: Run) -> dict[str, dict[str, float]]:
    """Return a copy of ``run`` without documents whose id equals the query id.

    BEIR datasets such as ArguAna and Quora put each query in the corpus too; a system retrieving
    the query itself is an artefact of the setup, so BEIR's own evaluation drops these hits.
    """
    return {
        qid: {did: float(score) for did, score in docs.items() if did != qid}
        for qid, docs in run.items()
    }


def _evaluate_measures(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], measures: set[str]
) -> dict[str, dict[str, float]]:
    evaluator = _pytrec_eval().RelevanceEvaluator(qrels, measures)
    return evaluator.evaluate(run)


def _reciprocal_ranks(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], cutoff: int
) -> dict[str, float]:
    """Per-query MRR@cutoff: pytrec_eval's recip_rank has no cutoff variant, so the run is first
    truncated to its top ``cutoff`` documents (trec_eval order) and then scored with recip_rank.
    """
    results = _evaluate_measures(qrels, truncate_run(run, cutoff), {"recip_rank"})
    return {qid: values["recip_rank"] for qid, values in results.items()}


def evaluate_per_query(
    qrels: Qrels, run: Run, metrics: Sequence[str] = DEFAULT_METRICS
) -> dict[str, dict[str, float]]:
    """Score every query in ``qrels``: ``{query_id: {metric: value}}``.

    Metric names are ``ndcg@k``, ``recall@k`` and ``mrr@k`` (case-insensitive, returned
    lower-case). Queries in ``qrels`` that pytrec_eval does not score (absent from the run, or
    without judgments) get 0.0, matching ``trec_eval -c``. Inputs are not modified.
    """
    parsed = _parse_metrics(metrics)
    qrels_copy = _copy_qrels(qrels)
    run_copy = _copy_run(run)
    per_query: dict[str, dict[str, float]] = {
        qid: {metric.name: 0.0 for metric in parsed} for qid in qrels_copy
    }

    plain = [metric for metric in parsed if metric.kind != "mrr"]
    if plain:
        results = _evaluate_measures(qrels_copy, run_copy, {m.measure for m in plain})
        for qid, values in results.items():
            if qid not in per_query:  # defensive: pytrec_eval only reports judged queries
                continue
            for metric in plain:
                per_query[qid][metric.name] = float(values[metric.result_key])

    for metric in (m for m in parsed if m.kind == "mrr"):
        for qid, value in _reciprocal_ranks(qrels_copy, run_copy, metric.cutoff).items():
            if qid in per_query:
                per_query[qid][metric.name] = float(value)
    return per_query


def evaluate(qrels: Qrels, run: Run, metrics: Sequence[str] = DEFAULT_METRICS) -> dict[str, float]:
    """Mean of each metric over all queries in ``qrels`` (missing run queries count as 0).

    See :func:`evaluate_per_query` for metric names and the module docstring for trec_eval's
    tie-breaking and gain conventions.
    """
    per_query = evaluate_per_query(qrels, run, metrics)
    if not per_query:
        raise ValueError("qrels is empty: there is nothing to average over")
    names = [metric.name for metric in _parse_metrics(metrics)]
    count = len(per_query)
    return {name: sum(values[name] for values in per_query.values()) / count for name in names}
