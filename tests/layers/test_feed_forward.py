"""FeedForward against a NumPy reference of each activation."""

import math

import numpy as np
import pytest

from tfllm.layers import FeedForward


def _gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


@pytest.mark.parametrize("activation, reference", [
    ("relu", lambda h: np.maximum(h, 0)),
    ("relu_squared", lambda h: np.maximum(h, 0) ** 2),
    ("gelu", _gelu),
])
def test_activation_matches_reference(activation, reference):
    ffn = FeedForward(4, 8, activation=activation)
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    out = np.asarray(ffn(x))
    w1, b1 = (np.asarray(v) for v in ffn.inner_dense.weights)
    w2, b2 = (np.asarray(v) for v in ffn.output_dense.weights)
    np.testing.assert_allclose(out, reference(x @ w1 + b1) @ w2 + b2, rtol=1e-4, atol=1e-5)


def test_unknown_activation_raises():
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        FeedForward(4, 8, activation="tanh")
