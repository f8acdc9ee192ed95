"""The model card (README.md inside a model folder): what a person needs to trust a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from minicoil.config import CARD_FILE, CONFIG_FILE, MiniCOILConfig
from minicoil.io import atomic_file, write_json


def render_model_card(config: MiniCOILConfig) -> str:
    """Markdown summary of a model folder: backbone, sizes, BM25 settings, training record."""
    lines = [
        "---",
        "library_name: minicoil",
        "tags: [sparse-retrieval, minicoil, bm25]",
        "---",
        "",
        "# miniCOIL model",
        "",
        "Sparse retrieval model: BM25 where each matched vocabulary word is weighted by the cosine",
        f"of its {config.dim}-d contextual meaning vectors in query and document.",
        "",
        "| setting | value |",
        "|---|---|",
        f"| backbone | `{config.backbone}` (hidden size {config.hidden_size}) |",
        f"| vocabulary (stems with a head) | {config.vocab_size:,} |",
        f"| meaning dimension | {config.dim} |",
        f"| BM25 k, b | {config.k}, {config.b} |",
        f"| window overlap (tokens) | {config.window_overlap} |",
        f"| format version | {config.format_version} |",
        "",
        "## Usage",
        "",
        "```python",
        "from minicoil import MiniCOIL",
        'model = MiniCOIL.from_pretrained("path/to/this/folder")',
        "model.fit(corpus_texts)  # measures avg_len for BM25",
        "doc_vectors = list(model.encode_document(corpus_texts))",
        'query_vector = next(model.encode_query("what is a bank?"))',
        "```",
        "",
    ]
    if config.evaluation:
        lines += ["## Evaluation", "", *_evaluation_rows(config.evaluation), ""]
    if config.training:
        lines += ["## Training", "", *_training_rows(config.training), ""]
    else:
        lines += ["No training record: this folder was not produced by `minicoil train`.", ""]
    return "\n".join(lines)


def _evaluation_rows(evaluation: dict[str, Any]) -> list[str]:
    """One row per (benchmark, system): its metrics as recorded by :func:`record_evaluation`."""
    rows = ["| benchmark | system | metrics |", "|---|---|---|"]
    for bench, systems in evaluation.items():
        for system, metrics in systems.items():
            text = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            rows.append(f"| {bench} | {system} | {text} |")
    return rows


def record_evaluation(folder: Path, benchmark: str, systems: dict[str, dict[str, float]]) -> None:
    """Store measured quality in a model folder's config and re-render its card.

    Kept next to the training record so that the numbers travel with the weights they were
    measured on; each file is replaced atomically.
    """
    config = MiniCOILConfig.load(folder)
    config.evaluation = {**config.evaluation, benchmark: systems}
    write_json(folder / CONFIG_FILE, config.to_dict())
    with atomic_file(folder / CARD_FILE) as handle:
        handle.write(render_model_card(config))


def _training_rows(training: dict[str, Any]) -> list[str]:
    rows = ["| item | value |", "|---|---|"]
    for key, value in training.items():
        if isinstance(value, (dict, list)):
            text = f"`{json.dumps(value, separators=(', ', ': '))}`"
        elif isinstance(value, str) and key == "command":
            text = f"`{value}`"
        else:
            text = str(value)
        rows.append(f"| {key.replace('_', ' ')} | {text} |")
    return rows
