"""Implicit Language Q-Learning (Snell et al. 2022, arXiv:2206.11871) on scored text.

Offline: no sampling, the transitions are the corpus' own tokens. In an LM batch state
s_t is the prefix token_ids[:t+1] (hidden state h_t), action a_t = labels[t], next state
s_{t+1} at position t + 1. Needs a `tfllm.models.ILQLModel`. Per counted token:

- reward r_t = reward_offset - scores[t]: the misalignment of the label's segment
  (the PHF data path, `token_losses.segment_rewards`; pep8 per line, sentiment per
  sentence), given at every token of the segment as Korbak et al. 2023's token-level
  objectives do. The batch marks no segment ends, so a reward only at a segment's last
  token (the paper's per-utterance reward) is not available. Negative rewards make an
  earlier `<eos>` look better; `reward_offset` (e.g. the scorer's threshold) centres them.
- terminal: a_t is `<eos>` (the document ends; eos_id 2 in every tfllm tokenizer).
  A row's last transition, whose next state is in the next row, gets no TD term
  (cut rows are not episode ends), nor one into padding.
- TD: sum_i mean (Q_i(s_t, a_t) - (r_t + gamma * V(s_{t+1}) * (1 - done_t)))^2,
  V(s_{t+1}) stop-gradient (the V head itself, as in the paper and trlx).
- expectile value loss: mean |tau - 1(u < 0)| u^2, u = min_i Qhat_i(s_t, a_t)
  - V(s_t), Qhat the target heads (stop-gradient).
- CQL (the paper's cross-entropy form): sum_i mean cross-entropy of softmax(Q_i(s_t, .))
  against a_t, weight cql_scale.
- the LM's NLL, weight lm_scale (trlx's awac_scale term with its default beta = 0,
  i.e. unweighted behaviour cloning), so the LM keeps modelling the data.

loss = td_loss + value_loss + cql_scale * cql_loss + lm_scale * token_loss.

Target heads: each training call first applies `model.update_target_heads(alpha,
target_sync_every)` (Polyak averaging; trlx: after every `steps_for_target_q_sync`-th
optimizer step, target <- alpha * Q + (1 - alpha) * target). Done at the start of the
next step's loss it equals trlx's order (the update reads the weights the last
optimizer step left, and the loss then reads the new targets); the Trainer needs no
hook. Evaluation (training=False) updates nothing. With accumulation_steps=k the
objective runs k times per optimizer step: `target_sync_every` counts those calls
(use a multiple of k for one update per step).

Defaults: trlx's `default_ilql_config` (tau 0.7, gamma 0.99, cql_scale 0.1,
awac_scale 1, alpha 0.001, steps_for_target_q_sync 5); the paper's tau is 0.7 too.
Metrics: loss, td_loss, value_loss, cql_loss, token_loss, accuracy, tokens, q_mean,
target_q_mean, v_mean, reward_mean, terminal_fraction.
"""

from keras import ops

from tfllm.objectives import token_losses
from tfllm.objectives.registry import register

EOS_ID = 2  # tfllm.tokenizers.base: <pad> 0, <bos> 1, <eos> 2 in every tokenizer


def td_targets(rewards, next_values, done, gamma):
    """r_t + gamma * V(s_{t+1}) * (1 - done_t) (the Q heads' regression target)."""
    return rewards + gamma * next_values * (1.0 - done)


def expectile_loss(difference, tau):
    """|tau - 1(u < 0)| * u^2 per element, u = `difference` = Qhat - V:
    tau weighs Qhat above V, 1 - tau below; tau > 0.5 pulls V towards the upper
    expectile of Qhat."""
    weight = ops.where(difference < 0.0, 1.0 - tau, tau)
    return weight * ops.square(difference)


def cql_loss(q_values, actions):
    """Cross-entropy of softmax(Q(s, .)) against the data's action per element:
    logsumexp_a' Q(s, a') - Q(s, a) (ILQL's CQL term)."""
    q_values = ops.cast(q_values, "float32")
    taken = ops.take_along_axis(q_values, ops.cast(actions, "int32")[..., None], axis=-1)
    return ops.logsumexp(q_values, axis=-1) - taken[..., 0]


def transitions(batch, eos_id):
    """(done, td_mask): done_t = 1 where the label is `<eos>`; td_mask = loss_mask where
    the TD term has a target (terminal, or a counted next position in the row)."""
    mask = ops.cast(batch["loss_mask"], "float32")
    done = ops.cast(ops.equal(ops.cast(batch["labels"], "int32"), eos_id), "float32")
    has_next = ops.concatenate([mask[:, 1:], ops.zeros_like(mask[:, :1])], axis=1)
    return done, mask * ops.maximum(done, has_next)


@register("ilql")
class ImplicitLanguageQLearning:
    """ILQL's losses on LM batches with per-token segment scores (see the module doc).

    Args:
        gamma: discount.
        tau: expectile of the value loss.
        cql_scale: weight of the CQL term.
        lm_scale: weight of the LM's NLL (trlx's awac_scale).
        alpha: Polyak rate of the target Q heads (weight of the online heads).
        target_sync_every: update the targets on every this-many training calls.
        reward_offset: added to every reward -score.
        eos_id: the token id that ends an episode (a document).
    """

    name = "ilql"

    def __init__(self, gamma=0.99, tau=0.7, cql_scale=0.1, lm_scale=1.0, alpha=0.001,
                 target_sync_every=5, reward_offset=0.0, eos_id=EOS_ID):
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"ilql objective: gamma must be in [0, 1], got {gamma!r}")
        if not 0.0 < tau < 1.0:
            raise ValueError(f"ilql objective: tau must be in (0, 1), got {tau!r}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"ilql objective: alpha must be in [0, 1], got {alpha!r}")
        if cql_scale < 0.0 or lm_scale < 0.0:
            raise ValueError(f"ilql objective: cql_scale ({cql_scale!r}) and lm_scale "
                             f"({lm_scale!r}) must be >= 0")
        if int(target_sync_every) < 1:
            raise ValueError(f"ilql objective: target_sync_every must be >= 1, got "
                             f"{target_sync_every!r}")
        self.gamma, self.tau = float(gamma), float(tau)
        self.cql_scale, self.lm_scale = float(cql_scale), float(lm_scale)
        self.alpha, self.target_sync_every = float(alpha), int(target_sync_every)
        self.reward_offset, self.eos_id = float(reward_offset), int(eos_id)

    def __call__(self, model, batch, training=True):
        token_losses.check_batch(batch, token_losses.LM_KEYS + ("scores",), self.name)
        if not hasattr(model, "update_target_heads"):
            raise ValueError(f"ilql objective: the model is a {type(model).__name__}, not "
                             "an ILQLModel (tfllm-finetune: config.model.kind='ilql')")
        if training:
            model.update_target_heads(self.alpha, self.target_sync_every)
        labels, mask = batch["labels"], ops.cast(batch["loss_mask"], "float32")
        logits, hidden = model.call_with_hidden(token_losses.model_inputs(batch),
                                                training=training)
        q_values = model.q_values(hidden)
        q_taken = [ops.take_along_axis(q, ops.cast(labels, "int32")[..., None], axis=-1)[..., 0]
                   for q in q_values]
        target_q = ops.stop_gradient(ops.minimum(*model.target_q_values(hidden, labels)))
        values = model.values(hidden)

        rewards = self.reward_offset + token_losses.segment_rewards(batch, self.name)
        done, td_mask = transitions(batch, self.eos_id)
        next_values = ops.concatenate([values[:, 1:], ops.zeros_like(values[:, :1])], axis=1)
        targets = ops.stop_gradient(td_targets(rewards, next_values, done, self.gamma))
        td_loss = sum(token_losses.masked_mean(ops.square(q - targets), td_mask)
                      for q in q_taken)
        value_loss = token_losses.masked_mean(expectile_loss(target_q - values, self.tau),
                                              mask)
        conservative = sum(token_losses.masked_mean(cql_loss(q, labels), mask)
                           for q in q_values)
        log_probs = token_losses.token_log_probs(logits, labels)
        metrics = token_losses.lm_metrics(logits, labels, mask, log_probs)
        loss = (td_loss + value_loss + self.cql_scale * conservative
                + self.lm_scale * metrics["token_loss"])
        metrics.update(
            loss=loss, td_loss=td_loss, value_loss=value_loss, cql_loss=conservative,
            q_mean=sum(token_losses.masked_mean(q, mask) for q in q_taken) / len(q_taken),
            target_q_mean=token_losses.masked_mean(target_q, mask),
            v_mean=token_losses.masked_mean(values, mask),
            reward_mean=token_losses.masked_mean(rewards, mask),
            terminal_fraction=token_losses.masked_mean(done, mask))
        return loss, metrics


__all__ = ["ImplicitLanguageQLearning", "cql_loss", "expectile_loss", "td_targets",
           "transitions"]
