"""Training pipeline: from raw text to a complete miniCOIL model.

Each step is a module with one entry function that streams its input to one output file,
writes atomically and leaves a small JSON "done" marker, so a rerun with the same inputs
skips finished steps instead of redoing hours of work:

1. :mod:`minicoil.train.corpus` - convert WikiExtractor / plain text / JSONL / BEIR corpora
   to one paragraph per line.
2. :mod:`minicoil.train.sentences` - split paragraphs into clean, deduplicated sentences.
"""
