"""KL coefficient control (Ziegler et al. 2019, "Fine-Tuning LMs from Human Preferences")."""

import tensorflow as tf


class KLController(tf.Module):
    """The coefficient beta of the per-token KL penalty to the reference policy.

    Fixed when `target` is None; otherwise adaptive: after a batch whose mean
    per-episode KL is `kl`, beta *= 1 + clip(kl / target - 1, -0.2, 0.2) * n / horizon,
    with n the number of episodes in the batch.

    Args:
        initial_coef: starting beta (>= 0).
        target: target KL in nats per episode, or None.
        horizon: episodes over which beta may change by about e-fold.
    """

    def __init__(self, initial_coef=0.0, target=None, horizon=10000):
        super().__init__(name="kl_controller")
        if initial_coef < 0:
            raise ValueError(f"KLController: initial_coef must be >= 0, got {initial_coef}")
        if target is not None and not target > 0:
            raise ValueError(f"KLController: target must be > 0 or None, got {target}")
        if not horizon > 0:
            raise ValueError(f"KLController: horizon must be > 0, got {horizon}")
        self.coef = tf.Variable(float(initial_coef), trainable=False, dtype=tf.float32,
                                name="kl_coef")
        self.target = None if target is None else float(target)
        self.horizon = float(horizon)

    def update(self, kl, num_episodes):
        """Moves beta toward the target after a batch; returns the new beta."""
        if self.target is not None:
            error = tf.clip_by_value(kl / self.target - 1.0, -0.2, 0.2)
            self.coef.assign(self.coef * (1.0 + error * tf.cast(num_episodes, tf.float32)
                                          / self.horizon))
        return self.coef
