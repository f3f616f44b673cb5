"""RewardModel: a DecoderLM or EncoderClassifier backbone with a scalar reward head."""

import keras

from tfllm.layers import ValueHead, last_token_values
from tfllm.models.decoder_lm import DecoderLM
from tfllm.models.encoder_classifier import EncoderClassifier
from tfllm.models.lora import LoraMixin


@keras.saving.register_keras_serializable(package="tfllm")
class RewardModel(LoraMixin, keras.Model):
    """Scores a whole sequence with one float (higher = preferred).

    With a DecoderLM backbone the reward is read at each row's last real token
    (rows right-padded); with an EncoderClassifier backbone from its pooled
    features. `model(token_ids)` or `model({"token_ids", "padding_mask"})`
    returns rewards of shape (batch,).

    Args:
        backbone: a DecoderLM or an EncoderClassifier.

    Example:
        >>> rm = RewardModel(DecoderLM.from_preset("tiny"))
        >>> rm(np.ones((3, 10), "int32")).shape
        (3,)
    """

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        if not isinstance(backbone, (DecoderLM, EncoderClassifier)):
            raise ValueError("RewardModel backbone must be a DecoderLM or EncoderClassifier, "
                             f"got {type(backbone).__name__}")
        self.backbone = backbone
        self.head = ValueHead(kernel_initializer="glorot_uniform", name="reward_head")
        self.head.build((None, None, backbone.hidden_dim))
        self.built = True

    def call(self, inputs, training=None):
        if isinstance(self.backbone, EncoderClassifier):
            return self.head(self.backbone.pooled(inputs, training)[:, None, :])[:, 0]
        _, hidden = self.backbone.call_with_hidden(inputs, training=training)
        mask = inputs.get("padding_mask") if isinstance(inputs, dict) else None
        return last_token_values(self.head(hidden), mask)

    def get_config(self):
        config = super().get_config()
        config.update(backbone=keras.saving.serialize_keras_object(self.backbone))
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
