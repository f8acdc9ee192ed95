"""The embedded store on disk: where collections live and what each one's folder holds.

A store is a folder of collections, one folder each::

    <store>/<collection>/minicoil.json   metadata: format, model fingerprint, avg_len, n_docs
    <store>/<collection>/shard/          the Qdrant Edge shard (segments, WAL, config)
    <store>/<collection>/lock            OS lock file; holds the pid of the process using it

Edge's shard config drops keys it does not know, so the metadata lives beside the shard, written
atomically (:func:`minicoil.io.write_json`). This module reads that layout without importing an
engine, torch or qdrant-client, so listing collections (``minicoil collections``, the server's
start page) stays instant.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from minicoil.io import read_json

__all__ = [
    "LOCK_FILE",
    "METADATA_FILE",
    "METADATA_FORMAT",
    "METADATA_VERSION",
    "SHARD_DIR",
    "StoreError",
    "check_collection_name",
    "check_not_local_mode",
    "collection_dir",
    "default_store_path",
    "list_collections",
    "read_collection_metadata",
]

METADATA_FILE = "minicoil.json"
SHARD_DIR = "shard"
LOCK_FILE = "lock"
METADATA_FORMAT = "minicoil-collection"
# 2: Qdrant Edge shard + minicoil.json (1 was qdrant-client's local mode, metadata in meta.json)
METADATA_VERSION = 2


class StoreError(ValueError):
    """A store or collection folder that cannot be used; the message names the folder."""


def default_store_path() -> Path:
    """Where collections live when no path is given: the user's data folder (platformdirs),
    so ``minicoil index`` and ``minicoil search`` find the same collections from any folder."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("minicoil", appauthor=False)) / "collections"


def check_collection_name(name: str) -> str:
    """``name`` if it can be a folder name on every OS; else a :class:`StoreError`."""
    bad = set('/\\:*?"<>|\0')
    if not name or not name.strip() or name != name.strip():
        raise StoreError(f"collection name {name!r} must not be empty or padded with spaces")
    if name.startswith(".") or any(ch in bad or ord(ch) < 32 for ch in name) or len(name) > 200:
        raise StoreError(
            f"collection name {name!r} is not usable as a folder name "
            '(no leading dot, no / \\ : * ? " < > |, at most 200 characters)'
        )
    return name


def collection_dir(store: str | os.PathLike[str], name: str) -> Path:
    return Path(store) / check_collection_name(name)


def check_not_local_mode(store: str | os.PathLike[str]) -> None:
    """Refuse a folder written by qdrant-client's local mode (minicoil before Qdrant Edge):
    its collections cannot be read by Edge, and the only way forward is to index again."""
    folder = Path(store)
    if (folder / "meta.json").is_file() and (folder / "collection").is_dir():
        raise StoreError(
            f"{folder}: written by an older minicoil (qdrant-client local mode), which this "
            "version cannot read; index the corpus again into a new folder "
            "(`minicoil index CORPUS --collection NAME --path NEW_FOLDER`) or remove this one"
        )
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"{folder}: not a folder (a collection store is a folder)")


def read_collection_metadata(store: str | os.PathLike[str], name: str) -> dict[str, Any] | None:
    """The collection's ``minicoil.json``, or None if the collection does not exist.

    A damaged file raises :class:`StoreError` naming it."""
    check_not_local_mode(store)
    file = collection_dir(store, name) / METADATA_FILE
    if not file.is_file():
        return None
    data = read_json(file, StoreError, hint="")
    if not isinstance(data, dict):
        raise StoreError(f"{file}: not a JSON object")
    return data


def list_collections(store: str | os.PathLike[str]) -> list[str]:
    """Names of the collections in ``store`` (folders holding a shard and metadata), sorted."""
    folder = Path(store)
    check_not_local_mode(folder)
    if not folder.is_dir():
        return []
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if not entry.name.startswith(".")
        and (entry / METADATA_FILE).is_file()
        and (entry / SHARD_DIR).is_dir()
    )
