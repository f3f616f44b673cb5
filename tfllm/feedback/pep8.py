"""PEP8 scorer: pycodestyle violations per character (Korbak et al. 2023, PEP8 task)."""

from tfllm.feedback import base
from tfllm.feedback import segmentation


class Pep8Scorer(base.Scorer):
    """Segments are lines (with their line break); a line scores violations / characters.

    The document score is total violations / total characters. The default threshold
    0.0 (any violation is misaligned) is the conditional-training threshold of Korbak et
    al.'s PEP8 experiments (their configs/pep8/conditional.yml); their filtering
    threshold was 0.002361.
    """

    name = "pep8"
    threshold = 0.0

    def config(self):
        import pycodestyle  # pylint: disable=import-outside-toplevel
        return {"pycodestyle": pycodestyle.__version__}

    def _score_text(self, text):
        from tfllm.feedback import pycodestyle_counts  # pylint: disable=import-outside-toplevel
        lines = segmentation.split_lines(text)
        counts = pycodestyle_counts.pep8_violations_per_line(text)
        if len(counts) != len(lines):
            raise RuntimeError(f"pep8 scorer: got {len(counts)} counts for {len(lines)} lines")
        document = sum(counts) / len(text) if text else 0.0
        scores = [count / len(line) for count, line in zip(counts, lines)]
        return base.from_segments(lines, scores, document)
