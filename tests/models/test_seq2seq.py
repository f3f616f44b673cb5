import keras
import numpy as np
import pytest

from tfllm.models import Seq2SeqTransformer

VOCAB = 50


def model_and_batch():
    model = Seq2SeqTransformer(VOCAB, 2, 2, 2, 32, 64, 32)
    rng = np.random.default_rng(0)
    batch = {"encoder_token_ids": rng.integers(1, VOCAB, (2, 7)).astype("int32"),
             "encoder_padding_mask": np.array([[1] * 7, [1] * 4 + [0] * 3], bool),
             "decoder_token_ids": rng.integers(1, VOCAB, (2, 5)).astype("int32"),
             "decoder_padding_mask": np.ones((2, 5), bool)}
    return model, batch


def test_encoder_padding_content_is_invisible():
    model, batch = model_and_batch()
    before = np.array(model(batch))
    batch["encoder_token_ids"][1, 4:] = 3  # change only padded source positions
    after = np.array(model(batch))
    np.testing.assert_allclose(before, after, atol=1e-6)


def test_extra_padding_does_not_change_outputs():
    model, batch = model_and_batch()
    longer = dict(batch)
    longer["encoder_token_ids"] = np.pad(batch["encoder_token_ids"], ((0, 0), (0, 4)))
    longer["encoder_padding_mask"] = np.pad(batch["encoder_padding_mask"], ((0, 0), (0, 4)))
    np.testing.assert_allclose(np.array(model(batch)), np.array(model(longer)), atol=1e-5)


def test_decoder_is_causal():
    model, batch = model_and_batch()
    before = np.array(model(batch))
    batch["decoder_token_ids"][:, 3:] = 7
    after = np.array(model(batch))
    np.testing.assert_allclose(before[:, :3], after[:, :3], atol=1e-6)


def test_cached_decoding_equals_full_recompute():
    model, batch = model_and_batch()
    full = np.array(model(batch))
    encoded = model.encode(batch["encoder_token_ids"], batch["encoder_padding_mask"])
    cache = model.init_cache(encoded, max_length=8)
    steps = []
    for i in range(5):
        logits, _, cache = model.call_with_cache(batch["decoder_token_ids"][:, i:i + 1], cache,
                                                 i, batch["encoder_padding_mask"])
        steps.append(np.array(logits))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-4)


def test_save_load_round_trip(tmp_path):
    model, batch = model_and_batch()
    path = str(tmp_path / "s2s.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.array(loaded(batch)), np.array(model(batch)))


def test_bad_inputs():
    model, batch = model_and_batch()
    with pytest.raises(ValueError, match="expects a dict"):
        model(batch["encoder_token_ids"])
    del batch["decoder_token_ids"]
    with pytest.raises(ValueError, match="missing input 'decoder_token_ids'"):
        model(batch)
