"""Scorer base class: batching, validation, process parallelism and an on-disk cache.

Convention (the one place it is stated): every scorer returns **misalignment, lower is
better**. A text is "over threshold" (misaligned) when its score is strictly greater
than `Scorer.threshold`. Higher-is-better rewards for RL are `-document_score`.
An empty text has no segments; rule-based scorers give it a document score of 0.0.
"""

import concurrent.futures
import dataclasses
import hashlib
import json
import math
import multiprocessing
import os

from tfllm.files import write_atomically


@dataclasses.dataclass(frozen=True)
class ScoredText:
    """Per-segment and document misalignment of one text; `"".join(segments)` is the text."""

    segments: list[str]
    segment_scores: list[float]
    document_score: float


class Scorer:
    """Base scorer: subclasses set `name`, `version`, `threshold` and implement `_score_text`.

    Args:
        num_workers: processes used by `score` when there are at least that many texts
            to compute (1 = in this process). Workers are spawned, so a scorer must be
            picklable.
        cache_dir: folder for an on-disk cache of results, keyed by scorer name, version,
            options (`config()`) and the SHA-256 of the text; files are written atomically.
        threshold: overrides the scorer's default misalignment threshold.
    """

    name = "base"
    version = 1
    threshold = 0.0

    def __init__(self, num_workers=1, cache_dir=None, threshold=None):
        if not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(f"{self.name} scorer: num_workers must be an int >= 1, "
                             f"got {num_workers!r}")
        self.num_workers = num_workers
        self.cache_dir = None if cache_dir is None else os.fspath(cache_dir)
        if threshold is not None:
            self.threshold = float(threshold)

    def config(self):
        """Options (and library versions) that change the scores; part of the cache key."""
        return {}

    def _score_text(self, text):
        """Scores one non-validated text; returns a ScoredText."""
        raise NotImplementedError

    def _score_batch(self, texts):
        """Scores a list of texts in this process; batched scorers override this."""
        return [self._score_text(text) for text in texts]

    def score(self, texts):
        """Scores `texts` (a list of str) and returns one ScoredText per text."""
        texts = _check_texts(texts, self.name)
        results = [self._cache_read(text) for text in texts]
        todo = [i for i, result in enumerate(results) if result is None]
        for i, result in zip(todo, self._compute([texts[i] for i in todo])):
            _check_result(result, texts[i], self.name)
            results[i] = result
            self._cache_write(texts[i], result)
        return results

    def reward(self, texts):
        """Higher-is-better reward per text: `-document_score`."""
        return [-scored.document_score for scored in self.score(texts)]

    def _compute(self, texts):
        if self.num_workers == 1 or len(texts) < self.num_workers:
            return self._score_batch(texts)
        chunk = math.ceil(len(texts) / (4 * self.num_workers))
        chunks = [texts[i:i + chunk] for i in range(0, len(texts), chunk)]
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(self.num_workers, mp_context=context) as pool:
            return [result for part in pool.map(self._score_batch, chunks) for result in part]

    def _cache_path(self, text):
        key = json.dumps({"name": self.name, "version": self.version, "config": self.config()},
                         sort_keys=True)
        folder = f"{self.name}-v{self.version}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return os.path.join(self.cache_dir, folder, digest[:2], digest + ".json")

    def _cache_read(self, text):
        if self.cache_dir is None:
            return None
        path = self._cache_path(text)
        try:
            with open(path, encoding="utf-8") as f:
                entry = json.load(f)
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: corrupt scorer cache entry ({error})") from None
        lengths = entry["segment_lengths"]
        if sum(lengths) != len(text) or len(lengths) != len(entry["segment_scores"]):
            raise ValueError(f"{path}: scorer cache entry does not match its text")
        bounds = [sum(lengths[:i]) for i in range(len(lengths) + 1)]
        segments = [text[bounds[i]:bounds[i + 1]] for i in range(len(lengths))]
        return ScoredText(segments, entry["segment_scores"], entry["document_score"])

    def _cache_write(self, text, result):
        if self.cache_dir is None:
            return
        entry = {"segment_lengths": [len(s) for s in result.segments],
                 "segment_scores": result.segment_scores,
                 "document_score": result.document_score}
        write_atomically(self._cache_path(text), json.dumps(entry))


def _check_texts(texts, name):
    if isinstance(texts, (str, bytes)):
        raise ValueError(f"{name} scorer: texts must be a list of str, "
                         f"got a single {type(texts).__name__}")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"{name} scorer: texts[{i}] is {type(text).__name__}, expected str")
    return texts


def _check_result(result, text, name):
    if "".join(result.segments) != text or len(result.segments) != len(result.segment_scores):
        raise RuntimeError(f"{name} scorer: segments do not join back to the text "
                           "or do not match the scores")


def from_segments(segments, segment_scores, document_score):
    """Builds a ScoredText with plain-float scores (no numpy scalars, so results are JSON-able)."""
    return ScoredText(list(segments), [float(s) for s in segment_scores], float(document_score))
