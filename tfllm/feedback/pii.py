"""PII scorer: scrubadub findings per character (Korbak et al. 2023, PII task)."""

import bisect
import functools

from tfllm.feedback import base
from tfllm.feedback import segmentation


@functools.cache
def _scrubber():
    import scrubadub  # pylint: disable=import-outside-toplevel
    return scrubadub.Scrubber()


class PiiScorer(base.Scorer):
    """Segments are sentences (`segmentation.split_sentences`); a sentence scores findings /
    characters, where a finding belongs to the sentence holding its first character.

    scrubadub's default detectors run once over the whole document (credential, credit
    card, e-mail, phone, twitter, url, social security number). The document score is
    total findings / total characters. The default threshold 0.0 is Korbak et al.'s PII
    conditional-training threshold (configs/pii/conditional.yml); filtering used 0.000286.
    """

    name = "pii"
    threshold = 0.0

    def config(self):
        import scrubadub  # pylint: disable=import-outside-toplevel
        return {"scrubadub": scrubadub.__version__}

    def _score_text(self, text):
        sentences = segmentation.split_sentences(text)
        starts = [0]
        for sentence in sentences[:-1]:
            starts.append(starts[-1] + len(sentence))
        counts = [0] * len(sentences)
        findings = [filth.beg for filth in _scrubber().iter_filth(text)] if text else []
        for begin in findings:
            counts[bisect.bisect_right(starts, begin) - 1] += 1
        document = len(findings) / len(text) if text else 0.0
        scores = [count / len(sentence) for count, sentence in zip(counts, sentences)]
        return base.from_segments(sentences, scores, document)
