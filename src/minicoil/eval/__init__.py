"""Evaluation harness: BEIR loading, TREC run files and trec_eval metrics.

These pieces do not depend on the model, so any retrieval system that produces
``{query_id: {doc_id: score}}`` runs can be evaluated with them.
"""

from minicoil.eval.beir import BeirDataset, DatasetError, Document, indexable_text, load_beir
from minicoil.eval.metrics import evaluate, evaluate_per_query, remove_self_hits
from minicoil.eval.runs import RunFileError, read_trec_run, write_trec_run

__all__ = [
    "BeirDataset",
    "DatasetError",
    "Document",
    "RunFileError",
    "evaluate",
    "evaluate_per_query",
    "indexable_text",
    "load_beir",
    "read_trec_run",
    "remove_self_hits",
    "write_trec_run",
]
