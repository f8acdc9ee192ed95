"""The model folder's ``config.json``: what a folder promises, checked before anything loads."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from minicoil.backbone.paths import DEFAULT_BACKBONE
from minicoil.io import read_json

FORMAT_NAME = "minicoil"
FORMAT_VERSION = 1

CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.json"
STOPWORDS_FILE = "stopwords.txt"
HEADS_FILE = "heads.safetensors"
CARD_FILE = "README.md"


class ModelFormatError(ValueError):
    """A model folder that is incomplete, damaged or from an unknown format version."""


# JSON types each field accepts. Checked before the dataclass is built: a hand-edited
# ``"dim": "4"`` must be reported against config.json, not surface later as a TypeError from a
# comparison or a tensor shape deep inside encoding.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "hidden_size": (int,),
    "dim": (int,),
    "vocab_size": (int,),
    "backbone": (str,),
    "k": (int, float),
    "b": (int, float),
    "window_overlap": (int,),
    "max_length": (int, type(None)),
    "language": (str,),
    "format": (str,),
    "training": (dict,),
}
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", dict: "an object"}


def _check_types(data: dict[str, Any], source: Path) -> None:
    """Raise ModelFormatError naming ``source`` and the field when a value has the wrong type
    (``true`` is not a number here, although Python's bool is an int)."""
    for name, types in _FIELD_TYPES.items():
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, types):
            wanted = " or ".join(_TYPE_NAMES.get(t, "null") for t in types)
            raise ModelFormatError(f"{source}: {name!r} must be {wanted}, got {value!r}")


@dataclass
class MiniCOILConfig:
    """Everything needed to rebuild a model besides its weights.

    ``backbone`` is a reference: the default backbone's package name, or a path (relative paths
    are resolved against the model folder, so a folder can carry its own backbone).
    """

    hidden_size: int
    dim: int = 4
    vocab_size: int = 0
    backbone: str = DEFAULT_BACKBONE
    k: float = 1.2
    b: float = 0.75
    window_overlap: int = 32
    max_length: int | None = None
    language: str = "english"
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    training: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: Path) -> MiniCOILConfig:
        if not isinstance(data, dict):
            raise ModelFormatError(f"{source}: expected a JSON object")
        if data.get("format", FORMAT_NAME) != FORMAT_NAME:
            raise ModelFormatError(
                f"{source}: not a miniCOIL model (format {data.get('format')!r})"
            )
        version = data.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ModelFormatError(f"{source}: missing or invalid 'format_version'")
        if version > FORMAT_VERSION:
            raise ModelFormatError(
                f"{source}: format version {version} is newer than this minicoil supports "
                f"({FORMAT_VERSION}); upgrade the minicoil package"
            )
        known = {f.name for f in fields(cls)}
        missing = [name for name in ("hidden_size",) if name not in data]
        if missing:
            raise ModelFormatError(f"{source}: missing field(s) {', '.join(missing)}")
        _check_types(data, source)
        try:
            config = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ModelFormatError(f"{source}: {exc}") from exc
        if config.dim < 1 or config.vocab_size < 0 or config.hidden_size < 1:
            raise ModelFormatError(f"{source}: dim, hidden_size must be positive, vocab_size >= 0")
        if not (0.0 <= config.b <= 1.0) or not (math.isfinite(config.k) and config.k >= 0):
            raise ModelFormatError(f"{source}: BM25 needs a finite k >= 0 and 0 <= b <= 1")
        if config.window_overlap < 0 or (config.max_length is not None and config.max_length < 1):
            raise ModelFormatError(f"{source}: window_overlap must be >= 0, max_length >= 1")
        return config

    @classmethod
    def load(cls, folder: Path) -> MiniCOILConfig:
        path = folder / CONFIG_FILE
        hint = f" (is {folder} a miniCOIL model folder?)"
        return cls.from_dict(read_json(path, ModelFormatError, hint), path)
