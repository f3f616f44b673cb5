import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.models import DecoderLM

VOCAB = 97


def tiny(**overrides):
    return DecoderLM.from_preset("tiny", vocabulary_size=VOCAB, **overrides)


def tokens(batch=2, length=12, seed=0):
    return np.random.default_rng(seed).integers(0, VOCAB, (batch, length)).astype("int32")


@pytest.mark.parametrize("position", ["learned", "sinusoidal", "rotary"])
def test_changing_future_tokens_leaves_earlier_logits_unchanged(position):
    model = tiny(position=position)
    x = tokens()
    changed = x.copy()
    changed[:, 7:] = (changed[:, 7:] + 1) % VOCAB
    a, b = np.array(model(x)), np.array(model(changed))
    np.testing.assert_allclose(a[:, :7], b[:, :7], atol=1e-6)
    assert np.abs(a[:, 7:] - b[:, 7:]).max() > 1e-4


@pytest.mark.parametrize("position,activation,norm", [
    ("learned", "gelu_tanh", "layer_norm"), ("rotary", "swiglu", "rms_norm"),
    ("sinusoidal", "relu", "layer_norm")])
def test_cached_decoding_equals_full_recompute(position, activation, norm):
    model = tiny(position=position, activation=activation, norm=norm)
    x = tokens(length=10)
    full = np.array(model(x))
    cache = model.init_cache(2, 16)
    logits, _, cache = model.call_with_cache(x[:, :4], cache, 0)
    steps = [np.array(logits)]
    for i in range(4, 10):
        logits, _, cache = model.call_with_cache(x[:, i:i + 1], cache, i)
        steps.append(np.array(logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-4)


@pytest.mark.parametrize("tie", [True, False])
def test_decoding_output_table_gives_the_same_logits(tie):
    model = tiny(tie_embeddings=tie)
    x = tokens(length=6)
    table = model.decoding_output_table()
    if not tie:
        assert table is None
        return
    assert tuple(table.shape) == (model.hidden_dim, VOCAB)
    logits, hidden, _ = model.call_with_cache(x, model.init_cache(2, 8), 0, output_table=table)
    np.testing.assert_allclose(np.array(logits), np.array(model(x)), atol=1e-5)
    np.testing.assert_allclose(np.array(model.logits(hidden, table)), np.array(logits), atol=1e-6)


def test_right_padding_does_not_change_real_positions():
    model = tiny()
    x = tokens(batch=1, length=6)
    padded = np.concatenate([x, np.zeros((1, 3), "int32")], axis=1)
    mask = np.array([[True] * 6 + [False] * 3])
    a = np.array(model(x))
    b = np.array(model({"token_ids": padded, "padding_mask": mask}))
    np.testing.assert_allclose(a, b[:, :6], atol=1e-5)


def test_save_and_load_give_identical_logits(tmp_path):
    model = tiny(preference_dim=2, value_head=True, tie_embeddings=False)
    inputs = {"token_ids": tokens(), "preference": np.array([[1.0, 0.0], [0.0, 1.0]], "float32")}
    path = str(tmp_path / "lm.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, DecoderLM)
    np.testing.assert_array_equal(np.array(loaded(inputs)), np.array(model(inputs)))
    _, hidden = loaded.call_with_hidden(inputs)
    assert loaded.value_head(hidden).shape == (2, 12)


def test_gradients_reach_every_trainable_variable():
    model = tiny(preference_dim=3, value_head=True)
    x = tokens()
    inputs = {"token_ids": x, "preference": np.ones((2, 3), "float32")}
    with tf.GradientTape() as tape:
        logits, hidden = model.call_with_hidden(inputs, training=True)
        loss = tf.reduce_mean(logits) + tf.reduce_mean(model.value_head(hidden))
        loss += tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(x, logits))
    grads = tape.gradient(loss, model.trainable_variables)
    missing = [v.path for v, g in zip(model.trainable_variables, grads)
               if g is None or not np.any(np.array(g))]
    assert not missing


def test_preference_vector_changes_logits():
    model = tiny(preference_dim=1)
    x = tokens()
    up = np.array(model({"token_ids": x, "preference": np.ones((2, 1), "float32")}))
    down = np.array(model({"token_ids": x, "preference": -np.ones((2, 1), "float32")}))
    assert np.abs(up - down).max() > 1e-4
    with pytest.raises(ValueError, match="preference_dim=1"):
        model(x)


@pytest.mark.parametrize("bad,message", [
    (np.zeros((2, 3, 4), "int32"), "rank 2"),
    (np.zeros((2, 3), "float32"), "integer tensor"),
    (np.zeros((1, 65), "int32"), "over max_sequence_length 64"),
])
def test_bad_inputs_raise_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        tiny()(bad)


def test_unknown_key_and_mask_shape_mismatch():
    model = tiny()
    with pytest.raises(ValueError, match="unexpected input keys"):
        model({"token_ids": tokens(), "tokens": tokens()})
    with pytest.raises(ValueError, match="padding_mask has shape"):
        model({"token_ids": tokens(), "padding_mask": np.ones((2, 3), bool)})


def test_presets_and_unknown_preset():
    assert DecoderLM.from_preset("small").count_params() == 5_322_240  # the bench workload
    with pytest.raises(ValueError, match="unknown preset"):
        DecoderLM.from_preset("huge")


def test_jit_compiled_forward_matches_eager():
    model = tiny()
    x = tokens()
    compiled = tf.function(lambda t: model(t), jit_compile=True)
    np.testing.assert_allclose(np.array(compiled(x)), np.array(model(x)), atol=1e-5)


@pytest.mark.parametrize("field,value", [("vocabulary_size", 0), ("num_layers", -1),
                                         ("hidden_dim", 12.5), ("max_sequence_length", None)])
def test_bad_sizes_are_named(field, value):
    sizes = dict(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8,
                 intermediate_dim=16, max_sequence_length=8)
    sizes[field] = value
    with pytest.raises(ValueError, match=rf"^DecoderLM: {field} must be a positive int, "
                                         rf"got {value!r}$"):
        DecoderLM(**sizes)
