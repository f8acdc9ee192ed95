"""Training commands: the whole pipeline (``train``) and each step on its own.

The step commands share one ``--work`` folder with ``minicoil train`` and its standard file
names, so a run can be made step by step, inspected, and resumed. An option left out takes the
pipeline's own default (``TrainConfig``/``FitConfig``), so the defaults live in one place and
``--help`` does not import torch to show them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from minicoil.cli.common import QuietOption, guard

Work = Annotated[Path, typer.Option("--work", "-w", help="Work folder (resumable state).")]
Out = Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")]
Precision = Annotated[
    str | None, typer.Option(help="float32 or bfloat16 (~1.8x faster on AVX512-BF16).")
]
Backbone = Annotated[str | None, typer.Option(help="sentence-transformers folder or name.")]
Teacher = Annotated[str | None, typer.Option(help="Teacher folder. Default: the backbone.")]
Seed = Annotated[int, typer.Option(help="Random seed (sampling, triplets, initialisation).")]
Count = Annotated[int | None, typer.Option(min=1)]
Fraction = Annotated[float | None, typer.Option(min=0.0, max=1.0)]


def given(**values: Any) -> dict[str, Any]:
    """The options the user gave: the rest keep the library's defaults."""
    return {key: value for key, value in values.items() if value is not None}


# Long only by its typer options (the signature is the command's --help); the body is short.
@guard
def train(
    corpus: Annotated[list[Path], typer.Argument(help="Corpus files or folders.")],
    out: Out,
    work: Work = Path("work"),
    backbone: Backbone = None,
    teacher: Teacher = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="auto, wikiextractor, text, jsonl, beir")
    ] = None,
    vocab_size: Count = None,
    min_count: Count = None,
    words: Annotated[
        Path | None, typer.Option(help="Only these words get heads (one per line).")
    ] = None,
    per_word: Annotated[int | None, typer.Option(min=1, help="Sentences sampled per word.")] = None,
    snippet_fraction: Fraction = None,
    method: Annotated[str | None, typer.Option(help="triplet or umap")] = None,
    dim: Count = None,
    max_steps: Count = None,
    encode_chunk: Annotated[
        int | None, typer.Option(min=1, help="Sentences per resumable encode chunk (memory).")
    ] = None,
    words_per_chunk: Annotated[
        int | None, typer.Option(min=1, help="Heads trained together per resumable fit chunk.")
    ] = None,
    precision: Precision = None,
    seed: Seed = 0,
    quiet: QuietOption = False,
) -> None:
    """Train a model from raw text: every step in order, resumable (rerun to continue)."""
    for source in corpus:
        if not source.exists():
            raise FileNotFoundError(f"{source}: file not found")
    word_list = None
    if words is not None:
        from minicoil.data import iter_lines

        word_list = tuple(w.strip() for _, w in iter_lines(words) if w.strip())
    from minicoil.train.fit import FitConfig
    from minicoil.train.pipeline import TrainConfig, run_pipeline

    fit = FitConfig(
        **given(dim=dim, method=method, max_steps=max_steps, words_per_chunk=words_per_chunk),
        seed=seed,
    )
    config = TrainConfig(
        **given(
            backbone=backbone,
            teacher=teacher,
            fmt=fmt,
            vocab_size=vocab_size,
            min_count=min_count,
            words=word_list,
            per_word=per_word,
            snippet_fraction=snippet_fraction,
            precision=precision,
            encode_chunk=encode_chunk,
        ),
        seed=seed,
        fit=fit,
    )
    model = run_pipeline(corpus, out, work, config, progress=not quiet)
    if model is None:  # the pipeline writes the folder or raises
        raise RuntimeError(f"training wrote no model to {out}")
    t = model.config.training
    typer.echo(
        f"wrote {out}: {len(model.vocab):,} words, held-out triplet agreement "
        f"{t.get('heldout_triplet_agreement')}, {t.get('wall_seconds_total')} s"
    )


@guard
def convert(
    corpus: Annotated[list[Path], typer.Argument(help="Corpus files or folders.")],
    out: Annotated[Path, typer.Option("--out", "-o")],
    fmt: Annotated[
        str, typer.Option("--format", help="auto, wikiextractor, text, jsonl, beir")
    ] = "auto",
    text_field: str = "text",
) -> None:
    """Step 1: a corpus (WikiExtractor, text, JSONL, BEIR; gz/bz2) -> one paragraph per line."""
    from minicoil.train.corpus import convert_corpus

    result = convert_corpus(corpus, out, fmt, text_field=text_field)  # type: ignore[arg-type]
    done = " (already done)" if result.skipped else ""
    typer.echo(f"{result.paragraphs:,} paragraphs -> {out}{done}")


@guard
def sentences(
    paragraphs: Annotated[Path, typer.Argument(help="Output of `minicoil convert`.")],
    out: Annotated[Path, typer.Option("--out", "-o")],
    min_words: int = 3,
    max_words: int = 128,
) -> None:
    """Step 2: split into sentences, drop short/long ones, deduplicate."""
    from minicoil.train.sentences import split_sentences

    result = split_sentences(paragraphs, out, min_words=min_words, max_words=max_words)
    typer.echo(f"{result.counts.sentences:,} sentences -> {out}")


@guard
def vocab(
    sentences_file: Annotated[Path, typer.Argument(help="Output of `minicoil sentences`.")],
    out: Annotated[Path, typer.Option("--out", "-o")],
    size: Count = None,
    min_count: Count = None,
) -> None:
    """Step 3: the top stems (with surface forms) that get heads."""
    from minicoil.train.pipeline import TrainConfig
    from minicoil.train.vocab import build_vocabulary

    defaults = TrainConfig()
    result = build_vocabulary(
        sentences_file,
        out,
        size=size if size is not None else defaults.vocab_size,
        min_count=min_count if min_count is not None else defaults.min_count,
    )
    typer.echo(f"{result.vocab_size:,} stems -> {out}")


@guard
def sample(
    work: Work, per_word: Annotated[int | None, typer.Option(min=1)] = None, seed: Seed = 0
) -> None:
    """Step 4a: choose the sentences each word learns from (reads sentences.txt, vocab.json)."""
    from minicoil.train.pipeline import TrainConfig, WorkDir, read_vocab
    from minicoil.train.sample import sample_sentences

    w = WorkDir(work)
    selection, _ = sample_sentences(
        w.sentences,
        read_vocab(w.vocab),
        w.selection,
        per_word=per_word if per_word is not None else TrainConfig().per_word,
        seed=seed,
    )
    typer.echo(
        f"{selection.n_pairs:,} (word, sentence) pairs from "
        f"{len(selection.unique_sentences()):,} sentences"
    )


@guard
def encode_samples(
    work: Work,
    backbone: Backbone = None,
    teacher: Teacher = None,
    snippet_fraction: Fraction = None,
    precision: Precision = None,
    seed: Seed = 0,
) -> None:
    """Step 4b: one backbone pass over the sampled sentences into fp16 memmaps."""
    from minicoil.train.encode import encode_samples as run_encode
    from minicoil.train.pipeline import TrainConfig, WorkDir, load_backbones, read_vocab
    from minicoil.train.sample import Selection

    w = WorkDir(work)
    config = TrainConfig(**given(backbone=backbone, teacher=teacher, precision=precision))
    student, teach = load_backbones(config)
    run_encode(
        w.sentences,
        Selection.load(w.selection),
        read_vocab(w.vocab),
        student,
        w.encoded,
        teacher=teach,
        snippet_fraction=(
            snippet_fraction if snippet_fraction is not None else config.snippet_fraction
        ),
        seed=seed,
    )
    typer.echo(f"encoded -> {w.encoded}")


@guard
def fit_heads(
    work: Work,
    out: Out,
    backbone: Backbone = None,
    method: Annotated[str | None, typer.Option(help="triplet or umap")] = None,
    dim: Count = None,
    max_steps: Count = None,
    seed: Seed = 0,
) -> None:
    """Steps 5-7: mine targets, train all heads batched, combine into a model folder."""
    from minicoil.backbone import Backbone as BackboneModel
    from minicoil.train.combine import combine_model
    from minicoil.train.encode import EncodedSamples
    from minicoil.train.fit import FitConfig
    from minicoil.train.fit import fit_heads as run_fit
    from minicoil.train.pipeline import TrainConfig, WorkDir, read_vocab
    from minicoil.train.sample import Selection

    w = WorkDir(work)
    encoded = EncodedSamples.open(w.encoded, Selection.load(w.selection))
    config = FitConfig(**given(dim=dim, method=method, max_steps=max_steps), seed=seed)
    fitted = run_fit(encoded, w.fit, config)
    if fitted is None:
        raise RuntimeError(f"fitting wrote no heads to {w.fit}")
    reference = backbone or TrainConfig().backbone
    training = {"heldout_triplet_agreement": round(fitted.agreement, 4), "method": config.method}
    combine_model(
        fitted.heads,
        read_vocab(w.vocab),
        BackboneModel.load(reference),
        reference,
        out,
        training=training,
    )
    typer.echo(f"wrote {out}: held-out triplet agreement {fitted.agreement:.4f}")
