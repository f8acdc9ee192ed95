"""MiniCOIL: text -> words -> backbone tokens -> per-word meanings -> sparse (and dense) vectors.

This is the one class users touch for inference. It follows the field's conventions:
``from_pretrained``/``save_pretrained`` model folders and ``encode_document``/``encode_query``
generators that accept any iterable of texts and yield results lazily, in order.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, overload

import numpy as np
import torch

from minicoil.backbone import (
    DEFAULT_BACKBONE,
    DEFAULT_ONNX_FILE,
    Backbone,
    BackboneError,
    read_hidden_size,
    resolve_backbone_path,
)
from minicoil.config import MiniCOILConfig, ModelFormatError
from minicoil.defaults import resolve_model
from minicoil.heads import Heads, HeadsDtype
from minicoil.io import atomic_dir
from minicoil.meaning import Meaning, analyse, assemble_sparse, text_meanings
from minicoil.model_folder import ModelFiles, read_model_folder, write_model_folder
from minicoil.sparse import SparseVector, oov_shift
from minicoil.stats import CorpusStats
from minicoil.text import TextProcessor, Vocabulary

Backend = Literal["torch", "onnx"]
"""Which runtime runs the backbone: torch (default) or onnxruntime (an exported graph)."""


Encoded = SparseVector | tuple[SparseVector, np.ndarray]


class MiniCOIL:
    """A miniCOIL model: a backbone, a stem vocabulary and one meaning head per stem.

    A model with an empty vocabulary is plain BM25 over the same words; it never runs the
    backbone unless dense vectors are asked for.
    """

    def __init__(
        self,
        config: MiniCOILConfig,
        vocab: Vocabulary,
        heads: Heads,
        processor: TextProcessor | None = None,
        backbone: Backbone | None = None,
        *,
        backbone_path: Path | None = None,
        device: str = "cpu",
        backend: Backend = "torch",
        file_name: str | None = None,
        graph: str | os.PathLike[str] | None = None,
    ):
        if len(vocab) != config.vocab_size or heads.vocab_size != config.vocab_size:
            raise ModelFormatError(
                f"vocabulary ({len(vocab)}), heads ({heads.vocab_size}) and config "
                f"({config.vocab_size}) disagree on the vocabulary size"
            )
        if heads.dim != config.dim or heads.hidden != config.hidden_size:
            raise ModelFormatError("heads do not match the config's dim/hidden_size")
        self.config = config
        self.vocab = vocab
        self.heads = heads
        self.processor = processor or TextProcessor(language=config.language)
        self._backbone = backbone
        self._backbone_path = backbone_path or resolve_backbone_path(config.backbone)
        self._device = device
        if backend not in ("torch", "onnx"):
            raise ValueError(f"backend must be 'torch' or 'onnx', got {backend!r}")
        if (file_name is not None or graph is not None) and backend != "onnx":
            raise ValueError("file_name/graph pick an ONNX graph; that needs backend='onnx'")
        self._backend: Backend = backend
        self._file_name = file_name
        self._graph = Path(graph) if graph is not None else None
        self.corpus_stats: CorpusStats | None = None
        self._shift = oov_shift(config.vocab_size, config.dim)

    # ------------------------------------------------------------------ construction

    @property
    def backbone(self) -> Backbone:
        """The transformer, loaded on first use (a BM25 model may never need it)."""
        if self._backbone is None:
            self._backbone = Backbone.load(
                self._backbone_path,
                runtime=self._backend,
                device=self._device,
                window_overlap=self.config.window_overlap,
                max_length=self.config.max_length,
                file_name=self._file_name or DEFAULT_ONNX_FILE,
                graph=self._graph,
            )
            if self._backbone.hidden_size != self.config.hidden_size:
                raise ModelFormatError(
                    f"backbone {self._backbone_path} has hidden size {self._backbone.hidden_size} "
                    f"but the heads expect {self.config.hidden_size}"
                )
        return self._backbone

    @classmethod
    def bm25(
        cls,
        backbone: str | os.PathLike[str] | Backbone = DEFAULT_BACKBONE,
        *,
        k: float = 1.2,
        b: float = 0.75,
        stopwords: Iterable[str] | None = None,
        device: str = "cpu",
    ) -> MiniCOIL:
        """A model with no heads: plain BM25 with the same tokenizer, and the backbone's dense
        vector when asked for. The baseline every other number is compared with."""
        processor = (
            TextProcessor(frozenset(stopwords)) if stopwords is not None else TextProcessor()
        )
        if isinstance(backbone, Backbone):
            if backbone.path is None:
                raise ValueError("a Backbone passed to bm25() must know its folder (Backbone.load)")
            hidden, reference, path, bb = (
                backbone.hidden_size,
                str(backbone.path),
                backbone.path,
                backbone,
            )
        else:
            path = resolve_backbone_path(backbone)
            try:
                hidden = read_hidden_size(path)
            except BackboneError as exc:
                raise ModelFormatError(str(exc)) from exc
            reference, bb = str(backbone), None
        config = MiniCOILConfig(
            hidden_size=hidden, dim=4, vocab_size=0, backbone=reference, k=k, b=b
        )
        return cls(
            config,
            Vocabulary(),
            Heads.zeros(0, hidden, 4),
            processor,
            bb,
            backbone_path=path,
            device=device,
        )

    def as_bm25(self) -> MiniCOIL:
        """Plain BM25 over exactly this model's words: same processor (stopwords, stemmer), k, b
        and backbone (for dense vectors). Comparing against it isolates what the heads add."""
        hidden = self.config.hidden_size
        config = MiniCOILConfig(
            hidden_size=hidden,
            backbone=self.config.backbone,
            k=self.config.k,
            b=self.config.b,
            window_overlap=self.config.window_overlap,
            max_length=self.config.max_length,
            language=self.config.language,
        )
        return MiniCOIL(
            config,
            Vocabulary(),
            Heads.zeros(0, hidden, config.dim),
            self.processor,
            self._backbone,
            backbone_path=self._backbone_path,
            device=self._device,
            backend=self._backend,
            file_name=self._file_name,
            graph=self._graph,
        )

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        device: str = "cpu",
        backbone: str | os.PathLike[str] | None = None,
        backend: Backend = "torch",
        file_name: str | None = None,
        graph: str | os.PathLike[str] | None = None,
    ) -> MiniCOIL:
        """Load a model by name (``"minicoil-en"``; None is the shipped model) or a folder
        written by :meth:`save_pretrained` (or by training).

        ``backbone`` overrides the folder's backbone reference (e.g. a local copy).
        ``backend="onnx"`` runs the backbone through onnxruntime from the ONNX graph that
        ``minicoil export onnx`` put in the backbone folder; ``file_name`` picks another graph
        there (``"model_qint8.onnx"``, the int8 one), as in sentence-transformers; ``graph``
        is a graph file anywhere (what :func:`minicoil.export.runtime.load_model` caches).
        Every file is checked, and an error names the file at fault.
        """
        folder = resolve_model(path)
        files = read_model_folder(folder)
        return cls(
            files.config,
            files.vocab,
            files.heads,
            files.processor,
            backbone_path=resolve_backbone_path(backbone or files.config.backbone, base=folder),
            device=device,
            backend=backend,
            file_name=file_name,
            graph=graph,
        )

    def save_pretrained(
        self,
        path: str | os.PathLike[str],
        *,
        heads_dtype: HeadsDtype = "float16",
        include_backbone: bool = False,
    ) -> None:
        """Write the model folder atomically: it appears complete or not at all.

        With ``include_backbone`` the backbone is copied into ``backbone/`` and the folder is
        self-contained; otherwise the config keeps a reference to the backbone. ``heads_dtype``
        is "float32", "float16" (default) or "int8" (per-word, per-dimension scales).
        """
        with atomic_dir(path) as tmp:
            self.write_folder(tmp, heads_dtype=heads_dtype, include_backbone=include_backbone)

    def write_folder(
        self,
        folder: Path,
        *,
        heads_dtype: HeadsDtype = "float16",
        include_backbone: bool = False,
    ) -> None:
        """Write the model's files into an existing (temporary) folder; not atomic by itself.

        Exporters call this inside their own ``atomic_dir`` to add files before the folder
        appears.
        """
        files = ModelFiles(self.config, self.vocab, self.processor, self.heads)
        write_model_folder(
            folder,
            files,
            self._backbone_path,
            heads_dtype=heads_dtype,
            include_backbone=include_backbone,
        )

    # ------------------------------------------------------------------ corpus statistics

    def fit(self, texts: Iterable[str]) -> CorpusStats:
        """Measure the corpus (:meth:`measure`) and keep the result on the model, where
        :meth:`encode_document` uses it; store it with the index."""
        self.corpus_stats = self.measure(texts)
        return self.corpus_stats

    def measure(self, texts: Iterable[str]) -> CorpusStats:
        """The corpus' size and mean document length (in kept words) for BM25's ``avg_len``,
        leaving the model unchanged (what an evaluation that must not mutate its inputs calls).

        Cheap: it tokenizes and stems but never runs the backbone.
        """

        def lengths() -> Iterator[int]:
            for i, text in enumerate(_as_texts(texts)):
                _check_text(text, i)
                yield len(self.processor.words(text))

        return CorpusStats.from_lengths(lengths())

    # ------------------------------------------------------------------ encoding

    @overload
    def encode_document(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int = ...,
        dense: Literal[False] = ...,
        avg_len: float | CorpusStats | None = ...,
        chunk_size: int | None = ...,
    ) -> Iterator[SparseVector]: ...
    @overload
    def encode_document(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int = ...,
        dense: Literal[True],
        avg_len: float | CorpusStats | None = ...,
        chunk_size: int | None = ...,
    ) -> Iterator[tuple[SparseVector, np.ndarray]]: ...

    def encode_document(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int = 32,
        dense: bool = False,
        avg_len: float | CorpusStats | None = None,
        chunk_size: int | None = None,
    ) -> Iterator[Encoded]:
        """Sparse document vectors (BM25 tf times meaning), lazily, in input order.

        ``avg_len`` (a number, or another corpus' :class:`CorpusStats`) defaults to the stats
        measured by :meth:`fit`; one of the two is required, because a guessed constant skews
        BM25's length normalisation on most corpora.
        With ``dense=True`` each item is ``(sparse, dense)`` from the same forward pass.
        """
        if avg_len is not None:
            stats = CorpusStats.coerce(avg_len)
        elif self.corpus_stats is not None:
            stats = self.corpus_stats
        else:
            raise ValueError(
                "document vectors need the corpus' average length: call model.fit(corpus) "
                "first or pass avg_len="
            )
        return self._encode(
            texts, avg_len=stats.avg_len, dense=dense, batch_size=batch_size, chunk_size=chunk_size
        )

    @overload
    def encode_query(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int = ...,
        dense: Literal[False] = ...,
        chunk_size: int | None = ...,
    ) -> Iterator[SparseVector]: ...
    @overload
    def encode_query(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int = ...,
        dense: Literal[True],
        chunk_size: int | None = ...,
    ) -> Iterator[tuple[SparseVector, np.ndarray]]: ...

    def encode_query(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int = 32,
        dense: bool = False,
        chunk_size: int | None = None,
    ) -> Iterator[Encoded]:
        """Sparse query vectors: unit meanings for vocabulary words, 1.0 for others, no tf
        (Qdrant's IDF modifier supplies the IDF at search time)."""
        return self._encode(
            texts, avg_len=None, dense=dense, batch_size=batch_size, chunk_size=chunk_size
        )

    def _encode(
        self,
        texts: str | Iterable[str],
        *,
        avg_len: float | None,
        dense: bool,
        batch_size: int,
        chunk_size: int | None,
    ) -> Iterator[Encoded]:
        """Blocks of ``chunk_size`` texts, each encoded in one go; ``avg_len`` None is a query."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        chunk = chunk_size or max(8 * batch_size, 64)
        iterator = iter(_as_texts(texts))
        position = 0
        while True:
            block = list(itertools.islice(iterator, chunk))
            if not block:
                return
            for i, text in enumerate(block):
                _check_text(text, position + i)
            position += len(block)
            yield from self._encode_block(block, avg_len, dense, batch_size)

    def _encode_block(
        self, texts: list[str], avg_len: float | None, dense: bool, batch_size: int
    ) -> list[Encoded]:
        analyses = [analyse(t, self.processor, self.vocab) for t in texts]
        run = [i for i, a in enumerate(analyses) if dense or a.has_vocab_words]
        meanings: dict[int, Meaning] = {}
        dense_out: torch.Tensor | None = None
        if run:
            tokenized = self.backbone.tokenize([texts[i] for i in run])
            token_embs, dense_vecs = self.backbone.embed(tokenized, batch_size=batch_size)
            meanings = text_meanings(analyses, run, tokenized, token_embs, self.heads)
            if dense:
                dense_out = torch.empty((len(texts), dense_vecs.shape[1]))
                dense_out[run] = dense_vecs
        config = self.config
        results: list[Encoded] = []
        for i, analysis in enumerate(analyses):
            sparse = assemble_sparse(
                analysis,
                meanings.get(i),
                self.vocab,
                avg_len=avg_len,
                k=config.k,
                b=config.b,
                dim=config.dim,
                shift=self._shift,
            )
            results.append((sparse, dense_out[i].numpy()) if dense_out is not None else sparse)
        return results


def _as_texts(texts: str | Iterable[str]) -> Iterable[str]:
    """A single string is one text, not an iterable of characters."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, bytes):
        raise TypeError("texts must be str or an iterable of str, not bytes")
    return texts


def _check_text(text: object, position: int) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text at position {position} is {type(text).__name__}, expected str")
