"""Scalar heads on hidden states: per-token values and per-sequence rewards."""

import keras
from keras import ops

from tfllm.layers.initializers import clone_initializer


def last_token_values(values, padding_mask=None):
    """Picks each row's value at its last real token: (batch, length) -> (batch,).

    Rows are assumed right-padded; without a mask the last position is used.
    """
    if padding_mask is None:
        return values[:, -1]
    lengths = ops.sum(ops.cast(padding_mask, "int32"), axis=1)
    last = ops.maximum(lengths - 1, 0)
    return ops.take_along_axis(values, last[:, None], axis=1)[:, 0]


@keras.saving.register_keras_serializable(package="tfllm")
class ValueHead(keras.layers.Layer):
    """A linear map from hidden states to one float32 scalar per token.

    Example:
        >>> head = ValueHead()
        >>> head(keras.ops.ones((2, 5, 32))).shape
        (2, 5)
    """

    def __init__(self, kernel_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.dense = keras.layers.Dense(
            1, kernel_initializer=clone_initializer(self.kernel_initializer), name="dense",
            dtype=self.dtype_policy)

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.built = True

    def call(self, hidden):
        return ops.cast(self.dense(hidden)[..., 0], "float32")

    def get_config(self):
        config = super().get_config()
        config.update(kernel_initializer=keras.initializers.serialize(self.kernel_initializer))
        return config
