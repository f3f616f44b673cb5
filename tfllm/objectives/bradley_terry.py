"""Bradley-Terry loss for reward models on preference pairs: -log sigmoid(r_chosen - r_rejected)."""

from keras import ops

from tfllm.objectives import token_losses
from tfllm.objectives.registry import register

PAIR_KEYS = tuple(f"{side}_{key}" for side in ("chosen", "rejected")
                  for key in ("token_ids", "labels", "padding_mask"))


def full_sequence(batch, side):
    """(token_ids, padding_mask) of a whole `side` sequence: inputs plus the last label.

    An LM batch stores a sequence as token_ids = s[:-1], labels = s[1:] with one mask
    (True on the n-1 real positions); the reward is read at the last real token of s.
    """
    ids = ops.cast(batch[f"{side}_token_ids"], "int32")
    labels = ops.cast(batch[f"{side}_labels"], "int32")
    mask = ops.cast(batch[f"{side}_padding_mask"], "bool")
    full_ids = ops.concatenate([ids[:, :1], labels], axis=1)
    full_mask = ops.concatenate([mask[:, :1], mask], axis=1)
    return full_ids, full_mask


def pair_rewards(model, batch, training=False):
    """(chosen rewards, rejected rewards), each (batch,), from a RewardModel."""
    token_losses.check_batch(batch, PAIR_KEYS, "bradley_terry")
    ids = {}
    for side in ("chosen", "rejected"):
        ids[side] = full_sequence(batch, side)
    width = max(ids["chosen"][0].shape[1], ids["rejected"][0].shape[1])

    def pad(x, value):
        return ops.pad(x, [[0, 0], [0, width - x.shape[1]]], constant_values=value)

    token_ids = ops.concatenate([pad(ids[s][0], 0) for s in ("chosen", "rejected")], axis=0)
    mask = ops.concatenate([pad(ids[s][1], False) for s in ("chosen", "rejected")], axis=0)
    rewards = model({"token_ids": token_ids, "padding_mask": mask}, training=training)
    rewards = ops.cast(rewards, "float32")
    n = ops.shape(batch["chosen_token_ids"])[0]
    return rewards[:n], rewards[n:]


def bradley_terry_loss(chosen_rewards, rejected_rewards):
    """Mean -log sigmoid(r_chosen - r_rejected) (computed as softplus(-margin))."""
    return ops.mean(ops.softplus(-(chosen_rewards - rejected_rewards)))


def pair_metrics(chosen_rewards, rejected_rewards):
    """Pairwise accuracy (chosen strictly above rejected) and mean reward margin."""
    margin = chosen_rewards - rejected_rewards
    return {"pairwise_accuracy": ops.mean(ops.cast(margin > 0, "float32")),
            "reward_margin": ops.mean(margin),
            "chosen_reward": ops.mean(chosen_rewards),
            "rejected_reward": ops.mean(rejected_rewards)}


@register("bradley_terry")
class BradleyTerry:
    """Reward-model objective on preference pairs (model: a tfllm RewardModel).

    The batch holds chosen_/rejected_ token_ids, labels and padding_mask (right-padded);
    both sides are scored in one call. Metrics: loss, pairwise_accuracy, reward_margin,
    chosen_reward, rejected_reward.
    """

    name = "bradley_terry"

    def __call__(self, model, batch, training=True):
        chosen, rejected = pair_rewards(model, batch, training=training)
        loss = bradley_terry_loss(chosen, rejected)
        metrics = pair_metrics(chosen, rejected)
        metrics["loss"] = loss
        return loss, metrics
