"""Lossless text segmentation: the segments of a text always concatenate back to it."""

import re

# A sentence ends after terminal punctuation (plus closing quotes/brackets) followed by
# whitespace, or at a blank line; the whitespace that follows belongs to the sentence.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+|\n[ \t\r\f\v]*\n\s*")


def split_lines(text):
    """Lines of `text`, each keeping its line break (`str.splitlines(keepends=True)`)."""
    return text.splitlines(keepends=True)


def split_sentences(text):
    """Sentences of `text` by a punctuation/blank-line regex (no abbreviation handling).

    Example: split_sentences("Hi there. Bye!") == ["Hi there. ", "Bye!"]
    """
    starts = [0] + [m.end() for m in _SENTENCE_END.finditer(text) if m.end() < len(text)]
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)]) if b > a]
