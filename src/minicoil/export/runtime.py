"""Fast by default: load a model with its backbone as an ONNX graph, int8 unless told otherwise.

The CLI, the Retriever and the server load models through :func:`load_model`. For the onnx
backends the backbone's graph is built once (torch trace, then int8 quantization: 1.8x faster
encoding for -0.0016 SciFact NDCG@10, BENCHMARKS.md) and cached, keyed by the backbone folder's
content, so an edited or replaced backbone gets a new graph and an unchanged one never pays for
the export again. A backbone folder that already holds ``onnx/<graph>`` (a folder written by
``minicoil export onnx``) is used as it is.

Where the cache lives: ``.onnx-cache/`` beside the model folder when that is writable (a
checkout, a user's own model), else the user cache folder (a read-only site-packages install).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from minicoil.backbone import (
    DEFAULT_ONNX_FILE,
    ONNX_DIR,
    QUANTIZED_ONNX_FILE,
    onnx_path,
    resolve_backbone_path,
)
from minicoil.config import MiniCOILConfig
from minicoil.defaults import default_model_path, resolve_model
from minicoil.io import atomic_file, remove_stale_temporaries, write_json

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

# torch, the model and the exporter are imported where they are used: a command line checks
# ``--backend`` against BACKENDS before anything heavy loads.

BACKENDS = ("onnx-int8", "onnx", "torch")
"""Runtimes a model loads with: the int8 graph (default), the fp32 graph, or torch fp32."""

CACHE_DIR_NAME = ".onnx-cache"
CACHE_FORMAT = 1
"""Part of every cache key: raise it when the export changes what a cached graph holds."""

_GRAPHS = {"onnx-int8": QUANTIZED_ONNX_FILE, "onnx": DEFAULT_ONNX_FILE}
_SKIPPED = {ONNX_DIR, "openvino", "README.md", ".gitattributes"}  # do not change the graph


def load_model(
    name_or_path: str | os.PathLike[str] | None = None,
    backend: str = "onnx-int8",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> MiniCOIL:
    """Load a model by name or folder (None: the shipped model) with the chosen ``backend``.

    The first onnx load of a backbone builds its graphs (about a minute for MiniLM on two
    cores); later loads find them in the cache. ``cache_dir`` overrides where they are kept.
    Without a shipped model, ``None`` gives plain BM25 (its backbone only serves dense vectors).
    """
    from minicoil.model import MiniCOIL

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if name_or_path is None and default_model_path() is None:
        return MiniCOIL.bm25()
    folder = resolve_model(name_or_path)
    if backend == "torch":
        return MiniCOIL.from_pretrained(folder)
    config = MiniCOILConfig.load(folder)
    backbone_dir = resolve_backbone_path(config.backbone, base=folder)
    file_name = _GRAPHS[backend]
    graph = onnx_path(backbone_dir, file_name)
    if not graph.exists():
        graph = cached_graph(backbone_dir, file_name, folder, cache_dir)
    return MiniCOIL.from_pretrained(folder, backend="onnx", graph=graph)


def cached_graph(
    backbone_dir: Path,
    file_name: str,
    model_dir: Path,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """The cached graph ``file_name`` of ``backbone_dir``, built first if no cache has it.

    Hashing the weights takes longer than starting the session, so each cache remembers the
    content key of a folder under a key of its files' names, sizes and modification times:
    an unchanged folder is not read again, and any edit (which changes a size or a time)
    is hashed anew.
    """
    roots = [Path(cache_dir)] if cache_dir is not None else cache_roots(model_dir)
    quick = _stat_key(backbone_dir)
    for root in roots:
        remembered = _read_memo(root, quick)
        if remembered and (root / remembered / file_name).exists():
            return root / remembered / file_name
    key = backbone_key(backbone_dir)
    for root in roots:
        if (root / key / file_name).exists():
            _write_memo(root, quick, key)
            return root / key / file_name
    errors = []
    for root in roots:
        try:
            graph = build_graphs(backbone_dir, root / key) / file_name
        except OSError as exc:  # read-only (EACCES, EROFS) or full: try the next place
            errors.append(f"{root}: {exc}")
            continue
        _write_memo(root, quick, key)
        return graph
    raise PermissionError(f"no writable cache for the ONNX graph: {'; '.join(errors)}")


def _hashed_files(folder: Path) -> list[tuple[Path, Path]]:
    """(path, path relative to ``folder``) of every file that shapes the graph, sorted."""
    out = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_dir() and not _SKIPPED.intersection(relative.parts):
            out.append((path, relative))
    return out


def _stat_key(folder: Path) -> str:
    from minicoil.export.onnx import DEFAULT_OPSET

    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"format {CACHE_FORMAT} opset {DEFAULT_OPSET}\0{folder.resolve()}".encode())
    for path, relative in _hashed_files(folder):
        stat = path.stat()
        digest.update(f"\0{relative.as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _read_memo(root: Path, quick: str) -> str | None:
    try:
        return (root / "keys" / quick).read_text("utf-8").strip() or None
    except OSError:
        return None


def _write_memo(root: Path, quick: str, key: str) -> None:
    """Best effort: without the memo the next load only hashes again."""
    with contextlib.suppress(OSError):
        (root / "keys").mkdir(parents=True, exist_ok=True)
        with atomic_file(root / "keys" / quick) as handle:
            handle.write(key + "\n")


def cache_roots(model_dir: Path) -> list[Path]:
    """Beside the model folder first, then the user cache folder."""
    import platformdirs

    beside = model_dir.resolve().parent / CACHE_DIR_NAME
    return [beside, Path(platformdirs.user_cache_dir("minicoil")) / "onnx"]


def backbone_key(folder: Path) -> str:
    """A digest of everything in ``folder`` that shapes its graph: weights, configs, tokenizer."""
    from minicoil.export.onnx import DEFAULT_OPSET

    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"format {CACHE_FORMAT} opset {DEFAULT_OPSET}\n".encode())
    for path, relative in _hashed_files(folder):
        digest.update(f"{relative.as_posix()}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def build_graphs(backbone_dir: Path, target: Path) -> Path:
    """Write the fp32 and int8 graphs of ``backbone_dir`` into the new folder ``target``.

    The folder appears whole or not at all, and never replaces one that exists: when two
    processes build it at once, the first rename wins and the second discards its copy, so a
    process already reading the graph is never left without it (a replacing rename would
    leave a moment with no folder there).
    """
    from minicoil.backbone import Backbone
    from minicoil.export.onnx import export_backbone, quantize_backbone

    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    try:
        fp32 = export_backbone(Backbone.load(backbone_dir), tmp / DEFAULT_ONNX_FILE)
        quantize_backbone(fp32, tmp / QUANTIZED_ONNX_FILE)
        write_json(tmp / "source.json", {"backbone": str(backbone_dir), "format": CACHE_FORMAT})
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / QUANTIZED_ONNX_FILE).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
