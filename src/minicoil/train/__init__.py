"""Training pipeline: from raw text to a complete miniCOIL model.

Each step is a module with one entry function that streams its input to its output, writes
atomically and keeps a :class:`~minicoil.train.steps.StepRecord` of its parameters, so a rerun
with the same inputs skips finished steps (or finished chunks) instead of redoing hours of work:

1. :mod:`minicoil.train.corpus` - convert WikiExtractor / plain text / JSONL / BEIR corpora
   (parsed by :mod:`minicoil.data`) to one paragraph per line.
2. :mod:`minicoil.train.sentences` - split paragraphs into clean, deduplicated sentences.
3. :mod:`minicoil.train.vocab` - count stems and choose the vocabulary (``vocab.json``).
4. :mod:`minicoil.train.sample` then :mod:`minicoil.train.encode` - pick each word's sentences,
   then encode them in one backbone pass.
5. :mod:`minicoil.train.targets` - what each head is taught (triplets from the teacher).
6. :mod:`minicoil.train.fit` - train all heads, chunk by chunk.
7. :mod:`minicoil.train.combine` - write the model folder.

:mod:`minicoil.train.pipeline` runs them in order in one work folder.
"""
