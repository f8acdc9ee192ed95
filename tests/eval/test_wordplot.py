"""``plot``: one word's meanings drawn from a tiny corpus; clear errors when there is nothing
to draw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from minicoil import MiniCOIL
from minicoil.cli import app
from minicoil.eval.senses import MIN_SILHOUETTE, choose_clusters, label_words
from minicoil.eval.wordplot import iter_texts, plot_word, snippet, word_senses

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
    assert summary["cluster_sizes"] == sorted(summary["cluster_sizes"], reverse=True)
    assert all(len(s) <= 82 for examples in summary["examples"].values() for s in examples)
    assert summary["path"] == str(out)


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
    assert len(result.senses.points) == 3 and max(result.senses.clusters) < 3


def test_word_senses_is_json_data(tiny_model: MiniCOIL) -> None:
    senses = word_senses(tiny_model, "bank", [s for s in SENTENCES if s])
    data = json.loads(json.dumps(senses.to_dict()))
    n = len(senses.points)
    assert n == 5 and len(data["clusters"]) == len(data["snippets"]) == n
    assert all(len(p) == 2 for p in data["points"]) and data["k"] == senses.k >= 1
    assert sum(c["size"] for c in data["summaries"]) == n
    assert set(data["clusters"]) == set(range(senses.k))
    for cluster in data["summaries"]:
        assert all(data["clusters"][i] == cluster["index"] for i in cluster["examples"])
    assert "silhouette" in data["method"]
    assert all(-1.0 <= v <= 1.0 for v in data["silhouettes"].values())


def _blobs(centres: list[list[float]], per: int, noise: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points = np.concatenate(
        [np.asarray(c) + noise * rng.standard_normal((per, 4)) for c in centres]
    )
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_choose_clusters_finds_the_senses_in_the_data() -> None:
    eye = np.eye(4).tolist()
    two = _blobs(eye[:2], 30, 0.05)
    labels, scores = choose_clusters(two)
    assert len(set(labels.tolist())) == 2 and max(scores, key=scores.get) == 2
    assert len(set(labels[:30].tolist())) == 1  # one sense is never split
    three, _ = choose_clusters(_blobs(eye[:3], 30, 0.05))
    assert len(set(three.tolist())) == 3
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((200, 4))
    one, noise_scores = choose_clusters(noise / np.linalg.norm(noise, axis=1, keepdims=True))
    assert max(noise_scores.values()) < MIN_SILHOUETTE and set(one.tolist()) == {0}
    same, _ = choose_clusters(np.tile([[1.0, 0.0, 0.0, 0.0]], (5, 1)))
    assert set(same.tolist()) == {0}  # identical meanings: nothing to split


def test_cluster_labels_come_from_context_words() -> None:
    from collections import Counter

    contexts = [Counter(["river", "water", "north"])] * 4 + [
        Counter(["money", "loan", "north"])
    ] * 4
    labels = np.asarray([0] * 4 + [1] * 4)
    names = label_words(contexts, labels, n_words=2)
    assert set(names[0]) == {"river", "water"} and set(names[1]) == {"money", "loan"}
    assert label_words(contexts[:4], np.zeros(4, dtype=np.int64), n_words=1) == [["north"]]


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
    assert "bank" in short and len(short) <= 82 and short.startswith("…")
    assert short.split("…")[1].split()[0] == "word" and short.endswith("word…")  # whole words
    tight = snippet("x" * 50 + " the bank " + "y" * 50, 55, 59, width=20)
    assert tight == "…the bank…"  # cut at the spaces nearest the word
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
