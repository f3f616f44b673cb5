"""DecoderLM: a GPT-style decoder-only Transformer language model."""

import keras
import numpy as np
from keras import ops

from tfllm.layers import (TokenEmbedding, TransformerStack, ValueHead, clone_initializer,
                          transformer_initializers)
from tfllm.models.inputs import unpack
from tfllm.models.lora import LoraMixin
from tfllm.models.presets import DECODER_PRESETS, trained_preset_dir

INPUT_KEYS = ("token_ids", "padding_mask", "preference", "segment_ids")


@keras.saving.register_keras_serializable(package="tfllm")
class DecoderLM(LoraMixin, keras.Model):
    """Decoder-only Transformer LM (keras-hub argument names).

    `model(token_ids)` or `model({"token_ids", "padding_mask"[, "preference",
    "segment_ids"]})` returns logits (batch, length, vocabulary_size). `segment_ids`
    marks the examples of packed rows (TransformerStack: attention within each).

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
        max_sequence_length, dropout: as keras-hub's GPT2Backbone.
        activation: "gelu", "gelu_tanh", "relu" or "swiglu".
        norm: "layer_norm" or "rms_norm"; layer_norm_epsilon its epsilon.
        position: "learned", "sinusoidal" or "rotary".
        tie_embeddings: output projection reuses the token embedding.
        use_bias: biases in dense layers.
        preference_dim: if > 0, a float vector per example (input "preference")
            is projected and added to every token embedding.
        value_head: add a ValueHead (`model.value_head(hidden)` -> per-token values).
        scale_residual_init: draw the matrices that write into the residual stream
            with stddev 0.02 / sqrt(2 * num_layers) (GPT-2); every other weight is
            drawn from N(0, 0.02), each its own draw.

    Example:
        >>> model = DecoderLM.from_preset("tiny", vocabulary_size=300)
        >>> model(np.zeros((2, 8), "int32")).shape
        (2, 8, 300)
    """

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
                 max_sequence_length, dropout=0.0, activation="gelu", norm="layer_norm",
                 layer_norm_epsilon=1e-5, position="learned", tie_embeddings=True,
                 use_bias=True, preference_dim=0, value_head=False, scale_residual_init=True,
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (("vocabulary_size", vocabulary_size), ("num_layers", num_layers),
                            ("num_heads", num_heads), ("hidden_dim", hidden_dim),
                            ("intermediate_dim", intermediate_dim),
                            ("max_sequence_length", max_sequence_length)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"DecoderLM: {name} must be a positive int, got {value!r}")
        self.vocabulary_size = int(vocabulary_size)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.max_sequence_length = int(max_sequence_length)
        self.dropout = float(dropout)
        self.activation = activation
        self.norm = norm
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.position = position
        self.tie_embeddings = bool(tie_embeddings)
        self.use_bias = bool(use_bias)
        self.preference_dim = int(preference_dim)
        self.has_value_head = bool(value_head)
        self.scale_residual_init = bool(scale_residual_init)
        init, residual_init = transformer_initializers(num_layers, 0.02, scale_residual_init)
        self.token_embedding = TokenEmbedding(vocabulary_size, hidden_dim, init,
                                              name="token_embedding", dtype=self.dtype_policy)
        self.decoder = TransformerStack(
            num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length, dropout,
            activation, norm, layer_norm_epsilon, use_bias, position, causal=True,
            kernel_initializer=init, output_kernel_initializer=residual_init, name="decoder",
            dtype=self.dtype_policy)
        self.lm_head = None if tie_embeddings else keras.layers.Dense(
            vocabulary_size, use_bias=False, kernel_initializer=clone_initializer(init),
            name="lm_head", dtype=self.dtype_policy)
        self.preference_projection = keras.layers.Dense(
            hidden_dim, use_bias=False, name="preference_projection",
            dtype=self.dtype_policy) if self.preference_dim else None
        self.value_head = ValueHead(name="value_head") if value_head else None
        self.build((None, None))

    @classmethod
    def from_preset(cls, name, **overrides):
        """A new (untrained) model with the architecture of `DECODER_PRESETS[name]` and
        `overrides`, or the trained model of a trained preset (`tfllm.models.presets`:
        its weights restored, no overrides); its tokenizer is `Tokenizer.from_preset`."""
        if name in DECODER_PRESETS:
            return cls(**{**DECODER_PRESETS[name], **overrides})
        directory = trained_preset_dir(name)
        if overrides:
            raise ValueError(f"trained preset {name!r} takes no overrides, got "
                             f"{sorted(overrides)}")
        from tfllm.models.restore import load_model  # a trained preset is a workdir

        model = load_model(directory)
        if not isinstance(model, cls):
            raise ValueError(f"trained preset {name!r} holds a {type(model).__name__}, not "
                             f"a {cls.__name__}")
        return model

    def build(self, input_shape=None):
        shape = (None, None, self.hidden_dim)
        self.token_embedding.build(None)
        self.decoder.build(shape)
        if self.lm_head is not None:
            self.lm_head.build(shape)
        if self.preference_projection is not None:
            self.preference_projection.build((None, self.preference_dim))
        if self.value_head is not None:
            self.value_head.build(shape)
        self.built = True

    def _embed(self, token_ids, preference):
        x = self.token_embedding(token_ids)
        if self.preference_projection is not None:
            if preference is None:
                raise ValueError(f"this model has preference_dim={self.preference_dim}: "
                                 "pass inputs['preference'] of shape (batch, preference_dim)")
            preference = ops.cast(preference, x.dtype)
            if tuple(preference.shape)[-1] != self.preference_dim:
                raise ValueError(f"preference has shape {tuple(preference.shape)}, expected "
                                 f"(batch, {self.preference_dim})")
            x = x + self.preference_projection(preference)[:, None, :]
        return x

    def logits(self, hidden, output_table=None):
        """Vocabulary logits (float32) from hidden states.

        `output_table`: `decoding_output_table()`, computed once by a decoding loop.
        """
        if output_table is not None:
            out = ops.matmul(hidden, output_table)
        elif self.lm_head is None:
            out = self.token_embedding.project(hidden)
        else:
            out = self.lm_head(hidden)
        return ops.cast(out, "float32")

    def decoding_output_table(self):
        """The tied embedding table transposed to (hidden_dim, vocabulary_size), or None.

        A decoding loop computes it once, before its steps, and passes it to
        `call_with_cache`, so that no step reads the table transposed (measurements:
        docs/performance.md). None for an untied head, whose kernel is already laid out so.
        """
        if self.lm_head is not None:
            return None
        return self.token_embedding.output_table(self.compute_dtype)

    def call_with_hidden(self, inputs, training=None):
        """(logits, final hidden states) for the same inputs as `call`."""
        x = unpack(inputs, INPUT_KEYS, INPUT_KEYS[:1], self.max_sequence_length)
        hidden = self.decoder(self._embed(x["token_ids"], x["preference"]),
                              padding_mask=x["padding_mask"], segment_ids=x["segment_ids"],
                              training=training)
        return self.logits(hidden), hidden

    def call(self, inputs, training=None):
        return self.call_with_hidden(inputs, training=training)[0]

    def init_cache(self, batch_size, max_length=None):
        """A zero KV cache for `batch_size` sequences of up to `max_length` tokens."""
        length = self.max_sequence_length if max_length is None else max_length
        return self.decoder.init_cache(batch_size, length)

    def call_with_cache(self, token_ids, cache, cache_index, padding_mask=None,
                        preference=None, output_table=None):
        """Decodes `token_ids` at positions cache_index... against the KV cache.

        `output_table`: see `decoding_output_table`. Returns (logits (batch, new, vocab),
        hidden (batch, new, hidden_dim), cache).
        """
        hidden, cache = self.decoder.call_with_cache(
            self._embed(token_ids, preference), cache, cache_index, padding_mask=padding_mask)
        return self.logits(hidden, output_table), hidden, cache

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size, num_layers=self.num_layers,
            num_heads=self.num_heads, hidden_dim=self.hidden_dim,
            intermediate_dim=self.intermediate_dim,
            max_sequence_length=self.max_sequence_length, dropout=self.dropout,
            activation=self.activation, norm=self.norm,
            layer_norm_epsilon=self.layer_norm_epsilon, position=self.position,
            tie_embeddings=self.tie_embeddings, use_bias=self.use_bias,
            preference_dim=self.preference_dim, value_head=self.has_value_head,
            scale_residual_init=self.scale_residual_init)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
