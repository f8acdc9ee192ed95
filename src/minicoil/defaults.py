"""Where the shipped default model lives."""

from __future__ import annotations

from pathlib import Path

SHIPPED_MODEL_NAME = "minicoil-en"


def default_model_path() -> Path | None:
    """The shipped model folder, or None while no trained model is installed.

    It is looked for inside the package (wheel installs) and in the repository's ``models/``
    folder (editable installs).
    """
    here = Path(__file__).resolve().parent
    for candidate in (
        here / "models" / SHIPPED_MODEL_NAME,
        here.parent / "models" / SHIPPED_MODEL_NAME,
    ):
        if (candidate / "config.json").exists():
            return candidate
    return None
