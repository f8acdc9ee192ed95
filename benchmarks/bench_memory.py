"""Memory under a large stream: peak RSS while ``MiniCOIL.encode_document`` encodes a corpus
that is generated on the fly and never held in memory.

The claim under test: encoding is a lazy generator, so memory stays flat however much text
flows through it; only the model and one chunk of documents (``chunk_size`` texts) are alive
at a time. A leak (results kept, caches growing, heap fragmentation) shows as RSS rising with
the bytes processed, which the time series printed here makes visible.

The corpus is synthetic and seeded: documents of 20 to 600 words (long ones span several
backbone windows) drawn from a Zipf distribution over real English words and generated
pseudo-words, with sentence punctuation. ``avg_len`` is fitted on the first 2,000 documents
(a full ``fit`` pass over 1 GB would only measure the stemmer). Heads are random over the
most frequent stems: speed and memory do not depend on their values.

    python benchmarks/bench_memory.py --backbone tiny --size 1G --batch-size 128  # random BERT
    python benchmarks/bench_memory.py --backbone default --size 50M               # MiniLM-L6

``--size`` takes K, M or G (powers of 1000). RSS is read from /proc/self/status (VmRSS, and
VmHWM for the peak; ru_maxrss where /proc is missing).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from minicoil import Backbone, Heads, MiniCOIL, MiniCOILConfig, TextProcessor, Vocabulary

ROOT = Path(__file__).resolve().parents[1]

ENGLISH = (  # frequent words (the Zipf head), stopwords included
    "the of and a in to is was for on as with by he at from his an were are which this be "
    "or has had not but also it its first one their new after who they have her she two been "
    "other when there all during into school time may years more most only over city some "
    "world would where later up such used many can state about national out known university "
    "united then made bank river money bat cave database run please water light music game "
    "system power house team film church party line war family book group music field market"
)
SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def parse_size(text: str) -> int:
    """``"1G"`` -> 10**9 bytes (decimal units, like disk sizes)."""
    units = {"K": 10**3, "M": 10**6, "G": 10**9}
    text = text.strip().upper().removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


@functools.lru_cache(maxsize=4)
def make_words(n_words: int, seed: int) -> list[str]:
    """English words first (frequent under Zipf), then pronounceable pseudo-words of two to
    four syllables (split into several word pieces by any tokenizer)."""
    rng = np.random.default_rng(seed)
    words = list(dict.fromkeys(ENGLISH.split()))
    seen = set(words)
    while len(words) < n_words:
        word = "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def documents(total_bytes: int, seed: int = 0, n_words: int = 50_000) -> Iterator[str]:
    """Seeded synthetic documents until ``total_bytes`` of UTF-8 text have been yielded; each
    one is built when asked for and forgotten by this generator right after."""
    rng = np.random.default_rng(seed)
    words = np.array(make_words(n_words, seed))
    weights = 1.0 / np.arange(1, n_words + 1)
    cumulative = np.cumsum(weights / weights.sum())
    produced = 0
    while produced < total_bytes:
        n = int(rng.integers(20, 601))
        picked = words[np.minimum(np.searchsorted(cumulative, rng.random(n)), n_words - 1)]
        stops = rng.random(n) < 1 / 12  # a sentence ends after ~12 words
        text = " ".join(w + ("." if stop else "") for w, stop in zip(picked, stops, strict=True))
        text = text[0].upper() + text[1:]
        produced += len(text.encode("utf-8"))
        yield text


def memory_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB."""
    status = Path("/proc/self/status")
    if status.exists():
        fields = {}
        for line in status.read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        if len(fields) == 2:
            return fields["VmRSS"], fields["VmHWM"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak, peak


def load_backbone(name: str, workdir: Path) -> Backbone:
    if name == "tiny":
        sys.path.insert(0, str(ROOT))
        from tests.backbones import build_backbone  # a random 2-layer BERT, built in seconds

        folder = build_backbone("wordpiece", workdir / "tiny", max_len=256)
        return Backbone.load(folder, window_overlap=32)
    if name == "default":
        return Backbone.load()
    return Backbone.load(name)


def build_model(backbone: Backbone, sample: list[str], vocab_size: int, seed: int) -> MiniCOIL:
    """Random heads over the ``vocab_size`` most frequent stems of ``sample``."""
    processor = TextProcessor()
    counts: dict[str, int] = {}
    for text in sample:
        for stem in processor.stems(text):
            counts[stem] = counts.get(stem, 0) + 1
    stems = [s for s, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:vocab_size]
    vocab = Vocabulary(stems=stems)
    gen = torch.Generator().manual_seed(seed)
    weights = torch.randn((len(vocab) + 1, backbone.hidden_size, 4), generator=gen) * 0.05
    weights[0] = 0
    config = MiniCOILConfig(
        hidden_size=backbone.hidden_size,
        vocab_size=len(vocab),
        backbone=str(backbone.path),
        window_overlap=backbone.window_overlap,
    )
    return MiniCOIL(config, vocab, Heads(weights), processor, backbone, backbone_path=backbone.path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1G", help="text to stream: 5M, 1G, ... (default 1G)")
    parser.add_argument(
        "--backbone", default="tiny", help="tiny (random, fast), default (MiniLM) or a folder"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=None, help="texts per encode chunk")
    parser.add_argument("--vocab-size", type=int, default=20_000)
    parser.add_argument("--dense", action="store_true", help="also produce dense vectors")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--json", type=Path, default=None, help="also write the series here")
    args = parser.parse_args()

    total = parse_size(args.size)
    if args.threads:
        torch.set_num_threads(args.threads)
    start_rss, _ = memory_mb()
    with tempfile.TemporaryDirectory() as tmp:
        backbone = load_backbone(args.backbone, Path(tmp))
        sample = list(itertools.islice(documents(10**12, seed=args.seed + 1), 2000))
        model = build_model(backbone, sample, args.vocab_size, args.seed)
        avg_len = model.fit(sample).avg_len
        del sample
        loaded_rss, _ = memory_mb()
        print(
            f"backbone {args.backbone} ({backbone.hidden_size} hidden), {len(model.vocab):,} "
            f"heads, avg_len {avg_len:.1f}; streaming {total / 1e6:,.1f} MB of text; "
            f"RSS {start_rss:.0f} MB at start, {loaded_rss:.0f} MB with the model loaded",
            flush=True,
        )
        series: list[dict[str, float]] = []
        stream = _counting(documents(total, seed=args.seed))
        encoded = model.encode_document(
            stream.texts(),
            batch_size=args.batch_size,
            avg_len=avg_len,
            dense=args.dense,
            chunk_size=args.chunk_size,
        )
        t0 = time.perf_counter()
        next_report = args.every
        nnz = 0
        docs = 0
        for item in encoded:
            sparse = item[0] if isinstance(item, tuple) else item
            nnz += len(sparse)  # consume the result, then drop it
            docs += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= next_report:
                series.append(_sample(elapsed, docs, stream.bytes))
                _print(series[-1])
                next_report = elapsed + args.every
        series.append(_sample(time.perf_counter() - t0, docs, stream.bytes))
        _print(series[-1])

    elapsed = series[-1]["seconds"]
    half = [s for s in series if s["seconds"] >= elapsed / 2]
    summary: dict[str, Any] = {
        "backbone": args.backbone,
        "text_mb": round(stream.bytes / 1e6, 1),
        "documents": docs,
        "nonzeros": nnz,
        "seconds": round(elapsed, 1),
        "docs_per_second": round(docs / elapsed, 1) if elapsed else None,
        "mb_per_second": round(stream.bytes / 1e6 / elapsed, 3) if elapsed else None,
        "rss_start_mb": round(start_rss, 1),
        "rss_model_loaded_mb": round(loaded_rss, 1),
        "rss_peak_mb": round(max(s["peak_mb"] for s in series), 1),
        "rss_growth_second_half_mb": round(half[-1]["rss_mb"] - half[0]["rss_mb"], 1),
        "settings": {
            "batch_size": args.batch_size,
            "chunk_size": args.chunk_size,
            "dense": args.dense,
            "vocab_size": len(model.vocab),
            "seed": args.seed,
        },
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        "series": series,
    }
    print(
        f"done: {summary['text_mb']:,} MB, {docs:,} docs in {elapsed:,.0f} s "
        f"({summary['docs_per_second']} docs/s); peak RSS {summary['rss_peak_mb']:,} MB "
        f"(model loaded: {summary['rss_model_loaded_mb']:,} MB); RSS change over the second "
        f"half: {summary['rss_growth_second_half_mb']:+} MB"
    )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", "utf-8")


class _counting:
    """Wraps the document stream to count the bytes actually handed to the encoder."""

    def __init__(self, docs: Iterator[str]):
        self._docs = docs
        self.bytes = 0

    def texts(self) -> Iterator[str]:
        for text in self._docs:
            self.bytes += len(text.encode("utf-8"))
            yield text


def _sample(seconds: float, docs: int, text_bytes: int) -> dict[str, float]:
    rss, peak = memory_mb()
    return {
        "seconds": round(seconds, 1),
        "documents": docs,
        "text_mb": round(text_bytes / 1e6, 2),
        "rss_mb": round(rss, 1),
        "peak_mb": round(peak, 1),
    }


def _print(row: dict[str, float]) -> None:
    print(
        f"t={row['seconds']:>8.1f}s  docs={row['documents']:>10,}  text={row['text_mb']:>9,.1f} MB"
        f"  rss={row['rss_mb']:>7,.0f} MB  peak={row['peak_mb']:>7,.0f} MB",
        flush=True,
    )


if __name__ == "__main__":
    main()
