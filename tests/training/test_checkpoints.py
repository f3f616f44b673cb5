import numpy as np
import tensorflow as tf

from tfllm.models import DecoderLM
from tfllm.training.checkpoints import model_trackables, restore_model


def _model():
    return DecoderLM.from_preset("tiny", vocabulary_size=64, dropout=0.1)


def test_dropout_model_restores_twice_in_one_process(tmp_path):
    # Each dropout layer's seed-generator state has a path with a process-wide counter;
    # models built later in the process must still find every saved weight.
    model = _model()
    ids = np.array([[1, 5, 9, 3]], "int32")
    expected = model({"token_ids": ids, "padding_mask": ids > 0}).numpy()
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(**model_trackables(model)),
                                         str(tmp_path), max_to_keep=1)
    manager.save(checkpoint_number=1)
    for _ in range(2):
        fresh = _model()
        restore_model(str(tmp_path), fresh)
        np.testing.assert_allclose(
            fresh({"token_ids": ids, "padding_mask": ids > 0}).numpy(), expected, atol=1e-6)
