import random

import pytest

from tfllm.evaluation.leakage import VerbatimIndex


def brute_force_leaks(train, text, span):
    return any(text[i:i + span] in t for t in train for i in range(len(text) - span + 1))


def test_agrees_with_substring_search():
    rng = random.Random(0)
    train = ["".join(rng.choice("ab\n") for _ in range(300)) for _ in range(5)]
    index = VerbatimIndex(train, span=10)
    queries = ["".join(rng.choice("ab\n") for _ in range(40)) for _ in range(300)]
    expected = [brute_force_leaks(train, q, 10) for q in queries]
    assert 30 < sum(expected) < 270  # both outcomes occur
    assert [index.leaks(q) for q in queries] == expected


def test_exact_span_boundaries_and_text_boundaries():
    index = VerbatimIndex(["def add(a, b):\n", "    return a + b\n"], span=12)
    assert index.leaks("x = 1\ndef add(a, b):")  # 15 characters in common
    assert not index.leaks("def add(a")  # 9 < span
    # A window made of the end of one training text and the start of the next is not
    # in the training data.
    assert not index.leaks("b):\n    return")
    assert not index.leaks("b):\n\x00    return")
    assert index.leaked_share(["def add(a, b):", "nothing here at all"]) == 0.5
    assert index.leaked_share([]) == 0.0


def test_bad_span():
    with pytest.raises(ValueError, match="span must be >= 1"):
        VerbatimIndex(["abc"], span=0)
