"""Export a model as a folder that fastembed's ``MiniCOIL`` class loads.

Qdrant users switch by changing a path::

    from fastembed import SparseTextEmbedding
    model = SparseTextEmbedding("Qdrant/minicoil-v1", specific_model_path=FOLDER, avg_len=AVG)

fastembed reads: ``onnx/model.onnx`` (its first output must be the token embeddings),
``tokenizer.json`` + ``tokenizer_config.json`` + ``special_tokens_map.json`` + ``config.json``,
``minicoil.triplet.model.npy`` (heads, (V+1, hidden, dim) float32, row 0 unused),
``minicoil.triplet.model.vocab`` (JSON: ``vocab`` word list, id = position + 1, and
``stem_mapping`` stem -> word) and ``stopwords.txt``.

Where fastembed's conventions differ from ours (see ``DIFFERENCES`` and the folder's README),
the vocabulary file is built so that fastembed's lookups land on our ids (``fastembed_vocab``);
what cannot be matched is listed in the README the export writes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from minicoil.backbone import DEFAULT_ONNX_FILE, ONNX_DIR
from minicoil.export.onnx import DEFAULT_OPSET, ExportError, export_backbone
from minicoil.io import atomic_dir, write_json
from minicoil.model import MiniCOIL

HEADS_FILE = "minicoil.triplet.model.npy"
VOCAB_FILE = "minicoil.triplet.model.vocab"
STOPWORDS_FILE = "stopwords.txt"
TOKENIZER_FILES = ("tokenizer.json", "config.json", "special_tokens_map.json", "vocab.txt")
FASTEMBED_MODEL_NAME = "Qdrant/minicoil-v1"

DIFFERENCES = """\
- A word that occurs several times in a text: fastembed averages the token embeddings of all
  occurrences and applies the head once; minicoil applies the head to each occurrence and
  averages the unit meanings. Words that occur once get the same vector.
- Texts longer than the backbone's window ({max_length} tokens with special tokens): fastembed
  truncates (later words are not indexed); minicoil covers the whole text with overlapping
  windows. The export sets `model_max_length` to {max_length} so fastembed's cut matches our
  first window.
- Word boundaries: minicoil's words are runs of letters/digits/underscore in the raw text;
  fastembed's are the backbone tokenizer's pre-tokenized words (BERT: "_" splits words, accents
  are stripped, CJK characters stand alone). Plain English text gives the same words.
- Stemming: fastembed stems with py_rust_stemmers, minicoil with PyStemmer; both are Snowball
  English but disagree on some words ("university": "univers" vs "universiti"). The export maps
  every surface form seen in training straight to its vocabulary id, so vocabulary words agree;
  out-of-vocabulary words whose stems differ are hashed to different indices (consistent within
  each library, not across them: index and query with the same one).
- fastembed looks a word up as a stem before stemming it: a word that equals one vocabulary
  stem but stems to another ({stem_conflicts} of {vocab_size} stems here) gets the first.
- Characters the backbone's tokenizer maps to [UNK] are dropped by fastembed; minicoil reads
  words from the raw text and indexes them.
- fastembed drops out-of-vocabulary stems longer than 40 characters; minicoil hashes them.
- BM25's `avg_len` is a constructor argument in fastembed (default 150): pass the corpus value
  (`minicoil encode` and `minicoil index` report it).
"""


def _check_wordpiece(tokenizer_file: Path) -> None:
    """fastembed rebuilds words from WordPiece tokens ("##" continuations) only."""
    try:
        model = json.loads(tokenizer_file.read_text("utf-8")).get("model", {})
    except (OSError, ValueError) as exc:
        raise ExportError(f"{tokenizer_file}: cannot read the tokenizer ({exc})") from exc
    if model.get("type") != "WordPiece" or model.get("continuing_subword_prefix") != "##":
        raise ExportError(
            f"{tokenizer_file}: fastembed's miniCOIL rebuilds words from WordPiece '##' "
            f"tokens only; this backbone's tokenizer is {model.get('type')!r}"
        )


def fastembed_vocab(model: MiniCOIL) -> dict[str, Any]:
    """fastembed's vocabulary JSON for ``model``: our stems as its words, and a stem mapping
    that sends fastembed's lookups to our ids.

    fastembed resolves a word by (1) the word itself among its words or mapping keys, then (2)
    its Snowball stem from ``py_rust_stemmers``, which differs from PyStemmer's Snowball on
    some words (university: "univers" there, "universiti" here). So the mapping holds, in this
    priority and never overwriting: every stem to itself, every recorded surface form to its
    stem (fastembed then never stems it, and agrees with us exactly), and the rust stem of every
    form to its stem (unrecorded forms of a word still land on it).
    """
    try:
        from py_rust_stemmers import SnowballStemmer
    except ImportError as exc:
        raise ExportError(
            "the fastembed export needs py_rust_stemmers (pip install 'minicoil[fastembed]')"
        ) from exc
    rust = SnowballStemmer(model.config.language)
    stems = list(model.vocab.stems)
    mapping: dict[str, str] = {s: s for s in stems}
    stopwords = model.processor.stopwords
    for layer in ("forms", "rust"):
        for stem in stems:
            forms = model.vocab.forms.get(stem, [])
            keys = forms if layer == "forms" else [rust.stem_word(f) for f in forms]
            for key in keys:
                if key not in stopwords:
                    mapping.setdefault(key, stem)
    return {"vocab": stems, "stem_mapping": mapping}


def stem_conflicts(model: MiniCOIL) -> list[str]:
    """Vocabulary stems that are themselves words stemming to another vocabulary stem."""
    stems = set(model.vocab.stems)
    stem = model.processor.stem
    return sorted(s for s in model.vocab.stems if stem(s) != s and stem(s) in stems)


def export_fastembed(
    model: MiniCOIL, out_dir: str | os.PathLike[str], *, opset: int = DEFAULT_OPSET
) -> Path:
    """Write the fastembed folder for ``model`` atomically; returns its path."""
    backbone = model.backbone
    source = backbone.path
    if source is None:
        raise ExportError("the model's backbone has no folder to take the tokenizer from")
    _check_wordpiece(source / "tokenizer.json")
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        export_backbone(backbone, tmp / ONNX_DIR / DEFAULT_ONNX_FILE, opset=opset)
        for name in TOKENIZER_FILES:
            if (source / name).exists():
                shutil.copy2(source / name, tmp / name)
        config_file = source / "tokenizer_config.json"
        config = json.loads(config_file.read_text("utf-8")) if config_file.exists() else {}
        config["model_max_length"] = backbone.max_length
        write_json(tmp / "tokenizer_config.json", config)
        np.save(tmp / HEADS_FILE, model.heads.weights.numpy().astype(np.float32))
        write_json(tmp / VOCAB_FILE, fastembed_vocab(model))
        (tmp / STOPWORDS_FILE).write_text(
            "".join(w + "\n" for w in sorted(model.processor.stopwords)), "utf-8"
        )
        (tmp / "README.md").write_text(_readme(model, backbone.max_length), "utf-8")
    return out


def _readme(model: MiniCOIL, max_length: int) -> str:
    differences = DIFFERENCES.format(
        max_length=max_length,
        stem_conflicts=len(stem_conflicts(model)),
        vocab_size=len(model.vocab),
    )
    return f"""# miniCOIL for fastembed

Exported by `minicoil export fastembed`: {len(model.vocab)} words, dim {model.config.dim},
backbone `{model.config.backbone}`.

```python
from fastembed import SparseTextEmbedding

model = SparseTextEmbedding(
    "{FASTEMBED_MODEL_NAME}", specific_model_path="PATH/TO/THIS/FOLDER", avg_len=AVG_LEN
)
doc_vectors = list(model.embed(documents))
query_vectors = list(model.query_embed(queries))
```

Index with Qdrant's IDF modifier on the sparse vector, as for miniCOIL from the hub.

## Where fastembed and minicoil differ

{differences}"""
