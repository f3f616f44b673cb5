import pytest

from tfllm.feedback import RewardModelScorer, get_scorer


def test_callable_reward_becomes_negated_misalignment():
    scorer = RewardModelScorer(lambda texts: [float(len(t)) for t in texts])
    a, empty = scorer.score(["abc", ""])
    assert a.segments == ["abc"] and a.segment_scores == [-3.0] and a.document_score == -3.0
    assert empty.segments == [] and empty.document_score == 0.0
    assert scorer.reward(["abcd"]) == [4.0]


def test_reward_count_mismatch_raises():
    with pytest.raises(ValueError, match="returned 1 rewards for 2 texts"):
        RewardModelScorer(lambda texts: [1.0]).score(["a", "b"])


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one"),
    ({"fn": len, "model_path": "x.keras"}, "exactly one"),
    ({"fn": 3}, "callable"),
    ({"fn": len, "num_workers": 2}, "num_workers must be 1"),
    ({"fn": len, "cache_dir": "/tmp/x"}, "cache_dir"),
    ({"model_path": "missing.keras", "tokenizer_path": "t"}, "no saved model at missing.keras"),
    ({"fn": len, "max_length": 1}, "max_length .1. must be >= 2"),
])
def test_bad_construction_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RewardModelScorer(**kwargs)


def test_saved_model_and_tokenizer_are_loaded_lazily(tmp_path):
    import keras

    from tfllm.tokenizers import Tokenizer

    tokenizer = Tokenizer.train(["hello"], None, kind="byte")
    tokenizer.save(str(tmp_path / "tok"))
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((None,), dtype="bool", name="padding_mask")
    masked = keras.ops.cast(token_ids, "float32") * keras.ops.cast(padding_mask, "float32")
    model = keras.Model({"token_ids": token_ids, "padding_mask": padding_mask},
                        keras.ops.sum(masked, axis=1) / 100.0)
    model.save(tmp_path / "rm.keras")

    scorer = get_scorer("reward_model", model_path=str(tmp_path / "rm.keras"),
                        tokenizer_path=str(tmp_path / "tok"), max_length=3, batch_size=2,
                        cache_dir=tmp_path / "cache")
    texts = ["hi", "a", "xyz"]  # <bos> text <eos> in 3 tokens: the text's first token
    expected = [-sum([tokenizer.bos_id] + tokenizer.encode(t)[:1] + [tokenizer.eos_id]) / 100.0
                for t in texts]
    assert [s.document_score for s in scorer.score(texts)] == pytest.approx(expected)
    assert [s.document_score for s in scorer.score(texts)] == pytest.approx(expected)


def test_both_reward_model_paths_score_bos_text_eos_as_in_training(tmp_path):
    """The scorer and tfllm-rl-finetune's reward_fn_from_workdir give, for every text, the
    reward model's output on the hand-built `<bos> ids <eos>`: the sequence that the
    Bradley-Terry training scores (tfllm.objectives.bradley_terry.full_sequence)."""
    import keras
    import numpy as np

    from tfllm.feedback.reward_model import reward_model_scores
    from tfllm.models import DecoderLM, RewardModel
    from tfllm.rl.rewards import REWARD_MODEL_FILE, TOKENIZER_DIR, reward_fn_from_workdir
    from tfllm.tokenizers import Tokenizer

    keras.utils.set_random_seed(0)
    tokenizer = Tokenizer.train([], None, kind="byte")
    model = RewardModel(DecoderLM.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size,
                                              max_sequence_length=16))
    model.save(tmp_path / REWARD_MODEL_FILE)
    tokenizer.save(str(tmp_path / TOKENIZER_DIR))
    texts = ["a good day", "", "no", "a text longer than the sixteen positions"]

    def by_hand(text):
        ids = [tokenizer.bos_id] + tokenizer.encode(text)[:14] + [tokenizer.eos_id]
        return float(keras.ops.convert_to_numpy(model(np.array([ids], np.int32)))[0])

    expected = [by_hand(t) for t in texts]
    np.testing.assert_allclose(reward_model_scores(model, tokenizer, texts, batch_size=3),
                               expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reward_fn_from_workdir(str(tmp_path))(texts), expected,
                               rtol=1e-5, atol=1e-6)
    scorer = get_scorer("reward_model", model_path=str(tmp_path / REWARD_MODEL_FILE),
                        tokenizer_path=str(tmp_path / TOKENIZER_DIR))
    np.testing.assert_allclose(scorer.reward(texts), expected, rtol=1e-5, atol=1e-6)
