"""Reward functions for TokenEnvironment: `reward_fn(prompts, responses) -> list[float]`."""

import os

REWARD_MODEL_FILE = "reward_model.keras"
TOKENIZER_DIR = "tokenizer"


def text_reward_fn(reward, tokenizer, include_prompt=False):
    """Wraps a text reward (a Scorer, or `texts -> list[float]`) as a token reward_fn.

    Args:
        reward: a tfllm.feedback Scorer (its `.reward`, higher is better) or a callable.
        tokenizer: decodes token ids (special tokens dropped).
        include_prompt: score prompt + response instead of the response alone.
    """
    texts_to_rewards = getattr(reward, "reward", reward)
    if not callable(texts_to_rewards):
        raise ValueError(f"text_reward_fn: {type(reward).__name__} is neither a scorer nor "
                         "callable")

    def reward_fn(prompts, responses):
        ids = [p + r for p, r in zip(prompts, responses)] if include_prompt else responses
        return texts_to_rewards([tokenizer.decode(x) for x in ids])

    return reward_fn


def reward_fn_from_workdir(workdir, max_length=None, batch_size=64):
    """`texts -> list[float]` from a `tfllm-train-reward` workdir (model + tokenizer), each
    text scored as the reward model was trained (`tfllm.feedback.reward_model.
    reward_model_scores`: <bos> text <eos>, the reward read at the <eos>)."""
    from tfllm.feedback.reward_model import load_reward_fn

    model_path = os.path.join(workdir, REWARD_MODEL_FILE)
    tokenizer_path = os.path.join(workdir, TOKENIZER_DIR)
    for path in (model_path, tokenizer_path):
        if not os.path.exists(path):
            raise ValueError(f"{workdir}: not a reward-model workdir (missing {path})")
    return load_reward_fn(model_path, tokenizer_path, max_length, batch_size)
