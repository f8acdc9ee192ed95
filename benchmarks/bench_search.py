"""Search engines side by side: latency without query encoding, ingest rate, memory, recall.

Per corpus size, in one run, each engine indexes the same encoded vectors and answers the same
encoded queries, one at a time, in four modes (sparse = miniCOIL, bm25, dense, and the default
hybrid of :mod:`minicoil.search.hybrid`):

- ``edge``: :class:`minicoil.search.SearchIndex` on its embedded engine, Qdrant Edge
  (``add_encoded`` / ``search_encoded``), plus the end-to-end ``SearchIndex.search`` with the
  ONNX int8 query encoder on SciFact, and dense recall@10 against exact search;
- ``local``: the same ``SearchIndex`` over qdrant-client's local mode (``QdrantClient(path=)``),
  only up to ``--local-max-docs`` documents and ``--local-queries`` queries: it scores every
  point of the collection in Python for each query;
- ``exact``: the reference scorers of :mod:`minicoil.search.exact` and the same hybrid;
- ``bm25s``: plain BM25 (bm25s) over the same texts, the latency bar of "as cheap as BM25".

Sizes: ``scifact`` (real vectors of the shipped model, encoded once and cached in ``--work``)
and synthetic corpora of N documents shaped like SciFact (``bench_search_data.py``). Each
(size, engine) runs in its own process, so its peak RSS is its own. Usage::

    python benchmarks/bench_search.py --work /tmp/minicoil-bench \\
        --sizes scifact,50000,500000 --json benchmarks/results-search.json

Numbers mean little on a loaded machine: the script prints the load average it started with.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_search_data as data
import numpy as np

ENGINES = ("edge", "local", "exact", "bm25s")
MODES = ("sparse", "bm25", "dense", "hybrid")
LIMIT = 10
WARMUP = 3


def _rss_mb(peak: bool) -> float:
    """Current (VmRSS) or peak (VmHWM) resident memory of this process, in MiB."""
    key = "VmHWM:" if peak else "VmRSS:"
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "queries": len(seconds),
    }


def _timed(search: Any, queries: list[Any]) -> dict[str, float]:
    """Latency of ``search(query)`` per query, after a few untimed warm-up calls."""
    for query in queries[:WARMUP]:
        search(query)
    seconds = []
    for query in queries:
        start = time.perf_counter()
        search(query)
        seconds.append(time.perf_counter() - start)
    return _percentiles(seconds)


def _exact_dense_top(corpus: data.Corpus, rows: range, block: int = 65536) -> list[set[str]]:
    """Exact dense top-10 ids per query (the reference of recall@10), by blocks of documents
    so that a 500k corpus needs no normalised copy of every vector."""
    queries = np.array(corpus.arrays["query_dense"][list(rows)], dtype=np.float32)
    queries /= np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    docs = corpus.arrays["doc_dense"]
    best = np.full((len(queries), 0), -np.inf), np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(docs), block):
        chunk = np.array(docs[start : start + block], dtype=np.float32)  # a writable copy
        chunk /= np.maximum(np.linalg.norm(chunk, axis=1, keepdims=True), 1e-12)
        scores = np.concatenate([best[0], queries @ chunk.T], axis=1)
        ids = np.concatenate(
            [
                best[1],
                np.broadcast_to(np.arange(start, start + len(chunk)), (len(queries), len(chunk))),
            ],
            axis=1,
        )
        top = np.argsort(-scores, axis=1, kind="stable")[:, :LIMIT]
        best = np.take_along_axis(scores, top, 1), np.take_along_axis(ids, top, 1)
    return [{corpus.doc_ids[i] for i in row} for row in best[1].tolist()]


def _input_mb(corpus: data.Corpus) -> float:
    """Size of the corpus' arrays: a worker that reads them all holds their pages in RSS."""
    return sum(a.nbytes for a in corpus.arrays.values()) / 2**20


def _model() -> Any:
    """The shipped model as the CLI loads it (ONNX int8), else torch: a collection is bound
    to a model's fingerprint, and the end-to-end search encodes with it."""
    try:
        from minicoil.export.runtime import load_model

        return load_model(backend="onnx-int8"), "onnx-int8"
    except ImportError:
        from minicoil import MiniCOIL

        return MiniCOIL.from_pretrained(), "torch"


def run_index(engine: str, corpus: data.Corpus, args: argparse.Namespace) -> dict[str, Any]:
    """``edge`` or ``local``: SearchIndex over that engine."""
    from minicoil.search import SearchIndex
    from minicoil.search.points import EncodedPoint, EncodedQuery

    model, backend = _model()
    n_queries = corpus.n_queries if engine == "edge" else min(corpus.n_queries, args.local_queries)
    rows = range(n_queries)
    queries = [
        EncodedQuery(
            corpus.query("sparse", i),
            corpus.query("bm25", i),
            np.asarray(corpus.arrays["query_dense"][i]),
        )
        for i in rows
    ]
    points = (
        EncodedPoint(
            doc_id,
            corpus.doc("sparse", i),
            corpus.doc("bm25", i),
            np.asarray(corpus.arrays["doc_dense"][i]),
            {"text": corpus.texts[i]},
        )
        for i, doc_id in enumerate(corpus.doc_ids)
    )
    with tempfile.TemporaryDirectory(dir=args.work) as folder:
        client = None
        if engine == "local":
            from qdrant_client import QdrantClient

            client = QdrantClient(path=folder)
        rss = _rss_mb(peak=False)
        index = SearchIndex(model, "bench", path=folder if client is None else None, client=client)
        _ = index.fingerprint  # loads the backbone to hash it: model time, not ingest time
        start = time.perf_counter()
        index.add_encoded(points, avg_len=corpus.avg_len)
        ingest_s = time.perf_counter() - start
        out: dict[str, Any] = {"ingest_s": ingest_s, "docs_per_s": corpus.n_docs / ingest_s}
        out["modes"] = {
            mode: _timed(lambda q, m=mode: index.search_encoded(q, mode=m, limit=LIMIT), queries)
            for mode in MODES
        }
        out["peak_rss_mb"] = _rss_mb(peak=True)  # before the exact reference below
        got = [
            {h.doc_id for h in index.search_encoded(q, mode="dense", limit=LIMIT)} for q in queries
        ]
        want = _exact_dense_top(corpus, rows)
        out["dense_recall@10"] = float(
            np.mean([len(g & w) / len(w) for g, w in zip(got, want, strict=True)])
        )
        if engine == "edge" and corpus.name == "scifact":
            texts = corpus.queries[:n_queries]
            out["end_to_end"] = {"encoder": backend} | {
                mode: _timed(lambda t, m=mode: index.search(t, mode=m, limit=LIMIT), texts)
                for mode in ("bm25", "hybrid")
            }
        out["rss_before_index_mb"] = rss
        index.close()
    return out


def run_exact(corpus: data.Corpus, args: argparse.Namespace) -> dict[str, Any]:
    """The reference scorers, with the hybrid of :func:`minicoil.search.hybrid.hybrid_scores`."""
    from minicoil.search import fusion, hybrid
    from minicoil.search.exact import ExactDense, ExactSparse

    rss = _rss_mb(peak=False)
    start = time.perf_counter()
    sparse = ExactSparse.build([corpus.doc("sparse", i) for i in range(corpus.n_docs)]).prepare()
    bm25 = ExactSparse.build([corpus.doc("bm25", i) for i in range(corpus.n_docs)]).prepare()
    dense = ExactDense(np.asarray(corpus.arrays["doc_dense"]))
    ingest_s = time.perf_counter() - start
    rows = list(range(corpus.n_queries))
    q_dense = np.asarray(corpus.arrays["query_dense"])

    def mixed(i: int) -> list[tuple[int, float]]:
        scores = hybrid.hybrid_scores(
            sparse.side(corpus.query("sparse", i)),
            dense.side(q_dense[i]),
            bm25=bm25.side(corpus.query("bm25", i)),
            candidates=hybrid.candidate_count(LIMIT),
        )
        return fusion.ranked(scores, LIMIT)

    searches = {
        "sparse": lambda i: sparse.side(corpus.query("sparse", i)).top(LIMIT),
        "bm25": lambda i: bm25.side(corpus.query("bm25", i)).top(LIMIT),
        "dense": lambda i: dense.side(q_dense[i]).top(LIMIT),
        "hybrid": mixed,
    }
    modes = {mode: _timed(search, rows) for mode, search in searches.items()}
    return {
        "ingest_s": ingest_s,
        "docs_per_s": corpus.n_docs / ingest_s,
        "modes": modes,
        "rss_before_index_mb": rss,
    }


def run_bm25s(corpus: data.Corpus, args: argparse.Namespace) -> dict[str, Any]:
    """bm25s over the corpus' texts; queries tokenized beforehand (encoding is not timed)."""
    import bm25s

    rss = _rss_mb(peak=False)
    start = time.perf_counter()
    tokens = bm25s.tokenize(corpus.texts, stopwords="en", show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    ingest_s = time.perf_counter() - start
    vocab = tokens.vocab
    queries = []
    for text in corpus.queries:
        words = bm25s.tokenize([text], stopwords="en", return_ids=False, show_progress=False)[0]
        queries.append([[w for w in words if w in vocab] or [next(iter(vocab))]])

    def search(query: list[list[str]]) -> Any:
        return retriever.retrieve(query, k=LIMIT, show_progress=False, n_threads=1)

    return {
        "ingest_s": ingest_s,
        "docs_per_s": corpus.n_docs / ingest_s,
        "modes": {"bm25": _timed(search, queries)},
        "rss_before_index_mb": rss,
    }


def worker(args: argparse.Namespace) -> None:
    """One engine on one corpus; writes its JSON to ``args.out``."""
    corpus = data.load(Path(args.corpus))
    if corpus is None:
        raise SystemExit(f"{args.corpus}: no prepared corpus")
    if args.engine in ("edge", "local"):
        out = run_index(args.engine, corpus, args)
    elif args.engine == "exact":
        out = run_exact(corpus, args)
    else:
        out = run_bm25s(corpus, args)
    out.setdefault("peak_rss_mb", _rss_mb(peak=True))
    out |= {
        "engine": args.engine,
        "corpus": corpus.name,
        "n_docs": corpus.n_docs,
        "input_mb": _input_mb(corpus),
    }
    Path(args.out).write_text(json.dumps(out, indent=1), "utf-8")


def prepare(size: str, args: argparse.Namespace) -> Path:
    """The corpus folder of ``size`` in the work folder, encoded or synthesized if missing."""
    folder = Path(args.work) / ("scifact" if size == "scifact" else f"synthetic-{size}")
    if data.load(folder) is not None:
        return folder
    if size == "scifact":
        corpus = data.encode_scifact(Path(args.scifact))
    else:
        template = data.load(prepare("scifact", args))
        assert template is not None
        corpus = data.synthesize(template, int(size), args.queries, seed=int(size))
    data.save(corpus, folder)
    print(f"{folder}: {json.dumps(data.shape(corpus))}", flush=True)
    return folder


def run_engine(engine: str, folder: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    """``engine`` on ``folder`` in a fresh process; None (and a message) if it fails."""
    out = Path(args.work) / f"result-{folder.name}-{engine}.json"
    out.unlink(missing_ok=True)
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--engine",
        engine,
        "--corpus",
        str(folder),
        "--out",
        str(out),
        "--work",
        args.work,
        "--local-queries",
        str(args.local_queries),
    ]
    try:
        subprocess.run(command, check=True, timeout=args.timeout)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"{engine} on {folder.name}: {type(exc).__name__}, skipped", flush=True)
        return None
    return json.loads(out.read_text("utf-8"))


def table(results: list[dict[str, Any]]) -> str:
    """One row per (corpus, engine): ingest, p50/p95 per mode, recall, memory."""
    head = f"{'corpus':<18}{'engine':<7}{'docs/s':>9}"
    head += "".join(f"{m + ' p50/p95 ms':>22}" for m in MODES)
    head += f"{'recall':>8}{'RSS MiB':>9}"
    lines = [head]
    for r in results:
        row = f"{r['corpus']:<18}{r['engine']:<7}{r['docs_per_s']:>9.0f}"
        for mode in MODES:
            m = r["modes"].get(mode)
            row += f"{m['p50_ms']:>13.2f}/{m['p95_ms']:<8.2f}" if m else f"{'-':>22}"
        recall = r.get("dense_recall@10")
        row += f"{recall:>8.3f}" if recall is not None else f"{'-':>8}"
        lines.append(row + f"{r['peak_rss_mb']:>9.0f}")
        if "end_to_end" in r:
            e2e = r["end_to_end"]
            p50s = ", ".join(f"{m} p50 {e2e[m]['p50_ms']:.1f} ms" for m in ("bm25", "hybrid"))
            lines.append(f"  end to end SearchIndex.search ({e2e['encoder']} encoder): {p50s}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "minicoil-bench"))
    parser.add_argument("--sizes", default="scifact,50000,500000")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument(
        "--scifact",
        default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"),
    )
    parser.add_argument("--queries", type=int, default=300, help="queries per synthetic corpus")
    parser.add_argument("--local-max-docs", type=int, default=6000)
    parser.add_argument("--local-queries", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per engine run")
    parser.add_argument("--json", help="write every result here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    Path(args.work).mkdir(parents=True, exist_ok=True)
    if args.worker:
        return worker(args)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    for size in args.sizes.split(","):
        folder = prepare(size.strip(), args)
        n_docs = len(json.loads((folder / "corpus.json").read_text("utf-8"))["doc_ids"])
        for engine in args.engines.split(","):
            if engine == "local" and n_docs > args.local_max_docs:
                continue
            result = run_engine(engine, folder, args)
            if result is not None:
                results.append(result)
                print(table([result]).splitlines()[1], flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"load_average": os.getloadavg(), "results": results}, indent=1), "utf-8"
        )


if __name__ == "__main__":
    main()
