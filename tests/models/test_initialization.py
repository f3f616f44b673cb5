"""Initialization: every weight matrix its own draw, reproducible under a seed, GPT-2's
residual scaling, and models saved before per-weight initializers still load.

fixtures/written_before_init_fix/ was written by commit 82d209e (one initializer object
shared by every sublayer): a `.keras` file of each model, a checkpoint of the DecoderLM
as the trainer writes it, and each model's outputs on `token_ids` (expected.npz).
"""

import itertools
import math
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.layers import FeedForward, MultiHeadAttention, TokenEmbedding, clone_initializer
from tfllm.models import DecoderLM, EncoderClassifier, RewardModel, Seq2SeqTransformer
from tfllm.training.checkpoints import restore_model

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "written_before_init_fix"
SMALL = dict(num_heads=2, hidden_dim=32, intermediate_dim=64, max_sequence_length=16)


def decoder(**overrides):
    return DecoderLM(**{"vocabulary_size": 300, "num_layers": 3, **SMALL, **overrides})


MODELS = {
    "decoder_tied": lambda: decoder(),
    "decoder_untied_value_head": lambda: decoder(tie_embeddings=False, value_head=True,
                                                 position="rotary", activation="swiglu"),
    "decoder_preference": lambda: decoder(preference_dim=4, norm="rms_norm"),
    "seq2seq": lambda: Seq2SeqTransformer(300, 2, 2, 2, 32, 64, 32),
    "encoder_classifier": lambda: EncoderClassifier(300, 2, 2, 32, 64, 32, num_classes=3),
    "reward_model": lambda: RewardModel(decoder(num_layers=2)),
    "reward_model_encoder": lambda: RewardModel(EncoderClassifier(300, 2, 2, 32, 64, 32)),
}


def random_matrices(model):
    """(path, flattened values) of every weight of rank >= 2 that is not a constant."""
    out = []
    for weight in model.weights:
        values = np.asarray(weight).ravel()
        if len(weight.shape) >= 2 and values.std() > 0:
            out.append((weight.path, values))
    return out


def correlated_pairs(model):
    """Pairs of matrices whose leading values are (anti)proportional: one random stream.

    Independent draws of >= 32 values correlate by more than 0.9 with a probability far
    below 1e-12; a shared stream correlates exactly (the same draw, maybe rescaled).
    """
    pairs = []
    for (name_a, a), (name_b, b) in itertools.combinations(random_matrices(model), 2):
        n = min(len(a), len(b), 4096)
        corr = np.corrcoef(a[:n], b[:n])[0, 1]
        if abs(corr) > 0.9:
            pairs.append((name_a, name_b, round(float(corr), 3)))
    return pairs


@pytest.mark.parametrize("name", sorted(MODELS))
def test_no_two_weight_matrices_share_a_draw(name):
    model = MODELS[name]()
    assert len(random_matrices(model)) >= 8
    assert correlated_pairs(model) == []


def test_the_check_finds_a_shared_initializer():
    # The bug this file guards against: one unseeded initializer object for two weights.
    shared = keras.initializers.RandomNormal(stddev=0.02)
    a = keras.layers.Dense(64, kernel_initializer=shared)
    b = keras.layers.Dense(32, kernel_initializer=shared)
    model = keras.Sequential([keras.Input((32,)), a, b])
    assert len(correlated_pairs(model)) == 1


def test_value_head_starts_at_zero():
    model = decoder(value_head=True)
    assert not np.any(np.asarray(model.value_head.dense.kernel))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_same_seed_same_weights_no_seed_different_weights(name):
    keras.utils.set_random_seed(7)
    first = [np.asarray(w) for w in MODELS[name]().weights]
    keras.utils.set_random_seed(7)
    again = [np.asarray(w) for w in MODELS[name]().weights]
    unseeded = [np.asarray(w) for w in MODELS[name]().weights]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    random = [i for i, a in enumerate(first) if a.ndim >= 2 and a.std() > 0]
    assert random and all(not np.array_equal(first[i], unseeded[i]) for i in random)


def test_residual_projections_are_scaled_by_depth():
    layers = 6
    model = decoder(num_layers=layers, hidden_dim=128, intermediate_dim=512)
    stds = {w.path.split("/", 1)[1]: float(np.asarray(w).std()) for w in model.weights
            if len(w.shape) == 2}
    scaled = 0.02 / math.sqrt(2 * layers)
    for i in range(layers):
        block = f"decoder/block_{i}"
        assert stds[f"{block}/self_attention/output/kernel"] == pytest.approx(scaled, rel=0.05)
        assert stds[f"{block}/feed_forward/output/kernel"] == pytest.approx(scaled, rel=0.05)
        assert stds[f"{block}/self_attention/qkv/kernel"] == pytest.approx(0.02, rel=0.05)
        assert stds[f"{block}/feed_forward/inner/kernel"] == pytest.approx(0.02, rel=0.05)
    assert stds["token_embedding/embeddings"] == pytest.approx(0.02, rel=0.05)
    unscaled = decoder(num_layers=layers, hidden_dim=128, intermediate_dim=512,
                       scale_residual_init=False)
    output = unscaled.get_layer("decoder").blocks[0].feed_forward.output_dense.kernel
    assert float(np.asarray(output).std()) == pytest.approx(0.02, rel=0.05)


def test_seq2seq_decoder_counts_three_residual_branches():
    model = Seq2SeqTransformer(300, 2, 4, 2, 128, 512, 32)
    encoder_out = model.encoder.blocks[0].feed_forward.output_dense.kernel
    decoder_out = model.decoder.blocks[0].cross_attention_layer.output_dense.kernel
    assert float(np.asarray(encoder_out).std()) == pytest.approx(0.02 / math.sqrt(4), rel=0.05)
    assert float(np.asarray(decoder_out).std()) == pytest.approx(0.02 / math.sqrt(12), rel=0.05)


def test_layers_clone_what_they_are_given():
    shared = keras.initializers.RandomNormal(stddev=1.0)
    ffn = FeedForward(32, 32, kernel_initializer=shared)
    attention = MultiHeadAttention(2, 16, kernel_initializer=shared)
    embedding = TokenEmbedding(32, 32, shared)
    ffn.build((None, None, 32))
    attention.build((None, None, 32))
    embedding.build()
    kernels = [ffn.inner_dense.kernel, ffn.output_dense.kernel, attention.qkv_dense.kernel,
               attention.output_dense.kernel, embedding.embeddings]
    for a, b in itertools.combinations(kernels, 2):
        a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
        n = min(len(a), len(b))
        assert abs(np.corrcoef(a[:n], b[:n])[0, 1]) < 0.5


def test_clone_initializer_keeps_settings_and_passes_other_values_through():
    original = keras.initializers.TruncatedNormal(stddev=0.3)
    clone = clone_initializer(original)
    assert clone is not original and clone.get_config() == original.get_config()
    assert isinstance(clone_initializer("zeros"), keras.initializers.Zeros)

    def function(shape, dtype=None):
        return tf.ones(shape, dtype)

    assert clone_initializer(function) is function


@pytest.mark.parametrize("name", ["decoder_lm", "seq2seq", "encoder_classifier",
                                  "reward_model"])
def test_keras_files_written_before_the_fix_load_with_identical_outputs(name):
    expected = np.load(FIXTURES / "expected.npz")
    ids = expected["token_ids"]
    model = keras.saving.load_model(FIXTURES / f"{name}.keras")
    inputs = ({"encoder_token_ids": ids, "decoder_token_ids": ids[:, :5]}
              if name == "seq2seq" else ids)
    np.testing.assert_allclose(np.asarray(model(inputs)), expected[name], atol=1e-5)


def test_checkpoint_written_before_the_fix_restores_every_weight():
    expected = np.load(FIXTURES / "expected.npz")
    model = DecoderLM(vocabulary_size=61, num_layers=2, tie_embeddings=False, value_head=True,
                      num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=16)
    assert restore_model(str(FIXTURES / "decoder_lm_ckpt"), model).endswith("ckpt-5")
    np.testing.assert_allclose(np.asarray(model(expected["token_ids"])),
                               expected["decoder_lm"], atol=1e-5)
