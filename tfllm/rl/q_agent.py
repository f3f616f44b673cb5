"""Q-learning on token episodes over a Keras LM, as a TF-Agents TFAgent.

The state is the prompt plus the tokens so far, the action the next token. The agent
learns KL-regularized soft Q-values: the policy is a softmax over Q with the frozen
reference LM as its prior, pi(a|s) = pi_ref(a|s) exp(Q(s, a) / tau) / exp(V(s) / tau),
V(s) = tau log sum_a pi_ref(a|s) exp(Q(s, a) / tau), tau the KL coefficient (kl_coef): the
optimum of E[reward] - tau KL(pi || pi_ref) (Jaques et al. 2017, "Sequence Tutor",
arXiv:1611.02796; soft Q-learning, Haarnoja et al. 2017, arXiv:1702.08165, with a prior).
Q is read off the LM with a value head (`q_values`):
    Q(s, a) = V(s) + tau (log pi(a|s) - log pi_ref(a|s)),
the value head plus tau times the log-ratio of the LM to the reference, a dueling form
(Wang et al. 2016, arXiv:1511.06581) in which the soft value above is exactly V(s) and the
LM's own softmax is the policy. Every Q can be written so. The starting LM (pi = pi_ref,
a zero value head) is Q = V = 0: exactly consistent with zero reward. (Reading Q as the
raw logits, as Guo et al. 2021, arXiv:2106.07704, is not: softmax ignores a per-state
offset of the logits, which the Bellman equation pins. docs/results/rl.md compares the
variants.)

Targets, regressed on by Q(s_t, a_t), with r_t the task reward (the KL is in V):
    soft: y_t = r_t + gamma V_target(s_{t+1})
    hard: y_t = r_t + gamma max_a Q_target(s_{t+1}, a)  (Watkins' Q-learning, DQN's target)
with y_t = r_t at the last step of an episode (discount 0). The target network's values at
the next position of the same sequence give every step's target from one forward per
episode (`trajectories.step_hidden`). n-step targets (DqnAgent's n_step_update; Hessel et
al. 2017, arXiv:1710.02298) sum n discounted rewards and bootstrap from V(s_{t+n}); the
soft n-step target also adds the intermediate steps' -tau log(pi / pi_ref)(a_{t+k}) =
V(s_{t+k}) - Q_target(s_{t+k}, a_{t+k}). Replayed actions are taken as they are (no
off-policy correction, as DqnAgent).
"""

import tensorflow as tf
from tf_agents.utils import common

from tfllm.models.frozen import frozen_copy
from tfllm.objectives.token_losses import masked_mean
from tfllm.rl import trajectories
from tfllm.rl.agent import LMAgent

TARGETS = ("soft", "hard")
TD_LOSSES = {"huber": common.element_wise_huber_loss,
             "squared": common.element_wise_squared_loss}


def q_values(model, hidden, prior_log_probs, tau):
    """Q(s, .) (..., vocab) = V(s) + tau (log pi(. | s) - log pi_ref(. | s)) from hidden
    states (..., hidden_dim) of a model with a value head; `prior_log_probs`: log pi_ref."""
    log_pi = tf.nn.log_softmax(tf.cast(model.logits(hidden), tf.float32), axis=-1)
    values = tf.cast(model.value_head(hidden), tf.float32)
    return values[..., None] + tau * (log_pi - prior_log_probs)


def state_values(q_values, target="soft", tau=1.0, prior_log_probs=None):
    """V(s) (...,) of Q values (..., vocab): max_a Q (hard) or
    tau log sum_a pi_ref(a) exp(Q(s, a) / tau) (soft; without a prior every weight is 1:
    tau logsumexp(Q / tau))."""
    if target == "hard":
        return tf.reduce_max(q_values, axis=-1)
    logits = q_values / tau
    if prior_log_probs is not None:
        logits += prior_log_probs
    return tau * tf.reduce_logsumexp(logits, axis=-1)


def _shift(x, k):
    """x[:, t + k] at t along the time axis (axis 1), 0 past the end."""
    if k == 0:
        return x
    paddings = [[0, 0], [0, k]] + [[0, 0]] * (x.shape.rank - 2)
    return tf.pad(x[:, k:], paddings)


def td_targets(target_q, actions, rewards, discounts, valid, target="soft", tau=1.0,
               n_step=1, prior_log_probs=None):
    """n-step TD targets (batch, time) of the steps of token episodes.

    y_t = sum_{k<n} D_{t,k} (r_{t+k} + e_{t+k} [k > 0]) + D_{t,n} V(s_{t+n}),
    D_{t,k} = prod_{j<k} discounts_{t+j}, e = V - Q_target(s, a) for the soft target (0 for
    the hard one). A step's next state is the next step of its row; a discount of 0 (the
    episode's last step) cuts everything after it, so boundary steps never leak in.

    Args:
        target_q: (batch, time, vocab) Q_target(s_t, .) at each step's state.
        actions: (batch, time) int actions.
        rewards: (batch, time) rewards r_t.
        discounts: (batch, time) gamma * discount_t (0 at an episode's last step).
        valid: (batch, time) bool, steps that carry an action (their Q is read).
        target: "soft" or "hard".
        tau: the soft value's temperature (the KL coefficient).
        n_step: n >= 1.
        prior_log_probs: (batch, time, vocab) log pi_ref of the soft value (None: weights 1).
    """
    values = tf.where(valid, state_values(target_q, target, tau, prior_log_probs), 0.0)
    targets = _shift(values, n_step)
    if target == "soft" and n_step > 1:
        taken = tf.gather(target_q, tf.cast(actions, tf.int32)[..., None], batch_dims=2)[..., 0]
        entropy = tf.where(valid, values - taken, 0.0)
    for k in reversed(range(n_step)):
        reward = _shift(rewards, k)
        if target == "soft" and k > 0:
            reward = reward + _shift(entropy, k)
        targets = reward + _shift(discounts, k) * targets
    return targets


class QLearningAgent(LMAgent):
    """KL-regularized Q-learning with a target network; Q(s, .) = V(s) + tau log(pi /
    pi_ref)(. | s) (`q_values`), tau = the KL controller's coefficient (kl_coef).

    Each `train(experience)` call makes one gradient step on
    loss = mean over the steps of finished episodes of td_errors_loss_fn(y_t, Q(s_t, a_t)),
    y_t from `td_targets` over the target network (no gradient), then updates the target
    network every target_update_period steps by Polyak averaging,
    theta' <- (1 - p) theta' + p theta (p = target_update_tau;
    tf_agents.utils.common.soft_variables_update; p = 1 is a periodic copy), as DqnAgent
    does. The reward is the task reward at an episode's last step (whitened over the batch
    when whiten_rewards); the KL to the reference is in the soft value, not the reward.
    The collect policy is LMPolicy: the LM's softmax, which is pi_ref exp(Q / tau)
    normalized, mixed with epsilon of uniform random tokens (at temperature 1; another
    temperature samples a sharper or flatter policy than the one learned);
    `agent.policy` is the greedy argmax_a of the LM, i.e. of Q / tau + log pi_ref.
    Q-learning is off-policy: train on replayed episodes (tfllm.rl.replay), minibatches of
    whole episodes (rows).

    Args:
        target: "soft" (default: V = tau log sum_a pi_ref(a|s) exp(Q(s, a) / tau), the
            backup of the policy itself) or "hard" (V = max_a Q).
        target_update_tau: Polyak rate in (0, 1] (DqnAgent's target_update_tau; 1 = a
            copy every target_update_period steps).
        target_update_period: train steps between target updates (>= 1).
        n_step_update: n of the n-step target (>= 1).
        td_errors_loss_fn: "huber" (common.element_wise_huber_loss, DqnAgent's default),
            "squared", or a function(targets, predictions) of element-wise losses.
        target_model: the target network; default a frozen copy of `model` as it is now.
        **kwargs: LMAgent arguments (gamma, temperature, epsilon, kl_coef, kl_target,
            kl_horizon, whiten_rewards, max_grad_norm, reference_model, ...);
            entropy_coef and value_coef are unused. The model needs a value head
            (DecoderLM(..., value_head=True)).

    LossInfo.extra: td_loss, td_error (mean |y - Q|), q_mean (mean Q(s_t, a_t)), value_mean
    (mean target V(s_t) over the same steps), target_mean (mean y_t), epsilon (the collect
    policy's), and LMAgent's mean_reward, reward_std, kl_to_reference, kl_coef,
    response_length, entropy.
    """

    def __init__(self, time_step_spec, action_spec, model, optimizer, target="soft",
                 target_update_tau=0.1, target_update_period=1, n_step_update=1,
                 td_errors_loss_fn="huber", target_model=None, name="q_agent", **kwargs):
        if target not in TARGETS:
            raise ValueError(f"QLearningAgent: target must be one of {TARGETS}, got {target!r}")
        if not 0.0 < target_update_tau <= 1.0:
            raise ValueError("QLearningAgent: target_update_tau must be in (0, 1], got "
                             f"{target_update_tau!r}")
        if target_update_period < 1 or n_step_update < 1:
            raise ValueError("QLearningAgent: target_update_period and n_step_update must be "
                             f">= 1, got {target_update_period} and {n_step_update}")
        if isinstance(td_errors_loss_fn, str):
            if td_errors_loss_fn not in TD_LOSSES:
                raise ValueError(f"QLearningAgent: td_errors_loss_fn must be one of "
                                 f"{tuple(TD_LOSSES)} or a function, got {td_errors_loss_fn!r}")
            td_errors_loss_fn = TD_LOSSES[td_errors_loss_fn]
        super().__init__(time_step_spec, action_spec, model, optimizer, name=name, **kwargs)
        self._check_value_head("QLearningAgent")
        if not float(self.kl_controller.coef.numpy()) > 0.0:
            raise ValueError("QLearningAgent: kl_coef must be > 0 (tau, the weight of the KL "
                             "to the reference in the soft values)")
        self.target = target
        self.target_update_tau = float(target_update_tau)
        self.target_update_period = int(target_update_period)
        self.n_step_update = int(n_step_update)
        self.td_errors_loss_fn = td_errors_loss_fn
        self.target_model = frozen_copy(model) if target_model is None else target_model
        pairs = [(s.value, t.value) for s, t in zip(model.variables, self.target_model.variables)
                 if tf.as_dtype(s.value.dtype).is_floating
                 and not s.path.endswith("seed_generator_state")]
        if len(model.variables) != len(self.target_model.variables) or any(
                s.shape != t.shape for s, t in pairs):
            raise ValueError("QLearningAgent: target_model must have the model's variables")
        self._source_variables = [s for s, _ in pairs]
        self._target_variables = [t for _, t in pairs]

    def td_targets(self, experience):
        """The TD targets y (batch, time) of a batch under the current target network."""
        prepared, _ = self._prepare(experience)
        return self._targets(experience, prepared)[0]

    def _targets(self, experience, prepared):
        """(y_t, target V(s_t), log pi_ref(. | s_t)), each (batch, time[, vocab]), without
        gradients."""
        tau = self.kl_controller.coef
        hidden = trajectories.step_hidden(self.reference_model, experience)
        prior = tf.nn.log_softmax(tf.cast(self.reference_model.logits(hidden), tf.float32))
        hidden = trajectories.step_hidden(self.target_model, experience)
        target_q = q_values(self.target_model, hidden, prior, tau)
        targets = td_targets(target_q, experience.action, prepared["task"],
                             prepared["discounts"], prepared["valid"], self.target, tau,
                             self.n_step_update, prior)
        values = state_values(target_q, self.target, tau, prior)
        return (tf.stop_gradient(targets), tf.stop_gradient(values), tf.stop_gradient(prior))

    def _update_target(self):
        """Polyak update of the target network when this step completes a period."""
        def update():
            with tf.control_dependencies([common.soft_variables_update(
                    self._source_variables, self._target_variables, self.target_update_tau)]):
                return tf.constant(True)

        step = self.train_step_counter + 1  # the step being made (counted after _update)
        return tf.cond(tf.equal(step % self.target_update_period, 0), update,
                       lambda: tf.constant(False))

    def _update(self, experience, prepared):
        mask = prepared["mask"]
        targets, values, prior = self._targets(experience, prepared)
        with tf.GradientTape() as tape:
            hidden = trajectories.step_hidden(self.model, experience, training=True)
            q = q_values(self.model, hidden, prior, self.kl_controller.coef)
            q_taken = tf.gather(q, experience.action[..., None], batch_dims=2)[..., 0]
            td_loss = masked_mean(self.td_errors_loss_fn(targets, q_taken), mask)
        self._apply_gradients(tape, td_loss)
        self._update_target()
        return td_loss, {
            "td_loss": td_loss, "td_error": masked_mean(tf.abs(targets - q_taken), mask),
            "q_mean": masked_mean(q_taken, mask), "value_mean": masked_mean(values, mask),
            "target_mean": masked_mean(targets, mask),
            "epsilon": tf.identity(self.collect_policy.epsilon_variable)}
