"""``plot``: one word's meanings drawn from a tiny corpus; clear errors when there is nothing
to draw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from minicoil import MiniCOIL
from minicoil.cli import app
from minicoil.eval.wordplot import iter_texts, plot_word, snippet

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SENTENCES = [
    "The bank of the river was flooded after the spring rain.",
    "She deposited money at the bank and opened a savings account.",
    "A bat flew out of the cave at dusk.",
    "The river bank was muddy.",
    "Banks store money for the university.",
    "",
    "The bank raised rates; the bank closed early.",
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(SENTENCES) + "\n", "utf-8")
    return path


def test_plot_writes_png(tiny_model: MiniCOIL, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "bank.png"
    result = plot_word(tiny_model, "Bank", corpus, out, clusters=2)
    assert out.read_bytes()[:8] == PNG_MAGIC
    summary = result.summary()
    assert summary["stem"] == "bank" and summary["n_sentences"] == 5  # "Banks" counts too
    assert sum(summary["cluster_sizes"]) == 5 and len(summary["cluster_sizes"]) == 2
    assert all(len(s) <= 62 for examples in summary["examples"].values() for s in examples)


def test_plot_samples_and_jsonl(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"_id": str(i), "title": "", "text": s}) + "\n"
            for i, s in enumerate(SENTENCES)
            if s
        ),
        "utf-8",
    )
    assert len(list(iter_texts(corpus))) == 6
    result = plot_word(tiny_model, "bank", corpus, tmp_path / "b.png", samples=3, clusters=5)
    assert len(result.sentences) == 3 and result.clusters.max() < 3


def test_plot_errors(tiny_model: MiniCOIL, corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no head"):
        plot_word(tiny_model, "flooded", corpus, tmp_path / "x.png")
    with pytest.raises(ValueError, match="no text"):
        plot_word(tiny_model, "database", corpus, tmp_path / "x.png")
    with pytest.raises(ValueError, match="only one text"):
        plot_word(tiny_model, "cave", corpus, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_snippet() -> None:
    text = "word " * 40 + "bank" + " word" * 40
    start = text.index("bank")
    short = snippet(text, start, start + 4)
    assert "bank" in short and len(short) <= 62 and short.startswith("…")
    assert snippet("a  short   text", 0, 1) == "a short text"


def test_cli_plot(tiny_model: MiniCOIL, corpus: Path, tmp_path: Path) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    out = tmp_path / "bank.png"
    result = runner.invoke(
        app,
        ["plot", "bank", "--data", str(corpus), "-m", str(tmp_path / "m"), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == PNG_MAGIC and "[1]" in result.output
    bad = runner.invoke(app, ["plot", "flooded", "--data", str(corpus), "-m", str(tmp_path / "m")])
    assert bad.exit_code == 2 and "no head" in bad.output
