import keras
import numpy as np
import pytest

from tfllm.models import DecoderLM, EncoderClassifier, RewardModel


def test_classifier_mean_pooling_ignores_padding():
    model = EncoderClassifier(40, 1, 2, 16, 32, 16, num_classes=3)
    x = np.array([[5, 6, 7, 0, 0]], "int32")
    mask = np.array([[1, 1, 1, 0, 0]], bool)
    a = np.array(model({"token_ids": x, "padding_mask": mask}))
    b = np.array(model({"token_ids": x[:, :3], "padding_mask": mask[:, :3]}))
    assert a.shape == (1, 3)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_classifier_round_trip(tmp_path):
    model = EncoderClassifier(40, 1, 2, 16, 32, 16, num_classes=2, pooling="first")
    x = np.arange(10, dtype="int32").reshape(2, 5)
    model.save(str(tmp_path / "c.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "c.keras"))
    np.testing.assert_array_equal(np.array(loaded(x)), np.array(model(x)))


def test_reward_model_reads_last_real_token():
    backbone = DecoderLM.from_preset("tiny", vocabulary_size=40)
    reward_model = RewardModel(backbone)
    x = np.array([[3, 4, 5, 0, 0], [3, 4, 5, 6, 7]], "int32")
    mask = np.array([[1, 1, 1, 0, 0], [1] * 5], bool)
    rewards = np.array(reward_model({"token_ids": x, "padding_mask": mask}))
    alone = np.array(reward_model(x[:1, :3]))
    assert rewards.shape == (2,)
    np.testing.assert_allclose(rewards[0], alone[0], atol=1e-5)


def test_reward_model_with_encoder_backbone_round_trip(tmp_path):
    reward_model = RewardModel(EncoderClassifier(40, 1, 2, 16, 32, 16))
    x = np.arange(8, dtype="int32").reshape(2, 4)
    reward_model.save(str(tmp_path / "r.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "r.keras"))
    np.testing.assert_array_equal(np.array(loaded(x)), np.array(reward_model(x)))


def test_reward_model_rejects_other_backbones():
    with pytest.raises(ValueError, match="DecoderLM or EncoderClassifier"):
        RewardModel(keras.layers.Dense(3))
