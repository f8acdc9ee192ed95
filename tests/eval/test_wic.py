"""WiC evaluation on a tiny WiC-format folder and the tiny random model: loader errors name
file and line, the threshold is the one found by hand, and the result has every method."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from minicoil import MiniCOIL
from minicoil.cli import app
from minicoil.eval.beir import DatasetError
from minicoil.eval.wic import (
    best_threshold,
    evaluate_wic,
    load_wic,
    load_wic_split,
    span_embeddings,
    token_span,
)

runner = CliRunner()

ROWS = [
    (
        "bank",
        "N",
        "1-6",
        "The bank of the river was flooded .",
        "She opened an account at the bank .",
    ),
    ("bank", "N", "5-5", "She deposited money at the bank .", "They rowed past the river bank ."),
    ("bat", "N", "1-2", "A bat flew out of the cave .", "The baseball bat was wooden ."),
    ("run", "V", "0-1", "Running quickly .", "Runners run through the databases ."),
]
GOLD = ["F", "F", "F", "T"]


def write_wic(root: Path, rows=ROWS, gold=GOLD) -> Path:
    for split in ("train", "dev", "test"):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{split}.data.txt").write_text(
            "".join("\t".join(r) + "\n" for r in rows), "utf-8"
        )
        (folder / f"{split}.gold.txt").write_text("".join(g + "\n" for g in gold), "utf-8")
    return root


@pytest.fixture
def wic_dir(tmp_path: Path) -> Path:
    return write_wic(tmp_path / "wic")


def test_load_wic(wic_dir: Path) -> None:
    data = load_wic(wic_dir)
    assert set(data) == {"train", "dev", "test"}
    first = data["test"][0]
    assert (first.lemma, first.pos, first.index1, first.index2) == ("bank", "N", 1, 6)
    assert first.label is False and data["test"][3].label is True
    assert first.sentence1[slice(*token_span(first.sentence1, first.index1))] == "bank"


@pytest.mark.parametrize(
    ("data_line", "gold", "where", "message"),
    [
        ("bank\tN\t1-4\tonly four columns", "T", "data", "5 tab-separated columns"),
        ("bank\tN\t1:4\tThe bank .\tA bank .", "T", "data", "i-j"),
        ("bank\tN\t9-1\tThe bank .\tA bank .", "T", "data", "out of range for sentence 1"),
        ("bank\tN\t1-1\tThe bank .\tA bank .", "X", "gold", "not T or F"),
    ],
)
def test_loader_errors_name_file_and_line(
    tmp_path: Path, data_line: str, gold: str, where: str, message: str
) -> None:
    root = write_wic(tmp_path)
    folder = root / "dev"
    good = "\t".join(ROWS[0])
    (folder / "dev.data.txt").write_text(f"{good}\n{data_line}\n", "utf-8")
    (folder / "dev.gold.txt").write_text(f"T\n{gold}\n", "utf-8")
    with pytest.raises(DatasetError, match=message) as info:
        load_wic_split(root, "dev")
    assert f"dev.{where}.txt, line 2" in str(info.value)


def test_loader_errors_missing_file_and_count_mismatch(tmp_path: Path) -> None:
    root = write_wic(tmp_path)
    (root / "dev" / "dev.gold.txt").write_text("T\n", "utf-8")
    with pytest.raises(DatasetError, match=r"dev\.gold\.txt: 1 labels for 4 instances"):
        load_wic_split(root, "dev")
    (root / "test" / "test.data.txt").unlink()
    with pytest.raises(DatasetError, match=r"test\.data\.txt: file not found"):
        load_wic_split(root, "test")
    with pytest.raises(DatasetError, match="not found"):
        load_wic(tmp_path / "nowhere")


def test_threshold_by_hand() -> None:
    scores = np.array([0.1, 0.4, 0.6, 0.9])
    # Separable: cut between 0.4 and 0.6.
    assert best_threshold(scores, np.array([False, False, True, True])) == (0.5, 1.0)
    # F T F T: cuts at 0.25 and 0.75 both get 3/4; the lowest wins.
    threshold, accuracy = best_threshold(scores, np.array([False, True, False, True]))
    assert threshold == pytest.approx(0.25) and accuracy == 0.75
    # Never cut between equal scores: only "all same" (2/4) or above 0.5 (3/4) are possible.
    tied = np.array([0.5, 0.5, 0.5, 0.9])
    threshold, accuracy = best_threshold(tied, np.array([False, True, False, True]))
    assert threshold == pytest.approx(0.7) and accuracy == 0.75
    # All True: a threshold below everything.
    threshold, accuracy = best_threshold(scores, np.ones(4, dtype=bool))
    assert threshold < 0.1 and accuracy == 1.0


def test_span_embeddings_is_mean_of_overlapping_tokens(tiny_model: MiniCOIL) -> None:
    backbone = tiny_model.backbone
    text = "The databases at the university ."
    start, end = token_span(text, 1)
    vectors, counts = span_embeddings(backbone, [text], [(0, start, end), (0, 0, 3)])
    tokenized = backbone.tokenize([text])
    tokens, _ = backbone.embed(tokenized)
    offsets = tokenized[0].offsets
    inside = (offsets[:, 0] < end) & (offsets[:, 1] > start)
    assert counts[0] == inside.sum() >= 1
    expected = tokens[0][torch.from_numpy(inside)].mean(0).numpy()
    np.testing.assert_allclose(vectors[0], expected, rtol=1e-5, atol=1e-6)


def test_evaluate_wic_tiny(tiny_model: MiniCOIL, wic_dir: Path) -> None:
    calls: list[int] = []
    tokenize = tiny_model.backbone.tokenize

    def spy(texts: list[str]):
        calls.append(len(texts))
        return tokenize(texts)

    tiny_model.backbone.tokenize = spy  # type: ignore[method-assign]
    results = evaluate_wic(tiny_model, wic_dir, batch_size=4)
    distinct = {s for r in ROWS for s in r[3:]}
    assert sum(calls) == len(distinct) == results["n_sentences"]  # each sentence encoded once
    methods = results["methods"]
    assert set(methods) == {"raw", "meaning", "random4"}
    assert methods["raw"]["dim"] == tiny_model.config.hidden_size
    assert methods["raw"]["coverage"] == 1.0
    # bank, bank, bat are vocabulary words; "Running"/"run" share the stem "run" too.
    meaning = methods["meaning"]
    assert meaning["coverage"] == 1.0
    assert meaning["pairs_without_head"] == {"train": 0, "dev": 0, "test": 0}
    assert meaning["covered"]["n_pairs"]["test"] == 4
    # Same pairs in every split: train+dev accuracy at the chosen threshold carries to test.
    for name in ("raw", "meaning"):
        assert methods[name]["test_accuracy"] == methods[name]["train_dev_accuracy"]
    random4 = methods["random4"]
    assert len(random4["per_seed"]) == 5 and random4["std"] >= 0
    json.dumps(results)  # JSON-ready


def test_pairs_without_head_fall_back_to_same_sense(wordpiece_backbone, wic_dir: Path) -> None:
    bm25 = MiniCOIL.bm25(wordpiece_backbone)
    results = evaluate_wic(bm25, wic_dir)
    meaning = results["methods"]["meaning"]
    assert meaning["coverage"] == 0.0
    assert meaning["pairs_without_head"] == {"train": 4, "dev": 4, "test": 4}
    assert meaning["covered"]["test_accuracy"] is None
    # Every score is 1.0: best is "all different" (3 of 4 are F).
    assert meaning["test_accuracy"] == 0.75 and meaning["threshold"] > 1.0


def test_cli_eval_wic(tiny_model: MiniCOIL, wic_dir: Path, tmp_path: Path) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    out = tmp_path / "wic.json"
    result = runner.invoke(
        app, ["eval-wic", "--data", str(wic_dir), "-m", str(tmp_path / "m"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "raw 32-d" in result.output and "random 4-d" in result.output
    assert json.loads(out.read_text())["n_pairs"]["test"] == 4
    bad = runner.invoke(app, ["eval-wic", "--data", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "error:" in bad.output


def test_cli_eval_wic_record_uses_the_table_names(
    tiny_model: MiniCOIL, wic_dir: Path, tmp_path: Path
) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    result = runner.invoke(
        app, ["eval-wic", "--data", str(wic_dir), "-m", str(tmp_path / "m"), "--record"]
    )
    assert result.exit_code == 0, result.output
    card = (tmp_path / "m" / "README.md").read_text()
    recorded = [line for line in card.splitlines() if line.startswith("| WiC test |")]
    assert recorded, card
    for line in recorded:  # every recorded row is a row of the printed table
        name = line.split("|")[2].strip()
        assert name in result.output, name
