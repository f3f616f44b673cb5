import pytest

from tfllm.feedback import SentimentScorer

POSITIVE = "I love this wonderful, excellent movie!"
NEGATIVE = "This is a terrible, awful, hateful film."


def test_prefer_positive_ranks_positive_text_lower():
    pos, neg = SentimentScorer(prefer="positive").score([POSITIVE, NEGATIVE])
    assert pos.document_score < 0.5 < neg.document_score


def test_prefer_negative_is_the_mirror_image():
    scored_pos = SentimentScorer(prefer="positive").score([POSITIVE + " " + NEGATIVE])[0]
    scored_neg = SentimentScorer(prefer="negative").score([POSITIVE + " " + NEGATIVE])[0]
    assert scored_pos.segments == [POSITIVE + " ", NEGATIVE]
    for a, b in zip(scored_pos.segment_scores, scored_neg.segment_scores):
        assert a + b == pytest.approx(1.0)
    assert scored_pos.document_score == pytest.approx(sum(scored_pos.segment_scores) / 2)


def test_neutral_text_is_at_threshold_and_reward_is_negated():
    scorer = SentimentScorer()
    assert scorer.score(["The table has four legs."])[0].document_score == pytest.approx(0.5)
    assert scorer.reward([POSITIVE]) == [-scorer.score([POSITIVE])[0].document_score]


def test_bad_preference_raises():
    with pytest.raises(ValueError, match="prefer"):
        SentimentScorer(prefer="happy")
