import pytest

from tfllm.feedback import Pep8Scorer

CODE = "x=1\ny = 2\n"  # line 1 has E225 (missing whitespace around operator)


def test_known_violation_scores_its_line_only():
    (scored,) = Pep8Scorer().score([CODE])
    assert scored.segments == ["x=1\n", "y = 2\n"]
    assert scored.segment_scores == [pytest.approx(1 / 4), 0.0]
    assert scored.document_score == pytest.approx(1 / len(CODE))
    assert scored.document_score > Pep8Scorer.threshold


def test_clean_code_and_empty_text_score_zero():
    clean, empty = Pep8Scorer().score(["def f(x):\n    return x\n", ""])
    assert clean.segment_scores == [0.0, 0.0] and clean.document_score == 0.0
    assert empty.segments == [] and empty.document_score == 0.0


def test_parallel_equals_serial():
    texts = [CODE, "import os,sys\n", "def f( a ):\n  return a\n", "", "y = 1\n"] * 2
    assert Pep8Scorer(num_workers=2).score(texts) == Pep8Scorer().score(texts)
