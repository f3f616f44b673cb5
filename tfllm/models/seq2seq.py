"""Seq2SeqTransformer: an encoder-decoder Transformer with shared token embeddings."""

import keras
from keras import ops

from tfllm.layers import TokenEmbedding, TransformerStack, transformer_initializers
from tfllm.models.inputs import unpack
from tfllm.models.lora import LoraMixin

INPUT_KEYS = ("encoder_token_ids", "encoder_padding_mask", "decoder_token_ids",
              "decoder_padding_mask")


@keras.saving.register_keras_serializable(package="tfllm")
class Seq2SeqTransformer(LoraMixin, keras.Model):
    """Encoder-decoder Transformer (translation, summarization).

    `model({"encoder_token_ids", "encoder_padding_mask", "decoder_token_ids",
    "decoder_padding_mask"})` returns decoder logits (batch, target_length, vocab).
    Source and target share one vocabulary and one embedding table, which is
    also the output projection.

    Args:
        vocabulary_size, num_encoder_layers, num_decoder_layers, num_heads,
        hidden_dim, intermediate_dim, max_sequence_length, dropout: sizes.
        activation, norm, layer_norm_epsilon, position, use_bias: as DecoderLM.
        scale_residual_init: as DecoderLM; the decoder's blocks have three residual
            branches (self-attention, cross-attention, feed-forward).

    Example:
        >>> model = Seq2SeqTransformer(300, 2, 2, 2, 32, 64, 32)
        >>> ids = np.ones((2, 7), "int32")
        >>> model({"encoder_token_ids": ids, "decoder_token_ids": ids[:, :5]}).shape
        (2, 5, 300)
    """

    def __init__(self, vocabulary_size, num_encoder_layers, num_decoder_layers, num_heads,
                 hidden_dim, intermediate_dim, max_sequence_length, dropout=0.0,
                 activation="gelu", norm="layer_norm", layer_norm_epsilon=1e-5,
                 position="learned", use_bias=True, scale_residual_init=True, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.num_encoder_layers = int(num_encoder_layers)
        self.num_decoder_layers = int(num_decoder_layers)
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.max_sequence_length = int(max_sequence_length)
        self.dropout = float(dropout)
        self.activation = activation
        self.norm = norm
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.position = position
        self.use_bias = bool(use_bias)
        self.scale_residual_init = bool(scale_residual_init)
        init, encoder_residual_init = transformer_initializers(
            num_encoder_layers, 0.02, scale_residual_init)
        _, decoder_residual_init = transformer_initializers(
            num_decoder_layers, 0.02, scale_residual_init, residual_branches=3)
        policy = self.dtype_policy
        common = dict(num_heads=num_heads, hidden_dim=hidden_dim,
                      intermediate_dim=intermediate_dim,
                      max_sequence_length=max_sequence_length, dropout=dropout,
                      activation=activation, norm=norm, layer_norm_epsilon=layer_norm_epsilon,
                      use_bias=use_bias, position=position, kernel_initializer=init,
                      dtype=policy)
        self.token_embedding = TokenEmbedding(vocabulary_size, hidden_dim, init,
                                              name="token_embedding", dtype=policy)
        self.encoder = TransformerStack(num_encoder_layers, causal=False, name="encoder",
                                        output_kernel_initializer=encoder_residual_init,
                                        **common)
        self.decoder = TransformerStack(num_decoder_layers, causal=True, cross_attention=True,
                                        output_kernel_initializer=decoder_residual_init,
                                        name="decoder", **common)
        self.build(None)

    def build(self, input_shape=None):
        shape = (None, None, self.hidden_dim)
        self.token_embedding.build(None)
        self.encoder.build(shape)
        self.decoder.build(shape, shape)
        self.built = True

    def encode(self, encoder_token_ids, encoder_padding_mask=None, training=None):
        """Encoder hidden states (batch, source_length, hidden_dim)."""
        return self.encoder(self.token_embedding(encoder_token_ids),
                            padding_mask=encoder_padding_mask, training=training)

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict):
            raise ValueError("Seq2SeqTransformer expects a dict with keys "
                             f"{list(INPUT_KEYS)}, got {type(inputs).__name__}")
        x = unpack(inputs, INPUT_KEYS, ("encoder_token_ids", "decoder_token_ids"),
                   self.max_sequence_length)
        encoder_mask = x["encoder_padding_mask"]
        context = self.encode(x["encoder_token_ids"], encoder_mask, training)
        hidden = self.decoder(self.token_embedding(x["decoder_token_ids"]),
                              padding_mask=x["decoder_padding_mask"], context=context,
                              context_padding_mask=encoder_mask, training=training)
        return self.logits(hidden)

    def logits(self, hidden):
        """Vocabulary logits (float32) from decoder hidden states."""
        return ops.cast(self.token_embedding.project(hidden), "float32")

    def init_cache(self, encoder_outputs, max_length=None):
        """Decoder caches: {"self": zeros, "cross": encoder keys/values per block}."""
        batch = ops.shape(encoder_outputs)[0]
        length = self.max_sequence_length if max_length is None else max_length
        return {"self": self.decoder.init_cache(batch, length),
                "cross": self.decoder.context_cache(encoder_outputs)}

    def call_with_cache(self, decoder_token_ids, cache, cache_index, encoder_padding_mask=None):
        """Decodes target tokens at positions cache_index...; returns (logits, hidden, cache)."""
        hidden, self_cache = self.decoder.call_with_cache(
            self.token_embedding(decoder_token_ids), cache["self"], cache_index,
            context_cache=cache["cross"], context_padding_mask=encoder_padding_mask)
        return self.logits(hidden), hidden, {"self": self_cache, "cross": cache["cross"]}

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size, num_encoder_layers=self.num_encoder_layers,
            num_decoder_layers=self.num_decoder_layers, num_heads=self.num_heads,
            hidden_dim=self.hidden_dim, intermediate_dim=self.intermediate_dim,
            max_sequence_length=self.max_sequence_length, dropout=self.dropout,
            activation=self.activation, norm=self.norm,
            layer_norm_epsilon=self.layer_norm_epsilon, position=self.position,
            use_bias=self.use_bias, scale_residual_init=self.scale_residual_init)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
