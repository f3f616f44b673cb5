"""Per-step model outputs from TF-Agents trajectories of token episodes, in few forward passes.

Every step of an episode observes a prefix of the episode's final sequence, so one forward
pass over that sequence gives the hidden state of every step (at position length - 1).
`step_hidden` finds each row's episode segments, runs the model once per segment and
gathers per-step hidden states; the cost is one forward per episode, not per token.
"""

import tensorflow as tf
from tf_agents.trajectories import time_step as ts


def step_masks(experience):
    """(valid, complete) bool (batch, time).

    valid: the step carries an action (not a LAST/boundary step). complete: valid and
    its episode ends inside the row (incomplete tails have no final reward yet).
    """
    valid = ~tf.equal(experience.step_type, ts.StepType.LAST)
    ends_here = tf.equal(experience.next_step_type, ts.StepType.LAST)
    end = _segment_end(valid, ends_here)
    complete = valid & tf.gather(ends_here, end, batch_dims=1)
    return valid, complete


def _segment_end(valid, ends_here):
    """Index (batch, time) of the last step of each step's episode segment in its row."""
    time = tf.shape(valid)[1]
    last_column = tf.equal(tf.range(time), time - 1)[None, :]
    seg_end = valid & (ends_here | last_column)
    later = tf.range(time)[None, :, None] <= tf.range(time)[None, None, :]  # t' >= t
    candidates = later & seg_end[:, None, :]
    return tf.argmax(tf.cast(candidates, tf.int32), axis=-1, output_type=tf.int32)


def full_sequences(experience):
    """Each step's observed tokens with its action written at position `length`."""
    tokens = experience.observation["tokens"]
    length = experience.observation["length"]
    position = tf.range(tf.shape(tokens)[-1])[None, None, :]
    return tf.where(tf.equal(position, length[..., None]), experience.action[..., None], tokens)


def step_hidden(model, experience, training=False):
    """Hidden states (batch, time, hidden_dim) of the model at each step's prefix.

    The experience must hold at least one valid step; values at invalid steps are
    arbitrary (mask them).
    """
    valid = ~tf.equal(experience.step_type, ts.StepType.LAST)
    ends_here = tf.equal(experience.next_step_type, ts.StepType.LAST)
    end = _segment_end(valid, ends_here)
    time = tf.shape(valid)[1]
    is_end = valid & tf.equal(end, tf.range(time)[None, :])
    end_index = tf.cast(tf.where(is_end), tf.int32)
    sequences = tf.gather_nd(full_sequences(experience), end_index)
    _, hidden = model.call_with_hidden(sequences, training=training)
    segment_of_end = tf.scatter_nd(end_index, tf.range(tf.shape(end_index)[0], dtype=tf.int32),
                                   tf.shape(valid))
    segment = tf.gather(segment_of_end, end, batch_dims=1)
    position = tf.maximum(experience.observation["length"] - 1, 0)
    return tf.gather_nd(hidden, tf.stack([segment, position], axis=-1))
