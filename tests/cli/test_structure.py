"""The command tree's shape: top-level commands, one name per option, no back-edges to cli."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import typer

from minicoil.cli import app

ROOT = Path(__file__).resolve().parents[2]


def all_commands() -> dict[str, Any]:
    """Every command (typer's click objects), sub-commands of groups as ``group sub``."""
    root: Any = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for name, command in root.commands.items():
        if hasattr(command, "commands"):  # a group
            found.update({f"{name} {sub}": c for sub, c in command.commands.items()})
        else:
            found[name] = command
    return found


def options(command: Any) -> dict[str, Any]:
    return {p.name: p for p in command.params if p.param_type_name == "option" and p.name}


def test_every_command_is_a_top_level_function_of_a_cli_module() -> None:
    groups = [group.typer_instance for group in app.registered_groups]
    registered = [*app.registered_commands, *(c for g in groups for c in g.registered_commands)]
    for info in registered:
        callback = info.callback
        assert callback is not None
        assert "<locals>" not in callback.__qualname__, callback.__qualname__
        assert callback.__module__.startswith("minicoil.cli."), callback.__module__


def test_shared_options_have_one_name_everywhere() -> None:
    commands = all_commands()
    model_help = set()
    for name, command in commands.items():
        opts = options(command)
        assert "limit" not in opts, f"{name}: --limit is --top-k"
        if "top_k" in opts:
            assert opts["top_k"].opts == ["--top-k", "-k"], name
        if "model" in opts:
            assert opts["model"].opts == ["--model", "-m"], name
            model_help.add(opts["model"].help)
        if "backend" in opts:
            assert opts["backend"].opts == ["--backend"], name
    assert len(model_help) == 1  # declared once
    assert {"search", "benchmark"} <= {n for n, c in commands.items() if "top_k" in options(c)}


def test_no_library_module_or_benchmark_imports_the_cli() -> None:
    files = [*(ROOT / "src" / "minicoil").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    offenders = []
    library = ROOT / "src" / "minicoil"
    for file in files:
        if file.is_relative_to(library / "cli"):
            continue
        for node in ast.walk(ast.parse(file.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(n == "minicoil.cli" or n.startswith("minicoil.cli.") for n in names):
                offenders.append(str(file.relative_to(ROOT)))
    assert offenders == []


def test_install_is_for_users_and_test_installs_the_test_extras() -> None:
    install = (ROOT / "scripts" / "install.sh").read_text("utf-8")
    test = (ROOT / "scripts" / "test.sh").read_text("utf-8")
    assert 'pip install "torch==2.13.0"' in install
    assert install.index("torch==2.13.0") < install.index("pip install -e .")
    assert "[test]" not in install
    assert 'pip install -e ".[test]"' in test
    assert "scripts/install_browser.sh" in test
    assert "ruff check src tests benchmarks" in test and "pytest" in test
