import glob
import os

import pytest

from tfllm.feedback import SentimentScorer, base

TEXTS = ["I love it. I hate it!", "", "Plain words here.", "Great!\n\nAwful.", "ok"] * 3


def test_parallel_equals_serial():
    serial = SentimentScorer().score(TEXTS)
    parallel = SentimentScorer(num_workers=2).score(TEXTS)
    assert parallel == serial
    assert ["".join(s.segments) for s in parallel] == TEXTS


def test_cache_hit_is_identical_and_skips_scoring(tmp_path, monkeypatch):
    scorer = SentimentScorer(cache_dir=tmp_path)
    first = scorer.score(TEXTS)
    files = glob.glob(str(tmp_path / "**" / "*.json"), recursive=True)
    assert len(files) == len(set(TEXTS))
    everything = [name for _, _, names in os.walk(tmp_path) for name in names]
    assert len(everything) == len(files)  # no temporary file left behind
    monkeypatch.setattr(SentimentScorer, "_score_text",
                        lambda self, text: pytest.fail("recomputed"))
    assert scorer.score(TEXTS) == first


def test_cache_key_depends_on_options(tmp_path):
    SentimentScorer(cache_dir=tmp_path, prefer="positive").score(["Great!"])
    negative = SentimentScorer(cache_dir=tmp_path, prefer="negative").score(["Great!"])[0]
    assert negative.document_score > 0.5
    assert len(os.listdir(tmp_path)) == 2


def test_cache_write_is_atomic(tmp_path, monkeypatch):
    scorer = SentimentScorer(cache_dir=tmp_path)

    def full_disk(src, dst):  # the entry is written to its temporary file, then this
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="disk full"):
        scorer.score(["Nice."])
    assert not [name for _, _, names in os.walk(tmp_path) for name in names]
    monkeypatch.undo()
    assert scorer.score(["Nice."]) == SentimentScorer().score(["Nice."])


def test_corrupt_cache_entry_names_the_file(tmp_path):
    scorer = SentimentScorer(cache_dir=tmp_path)
    scorer.score(["Nice."])
    (path,) = glob.glob(str(tmp_path / "**" / "*.json"), recursive=True)
    with open(path, "w") as f:
        f.write("{not json")
    with pytest.raises(ValueError, match=os.path.basename(path)):
        scorer.score(["Nice."])


@pytest.mark.parametrize("texts, message", [("one text", "single str"),
                                            (["a", 3], r"texts\[1\] is int")])
def test_bad_texts_raise(texts, message):
    with pytest.raises(ValueError, match=message):
        SentimentScorer().score(texts)


def test_bad_num_workers_raises():
    with pytest.raises(ValueError, match="num_workers"):
        SentimentScorer(num_workers=0)


def test_threshold_override():
    assert SentimentScorer().threshold == 0.5
    assert SentimentScorer(threshold=0.25).threshold == 0.25


def test_from_segments_gives_plain_floats():
    import numpy as np
    scored = base.from_segments(["a"], [np.float32(0.5)], np.float64(0.5))
    assert type(scored.segment_scores[0]) is float and type(scored.document_score) is float
