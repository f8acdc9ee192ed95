"""The one reader and writer of ``vocab.json`` (model folders and training work folders alike)
and of ``stopwords.txt``, with errors that name the file at fault."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from minicoil.config import ModelFormatError
from minicoil.io import atomic_file, read_json, write_json
from minicoil.text import Vocabulary


def save_vocab(path: Path, vocab: Vocabulary, counts: Mapping[str, int] | None = None) -> None:
    """``{"stems": [...in id order...], "forms": {stem: [surface forms]}}``; id = position + 1.

    ``counts`` (corpus frequency per stem, written by training) is kept for readers of the
    file; loading ignores it.
    """
    data: dict[str, object] = {
        "stems": vocab.stems,
        "forms": {s: vocab.forms.get(s, []) for s in vocab.stems},
    }
    if counts is not None:
        data["counts"] = {s: int(counts[s]) for s in vocab.stems if s in counts}
    write_json(path, data)


def load_vocab(path: Path, *, expected_size: int | None = None) -> Vocabulary:
    """Read and validate ``vocab.json``; ``expected_size`` is the size ``config.json`` states
    (None where no config exists yet, as in a training work folder)."""
    data = read_json(path, ModelFormatError)
    stems = data.get("stems") if isinstance(data, dict) else None
    if not isinstance(stems, list) or not all(isinstance(s, str) for s in stems):
        raise ModelFormatError(f"{path}: expected an object with a list of strings under 'stems'")
    if expected_size is not None and len(stems) != expected_size:
        raise ModelFormatError(
            f"{path}: holds {len(stems)} stems but config.json says vocab_size={expected_size}"
        )
    forms = data.get("forms", {})
    if not isinstance(forms, dict) or not all(isinstance(v, list) for v in forms.values()):
        raise ModelFormatError(f"{path}: 'forms' must be an object of lists")
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
