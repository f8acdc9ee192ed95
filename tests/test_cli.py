from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from minicoil import MiniCOIL
from minicoil.cli import app

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in app.registered_commands:
        assert (command.name or command.callback.__name__) in result.output


def test_encode_prints_one_json_object_per_text(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    result = runner.invoke(
        app, ["encode", "--model", str(tmp_path / "m"), "bank of the river", "money"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(lines) == 2 and set(lines[0]) == {"indices", "values"}
    # documents use the given texts as the corpus for avg_len
    tiny_model.fit(["bank of the river", "money"])
    want = next(tiny_model.encode_document("bank of the river"))
    assert lines[0]["indices"] == want.indices.tolist()
    query = runner.invoke(app, ["encode", "-m", str(tmp_path / "m"), "--query", "bank"])
    assert (
        json.loads(query.stdout)["indices"]
        == next(tiny_model.encode_query("bank")).indices.tolist()
    )


def test_version_is_the_package_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"minicoil {version('minicoil')}"


def test_encode_bad_model_folder_is_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["encode", "--model", str(tmp_path), "text"])
    assert result.exit_code == 2
    assert "config.json" in result.output and "Traceback" not in result.output


def test_paths_are_shown_relative_only_within_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minicoil.io import display_path

    work = tmp_path / "a" / "checkout"
    (work / "models").mkdir(parents=True)
    (tmp_path / "a" / "shared").mkdir()
    monkeypatch.chdir(work)
    assert display_path(work / "models") == "models"
    assert display_path(tmp_path / "a" / "shared") == str(tmp_path / "a" / "shared")
    assert display_path(tmp_path / "a" / "shared", up=1) == "../shared"
    assert display_path(tmp_path, up=1) == str(tmp_path)
