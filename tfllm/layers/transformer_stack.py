"""Positions + a stack of Transformer blocks + a final norm, with a KV cache."""

import keras
from keras import ops
from keras_hub.layers import PositionEmbedding, SinePositionEncoding

from tfllm.layers.masks import attention_mask, segment_positions
from tfllm.layers.normalization import make_norm
from tfllm.layers.transformer_block import TransformerBlock

POSITIONS = ("learned", "sinusoidal", "rotary")


@keras.saving.register_keras_serializable(package="tfllm")
class TransformerStack(keras.layers.Layer):
    """The body shared by every tfllm model: embedded tokens in, hidden states out.

    Positions are learned or sinusoidal (added to the input) or rotary (applied
    to queries and keys in each block). `causal=True` makes a decoder stack;
    `cross_attention=True` adds attention to an encoder's outputs.

    Args:
        num_layers, num_heads, hidden_dim, intermediate_dim: sizes.
        max_sequence_length: longest sequence (and cache) the stack accepts.
        dropout, activation, norm, layer_norm_epsilon, use_bias: as TransformerBlock.
        position: one of POSITIONS.
        causal: each position sees only itself and earlier positions.
        cross_attention: blocks attend to a `context` sequence as well.
        kernel_initializer, output_kernel_initializer: as TransformerBlock.

    Example:
        >>> stack = TransformerStack(2, 4, 32, 64, max_sequence_length=16, causal=True)
        >>> stack(keras.ops.ones((2, 5, 32))).shape
        (2, 5, 32)
    """

    def __init__(self, num_layers, num_heads, hidden_dim, intermediate_dim,
                 max_sequence_length, dropout=0.0, activation="gelu", norm="layer_norm",
                 layer_norm_epsilon=1e-5, use_bias=True, position="learned", causal=True,
                 cross_attention=False, kernel_initializer="glorot_uniform",
                 output_kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if position not in POSITIONS:
            raise ValueError(f"unknown position {position!r}; expected one of {POSITIONS}")
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.max_sequence_length = int(max_sequence_length)
        self.dropout = float(dropout)
        self.activation = activation
        self.norm = norm
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.use_bias = bool(use_bias)
        self.position = position
        self.causal = bool(causal)
        self.cross_attention = bool(cross_attention)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_kernel_initializer = keras.initializers.get(output_kernel_initializer)
        policy = self.dtype_policy
        if position == "learned":
            self.position_layer = PositionEmbedding(
                max_sequence_length, initializer=keras.initializers.RandomNormal(stddev=0.02),
                name="position_embedding", dtype=policy)
        elif position == "sinusoidal":
            self.position_layer = SinePositionEncoding(name="position_encoding", dtype=policy)
        else:
            self.position_layer = None
        self.input_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.blocks = [
            TransformerBlock(hidden_dim, num_heads, intermediate_dim, dropout, activation,
                             norm, layer_norm_epsilon, use_bias, cross_attention,
                             10000 if position == "rotary" else None,
                             kernel_initializer=self.kernel_initializer,
                             output_kernel_initializer=self.output_kernel_initializer,
                             name=f"block_{i}", dtype=policy)
            for i in range(self.num_layers)]
        self.final_norm = make_norm(norm, layer_norm_epsilon, "final_norm", policy)

    @property
    def head_dim(self):
        return self.hidden_dim // self.num_heads

    def build(self, x_shape, context_shape=None):
        if self.position_layer is not None:
            self.position_layer.build(x_shape)
        for block in self.blocks:
            block.build(x_shape, context_shape)
        self.final_norm.build(x_shape)
        self.built = True

    def _add_positions(self, x, start_index, positions=None):
        if self.position_layer is None:
            return x
        return x + ops.cast(self.position_layer(x, start_index=start_index,
                                                positions=positions), x.dtype)

    def call(self, x, padding_mask=None, context=None, context_padding_mask=None,
             segment_ids=None, training=None):
        """Hidden states (batch, length, hidden_dim) of embedded inputs `x`.

        `segment_ids` (batch, length): packed rows (ids 1, 2, ... per example, 0 on
        padding); each token attends only within its segment and positions restart at 0
        in each, so a packed example computes what it computes alone.
        """
        length = ops.shape(x)[1]
        mask = attention_mask(length, length, padding_mask, self.causal,
                              segment_ids=segment_ids)
        positions = None if segment_ids is None else segment_positions(segment_ids)
        context_mask = None
        if self.cross_attention and context_padding_mask is not None:
            context_mask = attention_mask(length, ops.shape(context)[1], context_padding_mask)
        x = self.input_dropout(self._add_positions(x, 0, positions), training=training)
        for block in self.blocks:
            x = block(x, attention_mask=mask, context=context, context_mask=context_mask,
                      positions=positions, training=training)
        return self.final_norm(x)

    def init_cache(self, batch_size, max_length=None, dtype=None):
        """Zero KV cache: per block (keys, values), each (batch, heads, max_length, head_dim)."""
        length = self.max_sequence_length if max_length is None else max_length
        shape = (batch_size, self.num_heads, length, self.head_dim)
        dtype = dtype or self.compute_dtype
        return [(ops.zeros(shape, dtype), ops.zeros(shape, dtype)) for _ in self.blocks]

    def context_cache(self, context):
        """Cross-attention (keys, values) of every block for `context`."""
        return [block.cross_attention_layer.context_cache(context) for block in self.blocks]

    def call_with_cache(self, x, cache, cache_index, padding_mask=None,
                        context_cache=None, context_padding_mask=None):
        """Runs `x` (embedded tokens at positions cache_index...) against the cache.

        Args:
            x: (batch, new_length, hidden_dim) embedded tokens.
            cache: from `init_cache`; returned updated.
            cache_index: position of x's first token.
            padding_mask: optional (batch, cache_length) mask of usable cache slots.
            context_cache: from `context_cache`, for cross-attention stacks.
            context_padding_mask: (batch, context_length) mask of the context.

        Returns:
            (hidden (batch, new_length, hidden_dim), updated cache).
        """
        length = ops.shape(x)[1]
        mask = attention_mask(length, ops.shape(cache[0][0])[2], padding_mask, causal=True,
                              query_offset=cache_index)
        context_mask = None
        if self.cross_attention and context_padding_mask is not None:
            context_mask = attention_mask(length, ops.shape(context_cache[0][0])[2],
                                          context_padding_mask)
        x = self._add_positions(x, cache_index)
        layer_caches = []
        for i, block in enumerate(self.blocks):
            x, layer_cache = block(
                x, attention_mask=mask, context_mask=context_mask, cache=cache[i],
                context_cache=None if context_cache is None else context_cache[i],
                cache_index=cache_index)
            layer_caches.append(layer_cache)
        return self.final_norm(x), layer_caches

    def get_config(self):
        config = super().get_config()
        config.update(
            num_layers=self.num_layers, num_heads=self.num_heads, hidden_dim=self.hidden_dim,
            intermediate_dim=self.intermediate_dim,
            max_sequence_length=self.max_sequence_length, dropout=self.dropout,
            activation=self.activation, norm=self.norm,
            layer_norm_epsilon=self.layer_norm_epsilon, use_bias=self.use_bias,
            position=self.position, causal=self.causal, cross_attention=self.cross_attention,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            output_kernel_initializer=keras.initializers.serialize(
                self.output_kernel_initializer))
        return config
