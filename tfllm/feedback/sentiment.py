"""Sentiment scorer: VADER compound score per sentence, as misalignment in [0, 1]."""

import functools

from tfllm.feedback import base
from tfllm.feedback import segmentation

_PREFERENCES = ("positive", "negative")


@functools.cache
def _analyzer():
    from vaderSentiment import vaderSentiment  # pylint: disable=import-outside-toplevel
    return vaderSentiment.SentimentIntensityAnalyzer()


class SentimentScorer(base.Scorer):
    """Segments are sentences; misalignment is `(1 - compound) / 2` with prefer="positive"
    and `(1 + compound) / 2` with prefer="negative" (compound in [-1, 1]).

    The document score is the mean over sentences. The default threshold 0.5 (neutral
    text, compound 0) is our choice: over threshold means leaning the unwanted way.
    """

    name = "sentiment"
    threshold = 0.5

    def __init__(self, prefer="positive", **options):
        super().__init__(**options)
        if prefer not in _PREFERENCES:
            raise ValueError(f"sentiment scorer: prefer must be one of {_PREFERENCES}, "
                             f"got {prefer!r}")
        self.prefer = prefer

    def config(self):
        from importlib import metadata  # pylint: disable=import-outside-toplevel
        return {"prefer": self.prefer, "vaderSentiment": metadata.version("vaderSentiment")}

    def _score_text(self, text):
        sign = -1.0 if self.prefer == "positive" else 1.0
        sentences = segmentation.split_sentences(text)
        compounds = [_analyzer().polarity_scores(s)["compound"] for s in sentences]
        scores = [(1.0 + sign * compound) / 2.0 for compound in compounds]
        return base.from_segments(sentences, scores, sum(scores) / len(scores) if scores else 0.0)
