"""An RL config's reward and prompt environment (tfllm-rl-finetune, tfllm-evaluate rl)."""

import random

from tfllm.experiment.corpus import corpus_texts


def reward_fn(config, tokenizer):
    """The token reward_fn of config.reward: a scorer, or a tfllm-train-reward workdir."""
    from tfllm.rl.rewards import reward_fn_from_workdir, text_reward_fn

    r = config.reward
    if bool(r.scorer) == bool(r.reward_model):
        raise ValueError("config.reward: give exactly one of scorer or reward_model")
    if r.reward_model:
        reward = reward_fn_from_workdir(r.reward_model)
    else:
        from tfllm.feedback import get_scorer
        reward = get_scorer(r.scorer, **dict(r.scorer_options))
    return text_reward_fn(reward, tokenizer, include_prompt=r.include_prompt)


def environment(config, tokenizer, split, reward, seed):
    """A TokenEnvironment on config.env prompts cut from the corpus texts of `split`
    (num_prompts for "train", num_eval_prompts otherwise, shuffled by the training seed)."""
    from tfllm.rl import TokenEnvironment
    from tfllm.rl.preferences import text_prompts

    e = config.env
    prompts = text_prompts(corpus_texts(config, split), tokenizer, e.prompt_tokens)
    count = e.num_prompts if split == "train" else e.num_eval_prompts
    if not prompts:
        raise ValueError(f"config.env: no {split} text has {e.prompt_tokens} tokens for a prompt")
    random.Random(config.training.seed).shuffle(prompts)
    return TokenEnvironment(prompts[:count], tokenizer.vocabulary_size, e.max_new_tokens,
                            reward, eos_id=tokenizer.eos_id if e.stop_at_eos else None,
                            pad_id=tokenizer.pad_id, seed=seed)
