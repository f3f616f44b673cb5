"""Saving a TF-Agents policy over a Keras 3 LM with PolicySaver, and loading it back."""

import os

from tf_agents.policies import policy_saver


def save_policy(policy, path):
    """Writes `policy` (e.g. `agent.policy`) as a SavedModel with tf_agents' PolicySaver.

    The LMPolicy keeps the Keras model's tf.Variables, so the weights are saved; the
    SavedModel's `action(time_step)` takes batches of any size.
    """
    if not policy.variables():
        raise ValueError("save_policy: the policy has no variables to save")
    policy_saver.PolicySaver(policy, batch_size=None).save(path)


def load_policy(path):
    """Loads a policy saved by `save_policy` (tensorflow_probability is imported first)."""
    import tensorflow as tf
    import tensorflow_probability  # noqa: F401  (registers the distributions' ops)

    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise ValueError(f"{path}: no saved policy (missing saved_model.pb)")
    return tf.saved_model.load(path)
