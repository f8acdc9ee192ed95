"""Encoding speed: miniCOIL's encode_document against the bare backbone, in one run.

Prints documents/second on SciFact's corpus for
  st_truncate  sentence-transformers encode (truncates at 256 tokens: the usual dense pass)
  st_windows   sentence-transformers encode over exactly the token windows miniCOIL runs
               (the bare forward pass for the same work: nothing is truncated)
  sparse       MiniCOIL.encode_document (windows + words + heads + sparse vectors)
  sparse+dense MiniCOIL.encode_document(dense=True): both from one forward pass
and the ratios the goals are stated in. Methods are interleaved chunk by chunk so that a
background load slows all of them alike.

The heads are random over a 20,000-stem vocabulary (the shipped size) built from the corpus:
speed does not depend on the weights, only on how many words have heads.

    python benchmarks/bench_encode.py [--limit N] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from minicoil import Backbone, Heads, MiniCOIL, MiniCOILConfig, TextProcessor, Vocabulary

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "beir" / "scifact" / "corpus.jsonl"


def load_texts(path: Path, limit: int | None) -> list[str]:
    texts = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            texts.append((doc.get("title", "") + " " + doc["text"]).strip())
            if limit and len(texts) >= limit:
                break
    return texts


def build_model(backbone: Backbone, texts: list[str], vocab_size: int) -> MiniCOIL:
    processor = TextProcessor()
    counts = Counter(stem for t in texts for stem in processor.stems(t))
    vocab = Vocabulary(stems=[s for s, _ in counts.most_common(vocab_size)])
    weights = torch.randn((len(vocab) + 1, backbone.hidden_size, 4)) * 0.05
    weights[0] = 0
    config = MiniCOILConfig(hidden_size=backbone.hidden_size, vocab_size=len(vocab))
    return MiniCOIL(config, vocab, Heads(weights), processor, backbone, backbone_path=backbone.path)


def window_texts(backbone: Backbone, texts: list[str]) -> list[str]:
    """The text span of every window the backbone runs, for the bare-pass baseline."""
    tokenized = backbone.tokenize(texts)
    out = []
    for w in backbone.windows(tokenized):
        offs = tokenized[w.text].offsets
        out.append(texts[w.text][offs[w.start][0] : offs[w.end - 1][1]] if w.end > w.start else "")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    texts = load_texts(args.corpus, args.limit)
    backbone = Backbone.load()
    st: SentenceTransformer = backbone.model  # the same weights, used the plain way
    model = build_model(backbone, texts, 20_000)
    model.fit(texts)
    n_windows = len(backbone.windows(backbone.tokenize(texts)))
    totals = dict.fromkeys(["st_truncate", "st_windows", "sparse", "sparse+dense"], 0.0)
    bs = args.batch_size
    warm = texts[:64]
    st.encode(warm, batch_size=bs)
    list(model.encode_document(warm, batch_size=bs, dense=True))
    for start in range(0, len(texts), args.chunk):
        chunk = texts[start : start + args.chunk]
        windows = window_texts(backbone, chunk)
        runs = {
            "st_truncate": lambda c=chunk: st.encode(c, batch_size=bs),
            "st_windows": lambda w=windows: st.encode(w, batch_size=bs),
            "sparse": lambda c=chunk: list(model.encode_document(c, batch_size=bs)),
            "sparse+dense": lambda c=chunk: list(
                model.encode_document(c, batch_size=bs, dense=True)
            ),
        }
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            totals[name] += time.perf_counter() - t0
        done = start + len(chunk)
        print(f"  {done}/{len(texts)} docs", flush=True)

    n = len(texts)
    rate = {k: n / v for k, v in totals.items()}
    results = {
        "docs": n,
        "windows": n_windows,
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "docs_per_s": {k: round(v, 2) for k, v in rate.items()},
        "ratio_sparse_vs_bare_same_windows": round(rate["sparse"] / rate["st_windows"], 3),
        "ratio_sparse_vs_bare_truncating": round(rate["sparse"] / rate["st_truncate"], 3),
        "one_pass_speedup_vs_two_passes": round(
            (totals["st_truncate"] + totals["sparse"]) / totals["sparse+dense"], 3
        ),
        "one_pass_speedup_vs_two_passes_same_windows": round(
            (totals["st_windows"] + totals["sparse"]) / totals["sparse+dense"], 3
        ),
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
