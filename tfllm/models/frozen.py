"""Frozen copies of models: the reference policy of DPO and RL fine-tuning, the target
network of Q-learning."""

import tensorflow as tf


def frozen_copy(model):
    """A non-trainable copy of a Keras model with its current weights (made eagerly)."""
    with tf.init_scope():
        copy = model.__class__.from_config(model.get_config())
        copy.set_weights(model.get_weights())
        copy.trainable = False
    return copy
