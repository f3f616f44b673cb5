"""frozen_copy: same class, config and weights; not trainable; independent of the model.

Its use inside a traced first call (the DPO reference) is tested in tests/objectives/test_dpo.py.
"""

import numpy as np
import tensorflow as tf

from tfllm.models import DecoderLM
from tfllm.models.frozen import frozen_copy


def test_frozen_copy_is_an_independent_non_trainable_twin():
    model = DecoderLM(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16,
                      intermediate_dim=32, max_sequence_length=8)
    inputs = {"token_ids": tf.constant([[1, 5, 7, 9]]), "padding_mask": tf.ones((1, 4), bool)}
    model(inputs)
    copy = frozen_copy(model)
    assert type(copy) is DecoderLM
    assert {**copy.get_config(), "trainable": True} == model.get_config()
    assert not copy.trainable and copy.trainable_weights == []
    np.testing.assert_allclose(copy(inputs), model(inputs))
    model.trainable_weights[0].assign_add(tf.ones_like(model.trainable_weights[0]))
    assert not np.allclose(copy(inputs), model(inputs))  # later updates leave the copy alone

