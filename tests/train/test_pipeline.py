"""End to end: raw WikiExtractor text -> trained model folder, on a tiny random backbone."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from minicoil import MiniCOIL
from minicoil.train.fit import FitConfig
from minicoil.train.pipeline import TrainConfig, run_pipeline

RIVER = [
    "the river bank was muddy",
    "fish swim near the bank of the river",
    "a grassy bank by the stream",
]
MONEY = [
    "the bank approved the loan",
    "she deposited money at the bank",
    "the central bank raised rates",
]
OTHER = [
    "bats fly out of the cave at night",
    "the baseball bat was wooden",
    "run the database query again",
]


def write_corpus(folder: Path, n_docs: int = 40, seed: int = 0) -> Path:
    rng = random.Random(seed)
    path = folder / "wiki_AA.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for d in range(n_docs):
            handle.write(f'<doc id="{d}" url="x" title="Doc {d}">\nDoc {d}\n\n')
            for _ in range(4):
                pool = rng.choice([RIVER, MONEY, OTHER])
                sentences = [
                    rng.choice(pool).capitalize() + f" number {rng.randint(0, 99)}."
                    for _ in range(3)
                ]
                handle.write(" ".join(sentences) + "\n\n")
            handle.write("</doc>\n")
    return path


def tiny_config(backbone: Path) -> TrainConfig:
    return TrainConfig(
        backbone=str(backbone),
        precision="float32",
        vocab_size=12,
        min_count=3,
        per_word=24,
        encode_chunk=32,
        batch_size=16,
        fit=FitConfig(
            words_per_chunk=4,
            max_steps=30,
            eval_every=10,
            triplets_per_word=32,
            val_triplets=64,
            min_gap=0.0,
        ),
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def test_end_to_end(corpus: Path, wordpiece_dir: Path, tmp_path: Path) -> None:
    model = run_pipeline(
        [corpus], tmp_path / "model", tmp_path / "work", tiny_config(wordpiece_dir), progress=False
    )
    assert model is not None
    assert len(model.vocab) == 12 and "bank" in model.vocab
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    training = config["training"]
    assert training["trained_words"] > 0 and 0.0 <= training["heldout_triplet_agreement"] <= 1.0
    assert set(training["wall_seconds_by_step"]) >= {
        "convert",
        "sentences",
        "vocab",
        "sample",
        "encode",
        "fit",
    }
    assert "Training" in (tmp_path / "model" / "README.md").read_text()
    loaded = MiniCOIL.from_pretrained(tmp_path / "model")
    vec = next(loaded.encode_query("river bank"))
    bank = loaded.vocab.id("bank")
    assert {4 * bank + i for i in range(4)} <= set(vec.indices.tolist())
    # a second run finds everything done and changes nothing
    before = load_file(str(tmp_path / "model" / "heads.safetensors"))["heads"]
    run_pipeline(
        [corpus], tmp_path / "model", tmp_path / "work", tiny_config(wordpiece_dir), progress=False
    )
    np.testing.assert_array_equal(
        before, load_file(str(tmp_path / "model" / "heads.safetensors"))["heads"]
    )


@pytest.mark.parametrize("step", ["encode", "fit"])
def test_killed_run_resumes_to_the_same_model(
    corpus: Path, wordpiece_dir: Path, tmp_path: Path, step: str
) -> None:
    config = tiny_config(wordpiece_dir)
    reference = run_pipeline(
        [corpus], tmp_path / "ref", tmp_path / "work-ref", config, progress=False
    )
    assert reference is not None
    stopped = run_pipeline(
        [corpus], tmp_path / "m", tmp_path / "work", config, progress=False, stop_after=(step, 1)
    )
    assert stopped is None and not (tmp_path / "m").exists()
    resumed = run_pipeline([corpus], tmp_path / "m", tmp_path / "work", config, progress=False)
    assert resumed is not None
    want = load_file(str(tmp_path / "ref" / "heads.safetensors"))["heads"]
    got = load_file(str(tmp_path / "m" / "heads.safetensors"))["heads"]
    np.testing.assert_array_equal(want, got)


def test_changed_settings_redo_the_affected_steps(
    corpus: Path, wordpiece_dir: Path, tmp_path: Path
) -> None:
    config = tiny_config(wordpiece_dir)
    run_pipeline([corpus], tmp_path / "m", tmp_path / "work", config, progress=False)
    smaller = replace(config, vocab_size=6)
    model = run_pipeline([corpus], tmp_path / "m", tmp_path / "work", smaller, progress=False)
    assert model is not None and len(model.vocab) == 6


def test_train_command(corpus: Path, wordpiece_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from minicoil.cli import app

    args = [
        "train",
        str(corpus),
        "--out",
        str(tmp_path / "m"),
        "--work",
        str(tmp_path / "w"),
        "--backbone",
        str(wordpiece_dir),
        "--vocab-size",
        "8",
        "--min-count",
        "3",
        "--per-word",
        "16",
        "--max-steps",
        "10",
        "--precision",
        "float32",
        "--quiet",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        "wrote" in result.output and MiniCOIL.from_pretrained(tmp_path / "m").config.vocab_size == 8
    )
    bad = CliRunner().invoke(
        app, ["train", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]
    )
    # the CLI checks paths before any work; its wording is its own, the file must be named
    assert bad.exit_code == 2 and "missing" in bad.output
    assert "no such file" in bad.output or "not found" in bad.output


def test_encoded_folder_without_meta_still_resumes(
    corpus: Path, wordpiece_dir: Path, tmp_path: Path
) -> None:
    """A run killed between its last chunk and its metadata (or an older version's folder)."""
    config = tiny_config(wordpiece_dir)
    run_pipeline(
        [corpus], tmp_path / "m", tmp_path / "w", config, progress=False, stop_after=("fit", 0)
    )
    (tmp_path / "w" / "encoded" / "meta.json").unlink()
    assert (
        run_pipeline([corpus], tmp_path / "m", tmp_path / "w", config, progress=False) is not None
    )
