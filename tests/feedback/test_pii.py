import pytest

from tfllm.feedback import PiiScorer


def test_email_scores_only_its_sentence():
    text = "Hello there. Write to jane.roe@example.com for details. Bye now."
    (scored,) = PiiScorer().score([text])
    assert scored.segments == ["Hello there. ", "Write to jane.roe@example.com for details. ",
                               "Bye now."]
    assert scored.segment_scores == [0.0, pytest.approx(1 / len(scored.segments[1])), 0.0]
    assert scored.document_score == pytest.approx(1 / len(text))
    assert scored.document_score > PiiScorer.threshold


def test_clean_and_empty_texts_score_zero():
    clean, empty = PiiScorer().score(["Nothing personal in here. Really.", ""])
    assert clean.segment_scores == [0.0, 0.0] and clean.document_score == 0.0
    assert empty.segments == [] and empty.document_score == 0.0
