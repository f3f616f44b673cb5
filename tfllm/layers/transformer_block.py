"""Pre-LN Transformer block: encoder block, or decoder block with cross-attention."""

import keras

from tfllm.layers.attention import MultiHeadAttention
from tfllm.layers.feed_forward import FeedForward
from tfllm.layers.normalization import make_norm


@keras.saving.register_keras_serializable(package="tfllm")
class TransformerBlock(keras.layers.Layer):
    """Self-attention (+ optional cross-attention) and a feed-forward net, pre-LN.

    The block is an encoder block or a decoder block by the mask it is given
    (padding only, or causal) and by `cross_attention`, which adds attention to
    an encoder's outputs between self-attention and the feed-forward net.

    Args:
        hidden_dim, num_heads, intermediate_dim: sizes.
        dropout: rate on attention probabilities and on each residual branch.
        activation: feed-forward activation (gelu, gelu_tanh, relu, swiglu).
        norm: "layer_norm" or "rms_norm"; layer_norm_epsilon its epsilon.
        use_bias: biases in dense layers.
        cross_attention: add an encoder-decoder attention sub-layer.
        rotary_max_wavelength: rotary positions in self-attention when set.
        kernel_initializer: initializer of every projection (cloned for each).
        output_kernel_initializer: initializer of the projections that write into the
            residual stream (attention outputs, second feed-forward matrix); defaults
            to `kernel_initializer`.

    Example:
        >>> block = TransformerBlock(32, 4, 64)
        >>> block(keras.ops.ones((2, 5, 32))).shape
        (2, 5, 32)
    """

    def __init__(self, hidden_dim, num_heads, intermediate_dim, dropout=0.0,
                 activation="gelu", norm="layer_norm", layer_norm_epsilon=1e-5,
                 use_bias=True, cross_attention=False, rotary_max_wavelength=None,
                 kernel_initializer="glorot_uniform", output_kernel_initializer=None,
                 **kwargs):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim {hidden_dim} is not divisible by num_heads {num_heads}")
        self.hidden_dim = int(hidden_dim)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout = float(dropout)
        self.activation = activation
        self.norm = norm
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.use_bias = bool(use_bias)
        self.cross_attention = bool(cross_attention)
        self.rotary_max_wavelength = rotary_max_wavelength
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_kernel_initializer = keras.initializers.get(output_kernel_initializer)
        initializers = dict(kernel_initializer=self.kernel_initializer,
                            output_kernel_initializer=self.output_kernel_initializer)
        policy = self.dtype_policy
        head_dim = self.hidden_dim // self.num_heads
        self.self_attention_norm = make_norm(norm, layer_norm_epsilon, "self_attention_norm", policy)
        self.self_attention = MultiHeadAttention(
            num_heads, head_dim, dropout, use_bias, rotary_max_wavelength=rotary_max_wavelength,
            name="self_attention", dtype=policy, **initializers)
        if self.cross_attention:
            self.cross_attention_norm = make_norm(norm, layer_norm_epsilon, "cross_attention_norm",
                                                  policy)
            self.cross_attention_layer = MultiHeadAttention(
                num_heads, head_dim, dropout, use_bias, cross_attention=True,
                name="cross_attention", dtype=policy, **initializers)
        self.feed_forward_norm = make_norm(norm, layer_norm_epsilon, "feed_forward_norm", policy)
        self.feed_forward = FeedForward(
            hidden_dim, intermediate_dim, activation, dropout, use_bias,
            name="feed_forward", dtype=policy, **initializers)
        self.residual_dropout = keras.layers.Dropout(self.dropout, dtype=policy)

    def build(self, x_shape, context_shape=None):
        for layer in (self.self_attention_norm, self.feed_forward_norm, self.self_attention,
                      self.feed_forward):
            layer.build(x_shape)
        if self.cross_attention:
            self.cross_attention_norm.build(x_shape)
            self.cross_attention_layer.build(x_shape, context_shape or x_shape)
        self.built = True

    def call(self, x, attention_mask=None, context=None, context_mask=None, cache=None,
             context_cache=None, cache_index=None, positions=None, training=None):
        """Returns the block's output, or (output, cache) when `cache` is given;
        `positions` as MultiHeadAttention's."""
        attended = self.self_attention(
            self.self_attention_norm(x), attention_mask=attention_mask, cache=cache,
            cache_index=cache_index, positions=positions, training=training)
        if cache is not None:
            attended, cache = attended
        x = x + self.residual_dropout(attended, training=training)
        if self.cross_attention:
            attended = self.cross_attention_layer(
                self.cross_attention_norm(x), context=context, attention_mask=context_mask,
                cache=context_cache, training=training)
            x = x + self.residual_dropout(attended, training=training)
        x = x + self.feed_forward(self.feed_forward_norm(x), training=training)
        return x if cache is None else (x, cache)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim, num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim, dropout=self.dropout,
            activation=self.activation, norm=self.norm,
            layer_norm_epsilon=self.layer_norm_epsilon, use_bias=self.use_bias,
            cross_attention=self.cross_attention,
            rotary_max_wavelength=self.rotary_max_wavelength,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            output_kernel_initializer=keras.initializers.serialize(
                self.output_kernel_initializer))
        return config
