"""EncoderClassifier: a bidirectional Transformer encoder with a pooled classification head."""

import keras
from keras import ops

from tfllm.layers import TokenEmbedding, TransformerStack, transformer_initializers
from tfllm.models.inputs import unpack
from tfllm.models.lora import LoraMixin

INPUT_KEYS = ("token_ids", "padding_mask")
POOLINGS = ("mean", "first")


@keras.saving.register_keras_serializable(package="tfllm")
class EncoderClassifier(LoraMixin, keras.Model):
    """Text classification and sentiment: encoder, pooling, dense head.

    `model(token_ids)` or `model({"token_ids", "padding_mask"})` returns class
    logits (batch, num_classes); `model.pooled(inputs)` the pooled features.

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
        max_sequence_length, dropout: sizes.
        num_classes: number of labels.
        pooling: "mean" over real tokens, or "first" (a [CLS]-style first token).
        activation, norm, layer_norm_epsilon, position, use_bias,
        scale_residual_init: as DecoderLM.

    Example:
        >>> model = EncoderClassifier(300, 2, 2, 32, 64, 32, num_classes=3)
        >>> model(np.ones((4, 9), "int32")).shape
        (4, 3)
    """

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
                 max_sequence_length, num_classes=2, dropout=0.0, pooling="mean",
                 activation="gelu", norm="layer_norm", layer_norm_epsilon=1e-5,
                 position="learned", use_bias=True, scale_residual_init=True, **kwargs):
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
        self.vocabulary_size = int(vocabulary_size)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.max_sequence_length = int(max_sequence_length)
        self.num_classes = int(num_classes)
        self.dropout = float(dropout)
        self.pooling = pooling
        self.activation = activation
        self.norm = norm
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.position = position
        self.use_bias = bool(use_bias)
        self.scale_residual_init = bool(scale_residual_init)
        init, residual_init = transformer_initializers(num_layers, 0.02, scale_residual_init)
        policy = self.dtype_policy
        self.token_embedding = TokenEmbedding(vocabulary_size, hidden_dim, init,
                                              name="token_embedding", dtype=policy)
        self.encoder = TransformerStack(
            num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length, dropout,
            activation, norm, layer_norm_epsilon, use_bias, position, causal=False,
            kernel_initializer=init, output_kernel_initializer=residual_init, name="encoder",
            dtype=policy)
        self.head_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.head = keras.layers.Dense(num_classes, name="head", dtype=policy)
        self.build(None)

    def build(self, input_shape=None):
        self.token_embedding.build(None)
        self.encoder.build((None, None, self.hidden_dim))
        self.head.build((None, self.hidden_dim))
        self.built = True

    def pooled(self, inputs, training=None):
        """Pooled encoder features (batch, hidden_dim)."""
        x = unpack(inputs, INPUT_KEYS, INPUT_KEYS[:1], self.max_sequence_length)
        mask = x["padding_mask"]
        hidden = self.encoder(self.token_embedding(x["token_ids"]), padding_mask=mask,
                              training=training)
        if self.pooling == "first":
            return hidden[:, 0]
        if mask is None:
            return ops.mean(hidden, axis=1)
        weights = ops.cast(mask, hidden.dtype)[..., None]
        return ops.sum(hidden * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def call(self, inputs, training=None):
        features = self.head_dropout(self.pooled(inputs, training), training=training)
        return ops.cast(self.head(features), "float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size, num_layers=self.num_layers,
            num_heads=self.num_heads, hidden_dim=self.hidden_dim,
            intermediate_dim=self.intermediate_dim,
            max_sequence_length=self.max_sequence_length, num_classes=self.num_classes,
            dropout=self.dropout, pooling=self.pooling, activation=self.activation,
            norm=self.norm, layer_norm_epsilon=self.layer_norm_epsilon,
            position=self.position, use_bias=self.use_bias,
            scale_residual_init=self.scale_residual_init)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
