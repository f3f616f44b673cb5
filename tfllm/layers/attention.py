"""Multi-head attention with causal/padding masks, rotary positions and a KV cache."""

import keras
from keras import ops
from keras_hub.layers import RotaryEmbedding

from tfllm.layers.initializers import clone_initializer


@keras.saving.register_keras_serializable(package="tfllm")
class MultiHeadAttention(keras.layers.Layer):
    """Scaled dot-product attention over `num_heads` heads.

    Self-attention projects queries, keys and values with one fused matmul;
    cross-attention projects the query from `inputs` and keys/values from
    `context`. A KV cache, a (keys, values) pair of (batch, num_heads, max_length, head_dim),
    makes decoding one token cost one token: self-attention writes the new keys
    and values at `cache_index`; cross-attention reads keys/values precomputed
    once by `context_cache(context)`.

    Args:
        num_heads: number of heads.
        head_dim: size of each head.
        dropout: dropout on attention probabilities.
        use_bias: biases in the projections.
        cross_attention: attend to `context` instead of `inputs`.
        rotary_max_wavelength: if set, rotary position embedding on queries and keys.
        kernel_initializer: initializer of the projections (cloned for each).
        output_kernel_initializer: initializer of the output projection, which writes
            into the residual stream; defaults to `kernel_initializer`.

    Example:
        >>> attn = MultiHeadAttention(num_heads=4, head_dim=8)
        >>> x = keras.ops.ones((2, 5, 32))
        >>> attn(x, attention_mask=causal_mask(5, 5)[None]).shape
        (2, 5, 32)
    """

    def __init__(self, num_heads, head_dim, dropout=0.0, use_bias=True,
                 cross_attention=False, rotary_max_wavelength=None,
                 kernel_initializer="glorot_uniform", output_kernel_initializer=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.cross_attention = bool(cross_attention)
        self.rotary_max_wavelength = rotary_max_wavelength
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_kernel_initializer = keras.initializers.get(output_kernel_initializer)
        width = self.num_heads * self.head_dim
        if self.cross_attention:
            self.query_dense = self._dense(width, "query")
            self.key_value_dense = self._dense(2 * width, "key_value")
        else:
            self.qkv_dense = self._dense(3 * width, "qkv")
        self.rotary = (RotaryEmbedding(max_wavelength=rotary_max_wavelength,
                                       dtype=self.dtype_policy)
                       if rotary_max_wavelength else None)
        self.probs_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def _dense(self, units, name, initializer=None):
        return keras.layers.Dense(units, use_bias=self.use_bias, name=name,
                                  kernel_initializer=clone_initializer(
                                      initializer or self.kernel_initializer),
                                  dtype=self.dtype_policy)

    def build(self, inputs_shape, context_shape=None):
        hidden_dim = inputs_shape[-1]
        width = self.num_heads * self.head_dim
        if self.cross_attention:
            self.query_dense.build(inputs_shape)
            self.key_value_dense.build((None, None, context_shape[-1] if context_shape
                                        else hidden_dim))
        else:
            self.qkv_dense.build(inputs_shape)
        self.output_dense = self._dense(hidden_dim, "output", self.output_kernel_initializer)
        self.output_dense.build((None, None, width))
        self.built = True

    def _split_heads(self, x, parts):
        shape = ops.shape(x)
        return ops.reshape(x, (shape[0], shape[1], parts, self.num_heads, self.head_dim))

    def _heads_first(self, x):
        """(batch, length, heads, head_dim) -> (batch, heads, length, head_dim)."""
        return ops.transpose(x, (0, 2, 1, 3))

    def context_cache(self, context):
        """(keys, values) of `context`, each (batch, heads, context_length, head_dim)."""
        key_value = self._split_heads(self.key_value_dense(context), 2)
        return self._heads_first(key_value[:, :, 0]), self._heads_first(key_value[:, :, 1])

    def call(self, inputs, context=None, attention_mask=None, cache=None, cache_index=None,
             positions=None, training=None):
        """Attends; self-attention given a cache returns (outputs, updated cache).

        A self-attention cache is a (keys, values) pair, each (batch, heads,
        max_length, head_dim) (heads first, so a decoding step writes and reads
        it without transposes); the new keys/values are written at `cache_index`.
        `positions`: (batch, length) rotary positions (packed rows restart them per
        segment); by default cache_index, cache_index + 1, ...
        """
        start = 0 if cache_index is None else cache_index
        if self.cross_attention:
            query = self._split_heads(self.query_dense(inputs), 1)[:, :, 0]
            key, value = cache if cache is not None else self.context_cache(context)
        else:
            qkv = self._split_heads(self.qkv_dense(inputs), 3)
            query, key, value = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
            if self.rotary is not None:
                query = self.rotary(query, start_index=start, positions=positions)
                key = self.rotary(key, start_index=start, positions=positions)
            key, value = self._heads_first(key), self._heads_first(value)
            if cache is not None:
                index = (0, 0, start, 0)
                key = ops.slice_update(cache[0], index, key)
                value = ops.slice_update(cache[1], index, value)
                cache = (key, value)
        outputs = self._attend(self._heads_first(query), key, value, attention_mask, training)
        return outputs if cache is None or self.cross_attention else (outputs, cache)

    def _attend(self, query, key, value, attention_mask, training):
        """Heads-first query (b, h, q, d) over keys/values (b, h, k, d).

        A batch-1 decoding step (one row, one query position) uses products and sums,
        which XLA fuses over the cache as it lies (batched matmuls would copy the key
        cache into a transposed layout every step); other shapes use batched matmuls.
        Measurements: docs/performance.md.
        """
        scale = ops.cast(1.0 / self.head_dim ** 0.5, query.dtype)
        one_step = query.shape[0] == 1 and query.shape[2] == 1
        if one_step:
            scores = ops.sum(query * scale * key, axis=-1)[:, :, None]
        else:
            scores = ops.einsum("bhqd,bhkd->bhqk", query * scale, key)
        scores = ops.cast(scores, "float32")
        if attention_mask is not None:
            mask = ops.cast(attention_mask, "bool")[:, None]
            scores = ops.where(mask, scores, ops.cast(-1e9, "float32"))
        probs = ops.cast(ops.softmax(scores, axis=-1), query.dtype)
        probs = self.probs_dropout(probs, training=training)
        if one_step:
            outputs = ops.sum(ops.swapaxes(probs, 2, 3) * value, axis=2)[:, None]
        else:
            outputs = ops.einsum("bhqk,bhkd->bqhd", probs, value)
        shape = ops.shape(outputs)
        outputs = ops.reshape(outputs, (shape[0], shape[1], self.num_heads * self.head_dim))
        return self.output_dense(outputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads, head_dim=self.head_dim, dropout=self.dropout,
            use_bias=self.use_bias, cross_attention=self.cross_attention,
            rotary_max_wavelength=self.rotary_max_wavelength,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            output_kernel_initializer=keras.initializers.serialize(
                self.output_kernel_initializer))
        return config
