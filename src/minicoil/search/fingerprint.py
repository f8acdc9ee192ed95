"""A model's fingerprint: everything that changes its vectors, as JSON-able values and digests.

A collection records the fingerprint of the model that built it; adding to it or searching it
with another model is refused, because mixed vectors silently give meaningless scores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minicoil.search.store import METADATA_FORMAT, METADATA_VERSION, StoreError

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

__all__ = [
    "FIELDS",
    "SearchIndexError",
    "check_metadata",
    "describe",
    "differences",
    "metadata_record",
    "model_fingerprint",
]

_SAMPLE = 1 << 20  # bytes hashed at each end of a large backbone file

# Human names of fingerprint fields, for mismatch messages; "backbone" itself (a path or a
# package name) is informational only: moving a model folder must not invalidate its index.
FIELDS = {
    "backbone_sha256": "backbone weights/tokenizer",
    "hidden_size": "hidden size",
    "dense_size": "dense size",
    "vocab_size": "vocabulary size",
    "dim": "meaning dim",
    "k": "BM25 k",
    "b": "BM25 b",
    "language": "language",
    "vocab_sha256": "vocabulary",
    "stopwords_sha256": "stopwords",
    "heads_sha256": "heads",
}


def _sha256_lines(items: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()


def _backbone_digest(folder: Path | None) -> str | None:
    """A cheap content digest of a sentence-transformers folder.

    Covers configs, tokenizer files and weights of the folder and its module subfolders
    (names, sizes, and the first and last MiB of each file), so a copied or moved backbone
    keeps its digest while another checkpoint of the same architecture does not.
    """
    if folder is None or not Path(folder).is_dir():
        return None
    root = Path(folder)
    digest = hashlib.sha256()
    wanted = {".json", ".txt", ".model", ".safetensors", ".bin"}
    files = []
    for file in root.rglob("*"):
        rel = file.relative_to(root).parts
        if (
            file.is_file()
            and file.suffix in wanted
            and len(rel) <= 2
            and not any(part.startswith(".") for part in rel)
            and rel[0] not in ("onnx", "openvino")
        ):
            files.append(file)
    for file in sorted(files):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(root).as_posix()}\0{size}\0".encode())
        with file.open("rb") as handle:
            digest.update(handle.read(_SAMPLE))
            if size > _SAMPLE:
                handle.seek(max(_SAMPLE, size - _SAMPLE))
                digest.update(handle.read())
    return digest.hexdigest()


def model_fingerprint(model: MiniCOIL) -> dict[str, Any]:
    """Everything that changes a model's vectors, as JSON-able values and digests.

    Heads are hashed as float16 (the saved precision), so a model in memory and the same model
    saved and reloaded agree.
    """
    import torch

    config = model.config
    backbone = model.backbone
    heads = model.heads.weights.detach().to(torch.float16).contiguous().numpy()
    return {
        "backbone": str(config.backbone),
        "backbone_sha256": _backbone_digest(backbone.path),
        "hidden_size": int(config.hidden_size),
        "dense_size": int(backbone.dense_size),
        "vocab_size": int(config.vocab_size),
        "dim": int(config.dim),
        "k": float(config.k),
        "b": float(config.b),
        "language": str(config.language),
        "vocab_sha256": _sha256_lines(model.vocab.stems),
        "stopwords_sha256": _sha256_lines(sorted(model.processor.stopwords)),
        "heads_sha256": hashlib.sha256(heads.tobytes()).hexdigest(),
    }


def describe(fingerprint: Mapping[str, Any]) -> str:
    return (
        f"backbone {fingerprint.get('backbone')}, {fingerprint.get('vocab_size')} words, "
        f"dim {fingerprint.get('dim')}"
    )


def differences(built: Mapping[str, Any], mine: Mapping[str, Any]) -> list[str]:
    """Human names of the fingerprint fields in which two models differ."""
    return [name for key, name in FIELDS.items() if built.get(key) != mine.get(key)]


class SearchIndexError(StoreError):
    """A collection that is missing, not built by minicoil (or by a newer one), or built with
    another model."""


def metadata_record(fingerprint: dict[str, Any], avg_len: float, n_docs: int) -> dict[str, Any]:
    """The metadata a collection carries (Edge: ``minicoil.json``; server: collection metadata)."""
    return {
        "format": METADATA_FORMAT,
        "version": METADATA_VERSION,
        "model": fingerprint,
        "corpus": {"avg_len": float(avg_len), "n_docs": int(n_docs)},
    }


def check_metadata(
    meta: Mapping[str, Any] | None, fingerprint: Mapping[str, Any], what: str
) -> dict[str, Any]:
    """``meta`` if it is minicoil's and was built with the model of ``fingerprint``; else a
    :class:`SearchIndexError` naming collection ``what`` and, for a model, what differs."""
    if meta is None or meta.get("format") != METADATA_FORMAT:
        raise SearchIndexError(
            f"collection {what} was not built by minicoil "
            "(no minicoil collection metadata); use another name or recreate it"
        )
    if int(meta.get("version", 0)) > METADATA_VERSION:
        raise SearchIndexError(
            f"collection {what} was built by a newer minicoil "
            f"(metadata version {meta.get('version')}); upgrade the minicoil package"
        )
    built = meta.get("model") or {}
    differ = differences(built, fingerprint)
    if differ:
        raise SearchIndexError(
            f"collection {what} was built with another model "
            f"({describe(built)}; differs in {', '.join(differ)}): use the model it was "
            "built with, or rebuild it with this model (`minicoil index --recreate`)"
        )
    return dict(meta)
