"""Normalization layer choice shared by every block."""

import keras

NORMS = ("layer_norm", "rms_norm")


def make_norm(kind, epsilon, name=None, dtype=None):
    """Returns a LayerNormalization or RMSNormalization over the last axis."""
    if kind == "layer_norm":
        return keras.layers.LayerNormalization(epsilon=epsilon, name=name, dtype=dtype)
    if kind == "rms_norm":
        return keras.layers.RMSNormalization(epsilon=epsilon, name=name, dtype=dtype)
    raise ValueError(f"unknown norm {kind!r}; expected one of {NORMS}")
