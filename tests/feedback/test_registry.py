import pytest

from tfllm import feedback


def test_every_name_builds_its_scorer():
    assert set(feedback.SCORERS) == {"pep8", "pii", "offensive", "sentiment", "reward_model"}
    assert isinstance(feedback.get_scorer("sentiment", prefer="negative"), feedback.SentimentScorer)
    assert feedback.get_scorer("sentiment", prefer="negative").prefer == "negative"
    for name, cls in feedback.SCORERS.items():
        options = {"fn": len} if name == "reward_model" else {}
        scorer = feedback.get_scorer(name, **options)
        assert isinstance(scorer, cls) and scorer.name == name


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="unknown scorer 'toxicity'.*pep8"):
        feedback.get_scorer("toxicity")
