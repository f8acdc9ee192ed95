"""Measure the sentence splitters of ``minicoil.train.sentences`` on real Wikipedia text.

Prints, for ``pysbd``, ``regex`` and ``hybrid``: speed (paragraphs/s and sentences/s, best of
``--repeat`` runs on one core) and agreement with pysbd (identical paragraphs, sentences
reproduced exactly, boundary precision/recall/F1), plus the memory per deduplication hash.
The numbers go into ``benchmarks/sentence_splitter.md`` and the ``sentences`` docstring.

    python benchmarks/bench_sentences.py                      # ~12 s on one core
    python benchmarks/bench_sentences.py --show-diffs 20      # print disagreements
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from minicoil.train.corpus import iter_paragraphs
from minicoil.train.sentences import (
    find_boundaries,
    normalize_whitespace,
    sentence_hash,
    split_hybrid,
    split_pysbd,
    split_regex,
)

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "../shared/data/wikipedia-en/wiki_AE.gz"
Splitter = Callable[[str], list[str]]


def sample_paragraphs(path: Path, count: int, every: int, min_words: int) -> list[str]:
    """Every ``every``-th prose paragraph (>= ``min_words`` words; headings excluded)."""
    sample: list[str] = []
    prose = 0
    for paragraph in iter_paragraphs(path, "wikiextractor"):
        if len(paragraph.split()) < min_words:
            continue
        if prose % every == 0:
            sample.append(normalize_whitespace(paragraph))
            if len(sample) == count:
                break
        prose += 1
    return sample


def timed(splitter: Splitter, paragraphs: Sequence[str], repeat: int) -> tuple[list, float]:
    """Output of ``splitter`` on every paragraph and the best wall time of ``repeat`` runs."""
    best = float("inf")
    output: list[list[str]] = []
    for _ in range(repeat):
        start = time.perf_counter()
        output = [splitter(p) for p in paragraphs]
        best = min(best, time.perf_counter() - start)
    return output, best


def boundaries(text: str, sentences: list[str]) -> set[int]:
    """Character offsets in ``text`` where a sentence after the first one starts."""
    cuts, position = set(), 0
    for i, sentence in enumerate(sentences):
        found = text.find(sentence, position)
        if found < 0:  # a splitter changed the text; skip rather than guess
            continue
        if i:
            cuts.add(found)
        position = found + len(sentence)
    return cuts


def agreement(texts: Sequence[str], ours: list[list[str]], ref: list[list[str]]) -> dict:
    """Paragraph, sentence and boundary agreement of ``ours`` with the reference ``ref``."""
    same = sum(o == r for o, r in zip(ours, ref, strict=True))
    reproduced = sum(
        sum((Counter(o) & Counter(r)).values()) for o, r in zip(ours, ref, strict=True)
    )
    tp = fp = fn = 0
    for text, o, r in zip(texts, ours, ref, strict=True):
        bo, br = boundaries(text, o), boundaries(text, r)
        tp, fp, fn = tp + len(bo & br), fp + len(bo - br), fn + len(br - bo)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {
        "identical": same / len(texts),
        "sentences": reproduced / sum(len(r) for r in ref),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall),
    }


def inside_quotes(text: str, offset: int) -> bool:
    """Whether ``offset`` lies between an odd and an even straight/curly double quote."""
    before = text[:offset]
    return (before.count('"') + before.count("\u201c") + before.count("\u201d")) % 2 == 1


def explain(texts: Sequence[str], ours: list[list[str]], ref: list[list[str]]) -> dict:
    """Count the two dominant kinds of disagreement with pysbd.

    ``extra_in_quotes``: our extra boundaries inside quotation marks (pysbd never splits a
    quotation). ``missed_lower``: pysbd boundaries before a lower-case word (usually text that
    WikiExtractor removed, e.g. "... website. gigs and"), where we deliberately go on.
    """
    extra = extra_in_quotes = missed = missed_lower = 0
    for text, o, r in zip(texts, ours, ref, strict=True):
        bo, br = boundaries(text, o), boundaries(text, r)
        extra += len(bo - br)
        extra_in_quotes += sum(inside_quotes(text, b) for b in bo - br)
        missed += len(br - bo)
        missed_lower += sum(text[b : b + 1].islower() for b in br - bo)
    return {
        "extra": extra,
        "extra_in_quotes": extra_in_quotes,
        "missed": missed,
        "missed_lower": missed_lower,
    }


def hash_bytes_per_item(n: int = 1_000_000) -> float:
    """Traced memory of a set of ``n`` sentence hashes, per hash."""
    tracemalloc.start()
    seen = {sentence_hash(f"sentence number {i}") for i in range(n)}
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(seen) == n
    return current / n


def show_diffs(texts: Sequence[str], ours: list, ref: list, limit: int) -> None:
    shown = 0
    for text, o, r in zip(texts, ours, ref, strict=True):
        if o != r and shown < limit:
            shown += 1
            print(f"\n--- {text[:300]}")
            print("  regex only:", [s[-40:] for s in o if s not in r])
            print("  pysbd only:", [s[-40:] for s in r if s not in o])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--min-words", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--show-diffs", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.file.exists():
        print(f"{args.file} not found (needs ../shared/data)", file=sys.stderr)
        return 1

    texts = sample_paragraphs(args.file, args.count, args.every, args.min_words)
    print(
        f"{len(texts)} paragraphs from {args.file.name} "
        f"(every {args.every}th paragraph of >= {args.min_words} words)"
    )
    ref, ref_time = timed(split_pysbd, texts, 1)
    results = {"pysbd": (ref, ref_time)}
    for name, splitter in (("regex", split_regex), ("hybrid", split_hybrid)):
        results[name] = timed(splitter, texts, args.repeat)

    print(
        f"{'splitter':8} {'para/s':>9} {'sent/s':>9} {'identical':>9} {'sentences':>9} "
        f"{'prec':>6} {'recall':>6} {'F1':>6}"
    )
    for name, (output, seconds) in results.items():
        n_sentences = sum(len(s) for s in output)
        a = agreement(texts, output, ref)
        print(
            f"{name:8} {len(texts) / seconds:9.0f} {n_sentences / seconds:9.0f} "
            f"{a['identical']:9.2%} {a['sentences']:9.2%} "
            f"{a['precision']:6.2%} {a['recall']:6.2%} {a['f1']:6.2%}"
        )
    print(f"pysbd sentences: {sum(len(s) for s in ref)}")
    for name in ("regex", "hybrid"):
        e = explain(texts, results[name][0], ref)
        print(
            f"{name}: {e['extra']} extra boundaries ({e['extra_in_quotes']} inside quotation "
            f"marks), {e['missed']} missed ({e['missed_lower']} before a lower-case word)"
        )
    guessed = sum(find_boundaries(t)[1] for t in texts)
    print(f"hybrid: {guessed} paragraphs ({guessed / len(texts):.1%}) have a guessed period")
    print(f"dedup memory: {hash_bytes_per_item():.0f} bytes per kept sentence")
    if args.show_diffs:
        show_diffs(texts, results["regex"][0], ref, args.show_diffs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
