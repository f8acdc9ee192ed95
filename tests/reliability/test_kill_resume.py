"""Faults: ``minicoil train`` and ``minicoil index`` SIGKILLed at seeded random points, then
rerun, must end exactly where an uninterrupted run ends.

Each test runs the real command in child processes: one uninterrupted reference run (which
also measures how long the work itself takes, without the interpreter's start-up), then
repeated runs that are killed a random delay after they start working (seeded, so a failure
replays with the same delays on the same machine speed), then one run to completion. Between
kills the outputs must never be partial: no model folder, or a complete one; a collection
(Qdrant Edge shard) that opens and holds only corpus documents.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from minicoil import Backbone, MiniCOIL
from minicoil.search.qdrant import SearchIndex, point_id
from tests.conftest import random_model
from tests.reliability.helpers import (
    QUERIES,
    args_of,
    cli_command,
    cli_env,
    random_documents,
    temporaries,
)
from tests.train.test_pipeline import write_corpus

pytestmark = pytest.mark.faults

POLL_S = 0.01


@dataclass
class Killed:
    """What the kill loop did: the delays used and how many kills hit a working process."""

    delays: list[float] = field(default_factory=list)
    interrupted: int = 0
    finished_before_kill: bool = False


def _latest_write_ns(folders: list[Path]) -> int:
    """The newest modification time of any file below ``folders`` (0 if none)."""
    latest = 0
    for folder in folders:
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            try:
                if path.is_file():
                    latest = max(latest, path.stat().st_mtime_ns)
            except OSError:  # a temporary renamed away while we looked
                continue
    return latest


def _touched_since(folders: list[Path], since_ns: int) -> bool:
    return _latest_write_ns(folders) >= since_ns


def run_to_end(command: list[str], log: Path, timeout: float = 120) -> None:
    with log.open("w") as out:
        proc = subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, env=cli_env(), timeout=timeout
        )
    assert proc.returncode == 0, log.read_text()


def watched_run(command: list[str], watch: list[Path], log: Path, timeout: float = 120) -> float:
    """Run ``command`` to completion; returns how long it worked: from its first write under
    ``watch`` (seen by polling) to its last one (the newest file time there), the window the
    kills are spread over. Start-up and interpreter exit are not part of it."""
    started_ns = time.time_ns()
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=cli_env())
        working_at_ns = None
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if working_at_ns is None and _touched_since(watch, started_ns):
                working_at_ns = time.time_ns()
            assert time.monotonic() < deadline, "reference run timed out"
            time.sleep(POLL_S)
    assert proc.returncode == 0, log.read_text()
    assert working_at_ns is not None, "the reference run wrote nothing where it was watched"
    return max(0.05, (_latest_write_ns(watch) - working_at_ns) / 1e9)


def kill_repeatedly(
    command: list[str],
    watch: list[Path],
    work_s: float,
    seed: int,
    log: Path,
    after_kill: Callable[[], None],
    kills: int,
    timeout: float = 120,
    spread: tuple[float, float] = (0.1, 0.5),
) -> Killed:
    """Start ``command`` up to ``kills`` times; each time wait until it writes under
    ``watch`` (it is past its imports and working), sleep a seeded random share of the
    reference's working time, SIGKILL it and call ``after_kill``. Stops early if a run
    finishes before its kill."""
    rng = random.Random(seed)
    killed = Killed()
    for attempt in range(kills):
        delay = work_s * rng.uniform(*spread)
        killed.delays.append(round(delay, 3))
        started_ns = time.time_ns()
        with log.open("a") as out:
            out.write(f"--- attempt {attempt}, kill {delay:.3f} s after work starts\n")
            out.flush()
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=cli_env())
            deadline = time.monotonic() + timeout
            while proc.poll() is None and not _touched_since(watch, started_ns):
                assert time.monotonic() < deadline, "a run never started working"
                time.sleep(POLL_S)
            time.sleep(delay)
            if proc.poll() is not None:
                assert proc.returncode == 0, log.read_text()
                killed.finished_before_kill = True
                return killed
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        if proc.returncode == -signal.SIGKILL:
            killed.interrupted += 1
            after_kill()
        else:  # it finished in the instant before the signal
            assert proc.returncode == 0, log.read_text()
            killed.finished_before_kill = True
            return killed
    return killed


# ------------------------------------------------------------------------------ training


def train_command(corpus: Path, backbone: Path, out: Path, work: Path) -> list[str]:
    """A tiny run whose encode (7 chunks) and fit (4 chunks) steps each resume per chunk."""
    return cli_command(
        *args_of(
            ["train", corpus, "--out", out, "--work", work, "--backbone", backbone],
            ["--vocab-size", "16", "--min-count", "3", "--per-word", "64", "--max-steps", "200"],
            ["--encode-chunk", "64", "--words-per-chunk", "4", "--precision", "float32"],
            ["--quiet"],
        )
    )


def test_train_killed_at_random_points_resumes_to_the_same_model(
    wordpiece_dir: Path, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path, n_docs=150)
    ref_work = watched_run(
        train_command(corpus, wordpiece_dir, tmp_path / "ref", tmp_path / "ref-work"),
        [tmp_path / "ref-work" / "encoded", tmp_path / "ref-work" / "fit"],
        tmp_path / "ref.log",
    )
    want = load_file(str(tmp_path / "ref" / "heads.safetensors"))["heads"]
    assert np.abs(want).sum() > 0  # trained heads, not a comparison of zeros

    out, work = tmp_path / "models" / "m", tmp_path / "work"
    command = train_command(corpus, wordpiece_dir, out, work)

    progress: list[str] = []  # where each kill landed, for the record

    def no_partial_model() -> None:
        if out.exists():  # only ever complete: it must load
            MiniCOIL.from_pretrained(out)
        state = work / "encoded" / "state.json"
        record = json.loads(state.read_text()) if state.exists() else {}
        encoded = record.get("result", {}).get("chunks_done", 0)  # a StepRecord's progress
        fitted = len(list((work / "fit").glob("chunk-*.npz")))
        progress.append(f"encode {encoded}/7 fit {fitted}/4 model {out.exists()}")

    killed = kill_repeatedly(
        command,
        [work / "encoded", work / "fit"],
        ref_work,
        seed=4,
        log=tmp_path / "killed.log",
        after_kill=no_partial_model,
        kills=4,
    )
    assert killed.interrupted >= 1, killed
    run_to_end(command, tmp_path / "final.log")

    got = load_file(str(out / "heads.safetensors"))["heads"]
    np.testing.assert_array_equal(got, want)
    assert (out / "vocab.json").read_bytes() == (tmp_path / "ref" / "vocab.json").read_bytes()
    assert temporaries(tmp_path / "models") == [] and temporaries(work) == []
    print(f"train: work {ref_work:.2f} s, {killed}, after kills {progress}")  # pytest -s


# ------------------------------------------------------------------------------ indexing


def write_documents(path: Path, n_docs: int, seed: int = 0) -> dict[str, str]:
    """A BEIR corpus.jsonl of :func:`random_documents`."""
    docs = random_documents(n_docs, seed)
    with path.open("w", encoding="utf-8") as handle:
        for doc_id, text in docs.items():
            handle.write(json.dumps({"_id": doc_id, "title": "", "text": text}) + "\n")
    return docs


def index_command(corpus: Path, model: Path, storage: Path) -> list[str]:
    return cli_command(
        *args_of(
            ["index", "--data", corpus, "--collection", "c", "--model", model],
            ["--path", storage, "--batch-size", "8", "--quiet"],
        )
    )


def stored_doc_ids(storage: Path) -> list[str]:
    """Every point's document id (checking its id is the stable uuid5 of it)."""
    from minicoil.search.edge import EdgeEngine

    engine = EdgeEngine(storage, "c")  # the killed process' lock went with it
    try:
        points = list(engine.points())
    finally:
        engine.close()
    ids = [p.payload["doc_id"] for p in points]
    assert all(p.id == point_id(d) for p, d in zip(points, ids, strict=True))
    return ids


def test_index_killed_at_random_points_ends_with_exactly_the_corpus(
    wordpiece_backbone: Backbone, tmp_path: Path
) -> None:
    docs = write_documents(tmp_path / "corpus.jsonl", n_docs=400)  # two upsert batches
    model_dir = tmp_path / "model"
    random_model(wordpiece_backbone).save_pretrained(model_dir)
    ref = tmp_path / "ref"
    ref_work = watched_run(
        index_command(tmp_path / "corpus.jsonl", model_dir, ref),
        [ref / "c"],
        tmp_path / "ref.log",
    )
    storage = tmp_path / "storage"
    command = index_command(tmp_path / "corpus.jsonl", model_dir, storage)
    partial_counts: list[int] = []

    def only_corpus_documents() -> None:
        if not (storage / "c" / "shard").exists():
            return
        ids = stored_doc_ids(storage)  # the killed storage opens
        assert set(ids) <= set(docs) and len(ids) == len(set(ids))
        partial_counts.append(len(ids))

    killed = kill_repeatedly(
        command,
        [storage / "c"],
        ref_work,
        seed=7,
        log=tmp_path / "killed.log",
        after_kill=only_corpus_documents,
        kills=3,
        spread=(0.3, 0.95),  # the first half is mostly fitting and encoding the first chunk
    )
    assert killed.interrupted >= 1, killed
    run_to_end(command, tmp_path / "final.log")

    ids = stored_doc_ids(storage)
    assert Counter(ids) == Counter(list(docs))  # every document exactly once
    model = MiniCOIL.from_pretrained(model_dir)
    with SearchIndex(model, "c", path=ref) as a, SearchIndex(model, "c", path=storage) as b:
        assert a.metadata() == b.metadata()  # same avg_len, n_docs and model fingerprint
        for query in QUERIES:
            for mode, fusion in [("sparse", "rrf"), ("bm25", "rrf"), ("dense", "rrf")] + [
                ("hybrid", f) for f in ("rrf", "dbsf", "weighted")
            ]:
                want = a.search(query, mode=mode, fusion=fusion, limit=len(docs))  # type: ignore[arg-type]
                got = b.search(query, mode=mode, fusion=fusion, limit=len(docs))  # type: ignore[arg-type]
                # Equal up to ties: every document has the same score (within tol) and the
                # rankings differ only where scores are that close. RRF ranks each side, and
                # documents tied on a side get their ranks in the engine's storage order, so
                # tied pairs may swap fused scores (by 1/(61+r) - 1/(62+r) < 3e-4). Other modes:
                # Edge sums in float32 in segment order, and a resumed index encodes other
                # batches (other padding), so scores move by ~1e-7 and near-ties may swap.
                tol = 3e-4 if fusion == "rrf" and mode == "hybrid" else 1e-6
                got_s, want_s = ({h.doc_id: h.score for h in r} for r in (got, want))
                assert got_s.keys() == want_s.keys(), (query, mode, fusion)
                ids = sorted(want_s)
                np.testing.assert_allclose(
                    [got_s[i] for i in ids], [want_s[i] for i in ids], rtol=1e-6, atol=tol
                )
                for g, w in zip(got, want, strict=True):
                    assert g.doc_id == w.doc_id or abs(want_s[g.doc_id] - w.score) <= 2 * tol, (
                        query,
                        mode,
                        fusion,
                    )
    print(f"index: work {ref_work:.2f} s, {killed}, points after kills {partial_counts}")
