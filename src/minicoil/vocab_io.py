"""Reading and writing the vocabulary and stopword files of a model folder, with errors that
name the file at fault."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from minicoil.config import ModelFormatError
from minicoil.io import atomic_file, read_json, write_json
from minicoil.text import Vocabulary


def save_vocab(path: Path, vocab: Vocabulary) -> None:
    """``{"stems": [...in id order...], "forms": {stem: [surface forms]}}``; id = position + 1."""
    write_json(
        path, {"stems": vocab.stems, "forms": {s: vocab.forms.get(s, []) for s in vocab.stems}}
    )


def load_vocab(path: Path, *, expected_size: int) -> Vocabulary:
    data = read_json(path, ModelFormatError)
    stems = data.get("stems") if isinstance(data, dict) else None
    if not isinstance(stems, list) or not all(isinstance(s, str) for s in stems):
        raise ModelFormatError(f"{path}: expected an object with a list of strings under 'stems'")
    if len(stems) != expected_size:
        raise ModelFormatError(
            f"{path}: holds {len(stems)} stems but config.json says vocab_size={expected_size}"
        )
    forms = data.get("forms", {})
    if not isinstance(forms, dict):
        raise ModelFormatError(f"{path}: 'forms' must be an object")
    try:
        return Vocabulary(stems=stems, forms={k: list(v) for k, v in forms.items()})
    except ValueError as exc:
        raise ModelFormatError(f"{path}: {exc}") from exc


def save_stopwords(path: Path, words: Iterable[str]) -> None:
    with atomic_file(path) as handle:
        for word in words:
            handle.write(word + "\n")


def load_stopwords(path: Path) -> list[str]:
    if not path.exists():
        raise ModelFormatError(f"{path}: file not found")
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFormatError(f"{path}: not UTF-8 text ({exc})") from exc
    return [line.strip().lower() for line in text.splitlines() if line.strip()]
