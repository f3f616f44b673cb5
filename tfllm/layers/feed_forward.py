"""Position-wise feed-forward network: GELU/ReLU MLP or SwiGLU."""

import keras
from keras import ops

from tfllm.layers.initializers import clone_initializer

ACTIVATIONS = ("gelu", "gelu_tanh", "relu", "relu_squared", "swiglu")


@keras.saving.register_keras_serializable(package="tfllm")
class FeedForward(keras.layers.Layer):
    """Two-layer MLP (`activation` in gelu, gelu_tanh, relu, relu_squared) or SwiGLU.

    Args:
        hidden_dim: input and output size.
        intermediate_dim: inner size.
        activation: one of ACTIVATIONS.
        dropout: dropout rate on the output.
        use_bias: whether the dense layers have biases.
        kernel_initializer: initializer of the dense layers (cloned for each).
        output_kernel_initializer: initializer of the output layer, which writes into
            the residual stream; defaults to `kernel_initializer`.

    Example:
        >>> ffn = FeedForward(16, 64, activation="swiglu")
        >>> ffn(keras.ops.ones((2, 3, 16))).shape
        (2, 3, 16)
    """

    def __init__(self, hidden_dim, intermediate_dim, activation="gelu", dropout=0.0,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 output_kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.activation = activation
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_kernel_initializer = keras.initializers.get(output_kernel_initializer)
        inner = 2 * self.intermediate_dim if activation == "swiglu" else self.intermediate_dim
        output_initializer = self.output_kernel_initializer or self.kernel_initializer
        self.inner_dense = keras.layers.Dense(
            inner, use_bias=use_bias, kernel_initializer=clone_initializer(self.kernel_initializer),
            name="inner", dtype=self.dtype_policy)
        self.output_dense = keras.layers.Dense(
            self.hidden_dim, use_bias=use_bias,
            kernel_initializer=clone_initializer(output_initializer), name="output",
            dtype=self.dtype_policy)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        self.inner_dense.build(input_shape)
        self.output_dense.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
        self.built = True

    def call(self, x, training=None):
        h = self.inner_dense(x)
        if self.activation == "swiglu":
            gate, value = ops.split(h, 2, axis=-1)
            h = ops.silu(gate) * value
        elif self.activation == "relu":
            h = ops.relu(h)
        elif self.activation == "relu_squared":
            h = ops.square(ops.relu(h))
        else:
            h = ops.gelu(h, approximate=self.activation == "gelu_tanh")
        return self.dropout_layer(self.output_dense(h), training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim, intermediate_dim=self.intermediate_dim,
            activation=self.activation, dropout=self.dropout, use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            output_kernel_initializer=keras.initializers.serialize(
                self.output_kernel_initializer))
        return config
