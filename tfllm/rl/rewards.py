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
    """`texts -> list[float]` from a `tfllm-train-reward` workdir (model + tokenizer).

    Each text is scored as the reward model was trained: <bos> text <eos> (truncated to
    the model's max_sequence_length, keeping the <eos>), reward read at the <eos>.
    """
    import keras
    import numpy as np

    from tfllm.tokenizers import Tokenizer

    model_path = os.path.join(workdir, REWARD_MODEL_FILE)
    tokenizer_path = os.path.join(workdir, TOKENIZER_DIR)
    for path in (model_path, tokenizer_path):
        if not os.path.exists(path):
            raise ValueError(f"{workdir}: not a reward-model workdir (missing {path})")
    model = keras.saving.load_model(model_path)
    tokenizer = Tokenizer.load(tokenizer_path)
    limit = max_length or model.backbone.max_sequence_length

    def reward_fn(texts):
        rewards = []
        for start in range(0, len(texts), batch_size):
            rows = [[tokenizer.bos_id] + ids[:limit - 2] + [tokenizer.eos_id]
                    for ids in tokenizer.encode(list(texts[start:start + batch_size]))]
            width = max(len(r) for r in rows)
            token_ids = np.full((len(rows), width), tokenizer.pad_id, np.int32)
            for i, row in enumerate(rows):
                token_ids[i, :len(row)] = row
            mask = np.arange(width)[None, :] < np.array([len(r) for r in rows])[:, None]
            out = model({"token_ids": token_ids, "padding_mask": mask})
            rewards.extend(keras.ops.convert_to_numpy(out).reshape(-1).tolist())
        return rewards

    return reward_fn
