"""LMAgent: the shared part of the TF-Agents agents that fine-tune a Keras LM on token episodes.

Training data are TF-Agents trajectories (batch, time) from any driver over a
TokenEnvironment. `_prepare` recomputes, without gradients, the current policy's
log-probs and values and the frozen reference's log-probs at every step (one forward
pass per episode, `trajectories.step_hidden`), and shapes the rewards:
r_t = task reward (optionally whitened over the batch's episodes) - beta * KL_t with
KL_t = log pi(a_t) - log pi_ref(a_t) (Ziegler et al.); beta comes from a KLController.
Only steps of episodes that finished inside the batch count in the losses.
`_clipped_steps` is the clipped-ratio epoch loop PPO, GRPO and RLOO share; `group_size`
says how many adjacent rows share a prompt (CachedSamplingDriver(group_size=G)).
"""

import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.policies import greedy_policy

from tfllm.models.frozen import frozen_copy
from tfllm.objectives.token_losses import masked_mean
from tfllm.rl import trajectories
from tfllm.rl.evaluation import episode_statistics
from tfllm.rl.kl_control import KLController
from tfllm.rl.policy import LMPolicy


def whiten(values, mask):
    """(values - mean) / std over the masked entries; 0 elsewhere."""
    mean = masked_mean(values, mask)
    std = tf.sqrt(masked_mean(tf.square(values - mean), mask))
    return tf.where(mask, (values - mean) / (std + 1e-8), 0.0)


def sequence_mean(values, mask):
    """Mean over rows of each row's mean over its masked steps: 1/B sum_i 1/|o_i| sum_t."""
    count = tf.reduce_sum(tf.cast(mask, tf.float32), axis=1)
    per_row = tf.reduce_sum(tf.where(mask, values, 0.0), axis=1) / tf.maximum(count, 1.0)
    return tf.reduce_mean(per_row)


def sequence_sum(values, mask):
    """Mean over rows of each row's sum over its masked steps: 1/B sum_i sum_t."""
    return tf.reduce_mean(tf.reduce_sum(tf.where(mask, values, 0.0), axis=1))


class LMAgent(tf_agent.TFAgent):
    """Base TFAgent over a Keras LM; subclasses implement `_update(experience, prepared)`.

    Args:
        time_step_spec, action_spec: TensorSpecs of the TokenEnvironment.
        model: the DecoderLM being trained (value_head=True where a value is needed).
        optimizer: a Keras optimizer (built here on the model's variables).
        reference_model: frozen reference for the KL penalty; default a frozen copy of
            `model` as it is now.
        kl_coef, kl_target, kl_horizon: the KLController (target None = fixed beta).
        whiten_rewards: normalize the task rewards over the batch's episodes.
        entropy_coef: weight of the entropy bonus.
        value_coef: weight of the value loss.
        gamma: discount.
        temperature, epsilon: exploration of the collect policy (the greedy policy is
            `agent.policy`).
        max_grad_norm: clip gradients by global norm (None: no clipping).
        group_size: episodes per prompt; rows g*G .. g*G+G-1 of a batch share a prompt
            (CachedSamplingDriver(group_size=G)), and `train` rejects a batch whose size
            is not a multiple. Only GRPOAgent and RLOOAgent use the groups.
        train_step_counter: the agent's update count; default a new variable of its own
            (TFAgent's default, the process' global step, is shared by every agent of a
            process, so a second run would start where the first ended).
    """

    def __init__(self, time_step_spec, action_spec, model, optimizer, reference_model=None,
                 kl_coef=0.0, kl_target=None, kl_horizon=10000, whiten_rewards=False,
                 entropy_coef=0.0, value_coef=0.5, gamma=1.0, temperature=1.0, epsilon=0.0,
                 max_grad_norm=1.0, group_size=1, train_step_counter=None, name=None):
        tf.Module.__init__(self, name=name)
        if group_size < 1:
            raise ValueError(f"{name or 'LMAgent'}: group_size must be >= 1, got {group_size}")
        self.group_size = int(group_size)
        if train_step_counter is None:
            train_step_counter = tf.Variable(0, dtype=tf.int64, trainable=False,
                                             name="train_step_counter")
        self.model = model
        self._model_variables = [v.value for v in model.variables]
        self.reference_model = frozen_copy(model) if reference_model is None else reference_model
        self.optimizer = optimizer
        self.optimizer.build(model.trainable_variables)
        self.kl_controller = KLController(kl_coef, kl_target, kl_horizon)
        self.whiten_rewards = bool(whiten_rewards)
        self.entropy_coef = float(entropy_coef)
        self.value_coef = float(value_coef)
        self.gamma = float(gamma)
        self.max_grad_norm = max_grad_norm
        collect_policy = LMPolicy(model, time_step_spec, action_spec, temperature, epsilon,
                                  name="collect_policy")
        policy = greedy_policy.GreedyPolicy(
            LMPolicy(model, time_step_spec, action_spec, name="model_policy"))
        super().__init__(time_step_spec, action_spec, policy, collect_policy,
                         train_sequence_length=None, train_step_counter=train_step_counter)
        self._compiled_train = tf.function(self._train_batch, autograph=False,
                                           reduce_retracing=True)
        self._compiled_statistics = tf.function(lambda e: self._prepare(e)[1], autograph=False,
                                                reduce_retracing=True)

    def statistics(self, experience):
        """Batch statistics without an update: mean_reward, reward_std, kl_to_reference
        (mean summed per-token log pi - log pi_ref per episode), kl_coef,
        response_length, entropy."""
        return self._compiled_statistics(experience)

    def _initialize(self):
        return tf.no_op()

    def _check_value_head(self, who):
        if getattr(self.model, "value_head", None) is None:
            raise ValueError(f"{who} needs a value head: build the model with "
                             "DecoderLM(..., value_head=True)")

    def _outputs(self, model, experience, training=False):
        """(log-prob of each action, entropy, value or None), each (batch, time)."""
        hidden = trajectories.step_hidden(model, experience, training=training)
        log_p = tf.nn.log_softmax(model.logits(hidden), axis=-1)
        action_log_p = tf.gather(log_p, experience.action[..., None], batch_dims=2)[..., 0]
        entropy = -tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1)
        head = getattr(model, "value_head", None)
        values = None if head is None else head(hidden)
        return action_log_p, entropy, values

    def _prepare(self, experience):
        valid, complete = trajectories.step_masks(experience)
        log_p, entropy, values = self._outputs(self.model, experience)
        reference_log_p, _, _ = self._outputs(self.reference_model, experience)
        kl = tf.where(complete, log_p - reference_log_p, 0.0)
        final = complete & tf.equal(experience.discount, 0.0)
        task = tf.where(final, experience.reward, 0.0)
        if self.whiten_rewards:
            task = whiten(task, final)
        num_episodes = tf.reduce_sum(tf.cast(final, tf.float32))
        kl_per_episode = tf.reduce_sum(kl) / tf.maximum(num_episodes, 1.0)
        prepared = {
            "valid": valid, "mask": complete, "log_p": log_p,
            "values": None if values is None else tf.where(valid, values, 0.0),
            "reference_log_p": reference_log_p, "final": final, "task": task,
            "rewards": task - self.kl_controller.coef * kl,
            "discounts": self.gamma * experience.discount,
            "num_episodes": num_episodes, "kl_to_reference": kl_per_episode}
        stats = {**episode_statistics(experience, kl, complete),
                 "kl_coef": tf.identity(self.kl_controller.coef),
                 "entropy": masked_mean(entropy, complete)}
        return prepared, stats

    def _apply_gradients(self, tape, loss):
        variables = self.model.trainable_variables
        gradients = tape.gradient(loss, variables)
        if self.max_grad_norm is not None:
            gradients, _ = tf.clip_by_global_norm(gradients, self.max_grad_norm)
        self.optimizer.apply_gradients(zip(gradients, variables))

    def _train_batch(self, experience):
        prepared, stats = self._prepare(experience)
        loss, extra = self._update(experience, prepared)
        stats.update(extra)
        self.kl_controller.update(prepared["kl_to_reference"], prepared["num_episodes"])
        self.train_step_counter.assign_add(1)
        return loss, stats

    def _train(self, experience, weights=None):
        batch = experience.step_type.shape[0]
        if batch is not None and batch % self.group_size:
            raise ValueError(f"{self.name}: the batch holds {batch} episodes, not a multiple of "
                             f"group_size={self.group_size} (sample it with "
                             f"CachedSamplingDriver(group_size={self.group_size}))")
        loss, extra = self._compiled_train(experience)
        return tf_agent.LossInfo(loss=loss, extra=extra)

    def _episode_returns(self, prepared, key):
        """(batch,) sum over each row of prepared[key]: the return of the row's one episode.

        Group statistics need one finished episode per row, as CachedSamplingDriver emits.
        """
        episodes = tf.reduce_sum(tf.cast(prepared["final"], tf.int32), axis=1)
        check = tf.debugging.assert_equal(
            episodes, 1, message=f"{self.name}: every row must hold one finished episode "
            "(CachedSamplingDriver)")
        with tf.control_dependencies([check]):
            return tf.reduce_sum(prepared[key], axis=1)

    def _clipped_steps(self, experience, prepared, advantages, num_epochs, clip_ratio,
                       objective, metrics=(), reduce=masked_mean):
        """num_epochs full-batch steps on PPO's clipped surrogate (Schulman et al. 2017).

        policy_loss = -reduce(min(rho A, clip(rho, 1 -/+ clip_ratio) A), mask) with
        rho = pi(a) / pi_old(a), pi_old = prepared["log_p"]; each step minimizes
        `objective(policy_loss, log_p, entropy, values) -> (loss, {name: scalar})`, the
        names being `metrics`. One epoch is traced, in a tf.while_loop (tracing cost does
        not grow with num_epochs). Returns (loss, {"policy_loss", "approx_kl" (k3 estimate
        of KL(pi_old || pi)), "clip_fraction", *metrics}) of the last step.
        """
        mask = prepared["mask"]
        names = ("loss", "policy_loss", "approx_kl", "clip_fraction") + tuple(metrics)

        def epoch(i, *_):
            with tf.GradientTape() as tape:
                log_p, entropy, values = self._outputs(self.model, experience, training=True)
                log_ratio = tf.where(mask, log_p - prepared["log_p"], 0.0)
                ratio = tf.exp(log_ratio)
                clipped = tf.clip_by_value(ratio, 1.0 - clip_ratio, 1.0 + clip_ratio)
                policy_loss = -reduce(tf.minimum(ratio * advantages, clipped * advantages), mask)
                loss, extra = objective(policy_loss, log_p, entropy, values)
            self._apply_gradients(tape, loss)
            approx_kl = masked_mean((ratio - 1.0) - log_ratio, mask)
            clip_fraction = masked_mean(
                tf.cast(tf.abs(ratio - 1.0) > clip_ratio, tf.float32), mask)
            return (i + 1, loss, policy_loss, approx_kl, clip_fraction) + tuple(
                extra[name] for name in metrics)

        _, *values = tf.while_loop(lambda i, *_: i < num_epochs, epoch,
                                   (tf.constant(0),) + (tf.constant(0.0),) * len(names))
        values = dict(zip(names, values))
        return values.pop("loss"), values

    def _update(self, experience, prepared):
        """Gradient step(s) on the prepared batch; returns (loss, dict of scalar metrics)."""
        raise NotImplementedError
