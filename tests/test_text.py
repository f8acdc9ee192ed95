from __future__ import annotations

import pytest
import Stemmer

from minicoil.text import TextProcessor, Vocabulary, default_stopwords


def test_stopword_list_is_nltk_english() -> None:
    words = default_stopwords()
    assert len(words) == 179 and len(set(words)) == 179
    assert {"the", "and", "wouldn't", "ain"} <= set(words)


def test_words_lowercase_drop_punctuation_and_stopwords() -> None:
    text = "The Bank's river-bank, (banks)!"
    words = TextProcessor().words(text)
    assert [w.lower for w in words] == ["bank", "river", "bank", "banks"]
    assert [w.stem for w in words] == ["bank", "river", "bank", "bank"]
    for w in words:  # spans point into the original text
        assert text[w.start : w.end].lower() == w.lower


def test_words_rejects_non_text() -> None:
    with pytest.raises(TypeError, match="str"):
        TextProcessor().words(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("word", "restem_breaks"),
    [
        ("database", True),
        ("please", True),
        ("course", True),
        ("disease", True),
        ("university", False),
    ],
)
def test_a_word_is_stemmed_exactly_once(word: str, restem_breaks: bool) -> None:
    stemmer = Stemmer.Stemmer("english")
    once = stemmer.stemWord(word)
    # the reference's bug: Snowball is not idempotent, so re-stemming the stored stem loses it
    assert (stemmer.stemWord(once) != once) is restem_breaks
    vocab = Vocabulary.from_words([word])
    assert vocab.stems == [once]
    processor = TextProcessor()
    assert vocab.ids(processor.stems(f"A {word.upper()} here")) == [1]
    # a lookup never stems again: the stored stem itself is the key
    assert vocab.id(once) == 1
    if restem_breaks:
        assert vocab.id(stemmer.stemWord(once)) == 0


def test_vocabulary_groups_surface_forms_and_reserves_id_zero() -> None:
    vocab = Vocabulary.from_words(["Running", "runs", "run", "the", "bank"])
    assert vocab.stems == ["run", "bank"]
    assert vocab.forms["run"] == ["running", "runs", "run"]
    assert vocab.id("run") == 1 and vocab.id("bank") == 2 and vocab.id("nothing") == 0


def test_vocabulary_rejects_duplicates() -> None:
    with pytest.raises(ValueError, match="twice"):
        Vocabulary(stems=["bank", "bank"])
