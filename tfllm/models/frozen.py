"""Frozen copies of models: the reference policy of DPO and RL fine-tuning, the target
network of Q-learning."""

import tensorflow as tf

from tfllm.models.lora import lora_enabled, merge_lora


def frozen_copy(model):
    """A non-trainable copy of a Keras model with its current weights (made eagerly); of a
    LoRA model, the plain model it computes (`merge_lora`)."""
    with tf.init_scope():
        if lora_enabled(model):
            copy = merge_lora(model)
        else:
            copy = model.__class__.from_config(model.get_config())
            copy.set_weights(model.get_weights())
        copy.trainable = False
    return copy
