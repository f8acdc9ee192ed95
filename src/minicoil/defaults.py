"""Models by name: where the shipped model lives and how a name or a path becomes a folder.

Cheap to import (no torch): the CLI resolves and checks a model argument before loading it.
"""

from __future__ import annotations

import os
from pathlib import Path

from minicoil.config import CONFIG_FILE, ModelFormatError

SHIPPED_MODEL_NAME = "minicoil-en"
KNOWN_MODELS = (SHIPPED_MODEL_NAME,)
"""Names ``MiniCOIL.from_pretrained`` accepts besides a folder."""


def model_path(name: str) -> Path | None:
    """The installed folder of the known model ``name``, or None while it is not installed.

    It is looked for inside the package (wheel and editable installs of the src layout).
    """
    candidate = Path(__file__).resolve().parent / "models" / name
    return candidate if (candidate / CONFIG_FILE).exists() else None


def default_model_path() -> Path | None:
    """The shipped model folder, or None while no trained model is installed."""
    return model_path(SHIPPED_MODEL_NAME)


def resolve_model(name_or_path: str | os.PathLike[str] | None = None) -> Path:
    """The model folder for a known name, a path, or None (the shipped model).

    A folder that exists wins over a name, as in sentence-transformers; anything else that is
    neither gets one error listing the known names.
    """
    if name_or_path is None:
        name_or_path = SHIPPED_MODEL_NAME
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    text = str(name_or_path)
    if text in KNOWN_MODELS:
        found = model_path(text)
        if found is None:
            raise ModelFormatError(f"model {text!r} is not installed with this minicoil package")
        return found
    if os.sep in text or (os.altsep and os.altsep in text) or path.suffix or path.exists():
        raise ModelFormatError(f"model folder not found: {text}")
    raise ModelFormatError(
        f"unknown model {text!r}: known models are {', '.join(KNOWN_MODELS)}, "
        "or give a model folder"
    )
