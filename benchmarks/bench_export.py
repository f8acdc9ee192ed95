"""Export and speed: torch vs onnxruntime fp32 vs onnxruntime int8, measured side by side.

One run on SciFact prints and writes (``--json``):

  sizes       backbone graph + heads bytes of the fp32 model and of the int8 variants
  throughput  documents/second on the first ``--limit`` corpus documents, methods interleaved
              chunk by chunk (a background load slows all alike): torch / onnx / onnx-int8
              sparse only; torch and onnx sparse+dense in one pass; two passes (sparse, then
              sentence-transformers' truncating dense encode)
  quality     NDCG@10 / Recall@100 on the test split per variant (``--quality``), through the
              same code as ``minicoil benchmark``
  latency     query encode p50/p95 per backend; encode+search p50/p95 in the embedded Qdrant
              default for each search mode (``--latency``)

    python benchmarks/bench_export.py --model models/minicoil-en \\
        --data ../shared/data/beir/scifact --quality --latency \\
        --json benchmarks/results-export-scifact.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from minicoil import MiniCOIL
from minicoil.backbone import DEFAULT_ONNX_FILE, QUANTIZED_ONNX_FILE, onnx_path
from minicoil.config import HEADS_FILE
from minicoil.eval.beir import indexable_text, load_beir
from minicoil.eval.benchmark import run_benchmark
from minicoil.export import export_onnx, quantize_backbone
from minicoil.io import display_path
from minicoil.search import SearchIndex

ROOT = Path(__file__).resolve().parents[1]
PER_TENSOR_FILE = "model_qint8_per_tensor.onnx"
MATMUL_ONLY_FILE = "model_qint8_matmul_only.onnx"

# name -> (folder key, backend, onnx file); each folder key names its heads' storage dtype
VARIANTS: dict[str, tuple[str, str, str | None]] = {
    "torch fp32": ("fp32", "torch", None),
    "onnx fp32": ("fp32", "onnx", None),
    "torch, fp16 heads": ("fp16", "torch", None),
    "torch, int8 heads": ("int8", "torch", None),
    "onnx int8 per-channel + int8 heads": ("int8", "onnx", QUANTIZED_ONNX_FILE),
    "onnx int8 per-tensor + int8 heads": ("int8", "onnx", PER_TENSOR_FILE),
    "onnx int8 per-channel MatMul only + int8 heads": ("int8", "onnx", MATMUL_ONLY_FILE),
}
# "onnx fp32" is left out of the quality runs: tests pin it to torch within 1e-4 per value.
QUALITY_VARIANTS = [name for name in VARIANTS if name != "onnx fp32"]


def build_folders(model: MiniCOIL, work: Path) -> dict[str, Path]:
    """fp32 heads + fp32 graph; fp16 heads; int8 heads + the int8 graphs (per-channel, the
    export default; per-tensor; per-channel with the embedding tables left fp32).

    The model's heads are taken as they are in memory: train and combine with fp32 heads for
    the fp32 row to be the true reference (a model stored in fp16 makes it equal fp16).
    """
    folders = {"fp32": work / "fp32", "fp16": work / "fp16", "int8": work / "int8"}
    export_onnx(model, folders["fp32"], quantize=False, heads_dtype="float32")
    model.save_pretrained(folders["fp16"], heads_dtype="float16")
    export_onnx(model, folders["int8"], quantize=True, per_channel=True, heads_dtype="int8")
    graphs = folders["int8"] / "backbone"
    quantize_backbone(onnx_path(graphs), onnx_path(graphs, PER_TENSOR_FILE), per_channel=False)
    quantize_backbone(onnx_path(graphs), onnx_path(graphs, MATMUL_ONLY_FILE), embeddings=False)
    return folders


def load(folders: dict[str, Path], name: str) -> MiniCOIL:
    key, backend, file_name = VARIANTS[name]
    return MiniCOIL.from_pretrained(folders[key], backend=backend, file_name=file_name)  # type: ignore[arg-type]


def sizes(folders: dict[str, Path]) -> dict[str, dict[str, float]]:
    mib = 2**20

    def size(path: Path) -> float:
        return round(path.stat().st_size / mib, 2)

    fp32, int8 = folders["fp32"], folders["int8"]
    rows = {
        "fp32": (onnx_path(fp32 / "backbone", DEFAULT_ONNX_FILE), fp32 / HEADS_FILE),
        "int8 per-channel": (onnx_path(int8 / "backbone", QUANTIZED_ONNX_FILE), int8 / HEADS_FILE),
        "int8 per-tensor": (onnx_path(int8 / "backbone", PER_TENSOR_FILE), int8 / HEADS_FILE),
        "int8 per-channel, MatMul only": (
            onnx_path(int8 / "backbone", MATMUL_ONLY_FILE),
            int8 / HEADS_FILE,
        ),
    }
    out = {}
    for name, (graph, heads) in rows.items():
        out[name] = {"backbone_mib": size(graph), "heads_mib": size(heads)}
        out[name]["total_mib"] = round(out[name]["backbone_mib"] + out[name]["heads_mib"], 2)
    base = out["fp32"]["total_mib"]
    for row in out.values():
        row["fraction_of_fp32"] = round(row["total_mib"] / base, 3)
    return out


def throughput(
    folders: dict[str, Path], texts: list[str], batch_size: int, chunk: int
) -> dict[str, float]:
    torch_model = load(folders, "torch fp32")
    onnx_model = load(folders, "onnx fp32")
    int8_model = load(folders, "onnx int8 per-channel + int8 heads")
    avg_len = torch_model.fit(texts).avg_len
    st = torch_model.backbone.model  # the same weights, used the plain sentence-transformers way

    def sparse(m: MiniCOIL) -> Callable[[list[str]], Any]:
        return lambda c: list(m.encode_document(c, batch_size=batch_size, avg_len=avg_len))

    def one_pass(m: MiniCOIL) -> Callable[[list[str]], Any]:
        return lambda c: list(
            m.encode_document(c, batch_size=batch_size, avg_len=avg_len, dense=True)
        )

    def two_passes(c: list[str]) -> None:
        sparse(torch_model)(c)
        st.encode(c, batch_size=batch_size)

    methods: dict[str, Callable[[list[str]], Any]] = {
        "torch sparse": sparse(torch_model),
        "onnx fp32 sparse": sparse(onnx_model),
        "onnx int8 sparse": sparse(int8_model),
        "torch sparse+dense one pass": one_pass(torch_model),
        "onnx fp32 sparse+dense one pass": one_pass(onnx_model),
        "onnx int8 sparse+dense one pass": one_pass(int8_model),
        "torch sparse, then dense (two passes)": two_passes,
    }
    for fn in methods.values():  # warm-up: first calls load weights and allocate
        fn(texts[:16])
    totals = dict.fromkeys(methods, 0.0)
    for start in range(0, len(texts), chunk):
        part = texts[start : start + chunk]
        for name, fn in methods.items():
            t0 = time.perf_counter()
            fn(part)
            totals[name] += time.perf_counter() - t0
        print(f"  throughput: {start + len(part)}/{len(texts)} docs", flush=True)
    return {name: round(len(texts) / seconds, 2) for name, seconds in totals.items()}


def quality(
    folders: dict[str, Path], data: Path, work: Path, names: list[str]
) -> dict[str, dict[str, float]]:
    out = {}
    for name in names:
        model = load(folders, name)
        result = run_benchmark(
            data,
            model,
            output=work / f"{name.replace(' ', '_').replace(',', '')}.json",
            plot=False,
            progress=False,
            model_label=name,
        )
        out[name] = {
            system: {m: round(v, 4) for m, v in metrics.items() if m in ("ndcg@10", "recall@100")}
            for system, metrics in result["systems"].items()
            if system in ("minicoil", "hybrid")
        }
        print(f"  quality: {name}: {out[name]}", flush=True)
    return out


def _percentiles(seconds: list[float]) -> dict[str, float]:
    p50, p95 = np.percentile(np.asarray(seconds) * 1000, [50, 95])
    return {"p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2)}


# what ``--latency`` times: each single vector, the default hybrid, and RRF in one request
SEARCH_MODES: dict[str, dict[str, Any]] = {
    "bm25": {"mode": "bm25"},
    "sparse": {"mode": "sparse"},
    "dense": {"mode": "dense"},
    "hybrid": {"mode": "hybrid"},  # the default: weighted, floor 0.75 (three vectors)
    "hybrid rrf": {"mode": "hybrid", "fusion": "rrf"},
    "hybrid weighted floor 0": {"mode": "hybrid", "floor": 0.0},
}


def latency(folders: dict[str, Path], data: Path, work: Path) -> dict[str, Any]:
    dataset = load_beir(data, "test")
    queries = list(dataset.queries.values())
    encode = {}
    for name in ("torch fp32", "onnx fp32", "onnx int8 per-channel + int8 heads"):
        model = load(folders, name)
        next(model.encode_query(queries[0]))
        times = []
        for q in queries:
            t0 = time.perf_counter()
            next(model.encode_query(q))
            times.append(time.perf_counter() - t0)
        encode[name] = _percentiles(times)
    docs = [(doc_id, indexable_text(doc)) for doc_id, doc in dataset.corpus.items()]
    search: dict[str, Any] = {}
    for name in ("torch fp32",):  # torch backbone, embedded engine (Qdrant Edge)
        model = load(folders, name)
        with SearchIndex(model, "scifact", path=work / f"qdrant-{VARIANTS[name][0]}") as index:
            index.index(docs, recreate=True, progress=False)
            search[name] = {}
            for label, settings in SEARCH_MODES.items():
                kwargs = dict(settings)
                index.search(queries[0], limit=10, **kwargs)
                times = []
                for q in queries:
                    t0 = time.perf_counter()
                    index.search(q, limit=10, **kwargs)
                    times.append(time.perf_counter() - t0)
                search[name][label] = _percentiles(times)
        print(f"  latency: {name}: {search[name]}", flush=True)
    return {"queries": len(queries), "encode_query": encode, "encode_and_search": search}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "src/minicoil/models/minicoil-en")
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data" / "beir" / "scifact"
    )
    parser.add_argument("--limit", type=int, default=1000, help="documents for throughput")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=250)
    parser.add_argument("--quality", action="store_true", help="NDCG@10 of every variant")
    parser.add_argument(
        "--variant",
        action="append",
        choices=QUALITY_VARIANTS,
        help="--quality for these variants only (repeatable; default all)",
    )
    parser.add_argument("--latency", action="store_true", help="query latency, Qdrant local")
    parser.add_argument(
        "--no-throughput", action="store_true", help="skip the throughput run (sizes only)"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    model = MiniCOIL.from_pretrained(args.model)
    dataset = load_beir(args.data, "test")
    texts = [indexable_text(doc) for doc in dataset.corpus.values()][: args.limit]
    with tempfile.TemporaryDirectory(prefix="minicoil-bench-export-") as tmp:
        work = Path(tmp)
        folders = build_folders(model, work)
        results: dict[str, Any] = {
            "model": display_path(args.model, up=1),
            "data": display_path(args.data, up=1),
            "machine": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "sizes": sizes(folders),
        }
        print(json.dumps(results["sizes"], indent=2), flush=True)
        if not args.no_throughput:
            speed = throughput(folders, texts, args.batch_size, args.chunk)
            results["throughput_docs_per_s"] = speed
            results["throughput_docs"] = len(texts)
            print(json.dumps(speed, indent=2), flush=True)
        if args.quality:
            names = args.variant or QUALITY_VARIANTS
            results["quality"] = quality(folders, args.data, work, names)
        if args.latency:
            results["latency"] = latency(folders, args.data, work)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
