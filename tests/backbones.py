"""Tiny random transformer backbones, built in seconds, for tests.

Three tokenizer families, so the word rebuild is exercised on each: WordPiece (``##`` pieces),
byte-level BPE (RoBERTa/GPT-2 style) and Unigram with Metaspace (SentencePiece style). The
weights are random: tests check plumbing and invariants, never retrieval quality.
"""

from __future__ import annotations

import os
from pathlib import Path

from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TRAIN_TEXT = [
    "The bank of the river was flooded after the spring rain.",
    "She deposited money at the bank and opened a savings account.",
    "A bat flew out of the cave at dusk; the baseball bat was wooden.",
    "Databases at the university store course records, please update them.",
    "Running runners run; the runner ran quickly through the databases.",
    "Protein folding and gene expression in mammalian cells.",
    "Über café naïve résumé — unicode words, emoji 🙂 and numbers 1234.",
] * 4

HIDDEN = 32
MAX_LEN = 64


def _wordpiece() -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    )
    tok.train_from_iterator(TRAIN_TEXT, trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return tok


def _bpe() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<s>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(TRAIN_TEXT, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    return tok


def _unigram() -> Tokenizer:
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=200, special_tokens=["<pad>", "<unk>", "<s>", "</s>"], unk_token="<unk>"
    )
    tok.train_from_iterator(TRAIN_TEXT, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    return tok


SPECIALS = {
    "wordpiece": dict(pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]"),
    "bpe": dict(pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"),
    "unigram": dict(pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"),
}


def build_backbone(kind: str, folder: Path, seed: int = 0, max_len: int = MAX_LEN) -> Path:
    """Write a sentence-transformers folder with a random 2-layer BERT and a ``kind`` tokenizer."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    raw = {"wordpiece": _wordpiece, "bpe": _bpe, "unigram": _unigram}[kind]()
    hf_dir = folder / "hf"
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, model_max_length=max_len, **SPECIALS[kind]
    )
    tokenizer.model_input_names = ["input_ids", "attention_mask"]
    tokenizer.save_pretrained(hf_dir)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=raw.get_vocab_size(),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_len + 2,
        pad_token_id=tokenizer.pad_token_id,
    )
    BertModel(config).save_pretrained(hf_dir)
    st = SentenceTransformer(str(hf_dir), device="cpu", local_files_only=True)
    st.max_seq_length = max_len
    out = folder / "st"
    st.save(str(out))
    return out
