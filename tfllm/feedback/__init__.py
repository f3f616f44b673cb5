"""tfllm.feedback: scorers, measurable stand-ins for human preference.

Scores are misalignment, lower is better (see `base` for the full convention).
`get_scorer(name, **options)` builds one by name for configs.
"""

from tfllm.feedback.base import ScoredText, Scorer
from tfllm.feedback.offensive import OffensiveScorer
from tfllm.feedback.pep8 import Pep8Scorer
from tfllm.feedback.pii import PiiScorer
from tfllm.feedback.reward_model import RewardModelScorer
from tfllm.feedback.sentiment import SentimentScorer

SCORERS = {cls.name: cls for cls in (Pep8Scorer, PiiScorer, OffensiveScorer, SentimentScorer,
                                     RewardModelScorer)}


def get_scorer(name, **options):
    """Builds the scorer registered as `name` with constructor `options`."""
    if name not in SCORERS:
        raise ValueError(f"unknown scorer {name!r}; known scorers: {sorted(SCORERS)}")
    return SCORERS[name](**options)


__all__ = ["SCORERS", "OffensiveScorer", "Pep8Scorer", "PiiScorer", "RewardModelScorer",
           "ScoredText", "Scorer", "SentimentScorer", "get_scorer"]
