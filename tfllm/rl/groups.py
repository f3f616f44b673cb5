"""Group statistics of per-episode rewards, G episodes per prompt in adjacent rows.

A batch of B = P * G rewards holds P groups: entries g*G .. g*G+G-1 answer the same prompt
(CachedSamplingDriver(group_size=G)). Both functions need G >= 2.
"""

import tensorflow as tf


def check_group_size(who, group_size):
    """ValueError unless group_size >= 2 (group statistics compare samples of one prompt)."""
    if group_size < 2:
        raise ValueError(f"{who}: group_size must be >= 2 (episodes sampled per prompt, "
                         f"CachedSamplingDriver(group_size=...)), got {group_size}")


def _grouped(rewards, group_size):
    return tf.reshape(tf.convert_to_tensor(rewards, tf.float32), [-1, group_size])


def group_advantages(rewards, group_size, scale=True, epsilon=1e-4):
    """GRPO's advantages (Shao et al. 2024, arXiv:2402.03300, sec. 4.1.2): (B,)
    (r_i - mean(group)) / (std(group) + epsilon), std the Bessel-corrected sample standard
    deviation of the G rewards (as TRL's GRPOTrainer). scale=False only centres: Dr. GRPO
    (Liu et al. 2025, arXiv:2503.20783), TRL's scale_rewards=False."""
    groups = _grouped(rewards, group_size)
    centred = groups - tf.reduce_mean(groups, axis=1, keepdims=True)
    if scale:
        variance = tf.reduce_sum(tf.square(centred), axis=1, keepdims=True) / (group_size - 1)
        centred = centred / (tf.sqrt(variance) + epsilon)
    return tf.reshape(centred, [-1])


def leave_one_out_baseline(rewards, group_size):
    """RLOO's baseline (Kool et al. 2019; Ahmadian et al. 2024, arXiv:2402.14740): (B,) the
    mean of the other G - 1 rewards of each entry's group."""
    groups = _grouped(rewards, group_size)
    others = tf.reduce_sum(groups, axis=1, keepdims=True) - groups
    return tf.reshape(others / (group_size - 1), [-1])
