"""Training commands of the ``minicoil`` CLI: the whole pipeline and each step on its own.

The step commands share one ``--work`` folder with ``minicoil train`` and its standard file
names, so ``minicoil train`` can be run step by step, inspected, and resumed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minicoil.cli_common import guard
from minicoil.train.fit import FitConfig
from minicoil.train.pipeline import TrainConfig, WorkDir, load_backbones, read_vocab, run_pipeline

Work = Annotated[Path, typer.Option("--work", "-w", help="Work folder (resumable state).")]
Precision = Annotated[str, typer.Option(help="float32 or bfloat16 (~1.8x faster on AVX512-BF16).")]


def register(app: typer.Typer) -> None:
    """Add the training commands to ``app``."""

    @app.command()
    @guard
    def train(
        corpus: Annotated[list[Path], typer.Argument(help="Corpus files or folders.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
        work: Work = Path("work"),
        backbone: Annotated[
            str, typer.Option(help="sentence-transformers folder")
        ] = TrainConfig.backbone,
        teacher: Annotated[
            str | None, typer.Option(help="Teacher folder (default: backbone)")
        ] = None,
        fmt: Annotated[str, typer.Option("--format")] = "auto",
        vocab_size: int = TrainConfig.vocab_size,
        min_count: int = TrainConfig.min_count,
        words: Annotated[
            Path | None, typer.Option(help="Only these words get heads (one per line).")
        ] = None,
        per_word: Annotated[
            int, typer.Option(help="Sentences sampled per word.")
        ] = TrainConfig.per_word,
        snippet_fraction: float = TrainConfig.snippet_fraction,
        method: Annotated[str, typer.Option(help="triplet or umap")] = "triplet",
        dim: int = 4,
        max_steps: int = FitConfig.max_steps,
        encode_chunk: Annotated[
            int,
            typer.Option(min=1, help="Sentences per resumable encode chunk (bounds memory)."),
        ] = TrainConfig.encode_chunk,
        words_per_chunk: Annotated[
            int, typer.Option(min=1, help="Heads trained together per resumable fit chunk.")
        ] = FitConfig.words_per_chunk,
        precision: Precision = "bfloat16",
        seed: int = 0,
        quiet: bool = False,
    ) -> None:
        """Train a model from raw text: every step in order, resumable (rerun to continue)."""
        word_list = None
        if words is not None:
            word_list = tuple(w.strip() for w in words.read_text("utf-8").splitlines() if w.strip())
        config = TrainConfig(
            backbone=backbone,
            teacher=teacher,
            fmt=fmt,  # type: ignore[arg-type]
            vocab_size=vocab_size,
            min_count=min_count,
            words=word_list,
            per_word=per_word,
            snippet_fraction=snippet_fraction,
            precision=precision,  # type: ignore[arg-type]
            encode_chunk=encode_chunk,
            seed=seed,
            fit=FitConfig(
                dim=dim,
                method=method,  # type: ignore[arg-type]
                max_steps=max_steps,
                words_per_chunk=words_per_chunk,
                seed=seed,
            ),
        )
        model = run_pipeline(corpus, out, work, config, progress=not quiet)
        assert model is not None
        t = model.config.training
        typer.echo(
            f"wrote {out}: {len(model.vocab):,} words, held-out triplet agreement "
            f"{t.get('heldout_triplet_agreement')}, {t.get('wall_seconds_total')} s"
        )

    @app.command()
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
        typer.echo(
            f"{result.paragraphs:,} paragraphs -> {out}"
            + (" (already done)" if result.skipped else "")
        )

    @app.command()
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

    @app.command()
    @guard
    def vocab(
        sentences_file: Annotated[Path, typer.Argument(help="Output of `minicoil sentences`.")],
        out: Annotated[Path, typer.Option("--out", "-o")],
        size: int = TrainConfig.vocab_size,
        min_count: int = TrainConfig.min_count,
    ) -> None:
        """Step 3: the top stems (with surface forms) that get heads."""
        from minicoil.train.vocab import build_vocabulary

        result = build_vocabulary(sentences_file, out, size=size, min_count=min_count)
        typer.echo(f"{result.vocab_size:,} stems -> {out}")

    @app.command()
    @guard
    def sample(work: Work, per_word: int = TrainConfig.per_word, seed: int = 0) -> None:
        """Step 4a: choose the sentences each word learns from (reads sentences.txt, vocab.json)."""
        from minicoil.train.sample import sample_sentences

        w = WorkDir(work)
        selection, _ = sample_sentences(
            w.sentences, read_vocab(w.vocab), w.selection, per_word=per_word, seed=seed
        )
        typer.echo(
            f"{selection.n_pairs:,} (word, sentence) pairs from "
            f"{len(selection.unique_sentences()):,} sentences"
        )

    @app.command("encode-samples")
    @guard
    def encode_samples_cmd(
        work: Work,
        backbone: str = TrainConfig.backbone,
        teacher: str | None = None,
        snippet_fraction: float = TrainConfig.snippet_fraction,
        precision: Precision = "bfloat16",
        seed: int = 0,
    ) -> None:
        """Step 4b: one backbone pass over the sampled sentences into fp16 memmaps."""
        from minicoil.train.encode import encode_samples
        from minicoil.train.sample import Selection

        w = WorkDir(work)
        config = TrainConfig(backbone=backbone, teacher=teacher, precision=precision)  # type: ignore[arg-type]
        student, teach = load_backbones(config)
        encode_samples(
            w.sentences,
            Selection.load(w.selection),
            read_vocab(w.vocab),
            student,
            w.encoded,
            teacher=teach,
            snippet_fraction=snippet_fraction,
            seed=seed,
        )
        typer.echo(f"encoded -> {w.encoded}")

    @app.command("fit-heads")
    @guard
    def fit_heads_cmd(
        work: Work,
        out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
        backbone: str = TrainConfig.backbone,
        method: str = "triplet",
        dim: int = 4,
        max_steps: int = FitConfig.max_steps,
        seed: int = 0,
    ) -> None:
        """Steps 5-7: mine targets, train all heads batched, combine into a model folder."""
        from minicoil.backbone import Backbone
        from minicoil.train.combine import combine_model
        from minicoil.train.encode import EncodedSamples
        from minicoil.train.fit import fit_heads
        from minicoil.train.sample import Selection

        w = WorkDir(work)
        encoded = EncodedSamples.open(w.encoded, Selection.load(w.selection))
        config = FitConfig(dim=dim, method=method, max_steps=max_steps, seed=seed)  # type: ignore[arg-type]
        fitted = fit_heads(encoded, w.fit, config)
        assert fitted is not None
        bb = Backbone.load(backbone)
        training = {"heldout_triplet_agreement": round(fitted.agreement, 4), "method": method}
        combine_model(fitted.heads, read_vocab(w.vocab), bb, backbone, out, training=training)
        typer.echo(f"wrote {out}: held-out triplet agreement {fitted.agreement:.4f}")
