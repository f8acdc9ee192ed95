"""The model card shows the training record and measured quality stored in config.json."""

from __future__ import annotations

from pathlib import Path

from minicoil import MiniCOIL
from minicoil.card import record_evaluation
from minicoil.config import MiniCOILConfig


def test_recorded_evaluation_reaches_config_and_card(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    record_evaluation(tmp_path / "m", "scifact test", {"minicoil": {"ndcg@10": 0.70123}})
    record_evaluation(tmp_path / "m", "wic test", {"4-d meaning": {"accuracy": 0.6}})
    config = MiniCOILConfig.load(tmp_path / "m")
    assert config.evaluation == {
        "scifact test": {"minicoil": {"ndcg@10": 0.70123}},
        "wic test": {"4-d meaning": {"accuracy": 0.6}},
    }
    card = (tmp_path / "m" / "README.md").read_text()
    assert "## Evaluation" in card and "| scifact test | minicoil | ndcg@10 0.7012 |" in card
    assert "| wic test | 4-d meaning | accuracy 0.6000 |" in card
    reloaded = MiniCOIL.from_pretrained(tmp_path / "m", backbone=tiny_model.backbone.path)
    assert reloaded.config.evaluation == config.evaluation
