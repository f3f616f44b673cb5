import keras
import numpy as np

from tfllm.layers import MultiHeadAttention, TransformerBlock, attention_mask, causal_mask


def reference_attention(layer, x, mask):
    """Numpy attention from the layer's own weights."""
    w, b = (np.array(v) for v in layer.qkv_dense.weights)
    qkv = (x @ w + b).reshape(x.shape[0], x.shape[1], 3, layer.num_heads, layer.head_dim)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(layer.head_dim)
    scores = np.where(mask[:, None], scores, -np.inf)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out = np.einsum("bhqk,bkhd->bqhd", probs, v).reshape(x.shape[0], x.shape[1], -1)
    wo, bo = (np.array(v) for v in layer.output_dense.weights)
    return out @ wo + bo


def test_matches_numpy_reference_with_causal_and_padding_masks():
    x = np.random.default_rng(0).normal(size=(2, 5, 16)).astype("float32")
    padding = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
    layer = MultiHeadAttention(num_heads=2, head_dim=8)
    mask = np.array(attention_mask(5, 5, padding, causal=True))
    out = np.array(layer(x, attention_mask=mask))
    np.testing.assert_allclose(out, reference_attention(layer, x, mask), atol=1e-5)


def test_causal_mask_values():
    np.testing.assert_array_equal(np.array(causal_mask(3, 3)), np.tril(np.ones((3, 3), bool)))
    np.testing.assert_array_equal(np.array(causal_mask(1, 4, query_offset=2)),
                                  [[True, True, True, False]])


def test_cross_attention_cache_equals_recompute():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 16)).astype("float32")
    context = rng.normal(size=(2, 6, 16)).astype("float32")
    layer = MultiHeadAttention(2, 8, cross_attention=True)
    direct = np.array(layer(x, context=context))
    cached = layer(x, cache=layer.context_cache(context))
    np.testing.assert_allclose(np.array(cached), direct, atol=1e-6)


def test_block_is_serializable_and_jit_compiles():
    block = TransformerBlock(16, 2, 32, activation="swiglu", norm="rms_norm")
    x = np.ones((1, 4, 16), "float32")
    mask = causal_mask(4, 4)[None]
    eager = np.array(block(x, attention_mask=mask))
    clone = TransformerBlock.from_config(block.get_config())
    clone.build((None, None, 16))
    clone.set_weights(block.get_weights())
    import tensorflow as tf
    compiled = tf.function(lambda t: clone(t, attention_mask=mask), jit_compile=True)
    np.testing.assert_allclose(np.array(compiled(x)), eager, atol=1e-5)
    assert keras.saving.get_registered_name(TransformerBlock) == "tfllm>TransformerBlock"
