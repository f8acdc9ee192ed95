"""Step 7 "Combine": stack the trained heads into a model folder the core library loads.

Words whose heads could not be trained (fewer than 3 usable samples) keep an all-zero head; at
inference such a word falls back to a hashed BM25 term, exactly like an out-of-vocabulary word,
so an untrained head can never distort a score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from minicoil.backbone import Backbone
from minicoil.config import MiniCOILConfig
from minicoil.heads import Heads, HeadsDtype
from minicoil.model import MiniCOIL
from minicoil.text import TextProcessor, Vocabulary


def combine_model(
    heads: np.ndarray,
    vocab: Vocabulary,
    backbone: Backbone,
    backbone_reference: str,
    out_dir: str | Path,
    *,
    training: dict[str, Any],
    processor: TextProcessor | None = None,
    k: float = 1.2,
    b: float = 0.75,
    heads_dtype: HeadsDtype = "float16",
) -> MiniCOIL:
    """Write the model folder (atomically) and return the loaded model."""
    if heads.shape[0] != len(vocab) + 1 or heads.shape[1] != backbone.hidden_size:
        raise ValueError(
            f"heads {heads.shape} do not fit vocabulary {len(vocab)} "
            f"/ hidden {backbone.hidden_size}"
        )
    weights = torch.from_numpy(np.ascontiguousarray(heads, dtype=np.float32))
    weights[0] = 0
    config = MiniCOILConfig(
        hidden_size=backbone.hidden_size,
        dim=int(heads.shape[2]),
        vocab_size=len(vocab),
        backbone=backbone_reference,
        k=k,
        b=b,
        window_overlap=backbone.window_overlap,
        training=training,
    )
    model = MiniCOIL(
        config, vocab, Heads(weights), processor, backbone, backbone_path=backbone.path
    )
    model.save_pretrained(out_dir, heads_dtype=heads_dtype)
    return MiniCOIL.from_pretrained(out_dir)
