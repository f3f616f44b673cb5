"""Replay of whole episodes for off-policy agents (QLearningAgent), on TFUniformReplayBuffer.

The buffer's items are whole episode rows: its data spec is the agent's per-step
collect_data_spec with a leading time dimension of `steps` (CachedSamplingDriver's rows
have max_new_tokens + 1 steps), its batch_size the number of rows a driver run adds
(`add_batch(trajectory)` of a (rows, steps) trajectory), and max_length how many runs each
of its rows keeps (the oldest is overwritten). `sample` draws minibatches of episodes
uniformly with replacement: every sampled row is one whole episode, never a window
straddling two.
"""

import tensorflow as tf
from tf_agents.replay_buffers import tf_uniform_replay_buffer


def episode_spec(data_spec, steps):
    """`data_spec` (per step) with a leading time dimension of `steps`."""
    return tf.nest.map_structure(
        lambda s: tf.TensorSpec([steps, *s.shape], s.dtype, s.name), data_spec)


class EpisodeReplay:
    """The episodes of the last `capacity` driver runs of `rows` episodes of `steps` steps.

    Args:
        data_spec: the per-step trajectory spec (`agent.collect_data_spec`).
        rows: episodes per `add` (the driver's num_episodes).
        steps: steps per episode row (the environment's max_new_tokens + 1).
        capacity: driver runs kept (>= 1).
    """

    def __init__(self, data_spec, rows, steps, capacity):
        if capacity < 1:
            raise ValueError(f"EpisodeReplay: capacity must be >= 1, got {capacity}")
        self.steps = int(steps)
        self.buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
            episode_spec(data_spec, self.steps), batch_size=int(rows), max_length=int(capacity))

    def add(self, experience):
        """Adds a (rows, steps) trajectory batch: one episode per row."""
        steps = experience.step_type.shape[1]
        if steps != self.steps:
            raise ValueError(f"EpisodeReplay: the batch has {steps} steps per row, the buffer "
                             f"holds episodes of {self.steps}")
        self.buffer.add_batch(experience)

    def sample(self, num_episodes):
        """A (num_episodes, steps) trajectory of episodes drawn uniformly with replacement."""
        if self.num_episodes() == 0:
            raise ValueError("EpisodeReplay.sample: the replay is empty")
        # get_next reads the buffer as it is now (an as_dataset iterator prefetches: its
        # next sample can predate the last add)
        experience, _ = self.buffer.get_next(sample_batch_size=int(num_episodes))
        return experience

    def num_episodes(self):
        """Episodes held now."""
        return int(self.buffer.num_frames().numpy())
