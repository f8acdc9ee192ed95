"""``minicoil train``: every training step in order, in one work folder, resumable.

Each step writes its output atomically with a done marker (or per-chunk state), so rerunning
the same command after a kill continues where it stopped and never redoes finished work. Step
wall times accumulate in ``timings.json`` across resumes, so the model card reports the true
total cost.
"""

from __future__ import annotations

import platform
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from minicoil.backbone import DEFAULT_BACKBONE, Backbone
from minicoil.io import read_state, write_json
from minicoil.model import MiniCOIL
from minicoil.text import TextProcessor, Vocabulary
from minicoil.train.combine import combine_model
from minicoil.train.corpus import Format, convert_corpus
from minicoil.train.encode import encode_samples
from minicoil.train.encoded import EncodedSamples
from minicoil.train.fit import FitConfig, FitResult, fit_heads
from minicoil.train.sample import Selection, sample_sentences
from minicoil.train.sentences import split_sentences
from minicoil.train.vocab import build_vocabulary
from minicoil.vocab_io import load_vocab

T = TypeVar("T")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run (recorded in the model card)."""

    backbone: str = DEFAULT_BACKBONE
    teacher: str | None = None
    fmt: Format = "auto"
    vocab_size: int = 20_000
    min_count: int = 50
    words: tuple[str, ...] | None = None
    per_word: int = 256
    snippet_fraction: float = 0.25
    precision: Literal["float32", "bfloat16"] = "bfloat16"
    batch_size: int = 64
    encode_chunk: int = 2048
    seed: int = 0
    fit: FitConfig = field(default_factory=FitConfig)


@dataclass
class WorkDir:
    """Standard file names inside a work folder: the steps compose through them."""

    root: Path

    corpus = property(lambda self: self.root / "corpus.txt")
    sentences = property(lambda self: self.root / "sentences.txt")
    vocab = property(lambda self: self.root / "vocab.json")
    selection = property(lambda self: self.root / "selection.npz")
    encoded = property(lambda self: self.root / "encoded")
    fit = property(lambda self: self.root / "fit")
    timings = property(lambda self: self.root / "timings.json")


class _Timer:
    """Accumulates wall time per step in ``timings.json`` (survives resumes)."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, float] = {
            name: float(value)
            for name, value in read_state(path).items()
            if isinstance(value, int | float)
        }

    def run(self, name: str, fn: Callable[[], T]) -> T:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            self.data[name] = round(self.data.get(name, 0.0) + time.perf_counter() - t0, 2)
            write_json(self.path, self.data)


def load_backbones(config: TrainConfig) -> tuple[Backbone, Backbone | None]:
    backbone = Backbone.load(config.backbone, precision=config.precision)
    teacher = Backbone.load(config.teacher, precision=config.precision) if config.teacher else None
    return backbone, teacher


@dataclass
class _Run:
    """What every step of one pipeline run shares."""

    work: WorkDir
    config: TrainConfig
    timer: _Timer
    processor: TextProcessor
    progress: bool


def _text_steps(run: _Run, inputs: Sequence[str | Path]) -> tuple[Vocabulary, Selection]:
    """Steps 1-4a, which read only text: convert, sentences, vocabulary, sample."""
    work, config, timer, progress = run.work, run.config, run.timer, run.progress
    timer.run(
        "convert", lambda: convert_corpus(list(inputs), work.corpus, config.fmt, progress=progress)
    )
    timer.run("sentences", lambda: split_sentences(work.corpus, work.sentences, progress=progress))
    words = list(config.words) if config.words is not None else None
    timer.run(
        "vocab",
        lambda: build_vocabulary(
            work.sentences,
            work.vocab,
            size=config.vocab_size,
            min_count=config.min_count,
            words=words,
            processor=run.processor,
            progress=progress,
        ),
    )
    vocab = load_vocab(work.vocab)
    selection: Selection = timer.run(
        "sample",
        lambda: sample_sentences(
            work.sentences,
            vocab,
            work.selection,
            per_word=config.per_word,
            seed=config.seed,
            processor=run.processor,
            progress=progress,
        )[0],
    )
    return vocab, selection


def _model_steps(
    run: _Run,
    vocab: Vocabulary,
    selection: Selection,
    backbones: tuple[Backbone, Backbone | None],
    stop_after: tuple[str, int] | None,
) -> FitResult | None:
    """Steps 4b-6, which run the backbone and train: encode, then fit (targets are mined
    inside fit). None when ``stop_after`` interrupted one of them."""
    work, config = run.work, run.config
    backbone, teacher = backbones
    stop_encode = stop_after[1] if stop_after and stop_after[0] == "encode" else None
    encoded: EncodedSamples | None = run.timer.run(
        "encode",
        lambda: encode_samples(
            work.sentences,
            selection,
            vocab,
            backbone,
            work.encoded,
            teacher=teacher,
            processor=run.processor,
            snippet_fraction=config.snippet_fraction,
            batch_size=config.batch_size,
            chunk_size=config.encode_chunk,
            seed=config.seed,
            progress=run.progress,
            stop_after_chunks=stop_encode,
        ),
    )
    if encoded is None:
        return None
    stop_fit = stop_after[1] if stop_after and stop_after[0] == "fit" else None
    return run.timer.run(
        "fit",
        lambda: fit_heads(
            encoded, work.fit, config.fit, progress=run.progress, stop_after_chunks=stop_fit
        ),
    )


def _training_summary(
    run: _Run,
    inputs: Sequence[str | Path],
    vocab: Vocabulary,
    selection: Selection,
    fitted: FitResult,
) -> dict[str, Any]:
    """The ``training`` section of the model's config and card."""
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    timings = run.timer.data
    agreement = fitted.agreement
    return {
        "command": _command_line(),
        "corpus": [str(p) for p in inputs],
        "sentences": len(selection.unique_sentences()),
        "pairs": int(selection.n_pairs),
        "trained_words": fitted.trained_words,
        "heldout_triplet_agreement": None if agreement != agreement else round(agreement, 4),
        "head_training_seconds": round(fitted.seconds, 1),
        "head_training_seconds_per_word": round(fitted.seconds / max(1, len(vocab)), 4),
        "wall_seconds_by_step": dict(timings),
        "wall_seconds_total": round(sum(timings.values()), 1),
        "peak_rss_gib_this_process": round(peak_gib, 2),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "config": _jsonable(asdict(run.config)),
    }


def run_pipeline(
    inputs: Sequence[str | Path],
    out_model: str | Path,
    work_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    progress: bool = True,
    stop_after: tuple[str, int] | None = None,
) -> MiniCOIL | None:
    """Train a model from raw text. ``stop_after=("encode"|"fit", n)`` stops after n chunks of
    that step, as a kill would (for resume tests); the function then returns None."""
    config = config or TrainConfig()
    _terminate_cleanly()
    work = WorkDir(Path(work_dir))
    work.root.mkdir(parents=True, exist_ok=True)
    run = _Run(work, config, _Timer(work.timings), TextProcessor(), progress)
    vocab, selection = _text_steps(run, inputs)
    backbones = load_backbones(config)
    fitted = _model_steps(run, vocab, selection, backbones, stop_after)
    if fitted is None:
        return None
    training = _training_summary(run, inputs, vocab, selection, fitted)
    return run.timer.run(
        "combine",
        lambda: combine_model(
            fitted.heads,
            vocab,
            backbones[0],
            config.backbone,
            out_model,
            training=training,
            processor=run.processor,
        ),
    )


def _terminate_cleanly() -> None:
    """Turn SIGTERM (``kill``, a session ending) into SystemExit so that ``finally`` blocks run
    and the interrupted step's wall time still reaches ``timings.json``. SIGKILL cannot be
    caught: then only the finished steps' times are kept."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _command_line() -> str | None:
    """The ``minicoil ...`` command being run (without the script's install path)."""
    if sys.argv and Path(sys.argv[0]).name == "minicoil":
        return " ".join(["minicoil", *sys.argv[1:]])
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
