"""Scorer-labelled preference pairs: min_margin drops exactly the near-ties; prompts."""

import pytest

from tfllm.rl.preferences import label_pairs, scorer_pairs, text_prompts


def test_min_margin_drops_exactly_the_pairs_within_the_margin():
    prompts = ["p0", "p1", "p2", "p3", "p4", "p5"]
    first = ["a0", "a1", "a2", "a3", "a4", "same"]
    second = ["b0", "b1", "b2", "b3", "b4", "same"]
    # differences: 0.5, -0.3, 0.1 (== margin: dropped), 0.0 (tie), -0.11, 0.9 (same text)
    ra = [0.75, 0.0, 0.5, 0.25, -0.5, 1.0]
    rb = [0.25, 0.3, 0.4, 0.25, -0.39, 0.1]
    records = label_pairs(prompts, first, second, ra, rb, min_margin=0.1)
    assert [(r["prompt"], r["chosen"], r["rejected"]) for r in records] == [
        ("p0", "a0", "b0"), ("p1", "b1", "a1"), ("p4", "b4", "a4")]
    assert [(r["chosen_reward"], r["rejected_reward"]) for r in records] == [
        (0.75, 0.25), (0.3, 0.0), (-0.39, -0.5)]
    # margin 0: only the exact tie and the identical texts go
    assert [r["prompt"] for r in label_pairs(prompts, first, second, ra, rb)] == [
        "p0", "p1", "p2", "p4"]
    # every kept pair's chosen reward exceeds its rejected reward by more than the margin
    for margin in (0.0, 0.05, 0.2, 0.45, 0.6):
        kept = label_pairs(prompts, first, second, ra, rb, min_margin=margin)
        assert all(r["chosen_reward"] - r["rejected_reward"] > margin for r in kept)
        assert len(kept) == sum(abs(x - y) > margin and a != b
                                for x, y, a, b in zip(ra, rb, first, second))


def test_label_pairs_bad_arguments():
    with pytest.raises(ValueError, match="min_margin must be >= 0, got -0.1"):
        label_pairs(["p"], ["a"], ["b"], [1.0], [0.0], min_margin=-0.1)
    with pytest.raises(ValueError, match="equal lengths, got 1, 1, 1, 2, 1"):
        label_pairs(["p"], ["a"], ["b"], [1.0, 2.0], [0.0])


class _ByteTokenizer:
    """Bytes + 3 (0 pad, 1 bos, 2 eos), enough for text_prompts."""

    pad_id, bos_id, eos_id = 0, 1, 2

    def encode(self, texts):
        return [[b + 3 for b in t.encode()] for t in texts]


def test_text_prompts_start_like_a_document():
    tokenizer = _ByteTokenizer()
    texts = ["ab\n12\nxyz", "  q"]
    # lines with a letter and at least 2 tokens, prefixed by <eos> (the LM's document start)
    assert text_prompts(texts, tokenizer, 2) == [[2, 100, 101], [2, 123, 124], [2, 35, 35]]
    assert text_prompts(texts, tokenizer, 3) == [[2, 123, 124, 125], [2, 35, 35, 116]]
    assert text_prompts(texts, tokenizer, 0) == [[2]]
    with pytest.raises(ValueError, match="prompt_tokens must be >= 0, got -1"):
        text_prompts(texts, tokenizer, -1)


def test_scorer_pairs_rejects_a_negative_margin():
    with pytest.raises(ValueError, match="min_margin must be >= 0, got -1"):
        scorer_pairs(None, _ByteTokenizer(), [[2]], lambda t: [0.0] * len(t), 4, min_margin=-1)


def test_drop_near_ties_on_scored_records_and_files(tmp_path):
    from tfllm.rl.preferences import drop_near_ties, read_pairs, write_pairs

    records = label_pairs(["p0", "p1", "p2"], ["a", "b", "c"], ["x", "y", "z"],
                          [0.5, 0.0, -0.2], [0.3, 0.05, -0.5])  # differences 0.2, 0.05, 0.3
    path = str(tmp_path / "pairs.jsonl")
    write_pairs(path, records)
    loaded = read_pairs(path)
    assert loaded == records  # the rewards survive the file
    assert [r["prompt"] for r in drop_near_ties(loaded, 0.1)] == ["p0", "p2"]
    assert [r["prompt"] for r in drop_near_ties(loaded, 0.25)] == ["p2"]
    assert drop_near_ties(loaded, 0.31) == []
    unscored = [{"prompt": "p", "chosen": "a", "rejected": "b"}]
    assert drop_near_ties(unscored, 0.0) == unscored
    with pytest.raises(ValueError, match="f.jsonl: pair 0 has no chosen_reward"):
        drop_near_ties(unscored, 0.1, where="f.jsonl")
    (tmp_path / "bad.jsonl").write_text(
        '{"prompt": "p", "chosen": "a", "rejected": "b", "chosen_reward": "high"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: field 'chosen_reward' must be a number"):
        read_pairs(str(tmp_path / "bad.jsonl"))
