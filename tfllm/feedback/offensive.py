"""Offensive-language scorer: alt-profanity-check probability per sentence."""

from tfllm.feedback import base
from tfllm.feedback import segmentation


class OffensiveScorer(base.Scorer):
    """Segments are sentences; a sentence scores `profanity_check.predict_prob` (0-1).

    The document score is the maximum over sentences (a text is as offensive as its worst
    sentence). The default threshold 0.5 is the classifier's decision boundary (our choice;
    Korbak et al. scored toxicity with Detoxify and used 0.00056).
    """

    name = "offensive"
    threshold = 0.5

    def config(self):
        from importlib import metadata  # pylint: disable=import-outside-toplevel
        return {"alt-profanity-check": metadata.version("alt-profanity-check")}

    def _score_batch(self, texts):
        import profanity_check  # pylint: disable=import-outside-toplevel
        per_text = [segmentation.split_sentences(text) for text in texts]
        flat = [sentence for sentences in per_text for sentence in sentences]
        probabilities = iter(profanity_check.predict_prob(flat).tolist() if flat else [])
        results = []
        for sentences in per_text:
            scores = [next(probabilities) for _ in sentences]
            results.append(base.from_segments(sentences, scores, max(scores, default=0.0)))
        return results
